// Kubernetes LabelSelector semantics (apimachinery metav1.LabelSelectorAsSelector and labels.Requirement),
// and the validation Gatekeeper runs on `match.labelSelector` / `match.namespaceSelector`
// (apimachinery metav1/validation.ValidateLabelSelector, called from GK pkg/target/target.go ValidateConstraint).
// Messages are apimachinery's own field-error text, because users compare them with what kubectl printed.
import { aggregate, forbidden, invalid, required, type FieldProblem } from './field-errors.js';
import { goQuote } from './quote.js';
import { isRecord } from '../model.js';

export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export type Labels = Readonly<Record<string, string>>;

export type CompiledLabelSelector =
  | { ok: true; matches: (labels: Labels) => boolean }
  | { ok: false; error: string };

const OPERATORS = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);

/**
 * Compiles a selector the way LabelSelectorAsSelector does: `{}` selects everything, requirements are
 * ANDed, `NotIn` holds when the key is absent. Invalid selectors yield apimachinery's error text, which
 * Gatekeeper wraps into an autorejection if such a selector ever reaches matching.
 */
export function compileLabelSelector(selector: unknown): CompiledLabelSelector {
  if (!isRecord(selector)) {
    return { ok: false, error: 'Could not convert JSON to LabelSelector' };
  }
  const tests: Array<(labels: Labels) => boolean> = [];

  const matchLabels = selector['matchLabels'];
  if (matchLabels !== undefined && matchLabels !== null) {
    if (!isRecord(matchLabels)) return { ok: false, error: 'Could not convert JSON to LabelSelector' };
    // Go iterates the map in random order, so which error wins is unspecified there; sort for stable output.
    for (const key of Object.keys(matchLabels).sort()) {
      const value = matchLabels[key];
      if (typeof value !== 'string') return { ok: false, error: 'Could not convert JSON to LabelSelector' };
      const err = requirementError(key, 'Equals', [value]);
      if (err) return { ok: false, error: err };
      tests.push((labels) => hasOwn(labels, key) && labels[key] === value);
    }
  }

  const matchExpressions = selector['matchExpressions'];
  if (matchExpressions !== undefined && matchExpressions !== null) {
    if (!Array.isArray(matchExpressions)) return { ok: false, error: 'Could not convert JSON to LabelSelector' };
    for (const raw of matchExpressions) {
      const expr = parseRequirement(raw);
      if (!expr) return { ok: false, error: 'Could not convert JSON to LabelSelector' };
      if (!OPERATORS.has(expr.operator)) {
        return { ok: false, error: `${goQuote(expr.operator)} is not a valid label selector operator` };
      }
      const values = expr.values ?? [];
      const err = requirementError(expr.key, expr.operator, values);
      if (err) return { ok: false, error: err };
      tests.push(requirementTest(expr.key, expr.operator, values));
    }
  }

  if (tests.length === 0) return { ok: true, matches: () => true };
  if (tests.length === 1) return { ok: true, matches: tests[0]! };
  return {
    ok: true,
    matches: (labels) => {
      for (const t of tests) if (!t(labels)) return false;
      return true;
    },
  };
}

/** Convenience for one-off checks; an invalid selector selects nothing. */
export function matchesLabelSelector(selector: unknown, labels: Labels): boolean {
  const compiled = compileLabelSelector(selector);
  return compiled.ok && compiled.matches(labels);
}

/**
 * apimachinery's ValidateLabelSelector, as strings like
 * `spec.labelSelector.matchExpressions[0].operator: Invalid value: "in": not a valid selector operator`.
 * The default path is the one Gatekeeper passes for both selectors (it labels namespaceSelector errors
 * `spec.labelSelector` too). Shape errors (wrong JSON types) are the CRD schema's job, not reported here.
 */
export function validateLabelSelector(selector: unknown, fieldPath: readonly string[] = ['spec', 'labelSelector']): string[] {
  return labelSelectorProblems(selector, fieldPath).map((p) => p.message);
}

