// Formats (strfmt.Default, as far as apiextensions lets them through), mirrored check by check from the Go
// kube-openapi validates with: strfmt's own patterns (hostname, uuid, date-time) matched by RE2, Go's
// parsers (net.ParseMAC, time.ParseDuration and strfmt's second duration reading, netutils' sloppy IP
// parsers) ported. kube-openapi's SchemaValidator checks a string against its schema's format with this
// registry, so a value Gatekeeper rejects for its format is rejected here. `quantity` is not in it: CRDs
// drop that format, and Gatekeeper checks nothing for it.
//
// Known differences from Gatekeeper: see docs/fidelity.md, "Constraints".
import { RE2JS } from 're2js';
import { parseAddr } from '../../go/netip.js';
import { isRequestURI } from '../../go/url.js';

export function normalizeFormat(format: string): string {
  return format.replaceAll('-', '');
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const UUID3 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const UUID4 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i;
const UUID5 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i;
// strfmt HostnamePattern, matched by RE2 as Go does.
const HOSTNAME = RE2JS.compile(
  '^([a-zA-Z0-9\\p{S}\\p{L}]((-?[a-zA-Z0-9\\p{S}\\p{L}]{0,62})?)|([a-zA-Z0-9\\p{S}\\p{L}](([a-zA-Z0-9-\\p{S}\\p{L}]{0,61}[a-zA-Z0-9\\p{S}\\p{L}])?)(\\.)){1,}([a-zA-Z\\p{L}]){2,63})$',
);
// netutils.ParseIPSloppy (Go's parser before 1.17): each IPv4 part decimal, leading zeros allowed, at most 255.
function isSloppyIPv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => /^[0-9]+$/.test(p) && (p.replace(/^0+/, '').length <= 3 ? Number(p) <= 255 : false));
}
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/;
const RGB_PART = '\\s*(0|[1-9]\\d?|1\\d\\d?|2[0-4]\\d|25[0-5])\\s*';
const RGB_COLOR = new RegExp(`^rgb\\(${RGB_PART},${RGB_PART},${RGB_PART}\\)$`);

// netutils.ParseIPSloppy's IPv6 form: as net.ParseIP, but an IPv4 tail may have leading zeros.
function isSloppyIPv6(value: string): boolean {
  let text = value;
  if (text.includes('.')) {
    const lastColon = text.lastIndexOf(':');
    const tail = text.slice(lastColon + 1);
    if (!isSloppyIPv4(tail)) return false;
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groups = (part: string): number | undefined => {
    if (part === '') return 0;
    const parts = part.split(':');
    return parts.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g)) ? parts.length : undefined;
  };
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : 0;
  if (head === undefined || tail === undefined) return false;
  return halves.length === 2 ? head + tail < 8 : head === 8;
}

function isValidDate(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (match === null) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function isIsbn10(value: string): boolean {
  const s = value.replace(/[\s-]/g, '');
  if (!/^(?:[0-9]{9}X|[0-9]{10})$/.test(s)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (i + 1) * Number(s[i]);
  sum += s[9] === 'X' ? 100 : 10 * Number(s[9]);
  return sum % 11 === 0;
}

function isIsbn13(value: string): boolean {
  const s = value.replace(/[\s-]/g, '');
  if (!/^[0-9]{13}$/.test(s)) return false;
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(s[i]) * (i % 2 === 0 ? 1 : 3);
  return (10 - (sum % 10)) % 10 === Number(s[12]);
}

function isCreditCard(value: string): boolean {
  const digits = value.replace(/[^0-9]+/g, '');
  if (!/^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|(222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|27[01][0-9]|2720)[0-9]{12}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\d{3})\d{11}|6[27][0-9]{14})$/.test(digits)) {
    return false;
  }
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = Number(digits[i]);
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

// strfmt ParseDuration's second try: any `<digits><letters>` in the text whose unit it knows makes it a
// duration; digits past int64 (strconv.Atoi) make it fail.
const DURATION_UNITS = [['ns', 'nano'], ['us', 'µs', 'micro'], ['ms', 'milli'], ['s', 'sec'], ['m', 'min'], ['h', 'hr', 'hour'], ['d', 'day'], ['w', 'wk', 'week']];
function isScalaDuration(value: string): boolean {
  let ok = false;
  for (const match of value.matchAll(/(\d+)\s*([A-Za-zµ]+)/gu)) {
    if (BigInt(match[1] ?? '0') > INT64_MAX) return false;
    const unit = (match[2] ?? '').trim().toLowerCase();
    for (const variants of DURATION_UNITS) {
      variants.forEach((variant, i) => {
        if ((i === variants.length - 1 && unit.startsWith(variant)) || variant === unit) ok = true;
      });
    }
  }
  return ok;
}

const INT64_MAX = (1n << 63n) - 1n;
const DURATION_UNIT_NANOS = new Map<string, bigint>([
  ['ns', 1n], ['us', 1000n], ['\u00b5s', 1000n], ['\u03bcs', 1000n], ['ms', 1_000_000n], ['s', 1_000_000_000n],
  ['m', 60_000_000_000n], ['h', 3_600_000_000_000n],
]);

// time.ParseDuration: signed sequence of decimal numbers, each with a unit, within int64 nanoseconds.
function isGoDuration(text: string): boolean {
  let s = text;
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '0') return true;
  if (s === '') return false;
  let total = 0n;
  const limit = 1n << 63n;
  while (s !== '') {
    const m = /^([0-9]*)(\.([0-9]*))?/.exec(s);
    const whole = m?.[1] ?? '';
    const fraction = m?.[3];
    if (whole === '' && (fraction === undefined || fraction === '')) return false;
    s = s.slice(m?.[0].length ?? 0);
    const unitMatch = /^[^0-9.]*/.exec(s);
    const unit = unitMatch?.[0] ?? '';
    s = s.slice(unit.length);
    const nanos = DURATION_UNIT_NANOS.get(unit);
    if (nanos === undefined) return false;
    const v = whole === '' ? 0n : BigInt(whole);
    if (v > limit) return false;
    let part = v * nanos;
    if (v > limit / nanos) return false;
    if (fraction !== undefined && fraction !== '') part += BigInt(Math.trunc(Number(`0.${fraction}`) * Number(nanos)));
    if (part > limit) return false;
    total += part;
    if (total > limit) return false;
  }
  return neg || total <= limit - 1n;
}

