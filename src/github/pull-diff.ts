// What a pull request changes, computed locally at no API call: GitHub's pull request diff is the
// three-dot diff merge base...head with three lines of context per hunk, and both trees are already
// in memory (the tarballs). Each changed or added file is diffed (Myers, the `diff` package) and its
// hunks turned into the head-side lines they cover: the only lines GitHub accepts review comments
// on. Conservative: a line counts only when it is inside one of our hunks, which match GitHub's for
// ordinary changes; a comment GitHub still refuses fails the review (logged), never the verdict.
import { structuredPatch } from 'diff';
import type { RepoSource } from '../engine/index.js';

/** Path at the head → head-side line numbers inside the diff's hunks (added and context lines). */
export type DiffLines = Map<string, Set<number>>;

/** Lines of context around each change, as GitHub's pull request diff has them. */
const CONTEXT = 3;

/**
 * What a pull request changes, both ways: `lines`, the diff's lines (added and context: where review
 * comments go); `added`, the lines it adds or rewrites, without context (where a warning about a
 * line is the pull request's own, check-run.ts).
 */
export interface LocalDiff {
  lines: DiffLines;
  added: DiffLines;
}

/** The diff's lines from the merge base's tree to the head's; deleted files have none, nor do unchanged or binary ones. */
export async function localDiffLines(mergeBase: RepoSource, head: RepoSource): Promise<DiffLines> {
  return (await localDiff(mergeBase, head)).lines;
}

/** localDiffLines, with the added lines of the same diff: each file is diffed once. */
export async function localDiff(mergeBase: RepoSource, head: RepoSource): Promise<LocalDiff> {
  const paths = (await head.listFiles()).map((f) => f.path);
  const [before, after] = await Promise.all([mergeBase.readFiles(paths), head.readFiles(paths)]);
  const diff: LocalDiff = { lines: new Map(), added: new Map() };
  for (const path of paths) {
    const oldText = before.get(path) ?? '';
    const newText = after.get(path);
    if (newText === undefined || (before.has(path) && oldText === newText)) continue;
    // GitHub shows no patch for a binary file: no line of it takes a comment.
    if (isBinary(oldText) || isBinary(newText)) {
      diff.lines.set(path, new Set());
      diff.added.set(path, new Set());
      continue;
    }
    const { lines, added } = diffLines(oldText, newText);
    diff.lines.set(path, lines);
    diff.added.set(path, added);
  }
  return diff;
}

/** Pure: the head-side lines of the hunks (with three lines of context) of the diff from `oldText` to `newText`. */
export function changedLines(oldText: string, newText: string): Set<number> {
  return diffLines(oldText, newText).lines;
}

function diffLines(oldText: string, newText: string): { lines: Set<number>; added: Set<number> } {
  const lines = new Set<number>();
  const added = new Set<number>();
  for (const hunk of structuredPatch('a', 'b', oldText, newText, undefined, undefined, { context: CONTEXT }).hunks) {
    let line = hunk.newStart;
    for (const text of hunk.lines) {
      if (text.startsWith('-') || text.startsWith('\\')) continue;
      if (text.startsWith('+')) added.add(line);
      lines.add(line++);
    }
  }
  return { lines, added };
}

/** Git's heuristic: a NUL byte in the first 8,000 makes a file binary. */
function isBinary(text: string): boolean {
  return text.slice(0, 8000).includes('\0');
}
