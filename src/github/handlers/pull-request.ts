// A pull request's verdict: the base branch's policies judge the head, and the merge base tells
// which violations the pull request introduces. One check run per cluster on the head commit, and
// one review with inline comments on the diff's lines (review.ts). The runs are named after the
// branch whose policies judged them (`parapet / <cluster>` into the default branch, `parapet (into
// <branch>) / <cluster>` into another, check-run.ts): several pull requests of one commit into
// different branches each post their own, so none overwrites a stricter branch's verdict.
//
// API calls per run, exactly (C = clusters, A_c = annotations of cluster c, K = review comments
// already on the pull request):
//   1                     list this App's unfinished check runs on the head (restart recovery)
//   1                     compare (the merge base)
//   2 or 3                one tarball per distinct commit (base, merge base, head)
//   C - R                 create the in_progress runs (R: unfinished runs resumed)
//   1                     re-read the pull request's head (stale SHA)
//   Σ max(1, ⌈A_c/50⌉)    complete each run, 50 annotations per update
//   ⌈max(K,1)/100⌉        list the review comments
//   0 or 1                the review
//   ≤ 10                  "Fixed in" replies (MAX_FIXED_REPLIES; more wait for the next push)
// so 8 + 10 + 2C plus one per 50 annotations, plus one per further 100 comments, plus the App's
// own login (GET /app: its comments are told from the others' by it) once per process; never one call
// per manifest, nor per changed file: the diff the review comments must fall in (GitHub refuses
// others) is computed locally from the merge base's and the head's trees (pull-diff.ts), the
// three-dot diff GitHub shows. A head that moved on still gets its verdict, but no review.
//
// With a database, the evaluation is recorded before the runs complete: a record that fails (a
// full disk, a lost connection) leaves the verdict as it is, says so on each run with how to
// repair it (Re-run), and fails the job, whose delivery is then released for a redelivery.
//
// A pull request that changes policies (policy-impact.ts) costs no further call: the head's
// manifests are evaluated once more, with the head's policies, from the tarball already read, and
// the difference is a section of the check run's summary; the conclusion stays the base's.
//
// The job's evaluations share one time budget (PARAPET_JOB_TIMEOUT_MS): when it runs out, the
// engine stops and reports what it did not evaluate as `limit` errors, which fail the check.
import type { Logger } from 'probot';
import type { Config } from '../../config.js';
import { checkRepo, declaredClusters, markStatus, type ClusterReport, type Report } from '../../engine/index.js';
import { CheckRun, checkRunName, checkRunPrefix, clusterCheckOutput, interruptedOutput, notRecordedOutput, operationalFailureOutput, supersededOutput, type CheckOutput } from '../check-run.js';
import type { EngineRuntime } from '../../runtime.js';
import type { GitHubClient, RepoRef } from '../github-client.js';
import { affectedClusters, changedPolicyFiles, compareClusterPolicies, type PolicyImpact } from '../policy-impact.js';
import { localDiff } from '../pull-diff.js';
import type { Recorder, RepositoryInfo } from '../recorder.js';
import { reviewFindings, syncReview } from '../review.js';
import { TarballCache, type TarballSource } from '../tarball-source.js';
import { ReportedJobFailure } from '../../errors.js';

export interface PullRequestDeps {
  engine: EngineRuntime;
  limits: Config['limits'];
  /** The App's ID: unfinished check runs are recognised as its own by it (and by their name). */
  appId?: number;
  /** The App's bot login (app-identity.ts): its own review comments are recognised by it, no one else's count. */
  appLogin: () => Promise<string>;
  /** Where evaluations are recorded (the database), when the App has one. */
  recorder?: Recorder;
}

export interface PullRequestRevision {
  repo: RepoRef;
  number: number;
  headSha: string;
  /** The base branch's commit as the pull request event gives it: its policies and cluster configs judge the head. */
  baseSha: string;
  /** The base branch's name: check runs into another branch than the default one carry it in their names. */
  baseRef: string;
  /** The repository's default branch, as the event gives it. */
  defaultBranch: string;
  /** The repository as the event describes it, for the record. */
  repository?: RepositoryInfo;
  /** When the event reported this head. */
  observedAt?: Date;
}

