// Formats (strfmt.Default, as far as apiextensions lets them through). Go's parsers are approximated.
// kube-openapi's SchemaValidator checks a string against its schema's format with go-openapi's strfmt
// registry, so a value Gatekeeper rejects for its format is rejected here.
//
// Known differences from Gatekeeper:
// - Formats use our own checks where Go calls a parser (uri, email, date-time, duration, quantity, mac, cidr
//   are close approximations).

export function normalizeFormat(format: string): string {
  return format.replaceAll('-', '');
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const UUID3 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const UUID4 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i;
const UUID5 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i;
const HOSTNAME =
  /^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9\-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z0-9\p{S}\p{L}])(-?[a-zA-Z0-9\p{S}\p{L}]){1,62})$/u;
const IPV4_OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${IPV4_OCTET}(\\.${IPV4_OCTET}){3}$`);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/;
const RGB_PART = '\\s*(0|[1-9]\\d?|1\\d\\d?|2[0-4]\\d|25[0-5])\\s*';
const RGB_COLOR = new RegExp(`^rgb\\(${RGB_PART},${RGB_PART},${RGB_PART}\\)$`);
const GO_DURATION = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$/;

// net.ParseIP's IPv6 form: eight groups, one `::` standing for at least one, an optional IPv4 tail.
function isIPv6(value: string): boolean {
  let text = value;
  if (text.includes('.')) {
    const lastColon = text.lastIndexOf(':');
    if (!IPV4.test(text.slice(lastColon + 1))) return false;
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

function isScalaDuration(value: string): boolean {
  if (!/^\s*(?:\d+\s*[A-Za-zµ]+\s*)+$/.test(value)) return false;
  const units = [['ns', 'nano'], ['us', 'µs', 'micro'], ['ms', 'milli'], ['s', 'sec'], ['m', 'min'], ['h', 'hr', 'hour'], ['d', 'day'], ['w', 'wk', 'week']];
  for (const match of value.matchAll(/(\d+)\s*([A-Za-zµ]+)/g)) {
    const unit = (match[2] ?? '').toLowerCase();
    if (units.some((variants) => variants.some((v, i) => v === unit || (i === variants.length - 1 && unit.startsWith(v))))) return true;
  }
  return false;
}

export const FORMAT_CHECKS = new Map<string, (value: string) => boolean>([
  ['bsonobjectid', (v) => /^[0-9a-fA-F]{24}$/.test(v)],
  ['uri', (v) => !/\s/.test(v) && (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(v) || v.startsWith('/'))],
  ['email', (v) => /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+$/.test(v) || /^[^<>]*<[^\s@<>]+@[^\s@<>]+>$/.test(v)],
  ['hostname', (v) => HOSTNAME.test(v) && v.length <= 255 && v.split('.').every((p) => new TextEncoder().encode(p).length <= 63)],
  ['ipv4', (v) => IPV4.test(v) || (v.includes('.') && isIPv6(v))],
  ['ipv6', (v) => v.includes(':') && isIPv6(v)],
  [
    'cidr',
    (v) => {
      const slash = v.indexOf('/');
      if (slash < 0) return false;
      const ip = v.slice(0, slash);
      const bits = v.slice(slash + 1);
      if (!/^\d+$/.test(bits)) return false;
      if (IPV4.test(ip)) return Number(bits) <= 32;
      return isIPv6(ip) && Number(bits) <= 128;
    },
  ],
  [
    'mac',
    (v) =>
      /^([0-9a-fA-F]{2}([:-]))([0-9a-fA-F]{2}\2){4}[0-9a-fA-F]{2}$/.test(v) ||
      /^([0-9a-fA-F]{2}([:-]))([0-9a-fA-F]{2}\2){6}[0-9a-fA-F]{2}$/.test(v) ||
      /^([0-9a-fA-F]{2}([:-]))([0-9a-fA-F]{2}\2){18}[0-9a-fA-F]{2}$/.test(v) ||
      /^([0-9a-fA-F]{4}\.){2}[0-9a-fA-F]{4}$/.test(v) ||
      /^([0-9a-fA-F]{4}\.){3}[0-9a-fA-F]{4}$/.test(v) ||
      /^([0-9a-fA-F]{4}\.){9}[0-9a-fA-F]{4}$/.test(v),
  ],
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
  [
    'datetime',
    (v) => {
      const match = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$/.exec(v);
      return match !== null && isValidDate(match[1] ?? '') && Number(match[2]) < 24 && Number(match[3]) < 60 && Number(match[4]) < 61;
    },
  ],
  ['duration', (v) => (v === '0' || GO_DURATION.test(v)) || isScalaDuration(v)],
]);
