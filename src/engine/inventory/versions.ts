// Image versions on the overview page: how two tags of one image repository compare, which
// deployed references are outdated, and which are mutable.
//
// Outdated: a container is outdated when a newer version of the same image repository (registry and
// repository path) is deployed in another container the user may see: another cluster, namespace or
// stage. "Newer" compares version tags of the same family only: `1.19-alpine` is newer than
// `1.18-alpine`, `v1.2.10` than `v1.2.9`; `1.19-alpine` and `1.18` are different families (the
// suffix after the numbers decides the family, a leading `v` does not) and never compared, and a
// tag that is not a version (`latest`, `stable`, `main-abc123`) is comparable with nothing.
//
// Where it is decided: the inventory stores each tag's family and `versionKey` (its numbers padded
// to four) in the version summary (image_versions, src/store/inventory.ts), and the overview's
// queries (src/store/overview.ts) take the newest key per (image, family) over every cluster the
// user may see and flag each version below it. PostgreSQL orders integer arrays element by element,
// so comparing keys there is `compareTags` here; the tests hold both to the same cases.
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

/** Components a version tag may have (VERSION above); keys are padded to this length. */
export const VERSION_KEY_LENGTH = 4;

/** The version's numbers padded with zeros to VERSION_KEY_LENGTH: `1.19` -> [1, 19, 0, 0]. */
export function versionKey(version: VersionTag): number[] {
  return [...version.numbers, ...Array<number>(VERSION_KEY_LENGTH - version.numbers.length).fill(0)];
}

/** Element by element, as PostgreSQL compares integer arrays of equal length. */
export function compareVersionKeys(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/**
 * Negative when `a` is older than `b`, positive when newer, 0 when equal; null when the tags are
 * not comparable (not versions, or of different families). Missing components count as 0.
 */
export function compareTags(a: string | null | undefined, b: string | null | undefined): number | null {
  const va = parseVersionTag(a);
  const vb = parseVersionTag(b);
  if (!va || !vb || va.family !== vb.family) return null;
  return compareVersionKeys(versionKey(va), versionKey(vb));
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
