// The default branch's state, recorded: on every push to it and once when the App is installed on a
// repository. The repository's own policies judge it; the recorder stores the evaluation, the image
// inventory and the risk-acceptance register, with who introduced the acceptances it asks about.
import type { Logger } from 'probot';
import type { Config } from '../../config.js';
import { checkRepo, nothingToCheck, type Report, type RepoSource } from '../../engine/index.js';
import { attributeAnnotations, type PushCommit } from '../attribution.js';
import { attributionOfCommit, commitAttribution } from '../commit-attribution.js';
import type { EngineRuntime } from '../../runtime.js';
import type { GitHubClient, RepoRef } from '../github-client.js';
import type { AnnotationIntroduction, BranchPosition, CommitAttribution, Recorder, RepositoryInfo } from '../recorder.js';
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
  input: {
    repository: RepositoryInfo;
    sha: string;
    /** Where `sha` stands in the branch's history: orders the records (push order, never commit dates). */
    position: BranchPosition;
    /** The push's commits, oldest first; absent when the App was just installed. */
    push?: readonly PushCommit[];
    /** Who GitHub says made the push (its sender's login). */
    pushedBy?: string | null;
  },
): Promise<void> {
  const { recorder } = deps;
  if (!recorder) return;
  const repo: RepoRef = { owner: input.repository.owner, repo: input.repository.name };
  const startedAt = new Date();
  await recorder.defaultBranchPushed?.({ repository: input.repository, sha: input.sha, observedAt: startedAt }).catch((error: unknown) => {
    // Only the overview's "behind" notice depends on it; the evaluation below retries its own writes.
    log.warn({ err: error, repo, sha: input.sha }, 'the push could not be noted before its evaluation');
  });
  const tree = await new TarballCache(octokit, repo, deps.limits.maxRepoBytes).at(input.sha);
  // The applied objects are kept: the recorder compares them with the previous state (who changed what).
  const report = await checkRepo(tree, { driver: deps.engine.driver, renderer: deps.engine.renderer, limits: { maxFileBytes: deps.limits.maxFileBytes }, keepObjects: true });
  if (nothingToCheck(report)) {
    log.info({ repo, sha: input.sha }, 'no kind: Cluster configuration: nothing to record');
    return;
  }
  // The register's blame asks for the commit's pull request too: one GraphQL query per push for both.
  const register = await introducers(recorder, octokit, log, { repo, tree, report, ...input });
  const attribution = await attributeCommit(octokit, log, repo, input.sha, input.pushedBy ?? null, register);
  const recorded = await recorder.defaultBranchEvaluated({ repository: input.repository, sha: input.sha, position: input.position, report, startedAt, introductions: register.introductions, attribution });
  if (recorded) log.info({ repo, sha: input.sha, clusters: report.clusters.length }, 'default branch recorded');
  else log.info({ repo, sha: input.sha, ...input.position }, 'a newer state of the default branch is recorded already: this one is not');
}

/** The register's introducers, and what its queries answered about the commit's pull request. */
interface RegisterAttribution {
  introductions: AnnotationIntroduction[];
  /** GraphQL queries the register sent: when any, the first asked for the commit's pull request. */
  queries: number;
  /** The commit as that query answered it (`attributionOfCommit`); absent when unanswered. */
  commit?: unknown;
}

/**
 * Who introduced the acceptances the register asks about. Never fails the recording: what cannot be
 * found is recorded as unknown (and asked about again on the next push), and logged.
 */
async function introducers(
  recorder: Recorder,
  octokit: GitHubClient,
  log: Logger,
  input: { repo: RepoRef; repository: RepositoryInfo; sha: string; tree: RepoSource; report: Report; push?: readonly PushCommit[]; pushedBy?: string | null },
): Promise<RegisterAttribution> {
  try {
    const locations = await recorder.annotationsToAttribute({ repository: input.repository, report: input.report });
    if (locations.length === 0) return { introductions: [], queries: 0 };
    const found = await attributeAnnotations(octokit, { repo: input.repo, sha: input.sha, locations, tree: input.tree, push: input.push, pushedBy: input.pushedBy ?? null, commit: true });
    const context = { repo: input.repo, sha: input.sha, ...found.counts, queries: found.queries };
    if (found.problems.size > 0) {
      // The first few reasons are enough to tell a limit from GitHub failing.
      log.warn({ ...context, files: found.problems.size, problems: Object.fromEntries([...found.problems].slice(0, 5)) }, 'risk acceptances: some files could not be blamed');
    } else {
      log.info(context, 'risk acceptances attributed');
    }
    return { introductions: found.introductions, queries: found.queries, ...('commit' in found ? { commit: found.commit } : {}) };
  } catch (error) {
    log.warn({ err: error, repo: input.repo, sha: input.sha }, 'risk acceptances: introducers not found, recorded as unknown');
    return { introductions: [], queries: 0 };
  }
}

/**
 * Who made this state of the branch: from the register's query when it asked GitHub, else asked on
 * its own. What GitHub does not answer is recorded as unknown (a register's query that GitHub did not
 * answer is not sent again for this alone: it would most likely fare the same), never fails the recording.
 */
async function attributeCommit(octokit: GitHubClient, log: Logger, repo: RepoRef, sha: string, pushedBy: string | null, register: RegisterAttribution): Promise<CommitAttribution> {
  const unknown = { pullRequest: null, openedBy: null, mergedBy: null, pushedBy };
  if (register.queries > 0) {
    const answered = attributionOfCommit(register.commit, pushedBy);
    if (!answered) log.warn({ repo, sha }, "GitHub did not answer the commit's pull request: its changes are recorded without it");
    return answered ?? unknown;
  }
  try {
    return await commitAttribution(octokit, repo, sha, pushedBy);
  } catch (error) {
    log.warn({ err: error, repo, sha }, "the commit's pull request could not be read: its changes are recorded without it");
    return unknown;
  }
}

/** The head commit of a repository's default branch (installation events do not carry it). */
export async function defaultBranchHead(octokit: GitHubClient, repo: RepoRef): Promise<{ defaultBranch: string; sha: string; private: boolean }> {
  const { data } = await octokit.request('GET /repos/{owner}/{repo}', { ...repo });
  const { data: commit } = await octokit.request('GET /repos/{owner}/{repo}/commits/{ref}', { ...repo, ref: data.default_branch });
  return { defaultBranch: data.default_branch, sha: commit.sha, private: data.private };
}
