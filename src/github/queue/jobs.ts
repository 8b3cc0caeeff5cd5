// A webhook's work as data: the App's handlers turn each delivery into a plain, JSON-serializable
// descriptor, and `jobRunner` runs one, in this process or in another one (scale-out mode, where
// the descriptor travels through Redis). The descriptor carries only what the work needs from the
// event: the installation it acts for, the repository, the commits; the installation's client and
// a logger are made where the job runs.
import type { Logger } from 'probot';
import { redactSecrets } from '../../errors.js';
import type { PushCommit } from '../attribution.js';
import type { GitHubClient, RepoRef } from '../github-client.js';
import { defaultBranchHead, recordDefaultBranch } from '../handlers/default-branch.js';
import { backfillStep, type BackfillDeps } from '../history-backfill.js';
import { checkPullRequest, type PullRequestDeps } from '../handlers/pull-request.js';
import { recheckCommit, type RerequestedCommit } from '../handlers/rerequested.js';
import type { RepositoryInfo } from '../recorder.js';
import { ReportedJobFailure } from '../../errors.js';

/** A pull request's head to judge (opened, synchronize, reopened, ready_for_review, a new base). */
export interface PullRequestJob {
  kind: 'pull-request';
  installationId: number;
  repo: RepoRef;
  number: number;
  headSha: string;
  baseSha: string;
  /** The base branch's name and the repository's default branch: they name the check runs. */
  baseRef: string;
  defaultBranch: string;
  repository?: RepositoryInfo;
  /** ISO time the event reported this head (its `updated_at`). */
  observedAt: string;
}

/** "Re-run" on a check run (`checkRun`: its name) or suite of commit `headSha`. */
export interface RerequestedJob extends Omit<RerequestedCommit, 'repository'> {
  kind: 'rerequested';
  installationId: number;
  repository?: RepositoryInfo;
}

/** A push to the default branch. */
export interface DefaultBranchJob {
  kind: 'default-branch';
  installationId: number;
  repository: RepositoryInfo;
  sha: string;
  /** The push's `before` (null when it created the branch) and `forced`. */
  before: string | null;
  forced: boolean;
  /** The push's receipt sequence; null when the database could not give one at receipt. */
  sequence: number | null;
  push: PushCommit[];
  /** Who GitHub says made the push: its sender's login. */
  pushedBy?: string | null;
}

/** The App installed on repositories: their default branches are recorded once. */
export interface InstallationJob {
  kind: 'installation';
  installationId: number;
  account: { login: string; type: string };
  /** `sequence`: the installation's receipt sequence for that repository (null: none was given). */
  repositories: Array<{ id: number; fullName: string; sequence?: number | null }>;
}

/**
 * One commit of a repository's history read back after installation (history-backfill.ts); each
 * step queues the next. A background job: checks waiting are taken before it (fair-order.ts).
 */
export interface HistoryBackfillJob {
  kind: 'history-backfill';
  installationId: number;
  repository: RepositoryInfo;
  /** The step this job takes: the commits recorded before it. */
  step: number;
}

export type JobDescriptor = PullRequestJob | RerequestedJob | DefaultBranchJob | InstallationJob | HistoryBackfillJob;

/** The queued job of step `step` of a repository's backfill: its id names the step, so that it is queued once. */
export function backfillJob(installationId: number, repository: RepositoryInfo, step: number): QueuedJob {
  return { deliveryId: `history-backfill:${repository.id}:${step}`, event: 'history-backfill', job: { kind: 'history-backfill', installationId, repository, step } };
}

/** Jobs that wait for every other: they must never delay a check. */
export function isBackground(job: JobDescriptor): boolean {
  return job.kind === 'history-backfill';
}

/** A descriptor with the delivery it came from (the unit a queue takes, and dedups, by `deliveryId`). */
export interface QueuedJob {
  deliveryId: string;
  /** The event's name, e.g. `pull_request.opened`, for the logs. */
  event: string;
  job: JobDescriptor;
}

export interface JobQueue {
  /** Starts working jobs (once the App is loaded: jobs log through its logger). */
  start(): void;
  /** Queues `job` unless its delivery was queued before; false when it was (and nothing was queued). */
  add(job: QueuedJob): Promise<boolean>;
  /** Resolves when every queued job has finished (tests, and the benchmark). */
  idle(): Promise<void>;
  /** Takes no more jobs and waits for the running ones. */
  close(): Promise<void>;
}

