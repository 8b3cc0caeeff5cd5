// The risk-acceptance register of a repository's default branch. Each sync passes every
// acceptance present at one commit: new ones are added (first seen), present ones are touched
// (last seen), ones no longer present are marked removed (kept, with when and at which commit),
// and one that comes back is present again.
import type { PrismaClient } from '@prisma/client';
import { ensureCluster } from './repositories.js';

export interface RiskAcceptanceInput {
  cluster: string;
  policy: string;
  object: { kind: string; namespace?: string | null; name: string };
  level: string;
  reason: string;
  file: string;
  line?: number | null;
  /** The commit and author that introduced the annotation (from blame/history), when known. */
  introducedSha?: string | null;
  introducedBy?: string | null;
}

export interface RiskRegisterSync {
  repositoryId: number | bigint;
  commitSha: string;
  seenAt: Date;
  acceptances: RiskAcceptanceInput[];
}

export interface RiskRegisterChanges {
  added: number;
  kept: number;
  removed: number;
}

export async function syncRiskAcceptances(prisma: PrismaClient, input: RiskRegisterSync): Promise<RiskRegisterChanges> {
  const repositoryId = BigInt(input.repositoryId);
  return prisma.$transaction(async (tx) => {
    const present: bigint[] = [];
    let added = 0;
    const clusters = new Map<string, number>();
    for (const name of [...new Set(input.acceptances.map((a) => a.cluster))].sort()) {
      clusters.set(name, await ensureCluster(tx, repositoryId, name));
    }
    for (const a of input.acceptances) {
      const clusterId = clusters.get(a.cluster)!;
      const key = {
        clusterId,
        policy: a.policy,
        objectKind: a.object.kind,
        objectNamespace: a.object.namespace ?? '',
        objectName: a.object.name,
      };
      const details = { level: a.level, reason: a.reason, file: a.file, line: a.line ?? null };
      const existing = await tx.riskAcceptance.findUnique({
        where: { clusterId_policy_objectKind_objectNamespace_objectName: key },
        select: { id: true, removedAt: true },
      });
      if (existing) {
        await tx.riskAcceptance.update({
          where: { id: existing.id },
          data: {
            ...details,
            lastSeenAt: input.seenAt,
            lastSeenSha: input.commitSha,
            removedAt: null,
            removedSha: null,
            // Re-introduced after removal: the new introducer is the one that matters.
            ...(existing.removedAt ? { introducedSha: a.introducedSha ?? null, introducedBy: a.introducedBy ?? null } : {}),
          },
        });
        present.push(existing.id);
      } else {
        const created = await tx.riskAcceptance.create({
          data: {
            ...key,
            ...details,
            repositoryId,
            introducedSha: a.introducedSha ?? null,
            introducedBy: a.introducedBy ?? null,
            firstSeenAt: input.seenAt,
            firstSeenSha: input.commitSha,
            lastSeenAt: input.seenAt,
            lastSeenSha: input.commitSha,
          },
          select: { id: true },
        });
        present.push(created.id);
        added++;
      }
    }
    const { count: removed } = await tx.riskAcceptance.updateMany({
      where: { repositoryId, removedAt: null, id: { notIn: present } },
      data: { removedAt: input.seenAt, removedSha: input.commitSha },
    });
    return { added, kept: present.length - added, removed };
  });
}

export async function riskRegister(prisma: PrismaClient, repositoryId: number | bigint, options: { includeRemoved?: boolean } = {}) {
  return prisma.riskAcceptance.findMany({
    where: { repositoryId: BigInt(repositoryId), ...(options.includeRemoved ? {} : { removedAt: null }) },
    include: { cluster: { select: { name: true } } },
    orderBy: [{ clusterId: 'asc' }, { policy: 'asc' }, { objectNamespace: 'asc' }, { objectName: 'asc' }],
  });
}
