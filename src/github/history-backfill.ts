// The history read back when the App is installed on a repository (PARAPET_HISTORY_BACKFILL
// commits): the page of who changed what is not empty on day one. From the commit the recorded
// history begins at (the installation's first state), the branch's first-parent commits, newest
// first, each rendered from its archive as a push's commit is (checkRepo, objects kept) and
// compared with its first parent, attributed to the pull request GitHub associates with it.
//
// Cost on GitHub: one GraphQL query lists up to 100 commits of history with each one's first parent
// and pull request (Commit.history, `git log` order; the first-parent line is followed through
// it, a page more when merged branches interleave), and one archive per commit read: N + 1 archives
// for N commits' changes (GitHub has nothing cheaper that yields the rendered objects; a compare
// lists changed files, not what kustomize or Helm make of them).
//
// Each commit is one job on the App's queue, in its background lane (queue/fair-order.ts): pull
// requests' checks waiting are always taken first, and a running backfill holds a check up by one
// commit at most. The store keeps the plan and the progress (src/store/backfill.ts): a step is
// recorded once, and a restart resumes at the next one (`unfinishedBackfills`).
//
// A step that fails (an archive GitHub will not serve, a commit the renderer cannot build) is tried
// again after a pause, up to `BACKFILL_RETRY.attempts` attempts counted in the store (those a crash
// or a restart cut short included: a commit that kills the process is not read forever), then given
// up: the history page lists it with the error, and the backfill goes on with the older commits.
//
// Who made a backfilled commit: no push names a pusher, so its author is recorded, as GitHub maps
// its email to a user (else its name), from the same history query (no call more).
// Names checked against GitHub's published schema (@octokit/graphql-schema): Repository.object(oid)
// → Commit.history(first, after): CommitHistoryConnection{pageInfo{hasNextPage, endCursor},
// nodes: [Commit{oid, committedDate, author: GitActor{name, email, user: User{login}},
// parents(first): CommitConnection{nodes{oid}}}]}.
import type { Logger } from 'probot';
import type { Config } from '../config.js';
import { redactSecrets } from '../errors.js';
import { checkRepo, isRecord, nothingToCheck, type Report } from '../engine/index.js';
import { attributionOfCommit, COMMIT_PULL_REQUEST_SELECTION } from './commit-attribution.js';
import type { GitHubClient, RepoRef } from './github-client.js';
import type { BackfillCommit, Recorder, RepositoryInfo } from './recorder.js';
import type { EngineRuntime } from '../runtime.js';
import { TarballCache } from './tarball-source.js';

export const HISTORY_QUERY = `query ParapetHistory($owner: String!, $name: String!, $sha: GitObjectID!, $first: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    object(oid: $sha) {
      ... on Commit {
        history(first: $first, after: $after) {
          pageInfo { hasNextPage endCursor }
          nodes { oid committedDate author { name email user { login } } parents(first: 1) { nodes { oid } } ${COMMIT_PULL_REQUEST_SELECTION} }
        }
      }
    }
  }
}`;

/** Commits a history page lists (GitHub's most). */
const PAGE = 100;

/** How often a failing step is tried before it is given up, and the pause after the first failure (doubled after each). */
export const BACKFILL_RETRY = { attempts: 3, delayMs: 2_000 };

/** Longest error text kept for a given-up step. */
const MAX_ERROR = 500;

const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);

/** The commit's author as GitHub reports it: its user's login when GitHub maps the email to one, its name (else its email). */
function authorOf(node: Record<string, unknown>): BackfillCommit['author'] {
  const author = isRecord(node.author) ? node.author : null;
  if (!author) return null;
  const login = isRecord(author.user) ? text(author.user.login) : null;
  const name = text(author.name) ?? text(author.email);
  return login || name ? { login, name } : null;
}

