// The engine's Report as rows: one evaluation per cluster, and for the default branch the image
// inventory, the clusters' configuration and enabled policies, the Application stages and the
// risk-acceptance register.
import type { PrismaClient } from '@prisma/client';
import { checkExitCode, type ClusterReport, type Report } from '../engine/index.js';
import { claimDefaultBranch, type BranchPosition } from './branch-order.js';
import { recordObjectChanges, UNATTRIBUTED, type ChangeAttribution } from './changes.js';
import { applicationStages, clusterSettings, replaceApplicationStages, replaceClusterConfig } from './cluster-config.js';
import { recordEvaluation } from './evaluations.js';
import { replaceInventory, snapshotInventories } from './inventory.js';
import { notePush, upsertInstallation, upsertRepository } from './repositories.js';
import { syncRiskAcceptances, type AnnotationIntroduction, type RiskAcceptanceInput } from './risk-acceptances.js';

export interface RepositoryRow {
  installationId: number;
  id: number;
  owner: string;
  ownerType: string;
  name: string;
  defaultBranch: string;
  private: boolean;
}

async function ensureRepository(prisma: PrismaClient, repository: RepositoryRow): Promise<void> {
  await upsertInstallation(prisma, { id: repository.installationId, accountLogin: repository.owner, accountType: repository.ownerType });
  await upsertRepository(prisma, {
    id: repository.id,
    installationId: repository.installationId,
    owner: repository.owner,
    name: repository.name,
    defaultBranch: repository.defaultBranch,
    private: repository.private,
  });
}

/** One evaluation per cluster of a pull request's head; false when a newer head was recorded already. */
export async function recordPullRequestReport(
  prisma: PrismaClient,
  input: { repository: RepositoryRow; pullRequest: number; sha: string; report: Report; conclusions: Map<string, string>; observedAt: Date; startedAt: Date },
): Promise<boolean> {
  await ensureRepository(prisma, input.repository);
  let current = true;
  for (const cluster of input.report.clusters) {
    const recorded = await recordEvaluation(prisma, {
      repositoryId: input.repository.id,
      sha: input.sha,
      pullRequestNumber: input.pullRequest,
      cluster: cluster.name,
      conclusion: input.conclusions.get(cluster.name) ?? 'neutral',
      errorCount: cluster.errors.length + input.report.errors.length,
      observedAt: input.observedAt,
      startedAt: input.startedAt,
      finishedAt: new Date(),
      violations: cluster.violations,
    });
    current &&= recorded.current;
  }
  return current;
}

/**
 * A push to the default branch, taken on before it is evaluated: until its evaluation is recorded,
 * the compliance page says which clusters are behind it.
 */
export async function recordDefaultBranchPush(prisma: PrismaClient, input: { repository: RepositoryRow; sha: string; observedAt: Date }): Promise<void> {
  await ensureRepository(prisma, input.repository);
  await notePush(prisma, input.repository.id, input.sha, input.observedAt);
}

/**
 * The default branch at `sha`: its evaluation per cluster, its image inventory, each cluster's
 * configuration and enabled policies, its Application stages and its risk register. The commit
 * first claims the branch (branch-order.ts: push order, never commit dates); false, and nothing
 * written, when a newer state of the branch is recorded. Each part is written in its own
 * transaction, stamped with the claim's time, and keeps the newest claim's.
 * `introductions` say who introduced the acceptance annotations found on GitHub, by location.
 */
