// What the pages and the API show, computed once for both: the store's rows for the repositories
// the user may read, with version statuses, in plain JSON-able objects.
import type { PrismaClient } from '@prisma/client';
import {
  filterChoices,
  findClusters,
  imageMatrix,
  listApplicationStages,
  listContainers,
  listEvaluations,
  listRiskAcceptances,
  compareNames,
  versionText,
  type OverviewFilters,
} from './queries/overview.js';
import { compareTags, mutability, type Mutability } from '../engine/index.js';

/** A page of a list: which page (from 1), its size, and how many rows the whole list has. */
export interface PageInfo {
  page: number;
  limit: number;
  total: number;
}

const offsetOf = (p: { page: number; limit: number }) => ({ offset: (p.page - 1) * p.limit, limit: p.limit });

/** One version of an image in a cell: how many of the cell's containers run it, and its flags. */
export interface VersionCount {
  /** `1.19-alpine`, `v1.2.3@sha256:…`, `@sha256:…`, `(no tag)` or `(malformed)`: also the `version` filter's value. */
  version: string;
  tag: string | null;
  digest: string | null;
  malformed: string | null;
  containers: number;
  outdated: boolean;
  /** The newest tag of the same family deployed in a cluster the user may see, when newer. */
  newer: string | null;
  mutable: Mutability | null;
}

export interface MatrixColumn {
  /** `repo:cluster`, or `repo:cluster:namespace` in per-namespace columns: the key of `cells`. */
  key: string;
  repo: string;
  cluster: string;
  /** Set in per-namespace columns ('' for cluster-scoped objects); null in per-cluster columns. */
  namespace: string | null;
  containers: number;
}

export interface MatrixCell {
  containers: number;
  /** Containers running an outdated / a mutable version. */
  outdated: number;
  mutable: number;
  /** The most used versions first, at most VERSIONS_PER_CELL; `moreVersions` are not listed. */
  versions: VersionCount[];
  moreVersions: number;
}

export interface MatrixRow {
  /** registry/repository, or the reference as written when malformed. */
  image: string;
  containers: number;
  /** Distinct versions among the image's filtered containers; more than one is drift. */
  versions: number;
  drift: boolean;
  outdated: number;
  mutable: number;
  /** The newest version tag of each tag family of the image among the clusters the user may see. */
  newest: string[];
  /** By column key; a column without the image has no entry. */
  cells: Record<string, MatrixCell>;
}

export interface ImagesView {
  /** Per cluster, or per namespace when a cluster is chosen. */
  columnsBy: 'cluster' | 'namespace';
  columns: MatrixColumn[];
  /** One page of images, by name. */
  rows: MatrixRow[];
  summary: { images: number; containers: number; outdated: number; mutable: number; clusters: number };
  /** Paging of the images (rows). */
  page: PageInfo;
}

export const VERSIONS_PER_CELL = 3;
export const IMAGES_PAGE = { limit: 50, maxLimit: 200 };
export const CONTAINERS_PAGE = { limit: 100, maxLimit: 500 };
export const EVALUATIONS_PAGE = { limit: 100, maxLimit: 500 };
export const RISKS_PAGE = { limit: 100, maxLimit: 500 };

const columnKey = (repo: string, cluster: string, namespace: string | null) => (namespace === null ? `${repo}:${cluster}` : `${repo}:${cluster}:${namespace}`);

/** A deployed version as the overview shows it: its text, outdated (with the newer tag) and mutable. */
function versionFlags(v: { tag: string | null; digest: string | null; malformed: string | null; newer: string | null }) {
  return { version: versionText(v), outdated: v.newer !== null, newer: v.newer, mutable: v.malformed ? null : mutability(v) };
}

/**
 * Images × clusters (× namespaces when a cluster is chosen): for one page of images, per cell the
 * versions with their container counts, outdated and mutable. "Outdated" is decided among every
 * cluster the user may see, before the filters apply.
 */
