// Read queries of the overview page and its API. Every query takes the set of repository ids the
// user may read and never returns a row of another repository: authorization is part of the
// WHERE clause, not a filter applied afterwards.
import type { Prisma, PrismaClient } from '@prisma/client';

export interface OverviewFilters {
  /** Repository as `owner/name`. */
  repo?: string | undefined;
  cluster?: string | undefined;
  namespace?: string | undefined;
  /** A substring of the image repository or reference. */
  image?: string | undefined;
  policy?: string | undefined;
  /** Free text, matched against the main text columns of each list. */
  q?: string | undefined;
}

const LIMIT = 500;

function repoWhere(repoIds: readonly bigint[], repo?: string): Prisma.RepositoryWhereInput {
  const where: Prisma.RepositoryWhereInput = { id: { in: [...repoIds] } };
  if (repo) {
    const [owner, name] = repo.split('/', 2);
    where.owner = owner ?? '';
    where.name = name ?? '';
  }
  return where;
}

const contains = (value: string) => ({ contains: value, mode: 'insensitive' as const });

/** The image inventory of the default branch across the clusters of the given repositories. */
export async function listImageUses(prisma: PrismaClient, repoIds: readonly bigint[], filters: OverviewFilters = {}) {
  const and: Prisma.ImageUseWhereInput[] = [{ cluster: { repository: repoWhere(repoIds, filters.repo) } }];
  if (filters.cluster) and.push({ cluster: { name: filters.cluster } });
  if (filters.namespace !== undefined && filters.namespace !== '') and.push({ namespace: filters.namespace });
  if (filters.image) and.push({ OR: [{ repository: contains(filters.image) }, { reference: contains(filters.image) }] });
  if (filters.policy) {
    const workloads = await workloadsConcerning(prisma, repoIds, filters.policy);
    if (workloads.length === 0) return [];
    and.push({ OR: workloads.map((w) => ({ clusterId: w.clusterId, workloadKind: w.kind, namespace: w.namespace, workloadName: w.name })) });
  }
  if (filters.q) {
    and.push({
      OR: [{ reference: contains(filters.q) }, { workloadName: contains(filters.q) }, { container: contains(filters.q) }, { namespace: contains(filters.q) }],
    });
  }
  return prisma.imageUse.findMany({
    where: { AND: and },
    include: { cluster: { select: { name: true, repository: { select: { owner: true, name: true } } } } },
    orderBy: [{ repository: 'asc' }, { clusterId: 'asc' }, { namespace: 'asc' }, { workloadName: 'asc' }, { container: 'asc' }],
    take: LIMIT * 4,
  });
}

/**
 * The workloads a policy concerns: those with a present risk acceptance of it, and those with a
 * violation of it in their repository's newest evaluation of the default branch.
 */
export async function workloadsConcerning(prisma: PrismaClient, repoIds: readonly bigint[], policy: string) {
  const ids = [...repoIds];
  const accepted = await prisma.riskAcceptance.findMany({
    where: { repositoryId: { in: ids }, removedAt: null, policy },
    select: { clusterId: true, objectKind: true, objectNamespace: true, objectName: true },
  });
  const latest = [];
  for (const repositoryId of ids) {
    const e = await prisma.evaluation.findFirst({ where: { repositoryId, pullRequestNumber: null }, orderBy: [{ observedAt: 'desc' }, { id: 'desc' }], select: { id: true } });
    if (e) latest.push(e.id);
  }
  const violated = latest.length
    ? await prisma.violation.findMany({
        where: { evaluationId: { in: latest }, policy, clusterId: { not: null } },
        select: { clusterId: true, objectKind: true, objectNamespace: true, objectName: true },
      })
    : [];
  const seen = new Map<string, { clusterId: number; kind: string; namespace: string; name: string }>();
  for (const o of [...accepted, ...violated]) {
    const w = { clusterId: o.clusterId!, kind: o.objectKind, namespace: o.objectNamespace ?? '', name: o.objectName };
    seen.set(JSON.stringify(w), w);
  }
  return [...seen.values()];
}

/** The risk-acceptance register (present acceptances; removed ones too with `includeRemoved`). */
export async function listRiskAcceptances(
  prisma: PrismaClient,
  repoIds: readonly bigint[],
  filters: OverviewFilters = {},
  options: { includeRemoved?: boolean } = {},
) {
  const and: Prisma.RiskAcceptanceWhereInput[] = [{ repository: repoWhere(repoIds, filters.repo) }];
  if (!options.includeRemoved) and.push({ removedAt: null });
  if (filters.cluster) and.push({ cluster: { name: filters.cluster } });
  if (filters.namespace !== undefined && filters.namespace !== '') and.push({ objectNamespace: filters.namespace });
  if (filters.policy) and.push({ policy: filters.policy });
  if (filters.q) {
    and.push({ OR: [{ reason: contains(filters.q) }, { objectName: contains(filters.q) }, { policy: contains(filters.q) }, { introducedBy: contains(filters.q) }] });
  }
  return prisma.riskAcceptance.findMany({
    where: { AND: and },
    include: { cluster: { select: { name: true } }, repository: { select: { owner: true, name: true } } },
    orderBy: [{ repositoryId: 'asc' }, { clusterId: 'asc' }, { policy: 'asc' }, { objectNamespace: 'asc' }, { objectName: 'asc' }],
    take: LIMIT,
  });
}

