// Read queries of the compliance pages: per cluster the user may read, its newest default-branch
// evaluation and the newest push, the constraints it enables, what that evaluation found per
// policy, the violations themselves, and the history behind the trends. As in overview.ts, the
// readable repositories are part of every WHERE clause.
import { Prisma, type PrismaClient } from '@prisma/client';
import { compareNames, type Slice } from './overview.js';

/** A cluster with what decides its compliance column. */
export interface ComplianceClusterRow {
  id: number;
  name: string;
  /** `owner/name` of its repository. */
  repo: string;
  production: boolean | null;
  securityLevel: string | null;
  configSha: string | null;
  /** The newest push to the repository's default branch, noted before its evaluation. */
  pushedSha: string | null;
  pushedAt: Date | null;
  /** Its newest evaluation of the default branch (pull requests excluded); null when none. */
  evaluationId: bigint | null;
  evaluationSha: string | null;
  evaluationConclusion: string | null;
  evaluationObservedAt: Date | null;
  evaluationFinishedAt: Date | null;
}

/**
 * The clusters of the readable repositories, by repository then name, each with its newest
 * default-branch evaluation: the cluster's own, or a whole-repository one when that is newer (as
 * the overview's policy filter reads them).
 */
export async function complianceClusters(prisma: PrismaClient, repoIds: readonly bigint[]): Promise<ComplianceClusterRow[]> {
  if (repoIds.length === 0) return [];
  const rows = await prisma.$queryRaw<ComplianceClusterRow[]>`
    SELECT c.id, c.name, r.owner || '/' || r.name AS repo, c.production, c.security_level AS "securityLevel", c.config_sha AS "configSha",
           r.pushed_sha AS "pushedSha", r.pushed_at AS "pushedAt",
           e.id AS "evaluationId", e.sha AS "evaluationSha", e.conclusion AS "evaluationConclusion",
           e.observed_at AS "evaluationObservedAt", e.finished_at AS "evaluationFinishedAt"
    FROM clusters c
    JOIN repositories r ON r.id = c.repository_id
    LEFT JOIN LATERAL (
      SELECT e.id, e.sha, e.conclusion, e.observed_at, e.finished_at FROM evaluations e
      WHERE e.repository_id = c.repository_id AND e.pull_request_number IS NULL AND (e.cluster_id = c.id OR e.cluster_id IS NULL)
      ORDER BY e.observed_at DESC, e.id DESC
      LIMIT 1
    ) e ON TRUE
    WHERE c.repository_id = ANY(${[...repoIds]}::bigint[])`;
  return rows.sort((a, b) => compareNames(a.repo, b.repo) || compareNames(a.name, b.name));
}

export interface ConstraintRow {
  clusterId: number;
  template: string;
  kind: string;
  constraint: string;
  enforcementAction: string;
  version: string | null;
  title: string | null;
  /** Null when recorded before parameters were kept (unknown, never compared). */
  parameters: unknown;
}

/** The constraints enabled in these clusters on the default branch, by cluster and constraint name. */
export async function enabledConstraints(prisma: PrismaClient, clusterIds: readonly number[]): Promise<ConstraintRow[]> {
  if (clusterIds.length === 0) return [];
  // Sorted here: sorting text in the database goes through its collation, which costs PGlite more
  // than the whole query.
  const rows = await prisma.$queryRaw<ConstraintRow[]>`
    SELECT cluster_id AS "clusterId", template, kind, "constraint", enforcement_action AS "enforcementAction", version, title, parameters
    FROM cluster_policies
    WHERE cluster_id = ANY(${[...clusterIds]}::int[])`;
  return rows.sort((a, b) => a.clusterId - b.clusterId || compareNames(a.constraint, b.constraint));
}

/** What one evaluation found of one policy in one cluster. */
export interface PolicyFindings {
  clusterId: number;
  policy: string;
  violations: number;
  /** Of those, violations a risk acceptance covers. */
  acceptedViolations: number;
  /** Distinct objects (kind, namespace, name) with a violation of it. */
  objects: number;
  /** Of those, objects with an accepted violation of it. */
  accepted: number;
  /** Objects with a violation of it that no risk acceptance covers. */
  open: number;
}