/** What a job needs beyond a pull request's: the backfill's setting and a way to queue its next step. */
export interface RunDeps extends PullRequestDeps, Pick<BackfillDeps, 'backfillRenders' | 'backfillRetry' | 'stopping'> {
  /** Commits whose changes are read back after installation (PARAPET_HISTORY_BACKFILL); 0 or absent: none. */
  historyBackfill?: number;
  /** Queues a follow-up job (the backfill's next step) on the App's queue. */
  queue?(job: QueuedJob): Promise<unknown>;
}

export interface JobRunnerDeps extends RunDeps {
  /** The installation's authenticated client (Probot: `probot.auth(installationId)`). */
  octokit(installationId: number): Promise<GitHubClient>;
  /** The App's logger, or null before Probot made it. */
  log(): Logger | null;
}

/**
 * How every queue runs a job: the descriptor's work, then its delivery noted as finished, or, when
 * the work failed, released so that GitHub's redelivery of it runs it again. Never rejects: a
 * failure is logged here, with the advice to redeliver; it resolves false then, true when done.
 */
export function jobRunner(deps: JobRunnerDeps): (queued: QueuedJob) => Promise<boolean> {
  const commits = new KeyedTurns();
  // Each backfill's last rendering, kept for its next step in this process.
  const backfillRenders = new Map();
  return async ({ deliveryId, event, job }) => {
    const appLog = deps.log();
    const log = appLog?.child({ delivery: deliveryId, event });
    const { recorder } = deps;
    try {
      if (!log) throw new Error('the App has no logger yet (Probot has not loaded it)');
      const octokit = await deps.octokit(job.installationId);
      await commits.inTurn(commitKey(job), () => runJob({ ...deps, backfillRenders }, octokit, log, job));
    } catch (error) {
      await recorder?.releaseDelivery(deliveryId).catch((releaseError: unknown) => {
        log?.error({ err: releaseError }, 'could not release the failed delivery: a redelivery of it will be ignored');
      });
      reportFailure(log, deliveryId, error);
      return false;
    }
    await recorder?.finishDelivery(deliveryId).catch((finishError: unknown) => {
      // The work is done; only a redelivery after the lease would run it again.
      log?.warn({ err: finishError }, 'could not note the delivery as finished');
    });
    return true;
  };
}

/**
 * The commit whose check runs a job writes, or null. Two jobs on one commit (two pull requests of
 * one head, a redelivery, a Re-run) each take over the check runs they find unfinished on it, so
 * at once they would complete each other's runs: in a process that runs several jobs at once
 * (PARAPET_JOB_CONCURRENCY) they take turns. (Two processes of a scale-out may still overlap.)
 */
function commitKey(job: JobDescriptor): string | null {
  if (job.kind !== 'pull-request' && job.kind !== 'rerequested') return null;
  return `${job.installationId}:${job.repo.owner}/${job.repo.repo}@${job.headSha}`;
}

/** Work under one key runs one at a time, in the order it came; under null, at once. */
class KeyedTurns {
  private readonly last = new Map<string, Promise<void>>();

  async inTurn<T>(key: string | null, work: () => Promise<T>): Promise<T> {
    if (key === null) return work();
    const before = this.last.get(key) ?? Promise.resolve();
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const mine = before.then(() => finished);
    this.last.set(key, mine);
    await before;
    try {
      return await work();
    } finally {
      done();
      if (this.last.get(key) === mine) this.last.delete(key);
    }
  }
}

function reportFailure(log: Logger | undefined, deliveryId: string, error: unknown): void {
  const advice = `redeliver ${deliveryId} (the App's advanced settings on GitHub) to run it again`;
  // Whatever happens here, the queue goes on.
  try {
    if (!log) process.stderr.write(`parapet: background job failed: ${redactSecrets(String(error))}; ${advice}\n`);
    else if (error instanceof ReportedJobFailure) log.warn({ deliveryId }, `${error.message}; ${advice}`);
    else log.error({ err: error, deliveryId }, `background job failed; ${advice}`);
  } catch {
    // a logger that throws: nothing more to do
  }
}

