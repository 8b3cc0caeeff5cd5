// Go's fmt.Sprintf over the Go values OPA's `sprintf` builtin hands it (int64, *big.Int, float64,
// string): a port of the parts of Go's fmt (print.go, format.go), strconv and math/big (Int.Format)
// that those argument types can reach, so messages come out byte for byte the same.
import { formatFloat } from './format-float.js';
import { goEscapeRune, goIsPrint, goQuote } from './quote.js';

/**
 * Go type name printed for integer arguments in error verbs (`%!s(int=5)`). Gatekeeper's OPA (1.17.1)
 * passes int, and gator prints `%!f(int=01)`; the pinned OPA CLI (1.22) would say int64. Gatekeeper
 * wins. Only bad-verb text, %T and %!(EXTRA …) show the name.
 */
export const SPRINTF_INT_TYPE = 'int';

/** The Go values OPA's sprintf can produce from Rego values. */
export type GoArg =
  | { kind: 'int'; value: bigint } // int64
  | { kind: 'big'; value: bigint } // *big.Int, only for integers outside int64
  | { kind: 'float'; value: number } // float64
  | { kind: 'string'; value: string };

export const INT64_MIN = -(1n << 63n);
export const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MASK = (1n << 64n) - 1n;
const MAX_RUNE = 0x10ffff;

/** Go's fmt.Sprintf(format, args...). */
export function sprintf(format: string, args: GoArg[]): string {
  return new Printer(args).doPrintf(format);
}

function typeName(arg: GoArg): string {
  switch (arg.kind) {
    case 'int':
      return SPRINTF_INT_TYPE;
    case 'big':
      return '*big.Int';
    case 'float':
      return 'float64';
    case 'string':
      return 'string';
  }
}