/** Per cluster and policy, what the given evaluation of each cluster found. */
export async function policyFindings(prisma: PrismaClient, evaluations: readonly { clusterId: number; evaluationId: bigint }[]): Promise<PolicyFindings[]> {
  if (evaluations.length === 0) return [];
  return prisma.$queryRaw<PolicyFindings[]>`
    WITH latest AS (
      SELECT * FROM unnest(${evaluations.map((e) => e.clusterId)}::int[], ${evaluations.map((e) => e.evaluationId)}::bigint[]) AS l(cluster_id, evaluation_id)
    ),
    -- Grouped by bytes (COLLATE "C"): PGlite, without statistics, groups by sorting, and sorting
    -- through the database's collation costs more than the rest of the query.
    objects AS (
      SELECT vi.cluster_id, vi.policy COLLATE "C" AS policy, vi.object_kind COLLATE "C" AS kind, coalesce(vi.object_namespace, '') COLLATE "C" AS namespace,
             vi.object_name COLLATE "C" AS name,
             count(*)::int AS violations, count(*) FILTER (WHERE vi.acceptance_level IS NOT NULL)::int AS accepted_violations,
             bool_or(vi.acceptance_level IS NOT NULL) AS accepted, bool_or(vi.acceptance_level IS NULL) AS open
      FROM latest l JOIN violations vi ON vi.evaluation_id = l.evaluation_id AND vi.cluster_id = l.cluster_id
      GROUP BY 1, 2, 3, 4, 5
    )
    SELECT cluster_id AS "clusterId", policy, sum(violations)::int AS violations, sum(accepted_violations)::int AS "acceptedViolations", count(*)::int AS objects,
           count(*) FILTER (WHERE accepted)::int AS accepted, count(*) FILTER (WHERE open)::int AS open
    FROM objects
    GROUP BY 1, 2`;
}

export interface ViolationFilters {
  policy?: string | undefined;
  namespace?: string | undefined;
  q?: string | undefined;
}

export interface ViolationRow {
  clusterId: number;
  sha: string;
  policy: string;
  constraint: string;
  enforcementAction: string;
  message: string;
  file: string;
  line: number;
  objectApiVersion: string;
  objectKind: string;
  objectNamespace: string | null;
  objectName: string;
  acceptanceLevel: string | null;
}

/**
 * One page of the violations the given evaluations found (one per cluster, in the order given), by
 * cluster, policy, namespace, object and constraint, with the total.
 */
export async function listViolations(
  prisma: PrismaClient,
  evaluations: readonly { clusterId: number; evaluationId: bigint }[],
  filters: ViolationFilters,
  slice: Slice,
): Promise<{ total: number; rows: ViolationRow[] }> {
  if (evaluations.length === 0) return { total: 0, rows: [] };
  const and: Prisma.Sql[] = [];
  if (filters.policy) and.push(Prisma.sql`vi.policy = ${filters.policy}`);
  // Cluster-scoped objects have no namespace ('' in the filters).
  if (filters.namespace !== undefined) and.push(filters.namespace === '' ? Prisma.sql`vi.object_namespace IS NULL` : Prisma.sql`vi.object_namespace = ${filters.namespace}`);
  if (filters.q) {
    const q = filters.q.toLowerCase();
    and.push(Prisma.sql`(strpos(lower(vi.object_kind || '/' || vi.object_name), ${q}) > 0 OR strpos(lower(vi.message), ${q}) > 0 OR strpos(lower(vi."constraint"), ${q}) > 0 OR strpos(lower(vi.file), ${q}) > 0)`);
  }
  const where = and.length ? Prisma.sql`AND ${Prisma.join(and, ' AND ')}` : Prisma.empty;
  const latest = Prisma.sql`latest AS (
    SELECT * FROM unnest(${evaluations.map((e) => e.clusterId)}::int[], ${evaluations.map((e) => e.evaluationId)}::bigint[]) WITH ORDINALITY AS l(cluster_id, evaluation_id, position)
  )`;
  const [counted, rows] = await Promise.all([
    prisma.$queryRaw<{ total: number }[]>`
      WITH ${latest}
      SELECT count(*)::int AS total FROM latest l JOIN violations vi ON vi.evaluation_id = l.evaluation_id AND vi.cluster_id = l.cluster_id
      WHERE TRUE ${where}`,
    prisma.$queryRaw<ViolationRow[]>`
      WITH ${latest}
      SELECT vi.cluster_id AS "clusterId", e.sha, vi.policy, vi."constraint", vi.enforcement_action AS "enforcementAction", vi.message, vi.file, vi.line,
             vi.object_api_version AS "objectApiVersion", vi.object_kind AS "objectKind", vi.object_namespace AS "objectNamespace", vi.object_name AS "objectName",
             vi.acceptance_level AS "acceptanceLevel"
      FROM latest l
      JOIN violations vi ON vi.evaluation_id = l.evaluation_id AND vi.cluster_id = l.cluster_id
      JOIN evaluations e ON e.id = l.evaluation_id
      WHERE TRUE ${where}
      ORDER BY l.position, vi.policy COLLATE "C", coalesce(vi.object_namespace, '') COLLATE "C", vi.object_kind COLLATE "C", vi.object_name COLLATE "C", vi."constraint" COLLATE "C", vi.id
      LIMIT ${slice.limit} OFFSET ${slice.offset}`,
  ]);
  return { total: counted[0]?.total ?? 0, rows };
}