/**
 * The first-parent line from `sha`, newest first, `sha` included: at most `limit + 1` commits (the
 * changes of `limit` of them), with their dates and pull requests. `git log` order interleaves
 * merged branches' commits: pages are read until the line is complete, at most twice as many as a
 * straight line needs; a line not found within them ends where it was lost.
 */
export async function firstParentCommits(octokit: GitHubClient, repo: RepoRef, sha: string, limit: number): Promise<{ commits: BackfillCommit[]; queries: number }> {
  const wanted = limit + 1;
  const nodes = new Map<string, Record<string, unknown>>();
  const commits: BackfillCommit[] = [];
  let after: string | null = null;
  let more = true;
  let queries = 0;
  const maxQueries = 2 * Math.ceil(wanted / PAGE);
  let next: string | undefined = sha;
  while (next !== undefined && commits.length < wanted) {
    const node = nodes.get(next);
    if (!node) {
      if (!more || queries >= maxQueries) break;
      const data: unknown = await octokit.graphql(HISTORY_QUERY, { owner: repo.owner, name: repo.repo, sha, first: PAGE, ...(after ? { after } : {}) });
      queries++;
      const history = isRecord(data) && isRecord(data.repository) && isRecord(data.repository.object) ? data.repository.object.history : undefined;
      if (!isRecord(history) || !Array.isArray(history.nodes)) throw new Error(`GitHub did not answer the history of ${repo.owner}/${repo.repo} from ${sha}`);
      for (const n of history.nodes) if (isRecord(n) && typeof n.oid === 'string') nodes.set(n.oid, n);
      const page = isRecord(history.pageInfo) ? history.pageInfo : {};
      more = page.hasNextPage === true && typeof page.endCursor === 'string';
      after = more ? (page.endCursor as string) : null;
      continue;
    }
    const date = typeof node.committedDate === 'string' ? new Date(node.committedDate) : null;
    const { pullRequest, openedBy, mergedBy } = attributionOfCommit(node, null) ?? { pullRequest: null, openedBy: null, mergedBy: null };
    commits.push({ sha: next, committedAt: date && !Number.isNaN(date.getTime()) ? date : null, attribution: { pullRequest, openedBy, mergedBy }, author: authorOf(node) });
    const parents = isRecord(node.parents) && Array.isArray(node.parents.nodes) ? node.parents.nodes : [];
    const parent = parents.find((p): p is Record<string, unknown> => isRecord(p) && typeof p.oid === 'string');
    next = parent?.oid as string | undefined;
  }
  return { commits, queries };
}

export interface BackfillDeps {
  engine: EngineRuntime;
  limits: Config['limits'];
  recorder?: Recorder;
  /** Commits whose changes are read back (PARAPET_HISTORY_BACKFILL); 0: none. */
  historyBackfill?: number;
  /**
   * The last rendering of each repository's backfill (its older commit), by repository id: the
   * next step, in this process, starts from it instead of reading and rendering it again.
   */
  backfillRenders?: Map<number, { sha: string; report: Report }>;
  /** How often a failing step is tried, and the first pause (default BACKFILL_RETRY; tests shorten it). */
  backfillRetry?: { attempts: number; delayMs: number };
  /** Aborted when the App stops: a step waiting to be tried again stops waiting (a restart resumes it). */
  stopping?: AbortSignal;
}

/** Waits `ms`, or less when `signal` aborts; true when it did. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve(signal?.aborted ?? false);
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * One step of the repository's backfill: plans it the first time (one GraphQL query), then reads
 * the next commit's parent and records that commit's changes. Returns whether a next step is due
 * (the caller queues it), false when the backfill is finished, off, or another job has the step.
 */
