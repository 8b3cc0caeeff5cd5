// Decides whether a Constraint's `spec.match` selects an object, exactly as Gatekeeper does
// (GK pkg/mutation/match/match.go Matches, pkg/target/matcher.go matchAny, FW constraint_client.go matches).
// Compilation also reports what Gatekeeper refuses when the constraint is added: the CRD schema of
// `spec.match` (GK pkg/target/matchcrd_constant.go) and ValidateConstraint's selector checks
// (GK pkg/target/target.go).

import { compileLabelSelector, labelSelectorProblems, labelsOf } from '../go/label-selector.js';
import {
  compileGenerateNameWildcard,
  compileWildcard,
  compileWildcardList,
  WILDCARD_PATTERN,
  WILDCARD_PATTERN_SOURCE,
} from './wildcard.js';
import { type FieldProblem, formatFieldPath, invalid, notSupported, required, wrongType } from '../go/field-errors.js';
import { goQuote } from '../go/quote.js';
import { isRecord } from '../model.js';

export interface MatchTarget {
  /** The Kubernetes object (already carries its effective metadata.namespace when namespaced). */
  object: Record<string, unknown>;
  /** From apiVersion/kind; the core group is ''. */
  group: string;
  version: string;
  kind: string;
  /** The Namespace object for namespaced objects, when known. */
  namespace: Record<string, unknown> | null;
  source: 'Original' | 'Generated';
  /** For UPDATE/DELETE AdmissionReviews. */
  oldObject?: Record<string, unknown> | null;
  operation?: string;
}

/** `'error'` is Gatekeeper's autorejection: a result carrying the constraint's enforcement action. */
export type MatchResult = { matches: true } | { matches: false } | { matches: 'error'; message: string };

/**
 * A problem in `spec.match`: `path` is relative to `spec.match` (`['namespaces', '0']`), and `message` is
 * the body of apiextensions'/apimachinery's field error, without the leading `<path>: `
 * (`Invalid value: "Kube-*": spec.match.namespaces[0] in body should match '^\*?[-:a-z0-9]*\*?$'`).
 */
export type MatchProblem = FieldProblem;

export interface CompiledMatch {
  matcher: (t: MatchTarget) => MatchResult;
  /**
   * What Gatekeeper refuses when the constraint is added (CRD schema, ValidateConstraint). A constraint with
   * problems never reaches a cluster or gator's client; the matcher still does its best with what parses.
   */
  problems: MatchProblem[];
}

const MATCH: { matches: true } = { matches: true };
const NO_MATCH: { matches: false } = { matches: false };
const SOURCES = ['All', 'Generated', 'Original'] as const;
const MATCH_PATH = ['spec', 'match'] as const;

// Error text chain, outermost first: FW ErrAutoreject, GK ErrMatching (+ object name), GK match.ErrMatch.
const AUTOREJECT_PREFIX = 'unable to match constraints: ';
const MATCHING_PREFIX = 'error matching the requested object: ';
const CRITERIA_PREFIX = 'failed to run Match criteria: ';
const MISSING_NAMESPACE = 'namespace selector for namespace-scoped object but missing Namespace';

/** One object as the matchers see it; read once per object, not once per criterion. */
interface View {
  object: Record<string, unknown>;
  name: string;
  namespace: string;
  isNamespace: boolean;
  t: MatchTarget;
}

/** A criterion: true/false, or the inner error text Gatekeeper would wrap into an autorejection. */
type Criterion = (v: View) => boolean | string;

