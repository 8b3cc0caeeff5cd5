// Read queries of the overview page and its API. Every query takes the set of repository ids the
// user may read and never returns a row of another repository: authorization is part of the
// WHERE clause, not a filter applied afterwards.
import { Prisma, type PrismaClient } from '@prisma/client';

export interface OverviewFilters {
  /** Repository as `owner/name`. */
  repo?: string | undefined;
  cluster?: string | undefined;
  namespace?: string | undefined;
  /** A substring of the image (registry/repository:tag@digest, or a malformed reference as written), case-insensitive. */
  image?: string | undefined;
  /** `image` is an image's full name (registry/repository, or a malformed reference as written), matched exactly. */
  exact?: boolean | undefined;
  /** One version of the image (versionText); what a matrix cell links to, with `exact`. */
  version?: string | undefined;
  policy?: string | undefined;
  /** Free text, matched against the main text columns of each list. */
  q?: string | undefined;
}

/** A slice of a list: `offset` rows skipped, at most `limit` returned. */
export interface Slice {
  offset: number;
  limit: number;
}

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

// ---------------------------------------------------------------------------------------------
// The image inventory. Every query below reads the version summary (image_versions: per cluster
// and namespace, each distinct image version with its container count) unless a filter concerns
// single workloads (`q`, `policy`); then it counts the matching containers (image_uses) per
// summary row first. Either way the database aggregates: no query returns one row per container
// except the containers list, which returns one page.
// ---------------------------------------------------------------------------------------------

/** A cluster the user may see. */
export interface ClusterRef {
  id: number;
  name: string;
  /** `owner/name` of its repository. */
  repo: string;
}

// One collator for every comparison: localeCompare with options builds a new one per call.
const NAME_ORDER = new Intl.Collator('en', { numeric: true });

/** Names in reading order: `cluster-2` before `cluster-10`. */
export const compareNames = (a: string, b: string) => NAME_ORDER.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);

/** The clusters of the given repositories, by repository then name: the order of columns and lists. */
export async function readableClusters(prisma: PrismaClient, repoIds: readonly bigint[]): Promise<ClusterRef[]> {
  if (repoIds.length === 0) return [];
  const rows = await prisma.$queryRaw<{ id: number; name: string; repo: string }[]>`
    SELECT c.id, c.name, r.owner || '/' || r.name AS repo
    FROM clusters c JOIN repositories r ON r.id = c.repository_id
    WHERE c.repository_id = ANY(${[...repoIds]}::bigint[])`;
  return rows.sort((a, b) => compareNames(a.repo, b.repo) || compareNames(a.name, b.name));
}

/** A parsed `version` filter: the text a cell shows for a version (versionText). */
export type VersionFilter = { malformed: true } | { malformed: false; tag: string | null; digest: string | null };

const NO_TAG = '(no tag)';
const MALFORMED = '(malformed)';

/** How a version reads on the page and in `version=`: `tag`, `tag@digest`, `@digest`, `(no tag)`, `(malformed)`. */
export function versionText(v: { tag: string | null; digest: string | null; malformed: string | boolean | null }): string {
  if (v.malformed) return MALFORMED;
  return (v.tag ?? '') + (v.digest ? `@${v.digest}` : '') || NO_TAG;
}

export function parseVersionFilter(text: string): VersionFilter {
  if (text === MALFORMED) return { malformed: true };
  if (text === NO_TAG) return { malformed: false, tag: null, digest: null };
  const at = text.indexOf('@');
  const tag = at < 0 ? text : text.slice(0, at);
  const digest = at < 0 ? null : text.slice(at + 1);
  return { malformed: false, tag: tag === '' ? null : tag, digest: digest === '' ? null : digest };
}

interface Scope {
  /** Every cluster the user may see: "outdated" is decided among them, before any filter. */
  visible: number[];
  /** The clusters the repo and cluster filters leave. */
  shown: number[];
  filters: OverviewFilters;
}

function scopeOf(clusters: readonly ClusterRef[], filters: OverviewFilters): Scope & { clusters: ClusterRef[] } {
  const shown = clusters.filter((c) => (!filters.repo || c.repo === filters.repo) && (!filters.cluster || c.name === filters.cluster));
  return { visible: clusters.map((c) => c.id), shown: shown.map((c) => c.id), clusters: shown, filters };
}