export async function imagesView(prisma: PrismaClient, repoIds: readonly bigint[], filters: OverviewFilters, page: { page: number; limit: number }): Promise<ImagesView> {
  const columnsBy = filters.cluster ? 'namespace' : 'cluster';
  const matrix = await imageMatrix(prisma, repoIds, filters, { columns: columnsBy, images: offsetOf(page), versionsPerCell: VERSIONS_PER_CELL });
  const byId = new Map(matrix.clusters.map((c, i) => [c.id, { cluster: c, order: i }]));
  const columns = matrix.columns
    .map((c) => {
      const { cluster, order } = byId.get(c.clusterId)!;
      const namespace = columnsBy === 'namespace' ? c.namespace : null;
      return { order, column: { key: columnKey(cluster.repo, cluster.name, namespace), repo: cluster.repo, cluster: cluster.name, namespace, containers: c.containers } };
    })
    .sort((a, b) => a.order - b.order || compareNames(a.column.namespace ?? '', b.column.namespace ?? ''))
    .map((c) => c.column);
  const rows = new Map<string, MatrixRow>(
    matrix.images.map((i) => [i.image, { image: i.image, containers: i.containers, versions: i.versions, drift: i.versions > 1, outdated: i.outdated, mutable: i.mutable, newest: i.newest, cells: {} }]),
  );
  for (const cell of matrix.cells) {
    const row = rows.get(cell.image);
    const { cluster } = byId.get(cell.clusterId)!;
    if (!row) continue;
    row.cells[columnKey(cluster.repo, cluster.name, columnsBy === 'namespace' ? cell.namespace : null)] = {
      containers: cell.containers,
      outdated: cell.outdated,
      mutable: cell.mutable,
      versions: cell.versions.map((v) => ({ tag: v.tag, digest: v.digest, malformed: v.malformed, containers: v.containers, ...versionFlags(v) })),
      moreVersions: cell.versionCount - cell.versions.length,
    };
  }
  return {
    columnsBy,
    columns,
    rows: [...rows.values()],
    summary: { ...matrix.totals, clusters: new Set(columns.map((c) => `${c.repo}:${c.cluster}`)).size },
    page: { ...page, total: matrix.totals.images },
  };
}

/** One container of the inventory: where it runs, what it runs, and its flags. */
export interface ContainerRow {
  repo: string;
  cluster: string;
  namespace: string;
  workload: { kind: string; name: string };
  container: string;
  /** The reference as written in the manifest. */
  reference: string;
  image: string;
  version: string;
  registry: string | null;
  repository: string | null;
  tag: string | null;
  digest: string | null;
  malformed: string | null;
  /** The manifest (path in the repository) and line of the image, at commitSha; null when not recorded. */
  file: string | null;
  line: number | null;
  commitSha: string;
  outdated: boolean;
  newer: string | null;
  mutable: Mutability | null;
}

/** One page of the containers the filters leave, by repository, cluster, namespace, workload and container. */
export async function containersView(prisma: PrismaClient, repoIds: readonly bigint[], filters: OverviewFilters, page: { page: number; limit: number }) {
  const { total, rows } = await listContainers(prisma, repoIds, filters, offsetOf(page));
  return {
    page: { ...page, total } satisfies PageInfo,
    rows: rows.map(
      (r): ContainerRow => ({
        repo: r.cluster.repo,
        cluster: r.cluster.name,
        namespace: r.namespace,
        workload: { kind: r.workloadKind, name: r.workloadName },
        container: r.container,
        reference: r.reference,
        image: r.image,
        registry: r.registry,
        repository: r.repository,
        tag: r.tag,
        digest: r.digest,
        malformed: r.malformed,
        file: r.file,
        line: r.line,
        commitSha: r.commitSha,
        ...versionFlags(r),
      }),
    ),
  };
}

export async function risksView(prisma: PrismaClient, repoIds: readonly bigint[], filters: OverviewFilters, includeRemoved: boolean, page: { page: number; limit: number }) {
  const { total, rows } = await listRiskAcceptances(prisma, repoIds, filters, { includeRemoved }, offsetOf(page));
  return {
    page: { ...page, total } satisfies PageInfo,
    includeRemoved,
    rows: rows.map((r) => ({
    repo: `${r.repository.owner}/${r.repository.name}`,
    cluster: r.cluster.name,
    policy: r.policy,
    object: { kind: r.objectKind, namespace: r.objectNamespace || null, name: r.objectName },
    level: r.level,
    reason: r.reason,
    file: r.file,
    line: r.line,
    introducedSha: r.introducedSha,
    introducedPullRequest: r.introducedPullRequest,
    /** Who GitHub says pushed the commit, opened its pull request and merged it: who introduced it. */
    introducedPushedBy: r.introducedPushedBy,
    introducedOpenedBy: r.introducedOpenedBy,
    introducedMergedBy: r.introducedMergedBy,
    /** The commit's author and date as the commit states them: unverified, never who introduced it. */
    introducedCommitAuthor: r.introducedCommitAuthor,
    introducedAt: r.introducedAt?.toISOString() ?? null,
    firstSeenAt: r.firstSeenAt.toISOString(),
    firstSeenSha: r.firstSeenSha,
    lastSeenAt: r.lastSeenAt.toISOString(),
    removedAt: r.removedAt?.toISOString() ?? null,
    })),
  };
}
export type RisksView = Awaited<ReturnType<typeof risksView>>;
export type RiskRow = RisksView['rows'][number];