// Go's net.ParseMAC: 6, 8 or 20 octets, as pairs split by `:` or `-`, dotted groups of four, or bare hex.
function isMac(s: string): boolean {
  const hex2 = (t: string) => /^[0-9a-fA-F]{2}$/.test(t);
  if (s.length < 12) return false;
  if (s[2] === ':' || s[2] === '-') {
    if ((s.length + 1) % 3 !== 0) return false;
    const n = (s.length + 1) / 3;
    if (n !== 6 && n !== 8 && n !== 20) return false;
    for (let i = 0, x = 0; i < n; i++, x += 3) {
      if (!hex2(s.slice(x, x + 2)) || (x + 2 < s.length && s[x + 2] !== s[2])) return false;
    }
    return true;
  }
  if (s[4] === '.') {
    if ((s.length + 1) % 5 !== 0) return false;
    const n = (2 * (s.length + 1)) / 5;
    if (n !== 6 && n !== 8 && n !== 20) return false;
    for (let i = 0, x = 0; i < n; i += 2, x += 5) {
      if (!hex2(s.slice(x, x + 2)) || !hex2(s.slice(x + 2, x + 4)) || (x + 4 < s.length && s[x + 4] !== '.')) return false;
    }
    return true;
  }
  if (s.length % 2 !== 0) return false;
  const n = s.length / 2;
  if (n !== 6 && n !== 8 && n !== 20) return false;
  return /^[0-9a-fA-F]+$/.test(s);
}

// strfmt IsDateTime: the date before the first `t` (any case), then a time with a zone.
const DATE_TIME_REST = RE2JS.compile('^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$');
function isDateTime(value: string): boolean {
  if (new TextEncoder().encode(value).length < 4) return false;
  const parts = value.toLowerCase().split('t');
  if (parts.length < 2 || !isValidDate(parts[0] ?? '')) return false;
  const m = DATE_TIME_REST.matcher(parts[1] ?? '');
  if (!m.find()) return false;
  return (m.group(1) ?? '') <= '23' && (m.group(2) ?? '') <= '59' && (m.group(3) ?? '') <= '59';
}

export const FORMAT_CHECKS = new Map<string, (value: string) => boolean>([
  ['bsonobjectid', (v) => /^[0-9a-fA-F]{24}$/.test(v)],
  ['uri', isRequestURI],
  ['email', (v) => /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+$/.test(v) || /^[^<>]*<[^\s@<>]+@[^\s@<>]+>$/.test(v)],
  ['hostname', (v) => HOSTNAME.test(v) && v.length <= 255 && v.split('.').every((p) => new TextEncoder().encode(p).length <= 63)],
  ['ipv4', (v) => isSloppyIPv4(v) || (v.includes('.') && isSloppyIPv6(v))],
  // govalidator.IsIPv6: net.ParseIP, which is netip.ParseAddr without a zone.
  ['ipv6', (v) => v.includes(':') && !v.includes('%') && parseAddr(v) !== undefined],
  [
    'cidr',
    (v) => {
      const slash = v.indexOf('/');
      if (slash < 0) return false;
      const ip = v.slice(0, slash);
      const bits = v.slice(slash + 1);
      if (!/^\d+$/.test(bits)) return false;
      if (isSloppyIPv4(ip)) return Number(bits) <= 32;
      return isSloppyIPv6(ip) && Number(bits) <= 128;
    },
  ],
  ['mac', isMac],
  ['uuid', (v) => UUID.test(v)],
  ['uuid3', (v) => UUID3.test(v)],
  ['uuid4', (v) => UUID4.test(v)],
  ['uuid5', (v) => UUID5.test(v)],
  ['isbn', (v) => isIsbn10(v) || isIsbn13(v)],
  ['isbn10', isIsbn10],
  ['isbn13', isIsbn13],
  ['creditcard', isCreditCard],
  ['ssn', (v) => v.length === 11 && /^\d{3}[- ]?\d{2}[- ]?\d{4}$/.test(v)],
  ['hexcolor', (v) => /^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(v)],
  ['rgbcolor', (v) => RGB_COLOR.test(v)],
  ['byte', (v) => BASE64.test(v)],
  ['password', () => true],
  ['date', isValidDate],
  ['datetime', isDateTime],
  ['duration', (v) => isGoDuration(v) || isScalaDuration(v)],
]);