const intArray = (ids: readonly number[]) => Prisma.sql`${[...ids]}::int[]`;

/**
 * The newest version tag per (image, family) over every visible cluster, with its key. (The max
 * key first, by hashing; then its tag, by joining back: cheaper than sorting every summary row.)
 */
function newestCte(scope: Scope): Prisma.Sql {
  const visible = intArray(scope.visible);
  // MATERIALIZED: computed once per query. PGlite has no autovacuum, so its tables may have no
  // statistics, and an inlined CTE could then be planned as a loop re-run for every row.
  return Prisma.sql`newest_key AS MATERIALIZED (
    SELECT image, family, max(version_key) AS version_key
    FROM image_versions
    WHERE cluster_id = ANY(${visible}) AND family IS NOT NULL
    GROUP BY image, family
  ),
  newest AS MATERIALIZED (
    SELECT DISTINCT ON (v.image, v.family) v.image, v.family, v.version_key, v.tag
    FROM image_versions v JOIN newest_key k ON k.image = v.image AND k.family = v.family AND k.version_key = v.version_key
    WHERE v.cluster_id = ANY(${visible})
    ORDER BY v.image, v.family, v.tag
  )`;
}

/** Conditions on a summary row `v`: the image and version filters. */
function versionConditions(filters: OverviewFilters): Prisma.Sql[] {
  const and: Prisma.Sql[] = [];
  if (filters.image !== undefined && filters.exact) and.push(Prisma.sql`v.image = ${filters.image}`);
  else if (filters.image) {
    and.push(Prisma.sql`strpos(lower(v.image || coalesce(':' || v.tag, '') || coalesce('@' || v.digest, '')), lower(${filters.image})) > 0`);
  }
  if (filters.version !== undefined) {
    const version = parseVersionFilter(filters.version);
    if (version.malformed) and.push(Prisma.sql`v.malformed IS NOT NULL`);
    else {
      and.push(Prisma.sql`v.malformed IS NULL`);
      and.push(version.tag === null ? Prisma.sql`v.tag IS NULL` : Prisma.sql`v.tag = ${version.tag}`);
      and.push(version.digest === null ? Prisma.sql`v.digest IS NULL` : Prisma.sql`v.digest = ${version.digest}`);
    }
  }
  return and;
}

/** Whether the filters concern single workloads, so that containers must be counted, not summary rows. */
const perWorkload = (filters: OverviewFilters) => Boolean(filters.q || filters.policy);

/**
 * The workloads a policy concerns, in the shown clusters: those with a present risk acceptance of
 * it, and those with a violation of it in their cluster's newest evaluation of the default branch
 * (a whole-repository evaluation counts for every cluster when it is the newer one).
 */
function concernedCte(scope: Scope, policy: string): Prisma.Sql {
  return Prisma.sql`concerned AS (
    SELECT ra.cluster_id, ra.object_kind AS kind, ra.object_namespace AS namespace, ra.object_name AS name
    FROM risk_acceptances ra
    WHERE ra.cluster_id = ANY(${intArray(scope.shown)}) AND ra.removed_at IS NULL AND ra.policy = ${policy}
    UNION
    SELECT vi.cluster_id, vi.object_kind, coalesce(vi.object_namespace, ''), vi.object_name
    FROM clusters c
    CROSS JOIN LATERAL (
      SELECT e.id FROM evaluations e
      WHERE e.repository_id = c.repository_id AND e.pull_request_number IS NULL AND (e.cluster_id = c.id OR e.cluster_id IS NULL)
      ORDER BY e.observed_at DESC, e.id DESC
      LIMIT 1
    ) latest
    JOIN violations vi ON vi.evaluation_id = latest.id AND vi.cluster_id = c.id AND vi.policy = ${policy}
    WHERE c.id = ANY(${intArray(scope.shown)})
  )`;
}

/** Conditions on a container `u`: namespace, search text and policy. */
function useConditions(filters: OverviewFilters): Prisma.Sql[] {
  const and: Prisma.Sql[] = [];
  if (filters.namespace !== undefined) and.push(Prisma.sql`u.namespace = ${filters.namespace}`);
  if (filters.q) and.push(Prisma.sql`strpos(u.search_text, ${filters.q.toLowerCase()}) > 0`);
  if (filters.policy) {
    and.push(Prisma.sql`EXISTS (SELECT 1 FROM concerned w WHERE w.cluster_id = u.cluster_id AND w.kind = u.workload_kind AND w.namespace = u.namespace AND w.name = u.workload_name)`);
  }
  return and;
}

