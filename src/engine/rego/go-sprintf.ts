// OPA's `sprintf` builtin as Gatekeeper runs it: Go OPA converts each argument to a Go value
// (v1/topdown/strings.go builtinSprintf) and hands them to Go's fmt.Sprintf (engine/go/fmt.ts).
import { INT64_MAX, INT64_MIN, sprintf, type GoArg } from '../go/fmt.js';
import { formatRegoValue, type RegoValue } from './rego-value.js';

/**
 * Formats like Go OPA's `sprintf(format, args)`: numbers whose text contains `.`, `e` or `E` are
 * float64, other numbers int64 (or *big.Int beyond int64), strings are passed raw, and every other
 * value is passed as its Rego literal text (`formatRegoValue`); then Go's fmt.Sprintf rules apply.
 */
export function goSprintf(format: string, args: RegoValue[]): string {
  return sprintf(format, args.map(toGoArg));
}

function toGoArg(value: RegoValue): GoArg {
  switch (value.type) {
    case 'string':
      return { kind: 'string', value: value.value };
    case 'number': {
      const text = value.text;
      if (/[.eE]/.test(text)) {
        const f = Number(text);
        // Go's ParseFloat fails on overflow; OPA then passes the number's text instead.
        return Number.isFinite(f) ? { kind: 'float', value: f } : { kind: 'string', value: text };
      }
      const int = /^[-+]?(\d+)$/.exec(text);
      if (int) {
        const n = BigInt(text);
        // OPA's util.Atoi64 gives up on more than 19 digits even when they are leading zeros.
        const fits = int[1]!.length <= 19 && n >= INT64_MIN && n <= INT64_MAX;
        return fits ? { kind: 'int', value: n } : { kind: 'big', value: n };
      }
      return { kind: 'string', value: text };
    }
    default:
      return { kind: 'string', value: formatRegoValue(value) };
  }
}