export function compileMatch(match: unknown): CompiledMatch {
  if (match === undefined || match === null) {
    // No spec.match: Matcher.Match returns true for everything (GK pkg/target/matcher.go).
    return { matcher: () => MATCH, problems: [] };
  }
  if (!isRecord(match)) {
    // ToMatcher cannot read spec.match as a map, so the framework refuses the constraint outright.
    return { matcher: () => NO_MATCH, problems: [relative(wrongType([...MATCH_PATH], 'object', match))] };
  }

  const problems = [...schemaProblems(match).map((p) => relative(p)), ...selectorProblems(match)];
  const criteria = compileCriteria(match);

  const matchOne = (object: Record<string, unknown>, t: MatchTarget): MatchResult | string => {
    const metadata = isRecord(object['metadata']) ? object['metadata'] : undefined;
    const view: View = {
      object,
      name: stringField(metadata, 'name'),
      namespace: stringField(metadata, 'namespace'),
      isNamespace: t.kind === 'Namespace' && t.group === '',
      t,
    };
    for (const criterion of criteria) {
      const r = criterion(view);
      if (r === true) continue;
      if (r === false) return NO_MATCH;
      return `${AUTOREJECT_PREFIX}${MATCHING_PREFIX}${view.name} :${CRITERIA_PREFIX}${r}`;
    }
    return MATCH;
  };

  const matcher = (t: MatchTarget): MatchResult => {
    // DELETE reviews carry the object in oldObject; Gatekeeper copies it over (target.go setObjectOnDelete).
    const object = t.operation === 'DELETE' ? (t.oldObject ?? t.object) : t.object;
    const oldObject = t.operation === 'DELETE' ? null : (t.oldObject ?? null);
    if (!object && !oldObject) {
      return {
        matches: 'error',
        message: `${AUTOREJECT_PREFIX}invalid request object: neither object nor old object are defined`,
      };
    }
    // matchAny: the first error stops the search, even if the other object would have matched.
    for (const candidate of [object, oldObject]) {
      if (!candidate) continue;
      const r = matchOne(candidate, t);
      if (typeof r === 'string') return { matches: 'error', message: r };
      if (r.matches === true) return MATCH;
    }
    return NO_MATCH;
  };

  return { matcher, problems };
}

// ---------------------------------------------------------------------------------------------
// Criteria, in Gatekeeper's order (it stops at the first that fails or errors, so order decides
// which error surfaces). Criteria that impose nothing are left out entirely.

function compileCriteria(match: Record<string, unknown>): Criterion[] {
  const criteria: Criterion[] = [];

  const kinds = compileKinds(match['kinds']);
  if (kinds) criteria.push(kinds);

  const scope = compileScope(match['scope']);
  if (scope) criteria.push(scope);

  const namespaces = stringList(match['namespaces']);
  if (namespaces.length > 0) {
    const anyOf = compileWildcardList(namespaces);
    criteria.push((v) => {
      const ns = namespaceForLists(v);
      return ns === null ? true : anyOf(ns);
    });
  }

  const excluded = stringList(match['excludedNamespaces']);
  if (excluded.length > 0) {
    const anyOf = compileWildcardList(excluded);
    // Cluster-scoped objects other than Namespaces cannot be excluded: there is nothing to compare.
    criteria.push((v) => {
      const ns = namespaceForLists(v);
      return ns === null ? true : !anyOf(ns);
    });
  }

  const labelSelector = match['labelSelector'];
  if (labelSelector !== undefined && labelSelector !== null) {
    const compiled = compileLabelSelector(labelSelector);
    criteria.push(compiled.ok ? (v) => compiled.matches(labelsOf(v.object)) : () => compiled.error);
  }

  const namespaceSelector = match['namespaceSelector'];
  if (namespaceSelector !== undefined && namespaceSelector !== null) {
    const compiled = compileLabelSelector(namespaceSelector);
    criteria.push((v) => {
      // Non-Namespace cluster-scoped objects pass before the selector is even converted.
      if (!v.isNamespace && v.t.namespace === null && v.namespace === '') return true;
      if (!compiled.ok) return compiled.error;
      if (v.isNamespace) return compiled.matches(labelsOf(v.object));
      if (v.t.namespace === null) return MISSING_NAMESPACE;
      return compiled.matches(labelsOf(v.t.namespace));
    });
  }

  const name = typeof match['name'] === 'string' ? match['name'] : '';
  if (name !== '') {
    // An empty name means "any name" (namesMatch), whatever the user meant by it.
    const byName = compileWildcard(name);
    const byGenerateName = compileGenerateNameWildcard(name);
    criteria.push((v) => {
      if (byName(v.name)) return true;
      const metadata = v.object['metadata'];
      return byGenerateName(stringField(isRecord(metadata) ? metadata : undefined, 'generateName'));
    });
  }

  const source = compileSource(match['source']);
  if (source) criteria.push(source);

  return criteria;
}