const where = (conditions: Prisma.Sql[]) => (conditions.length ? Prisma.sql`AND ${Prisma.join(conditions, ' AND ')}` : Prisma.empty);

/**
 * CTEs ending in `base`: the summary rows the filters leave, each with the number of matching
 * containers (all of the row's, unless a per-workload filter counts fewer).
 */
function baseCtes(scope: Scope): Prisma.Sql {
  const { filters } = scope;
  const concerned = filters.policy ? Prisma.sql`${concernedCte(scope, filters.policy)},` : Prisma.empty;
  if (!perWorkload(filters)) {
    return Prisma.sql`base AS (
      SELECT v.id, v.cluster_id, v.namespace, v.image, v.tag, v.digest, v.malformed, v.family, v.version_key, v.containers
      FROM image_versions v
      WHERE v.cluster_id = ANY(${intArray(scope.shown)}) ${filters.namespace !== undefined ? Prisma.sql`AND v.namespace = ${filters.namespace}` : Prisma.empty} ${where(versionConditions(filters))}
    )`;
  }
  return Prisma.sql`${concerned} base AS (
    SELECT v.id, v.cluster_id, v.namespace, v.image, v.tag, v.digest, v.malformed, v.family, v.version_key, count(*)::int AS containers
    FROM image_uses u JOIN image_versions v ON v.id = u.version_id
    WHERE u.cluster_id = ANY(${intArray(scope.shown)}) ${where(useConditions(filters))} ${where(versionConditions(filters))}
    GROUP BY v.id
  )`;
}

export interface MatrixOptions {
  /** Columns: one per cluster, or one per (cluster, namespace). */
  columns: 'cluster' | 'namespace';
  /** The page of images (rows of the matrix), in image order. */
  images: Slice;
  /** Versions listed per cell (the most used first); the rest are counted. */
  versionsPerCell: number;
}

export interface MatrixVersion {
  tag: string | null;
  digest: string | null;
  malformed: string | null;
  containers: number;
  /** The newest tag of the same family deployed among the visible clusters, when newer than this one. */
  newer: string | null;
}

export interface MatrixCell {
  clusterId: number;
  /** '' in per-cluster columns. */
  namespace: string;
  image: string;
  containers: number;
  outdated: number;
  mutable: number;
  /** How many versions the cell has; `versions` lists the first versionsPerCell. */
  versionCount: number;
  versions: MatrixVersion[];
}

export interface MatrixImage {
  image: string;
  containers: number;
  /** Distinct versions among the filtered containers. */
  versions: number;
  outdated: number;
  mutable: number;
  /** The newest version tag of each of its tag families among the visible clusters. */
  newest: string[];
}

export interface ImageMatrix {
  /** The shown clusters (whether or not they have matching containers). */
  clusters: ClusterRef[];
  /** Columns with matching containers: cluster, namespace ('' per cluster) and how many containers. */
  columns: { clusterId: number; namespace: string; containers: number }[];
  /** The page of images. */
  images: MatrixImage[];
  cells: MatrixCell[];
  totals: { images: number; containers: number; outdated: number; mutable: number };
}

/**
 * Images × clusters (or × namespaces): per cell the versions run there with their container
 * counts and outdated/mutable counts, for one page of images. One query; the database groups.
 */