export async function evaluationsView(prisma: PrismaClient, repoIds: readonly bigint[], filters: OverviewFilters & { pullRequest?: number }, page: { page: number; limit: number }) {
  const { total, rows } = await listEvaluations(prisma, repoIds, filters, offsetOf(page));
  return {
    page: { ...page, total } satisfies PageInfo,
    rows: rows.map((e) => ({
      id: e.id.toString(),
      repo: `${e.repository.owner}/${e.repository.name}`,
      sha: e.sha,
      pullRequest: e.pullRequestNumber,
      ref: e.ref,
      cluster: e.cluster?.name ?? null,
      conclusion: e.conclusion,
      violations: e.violationCount,
      newViolations: e.newViolationCount,
      accepted: e.acceptedCount,
      errors: e.errorCount,
      finishedAt: e.finishedAt.toISOString(),
    })),
  };
}
export type EvaluationRow = Awaited<ReturnType<typeof evaluationsView>>['rows'][number];

export async function clusterView(prisma: PrismaClient, repoIds: readonly bigint[], name: string, repo?: string) {
  const clusters = await findClusters(prisma, repoIds, name, repo);
  return clusters.map((c) => ({
    repo: `${c.repository.owner}/${c.repository.name}`,
    name: c.name,
    config: c.config,
    defaultBranch: c.repository.defaultBranch,
    inventorySha: c.inventorySha,
    inventoryAt: c.inventoryAt?.toISOString() ?? null,
    images: c._count.images,
    riskAcceptances: c._count.riskAcceptances,
    latestEvaluation: c.latestEvaluation
      ? { id: c.latestEvaluation.id.toString(), sha: c.latestEvaluation.sha, conclusion: c.latestEvaluation.conclusion, finishedAt: c.latestEvaluation.finishedAt.toISOString() }
      : null,
    policies: c.policies,
    settings: {
      tenant: c.tenant,
      contactEmail: c.contactEmail,
      contactSlack: c.contactSlack,
      description: c.description,
      production: c.production,
      securityLevel: c.securityLevel,
      geographicLocation: c.geographicLocation,
      costCenter: c.costCenter,
    },
    configSha: c.configSha,
    configAt: c.configAt?.toISOString() ?? null,
    enabledPolicies: c.enabledPolicies.map((p) => ({ template: p.template, kind: p.kind, constraint: p.constraint, enforcementAction: p.enforcementAction, version: p.version })),
  }));
}
export type ClusterRow = Awaited<ReturnType<typeof clusterView>>[number];

/** What one stage runs of one image: its distinct versions (versionText), and which containers. */
export interface StageCell {
  versions: string[];
  /** The tags among them (for comparison with versions.ts). */
  tags: (string | null)[];
  /** How many containers run the image in the stage; `workloads` names the first ones. */
  containers: number;
  /** `Kind/name (container)`, sorted; at most STAGE_WORKLOADS per version. */
  workloads: string[];
}

/**
 * A stage running a different version of an image than its previous stage. `behind`: an older
 * version of the same tag family than the previous stage (not yet promoted); `ahead`: newer;
 * `different`: not comparable (other family, not a version, a digest, or several versions).
 */
export interface StageDrift {
  previousStage: string;
  previous: string[];
  current: string[];
  direction: 'behind' | 'ahead' | 'different';
}

export interface StageColumn {
  name: string;
  cluster: string;
  namespace: string | null;
  previousStage: string | null;
  resourcesPath: string;
  /** How its images are told from the rest of the cluster: by its targetNamespace, else by manifest path. */
  attributedBy: 'targetNamespace' | 'resourcesPath';
  /** Why no image can be attributed to the stage, when none can. */
  unknown: string | null;
}

export interface StageImageRow {
  /** registry/repository (the image's repository; versions are compared within it). */
  image: string;
  cells: Record<string, StageCell>;
  /** By stage name: the drift from its previous stage, when there is one. */
  drift: Record<string, StageDrift>;
}

export interface ApplicationView {
  repo: string;
  application: string;
  commitSha: string;
  /** In promotion order: each stage after its previous stage. */
  stages: StageColumn[];
  images: StageImageRow[];
  driftCount: number;
}

/** Stages in promotion order: those without a (known) previous stage first, then each after its previous one. */
export function promotionOrder<T extends { name: string; previousStage: string | null }>(stages: readonly T[]): T[] {
  const names = new Set(stages.map((s) => s.name));
  const ordered: T[] = [];
  const placed = new Set<string>();
  const visit = (parent: string | null) => {
    for (const s of stages) {
      const prev = s.previousStage && names.has(s.previousStage) && s.previousStage !== s.name ? s.previousStage : null;
      if (prev === parent && !placed.has(s.name)) {
        placed.add(s.name);
        ordered.push(s);
        visit(s.name);
      }
    }
  };
  visit(null);
  for (const s of stages) if (!placed.has(s.name)) ordered.push(s); // a cycle: declaration order
  return ordered;
}

