// Go value rendering, so messages read exactly like Gatekeeper's: decoded JSON the way Go's unstructured
// values hold it (int64 or float64, reflect.DeepEqual) and the way fmt (%v, %#v), encoding/json.Marshal and
// k8s `field.Error` print it. The validator, the template checks, the pruner and the defaulter all use these.
//
// Messages follow kubectl's rendering of Kubernetes field errors (`spec.parameters.labels: Invalid value:
// "string": spec.parameters.labels in body must be of type array: "string"`). gator builds the same errors
// from `field.NewPath("")`, so it prints each path with a `[].` prefix (`[].spec.parameters.labels: ...`)
// and joins them as one aggregate; the wording after the path is identical.
import { isRecord } from '../../model.js';
import { formatFloat } from '../../go/format-float.js';
import { compareStrings } from '../../go/strings.js';
import { goQuote } from '../../go/quote.js';
import type { CrdPath } from './template-checks.js';

export type Kind = 'nil' | 'bool' | 'string' | 'int' | 'float' | 'slice' | 'map';

/**
 * A JSON number held as a float64. FW ValidateCR hands the validator the *Unstructured constraint, which
 * kube-openapi reads through a JSON round trip (swag.ToDynamicJSON), so every number it validates there is
 * a float64, whole or not; float64View gives the parameters that shape.
 */
export class GoFloat64 {
  constructor(readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
}

export function float64View(value: unknown): unknown {
  if (typeof value === 'number' || typeof value === 'bigint') return new GoFloat64(Number(value));
  if (Array.isArray(value)) return value.map(float64View);
  if (isRecord(value)) {
    const view: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) view[k] = float64View(v);
    return view;
  }
  return value;
}

export function kindOf(value: unknown): Kind {
  if (value === null || value === undefined) return 'nil';
  if (value instanceof GoFloat64) return 'float';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'bigint') return 'int';
  // Unstructured JSON decodes whole numbers as int64 and others as float64.
  if (typeof value === 'number') return Number.isInteger(value) && Math.abs(value) < 2 ** 63 ? 'int' : 'float';
  if (Array.isArray(value)) return 'slice';
  return 'map';
}

/** Text that Go would print for a value we describe ourselves (e.g. a `[]string`). */
export class GoText {
  constructor(readonly text: string) {}
}

type FieldErrorType = 'Required value' | 'Forbidden' | 'Invalid value' | 'Unsupported value' | 'Too long' | 'Too many';

/** k8s field.Error.Error(): `<field>: <type>[: <bad value>][: <detail>]`. */
export function fieldError(field: string | CrdPath, type: FieldErrorType, bad: unknown, detail: string): string {
  let body: string = type;
  if (type !== 'Required value' && type !== 'Forbidden' && type !== 'Too long') body += `: ${goBadValue(bad)}`;
  if (detail !== '') body += `: ${detail}`;
  return `${field.toString()}: ${body}`;
}

function goBadValue(value: unknown): string {
  if (value instanceof GoText) return value.text;
  if (value instanceof GoFloat64) return goFloat(value.value);
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return goQuote(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number' || typeof value === 'bigint') return goFormat(Number(value), kindOf(value) === 'int');
  // field.Error renders anything but a scalar as JSON.
  return goJson(value);
}

export function goFormat(n: number, isInt: boolean): string {
  return isInt ? BigInt(Math.trunc(n)).toString() : goFloat(n);
}

/** What %v prints for a float64: strconv.FormatFloat(f, 'g', -1, 64), so 1e+06 for a million. */
function goFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : '-Inf';
  return formatFloat(f, 'g', -1);
}

/** fmt %v of a decoded JSON value (`[a b]`, `map[k:v]`, `<nil>`). */
export function goV(value: unknown): string {
  if (value === null || value === undefined) return '<nil>';
  if (value instanceof GoFloat64) return goFloat(value.value);
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number' || typeof value === 'bigint') return goFormat(Number(value), kindOf(value) === 'int');
  if (Array.isArray(value)) return `[${value.map(goV).join(' ')}]`;
  if (isRecord(value)) {
    return `map[${sortedKeys(value).map((k) => `${k}:${goV(value[k])}`).join(' ')}]`;
  }
  return String(value);
}

/** encoding/json.Marshal: sorted keys and HTML-safe escapes. */
export function goJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  // Go writes float64s as JavaScript does (shortest, exponent from 1e21 and below 1e-6), int64s in full.
  if (value instanceof GoFloat64) return String(value.value);
  if (typeof value === 'number' && kindOf(value) === 'int') return BigInt(value).toString();
  if (typeof value === 'string') {
    return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
  }
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(goJson).join(',')}]`;
  if (isRecord(value)) return `{${sortedKeys(value).map((k) => `${goJson(k)}:${goJson(value[k])}`).join(',')}}`;
  return 'null';
}

export function supportedValues(values: readonly string[]): string {
  return `supported values: ${values.map((v) => goQuote(v)).join(', ')}`;
}

// Plain-data helpers.

function sortedKeys(value: Record<string, unknown>): string[] {
  return Object.keys(value)
    .filter((k) => value[k] !== undefined)
    .sort(compareStrings);
}

export function deepCopy<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => deepCopy(v)) as T;
  if (isRecord(value)) {
    const copy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) copy[k] = deepCopy(v);
    return copy as T;
  }
  return value;
}

/** reflect.DeepEqual over decoded JSON: int64 and float64 never compare equal. */
export function goDeepEqual(a: unknown, b: unknown): boolean {
  const ka = kindOf(a);
  if (ka !== kindOf(b)) return false;
  switch (ka) {
    case 'nil':
      return true;
    case 'int':
    case 'float':
      return Number(a) === Number(b);
    case 'slice': {
      const x = a as unknown[];
      const y = b as unknown[];
      return x.length === y.length && x.every((v, i) => goDeepEqual(v, y[i]));
    }
    case 'map': {
      const x = a as Record<string, unknown>;
      const y = b as Record<string, unknown>;
      const keys = sortedKeys(x);
      const other = sortedKeys(y);
      return keys.length === other.length && keys.every((k, i) => k === other[i] && goDeepEqual(x[k], y[k]));
    }
    default:
      return a === b;
  }
}
