// Validation: kube-openapi's SchemaValidator, with its Result bookkeeping. MatchCount decides which failing
// anyOf/oneOf branch gets to explain itself, so it is reproduced step for step.
// FW `crds/validate.go ValidateCR` runs it (`pkg/validation/validate`) on a constraint, and a failure is
// ErrSchema; toFieldProblem is apiextensions `kubeOpenAPIResultToFieldErrors`, which turns its errors into
// the field errors kubectl and gator print. The template side runs it too, on each default.
//
// ValidateCR passes the *Unstructured constraint, which kube-openapi reads through a JSON round trip, so
// every number there is a float64 (applyParameterSchema validates float64View(parameters)); the template's
// defaults are validated as decoded, int64 or float64.
//
// Known differences from Gatekeeper:
// - Go visits properties in map order, so its error order varies between runs; ours follows the schema.
import { goQuote } from '../../go/quote.js';
import { FORMAT_CHECKS, normalizeFormat } from './formats.js';
import {
  fieldError,
  GoFloat64,
  goDeepEqual,
  goFormat,
  goJson,
  goV,
  kindOf,
  supportedValues,
  type Kind,
} from './go-values.js';
import type { SchemaNode, SchemaProblem, SchemaProblemKind } from './index.js';
import type { CrdPath } from './template-checks.js';

type ErrorCode =
  | 'invalidType'
  | 'required'
  | 'tooLong'
  | 'tooShort'
  | 'pattern'
  | 'enum'
  | 'multipleOf'
  | 'maximum'
  | 'minimum'
  | 'unique'
  | 'maxItems'
  | 'minItems'
  | 'tooFewProperties'
  | 'tooManyProperties'
  | 'notAllowed'
  | 'composite'
  /** A plain error, not an errors.Validation: kubeOpenAPIResultToFieldErrors gives it no field of its own. */
  | 'plain';

interface ValidationError {
  code: ErrorCode;
  /** kube-openapi's dotted path (`spec.parameters.labels[0].key`). */
  name: string;
  /** The same path as data keys, for SchemaProblem.path. */
  segs: readonly string[];
  message: string;
  /** errors.Validation.Value; absent means nil. */
  value?: unknown;
  /** errors.Validation.Valid, the limit that was exceeded. */
  limit?: number;
  enumValues?: readonly unknown[];
}

class Result {
  errors: ValidationError[] = [];
  matchCount = 0;

  add(error: ValidationError): void {
    // Result.AddErrors keeps one of each message.
    if (!this.errors.some((e) => e.message === error.message)) this.errors.push(error);
  }

  merge(...others: Array<Result | undefined>): this {
    for (const other of others) {
      if (other === undefined) continue;
      for (const error of other.errors) this.add(error);
      this.matchCount += other.matchCount;
    }
    return this;
  }

  inc(): void {
    this.matchCount++;
  }

  get valid(): boolean {
    return this.errors.length === 0;
  }
}

function failure(error: ValidationError): Result {
  const result = new Result();
  result.errors.push(error);
  return result;
}

const IN = 'body';

function validationTypes(s: SchemaNode): string[] {
  if (s.intOrString) return ['integer', 'string'];
  return s.type === '' ? [] : [s.type];
}

export function validateValue(s: SchemaNode, data: unknown, path: string, segs: readonly string[]): Result {
  const result = new Result();
  const kind = kindOf(data);
  if (kind === 'nil') {
    // Only the type and enum validators see nulls.
    result.merge(validateType(s, data, kind, path, segs));
    result.merge(validateEnum(s, data, kind, path, segs));
    return result;
  }
  const types = validationTypes(s);
  const step = (r: Result | undefined): void => {
    result.merge(r);
    result.inc();
  };
  if (types.length > 0 || s.format !== '') step(validateType(s, data, kind, path, segs));
  step(validateJunctors(s, data, path, segs));
  if (kind === 'string') step(validateString(s, data as string, path, segs));
  if (kind === 'string' && s.format !== '' && FORMAT_CHECKS.has(normalizeFormat(s.format))) {
    step(validateFormat(s, data as string, path, segs));
  }
  if (kind === 'int' || kind === 'float') step(validateNumber(s, data, kind, path, segs));
  if (kind === 'slice') step(validateSlice(s, data as unknown[], path, segs));
  step(validateEnum(s, data, kind, path, segs));
  if (kind === 'map') step(validateObject(s, data as Record<string, unknown>, path, segs));
  result.inc();
  return result;
}