/** Recent evaluations, newest first; with `policy`, only those that found a violation of it. */
export async function listEvaluations(prisma: PrismaClient, repoIds: readonly bigint[], filters: OverviewFilters & { pullRequest?: number } = {}, take = 100) {
  const and: Prisma.EvaluationWhereInput[] = [{ repository: repoWhere(repoIds, filters.repo) }];
  if (filters.cluster) and.push({ OR: [{ cluster: { name: filters.cluster } }, { violations: { some: { cluster: { name: filters.cluster } } } }] });
  if (filters.policy) and.push({ violations: { some: { policy: filters.policy } } });
  if (filters.namespace) and.push({ violations: { some: { objectNamespace: filters.namespace } } });
  if (filters.pullRequest !== undefined) and.push({ pullRequestNumber: filters.pullRequest });
  if (filters.q) and.push({ OR: [{ sha: { startsWith: filters.q.toLowerCase() } }, { ref: contains(filters.q) }, { conclusion: filters.q.toLowerCase() }] });
  return prisma.evaluation.findMany({
    where: { AND: and },
    include: { cluster: { select: { name: true } }, repository: { select: { owner: true, name: true } } },
    orderBy: [{ finishedAt: 'desc' }, { id: 'desc' }],
    take: Math.min(take, LIMIT),
  });
}

/** Clusters of that name in the given repositories (names are unique per repository only). */
export async function findClusters(prisma: PrismaClient, repoIds: readonly bigint[], name: string, repo?: string) {
  const clusters = await prisma.cluster.findMany({
    where: { name, repository: repoWhere(repoIds, repo) },
    include: {
      repository: { select: { owner: true, name: true, defaultBranch: true } },
      enabledPolicies: { orderBy: [{ template: 'asc' }, { constraint: 'asc' }] },
      _count: { select: { images: true, riskAcceptances: { where: { removedAt: null } } } },
    },
    orderBy: { repositoryId: 'asc' },
  });
  const result = [];
  for (const cluster of clusters) {
    // The policies seen in the cluster: those with violations in its newest evaluation of the
    // default branch (pull requests excluded), and those with present risk acceptances.
    const latest = await prisma.evaluation.findFirst({
      where: { repositoryId: cluster.repositoryId, pullRequestNumber: null, OR: [{ clusterId: cluster.id }, { violations: { some: { clusterId: cluster.id } } }] },
      orderBy: [{ observedAt: 'desc' }, { id: 'desc' }],
      select: { id: true, sha: true, conclusion: true, finishedAt: true },
    });
    const violated = latest
      ? await prisma.violation.groupBy({ by: ['policy', 'enforcementAction'], where: { evaluationId: latest.id, clusterId: cluster.id }, _count: { _all: true }, orderBy: { policy: 'asc' } })
      : [];
    const accepted = await prisma.riskAcceptance.groupBy({ by: ['policy'], where: { clusterId: cluster.id, removedAt: null }, _count: { _all: true }, orderBy: { policy: 'asc' } });
    result.push({
      ...cluster,
      latestEvaluation: latest,
      policies: {
        violated: violated.map((v) => ({ policy: v.policy, enforcementAction: v.enforcementAction, count: v._count._all })),
        accepted: accepted.map((a) => ({ policy: a.policy, count: a._count._all })),
      },
    });
  }
  return result;
}

/**
 * The Application stages of the given repositories' default branches, and the image uses of the
 * clusters those stages name (clusters of the same repositories only).
 */
export async function listApplicationStages(prisma: PrismaClient, repoIds: readonly bigint[], filters: Pick<OverviewFilters, 'repo'> = {}) {
  const stages = await prisma.applicationStage.findMany({
    where: { repository: repoWhere(repoIds, filters.repo) },
    include: { repository: { select: { owner: true, name: true, applicationsSha: true } } },
    orderBy: [{ repositoryId: 'asc' }, { application: 'asc' }, { position: 'asc' }],
    take: LIMIT,
  });
  const pairs = new Map<string, { repositoryId: bigint; name: string }>();
  for (const s of stages) pairs.set(`${s.repositoryId}\u0000${s.cluster}`, { repositoryId: s.repositoryId, name: s.cluster });
  const images = pairs.size
    ? await prisma.imageUse.findMany({
        where: { cluster: { repositoryId: { in: [...repoIds] }, OR: [...pairs.values()] } },
        include: { cluster: { select: { name: true, repositoryId: true } } },
        orderBy: [{ clusterId: 'asc' }, { namespace: 'asc' }, { workloadName: 'asc' }, { container: 'asc' }],
        take: LIMIT * 4,
      })
    : [];
  return { stages, images };
}

/** The repositories among `ids` that Parapet knows, by id. */
export async function knownRepositories(prisma: PrismaClient, ids: readonly bigint[]) {
  return prisma.repository.findMany({ where: { id: { in: [...ids] } }, select: { id: true, owner: true, name: true }, orderBy: [{ owner: 'asc' }, { name: 'asc' }] });
}

/** Distinct cluster names, namespaces and policies of the given repositories: the filters' choices. */
export async function filterChoices(prisma: PrismaClient, repoIds: readonly bigint[]) {
  const ids = [...repoIds];
  const [clusters, namespaces, policies] = await Promise.all([
    prisma.cluster.findMany({ where: { repositoryId: { in: ids } }, select: { name: true }, distinct: ['name'], orderBy: { name: 'asc' } }),
    prisma.imageUse.findMany({ where: { cluster: { repositoryId: { in: ids } } }, select: { namespace: true }, distinct: ['namespace'], orderBy: { namespace: 'asc' } }),
    prisma.riskAcceptance.findMany({ where: { repositoryId: { in: ids } }, select: { policy: true }, distinct: ['policy'], orderBy: { policy: 'asc' } }),
  ]);
  return { clusters: clusters.map((c) => c.name), namespaces: namespaces.map((n) => n.namespace), policies: policies.map((p) => p.policy) };
}