/**
 * The branch a pull request's check runs speak for (check-run.ts, `checkRunPrefix`): none for the
 * default branch, else its base branch.
 */
export function checkRunScope(pr: Pick<PullRequestRevision, 'baseRef' | 'defaultBranch'>): string | undefined {
  return pr.baseRef === pr.defaultBranch ? undefined : pr.baseRef;
}

/**
 * Parapet's check runs of one scope: the prefix alone (the run reported when Parapet fails before
 * it knows the repository's clusters) or a cluster's. Runs of other scopes (pull requests of the
 * same commit into other branches) are another job's, never taken over nor ended here.
 */
export function isParapetCheckRun(name: string, into?: string): boolean {
  const prefix = checkRunPrefix(into);
  return name === prefix || name.startsWith(`${prefix} / `);
}

export async function checkPullRequest(deps: PullRequestDeps, octokit: GitHubClient, log: Logger, pr: PullRequestRevision): Promise<void> {
  const { repo, headSha, baseSha } = pr;
  const into = checkRunScope(pr);
  const startedAt = new Date();
  const trees = new TarballCache(octokit, repo, deps.limits.maxRepoBytes);
  /** Cluster name → its check run, until completed. */
  const open = new Map<string, CheckRun>();
  /** Check run name → a run a crashed or restarted process left unfinished on this commit. */
  const leftovers = new Map<string, CheckRun>();
  /** Why the evaluation could not be stored, when it could not: the job then fails, after posting. */
  let recordFailure: Error | undefined;
  // One pull request must not hold the server (and every other repository's checks) for long: its
  // evaluations share one time budget, and what is not done by then is reported as not checked.
  const budget = new AbortController();
  const budgetTimer = setTimeout(() => budget.abort(new Error(`the check's time limit of ${formatDuration(deps.limits.jobTimeoutMs)} ran out`)), deps.limits.jobTimeoutMs);
  try {
    for (const run of await CheckRun.unfinished(octokit, repo, headSha, deps.appId, (name) => isParapetCheckRun(name, into))) {
      if (leftovers.has(run.name)) await run.complete(interruptedOutput());
      else leftovers.set(run.name, run);
    }
    const mergeBaseSha = await mergeBase(octokit, repo, baseSha, headSha);
    const policies = await trees.at(baseSha);
    const declared = await declaredClusters(policies);
    const clusters = declared.map((c) => c.name);
    // in_progress right away, so the pull request shows the check is coming; a leftover of the
    // same name is taken over instead of duplicated, the others are ended.
    for (const name of clusters) {
      const leftover = leftovers.get(checkRunName(name, into));
      leftovers.delete(checkRunName(name, into));
      open.set(name, leftover ?? (await CheckRun.start(octokit, repo, headSha, checkRunName(name, into))));
    }
    for (const [name, run] of leftovers) {
      leftovers.delete(name);
      await run.complete(interruptedOutput());
    }
    if (clusters.length === 0) {
      log.info({ pr: pr.number }, 'no kind: Cluster configuration on the base branch: no check run');
      return;
    }

    const [head, base] = await Promise.all([trees.at(headSha), trees.at(mergeBaseSha)]);
    const options = { driver: deps.engine.driver, renderer: deps.engine.renderer, policies, limits: { maxFileBytes: deps.limits.maxFileBytes }, signal: budget.signal };
    // A tree without any Cluster (the head of a pull request that removed them all) has no violations.
    const headReport = await checkRepo(head, options);
    const baseReport = await checkRepo(base, options);
    const report = markStatus(headReport, baseReport);
    // Only when the pull request changes policies: the head's manifests under the head's policies.
    const impacts = await policyImpacts(log, pr, { base, head, declared, report, options });

    // Whether a newer push superseded this one, asked as late as possible.
    const current = await currentHead(octokit, repo, pr.number);

    // Computed from the trees in memory, once: the lines the pull request writes (its own warnings
    // are annotated there) and the diff's lines (where review comments go).
    const diff = await localDiff(base, head);
    /** Cluster name → its check run's output, the evaluated clusters first. */
    const outputs = new Map<string, CheckOutput>();
    for (const cluster of report.clusters) outputs.set(cluster.name, clusterCheckOutput(cluster, [...report.errors, ...cluster.errors], impacts.get(cluster.name), diff.added));
    // Declared, yet not evaluated: the configuration has errors that keep the cluster out.
    for (const name of open.keys()) {
      if (outputs.has(name)) continue;
      outputs.set(
        name,
        report.errors.length > 0
          ? clusterCheckOutput(emptyCluster(name), report.errors)
          : operationalFailureOutput(`cluster ${name} is declared in .securitytower/ on the base branch, but the engine did not evaluate it`),
      );
    }

    // A superseded commit still gets its verdict: the check runs are the commit's, judged with
    // this base branch's policies, and another open pull request into the same branch may have
    // this very commit as its head (a neutral run would pass its branch protection). Only the
    // review, the pull request's, and the record of its newest head are left to the newer push.
    if (current !== headSha) {
      log.info({ pr: pr.number, headSha, current }, 'the pull request moved on: the old head gets its verdict, no review');
      for (const [name, output] of outputs) {
        const run = open.get(name) ?? (await CheckRun.start(octokit, repo, headSha, checkRunName(name, into)));
        open.delete(name);
        await run.complete(supersededOutput(output, pr.number, current));
      }
      return;
    }

    // Recorded before the verdict is posted, so that a record that failed is said on the check
    // runs, where the pull request's author sees it, with the way to repair it (a re-run).
    if (deps.recorder && pr.repository) {
      const conclusions = new Map(report.clusters.map((cluster) => [cluster.name, outputs.get(cluster.name)!.conclusion]));
      try {
        await deps.recorder.pullRequestEvaluated({ repository: pr.repository, pullRequest: pr.number, sha: headSha, report, conclusions, observedAt: pr.observedAt ?? startedAt, startedAt });
      } catch (error) {
        recordFailure = error instanceof Error ? error : new Error(String(error));
        log.error({ err: error, pr: pr.number, headSha }, 'could not record the evaluation in the database; the check runs say so');
      }
    }

    for (const [name, output] of outputs) {
      const run = open.get(name) ?? (await CheckRun.start(octokit, repo, headSha, checkRunName(name, into)));
      open.delete(name);
      await run.complete(recordFailure ? notRecordedOutput(output, recordFailure.message) : output);
    }

    // The verdict is on the check runs by now; a review GitHub refuses is logged, not a verdict.
    try {
      const plan = await syncReview(octokit, repo, pr.number, headSha, reviewFindings(report), async () => diff.lines, deps.appLogin);
      log.info({ pr: pr.number, comments: plan.comments.length, checkRunOnly: plan.checkRunOnly, fixed: plan.fixed.length, resolved: plan.resolved }, 'review synchronised');
      if (plan.resolveError) log.warn({ pr: pr.number, err: plan.resolveError }, 'could not resolve the fixed review threads (they are answered)');
    } catch (error) {
      log.error({ err: error, pr: pr.number, headSha }, 'could not post the review');
    }
  } catch (error) {
    log.error({ err: error, pr: pr.number, headSha }, 'pull request check failed');
    const output = operationalFailureOutput(error instanceof Error ? error.message : String(error));
    try {
      for (const [name, run] of leftovers) open.set(name, run);
      if (open.size === 0) open.set(checkRunPrefix(into), await CheckRun.start(octokit, repo, headSha, checkRunPrefix(into)));
      for (const run of open.values()) await run.complete(output);
    } catch (reportError) {
      // GitHub itself is failing: nothing more can be said on the pull request.
      log.error({ err: reportError, pr: pr.number }, 'could not report the failure on the pull request');
    }
    // The job failed: its delivery is released, so a redelivery evaluates the commit again.
    throw new ReportedJobFailure(`pull request #${pr.number} at ${headSha} could not be checked`, { cause: error });
  } finally {
    clearTimeout(budgetTimer);
  }
  if (recordFailure) throw new ReportedJobFailure(`the evaluation of pull request #${pr.number} at ${headSha} was not recorded`, { cause: recordFailure });
}

