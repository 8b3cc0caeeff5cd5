// One review per push (event COMMENT): inline comments on the diff's lines for the new deny
// violations and the risks the pull request accepts, at most one per (file, line, policy).
//
// reviewdog's recipe against duplicates: each finding's identity (the engine's `fingerprint()`,
// hashed) rides in its comment as a hidden marker `<!-- parapet:<hash> -->` (acceptances:
// `<!-- parapet-accept:<hash> -->`). Comments posted before the identity left the message's values
// out carry a hash of `messageFingerprint()`, which still counts as the finding's own marker. Each
// push reads the comments back (one paginated list), posts only findings whose marker is not there yet, and answers once ("Fixed in <sha>", or "Risk
// accepted in <sha>" when the pull request now accepts it; marked `<!-- parapet-fixed -->`) on the
// thread of a comment none of whose findings remain. Findings on
// lines outside the diff are left to the check run's annotations (GitHub refuses them in a review).
//
// Only the App's own comments count: the hashes are computable from public data, so a marker in
// anyone else's comment (the pull request's author's, say) is text, never a reason to stay silent,
// and a thread the App did not open is never answered or resolved. Values from the repository in
// the comments go through markdown.ts, so none of them can forge a marker in the App's own either.
import { createHash } from 'node:crypto';
import { fingerprint, isBlocking, messageFingerprint, type Report, type Violation } from '../engine/index.js';
import type { GitHubClient, RepoRef } from './github-client.js';
import { markdownCode, markdownText } from './markdown.js';
import type { DiffLines } from './pull-diff.js';

/** Comments in one review; the rest stay annotations of the check run (and come in a later review if still new). */
export const MAX_REVIEW_COMMENTS = 50;
/** "Fixed" replies per push (one API call each); the rest are answered on the next push. */
export const MAX_FIXED_REPLIES = 10;

// On a line of its own: a value in a code span (a cluster's name) may hold the same text mid-line.
const MARKER = /^<!-- (parapet(?:-accept)?:[0-9a-f]+) -->$/gm;
const FIXED_MARKER = '<!-- parapet-fixed -->';

export interface ReviewFinding {
  marker: string;
  path: string;
  line: number;
  policy: string;
  text: string;
  /** For a risk acceptance: the marker of the deny finding it accepts (its thread is answered "Risk accepted", not "Fixed"). */
  accepts?: string;
  /** The markers earlier versions of Parapet wrote for the same finding (and for `accepts`): a comment carrying one is this finding's. */
  formerMarkers?: string[];
  formerAccepts?: string[];
}

export interface PlannedComment {
  path: string;
  line: number;
  body: string;
}

export interface ExistingComment {
  id: number;
  body: string;
  in_reply_to_id?: number;
}

export interface ReviewPlan {
  comments: PlannedComment[];
  /** New findings not commented because their line is outside the diff (or over MAX_REVIEW_COMMENTS). */
  checkRunOnly: number;
  /** Comments whose findings are all gone, not yet answered; `accepted` when they are gone because the pull request now accepts their risk. */
  fixed: Array<ExistingComment & { accepted: boolean }>;
}

/** The findings a review speaks about: new unaccepted deny violations, and new risk acceptances on their annotation's line. */
export function reviewFindings(report: Report): ReviewFinding[] {
  const findings: ReviewFinding[] = [];
  for (const cluster of report.clusters) {
    for (const v of cluster.violations) {
      if (v.status === 'existing') continue;
      if (isBlocking(v)) {
        findings.push({
          marker: `parapet:${hash(fingerprint(v))}`,
          formerMarkers: [`parapet:${hash(messageFingerprint(v))}`],
          path: v.location.file,
          line: v.location.line,
          policy: v.policy,
          text:
            `**${markdownText(v.policy)}** (deny) on ${markdownText(objectName(v))}, cluster ${markdownCode(cluster.name)}: ${markdownText(v.message)}\n\n` +
            `This new violation blocks merging. Fix it, or accept the risk with a ${markdownCode(`securitytower.io/policy.exclusion.${v.policy}`)} annotation that says why.`,
        });
      } else if (v.acceptance) {
        const a = v.acceptance;
        findings.push({
          accepts: `parapet:${hash(fingerprint(v))}`,
          formerAccepts: [`parapet:${hash(messageFingerprint(v))}`],
          marker: `parapet-accept:${hash(`${fingerprint(v)}\0${a.reason}`)}`,
          formerMarkers: [`parapet-accept:${hash(`${messageFingerprint(v)}\0${a.reason}`)}`],
          path: a.location.file,
          line: a.location.line,
          policy: v.policy,
          text: `**Risk accepted** for **${markdownText(v.policy)}** on ${markdownText(objectName(v))}, cluster ${markdownCode(cluster.name)} (${a.level} level):\n\n> ${markdownText(a.reason)}\n\nReviewers: this pull request asks to accept this risk.`,
        });
      }
    }
  }
  return findings;
}

