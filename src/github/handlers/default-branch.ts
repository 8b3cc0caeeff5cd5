// The default branch's state, recorded: on every push to it and once when the App is installed on a
// repository. The repository's own policies judge it; the recorder stores the evaluation, the image
// inventory and the risk-acceptance register.
import type { Logger } from 'probot';
import type { Config } from '../../config.js';
import { checkRepo, NoClusterError } from '../../engine/index.js';
import type { EngineRuntime } from '../engine-runtime.js';
import type { GitHubClient, RepoRef } from '../github-client.js';
import type { Recorder, RepositoryInfo } from '../recorder.js';
import { TarballCache } from '../tarball-source.js';

export interface DefaultBranchDeps {
  engine: EngineRuntime;
  limits: Config['limits'];
  recorder?: Recorder;
}

export async function recordDefaultBranch(
  deps: DefaultBranchDeps,
  octokit: GitHubClient,
  log: Logger,
  input: { repository: RepositoryInfo; sha: string; observedAt: Date },
): Promise<void> {
  const { recorder } = deps;
  if (!recorder) return;
  const repo: RepoRef = { owner: input.repository.owner, repo: input.repository.name };
  const startedAt = new Date();
  const tree = await new TarballCache(octokit, repo, deps.limits.maxRepoBytes).at(input.sha);
  let report;
  try {
    report = await checkRepo(tree, { compiler: deps.engine.compiler, pool: deps.engine.pool, limits: { maxFileBytes: deps.limits.maxFileBytes } });
  } catch (error) {
    if (error instanceof NoClusterError) {
      log.info({ repo, sha: input.sha }, 'no kind: Cluster configuration: nothing to record');
      return;
    }
    throw error;
  }
  await recorder.defaultBranchEvaluated({ repository: input.repository, sha: input.sha, report, observedAt: input.observedAt, startedAt });
  log.info({ repo, sha: input.sha, clusters: report.clusters.length }, 'default branch recorded');
}

/** The head commit of a repository's default branch (installation events do not carry it). */
export async function defaultBranchHead(octokit: GitHubClient, repo: RepoRef): Promise<{ defaultBranch: string; sha: string; private: boolean }> {
  const { data } = await octokit.request('GET /repos/{owner}/{repo}', { ...repo });
  const { data: commit } = await octokit.request('GET /repos/{owner}/{repo}/commits/{ref}', { ...repo, ref: data.default_branch });
  return { defaultBranch: data.default_branch, sha: commit.sha, private: data.private };
}