function runeCount(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

const encoder = new TextEncoder();

function tooLarge(x: number): boolean {
  return x > 1e6 || x < -1e6;
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** Go's fmt.parsenum: digits at s[start:end], with Go's give-up-on-overflow quirk. */
function parsenum(s: string, start: number, end: number): [num: number, isnum: boolean, newi: number] {
  if (start >= end) return [0, false, end];
  let num = 0;
  let isnum = false;
  let newi = start;
  for (; newi < end && isDigit(s[newi]); newi++) {
    if (tooLarge(num)) return [0, false, end];
    num = num * 10 + (s.charCodeAt(newi) - 48);
    isnum = true;
  }
  return [num, isnum, newi];
}

class Printer {
  private buf = '';
  private arg: GoArg | undefined;
  private erroring = false;
  private reordered = false;
  private goodArgNum = true;

  // Go's fmt.fmtFlags plus width and precision.
  private wid = 0;
  private prec = 0;
  private widPresent = false;
  private precPresent = false;
  private minus = false;
  private plus = false;
  private sharp = false;
  private space = false;
  private zero = false;
  private plusV = false;
  private sharpV = false;

  constructor(private readonly args: GoArg[]) {}

  private clearflags(): void {
    this.wid = 0;
    this.prec = 0;
    this.widPresent = false;
    this.precPresent = false;
    this.minus = false;
    this.plus = false;
    this.sharp = false;
    this.space = false;
    this.zero = false;
    this.plusV = false;
    this.sharpV = false;
  }

  doPrintf(format: string): string {
    const a = this.args;
    const end = format.length;
    let argNum = 0;
    let afterIndex = false;
    this.reordered = false;
    formatLoop: for (let i = 0; i < end; ) {
      this.goodArgNum = true;
      const lasti = i;
      while (i < end && format[i] !== '%') i++;
      if (i > lasti) this.buf += format.slice(lasti, i);
      if (i >= end) break;
      i++;

      this.clearflags();
      simpleFormat: for (; i < end; i++) {
        const c = format[i]!;
        switch (c) {
          case '#':
            this.sharp = true;
            break;
          case '0':
            this.zero = true;
            break;
          case '+':
            this.plus = true;
            break;
          case '-':
            this.minus = true;
            break;
          case ' ':
            this.space = true;
            break;
          default:
            if (c >= 'a' && c <= 'z' && argNum < a.length) {
              if (c === 'v' || c === 'w') this.moveVFlags();
              this.printArg(a[argNum]!, c);
              argNum++;
              i++;
              continue formatLoop;
            }
            break simpleFormat;
        }
      }

      [argNum, i, afterIndex] = this.argNumber(argNum, format, i, a.length);

      if (i < end && format[i] === '*') {
        i++;
        [this.wid, this.widPresent, argNum] = this.intFromArg(argNum);
        if (!this.widPresent) this.buf += '%!(BADWIDTH)';
        if (this.wid < 0) {
          this.wid = -this.wid;
          this.minus = true;
          this.zero = false;
        }
        afterIndex = false;
      } else {
        [this.wid, this.widPresent, i] = parsenum(format, i, end);
        if (afterIndex && this.widPresent) this.goodArgNum = false;
      }

      if (i + 1 < end && format[i] === '.') {
        i++;
        if (afterIndex) this.goodArgNum = false;
        [argNum, i, afterIndex] = this.argNumber(argNum, format, i, a.length);
        if (i < end && format[i] === '*') {
          i++;
          [this.prec, this.precPresent, argNum] = this.intFromArg(argNum);
          if (this.prec < 0) {
            this.prec = 0;
            this.precPresent = false;
          }
          if (!this.precPresent) this.buf += '%!(BADPREC)';
          afterIndex = false;
        } else {
          [this.prec, this.precPresent, i] = parsenum(format, i, end);
          if (!this.precPresent) {
            this.prec = 0;
            this.precPresent = true;
          }
        }
      }

      if (!afterIndex) [argNum, i, afterIndex] = this.argNumber(argNum, format, i, a.length);

      if (i >= end) {
        this.buf += '%!(NOVERB)';
        break;
      }

      const verb = String.fromCodePoint(format.codePointAt(i)!);
      i += verb.length;

      if (verb === '%') {
        // Percent does not absorb operands and ignores width and precision.
        this.buf += '%';
      } else if (!this.goodArgNum) {
        this.buf += `%!${verb}(BADINDEX)`;
      } else if (argNum >= a.length) {
        this.buf += `%!${verb}(MISSING)`;
      } else {
        if (verb === 'v' || verb === 'w') this.moveVFlags();
        this.printArg(a[argNum]!, verb);
        argNum++;
      }
    }

    // Go skips this check when arguments were indexed explicitly.
    if (!this.reordered && argNum < a.length) {
      this.clearflags();
      this.buf += '%!(EXTRA ';
      a.slice(argNum).forEach((arg, k) => {
        if (k > 0) this.buf += ', ';
        this.buf += typeName(arg) + '=';
        this.printArg(arg, 'v');
      });
      this.buf += ')';
    }
    return this.buf;
  }

  /** %+v and %#v are flagless formats of their own in Go: the flags move to plusV/sharpV. */
  private moveVFlags(): void {
    this.sharpV = this.sharp;
    this.sharp = false;
    this.plusV = this.plus;
    this.plus = false;
  }

  private argNumber(argNum: number, format: string, i: number, numArgs: number): [number, number, boolean] {
    if (format.length <= i || format[i] !== '[') return [argNum, i, false];
    this.reordered = true;
    const [index, wid, ok] = parseArgNumber(format.slice(i));
    if (ok && index >= 0 && index < numArgs) return [index, i + wid, true];
    this.goodArgNum = false;
    return [argNum, i + wid, ok];
  }

  private intFromArg(argNum: number): [num: number, isInt: boolean, newArgNum: number] {
    if (argNum >= this.args.length) return [0, false, argNum];
    const arg = this.args[argNum]!;
    let num = 0;
    let isInt = false;
    if (arg.kind === 'int') {
      num = Number(arg.value);
      isInt = true;
    }
    if (tooLarge(num)) {
      num = 0;
      isInt = false;
    }
    return [num, isInt, argNum + 1];
  }

  // --- printArg and the per-type verb dispatch (print.go)

  private printArg(arg: GoArg, verb: string): void {
    this.arg = arg;
    if (verb === 'T') {
      this.fmtS(typeName(arg));
      return;
    }
    if (verb === 'p') {
      // Go prints the *big.Int's address, which nothing can reproduce; the others are bad verbs.
      this.badVerb(verb);
      return;
    }
    switch (arg.kind) {
      case 'float':
        this.printFloat(arg.value, verb);
        return;
      case 'int':
        this.printInteger(arg.value, verb);
        return;
      case 'string':
        this.printString(arg.value, verb);
        return;
      case 'big':
        // *big.Int is a fmt.Formatter, except while printing an error (p.erroring) and for %w.
        if (this.erroring) this.printBigIntStruct(arg.value);
        else if (verb === 'w') this.badVerb(verb);
        else this.formatBigInt(arg.value, verb);
        return;
    }
  }

  private badVerb(verb: string): void {
    const arg = this.arg!;
    this.erroring = true;
    this.buf += `%!${verb}(${typeName(arg)}=`;
    this.printArg(arg, 'v');
    this.buf += ')';
    this.erroring = false;
  }

  private printInteger(v: bigint, verb: string): void {
    const u = v & UINT64_MASK;
    switch (verb) {
      case 'v':
      case 'd':
        this.fmtInteger(v, 10, verb, false);
        return;
      case 'b':
        this.fmtInteger(v, 2, verb, false);
        return;
      case 'o':
      case 'O':
        this.fmtInteger(v, 8, verb, false);
        return;
      case 'x':
        this.fmtInteger(v, 16, verb, false);
        return;
      case 'X':
        this.fmtInteger(v, 16, verb, true);
        return;
      case 'c':
        this.fmtC(u);
        return;
      case 'q':
        this.fmtQc(u);
        return;
      case 'U':
        this.fmtUnicode(u);
        return;
      default:
        this.badVerb(verb);
    }
  }

  private printFloat(v: number, verb: string): void {
    switch (verb) {
      case 'v':
        this.fmtFloat(v, 'g', -1);
        return;
      case 'b':
      case 'g':
      case 'G':
      case 'x':
      case 'X':
        this.fmtFloat(v, verb, -1);
        return;
      case 'f':
      case 'e':
      case 'E':
        this.fmtFloat(v, verb, 6);
        return;
      case 'F':
        this.fmtFloat(v, 'f', 6);
        return;
      default:
        this.badVerb(verb);
    }
  }

  private printString(s: string, verb: string): void {
    switch (verb) {
      case 'v':
        if (this.sharpV) this.fmtQ(s);
        else this.fmtS(s);
        return;
      case 's':
        this.fmtS(s);
        return;
      case 'x':
        this.fmtSx(s, false);
        return;
      case 'X':
        this.fmtSx(s, true);
        return;
      case 'q':
        this.fmtQ(s);
        return;
      default:
        this.badVerb(verb);
    }
  }

  // --- padding and the basic formatters (format.go)

  private writePadding(n: number): void {
    if (n <= 0) return;
    this.buf += (this.zero && !this.minus ? '0' : ' ').repeat(n);
  }

  private pad(s: string): void {
    if (!this.widPresent || this.wid === 0) {
      this.buf += s;
      return;
    }
    const width = this.wid - runeCount(s);
    if (!this.minus) {
      this.writePadding(width);
      this.buf += s;
    } else {
      this.buf += s;
      this.writePadding(width);
    }
  }

  /** pad() with zero padding suppressed, as Go does where zeros were already applied as precision. */
  private padNoZero(s: string): void {
    const zero = this.zero;
    this.zero = false;
    this.pad(s);
    this.zero = zero;
  }

  /** Go's fmt.fmtInteger for a signed 64-bit value (or an unsigned one when `v` is non-negative). */
  private fmtInteger(v: bigint, base: number, verb: string, upper: boolean): void {
    const negative = v < 0n;
    const u = negative ? -v : v;

    let prec = 0;
    if (this.precPresent) {
      prec = this.prec;
      // Precision 0 and value 0 mean "print nothing" but padding.
      if (prec === 0 && u === 0n) {
        const zero = this.zero;
        this.zero = false;
        this.writePadding(this.wid);
        this.zero = zero;
        return;
      }
    } else if (this.zero && !this.minus && this.widPresent) {
      prec = this.wid;
      if (negative || this.plus || this.space) prec--; // leave room for the sign
    }

    let digits = u.toString(base);
    if (upper) digits = digits.toUpperCase();
    if (prec > digits.length) digits = '0'.repeat(prec - digits.length) + digits;

    if (this.sharp) {
      if (base === 2) digits = '0b' + digits;
      else if (base === 8 && digits[0] !== '0') digits = '0' + digits;
      else if (base === 16) digits = (upper ? '0X' : '0x') + digits;
    }
    if (verb === 'O') digits = '0o' + digits;

    if (negative) digits = '-' + digits;
    else if (this.plus) digits = '+' + digits;
    else if (this.space) digits = ' ' + digits;

    this.padNoZero(digits);
  }

  private fmtUnicode(u: bigint): void {
    const prec = this.precPresent && this.prec > 4 ? this.prec : 4;
    let s = 'U+' + u.toString(16).toUpperCase().padStart(prec, '0');
    if (this.sharp && u <= BigInt(MAX_RUNE) && goIsPrint(Number(u))) s += ` '${String.fromCodePoint(Number(u))}'`;
    this.padNoZero(s);
  }

  private fmtC(u: bigint): void {
    let r = u > BigInt(MAX_RUNE) ? 0xfffd : Number(u);
    if (r >= 0xd800 && r <= 0xdfff) r = 0xfffd;
    this.pad(String.fromCodePoint(r));
  }

  private fmtQc(u: bigint): void {
    const r = u > BigInt(MAX_RUNE) ? 0xfffd : Number(u);
    this.pad(`'${goEscapeRune(r, "'", this.plus)}'`);
  }

  private truncateString(s: string): string {
    if (!this.precPresent) return s;
    let n = this.prec;
    let i = 0;
    for (const ch of s) {
      if (--n < 0) return s.slice(0, i);
      i += ch.length;
    }
    return s;
  }

  private fmtS(s: string): void {
    this.pad(this.truncateString(s));
  }

  private fmtSx(s: string, upper: boolean): void {
    const bytes = encoder.encode(s);
    const hex = upper ? '0123456789ABCDEF' : '0123456789abcdef';
    let length = bytes.length;
    if (this.precPresent && this.prec < length) length = this.prec;
    let width = 2 * length;
    if (width > 0) {
      if (this.space) {
        if (this.sharp) width *= 2;
        width += length - 1;
      } else if (this.sharp) {
        width += 2;
      }
    } else {
      if (this.widPresent) this.writePadding(this.wid);
      return;
    }
    if (this.widPresent && this.wid > width && !this.minus) this.writePadding(this.wid - width);
    const prefix = upper ? '0X' : '0x';
    let out = this.sharp ? prefix : '';
    for (let i = 0; i < length; i++) {
      if (this.space && i > 0) {
        out += ' ';
        if (this.sharp) out += prefix;
      }
      const c = bytes[i]!;
      out += hex[c >> 4]! + hex[c & 0xf]!;
    }
    this.buf += out;
    if (this.widPresent && this.wid > width && this.minus) this.writePadding(this.wid - width);
  }

  private fmtQ(s: string): void {
    s = this.truncateString(s);
    if (this.sharp && canBackquote(s)) {
      this.pad('`' + s + '`');
      return;
    }
    this.pad(goQuote(s, this.plus));
  }

  private fmtFloat(v: number, verb: string, prec: number): void {
    if (this.precPresent) prec = this.prec;
    let num = formatFloat(v, verb, prec);
    if (num[0] !== '-' && num[0] !== '+') num = '+' + num;
    if (this.space && num[0] === '+' && !this.plus) num = ' ' + num.slice(1);

    // The sharp flag forces a decimal point and keeps trailing zeros.
    if (this.sharp && verb !== 'b') {
      let digits = 0;
      if (verb === 'v' || verb === 'g' || verb === 'G' || verb === 'x') {
        digits = prec;
        if (digits === -1) digits = 6;
      }
      let tail = '';
      let hasDecimalPoint = false;
      let sawNonzeroDigit = false;
      for (let i = 1; i < num.length; i++) {
        const c = num[i]!;
        if (c === '.') {
          hasDecimalPoint = true;
        } else if (c === 'p' || c === 'P' || ((c === 'e' || c === 'E') && verb !== 'x' && verb !== 'X')) {
          tail += num.slice(i);
          num = num.slice(0, i);
        } else {
          if (c !== '0') sawNonzeroDigit = true;
          if (sawNonzeroDigit) digits--;
        }
      }
      if (!hasDecimalPoint) {
        if (num.length === 2 && num[1] === '0') digits--;
        num += '.';
      }
      while (digits > 0) {
        num += '0';
        digits--;
      }
      num += tail;
    }

    if (this.plus || num[0] !== '+') {
      // With zero padding the sign goes before the zeros.
      if (this.zero && !this.minus && this.widPresent && this.wid > num.length) {
        this.buf += num[0];
        this.writePadding(this.wid - num.length);
        this.buf += num.slice(1);
        return;
      }
      this.pad(num);
      return;
    }
    this.pad(num.slice(1));
  }

  // --- *big.Int

  /** math/big's (*Int).Format. */
  private formatBigInt(x: bigint, verb: string): void {
    let base: number;
    switch (verb) {
      case 'b':
        base = 2;
        break;
      case 'o':
      case 'O':
        base = 8;
        break;
      case 'd':
      case 's':
      case 'v':
        base = 10;
        break;
      case 'x':
      case 'X':
        base = 16;
        break;
      default:
        this.buf += `%!${verb}(big.Int=${x.toString()})`;
        return;
    }
    const flagPlus = this.plus || this.plusV;
    const flagSharp = this.sharp || this.sharpV;
    const sign = x < 0n ? '-' : flagPlus ? '+' : this.space ? ' ' : '';
    let prefix = '';
    if (flagSharp) {
      if (verb === 'b') prefix = '0b';
      else if (verb === 'o') prefix = '0';
      else if (verb === 'x') prefix = '0x';
      else if (verb === 'X') prefix = '0X';
    }
    if (verb === 'O') prefix = '0o';
    let digits = (x < 0n ? -x : x).toString(base);
    if (verb === 'X') digits = digits.toUpperCase();

    let left = 0;
    let zeros = 0;
    let right = 0;
    if (this.precPresent) {
      if (digits.length < this.prec) zeros = this.prec - digits.length;
      else if (digits === '0' && this.prec === 0) return;
    }
    const length = sign.length + prefix.length + zeros + digits.length;
    if (this.widPresent && length < this.wid) {
      const d = this.wid - length;
      if (this.minus) right = d;
      else if (this.zero && !this.precPresent) zeros = d;
      else left = d;
    }
    this.buf += ' '.repeat(left) + sign + prefix + '0'.repeat(zeros) + digits + ' '.repeat(right);
  }

  /** How fmt's reflection prints a *big.Int (only reachable through %w): &{neg [words]}. */
  private printBigIntStruct(x: bigint): void {
    const words: bigint[] = [];
    for (let m = x < 0n ? -x : x; m > 0n; m >>= 64n) words.push(m & UINT64_MASK);
    this.buf += this.sharpV ? '&big.Int{' : '&{';
    if (this.plusV || this.sharpV) this.buf += 'neg:';
    this.pad(x < 0n ? 'true' : 'false');
    this.buf += this.sharpV ? ', ' : ' ';
    if (this.plusV || this.sharpV) this.buf += 'abs:';
    this.buf += this.sharpV ? 'big.nat{' : '[';
    words.forEach((w, k) => {
      if (k > 0) this.buf += this.sharpV ? ', ' : ' ';
      if (this.sharpV) {
        const sharp = this.sharp;
        this.sharp = true;
        this.fmtInteger(w, 16, 'v', false);
        this.sharp = sharp;
      } else {
        this.fmtInteger(w, 10, 'v', false);
      }
    });
    this.buf += this.sharpV ? '}}' : ']}';
  }
}

/** Go's fmt.parseArgNumber for text starting at '['. */
function parseArgNumber(format: string): [index: number, wid: number, ok: boolean] {
  if (format.length < 3) return [0, 1, false];
  for (let i = 1; i < format.length; i++) {
    if (format[i] === ']') {
      const [width, ok, newi] = parsenum(format, 1, i);
      if (!ok || newi !== i) return [0, i + 1, false];
      return [width - 1, i + 1, true];
    }
  }
  return [0, 1, false];
}

function canBackquote(s: string): boolean {
  for (const ch of s) {
    const r = ch.codePointAt(0)!;
    if (r >= 0x80) {
      if (r === 0xfeff) return false;
      continue;
    }
    if ((r < 0x20 && r !== 0x09) || r === 0x60 || r === 0x7f) return false;
  }
  return true;
}
