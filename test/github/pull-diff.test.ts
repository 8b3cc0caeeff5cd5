import { describe, expect, it } from 'vitest';
import { hunkLines } from '../../src/github/pull-diff.js';
import { commentableLines, diffFiles } from '../helpers/fake-github-diff.js';

describe('the lines of a pull request diff that take review comments', () => {
  it('are the head-side lines of each hunk, added and context, not removed ones', () => {
    const patch = '@@ -1,4 +1,5 @@\n a\n-b\n+B\n+C\n c\n d\n@@ -20,2 +21,2 @@\n x\n-y\n+Y';
    expect([...hunkLines(patch)]).toEqual([1, 2, 3, 4, 5, 21, 22]);
  });

  it('are none for a file without a patch (binary or too large)', () => {
    expect(hunkLines(undefined).size).toBe(0);
  });

  it('agree with the fake GitHub, which computes its patches from the commits it serves', () => {
    const base = { 'a.yaml': Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\n') + '\n' };
    const head = { 'a.yaml': base['a.yaml'].replace('line 10\n', 'line ten\n'), 'b.yaml': 'new\n' };
    const files = diffFiles(base, head);
    expect(files.map((f) => [f.filename, f.status])).toEqual([['a.yaml', 'modified'], ['b.yaml', 'added']]);
    expect([...hunkLines(files[0]!.patch)]).toEqual([7, 8, 9, 10, 11, 12, 13]);
    expect(hunkLines(files[0]!.patch)).toEqual(commentableLines(files[0]!.patch));
    expect([...hunkLines(files[1]!.patch)]).toEqual([1]);
  });
});
