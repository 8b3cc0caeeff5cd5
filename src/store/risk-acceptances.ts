// The risk-acceptance register of a repository's default branch. Each sync passes every
// acceptance present at one commit: new ones are added (first seen), present ones are touched
// (last seen), ones no longer present are marked removed (kept, with when and at which commit),
// and one that comes back is present again.
//
// Who introduced an acceptance is found outside the store (blame on GitHub, or the push that
// touched its file) and costs API calls, so the register says which acceptances need it
// (`acceptancesToAttribute`) and the sync applies the same rule: the introducer is the one of the
// acceptance as it reads now, so it is set when the row is first seen, when it comes back and when
// its reason changes, and filled in later while unknown; otherwise it is kept.
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
  /** The commit that introduced the annotation (from blame/history), when known. */
  introducedSha?: string | null;
  /** Its author and date as the commit states them (GitHub login, else the author's name): unverified. */
  introducedCommitAuthor?: string | null;
  introducedAt?: Date | null;
  /** The pull request that merged that commit. */
  introducedPullRequest?: number | null;
  /** Who GitHub says pushed the commit, opened that pull request and merged it (logins). */
  introducedPushedBy?: string | null;
  introducedOpenedBy?: string | null;
  introducedMergedBy?: string | null;
}

/** Who introduced the annotation written at `file`:`line`, as found on GitHub. */
export interface AnnotationIntroduction {
  file: string;
  line: number;
  sha: string;
  /** The commit's author and date, as the commit states them: unverified. */
  commitAuthor: string | null;
  at: Date | null;
  pullRequest: number | null;
  /** Who GitHub says pushed the commit, opened the pull request that merged it and merged it. */
  pushedBy?: string | null;
  openedBy?: string | null;
  mergedBy?: string | null;
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

/**
 * Why an acceptance's introducer is wanted: it is `new` to the register, `returned` after its
 * removal, its reason was `reworded`, or its introducer is still `unknown`.
 */
export type AttributionNeed = 'new' | 'returned' | 'reworded' | 'unknown';

interface RegisterState {
  reason: string;
  removedAt: Date | null;
  introducedSha: string | null;
}

function attributionNeed(existing: RegisterState | null, input: RiskAcceptanceInput): AttributionNeed | undefined {
  if (!existing) return 'new';
  if (existing.removedAt) return 'returned';
  if (existing.reason !== input.reason) return 'reworded';
  if (existing.introducedSha === null) return 'unknown';
  return undefined;
}

/** The introducer columns a sync writes for an acceptance with this need (none: keep them). */
function introduction(need: AttributionNeed | undefined, a: RiskAcceptanceInput) {
  const known = a.introducedSha ?? null;
  // Still unknown: nothing better to write. Kept as is: the row's introducer is current.
  if (need === undefined || (need === 'unknown' && known === null)) return {};
  // The acceptance reads differently now: an introducer that cannot be found is unknown rather
  // than the previous wording's.
  return {
    introducedSha: known,
    introducedCommitAuthor: known === null ? null : (a.introducedCommitAuthor ?? null),
    introducedAt: known === null ? null : (a.introducedAt ?? null),
    introducedPullRequest: known === null ? null : (a.introducedPullRequest ?? null),
    introducedPushedBy: known === null ? null : (a.introducedPushedBy ?? null),
    introducedOpenedBy: known === null ? null : (a.introducedOpenedBy ?? null),
    introducedMergedBy: known === null ? null : (a.introducedMergedBy ?? null),
  };
}

const registerKey = (cluster: string, policy: string, kind: string, namespace: string, name: string) => JSON.stringify([cluster, policy, kind, namespace, name]);
const inputKey = (a: RiskAcceptanceInput) => registerKey(a.cluster, a.policy, a.object.kind, a.object.namespace ?? '', a.object.name);

/**
 * The acceptances among `acceptances` (one commit's) whose introducer the next sync would write,
 * each with why: the new, returned and reworded ones first, then the ones still unknown (so a cap
 * on look-ups serves the changes of this commit before older gaps).
 */
export async function acceptancesToAttribute(
  prisma: PrismaClient,
  repositoryId: number | bigint,
  acceptances: RiskAcceptanceInput[],
): Promise<Array<RiskAcceptanceInput & { need: AttributionNeed }>> {
  const rows = await prisma.riskAcceptance.findMany({
    where: { repositoryId: BigInt(repositoryId) },
    select: { policy: true, objectKind: true, objectNamespace: true, objectName: true, reason: true, removedAt: true, introducedSha: true, cluster: { select: { name: true } } },
  });
  const register = new Map(rows.map((r) => [registerKey(r.cluster.name, r.policy, r.objectKind, r.objectNamespace, r.objectName), r]));
  const wanted: Array<RiskAcceptanceInput & { need: AttributionNeed }> = [];
  for (const a of acceptances) {
    const need = attributionNeed(register.get(inputKey(a)) ?? null, a);
    if (need) wanted.push({ ...a, need });
  }
  return [...wanted.filter((w) => w.need !== 'unknown'), ...wanted.filter((w) => w.need === 'unknown')];
}

/**
 * The register as of `input.commitSha`; null, and nothing changed, when the default branch was
 * claimed since for a newer state (branch-order.ts: the repository's `branch_at` is past `seenAt`).
 */
export async function syncRiskAcceptances(prisma: PrismaClient, input: RiskRegisterSync): Promise<RiskRegisterChanges | null> {
  const repositoryId = BigInt(input.repositoryId);
  return prisma.$transaction(async (tx) => {
    // Shares the repository's row with other syncs, while a claim (which updates it) waits.
    const [branch] = await tx.$queryRaw<{ branch_at: Date | null }[]>`SELECT branch_at FROM repositories WHERE id = ${repositoryId} FOR SHARE`;
    if (branch?.branch_at && branch.branch_at > input.seenAt) return null;
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
        select: { id: true, removedAt: true, reason: true, introducedSha: true },
      });
      if (existing) {
        await tx.riskAcceptance.update({
          where: { id: existing.id },
          data: {
            ...details,
            ...introduction(attributionNeed(existing, a), a),
            lastSeenAt: input.seenAt,
            lastSeenSha: input.commitSha,
            removedAt: null,
            removedSha: null,
          },
        });
        present.push(existing.id);
      } else {
        const created = await tx.riskAcceptance.create({
          data: {
            ...key,
            ...details,
            repositoryId,
            ...introduction('new', a),
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
