// Image versions on the overview page, purely: how two tags of one image repository compare,
// which deployed references are outdated, and which are mutable.
//
// Outdated: a row is outdated when a newer version of the same image repository (registry and
// repository path) is deployed in another row the user may see: another cluster, namespace or
// stage. "Newer" compares version tags of the same family only: `1.19-alpine` is newer than
// `1.18-alpine`, `v1.2.10` than `v1.2.9`; `1.19-alpine` and `1.18` are different families (the
// suffix after the numbers decides the family, a leading `v` does not) and never compared, and a
// tag that is not a version (`latest`, `stable`, `main-abc123`) is comparable with nothing.
//
// Mutable: a reference whose content can change under the same name: tag `latest`, no tag at all
// (Kubernetes pulls `latest`), or any tag without a digest.

export interface VersionTag {
  /** Numeric components: `1.19.2` -> [1, 19, 2]. */
  numbers: number[];
  /** What follows the numbers (`alpine` in `1.19-alpine`); '' for none. Tags compare within a family. */
  family: string;
}

const VERSION = /^v?(\d{1,9}(?:\.\d{1,9}){0,3})(?:[-_+](.+))?$/i;

/** The version in a tag, or null when the tag is not a version. */
export function parseVersionTag(tag: string | null | undefined): VersionTag | null {
  if (!tag) return null;
  const m = VERSION.exec(tag);
  if (!m) return null;
  return { numbers: m[1]!.split('.').map(Number), family: (m[2] ?? '').toLowerCase() };
}

/**
 * Negative when `a` is older than `b`, positive when newer, 0 when equal; null when the tags are
 * not comparable (not versions, or of different families). Missing components count as 0.
 */
export function compareTags(a: string | null | undefined, b: string | null | undefined): number | null {
  const va = parseVersionTag(a);
  const vb = parseVersionTag(b);
  if (!va || !vb || va.family !== vb.family) return null;
  for (let i = 0; i < Math.max(va.numbers.length, vb.numbers.length); i++) {
    const d = (va.numbers[i] ?? 0) - (vb.numbers[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

export type Mutability = 'latest' | 'no-tag' | 'no-digest';

/** Why a reference is mutable, or null when it is pinned by digest. */
export function mutability(ref: { tag: string | null; digest: string | null }): Mutability | null {
  if (ref.digest) return null;
  if (ref.tag === null) return 'no-tag';
  if (ref.tag === 'latest') return 'latest';
  return 'no-digest';
}

export const MUTABILITY_TEXT: Record<Mutability, string> = {
  latest: 'mutable: tag latest',
  'no-tag': 'mutable: no tag (pulls latest)',
  'no-digest': 'mutable: tag without digest',
};

export interface VersionedRow {
  /** null for a malformed reference: neither outdated nor comparable. */
  registry: string | null;
  repository: string | null;
  tag: string | null;
  digest: string | null;
}

export interface VersionStatus {
  /** The newest tag of the same family deployed among the rows, when newer than this row's. */
  newer: string | null;
  outdated: boolean;
  mutable: Mutability | null;
}

/** Each row's status among `rows` (the rows the user may see), in the same order. */
export function versionStatuses<T extends VersionedRow>(rows: readonly T[]): VersionStatus[] {
  // newest tag per (image, family)
  const newest = new Map<string, string>();
  const key = (r: VersionedRow, v: VersionTag) => `${r.registry}/${r.repository}\u0000${v.family}`;
  for (const r of rows) {
    const v = r.repository ? parseVersionTag(r.tag) : null;
    if (!v) continue;
    const k = key(r, v);
    const best = newest.get(k);
    if (best === undefined || (compareTags(r.tag, best) ?? 0) > 0) newest.set(k, r.tag!);
  }
  return rows.map((r) => {
    const v = r.repository ? parseVersionTag(r.tag) : null;
    const best = v ? newest.get(key(r, v)) : undefined;
    const outdated = best !== undefined && (compareTags(r.tag, best) ?? 0) < 0;
    return { newer: outdated ? best! : null, outdated, mutable: r.repository ? mutability(r) : null };
  });
}