function compileKinds(raw: unknown): Criterion | null {
  if (!Array.isArray(raw) || raw.length === 0) return null;
  const entries: Array<{ kinds: Set<string> | null; groups: Set<string> | null }> = [];
  for (const item of raw) {
    // A non-object entry is a schema problem; it selects nothing rather than everything.
    if (!isRecord(item)) continue;
    const entry = item;
    const kinds = nullableStringList(entry['kinds']);
    const groups = nullableStringList(entry['apiGroups']);
    // An empty list, or one containing `*`, places no condition.
    const kindSet = kinds.length === 0 || kinds.includes('*') ? null : new Set(kinds);
    const groupSet = groups.length === 0 || groups.includes('*') ? null : new Set(groups);
    if (kindSet === null && groupSet === null) return null; // this entry selects everything
    entries.push({ kinds: kindSet, groups: groupSet });
  }
  return (v) => {
    for (const e of entries) {
      if (e.kinds !== null && !e.kinds.has(v.t.kind)) continue;
      if (e.groups === null || e.groups.has(v.t.group)) return true;
    }
    return false;
  };
}

function compileScope(raw: unknown): Criterion | null {
  // Any other value, typos such as `cluster` or `Namespace` included, matches everything (scopeMatch).
  if (raw === 'Cluster') return (v) => v.isNamespace || !hasNamespace(v);
  if (raw === 'Namespaced') return (v) => !v.isNamespace && hasNamespace(v);
  return null;
}

function compileSource(raw: unknown): Criterion | null {
  const source = typeof raw === 'string' ? raw : '';
  if (source === '' || source === 'All') return null;
  if (source !== 'Generated' && source !== 'Original') {
    const message = `invalid source field ${goQuote(source)}`;
    return () => message;
  }
  return (v) => v.t.source === source;
}

function hasNamespace(v: View): boolean {
  return v.namespace !== '' || v.t.namespace !== null;
}

/**
 * The namespace `namespaces` and `excludedNamespaces` compare: a Namespace's own name, else the supplied
 * Namespace's name, else metadata.namespace. Null for cluster-scoped objects, which both lists let through.
 */
function namespaceForLists(v: View): string | null {
  if (v.isNamespace) return v.name;
  if (v.t.namespace !== null) {
    const metadata = v.t.namespace['metadata'];
    return stringField(isRecord(metadata) ? metadata : undefined, 'name');
  }
  return v.namespace !== '' ? v.namespace : null;
}

// ---------------------------------------------------------------------------------------------
// What the constraint CRD's `spec.match` schema rejects (structural schema generated from GK
// match_types.go), with apiextensions' field-error text. `null` counts as absent, as the API server
// drops nulls of non-nullable fields.

function schemaProblems(match: Record<string, unknown>): MatchProblem[] {
  const problems: MatchProblem[] = [];
  const at = (...rest: string[]) => [...MATCH_PATH, ...rest];

  for (const key of Object.keys(match)) {
    const value = match[key];
    if (value === null || value === undefined) continue;
    switch (key) {
      case 'kinds':
        if (!Array.isArray(value)) {
          problems.push(wrongType(at(key), 'array', value));
          break;
        }
        value.forEach((item, i) => {
          const path = at(key, String(i));
          if (!isRecord(item)) {
            problems.push(wrongType(path, 'object', item));
            return;
          }
          for (const field of Object.keys(item)) {
            if (field === 'apiGroups' || field === 'kinds') problems.push(...stringArrayProblems([...path, field], item[field]));
            else problems.push(unknownField([...path, field]));
          }
        });
        break;
      case 'namespaces':
      case 'excludedNamespaces':
        problems.push(...stringArrayProblems(at(key), value, true));
        break;
      case 'name':
        if (typeof value !== 'string') problems.push(wrongType(at(key), 'string', value));
        else if (!WILDCARD_PATTERN.test(value)) problems.push(patternProblem(at(key), value));
        break;
      case 'scope':
        if (typeof value !== 'string') problems.push(wrongType(at(key), 'string', value));
        break;
      case 'source':
        if (typeof value !== 'string') problems.push(wrongType(at(key), 'string', value));
        else if (!(SOURCES as readonly string[]).includes(value)) problems.push(notSupported(at(key), value, SOURCES));
        break;
      case 'labelSelector':
      case 'namespaceSelector':
        problems.push(...selectorSchemaProblems(at(key), value));
        break;
      default:
        problems.push(unknownField(at(key)));
    }
  }
  return problems;
}