async function currentHead(octokit: GitHubClient, repo: RepoRef, pullNumber: number): Promise<string> {
  const { data } = await octokit.request('GET /repos/{owner}/{repo}/pulls/{pull_number}', { ...repo, pull_number: pullNumber });
  return data.head.sha;
}

async function mergeBase(octokit: GitHubClient, repo: RepoRef, baseSha: string, headSha: string): Promise<string> {
  const { data } = await octokit.request('GET /repos/{owner}/{repo}/compare/{basehead}', { ...repo, basehead: `${baseSha}...${headSha}`, per_page: 1 });
  // Without a merge base (unrelated histories), compare with the base branch itself.
  return data.merge_base_commit?.sha ?? baseSha;
}

/**
 * Per cluster whose policies (or the `.securitytower/` configuration) the pull request changes
 * (merge base → head, so a base branch that moved on is not the pull request's change): the
 * violations that appear or disappear when the head's manifests are evaluated with the head's
 * policies instead of the base's. Empty, at no cost, when no policy file changed. Never fails the
 * run: a problem here is reported in the section, not as the verdict.
 */
async function policyImpacts(
  log: Logger,
  pr: PullRequestRevision,
  input: { base: TarballSource; head: TarballSource; declared: Awaited<ReturnType<typeof declaredClusters>>; report: Report; options: Parameters<typeof checkRepo>[1] },
): Promise<Map<string, PolicyImpact>> {
  const impacts = new Map<string, PolicyImpact>();
  const { base, head, declared, report, options } = input;
  try {
    const headDeclared = await declaredClusters(head);
    const folders = [...declared, ...headDeclared].flatMap((c) => (c.policiesPath !== undefined ? [c.policiesPath] : []));
    const changed = await changedPolicyFiles(base, head, folders);
    const affected = affectedClusters(changed, declared).filter((name) => report.clusters.some((c) => c.name === name));
    if (affected.length === 0) return impacts;
    const evaluable = affected.filter((name) => headDeclared.some((c) => c.name === name));
    const { policies: _basePolicies, ...headOptions } = options;
    let withHeadPolicies: Report = { clusters: [], errors: [] };
    let failure: string | undefined;
    if (evaluable.length > 0) {
      try {
        withHeadPolicies = await checkRepo(head, { ...headOptions, clusters: evaluable });
      } catch (error) {
        failure = error instanceof Error ? error.message : String(error);
      }
    }
    for (const name of affected) {
      const cluster = report.clusters.find((c) => c.name === name)!;
      const impact = compareClusterPolicies(cluster, [...report.errors, ...cluster.errors], withHeadPolicies, changed);
      impacts.set(name, failure ? { ...impact, failure } : impact);
    }
    log.info({ pr: pr.number, clusters: affected, changed: changed.length }, 'the pull request changes policies: impact evaluated');
  } catch (error) {
    log.error({ err: error, pr: pr.number }, 'could not evaluate the policy-change impact');
  }
  return impacts;
}

/** `600000` → `10 min`, `2500` → `2.5 s`, `300` → `300 ms`. */
export function formatDuration(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms >= 1000) return `${Number((ms / 1000).toFixed(1))} s`;
  return `${ms} ms`;
}

function emptyCluster(name: string): ClusterReport {
  return { name, config: '.securitytower/', violations: [], errors: [], images: [], stats: { objects: 0, constraints: 0, evaluations: 0 } };
}