function invalidType(name: string, segs: readonly string[], typeName: string, value: unknown): ValidationError {
  const message =
    typeof value === 'string'
      ? `${name} in ${IN} must be of type ${typeName}: ${goQuote(value)}`
      : `${name} in ${IN} must be of type ${typeName}`;
  return { code: 'invalidType', name, segs, message, value };
}

function validateType(s: SchemaNode, data: unknown, kind: Kind, path: string, segs: readonly string[]): Result {
  const result = new Result();
  result.inc();
  const types = validationTypes(s);
  if (kind === 'nil') {
    if (types.length > 0 && !types.includes('null') && !s.nullable) {
      return failure(invalidType(path, segs, types.join(','), 'null'));
    }
    return result;
  }
  const [schType, format] = schemaInfoForKind(kind);
  const isIntFloat = schType === 'integer' && types.includes('number');
  const isFloatInt = schType === 'number' && isFloatJsonInteger(Number(data)) && types.includes('integer');
  if (
    kind !== 'string' &&
    kind !== 'slice' &&
    s.format !== '' &&
    !(types.includes(schType) || format === s.format || isFloatInt || isIntFloat)
  ) {
    return failure(invalidType(path, segs, s.format, format));
  }
  if (!(types.includes('number') || types.includes('integer')) && s.format !== '' && (kind === 'string' || kind === 'slice')) {
    return result;
  }
  if (!(types.includes(schType) || isFloatInt || isIntFloat)) return failure(invalidType(path, segs, types.join(','), schType));
  return result;
}

function schemaInfoForKind(kind: Kind): [string, string] {
  switch (kind) {
    case 'bool':
      return ['boolean', ''];
    case 'string':
      return ['string', ''];
    case 'int':
      return ['integer', 'int64'];
    case 'float':
      return ['number', 'float64'];
    case 'slice':
      return ['array', ''];
    case 'map':
      return ['object', ''];
    case 'nil':
      return ['', ''];
  }
}

function validateJunctors(s: SchemaNode, data: unknown, path: string, segs: readonly string[]): Result {
  const main = new Result();
  if (s.anyOf.length > 0) {
    let bestFailures: Result | undefined;
    let firstSuccess: Result | undefined;
    let succeeded = false;
    for (const sub of s.anyOf) {
      const result = validateValue(sub, data, path, segs);
      if (result.valid) {
        bestFailures = undefined;
        succeeded = true;
        firstSuccess ??= result;
        break;
      }
      if (bestFailures === undefined || result.matchCount > bestFailures.matchCount) bestFailures = result;
    }
    if (!succeeded) main.add(composite(path, segs, `${goQuote(path)} must validate at least one schema (anyOf)`));
    main.merge(bestFailures ?? firstSuccess);
  }
  if (s.oneOf.length > 0) {
    let bestFailures: Result | undefined;
    let firstSuccess: Result | undefined;
    let validated = 0;
    for (const sub of s.oneOf) {
      const result = validateValue(sub, data, path, segs);
      if (result.valid) {
        validated++;
        bestFailures = undefined;
        firstSuccess ??= result;
        continue;
      }
      if (validated === 0 && (bestFailures === undefined || result.matchCount > bestFailures.matchCount)) {
        bestFailures = result;
      }
    }
    if (validated !== 1) {
      const detail = validated === 0 ? 'Found none valid' : `Found ${validated} valid alternatives`;
      main.add(composite(path, segs, `${goQuote(path)} must validate one and only one schema (oneOf). ${detail}`));
      main.merge(bestFailures);
    } else {
      main.merge(firstSuccess);
    }
  }
  if (s.allOf.length > 0) {
    let validated = 0;
    for (const sub of s.allOf) {
      const result = validateValue(sub, data, path, segs);
      if (result.valid) validated++;
      main.merge(result);
    }
    if (validated !== s.allOf.length) {
      const detail = validated === 0 ? '. None validated' : '';
      main.add(composite(path, segs, `${goQuote(path)} must validate all the schemas (allOf)${detail}`));
    }
  }
  if (s.not !== undefined && validateValue(s.not, data, path, segs).valid) {
    main.add(composite(path, segs, `${goQuote(path)} must not validate the schema (not)`));
  }
  main.inc();
  return main;
}

function composite(name: string, segs: readonly string[], message: string): ValidationError {
  return { code: 'composite', name, segs, message };
}

