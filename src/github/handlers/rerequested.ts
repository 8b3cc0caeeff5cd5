// "Re-run" on a check run or a check suite: evaluate the pull request of that commit again, and
// record it (the way to repair an evaluation the database could not store).
import type { Logger } from 'probot';
import type { GitHubClient, RepoRef } from '../github-client.js';
import type { RepositoryInfo } from '../recorder.js';
import { checkPullRequest, type PullRequestDeps } from './pull-request.js';

/** The pull request a check run or suite was about, as the event lists it (`pull_requests`). */
export interface RerequestedCommit {
  repo: RepoRef;
  headSha: string;
  pullRequests: Array<{ number: number; base: { sha: string }; head: { sha: string } }>;
  /** The repository as the event describes it, for the record. */
  repository?: RepositoryInfo;
}

export async function recheckCommit(deps: PullRequestDeps, octokit: GitHubClient, log: Logger, commit: RerequestedCommit): Promise<void> {
  let pr = commit.pullRequests.find((p) => p.head.sha === commit.headSha) ?? commit.pullRequests[0];
  if (!pr) {
    // The event leaves pull_requests empty for pull requests from forks: ask which open pull request has the commit.
    const { data } = await octokit.request('GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls', { ...commit.repo, commit_sha: commit.headSha });
    const open = data.find((p) => p.state === 'open');
    if (open) pr = { number: open.number, base: { sha: open.base.sha }, head: { sha: open.head.sha } };
  }
  if (!pr) {
    log.info({ headSha: commit.headSha }, 're-run requested for a commit of no open pull request: nothing to do');
    return;
  }
  // observedAt: now, the re-run's time. Only the pull request's current head is recorded (an older
  // commit's runs end superseded), so the re-run's record rightly becomes the newest.
  await checkPullRequest(deps, octokit, log, {
    repo: commit.repo,
    number: pr.number,
    headSha: commit.headSha,
    baseSha: pr.base.sha,
    ...(commit.repository ? { repository: commit.repository } : {}),
    observedAt: new Date(),
  });
}
