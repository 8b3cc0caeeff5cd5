// "Re-run" on a check run or a check suite: evaluate the pull request of that commit again, and
// record it (the way to repair an evaluation the database could not store). A check run is re-run
// with the policies of the branch its name speaks for, never another's; a suite, once per base
// branch of the open pull requests whose head the commit is.
import type { Logger } from 'probot';
import type { GitHubClient, RepoRef } from '../github-client.js';
import { ReportedJobFailure } from '../../errors.js';
import type { RepositoryInfo } from '../recorder.js';
import { checkPullRequest, checkRunScope, isParapetCheckRun, type PullRequestDeps } from './pull-request.js';

/** A pull request of the commit as the event lists it (`pull_requests`). */
export interface RerequestedPullRequest {
  number: number;
  base: { sha: string; ref: string };
  head: { sha: string };
}

export interface RerequestedCommit {
  repo: RepoRef;
  headSha: string;
  /** The name of the check run re-run; absent when a whole check suite is. */
  checkRun?: string;
  /** The repository's default branch, as the event gives it: with a base branch, it names the check runs. */
  defaultBranch: string;
  pullRequests: RerequestedPullRequest[];
  /** The repository as the event describes it, for the record. */
  repository?: RepositoryInfo;
}

export async function recheckCommit(deps: PullRequestDeps, octokit: GitHubClient, log: Logger, commit: RerequestedCommit): Promise<void> {
  const scopeOf = (pr: RerequestedPullRequest) => checkRunScope({ baseRef: pr.base.ref, defaultBranch: commit.defaultBranch });
  let candidates = commit.pullRequests.filter((p) => p.head.sha === commit.headSha && typeof p.base.ref === 'string');
  const named = commit.checkRun;
  if (candidates.length === 0 || (named !== undefined && !candidates.some((pr) => isParapetCheckRun(named, scopeOf(pr))))) {
    // The event leaves pull requests from forks out of pull_requests: ask which open pull requests
    // have the commit when it names none, or none into the branch the re-run check run speaks for.
    const { data } = await octokit.request('GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls', { ...commit.repo, commit_sha: commit.headSha });
    candidates = data
      .filter((p) => p.state === 'open' && p.head.sha === commit.headSha)
      .map((p) => ({ number: p.number, base: { sha: p.base.sha, ref: p.base.ref }, head: { sha: p.head.sha } }));
  }
  /** Per scope (the branch the check runs speak for), the first pull request into it. */
  const scopes = new Map<string | undefined, RerequestedPullRequest>();
  for (const pr of candidates) {
    const into = scopeOf(pr);
    if (!scopes.has(into)) scopes.set(into, pr);
  }
  const wanted = [...scopes].filter(([into]) => named === undefined || isParapetCheckRun(named, into));
  if (wanted.length === 0) {
    log.info({ headSha: commit.headSha, checkRun: commit.checkRun }, 're-run requested for a commit of no open pull request into that branch: nothing to do');
    return;
  }
  const failed: unknown[] = [];
  for (const [, pr] of wanted) {
    try {
      // observedAt: now, the re-run's time. Only the pull request's current head is recorded (an
      // older commit gets no record), so the re-run's record rightly becomes the newest.
      await checkPullRequest(deps, octokit, log, {
        repo: commit.repo,
        number: pr.number,
        headSha: commit.headSha,
        baseSha: pr.base.sha,
        baseRef: pr.base.ref,
        defaultBranch: commit.defaultBranch,
        ...(commit.repository ? { repository: commit.repository } : {}),
        observedAt: new Date(),
      });
    } catch (error) {
      // One base branch failing does not keep the others from being re-run.
      failed.push(error);
    }
  }
  if (failed.length === 1) throw failed[0];
  if (failed.length > 1) throw new ReportedJobFailure(`the re-run of ${commit.headSha} failed for ${failed.length} base branches`, { cause: failed[0] });
}