function validateString(s: SchemaNode, data: string, path: string, segs: readonly string[]): Result | undefined {
  // Lengths count runes, and the validator stops at the first failing check.
  const length = [...data].length;
  if (s.maxLength !== undefined && length > s.maxLength) {
    return failure({
      code: 'tooLong',
      name: path,
      segs,
      message: `${path} in ${IN} should be at most ${s.maxLength} chars long`,
      value: data,
      limit: s.maxLength,
    });
  }
  if (s.minLength !== undefined && length < s.minLength) {
    return failure({
      code: 'tooShort',
      name: path,
      segs,
      message: `${path} in ${IN} should be at least ${s.minLength} chars long`,
      value: data,
    });
  }
  if (s.pattern !== undefined) {
    const { regexp, source, error } = s.pattern;
    const shown = regexp === undefined ? `${source}, but pattern is invalid: ${error ?? ''}` : source;
    if (regexp === undefined || !regexp.test(data)) {
      return failure({ code: 'pattern', name: path, segs, message: `${path} in ${IN} should match '${shown}'`, value: data });
    }
  }
  return undefined;
}

function validateFormat(s: SchemaNode, data: string, path: string, segs: readonly string[]): Result | undefined {
  const check = FORMAT_CHECKS.get(normalizeFormat(s.format));
  if (check === undefined || check(data)) return undefined;
  return failure(invalidType(path, segs, s.format, data));
}

function validateNumber(s: SchemaNode, value: unknown, kind: Kind, path: string, segs: readonly string[]): Result {
  // `value` keeps how Go holds the number (int64 or float64), for the messages.
  const data = Number(value);
  const res = new Result();
  const multiple = new Result();
  const minimum = new Result();
  const maximum = new Result();
  const isInt = kind === 'int';
  // IsValueValidAgainstRange: the value, and each bound, must fit the schema's numeric type and format; a
  // bound that does not is then compared as a float64.
  const range = rangeCheck(s, path, segs);
  const checked = range(data, isInt, 'Checked');
  if (checked !== undefined) res.add(checked);
  if (s.multipleOf !== undefined) {
    const rangeError = range(s.multipleOf, false, 'MultipleOf');
    if (rangeError !== undefined) multiple.add(rangeError);
    // MultipleOfNativeType: an int64 is checked against the factor converted to int64.
    const native = rangeError === undefined && isInt;
    const factor = native ? goInt64(s.multipleOf) : s.multipleOf;
    if (factor <= 0) {
      multiple.add({
        code: 'multipleOf',
        name: path,
        segs,
        message: `factor MultipleOf declared for ${path} must be positive: ${goFormat(factor, native)}`,
        value: factor,
      });
    } else if (native ? data % factor !== 0 : !isFloatJsonInteger(factor < 1 ? (1 / factor) * data : data / factor)) {
      multiple.add({
        code: 'multipleOf',
        name: path,
        segs,
        message: `${path} in ${IN} should be a multiple of ${goFormat(factor, native)}`,
        // The float64 comparisons report the value converted to float64.
        value: native ? value : new GoFloat64(data),
      });
    }
  }
  if (s.maximum !== undefined) {
    const rangeError = range(s.maximum, false, 'Maximum boundary');
    if (rangeError !== undefined) maximum.add(rangeError);
    // MaximumNativeType compares integers with the bound truncated to int64.
    const native = rangeError === undefined && isInt;
    const bound = native ? goInt64(s.maximum) : s.maximum;
    if (s.exclusiveMaximum ? data >= bound : data > bound) {
      const relation = s.exclusiveMaximum ? 'less than' : 'less than or equal to';
      maximum.add({
        code: 'maximum',
        name: path,
        segs,
        message: `${path} in ${IN} should be ${relation} ${goFormat(bound, native)}`,
        // The float64 comparisons report the value converted to float64.
        value: native ? value : new GoFloat64(data),
      });
    }
  }
  if (s.minimum !== undefined) {
    const rangeError = range(s.minimum, false, 'Minimum boundary');
    if (rangeError !== undefined) minimum.add(rangeError);
    const native = rangeError === undefined && isInt;
    const bound = native ? goInt64(s.minimum) : s.minimum;
    if (s.exclusiveMinimum ? data <= bound : data < bound) {
      const relation = s.exclusiveMinimum ? 'greater than' : 'greater than or equal to';
      minimum.add({
        code: 'minimum',
        name: path,
        segs,
        message: `${path} in ${IN} should be ${relation} ${goFormat(bound, native)}`,
        // The float64 comparisons report the value converted to float64.
        value: native ? value : new GoFloat64(data),
      });
    }
  }
  res.merge(multiple, minimum, maximum);
  res.inc();
  return res;
}

