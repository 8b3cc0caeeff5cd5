import { describe, expect, it } from 'vitest';
import { compareTags, compareVersionKeys, mutability, parseVersionTag, versionKey } from '../../../src/engine/inventory/versions.js';

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

describe('versionKey', () => {
  it.each([
    ['1.19-alpine', [1, 19, 0, 0]],
    ['v1.2.3', [1, 2, 3, 0]],
    ['1.2.3.4', [1, 2, 3, 4]],
    ['007', [7, 0, 0, 0]],
    ['v999999999.0', [999999999, 0, 0, 0]],
  ])('%s pads its numbers to four: %j', (tag, key) => {
    expect(versionKey(parseVersionTag(tag)!)).toEqual(key);
  });

  it('orders tags of one family exactly as compareTags does', () => {
    const tags = ['1.9', '1.10', '1.10.0', 'v1.10.1', '2', '1.2.3.4', '1.2.3', '0.0.1', 'v0.10'];
    for (const a of tags) {
      for (const b of tags) {
        expect(compareVersionKeys(versionKey(parseVersionTag(a)!), versionKey(parseVersionTag(b)!)), `${a} vs ${b}`).toBe(compareTags(a, b));
      }
    }
  });

  it('has no key for what is not a version', () => {
    for (const tag of ['latest', '1.2.3.4.5', '1234567890', 'main-abc123', '', null]) expect(parseVersionTag(tag), String(tag)).toBeNull();
  });
});
