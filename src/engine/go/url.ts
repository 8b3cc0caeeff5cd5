// Go's url.ParseRequestURI (Go 1.26, net/url), as far as whether it accepts a string: what the
// `uri` format of a CRD schema checks (kube-openapi strfmt: govalidator.IsRequestURI), and so what
// Gatekeeper accepts in a constraint's parameters. Go 1.26 with a go.mod at 1.26 (Gatekeeper
// v3.23.1's) reads `http`/`https` hosts with strict colons (GODEBUG urlstrictcolons=1). Works on the
// string's UTF-8 bytes, as Go does.

import { parseAddr } from './netip.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes a host (or an IPv6 zone) may hold unescaped: net/url's encoding table for encodeHost/encodeZone. */
const HOST_BYTES = new Set([...'!"$&\'()*+,-.0123456789:;<=>ABCDEFGHIJKLMNOPQRSTUVWXYZ[]_abcdefghijklmnopqrstuvwxyz~'].map((c) => c.charCodeAt(0)));

type Mode = 'path' | 'host' | 'zone' | 'user';

const isHex = (c: number | undefined): boolean => c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
const unhex = (c: number): number => 9 * (c >> 6) + (c & 15);

/** Go's unescape: the unescaped bytes, or undefined where it returns an error. */
function unescape(s: Uint8Array, mode: Mode): Uint8Array | undefined {
  const out: number[] = [];
  for (let i = 0; i < s.length; ) {
    const c = s[i]!;
    if (c === 0x25) {
      if (i + 2 >= s.length || !isHex(s[i + 1]) || !isHex(s[i + 2])) return undefined;
      const percent25 = s[i + 1] === 0x32 && s[i + 2] === 0x35;
      if (mode === 'host' && unhex(s[i + 1]!) < 8 && !percent25) return undefined;
      const v = (unhex(s[i + 1]!) << 4) | unhex(s[i + 2]!);
      if (mode === 'zone' && !percent25 && v !== 0x20 && !HOST_BYTES.has(v)) return undefined;
      out.push(v);
      i += 3;
    } else {
      if ((mode === 'host' || mode === 'zone') && c < 0x80 && !HOST_BYTES.has(c)) return undefined;
      out.push(c);
      i++;
    }
  }
  return Uint8Array.from(out);
}

// One character per byte (only ASCII is read as such), without spreading a long string's bytes.
const latin1 = new TextDecoder('latin1');
const text = (bytes: Uint8Array): string => latin1.decode(bytes);

/** Whether url.ParseRequestURI accepts the string. */
export function isRequestURI(raw: string): boolean {
  const bytes = encoder.encode(raw);
  if (bytes.some((b) => b < 0x20 || b === 0x7f)) return false;
  if (bytes.length === 0) return false;
  if (raw === '*') return true;
  const scheme = getScheme(bytes);
  if (scheme === undefined) return false;
  let rest = bytes.subarray(scheme.length === 0 ? 0 : scheme.length + 1);
  const questions = rest.reduce((n, b) => n + (b === 0x3f ? 1 : 0), 0);
  if (rest.length > 0 && rest[rest.length - 1] === 0x3f && questions === 1) rest = rest.subarray(0, rest.length - 1);
  else if (questions > 0) rest = rest.subarray(0, rest.indexOf(0x3f));
  if (rest[0] !== 0x2f) return scheme.length > 0; // opaque with a scheme; a request needs a path
  const lowerScheme = scheme.toLowerCase();
  if (scheme.length > 0 && rest[1] === 0x2f) {
    let authority = rest.subarray(2);
    const slash = authority.indexOf(0x2f);
    rest = slash >= 0 ? authority.subarray(slash) : new Uint8Array();
    if (slash >= 0) authority = authority.subarray(0, slash);
    if (!validAuthority(lowerScheme, authority)) return false;
  }
  return unescape(rest, 'path') !== undefined;
}

/** The scheme before a colon ('' when there is none), undefined for "missing protocol scheme". */
function getScheme(s: Uint8Array): string | undefined {
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a)) continue;
    if ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e) {
      if (i === 0) return '';
      continue;
    }
    if (c === 0x3a) return i === 0 ? undefined : text(s.subarray(0, i));
    return '';
  }
  return '';
}

function validAuthority(scheme: string, authority: Uint8Array): boolean {
  const at = authority.lastIndexOf(0x40);
  if (!validHost(scheme, at < 0 ? authority : authority.subarray(at + 1))) return false;
  if (at < 0) return true;
  const userinfo = authority.subarray(0, at);
  if (!validUserinfo(decoder.decode(userinfo))) return false;
  const colon = userinfo.indexOf(0x3a);
  if (colon < 0) return unescape(userinfo, 'user') !== undefined;
  return unescape(userinfo.subarray(0, colon), 'user') !== undefined && unescape(userinfo.subarray(colon + 1), 'user') !== undefined;
}

function validUserinfo(s: string): boolean {
  for (const r of s) {
    if (/[A-Za-z0-9]/.test(r)) continue;
    if ("-._:~!$&'()*+,;=%@".includes(r)) continue;
    return false;
  }
  return true;
}

function validOptionalPort(port: Uint8Array): boolean {
  if (port.length === 0) return true;
  if (port[0] !== 0x3a) return false;
  // Go ranges over the runes: any byte of a multi-byte rune is outside '0'..'9' too.
  return port.subarray(1).every((b) => b >= 0x30 && b <= 0x39);
}

function validHost(scheme: string, host: Uint8Array): boolean {
  const open = host.lastIndexOf(0x5b);
  if (open > 0) return false;
  if (open === 0) {
    const close = host.lastIndexOf(0x5d);
    if (close < 0) return false;
    const colonPort = host.subarray(close + 1);
    if (!validOptionalPort(colonPort) || unescape(colonPort, 'host') === undefined) return false;
    const hostname = host.subarray(1, close);
    const zone = indexOfBytes(hostname, [0x25, 0x32, 0x35]);
    let unescaped: Uint8Array | undefined;
    if (zone >= 0) {
      const hostPart = unescape(hostname.subarray(0, zone), 'host');
      const zonePart = unescape(hostname.subarray(zone), 'zone');
      if (!hostPart || !zonePart) return false;
      unescaped = Uint8Array.from([...hostPart, ...zonePart]);
    } else {
      unescaped = unescape(hostname, 'host');
      if (!unescaped) return false;
    }
    // An IP-literal must be an IPv6 address (an IPv4 one in brackets is refused).
    return parseAddr(text(unescaped)) === 'v6';
  }
  let colon = host.indexOf(0x3a);
  if (colon >= 0) {
    const last = host.lastIndexOf(0x3a);
    if (last !== colon && scheme !== 'http' && scheme !== 'https') colon = last;
    if (!validOptionalPort(host.subarray(colon))) return false;
  }
  return unescape(host, 'host') !== undefined;
}

function indexOfBytes(s: Uint8Array, needle: number[]): number {
  for (let i = 0; i + needle.length <= s.length; i++) if (needle.every((b, k) => s[i + k] === b)) return i;
  return -1;
}