export async function recordDefaultBranchReport(
  prisma: PrismaClient,
  input: {
    repository: RepositoryRow;
    sha: string;
    position?: BranchPosition;
    report: Report;
    startedAt: Date;
    introductions?: readonly AnnotationIntroduction[];
    /** The pull request and people GitHub reported for the commit: who made the objects' changes. */
    attribution?: ChangeAttribution;
    /** The stamp, when not the database's clock (history imported or seeded). */
    recordedAt?: Date;
  },
): Promise<boolean> {
  await ensureRepository(prisma, input.repository);
  const claim = await claimDefaultBranch(prisma, input.repository.id, input.sha, input.position ?? { before: null, forced: false }, input.recordedAt);
  if (!claim) return false;
  const observedAt = claim.at;
  await notePush(prisma, input.repository.id, input.sha, observedAt);
  const { report } = input;
  for (const cluster of report.clusters) {
    await recordEvaluation(prisma, {
      repositoryId: input.repository.id,
      sha: input.sha,
      ref: input.repository.defaultBranch,
      cluster: cluster.name,
      conclusion: conclusion(cluster, report),
      errorCount: cluster.errors.length + report.errors.length,
      observedAt,
      startedAt: input.startedAt,
      finishedAt: new Date(),
      violations: cluster.violations,
    });
    await replaceInventory(prisma, {
      repositoryId: input.repository.id,
      cluster: cluster.name,
      commitSha: input.sha,
      observedAt,
      images: cluster.images.map((use) => ({
        namespace: use.namespace ?? null,
        workloadKind: use.workload.kind,
        workloadName: use.workload.name,
        container: use.container,
        image: use.image,
        file: use.location.file,
        line: use.location.line,
      })),
    });
    // Kept by the check only where the App asked (keepObjects): each object's change since the last record.
    if (cluster.objects) {
      await recordObjectChanges(prisma, {
        repositoryId: input.repository.id,
        cluster: cluster.name,
        commitSha: input.sha,
        at: observedAt,
        objects: cluster.objects,
        applications: report.config?.applications ?? [],
        attribution: input.attribution ?? UNATTRIBUTED,
      });
    }
    const config = report.config?.clusters.find((c) => c.name === cluster.name);
    if (config) {
      await replaceClusterConfig(prisma, {
        repositoryId: input.repository.id,
        cluster: cluster.name,
        file: cluster.config,
        commitSha: input.sha,
        observedAt,
        settings: clusterSettings(config),
        policies: cluster.policies ?? [],
      });
    }
  }
  // Once every cluster's inventory is written: outdated is decided among them.
  await snapshotInventories(prisma, { repositoryId: input.repository.id, clusters: report.clusters.map((c) => c.name), commitSha: input.sha, observedAt });
  if (report.config) {
    await replaceApplicationStages(prisma, {
      repositoryId: input.repository.id,
      commitSha: input.sha,
      observedAt,
      stages: applicationStages(report.config.applications),
    });
  }
  const introduced = new Map((input.introductions ?? []).map((i) => [locationKey(i.file, i.line), i]));
  const register = riskAcceptanceInputs(report).map((a) => {
    const found = a.line ? introduced.get(locationKey(a.file, a.line)) : undefined;
    if (!found) return a;
    return {
      ...a,
      introducedSha: found.sha,
      introducedCommitAuthor: found.commitAuthor,
      introducedAt: found.at,
      introducedPullRequest: found.pullRequest,
      introducedPushedBy: found.pushedBy ?? null,
      introducedOpenedBy: found.openedBy ?? null,
      introducedMergedBy: found.mergedBy ?? null,
    };
  });
  await syncRiskAcceptances(prisma, { repositoryId: input.repository.id, commitSha: input.sha, seenAt: observedAt, acceptances: register });
  return true;
}

/** A cluster's state on the default branch, judged as a whole (there is no base to compare with). */
function conclusion(cluster: ClusterReport, report: Report): string {
  return checkExitCode({ clusters: [cluster], errors: report.errors }) === 0 ? 'success' : 'failure';
}

const locationKey = (file: string, line: number) => `${line}:${file}`;

/** One register entry per accepted (cluster, policy, object, level), wherever it applied. */
export function riskAcceptanceInputs(report: Report): RiskAcceptanceInput[] {
  const entries = new Map<string, RiskAcceptanceInput>();
  for (const cluster of report.clusters) {
    for (const violation of cluster.violations) {
      const acceptance = violation.acceptance;
      if (!acceptance) continue;
      const object = { kind: violation.object.kind, namespace: violation.object.namespace ?? null, name: violation.object.name };
      const key = JSON.stringify([cluster.name, violation.policy, object, acceptance.level]);
      if (entries.has(key)) continue;
      entries.set(key, {
        cluster: cluster.name,
        policy: violation.policy,
        object,
        level: acceptance.level,
        reason: acceptance.reason,
        file: acceptance.location.file,
        line: acceptance.location.line,
      });
    }
  }
  return [...entries.values()];
}
