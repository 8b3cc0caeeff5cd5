import { describe, expect, it } from 'vitest';
import { changedLines, localDiffLines } from '../../src/github/pull-diff.js';
import { TarballSource } from '../../src/github/tarball-source.js';
import { commentableLines, diffFiles } from '../helpers/fake-github-diff.js';

function tree(files: Record<string, string>): TarballSource {
  return new TarballSource(new Map(Object.entries(files).map(([path, text]) => [path, Buffer.from(text)])));
}

const twenty = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';

describe('the lines of a pull request diff that take review comments, computed from the two trees', () => {
  const base = { 'a.yaml': twenty, 'gone.yaml': 'x\ny\n', 'same.yaml': 'same\n' };
  const head = { 'a.yaml': twenty.replace('line 10\n', 'line ten\n'), 'b.yaml': 'new\nfile\n', 'same.yaml': 'same\n' };

  it('covers every line of an added file', async () => {
    const diff = await localDiffLines(tree(base), tree(head));
    expect([...diff.get('b.yaml')!]).toEqual([1, 2]);
  });

  it('covers a modified file’s hunk, the change and three lines of context each side, and nothing outside it', async () => {
    const diff = await localDiffLines(tree(base), tree(head));
    const lines = diff.get('a.yaml')!;
    expect([...lines]).toEqual([7, 8, 9, 10, 11, 12, 13]);
    for (const outside of [1, 6, 14, 20]) expect(lines.has(outside)).toBe(false);
  });

  it('has nothing for a deleted file nor an unchanged one', async () => {
    const diff = await localDiffLines(tree(base), tree(head));
    expect([...diff.keys()].sort()).toEqual(['a.yaml', 'b.yaml']);
    expect(diff.has('gone.yaml')).toBe(false);
    expect(diff.has('same.yaml')).toBe(false);
  });

  it('takes no comment on a binary file (GitHub shows no patch for it)', async () => {
    const diff = await localDiffLines(tree({}), tree({ 'blob.bin': 'a\0b\n' }));
    expect(diff.get('blob.bin')!.size).toBe(0);
  });

  it('splits distant changes into separate hunks and handles a missing final newline', () => {
    expect([...changedLines(twenty, twenty.replace('line 2\n', 'two\n').replace('line 19\n', 'nineteen\n'))]).toEqual([1, 2, 3, 4, 5, 16, 17, 18, 19, 20]);
    expect([...changedLines('a\nb\n', 'a\nb')]).toEqual([1, 2]);
    expect(changedLines('a\nb\n', '').size).toBe(0);
  });

  it('agrees with the fake GitHub, which computes its patches from the commits it serves', async () => {
    const edited = { ...head, 'a.yaml': head['a.yaml'].replace('line 3\n', 'line 3\ninserted\n').replace('line 18\n', '') };
    const diff = await localDiffLines(tree(base), tree(edited));
    const files = diffFiles(base, edited).filter((f) => f.status !== 'removed');
    expect(new Map(files.map((f) => [f.filename, commentableLines(f.patch)]))).toEqual(diff);
  });
});