/** As validateLabelSelector, keeping each error's path for callers that point at the YAML. */
export function labelSelectorProblems(selector: unknown, fieldPath: readonly string[]): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (!isRecord(selector)) return problems;

  const matchLabels = selector['matchLabels'];
  if (isRecord(matchLabels)) {
    const path = [...fieldPath, 'matchLabels'];
    for (const key of Object.keys(matchLabels).sort()) {
      for (const msg of isQualifiedName(key)) problems.push(invalid(path, key, msg));
      const value = matchLabels[key];
      if (typeof value === 'string') {
        for (const msg of isValidLabelValue(value)) problems.push(invalid(path, value, msg));
      }
    }
  }

  const matchExpressions = selector['matchExpressions'];
  if (Array.isArray(matchExpressions)) {
    matchExpressions.forEach((raw, i) => {
      if (!isRecord(raw)) return;
      const path = [...fieldPath, 'matchExpressions', String(i)];
      const operator = typeof raw['operator'] === 'string' ? raw['operator'] : '';
      const key = typeof raw['key'] === 'string' ? raw['key'] : '';
      const values = Array.isArray(raw['values']) ? raw['values'] : [];
      switch (operator) {
        case 'In':
        case 'NotIn':
          if (values.length === 0) {
            problems.push(required([...path, 'values'], "must be specified when `operator` is 'In' or 'NotIn'"));
          }
          break;
        case 'Exists':
        case 'DoesNotExist':
          if (values.length > 0) {
            problems.push(forbidden([...path, 'values'], "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
          }
          break;
        default:
          problems.push(invalid([...path, 'operator'], operator, 'not a valid selector operator'));
      }
      for (const msg of isQualifiedName(key)) problems.push(invalid([...path, 'key'], key, msg));
      values.forEach((value, vi) => {
        if (typeof value !== 'string') return;
        for (const msg of isValidLabelValue(value)) problems.push(invalid([...path, 'values', String(vi)], value, msg));
      });
    });
  }
  return problems;
}

/** Reads `metadata.labels` the way unstructured.GetLabels does: any non-string value voids the whole map. */
export function labelsOf(object: Record<string, unknown> | null | undefined): Labels {
  const metadata = object?.['metadata'];
  if (!isRecord(metadata)) return EMPTY_LABELS;
  const labels = metadata['labels'];
  if (!isRecord(labels)) return EMPTY_LABELS;
  for (const key in labels) if (typeof labels[key] !== 'string') return EMPTY_LABELS;
  return labels as Labels;
}

const EMPTY_LABELS: Labels = Object.freeze({});

// ---------------------------------------------------------------------------------------------
// apimachinery util/validation, reproduced for its messages.

const QUALIFIED_NAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const QUALIFIED_NAME_RE = new RegExp(`^${QUALIFIED_NAME_FMT}$`);
const QUALIFIED_NAME_ERR =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`;
const LABEL_VALUE_RE = new RegExp(`^${LABEL_VALUE_FMT}$`);
const LABEL_VALUE_ERR =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);
const DNS1123_SUBDOMAIN_ERR =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

function regexError(msg: string, fmt: string, ...examples: string[]): string {
  // The doubled spaces (`'MyName',  or`) are apimachinery's, kept so messages compare equal.
  let out = `${msg} (e.g. `;
  examples.forEach((ex, i) => {
    if (i > 0) out += ' or ';
    out += `'${ex}', `;
  });
  return `${out}regex used for validation is '${fmt}')`;
}

function maxLenError(n: number): string {
  return `must be no more than ${n} characters`;
}

// Go measures string length in bytes.
function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

export function isQualifiedName(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) {
      errs.push('prefix part must be non-empty');
    } else {
      for (const msg of isDNS1123Subdomain(prefix)) errs.push(`prefix part ${msg}`);
    }
  } else {
    return [
      `a qualified name ${regexError(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc')}` +
        " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (byteLength(name) > 63) errs.push(`name part ${maxLenError(63)}`);
  if (!QUALIFIED_NAME_RE.test(name)) {
    errs.push(`name part ${regexError(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc')}`);
  }
  return errs;
}

export function isValidLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > 63) errs.push(maxLenError(63));
  if (!LABEL_VALUE_RE.test(value)) errs.push(regexError(LABEL_VALUE_ERR, LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  return errs;
}

function isDNS1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > 253) errs.push(maxLenError(253));
  if (!DNS1123_SUBDOMAIN_RE.test(value)) errs.push(regexError(DNS1123_SUBDOMAIN_ERR, DNS1123_SUBDOMAIN_FMT, 'example.com'));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// labels.NewRequirement's checks, for the error a selector raises when it is converted at match time.

function requirementError(key: string, operator: string, values: readonly string[]): string | null {
  const errs: string[] = [];
  const keyErrs = isQualifiedName(key);
  if (keyErrs.length > 0) errs.push(`key: Invalid value: ${goQuote(key)}: ${keyErrs.join('; ')}`);
  if ((operator === 'In' || operator === 'NotIn') && values.length === 0) {
    errs.push(`values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty`);
  }
  if ((operator === 'Exists' || operator === 'DoesNotExist') && values.length !== 0) {
    errs.push(`values: Invalid value: ${goStringSlice(values)}: values set must be empty for exists and does not exist`);
  }
  values.forEach((v, i) => {
    const valueErrs = isValidLabelValue(v);
    if (valueErrs.length > 0) errs.push(`values[${i}][${key}]: Invalid value: ${goQuote(v)}: ${valueErrs.join('; ')}`);
  });
  return aggregate(errs);
}

function requirementTest(key: string, operator: string, values: readonly string[]): (labels: Labels) => boolean {
  switch (operator) {
    case 'In': {
      if (values.length === 1) {
        const only = values[0]!;
        return (labels) => hasOwn(labels, key) && labels[key] === only;
      }
      const set = new Set(values);
      return (labels) => hasOwn(labels, key) && set.has(labels[key]!);
    }
    case 'NotIn': {
      const set = new Set(values);
      return (labels) => !hasOwn(labels, key) || !set.has(labels[key]!);
    }
    case 'Exists':
      return (labels) => hasOwn(labels, key);
    default: // DoesNotExist
      return (labels) => !hasOwn(labels, key);
  }
}

function parseRequirement(raw: unknown): LabelSelectorRequirement | null {
  if (!isRecord(raw)) return null;
  const key = raw['key'] ?? '';
  const operator = raw['operator'] ?? '';
  const values = raw['values'] ?? [];
  if (typeof key !== 'string' || typeof operator !== 'string') return null;
  if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) return null;
  return { key, operator, values: values as string[] };
}

function goStringSlice(values: readonly string[]): string {
  return `[]string{${values.map((v) => goQuote(v)).join(', ')}}`;
}


function hasOwn(o: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}
