import { describe, expect, it } from 'vitest';
import { compareTags, mutability, parseVersionTag, versionStatuses } from '../../src/web/versions.js';

describe('compareTags', () => {
  it.each([
    ['same suffix family compared by version', '1.19-alpine', '1.18-alpine', 1],
    ['numeric, not lexical', '1.10', '1.9', 1],
    ['a leading v is ignored', 'v1.2.3', '1.2.10', -1],
    ['missing components count as zero', '1.19', '1.19.0', 0],
    ['patch level', 'v2.0.1', 'v2.0.0', 1],
    ['suffix families are case-insensitive', '3.1-Alpine', '3.0-alpine', 1],
  ])('%s: %s vs %s', (_, a, b, expected) => {
    expect(compareTags(a, b)).toBe(expected);
  });

  it.each([
    ['different families', '1.19-alpine', '1.20'],
    ['different suffixes', '1.19-alpine', '1.19-bullseye'],
    ['a non-version tag', 'latest', '1.0'],
    ['a branch-like tag', 'main-abc123', 'main-abc124'],
    ['no tag', null, '1.0'],
  ])('%s are not comparable', (_, a, b) => {
    expect(compareTags(a, b)).toBeNull();
  });

  it('reads the family of a version tag', () => {
    expect(parseVersionTag('1.19-alpine')).toEqual({ numbers: [1, 19], family: 'alpine' });
    expect(parseVersionTag('v1.2.3')).toEqual({ numbers: [1, 2, 3], family: '' });
    expect(parseVersionTag('stable')).toBeNull();
  });
});

describe('mutability', () => {
  it.each([
    ['latest', { tag: 'latest', digest: null }, 'latest'],
    ['no tag', { tag: null, digest: null }, 'no-tag'],
    ['a tag without digest', { tag: '1.19', digest: null }, 'no-digest'],
    ['a digest', { tag: '1.19', digest: `sha256:${'a'.repeat(64)}` }, null],
    ['latest pinned by digest', { tag: 'latest', digest: `sha256:${'a'.repeat(64)}` }, null],
  ])('%s', (_, ref, expected) => {
    expect(mutability(ref)).toBe(expected);
  });
});

describe('versionStatuses', () => {
  const row = (repository: string | null, tag: string | null, digest: string | null = null) => ({ registry: repository ? 'docker.io' : null, repository, tag, digest });

  it('marks a row outdated when a newer version of the same family is deployed elsewhere', () => {
    const rows = [row('library/nginx', '1.18-alpine'), row('library/nginx', '1.19-alpine'), row('library/nginx', '1.20'), row('library/redis', '6.0')];
    expect(versionStatuses(rows).map((s) => [s.outdated, s.newer])).toEqual([
      [true, '1.19-alpine'],
      [false, null],
      [false, null], // 1.20 is another family
      [false, null],
    ]);
  });

  it('never compares different image repositories or registries', () => {
    const rows = [row('library/nginx', '1.18'), row('acme/nginx', '1.19'), { registry: 'ghcr.io', repository: 'library/nginx', tag: '2.0', digest: null }];
    expect(versionStatuses(rows).map((s) => s.outdated)).toEqual([false, false, false]);
  });

  it('flags mutable references and ignores malformed ones', () => {
    const rows = [row('library/nginx', 'latest'), row('library/nginx', null), row(null, null), row('library/nginx', '1.0', `sha256:${'b'.repeat(64)}`)];
    expect(versionStatuses(rows).map((s) => s.mutable)).toEqual(['latest', 'no-tag', null, null]);
  });
});
