// Go's strconv.FormatFloat(v, fmt, prec, 64), digit for digit: what fmt's %e/%f/%g/%x/%b print and
// what apimachinery prints for float values in field errors.

export interface Digits {
  /** Significant decimal digits without trailing zeros; empty for zero. */
  d: string;
  /** Position of the decimal point: the value is 0.d × 10^dp. */
  dp: number;
}

const F64 = new DataView(new ArrayBuffer(8));

function float64Parts(v: number): { neg: boolean; mant: bigint; exp: number } {
  F64.setFloat64(0, v);
  const bits = F64.getBigUint64(0);
  const neg = bits >> 63n === 1n;
  let exp = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  if (exp === 0) exp++; // denormal
  else mant |= 1n << 52n;
  return { neg, mant, exp: exp - 1023 };
}

/** Go's strconv.FormatFloat for a finite float64. */
export function formatFloat(v: number, fmt: string, prec: number): string {
  const { neg, mant, exp } = float64Parts(v);
  if (fmt === 'b') return fmtB(neg, mant, exp);
  if (fmt === 'x' || fmt === 'X') return fmtX(prec, fmt, neg, mant, exp);

  const shortest = prec < 0;
  if (mant === 0n) return formatDigits(shortest, neg, { d: '', dp: 0 }, prec, fmt);
  let digs: Digits;
  if (shortest) {
    digs = shortestDigits(Math.abs(v));
    if (fmt === 'e' || fmt === 'E') prec = Math.max(digs.d.length - 1, 0);
    else if (fmt === 'f') prec = Math.max(digs.d.length - digs.dp, 0);
    else prec = digs.d.length;
    return formatDigits(true, neg, digs, prec, fmt);
  }
  digs = exactDigits(mant, exp);
  if (fmt === 'e' || fmt === 'E') digs = roundDigits(digs, prec + 1);
  else if (fmt === 'f') digs = roundDigits(digs, digs.dp + prec);
  else {
    if (prec === 0) prec = 1;
    digs = roundDigits(digs, prec);
  }
  return formatDigits(false, neg, digs, prec, fmt);
}

/**
 * The shortest digits that round-trip. JS's Number-to-string and Go's strconv both pick the shortest
 * such digits and, among those, the one closest to the exact value, so they agree.
 */
function shortestDigits(v: number): Digits {
  const s = v.toExponential(); // shortest round-trip digits in V8, like String(v)
  const [mantissa, e] = s.split('e') as [string, string];
  const d = mantissa.replace('.', '').replace(/0+$/, '');
  return { d, dp: Number(e) + 1 };
}

/** The exact decimal expansion of mant × 2^(exp-52). */
function exactDigits(mant: bigint, exp: number): Digits {
  const e2 = exp - 52;
  let text: string;
  let dp: number;
  if (e2 >= 0) {
    text = (mant << BigInt(e2)).toString();
    dp = text.length;
  } else {
    text = (mant * 5n ** BigInt(-e2)).toString();
    dp = text.length + e2;
  }
  return { d: text.replace(/0+$/, ''), dp };
}

/** Rounds to nd digits, half to even, like Go's strconv decimal.Round on an exact expansion. */
function roundDigits(x: Digits, nd: number): Digits {
  if (nd < 0 || nd >= x.d.length) return x;
  const d = x.d;
  let up: boolean;
  if (d[nd] === '5' && nd + 1 === d.length) up = nd > 0 && (d.charCodeAt(nd - 1) - 48) % 2 === 1;
  else up = d[nd]! >= '5';
  if (!up) return { d: d.slice(0, nd).replace(/0+$/, ''), dp: x.dp };
  let i = nd - 1;
  while (i >= 0 && d[i] === '9') i--;
  if (i < 0) return { d: '1', dp: x.dp + 1 };
  return { d: d.slice(0, i) + String.fromCharCode(d.charCodeAt(i) + 1), dp: x.dp };
}