export async function imageMatrix(prisma: PrismaClient, repoIds: readonly bigint[], filters: OverviewFilters, options: MatrixOptions): Promise<ImageMatrix> {
  const scope = scopeOf(await readableClusters(prisma, repoIds), filters);
  const empty = { clusters: scope.clusters, columns: [], images: [], cells: [], totals: { images: 0, containers: 0, outdated: 0, mutable: 0 } };
  if (scope.shown.length === 0) return empty;
  const column = options.columns === 'namespace' ? Prisma.sql`namespace` : Prisma.sql`''::text`;
  const [row] = await prisma.$queryRaw<{ columns: ImageMatrix['columns']; images: MatrixImage[]; totals: ImageMatrix['totals']; cells: RawCell[] }[]>`
    WITH ${newestCte(scope)}, ${baseCtes(scope)},
    flagged AS (
      SELECT b.*, n.tag AS newer, (b.malformed IS NULL AND b.digest IS NULL) AS mutable
      FROM base b LEFT JOIN newest n ON n.image = b.image AND n.family = b.family AND n.version_key > b.version_key
    ),
    per_image AS (
      SELECT image, sum(containers)::int AS containers,
             coalesce(sum(containers) FILTER (WHERE newer IS NOT NULL), 0)::int AS outdated,
             coalesce(sum(containers) FILTER (WHERE mutable), 0)::int AS mutable
      FROM flagged GROUP BY image
    ),
    page_images AS (SELECT image FROM per_image ORDER BY image LIMIT ${options.images.limit} OFFSET ${options.images.offset}),
    cell_versions AS (
      SELECT f.cluster_id, ${column} AS namespace, f.image, f.tag, f.digest, f.malformed, f.newer, f.mutable, f.version_key, sum(f.containers)::int AS containers
      FROM flagged f JOIN page_images p ON p.image = f.image
      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
    ),
    -- Two hash aggregates instead of count(DISTINCT ...), which sorts.
    version_counts AS (
      SELECT image, count(*)::int AS versions
      FROM (SELECT image, tag, digest, malformed IS NULL FROM cell_versions GROUP BY 1, 2, 3, 4) d
      GROUP BY image
    ),
    ranked AS (
      SELECT cv.*,
             row_number() OVER (PARTITION BY cluster_id, namespace, image ORDER BY containers DESC, version_key DESC, tag, digest) AS rank,
             count(*) OVER cell AS version_count,
             sum(containers) OVER cell AS cell_containers,
             coalesce(sum(containers) FILTER (WHERE newer IS NOT NULL) OVER cell, 0) AS cell_outdated,
             coalesce(sum(containers) FILTER (WHERE mutable) OVER cell, 0) AS cell_mutable
      FROM cell_versions cv
      WINDOW cell AS (PARTITION BY cluster_id, namespace, image)
    )
    SELECT
      (SELECT coalesce(json_agg(json_build_object('clusterId', cluster_id, 'namespace', namespace, 'containers', containers)), '[]')
       FROM (SELECT cluster_id, ${column} AS namespace, sum(containers)::int AS containers FROM base GROUP BY 1, 2) c) AS columns,
      (SELECT coalesce(json_agg(json_build_object('image', p.image, 'containers', p.containers, 'versions', c.versions, 'outdated', p.outdated, 'mutable', p.mutable,
                'newest', (SELECT coalesce(json_agg(n.tag ORDER BY n.family), '[]') FROM newest n WHERE n.image = p.image)) ORDER BY p.image), '[]')
       FROM per_image p JOIN version_counts c ON c.image = p.image) AS images,
      (SELECT json_build_object('images', count(*), 'containers', coalesce(sum(containers), 0), 'outdated', coalesce(sum(outdated), 0), 'mutable', coalesce(sum(mutable), 0))
       FROM per_image) AS totals,
      (SELECT coalesce(json_agg(json_build_object(
                'clusterId', cluster_id, 'namespace', namespace, 'image', image, 'tag', tag, 'digest', digest, 'malformed', malformed, 'newer', newer,
                'containers', containers, 'rank', rank, 'versionCount', version_count, 'cellContainers', cell_containers,
                'cellOutdated', cell_outdated, 'cellMutable', cell_mutable) ORDER BY cluster_id, namespace, image, rank), '[]')
       FROM ranked WHERE rank <= ${options.versionsPerCell}) AS cells`;
  if (!row) return empty;
  const cells = new Map<string, MatrixCell>();
  for (const c of row.cells) {
    const key = JSON.stringify([c.clusterId, c.namespace, c.image]);
    let cell = cells.get(key);
    if (!cell) {
      cell = { clusterId: c.clusterId, namespace: c.namespace, image: c.image, containers: c.cellContainers, outdated: c.cellOutdated, mutable: c.cellMutable, versionCount: c.versionCount, versions: [] };
      cells.set(key, cell);
    }
    cell.versions.push({ tag: c.tag, digest: c.digest, malformed: c.malformed, containers: c.containers, newer: c.newer });
  }
  return { clusters: scope.clusters, columns: row.columns, images: row.images, cells: [...cells.values()], totals: row.totals };
}

