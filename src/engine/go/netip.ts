// Go's netip.ParseAddr (Go 1.26), as far as which addresses it accepts: IPv4 in four decimal
// fields without leading zeros, IPv6 with `::`, an embedded IPv4 tail and a zone after `%`. What
// url.ParseRequestURI reads inside brackets, and (without a zone) what net.ParseIP accepts.

/** Which kind of address the string is, undefined where Go refuses it. */
export function parseAddr(s: string): 'v4' | 'v6' | undefined {
  for (const c of s) {
    if (c === '.') return ipv4Fields(s, 0, s.length) ? 'v4' : undefined;
    if (c === ':') return parseIPv6(s) ? 'v6' : undefined;
    if (c === '%') return undefined;
  }
  return undefined;
}

function ipv4Fields(input: string, off: number, end: number): boolean {
  const s = input.slice(off, end);
  let val = 0;
  let pos = 0;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && val === 0) return false; // a leading zero
      val = val * 10 + (c - 0x30);
      digits++;
      if (val > 255) return false;
    } else if (c === 0x2e) {
      if (i === 0 || i === s.length - 1 || s[i - 1] === '.') return false;
      if (pos === 3) return false;
      pos++;
      val = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  return pos === 3;
}

function parseIPv6(input: string): boolean {
  let s = input;
  let zone = '';
  const percent = s.indexOf('%');
  if (percent !== -1) {
    zone = s.slice(percent + 1);
    s = s.slice(0, percent);
    if (zone === '') return false;
  }
  let ellipsis = -1;
  if (s.startsWith('::')) {
    ellipsis = 0;
    s = s.slice(2);
    if (s.length === 0) return true;
  }
  let i = 0;
  while (i < 16) {
    let off = 0;
    let acc = 0;
    for (; off < s.length; off++) {
      const c = s[off]!;
      if (!/[0-9a-fA-F]/.test(c)) break;
      acc = acc * 16 + parseInt(c, 16);
      if (off > 3 || acc > 0xffff) return false;
    }
    if (off === 0) return false;
    if (off < s.length && s[off] === '.') {
      if (ellipsis < 0 && i !== 12) return false;
      if (i + 4 > 16) return false;
      const end = input.length - (zone.length > 0 ? zone.length + 1 : 0);
      if (!ipv4Fields(input, end - s.length, end)) return false;
      s = '';
      i += 4;
      break;
    }
    i += 2;
    s = s.slice(off);
    if (s.length === 0) break;
    if (s[0] !== ':' || s.length === 1) return false;
    s = s.slice(1);
    if (s[0] === ':') {
      if (ellipsis >= 0) return false;
      ellipsis = i;
      s = s.slice(1);
      if (s.length === 0) break;
    }
  }
  if (s.length !== 0) return false;
  if (i < 16) return ellipsis >= 0;
  return ellipsis < 0;
}