export function formatDigits(shortest: boolean, neg: boolean, digs: Digits, prec: number, fmt: string): string {
  const nd = digs.d.length;
  switch (fmt) {
    case 'e':
    case 'E':
      return fmtE(neg, digs, prec, fmt);
    case 'f':
      return fmtF(neg, digs, prec);
    case 'g':
    case 'G': {
      let eprec = prec;
      if (eprec > nd && nd >= digs.dp) eprec = nd;
      // %e is used if the exponent from the conversion is less than -4 or greater than or equal to
      // the precision; shortest formatting decides as if the precision were 6.
      if (shortest) eprec = 6;
      const exp = digs.dp - 1;
      if (exp < -4 || exp >= eprec) {
        if (prec > nd) prec = nd;
        return fmtE(neg, digs, prec - 1, fmt === 'g' ? 'e' : 'E');
      }
      if (prec > digs.dp) prec = nd;
      return fmtF(neg, digs, Math.max(prec - digs.dp, 0));
    }
  }
  return '%' + fmt;
}

function fmtE(neg: boolean, digs: Digits, prec: number, fmt: string): string {
  let out = neg ? '-' : '';
  out += digs.d.length > 0 ? digs.d[0] : '0';
  if (prec > 0) {
    out += '.';
    const frac = digs.d.slice(1, Math.min(digs.d.length, prec + 1));
    out += frac + '0'.repeat(prec - frac.length);
  }
  let exp = digs.d.length === 0 ? 0 : digs.dp - 1;
  out += fmt;
  if (exp < 0) {
    out += '-';
    exp = -exp;
  } else {
    out += '+';
  }
  out += exp < 10 ? '0' + exp : String(exp);
  return out;
}

function fmtF(neg: boolean, digs: Digits, prec: number): string {
  let out = neg ? '-' : '';
  if (digs.dp > 0) {
    const m = Math.min(digs.d.length, digs.dp);
    out += digs.d.slice(0, m) + '0'.repeat(digs.dp - m);
  } else {
    out += '0';
  }
  if (prec > 0) {
    out += '.';
    for (let i = 0; i < prec; i++) {
      const j = digs.dp + i;
      out += j >= 0 && j < digs.d.length ? digs.d[j] : '0';
    }
  }
  return out;
}

function fmtB(neg: boolean, mant: bigint, exp: number): string {
  const e = exp - 52;
  return `${neg ? '-' : ''}${mant}p${e >= 0 ? '+' : ''}${e}`;
}

function fmtX(prec: number, fmt: string, neg: boolean, mant: bigint, exp: number): string {
  const MASK64 = (1n << 64n) - 1n;
  if (mant === 0n) exp = 0;
  // Shift digits so the leading 1 (if any) is at bit 1<<60.
  mant <<= 8n;
  while (mant !== 0n && (mant & (1n << 60n)) === 0n) {
    mant <<= 1n;
    exp--;
  }
  if (prec >= 0 && prec < 15) {
    const shift = BigInt(prec * 4);
    const extra = (mant << shift) & ((1n << 60n) - 1n);
    mant >>= 60n - shift;
    if ((extra | (mant & 1n)) > 1n << 59n) mant++;
    mant <<= 60n - shift;
    if ((mant & (1n << 61n)) !== 0n) {
      mant >>= 1n;
      exp++;
    }
  }
  const hex = fmt === 'X' ? '0123456789ABCDEF' : '0123456789abcdef';
  let out = (neg ? '-' : '') + '0' + fmt + String((mant >> 60n) & 1n);
  mant = (mant << 4n) & MASK64;
  if (prec < 0 && mant !== 0n) {
    out += '.';
    while (mant !== 0n) {
      out += hex[Number((mant >> 60n) & 15n)];
      mant = (mant << 4n) & MASK64;
    }
  } else if (prec > 0) {
    out += '.';
    for (let i = 0; i < prec; i++) {
      out += hex[Number((mant >> 60n) & 15n)];
      mant = (mant << 4n) & MASK64;
    }
  }
  out += fmt === 'X' ? 'P' : 'p';
  if (exp < 0) {
    out += '-';
    exp = -exp;
  } else {
    out += '+';
  }
  out += exp < 10 ? '0' + exp : String(exp);
  return out;
}