interface RawCell {
  clusterId: number;
  namespace: string;
  image: string;
  tag: string | null;
  digest: string | null;
  malformed: string | null;
  newer: string | null;
  containers: number;
  rank: number;
  versionCount: number;
  cellContainers: number;
  cellOutdated: number;
  cellMutable: number;
}

export interface ContainerRow {
  cluster: ClusterRef;
  namespace: string;
  workloadKind: string;
  workloadName: string;
  container: string;
  reference: string;
  image: string;
  registry: string | null;
  repository: string | null;
  tag: string | null;
  digest: string | null;
  malformed: string | null;
  file: string | null;
  line: number | null;
  commitSha: string;
  /** The newest tag of the same family deployed among the visible clusters, when newer than this one. */
  newer: string | null;
}

/**
 * One page of the containers the filters leave, ordered by repository, cluster, namespace,
 * workload and container, with the total. The page is read cluster by cluster: each cluster's
 * count comes from the summary, so only the clusters the page spans are read, from their index.
 */
export async function listContainers(prisma: PrismaClient, repoIds: readonly bigint[], filters: OverviewFilters, slice: Slice): Promise<{ total: number; rows: ContainerRow[] }> {
  const scope = scopeOf(await readableClusters(prisma, repoIds), filters);
  if (scope.shown.length === 0) return { total: 0, rows: [] };
  const counts = await prisma.$queryRaw<{ cluster_id: number; containers: number }[]>`
    WITH ${baseCtes(scope)}
    SELECT cluster_id, sum(containers)::int AS containers FROM base GROUP BY cluster_id`;
  const perCluster = new Map(counts.map((c) => [c.cluster_id, c.containers]));
  const total = counts.reduce((sum, c) => sum + c.containers, 0);
  const rows: ContainerRow[] = [];
  let skip = slice.offset;
  for (const cluster of scope.clusters) {
    if (rows.length >= slice.limit) break;
    const n = perCluster.get(cluster.id) ?? 0;
    if (skip >= n) {
      skip -= n;
      continue;
    }
    const concerned = filters.policy ? Prisma.sql`, ${concernedCte({ ...scope, shown: [cluster.id] }, filters.policy)}` : Prisma.empty;
    // The page first, from the list-order index, then its summary rows and outdated statuses:
    // joining before the LIMIT would sort every container of the cluster to keep a hundred.
    const versionFilter = versionConditions(filters);
    const page = await prisma.$queryRaw<Omit<ContainerRow, 'cluster'>[]>`
      WITH ${newestCte(scope)} ${concerned},
      page AS (
        SELECT u.* FROM image_uses u
        WHERE u.cluster_id = ${cluster.id} ${where(useConditions(filters))}
          ${versionFilter.length ? Prisma.sql`AND u.version_id IN (SELECT v.id FROM image_versions v WHERE v.cluster_id = ${cluster.id} ${where(versionFilter)})` : Prisma.empty}
        ORDER BY u.namespace, u.workload_name, u.workload_kind, u.container, u.id
        LIMIT ${slice.limit - rows.length} OFFSET ${skip}
      )
      SELECT p.namespace, p.workload_kind AS "workloadKind", p.workload_name AS "workloadName", p.container, p.reference, p.registry, p.repository,
             p.tag, p.digest, p.malformed, p.file, p.line, p.commit_sha AS "commitSha", v.image, n.tag AS newer
      FROM page p
      JOIN image_versions v ON v.id = p.version_id
      LEFT JOIN newest n ON n.image = v.image AND n.family = v.family AND n.version_key > v.version_key
      ORDER BY p.namespace, p.workload_name, p.workload_kind, p.container, p.id`;
    skip = 0;
    for (const row of page) rows.push({ cluster, ...row });
  }
  return { total, rows };
}