function driftOf(previousStage: string, before: StageCell, after: StageCell): StageDrift | null {
  const same = before.versions.length === after.versions.length && before.versions.every((v) => after.versions.includes(v));
  if (same) return null;
  let direction: StageDrift['direction'] = 'different';
  if (before.versions.length === 1 && after.versions.length === 1 && !before.versions[0]!.includes('@') && !after.versions[0]!.includes('@')) {
    const c = compareTags(after.tags[0], before.tags[0]);
    if (c !== null && c < 0) direction = 'behind';
    else if (c !== null && c > 0) direction = 'ahead';
  }
  return { previousStage, previous: before.versions, current: after.versions, direction };
}

/**
 * Drift along Application stages: per Application (its stages in promotion order), per image
 * repository the versions each stage runs, and where a stage runs a different version than its
 * previous stage. A stage's images are those of its cluster (in the same repository) in its
 * target namespace or, when it has none, those declared in manifests under its resourcesPath.
 */
export async function stagesView(prisma: PrismaClient, repoIds: readonly bigint[], filters: OverviewFilters): Promise<ApplicationView[]> {
  const { stages, versions, filesUnknown, clusterOf } = await listApplicationStages(prisma, repoIds, filters);
  const byStage = new Map<number, typeof versions>();
  for (const v of versions) byStage.set(v.stage, [...(byStage.get(v.stage) ?? []), v]);
  const apps = new Map<string, number[]>();
  stages.forEach((s, i) => {
    const key = `${s.repositoryId}\u0000${s.application}`;
    apps.set(key, [...(apps.get(key) ?? []), i]);
  });
  const views: ApplicationView[] = [];
  for (const indexes of apps.values()) {
    const rows = indexes.map((i) => stages[i]!);
    const first = rows[0]!;
    const repo = `${first.repository.owner}/${first.repository.name}`;
    if (filters.cluster && !rows.some((r) => r.cluster === filters.cluster)) continue;
    if (filters.q && ![first.application, ...rows.map((r) => r.stage)].some((t) => t.toLowerCase().includes(filters.q!.toLowerCase()))) continue;
    const columns = promotionOrder(
      indexes.map((i) => {
        const r = stages[i]!;
        const clusterId = clusterOf.get(i);
        const attributedBy = r.targetNamespace === null ? ('resourcesPath' as const) : ('targetNamespace' as const);
        const unknown =
          clusterId === undefined
            ? `no inventory of cluster ${r.cluster} is recorded in ${repo}`
            : attributedBy === 'resourcesPath' && filesUnknown.has(clusterId)
              ? `no targetNamespace, and ${r.cluster}'s inventory was recorded before manifest paths were kept: the next push to the default branch attributes its images by resourcesPath`
              : null;
        return { index: i, name: r.stage, cluster: r.cluster, namespace: r.targetNamespace, previousStage: r.previousStage, resourcesPath: r.resourcesPath, attributedBy, unknown };
      }),
    );
    const matrix = new Map<string, StageImageRow>();
    for (const col of columns) {
      if (col.unknown) continue;
      for (const v of byStage.get(col.index) ?? []) {
        let row = matrix.get(v.image);
        if (!row) matrix.set(v.image, (row = { image: v.image, cells: {}, drift: {} }));
        const cell = (row.cells[col.name] ??= { versions: [], tags: [], containers: 0, workloads: [] });
        cell.versions.push(versionText(v));
        cell.tags.push(v.tag);
        cell.containers += v.containers;
        cell.workloads = [...new Set([...cell.workloads, ...v.workloads])].sort();
      }
    }
    let driftCount = 0;
    for (const row of matrix.values()) {
      for (const col of columns) {
        const prev = col.previousStage ? columns.find((c) => c.name === col.previousStage) : undefined;
        const before = prev ? row.cells[prev.name] : undefined;
        const after = row.cells[col.name];
        if (!prev || !before || !after) continue;
        const drift = driftOf(prev.name, before, after);
        if (drift) {
          row.drift[col.name] = drift;
          driftCount++;
        }
      }
    }
    views.push({
      repo,
      application: first.application,
      commitSha: first.commitSha,
      stages: columns.map(({ index: _, ...column }) => column),
      images: [...matrix.values()].sort((a, b) => a.image.localeCompare(b.image)),
      driftCount,
    });
  }
  return views;
}

export { filterChoices };
