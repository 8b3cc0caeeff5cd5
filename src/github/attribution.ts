// Who introduced a risk acceptance: the commit that last changed its annotation on the default
// branch, the pull request that merged it, and who GitHub says opened and merged that pull request
// and pushed the commit. The commit's author is whatever the commit says (anyone can write anyone's
// name and e-mail into a commit): it is kept, as unverified. Found by blame at the pushed commit
// (GraphQL, bounded per push, blame.ts); where blame cannot answer (over the limit, GitHub failing)
// and the annotation changed in this push, the push itself tells which of its commits last added
// or modified the annotation's file, less precisely but at no cost. What neither tells stays
// unknown: never a guess.
import type { RepoSource } from '../engine/index.js';
import { BLAME_LIMITS, blameFiles, type BlameLimits, type BlameRange } from './blame.js';
import type { GitHubClient, RepoRef } from './github-client.js';
import type { AnnotationIntroduction, AnnotationToAttribute } from './recorder.js';

/** A commit of a push, as the `push` webhook lists it. */
export interface PushCommit {
  id: string;
  timestamp: string;
  author: { name: string; email?: string | null; username?: string | null };
  added?: string[];
  modified?: string[];
}

export interface AttributionResult {
  introductions: AnnotationIntroduction[];
  /** How each introducer was found: by blame, from the push's commits, or not at all. */
  counts: { blame: number; push: number; unknown: number };
  /** GraphQL queries made. */
  queries: number;
  /** Why files could not be blamed (GitHub's errors, the limit), by file. */
  problems: Map<string, string>;
  /** With `commit`: the blamed commit's pull request as GitHub answered it (BlameAnswer.commit). */
  commit?: unknown;
}

type Introduction = Omit<AnnotationIntroduction, 'file' | 'line'>;

/**
 * The lines an annotation occupies: its key's line and the lines of its value below it. A mapping
 * value in YAML's block style continues on the lines indented deeper than its key (a `|` or `>`
 * block scalar, a multi-line plain or quoted scalar), so a reworded reason is found on whichever
 * of those lines it changed.
 */
export function annotationLines(text: string, line: number): { line: number; endLine: number } {
  const lines = text.split(/\r?\n/);
  const key = lines[line - 1];
  if (key === undefined) return { line, endLine: line };
  const indent = indentation(key);
  let endLine = line;
  for (let i = line; i < lines.length; i++) {
    const next = lines[i]!;
    if (next.trim() === '') continue;
    if (indentation(next) <= indent) break;
    endLine = i + 1;
  }
  return { line, endLine };
}

function indentation(line: string): number {
  return line.length - line.trimStart().length;
}

/**
 * The introduction of lines `line`..`endLine` from a file's blame: the newest commit among the
 * ranges covering them (the one that gave the annotation its present wording).
 */
export function introductionFromBlame(ranges: readonly BlameRange[], lines: { line: number; endLine: number }): Introduction | undefined {
  let newest: { range: BlameRange; at: number } | undefined;
  for (const range of ranges) {
    if (range.endingLine < lines.line || range.startingLine > lines.endLine) continue;
    const at = Date.parse(range.commit.committedDate);
    if (!newest || at > newest.at) newest = { range, at };
  }
  if (!newest) return undefined;
  const { commit } = newest.range;
  const login = commit.author?.user?.login;
  const name = commit.author?.name;
  const pullRequest = commit.associatedPullRequests?.nodes?.find((n) => n !== null && Number.isInteger(n.number));
  return {
    sha: commit.oid,
    commitAuthor: typeof login === 'string' && login !== '' ? login : typeof name === 'string' && name !== '' ? name : null,
    at: Number.isNaN(newest.at) ? null : new Date(newest.at),
    pullRequest: pullRequest?.number ?? null,
    // Known from the push, not from blame (attributeAnnotations).
    pushedBy: null,
    openedBy: accountLogin(pullRequest?.author),
    mergedBy: accountLogin(pullRequest?.mergedBy),
  };
}

function accountLogin(actor: { login?: unknown } | null | undefined): string | null {
  return typeof actor?.login === 'string' && actor.login !== '' ? actor.login : null;
}

/**
 * The last commit of a push that added or modified `file` (the push lists its commits oldest
 * first). It changed the file, not necessarily the annotation's lines: blame is preferred.
 */
export function introductionFromPush(commits: readonly PushCommit[], file: string): Introduction | undefined {
  for (let i = commits.length - 1; i >= 0; i--) {
    const commit = commits[i]!;
    if (!commit.added?.includes(file) && !commit.modified?.includes(file)) continue;
    const at = Date.parse(commit.timestamp);
    return { sha: commit.id, commitAuthor: commit.author.username || commit.author.name || null, at: Number.isNaN(at) ? null : new Date(at), pullRequest: null, pushedBy: null, openedBy: null, mergedBy: null };
  }
  return undefined;
}

/**
 * The introductions of the annotations at `locations` (in the register's order of priority) at
 * commit `sha`: blame for the files within the limits; for the rest and what blame could not
 * answer, the push's commits where the annotation changed in this push.
 */
export async function attributeAnnotations(
  octokit: GitHubClient,
  input: {
    repo: RepoRef;
    sha: string;
    locations: readonly AnnotationToAttribute[];
    tree: Pick<RepoSource, 'readFiles'>;
    /** The push's commits; none for an installation's first look. */
    push?: readonly PushCommit[];
    /** Who GitHub says made the push (its sender): the pusher of each of its commits. */
    pushedBy?: string | null;
    limits?: BlameLimits;
    /** Asks for the commit's pull request in the first blame query too (the change history's attribution). */
    commit?: boolean;
  },
): Promise<AttributionResult> {
  const limits = input.limits ?? BLAME_LIMITS;
  const files = [...new Set(input.locations.map((l) => l.file))];
  const texts = await input.tree.readFiles(files);
  const blame = await blameFiles(octokit, input.repo, input.sha, files, limits, { commit: input.commit ?? false });
  const problems = new Map(blame.failed);
  for (const file of blame.skipped) problems.set(file, `over the limit of ${limits.filesPerQuery * limits.queriesPerPush} files blamed per push`);
  const result: AttributionResult = { introductions: [], counts: { blame: 0, push: 0, unknown: 0 }, queries: blame.queries, problems, ...('commit' in blame ? { commit: blame.commit } : {}) };
  for (const location of input.locations) {
    const ranges = blame.ranges.get(location.file);
    const text = texts.get(location.file);
    const lines = text === undefined ? { line: location.line, endLine: location.line } : annotationLines(text, location.line);
    const fromBlame = ranges ? introductionFromBlame(ranges, lines) : undefined;
    if (ranges && !fromBlame) problems.set(location.file, `the blame does not cover line ${location.line}`);
    // Only an annotation that changed since the register's last commit was changed by this push.
    const found = fromBlame ?? (input.push && location.changed ? introductionFromPush(input.push, location.file) : undefined);
    result.counts[fromBlame ? 'blame' : found ? 'push' : 'unknown']++;
    if (!found) continue;
    // A commit this push brought is pushed by its sender; an older one's pusher is not known here.
    const pushedBy = input.push?.some((c) => c.id === found.sha) ? (input.pushedBy ?? null) : null;
    result.introductions.push({ file: location.file, line: location.line, ...found, pushedBy });
  }
  return result;
}
