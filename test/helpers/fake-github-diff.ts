// The fake GitHub's pull request diff: unified-diff patches per file, as the pull request files
// endpoint returns them (three lines of context), and the lines of the head side that those hunks
// cover, the only lines GitHub accepts review comments on.

export interface FakePullFile {
  filename: string;
  status: 'added' | 'removed' | 'modified';
  additions: number;
  deletions: number;
  changes: number;
  patch?: string;
}

const CONTEXT = 3;

/** The changed files between two commits' file maps, sorted by path. */
export function diffFiles(base: Record<string, string | Buffer>, head: Record<string, string | Buffer>): FakePullFile[] {
  const paths = [...new Set([...Object.keys(base), ...Object.keys(head)])].sort();
  const files: FakePullFile[] = [];
  for (const path of paths) {
    const before = base[path];
    const after = head[path];
    if (before !== undefined && after !== undefined && Buffer.from(before).equals(Buffer.from(after))) continue;
    const status = before === undefined ? 'added' : after === undefined ? 'removed' : 'modified';
    if (Buffer.isBuffer(before) || Buffer.isBuffer(after)) {
      files.push({ filename: path, status, additions: 0, deletions: 0, changes: 0 }); // binary: no patch
      continue;
    }
    const { patch, additions, deletions } = unifiedPatch(lines(before), lines(after));
    files.push({ filename: path, status, additions, deletions, changes: additions + deletions, patch });
  }
  return files;
}

/** The head-side line numbers inside the hunks of `patch` (added and context lines). */
export function commentableLines(patch: string | undefined): Set<number> {
  const result = new Set<number>();
  if (!patch) return result;
  let line = 0;
  for (const text of patch.split('\n')) {
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(text);
    if (hunk) {
      line = Number(hunk[1]);
      continue;
    }
    if (text.startsWith('-') || text.startsWith('\\')) continue;
    result.add(line++);
  }
  return result;
}

function lines(text: string | undefined): string[] {
  if (text === undefined || text === '') return [];
  const all = text.split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all;
}

type Op = { kind: ' ' | '-' | '+'; text: string; a: number; b: number };

function unifiedPatch(a: string[], b: string[]): { patch: string; additions: number; deletions: number } {
  const ops = diffOps(a, b);
  const changed = ops.map((op, i) => (op.kind === ' ' ? -1 : i)).filter((i) => i >= 0);
  const hunks: Array<[number, number]> = [];
  for (const i of changed) {
    const start = Math.max(0, i - CONTEXT);
    const end = Math.min(ops.length - 1, i + CONTEXT);
    const last = hunks[hunks.length - 1];
    if (last && start <= last[1] + 1) last[1] = Math.max(last[1], end);
    else hunks.push([start, end]);
  }
  const out: string[] = [];
  for (const [start, end] of hunks) {
    const slice = ops.slice(start, end + 1);
    const aCount = slice.filter((op) => op.kind !== '+').length;
    const bCount = slice.filter((op) => op.kind !== '-').length;
    const aStart = aCount === 0 ? slice[0]!.a : slice.find((op) => op.kind !== '+')!.a + 1;
    const bStart = bCount === 0 ? slice[0]!.b : slice.find((op) => op.kind !== '-')!.b + 1;
    out.push(`@@ -${aStart},${aCount} +${bStart},${bCount} @@`);
    for (const op of slice) out.push(`${op.kind}${op.text}`);
  }
  return { patch: out.join('\n'), additions: ops.filter((o) => o.kind === '+').length, deletions: ops.filter((o) => o.kind === '-').length };
}

/** Longest common subsequence line diff: quadratic, fine for the fixtures' small files. */
function diffOps(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const table = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) table[i]![j] = a[i] === b[j] ? table[i + 1]![j + 1]! + 1 : Math.max(table[i + 1]![j]!, table[i]![j + 1]!);
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ kind: ' ', text: a[i]!, a: i++, b: j++ });
    else if (j < m && (i >= n || table[i]![j + 1]! >= table[i + 1]![j]!)) ops.push({ kind: '+', text: b[j]!, a: i, b: j++ });
    else ops.push({ kind: '-', text: a[i]!, a: i++, b: j });
  }
  return ops;
}