/** The one way each kind of job is done. */
export async function runJob(deps: RunDeps, octokit: GitHubClient, log: Logger, job: JobDescriptor): Promise<void> {
  switch (job.kind) {
    case 'pull-request': {
      // The base branch names the check runs. A job queued by an older version of Parapet (in
      // Redis across an upgrade) does not carry it: GitHub says which branch the pull request is
      // into now, and the base branch's commit is read again with it, so that the policies judging
      // the head are always those of the branch the runs are named after.
      const base =
        typeof job.baseRef === 'string' && typeof job.defaultBranch === 'string'
          ? { baseSha: job.baseSha, baseRef: job.baseRef, defaultBranch: job.defaultBranch }
          : await pullRequestBase(octokit, job.repo, job.number);
      return checkPullRequest(deps, octokit, log, {
        repo: job.repo,
        number: job.number,
        headSha: job.headSha,
        ...base,
        ...(job.repository ? { repository: job.repository } : {}),
        observedAt: new Date(job.observedAt),
      });
    }
    case 'rerequested':
      return recheckCommit(deps, octokit, log, {
        repo: job.repo,
        headSha: job.headSha,
        ...(job.checkRun !== undefined ? { checkRun: job.checkRun } : {}),
        // Not in a job queued by an older version of Parapet: GitHub says it.
        defaultBranch: typeof job.defaultBranch === 'string' ? job.defaultBranch : (await octokit.request('GET /repos/{owner}/{repo}', { ...job.repo })).data.default_branch,
        pullRequests: job.pullRequests,
        ...(job.repository ? { repository: job.repository } : {}),
      });
    case 'default-branch':
      return recordDefaultBranch(deps, octokit, log, {
        repository: job.repository,
        sha: job.sha,
        // A job queued by an older version of Parapet has none of these: its sequence is given now.
        position: { before: job.before ?? null, forced: job.forced ?? false, sequence: job.sequence ?? null },
        push: job.push,
        pushedBy: job.pushedBy ?? null,
      });
    case 'installation':
      return recordInstalledRepositories(deps, octokit, log, job);
    case 'history-backfill':
      if (await backfillStep(deps, octokit, log, { repository: job.repository, step: job.step })) await deps.queue?.(backfillJob(job.installationId, job.repository, job.step + 1));
      return;
    default:
      throw new Error(`unknown job kind ${JSON.stringify((job as { kind?: unknown }).kind)} (a job queued by another version of Parapet?)`);
  }
}

/** The branch pull request `number` is into, its commit, and the repository's default branch, as GitHub says now. */
async function pullRequestBase(octokit: GitHubClient, repo: RepoRef, number: number): Promise<{ baseSha: string; baseRef: string; defaultBranch: string }> {
  const { data } = await octokit.request('GET /repos/{owner}/{repo}/pulls/{pull_number}', { ...repo, pull_number: number });
  return { baseSha: data.base.sha, baseRef: data.base.ref, defaultBranch: data.base.repo.default_branch };
}

async function recordInstalledRepositories(deps: RunDeps, octokit: GitHubClient, log: Logger, job: InstallationJob): Promise<void> {
  const failed: string[] = [];
  for (const repo of job.repositories) {
    try {
      const [owner, name] = repo.fullName.split('/') as [string, string];
      const head = await defaultBranchHead(octokit, { owner, repo: name });
      const repository: RepositoryInfo = {
        installationId: job.installationId,
        id: repo.id,
        owner,
        ownerType: job.account.type,
        name,
        defaultBranch: head.defaultBranch,
        private: head.private,
      };
      // A snapshot: the head as read now, ordered by the installation's receipt (before any push received after it).
      await recordDefaultBranch(deps, octokit, log, { repository, sha: head.sha, position: { before: null, forced: false, sequence: repo.sequence ?? null } });
      // Then the branch's recent history, behind every check (a redelivery's is the same job, queued once).
      if ((deps.historyBackfill ?? 0) > 0 && deps.recorder?.history) await deps.queue?.(backfillJob(job.installationId, repository, 0));
    } catch (error) {
      // One repository failing does not keep the others from being recorded.
      log.error({ err: error, repository: repo.fullName }, 'could not record the default branch');
      failed.push(repo.fullName);
    }
  }
  // Failed as a whole, so the delivery is released: its redelivery records them all again.
  if (failed.length > 0) throw new ReportedJobFailure(`the default branch of ${failed.join(', ')} was not recorded`);
}