export interface ClusterHistory {
  /** Per cluster, its last default-branch evaluation of each day from `since`, and the last one before. */
  evaluations: { clusterId: number; day: string; violations: number; accepted: number }[];
  /** The same of its inventory counts. */
  inventories: { clusterId: number; day: string; containers: number; outdated: number; mutable: number }[];
}

/**
 * The history behind the trends: for each cluster, the last default-branch evaluation and the last
 * inventory count of each UTC day since `since`, and the last of each before it (the state the
 * period starts from, dated the day before `since`). Only the cluster's own evaluations count: the
 * App evaluates the default branch cluster by cluster.
 */
export async function clusterHistory(prisma: PrismaClient, clusterIds: readonly number[], since: Date): Promise<ClusterHistory> {
  if (clusterIds.length === 0) return { evaluations: [], inventories: [] };
  const ids = Prisma.sql`${[...clusterIds]}::int[]`;
  const before = new Date(since.getTime() - 86_400_000).toISOString().slice(0, 10);
  const [evaluations, inventories] = await Promise.all([
    prisma.$queryRaw<ClusterHistory['evaluations']>`
      SELECT * FROM (
        SELECT DISTINCT ON (cluster_id, day) cluster_id AS "clusterId", day, violation_count AS violations, accepted_count AS accepted
        FROM (SELECT e.*, to_char(e.observed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day FROM evaluations e
              WHERE e.cluster_id = ANY(${ids}) AND e.pull_request_number IS NULL AND e.observed_at >= ${since}) e
        ORDER BY cluster_id, day, observed_at DESC, id DESC
      ) d
      UNION ALL
      SELECT * FROM (
        SELECT DISTINCT ON (cluster_id) cluster_id, ${before}, violation_count, accepted_count
        FROM evaluations
        WHERE cluster_id = ANY(${ids}) AND pull_request_number IS NULL AND observed_at < ${since}
        ORDER BY cluster_id, observed_at DESC, id DESC
      ) b`,
    prisma.$queryRaw<ClusterHistory['inventories']>`
      SELECT * FROM (
        SELECT DISTINCT ON (cluster_id, day) cluster_id AS "clusterId", day, containers, outdated, mutable
        FROM (SELECT s.*, to_char(s.observed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day FROM inventory_snapshots s
              WHERE s.cluster_id = ANY(${ids}) AND s.observed_at >= ${since}) s
        ORDER BY cluster_id, day, observed_at DESC
      ) d
      UNION ALL
      SELECT * FROM (
        SELECT DISTINCT ON (cluster_id) cluster_id, ${before}, containers, outdated, mutable
        FROM inventory_snapshots
        WHERE cluster_id = ANY(${ids}) AND observed_at < ${since}
        ORDER BY cluster_id, observed_at DESC
      ) b`,
  ]);
  return { evaluations, inventories };
}