function selectorSchemaProblems(path: string[], value: unknown): MatchProblem[] {
  if (!isRecord(value)) return [wrongType(path, 'object', value)];
  const problems: MatchProblem[] = [];
  for (const key of Object.keys(value)) {
    const field = value[key];
    if (field === null || field === undefined) continue;
    if (key === 'matchLabels') {
      if (!isRecord(field)) {
        problems.push(wrongType([...path, key], 'object', field));
        continue;
      }
      for (const label of Object.keys(field)) {
        if (typeof field[label] !== 'string') problems.push(wrongType([...path, key, label], 'string', field[label]));
      }
    } else if (key === 'matchExpressions') {
      if (!Array.isArray(field)) {
        problems.push(wrongType([...path, key], 'array', field));
        continue;
      }
      field.forEach((expr, i) => {
        const exprPath = [...path, key, String(i)];
        if (!isRecord(expr)) {
          problems.push(wrongType(exprPath, 'object', expr));
          return;
        }
        for (const requiredField of ['key', 'operator']) {
          const v = expr[requiredField];
          if (v === undefined || v === null) problems.push(required([...exprPath, requiredField], ''));
          else if (typeof v !== 'string') problems.push(wrongType([...exprPath, requiredField], 'string', v));
        }
        for (const f of Object.keys(expr)) {
          if (f === 'values') problems.push(...stringArrayProblems([...exprPath, f], expr[f]));
          else if (f !== 'key' && f !== 'operator') problems.push(unknownField([...exprPath, f]));
        }
      });
    } else {
      problems.push(unknownField([...path, key]));
    }
  }
  return problems;
}

function stringArrayProblems(path: string[], value: unknown, wildcard = false): MatchProblem[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) return [wrongType(path, 'array', value)];
  const problems: MatchProblem[] = [];
  value.forEach((item, i) => {
    const itemPath = [...path, String(i)];
    if (typeof item !== 'string') problems.push(wrongType(itemPath, 'string', item));
    else if (wildcard && !WILDCARD_PATTERN.test(item)) problems.push(patternProblem(itemPath, item));
  });
  return problems;
}

/**
 * ValidateConstraint's selector checks. Gatekeeper labels errors of both selectors `spec.labelSelector`
 * (it passes that path for namespaceSelector too); the messages keep that text, the paths say where.
 */
function selectorProblems(match: Record<string, unknown>): MatchProblem[] {
  const problems: MatchProblem[] = [];
  for (const key of ['labelSelector', 'namespaceSelector']) {
    const selector = match[key];
    if (!isRecord(selector)) continue;
    for (const p of labelSelectorProblems(selector, ['spec', 'labelSelector'])) {
      problems.push({ path: [key, ...p.path.slice(2)], message: stripPath(p.message, p.path) });
    }
  }
  return problems;
}

/** From a problem on the full constraint path to one relative to spec.match, message body only. */
function relative(p: FieldProblem): MatchProblem {
  return { path: p.path.slice(MATCH_PATH.length), message: stripPath(p.message, p.path) };
}

function stripPath(message: string, path: readonly string[]): string {
  const prefix = `${formatFieldPath(path)}: `;
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}

function patternProblem(path: string[], value: string): MatchProblem {
  const p = formatFieldPath(path);
  return invalid(path, value, `${p} in body should match '${WILDCARD_PATTERN_SOURCE}'`);
}

// Structural pruning drops unknown fields; the framework then refuses the constraint for having had them.
function unknownField(path: string[]): MatchProblem {
  return { path, message: `${formatFieldPath(path)}: unknown field` };
}


// ---------------------------------------------------------------------------------------------


/** unstructured's NestedString accessors: anything but a string reads as ''. */
function stringField(o: Record<string, unknown> | undefined, key: string): string {
  const v = o?.[key];
  return typeof v === 'string' ? v : '';
}

function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

/** Go decodes a JSON null inside a []string as "", so `apiGroups: [null]` means the core group. */
function nullableStringList(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  const out: string[] = [];
  for (const s of v) {
    if (typeof s === 'string') out.push(s);
    else if (s === null) out.push('');
  }
  return out;
}
