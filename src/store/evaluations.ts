// Evaluations and their violations. One evaluation is written in one transaction: a crash leaves
// all of it or none. For a pull request, the newest head wins: pull_requests keeps the head with
// the latest `observedAt`, and an older SHA's evaluation arriving later is stored (every
// evaluation is history) but does not become the pull request's current one.
import { createHash } from 'node:crypto';
import type { PrismaClient } from '@prisma/client';
import { fingerprint, type Violation } from '../engine/index.js';
import { ensureCluster } from './repositories.js';

export interface EvaluationInput {
  repositoryId: number | bigint;
  sha: string;
  pullRequestNumber?: number | null;
  ref?: string | null;
  /** The cluster evaluated; null or absent when the evaluation covers the whole repository. */
  cluster?: string | null;
  conclusion: string;
  /** Input errors found (violations are counted from `violations`). */
  errorCount?: number;
  /** Ordering key of the head commit: the time the webhook reported it. Decides the newest SHA. */
  observedAt: Date;
  startedAt: Date;
  finishedAt?: Date;
  violations: Violation[];
}

export interface RecordedEvaluation {
  id: bigint;
  /** False when a newer head of the same pull request was already recorded: do not publish. */
  current: boolean;
}

// The finding's identity (cluster, constraint, object, the part of it), which leaves the message's
// values out; rows written before it hashed the message as written, so compare fingerprints only
// between evaluations of one version of Parapet. Nothing reads them back yet: no migration.
function fingerprintHash(v: Violation): string {
  return createHash('sha256').update(fingerprint(v)).digest('hex');
}

export async function recordEvaluation(prisma: PrismaClient, input: EvaluationInput): Promise<RecordedEvaluation> {
  const repositoryId = BigInt(input.repositoryId);
  return prisma.$transaction(async (tx) => {
    const clusterIds = new Map<string, number>();
    const clusterId = async (name: string): Promise<number> => {
      let id = clusterIds.get(name);
      if (id === undefined) clusterIds.set(name, (id = await ensureCluster(tx, repositoryId, name)));
      return id;
    };
    const names = new Set(input.violations.map((v) => v.cluster));
    if (input.cluster) names.add(input.cluster);
    for (const name of [...names].sort()) await clusterId(name);
    // A write retried after a failure (store/write-retry.ts) repeats the same run of the engine:
    // the evaluation an earlier attempt stored is that run's, not a second one.
    const stored = await tx.evaluation.findFirst({
      where: {
        repositoryId,
        sha: input.sha,
        pullRequestNumber: input.pullRequestNumber ?? null,
        ref: input.ref ?? null,
        clusterId: input.cluster ? await clusterId(input.cluster) : null,
        startedAt: input.startedAt,
      },
      select: { id: true },
    });
    if (stored) {
      const head = input.pullRequestNumber == null ? null : await tx.pullRequest.findUnique({ where: { repositoryId_number: { repositoryId, number: input.pullRequestNumber } } });
      return { id: stored.id, current: head === null || head.evaluationId === stored.id };
    }
    const evaluation = await tx.evaluation.create({
      data: {
        repositoryId,
        sha: input.sha,
        pullRequestNumber: input.pullRequestNumber ?? null,
        ref: input.ref ?? null,
        clusterId: input.cluster ? await clusterId(input.cluster) : null,
        conclusion: input.conclusion,
        violationCount: input.violations.length,
        newViolationCount: input.violations.filter((v) => v.status === 'new').length,
        acceptedCount: input.violations.filter((v) => v.acceptance !== null).length,
        errorCount: input.errorCount ?? 0,
        observedAt: input.observedAt,
        startedAt: input.startedAt,
        finishedAt: input.finishedAt ?? new Date(),
      },
      select: { id: true },
    });
    const rows = [];
    for (const v of input.violations) {
      rows.push({
        evaluationId: evaluation.id,
        clusterId: await clusterId(v.cluster),
        policy: v.policy,
        constraint: v.constraint,
        enforcementAction: v.enforcementAction,
        message: v.message,
        file: v.location.file,
        line: v.location.line,
        objectApiVersion: v.object.apiVersion,
        objectKind: v.object.kind,
        objectNamespace: v.object.namespace ?? null,
        objectName: v.object.name,
        fingerprint: fingerprintHash(v),
        status: v.status ?? null,
        acceptanceLevel: v.acceptance?.level ?? null,
      });
    }
    if (rows.length > 0) await tx.violation.createMany({ data: rows });

    let current = true;
    if (input.pullRequestNumber != null) {
      // Atomic compare-and-set on the pull request's head: concurrent writers serialise on the row.
      const won = await tx.$queryRaw<{ head_sha: string }[]>`
        INSERT INTO pull_requests (repository_id, number, head_sha, head_observed_at, evaluation_id, updated_at)
        VALUES (${repositoryId}, ${input.pullRequestNumber}, ${input.sha}, ${input.observedAt}, ${evaluation.id}, now())
        ON CONFLICT (repository_id, number) DO UPDATE
          SET head_sha = EXCLUDED.head_sha, head_observed_at = EXCLUDED.head_observed_at,
              evaluation_id = EXCLUDED.evaluation_id, updated_at = now()
          WHERE pull_requests.head_observed_at < EXCLUDED.head_observed_at
             OR (pull_requests.head_observed_at = EXCLUDED.head_observed_at AND pull_requests.head_sha = EXCLUDED.head_sha)
        RETURNING head_sha`;
      current = won.length === 1;
    }
    return { id: evaluation.id, current };
  });
}

export interface PullRequestHead {
  sha: string;
  observedAt: Date;
  evaluationId: bigint | null;
}

export async function pullRequestHead(
  prisma: PrismaClient,
  repositoryId: number | bigint,
  number: number,
): Promise<PullRequestHead | null> {
  const pr = await prisma.pullRequest.findUnique({ where: { repositoryId_number: { repositoryId: BigInt(repositoryId), number } } });
  return pr ? { sha: pr.headSha, observedAt: pr.headObservedAt, evaluationId: pr.evaluationId } : null;
}

export async function recentEvaluations(prisma: PrismaClient, repositoryId: number | bigint, take = 20) {
  return prisma.evaluation.findMany({
    where: { repositoryId: BigInt(repositoryId) },
    orderBy: { finishedAt: 'desc' },
    take,
    include: { cluster: { select: { name: true } } },
  });
}