// Go's int64(f) on amd64: truncation, and the lowest int64 for what does not fit (CVTTSD2SI).
function goInt64(f: number): number {
  return Number.isFinite(f) && f >= -(2 ** 63) && f < 2 ** 63 ? Math.trunc(f) : -(2 ** 63);
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

// kube-openapi IsValueValidAgainstRange, for the type and format the numberValidator holds: both only when
// the schema has exactly one type (so never for int-or-string), the format only when it suits the type.
function rangeCheck(s: SchemaNode, path: string, segs: readonly string[]) {
  const typeName = s.intOrString ? '' : s.type === 'integer' || s.type === 'number' ? s.type : '';
  const format =
    (typeName === 'integer' && (s.format === 'int32' || s.format === 'int64')) ||
    (typeName === 'number' && (s.format === 'float' || s.format === 'double'))
      ? s.format
      : '';
  return (value: number, isInt: boolean, prefix: string): ValidationError | undefined => {
    let fits = true;
    if (typeName === 'integer') {
      // The value is printed (floats with FormatFloat 'f') and parsed back with strconv.ParseInt.
      const whole = isInt || (Number.isInteger(value) && value >= -(2 ** 63) && value < 2 ** 63);
      fits = whole && (format === 'int32' ? value >= INT32_MIN && value <= INT32_MAX : true);
    } else if (format === 'float') {
      // strconv.ParseFloat(.., 32) fails where the value rounds past float32's range.
      fits = Math.abs(Math.fround(value)) !== Infinity;
    }
    if (fits) return undefined;
    const type = typeName === '' ? 'number' : typeName;
    const message =
      format !== ''
        ? `${prefix} value must be of type ${type} with format ${format} in ${path}`
        : `${prefix} value must be of type ${type} (default format) in ${path}`;
    return { code: 'plain', name: path, segs, message };
  };
}

// go-openapi swag.IsFloat64AJSONInteger: tolerates rounding noise just above a whole number.
function isFloatJsonInteger(f: number): boolean {
  if (!Number.isFinite(f) || f < -(2 ** 53) || f > 2 ** 53) return false;
  if (Number.isInteger(f)) return true;
  const g = Math.trunc(f);
  const diff = Math.abs(f - g);
  if (g === 0) return diff < 1e-9 * Number.MIN_VALUE;
  return diff / (Math.abs(f) + Math.abs(g)) < 1e-9;
}

function validateSlice(s: SchemaNode, data: unknown[], path: string, segs: readonly string[]): Result {
  const result = new Result();
  if (s.items !== undefined) {
    for (const [i, item] of data.entries()) result.merge(validateValue(s.items, item, `${path}[${i}]`, [...segs, String(i)]));
  }
  const size = data.length;
  if (s.minItems !== undefined && size < s.minItems) {
    result.add({ code: 'minItems', name: path, segs, message: `${path} in ${IN} should have at least ${s.minItems} items`, value: size });
  }
  if (s.maxItems !== undefined && size > s.maxItems) {
    result.add({
      code: 'maxItems',
      name: path,
      segs,
      message: `${path} in ${IN} should have at most ${s.maxItems} items`,
      value: size,
      limit: s.maxItems,
    });
  }
  if (s.uniqueItems && data.some((item, i) => data.slice(0, i).some((other) => goDeepEqual(item, other)))) {
    result.add({ code: 'unique', name: path, segs, message: `${path} in ${IN} shouldn't contain duplicates` });
  }
  result.inc();
  return result;
}

function validateEnum(s: SchemaNode, data: unknown, kind: Kind, path: string, segs: readonly string[]): Result | undefined {
  if (s.enum === undefined) return undefined;
  if (s.enum.some((candidate) => enumMatches(data, kind, candidate))) return undefined;
  return failure({
    code: 'enum',
    name: path,
    segs,
    message: `${path} in ${IN} should be one of ${goV(s.enum)}`,
    value: data,
    enumValues: s.enum,
  });
}

// basicCommonValidator compares after Go's reflect conversion to the enum value's type, which lets an
// integer match a one-character string (string(rune)) and a float match a truncated integer.
function enumMatches(data: unknown, kind: Kind, candidate: unknown): boolean {
  const target = kindOf(candidate);
  if (kind === 'nil' || target === 'nil') return false;
  switch (target) {
    case 'string':
      if (kind === 'string') return data === candidate;
      if (kind === 'int') return goRuneString(Number(data)) === candidate;
      return false;
    case 'int':
      if (kind === 'int') return Number(data) === Number(candidate);
      if (kind === 'float') return Math.trunc(Number(data)) === Number(candidate);
      return false;
    case 'float':
      return (kind === 'int' || kind === 'float') && Number(data) === Number(candidate);
    case 'bool':
      return kind === 'bool' && data === candidate;
    case 'slice':
    case 'map':
      return kind === target && goDeepEqual(data, candidate);
  }
}

function goRuneString(n: number): string {
  const valid = Number.isInteger(n) && n >= 0 && n <= 0x10ffff && !(n >= 0xd800 && n <= 0xdfff);
  return valid ? String.fromCodePoint(n) : '\ufffd';
}

function validateObject(s: SchemaNode, data: Record<string, unknown>, path: string, segs: readonly string[]): Result {
  const keys = Object.keys(data).filter((k) => data[k] !== undefined);
  const res = new Result();
  if (s.minProperties !== undefined && keys.length < s.minProperties) {
    res.add({
      code: 'tooFewProperties',
      name: path,
      segs,
      message: `${path} in ${IN} should have at least ${s.minProperties} properties`,
      value: keys.length,
    });
  }
  if (s.maxProperties !== undefined && keys.length > s.maxProperties) {
    res.add({
      code: 'tooManyProperties',
      name: path,
      segs,
      message: `${path} in ${IN} should have at most ${s.maxProperties} properties`,
      value: keys.length,
      limit: s.maxProperties,
    });
  }
  const declared = s.properties ?? new Map<string, SchemaNode>();
  if (s.additionalProperties !== undefined && !s.additionalProperties.allows) {
    for (const key of keys) {
      if (!declared.has(key)) {
        res.add({ code: 'notAllowed', name: path, segs, message: `${path}.${key} in ${IN} is a forbidden property`, value: key });
      }
    }
  } else if (s.additionalProperties?.schema !== undefined) {
    for (const key of keys) {
      if (!declared.has(key)) res.merge(validateValue(s.additionalProperties.schema, data[key], `${path}.${key}`, [...segs, key]));
    }
  }
  for (const [name, sub] of declared) {
    if (data[name] === undefined) continue;
    res.merge(validateValue(sub, data[name], path === '' ? name : `${path}.${name}`, [...segs, name]));
  }
  for (const key of s.required) {
    if (data[key] === undefined) {
      res.add({ code: 'required', name: `${path}.${key}`, segs: [...segs, key], message: `${path}.${key} in ${IN} is required` });
    }
  }
  return res;
}

/** kubeOpenAPIResultToFieldErrors, rendered like kubectl (`base` is the field path errors hang under). */
export function toFieldProblem(
  error: ValidationError,
  base: CrdPath | undefined,
  kind: SchemaProblemKind,
): SchemaProblem {
  const trimmed = error.name.startsWith('.') ? error.name.slice(1) : error.name;
  const baseText = base === undefined ? undefined : base.toString();
  const field =
    error.code === 'composite' || error.code === 'plain' || trimmed === ''
      ? (baseText ?? '<nil>')
      : baseText === undefined
        ? trimmed
        : `${baseText}.${trimmed}`;
  const value = error.value === undefined ? '' : error.value;
  let message: string;
  switch (error.code) {
    case 'required':
      message = fieldError(field, 'Required value', undefined, '');
      break;
    case 'enum': {
      const values = (error.enumValues ?? []).map((v) => (typeof v === 'string' ? v : goJson(v)));
      message = fieldError(field, 'Unsupported value', error.value ?? null, values.length > 0 ? supportedValues(values) : '');
      break;
    }
    case 'tooLong':
      message = fieldError(
        field,
        'Too long',
        undefined,
        error.limit === undefined ? 'value is too long' : `may not be more than ${error.limit} ${error.limit === 1 ? 'byte' : 'bytes'}`,
      );
      break;
    case 'maxItems':
    case 'tooManyProperties':
      message =
        error.limit === undefined
          ? fieldError(field, 'Too many', error.value, 'has too many items')
          : fieldError(field, 'Too many', error.value, `must have at most ${error.limit} ${error.limit === 1 ? 'item' : 'items'}`);
      break;
    case 'composite':
    case 'plain':
      message = fieldError(field, 'Invalid value', '', error.message);
      break;
    default:
      message = fieldError(field, 'Invalid value', value, error.message);
  }
  return { path: [...error.segs], message, kind };
}
