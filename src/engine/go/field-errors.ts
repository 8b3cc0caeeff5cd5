// apimachinery's field errors (k8s.io/apimachinery/pkg/util/validation/field) as kubectl prints them:
// `spec.match.kinds[0]: Invalid value: "x": ...`, and utilerrors' aggregate of several.
import { goQuote } from './quote.js';

export interface FieldProblem {
  /** Field path segments; array indices are decimal strings (`['spec', 'match', 'kinds', '0']`). */
  path: string[];
  message: string;
}

/** Renders a path the way field.Path.String does: `spec.match.kinds[0].apiGroups`. */
export function formatFieldPath(path: readonly string[]): string {
  let out = '';
  for (const seg of path) {
    if (/^\d+$/.test(seg)) out += `[${seg}]`;
    else out += out.length > 0 ? `.${seg}` : seg;
  }
  return out;
}

export function invalid(path: readonly string[], value: string, detail: string): FieldProblem {
  return { path: [...path], message: `${formatFieldPath(path)}: Invalid value: ${goQuote(value)}: ${detail}` };
}

export function required(path: readonly string[], detail: string): FieldProblem {
  const suffix = detail ? `: ${detail}` : '';
  return { path: [...path], message: `${formatFieldPath(path)}: Required value${suffix}` };
}

export function forbidden(path: readonly string[], detail: string): FieldProblem {
  return { path: [...path], message: `${formatFieldPath(path)}: Forbidden: ${detail}` };
}

export function notSupported(path: readonly string[], value: string, supported: readonly string[]): FieldProblem {
  const list = supported.map((s) => goQuote(s)).join(', ');
  return { path: [...path], message: `${formatFieldPath(path)}: Unsupported value: ${goQuote(value)}: supported values: ${list}` };
}

/** utilerrors.NewAggregate(...).Error(): one error alone, several as `[a, b]` with duplicates dropped. */
export function aggregate(messages: readonly string[]): string | null {
  const unique = [...new Set(messages)];
  if (unique.length === 0) return null;
  if (unique.length === 1) return unique[0]!;
  return `[${unique.join(', ')}]`;
}

/** kube-openapi's type error, as apiextensions turns it into a field error: `... in body must be of type string: "integer"`. */
export function wrongType(path: readonly string[], expected: string, value: unknown): FieldProblem {
  const actual = jsonType(value);
  return invalid(path, actual, `${formatFieldPath(path)} in body must be of type ${expected}: ${goQuote(actual)}`);
}

/** The OpenAPI type name of a decoded JSON value. */
function jsonType(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value; // string, boolean, object
}