/** The risk-acceptance register, one page with the total (present acceptances; removed ones too with `includeRemoved`). */
export async function listRiskAcceptances(prisma: PrismaClient, repoIds: readonly bigint[], filters: OverviewFilters, options: { includeRemoved?: boolean }, slice: Slice) {
  const and: Prisma.RiskAcceptanceWhereInput[] = [{ repository: repoWhere(repoIds, filters.repo) }];
  if (!options.includeRemoved) and.push({ removedAt: null });
  if (filters.cluster) and.push({ cluster: { name: filters.cluster } });
  if (filters.namespace !== undefined) and.push({ objectNamespace: filters.namespace });
  if (filters.policy) and.push({ policy: filters.policy });
  if (filters.q) {
    and.push({
      OR: [
        { reason: contains(filters.q) },
        { objectName: contains(filters.q) },
        { policy: contains(filters.q) },
        { introducedCommitAuthor: contains(filters.q) },
        { introducedPushedBy: contains(filters.q) },
        { introducedMergedBy: contains(filters.q) },
        { introducedOpenedBy: contains(filters.q) },
      ],
    });
  }
  const [total, rows] = await Promise.all([
    prisma.riskAcceptance.count({ where: { AND: and } }),
    prisma.riskAcceptance.findMany({
      where: { AND: and },
      include: { cluster: { select: { name: true } }, repository: { select: { owner: true, name: true } } },
      // id last: a stable order, so pages neither repeat nor skip a row.
      orderBy: [{ repositoryId: 'asc' }, { clusterId: 'asc' }, { policy: 'asc' }, { objectNamespace: 'asc' }, { objectName: 'asc' }, { objectKind: 'asc' }, { id: 'asc' }],
      skip: slice.offset,
      take: slice.limit,
    }),
  ]);
  return { total, rows };
}