/** Pure: what to post and answer, given the findings, the diff and the App's own comments already there (see syncReview). */
export function planReview(findings: ReviewFinding[], diff: DiffLines, existing: ExistingComment[]): ReviewPlan {
  const posted = new Map<number, string[]>();
  for (const c of existing) if (c.in_reply_to_id === undefined) posted.set(c.id, markersOf(c.body));
  const known = new Set([...posted.values()].flat());
  const answered = new Set(existing.filter((c) => c.in_reply_to_id !== undefined && c.body.includes(FIXED_MARKER)).map((c) => c.in_reply_to_id!));

  const groups = new Map<string, ReviewFinding[]>();
  for (const f of findings) {
    if (isPosted(f, known)) continue;
    const key = JSON.stringify([f.path, f.line, f.policy]);
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const comments: PlannedComment[] = [];
  let checkRunOnly = 0;
  for (const group of groups.values()) {
    const { path, line } = group[0]!;
    if (!diff.get(path)?.has(line) || comments.length >= MAX_REVIEW_COMMENTS) {
      checkRunOnly += group.length;
      continue;
    }
    const texts = [...new Set(group.map((f) => f.text))];
    const markers = [...new Set(group.map((f) => `<!-- ${f.marker} -->`))];
    comments.push({ path, line, body: `${texts.join('\n\n')}\n\n${markers.join('\n')}` });
  }

  const current = new Set(findings.flatMap((f) => [f.marker, ...(f.formerMarkers ?? [])]));
  const accepted = new Set(findings.flatMap((f) => (f.accepts !== undefined ? [f.accepts, ...(f.formerAccepts ?? [])] : [])));
  const fixed = existing
    .filter((c) => {
      const markers = posted.get(c.id);
      return markers !== undefined && markers.length > 0 && !markers.some((m) => current.has(m)) && !answered.has(c.id);
    })
    .map((c) => ({ ...c, accepted: posted.get(c.id)!.every((m) => accepted.has(m)) }));
  return { comments, checkRunOnly, fixed };
}

/**
 * Reads the review comments, posts the review, answers fixed threads and resolves them. API
 * calls: one per 100 review comments (at least one), one review when there is something new to
 * comment, at most MAX_FIXED_REPLIES replies and, when it replied, at most MAX_THREAD_PAGES
 * GraphQL reads and one mutation; `readDiff` (only called when there is) costs none, and
 * `ownLogin` (the App's bot login: app-identity.ts, one call per process) is asked only when the
 * pull request has review comments.
 */
export async function syncReview(
  octokit: GitHubClient,
  repo: RepoRef,
  pullNumber: number,
  headSha: string,
  findings: ReviewFinding[],
  readDiff: () => Promise<DiffLines>,
  ownLogin: () => Promise<string>,
): Promise<ReviewPlan & { resolved: number; resolveError: string | null }> {
  const existing = await octokit.paginate('GET /repos/{owner}/{repo}/pulls/{pull_number}/comments', { ...repo, pull_number: pullNumber, per_page: 100 });
  const login = existing.length > 0 ? await ownLogin() : null;
  // The others' comments, markers or not, are none of the review's business.
  const comments: ExistingComment[] = existing
    .filter((c) => c.user?.login === login)
    .map((c) => ({ id: c.id, body: c.body, ...(c.in_reply_to_id !== undefined && c.in_reply_to_id !== null ? { in_reply_to_id: c.in_reply_to_id } : {}) }));
  const markers = new Set(comments.flatMap((c) => markersOf(c.body)));
  const diff = findings.some((f) => !isPosted(f, markers)) ? await readDiff() : new Map<string, Set<number>>();
  const plan = planReview(findings, diff, comments);

  if (plan.comments.length > 0) {
    const count = plan.comments.length;
    await octokit.request('POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews', {
      ...repo,
      pull_number: pullNumber,
      commit_id: headSha,
      event: 'COMMENT',
      body: `Parapet: ${count} new finding${count === 1 ? '' : 's'} on the changed lines of ${headSha.slice(0, 7)}. The check runs \`parapet / <cluster>\` have the verdict and every finding.`,
      comments: plan.comments.map((c) => ({ path: c.path, line: c.line, side: 'RIGHT' as const, body: c.body })),
    });
  }
  const answered = plan.fixed.slice(0, MAX_FIXED_REPLIES);
  for (const comment of answered) {
    await octokit.request('POST /repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies', {
      ...repo,
      pull_number: pullNumber,
      comment_id: comment.id,
      body: comment.accepted
        ? `Risk accepted in ${headSha}: no longer blocking (see the risk acceptance comment for the reason).\n\n${FIXED_MARKER}`
        : `Fixed in ${headSha}.\n\n${FIXED_MARKER}`,
    });
  }
  // The replies say it on the pull request; folding the threads away is a courtesy that may fail alone.
  let resolved = 0;
  let resolveError: string | null = null;
  try {
    if (answered.length > 0) resolved = await resolveThreads(octokit, repo, pullNumber, new Set(answered.map((c) => c.id)));
  } catch (error) {
    resolveError = error instanceof Error ? error.message : String(error);
  }
  return { ...plan, resolved, resolveError };
}

/** Pages of review threads read to find the answered ones (100 threads each): bounded calls. */
export const MAX_THREAD_PAGES = 3;

const THREADS_QUERY = `query ParapetReviewThreads($owner: String!, $name: String!, $number: Int!, $cursor: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: 100, after: $cursor) {
        pageInfo { hasNextPage endCursor }
        nodes { id isResolved comments(first: 1) { nodes { databaseId } } }
      }
    }
  }
}`;

interface ThreadsAnswer {
  repository: {
    pullRequest: {
      reviewThreads: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: Array<{ id: string; isResolved: boolean; comments: { nodes: Array<{ databaseId: number | null }> } }> };
    } | null;
  } | null;
}

