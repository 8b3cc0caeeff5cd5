// Gatekeeper's wildcard strings (GK pkg/wildcard/wildcard.go): used by `match.namespaces`,
// `match.excludedNamespaces`, `match.name` and the Config's `excludedNamespaces`.
// A `*` is only meaningful as the first and/or last character; anywhere else it is a literal.

/**
 * The CRD pattern every wildcard must satisfy (kubebuilder marker on GK's `Wildcard` type).
 * Note that it accepts strings Gatekeeper's matching treats oddly, such as `*` (matches everything,
 * including the empty namespace of cluster-scoped objects) and `**`.
 */
export const WILDCARD_PATTERN_SOURCE = '^\\*?[-:a-z0-9]*\\*?$';
export const WILDCARD_PATTERN = new RegExp(WILDCARD_PATTERN_SOURCE);

/** Exact match, or `prefix*`, `*suffix`, `*infix*` (substring), exactly as `Wildcard.Matches`. */
export function matchesWildcard(pattern: string, candidate: string): boolean {
  return compileWildcard(pattern)(candidate);
}

/**
 * `Wildcard.MatchesGenerateName`: only `prefix*` and `*infix*` can say anything about a name the API
 * server has not generated yet; an exact pattern or `*suffix` never matches a generateName.
 */
export function matchesGenerateName(pattern: string, generateName: string): boolean {
  return compileGenerateNameWildcard(pattern)(generateName);
}

/**
 * Turns a pattern into a predicate once, so per-object matching does no string surgery on the pattern.
 * The branch order mirrors Go's switch: both ends first, so `*` and `**` become substring tests.
 */
export function compileWildcard(pattern: string): (candidate: string) => boolean {
  const starts = pattern.startsWith('*');
  const ends = pattern.endsWith('*');
  if (starts && ends) {
    const infix = trimSuffixStar(pattern.slice(1));
    return infix === '' ? () => true : (c) => c.includes(infix);
  }
  if (starts) {
    const suffix = pattern.slice(1);
    return (c) => c.endsWith(suffix);
  }
  if (ends) {
    const prefix = pattern.slice(0, -1);
    return (c) => c.startsWith(prefix);
  }
  return (c) => c === pattern;
}

export function compileGenerateNameWildcard(pattern: string): (generateName: string) => boolean {
  const starts = pattern.startsWith('*');
  const ends = pattern.endsWith('*');
  if (starts && ends) {
    const infix = trimSuffixStar(pattern.slice(1));
    return infix === '' ? () => true : (c) => c.includes(infix);
  }
  if (ends) {
    const prefix = pattern.slice(0, -1);
    return (c) => c.startsWith(prefix);
  }
  return () => false;
}

/** Any of several patterns; the common case of a single exact name stays a plain comparison. */
export function compileWildcardList(patterns: readonly string[]): (candidate: string) => boolean {
  const exact = new Set<string>();
  const globs: Array<(candidate: string) => boolean> = [];
  for (const p of patterns) {
    if (p.startsWith('*') || p.endsWith('*')) globs.push(compileWildcard(p));
    else exact.add(p);
  }
  if (globs.length === 0) return (c) => exact.has(c);
  return (c) => {
    if (exact.has(c)) return true;
    for (const g of globs) if (g(c)) return true;
    return false;
  };
}

// Go's strings.TrimSuffix removes one trailing `*` at most; so does this.
function trimSuffixStar(s: string): string {
  return s.endsWith('*') ? s.slice(0, -1) : s;
}