/** Recent evaluations, newest first, one page with the total; with `policy`, only those that found a violation of it. */
export async function listEvaluations(prisma: PrismaClient, repoIds: readonly bigint[], filters: OverviewFilters & { pullRequest?: number }, slice: Slice) {
  const and: Prisma.EvaluationWhereInput[] = [{ repository: repoWhere(repoIds, filters.repo) }];
  if (filters.cluster) and.push({ OR: [{ cluster: { name: filters.cluster } }, { violations: { some: { cluster: { name: filters.cluster } } } }] });
  if (filters.policy) and.push({ violations: { some: { policy: filters.policy } } });
  // Cluster-scoped objects' violations have no namespace ('' in the filters).
  if (filters.namespace !== undefined) and.push({ violations: { some: { objectNamespace: filters.namespace || null } } });
  if (filters.pullRequest !== undefined) and.push({ pullRequestNumber: filters.pullRequest });
  if (filters.q) and.push({ OR: [{ sha: { startsWith: filters.q.toLowerCase() } }, { ref: contains(filters.q) }, { conclusion: filters.q.toLowerCase() }] });
  const [total, rows] = await Promise.all([
    prisma.evaluation.count({ where: { AND: and } }),
    prisma.evaluation.findMany({
      where: { AND: and },
      include: { cluster: { select: { name: true } }, repository: { select: { owner: true, name: true } } },
      orderBy: [{ finishedAt: 'desc' }, { id: 'desc' }],
      skip: slice.offset,
      take: slice.limit,
    }),
  ]);
  return { total, rows };
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

/** Containers listed per stage cell (the cell counts them all). */
export const STAGE_WORKLOADS = 20;

/** What one stage runs of one version of an image. */
export interface StageVersionRow {
  /** Index of the stage in `stages`. */
  stage: number;
  image: string;
  tag: string | null;
  digest: string | null;
  malformed: string | null;
  containers: number;
  /** `Kind/name (container)`, sorted, at most STAGE_WORKLOADS. */
  workloads: string[];
}

/**
 * The Application stages of the given repositories' default branches, and per stage what its
 * cluster (the cluster of that name in the same repository) runs there, grouped by image version:
 * a stage's containers are those in its targetNamespace or, without one, those whose manifest lies
 * under its resourcesPath. `filesUnknown`: clusters whose inventory predates manifest paths.
 */
export async function listApplicationStages(prisma: PrismaClient, repoIds: readonly bigint[], filters: OverviewFilters = {}) {
  const stages = await prisma.applicationStage.findMany({
    where: { repository: repoWhere(repoIds, filters.repo) },
    include: { repository: { select: { owner: true, name: true, applicationsSha: true } } },
    orderBy: [{ repositoryId: 'asc' }, { application: 'asc' }, { position: 'asc' }],
  });
  const clusters = new Map((await readableClusters(prisma, repoIds)).map((c) => [`${c.repo}\u0000${c.name}`, c.id]));
  const selectors = stages.flatMap((s, i) => {
    const clusterId = clusters.get(`${s.repository.owner}/${s.repository.name}\u0000${s.cluster}`);
    return clusterId === undefined ? [] : [{ stage: i, clusterId, namespace: s.targetNamespace, path: s.targetNamespace === null ? s.resourcesPath : null }];
  });
  /** Stage index → its cluster's id; a stage naming no recorded cluster has none. */
  const clusterOf = new Map(selectors.map((s) => [s.stage, s.clusterId]));
  if (selectors.length === 0) return { stages, versions: [] as StageVersionRow[], filesUnknown: new Set<number>(), clusterOf };
  const versions = await prisma.$queryRaw<StageVersionRow[]>`
    WITH stage AS (
      SELECT * FROM unnest(${selectors.map((s) => s.stage)}::int[], ${selectors.map((s) => s.clusterId)}::int[],
                           ${selectors.map((s) => s.namespace)}::text[], ${selectors.map((s) => s.path)}::text[]) AS s(stage, cluster_id, namespace, path)
    )
    SELECT s.stage, v.image, v.tag, v.digest, v.malformed, count(*)::int AS containers,
           (array_agg(DISTINCT u.workload_kind || '/' || u.workload_name || ' (' || u.container || ')'
                      ORDER BY u.workload_kind || '/' || u.workload_name || ' (' || u.container || ')'))[1:${STAGE_WORKLOADS}] AS workloads
    FROM stage s
    JOIN image_uses u ON u.cluster_id = s.cluster_id AND CASE
      WHEN s.namespace IS NOT NULL THEN u.namespace = s.namespace
      ELSE s.path = '' OR u.file = s.path OR starts_with(u.file, s.path || '/')
    END
    JOIN image_versions v ON v.id = u.version_id
    WHERE TRUE ${where(versionConditions(filters))}
    GROUP BY s.stage, v.image, v.tag, v.digest, v.malformed
    ORDER BY s.stage, v.image, v.tag, v.digest`;
  const byPath = [...new Set(selectors.filter((s) => s.path !== null).map((s) => s.clusterId))];
  const unknown = byPath.length
    ? await prisma.$queryRaw<{ cluster_id: number }[]>`
        SELECT c.id AS cluster_id FROM unnest(${byPath}::int[]) AS c(id)
        WHERE EXISTS (SELECT 1 FROM image_uses u WHERE u.cluster_id = c.id AND u.file IS NULL)`
    : [];
  return { stages, versions, filesUnknown: new Set(unknown.map((u) => u.cluster_id)), clusterOf };
}

/** The repositories among `ids` that Parapet knows, by id. */
export async function knownRepositories(prisma: PrismaClient, ids: readonly bigint[]) {
  return prisma.repository.findMany({ where: { id: { in: [...ids] } }, select: { id: true, owner: true, name: true }, orderBy: [{ owner: 'asc' }, { name: 'asc' }] });
}

/**
 * The filters' choices among the given repositories: cluster names, namespaces with images, and
 * policies (enabled in a cluster, or with a risk acceptance).
 */
export async function filterChoices(prisma: PrismaClient, repoIds: readonly bigint[]) {
  const clusters = await readableClusters(prisma, repoIds);
  if (clusters.length === 0) return { clusters: [], namespaces: [], policies: [] };
  const ids = intArray(clusters.map((c) => c.id));
  const [namespaces, policies] = await Promise.all([
    // The namespaces of the inventory and of the register ('' for cluster-scoped objects).
    prisma.$queryRaw<{ namespace: string }[]>`
      SELECT DISTINCT namespace FROM image_versions WHERE cluster_id = ANY(${ids})
      UNION SELECT object_namespace FROM risk_acceptances WHERE cluster_id = ANY(${ids}) AND removed_at IS NULL`,
    prisma.$queryRaw<{ policy: string }[]>`
      SELECT template AS policy FROM cluster_policies WHERE cluster_id = ANY(${ids})
      UNION SELECT policy FROM risk_acceptances WHERE cluster_id = ANY(${ids})
      ORDER BY policy`,
  ]);
  return {
    clusters: [...new Set(clusters.map((c) => c.name))].sort(compareNames),
    namespaces: namespaces.map((n) => n.namespace).sort(compareNames),
    policies: policies.map((p) => p.policy),
  };
}