export async function backfillStep(deps: BackfillDeps, octokit: GitHubClient, log: Logger, input: { repository: RepositoryInfo; step: number }): Promise<boolean> {
  const store = deps.recorder?.history;
  const limit = deps.historyBackfill ?? 0;
  if (!store || limit === 0) return false;
  const repo: RepoRef = { owner: input.repository.owner, repo: input.repository.name };
  const rendered = deps.backfillRenders ?? new Map<number, { sha: string; report: Report }>();
  const progress = await store.backfillPlan(input.repository, async (sha) => {
    const { commits, queries } = await firstParentCommits(octokit, repo, sha, limit);
    log.info({ repo, sha, commits: commits.length, queries }, 'history backfill planned');
    return commits;
  });
  // Another job of this backfill (a redelivery's, another process's) is at another step: it goes on.
  if (!progress || progress.finished || progress.done !== input.step) {
    if (progress?.finished) rendered.delete(input.repository.id);
    return false;
  }
  const newerSha = progress.shas[input.step]!;
  const olderSha = progress.shas[input.step + 1]!;
  const retry = deps.backfillRetry ?? BACKFILL_RETRY;
  const render = async (cache: TarballCache, sha: string): Promise<Report> => {
    const kept = rendered.get(input.repository.id);
    if (kept?.sha === sha) return kept.report;
    const report = await checkRepo(await cache.at(sha), { driver: deps.engine.driver, renderer: deps.engine.renderer, limits: { maxFileBytes: deps.limits.maxFileBytes }, keepObjects: true });
    return report;
  };
  // Rendered by an attempt that failed after it: the next attempt does not read it again.
  let newer: Report | undefined;
  for (;;) {
    const attempt = await store.backfillAttempt({ repository: input.repository, step: input.step });
    // Done or given up meanwhile, by another job of this backfill.
    if (!attempt) return false;
    // The attempts before were cut short (the process stopped, or died reading this commit).
    if (attempt.attempts > retry.attempts) return giveUp(attempt.lastError ?? `not finished in ${attempt.attempts - 1} attempts: the App stopped while reading it`, attempt.attempts - 1);
    try {
      // A cache of its own: it keeps a failed download, which the next attempt asks for again.
      const cache = new TarballCache(octokit, repo, deps.limits.maxRepoBytes);
      newer ??= await render(cache, newerSha);
      const older = await render(cache, olderSha);
      if (nothingToCheck(older)) log.info({ repo, sha: olderSha }, 'no kind: Cluster configuration at this commit: the history begins after it');
      const step = await store.backfillStep({ repository: input.repository, step: input.step, newer, older });
      if (step.finished || !step.recorded) rendered.delete(input.repository.id);
      else rendered.set(input.repository.id, { sha: olderSha, report: older });
      if (step.recorded) log.info({ repo, sha: newerSha, parent: olderSha, changes: step.changes, step: input.step + 1, of: progress.shas.length - 1 }, 'history backfilled');
      return step.recorded && !step.finished;
    } catch (error) {
      const reason = redactSecrets(error instanceof Error ? error.message : String(error)).slice(0, MAX_ERROR);
      if (attempt.attempts >= retry.attempts) return giveUp(reason, attempt.attempts);
      const delayMs = retry.delayMs * 2 ** (attempt.attempts - 1);
      log.warn({ err: error, repo, sha: newerSha, parent: olderSha, attempt: attempt.attempts, of: retry.attempts, retryInMs: delayMs }, 'history backfill step failed; trying it again');
      await store.backfillFailed({ repository: input.repository, step: input.step, error: reason });
      // Stopping: the attempts made are counted, and the next start goes on from them.
      if (await pause(delayMs, deps.stopping)) return false;
    }
  }

  async function giveUp(reason: string, attempts: number): Promise<boolean> {
    rendered.delete(input.repository.id);
    const given = await store!.backfillGiveUp({ repository: input.repository, step: input.step, error: reason, attempts });
    if (given.recorded) log.error({ repo, sha: newerSha, parent: olderSha, reason, step: input.step + 1 }, 'history backfill gave this commit up: its changes are not read (the history page lists it); going on with the older commits');
    return given.recorded && !given.finished;
  }
}