/**
 * Resolves the threads of the answered comments, so a fixed finding folds away on the pull
 * request (the REST API cannot: threads are GraphQL's). At most MAX_THREAD_PAGES reads and one
 * mutation (aliases, one per thread). Returns how many it resolved.
 */
async function resolveThreads(octokit: GitHubClient, repo: RepoRef, pullNumber: number, rootIds: Set<number>): Promise<number> {
  const threads: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < MAX_THREAD_PAGES && threads.length < rootIds.size; page++) {
    const answer: ThreadsAnswer = await octokit.graphql<ThreadsAnswer>(THREADS_QUERY, { owner: repo.owner, name: repo.repo, number: pullNumber, cursor });
    const connection = answer.repository?.pullRequest?.reviewThreads;
    if (!connection) return 0;
    for (const thread of connection.nodes) {
      const root = thread.comments.nodes[0]?.databaseId;
      if (!thread.isResolved && root != null && rootIds.has(root)) threads.push(thread.id);
    }
    if (!connection.pageInfo.hasNextPage) break;
    cursor = connection.pageInfo.endCursor;
  }
  if (threads.length === 0) return 0;
  const variables = Object.fromEntries(threads.map((id, i) => [`thread${i}`, id]));
  const mutation = `mutation ParapetResolveThreads(${threads.map((_, i) => `$thread${i}: ID!`).join(', ')}) {
  ${threads.map((_, i) => `resolved${i}: resolveReviewThread(input: { threadId: $thread${i} }) { thread { id isResolved } }`).join('\n  ')}
}`;
  await octokit.graphql(mutation, variables);
  return threads.length;
}

/** Whether a comment already carries the finding's marker, or the one an earlier version wrote for it. */
function isPosted(finding: ReviewFinding, markers: Set<string>): boolean {
  return markers.has(finding.marker) || (finding.formerMarkers ?? []).some((m) => markers.has(m));
}

function markersOf(body: string): string[] {
  return [...body.matchAll(MARKER)].map((m) => m[1]!);
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 24);
}

function objectName(v: Violation): string {
  return `${v.object.kind} ${v.object.namespace ? `${v.object.namespace}/` : ''}${v.object.name}`;
}

