// What the pages and the API show, computed once for both: the store's rows for the repositories
// the user may read, with version statuses, in plain JSON-able objects.
import type { PrismaClient } from '@prisma/client';
import { filterChoices, findClusters, listApplicationStages, listEvaluations, listImageUses, listRiskAcceptances, type OverviewFilters } from '../store/overview.js';
import { compareTags, versionStatuses, type Mutability } from './versions.js';

export interface ImageRow {
  repo: string;
  cluster: string;
  namespace: string;
  workload: { kind: string; name: string };
  container: string;
  reference: string;
  registry: string | null;
  repository: string | null;
  tag: string | null;
  digest: string | null;
  malformed: string | null;
  commitSha: string;
  outdated: boolean;
  /** The newer tag deployed elsewhere, when outdated. */
  newer: string | null;
  mutable: Mutability | null;
}

export interface MatrixColumn {
  key: string;
  repo: string;
  cluster: string;
  namespace: string;
}

export interface MatrixRow {
  /** registry/repository, or the reference as written when malformed. */
  image: string;
  /** More than one version (tag or digest) of the image among the shown cells. */
  drift: boolean;
  cells: Record<string, ImageRow[]>;
}

export interface ImagesView {
  rows: ImageRow[];
  columns: MatrixColumn[];
  matrix: MatrixRow[];
}

export function imageName(row: { registry: string | null; repository: string | null; reference: string }): string {
  return row.repository ? `${row.registry}/${row.repository}` : row.reference;
}

export async function imagesView(prisma: PrismaClient, repoIds: readonly bigint[], filters: OverviewFilters): Promise<ImagesView> {
  // Outdated is decided among everything the user may see, before filtering what is shown.
  const all = await listImageUses(prisma, repoIds);
  const statuses = new Map(versionStatuses(all).map((s, i) => [all[i]!.id, s]));
  const filtered = filters.cluster || filters.namespace || filters.image || filters.policy || filters.q || filters.repo ? await listImageUses(prisma, repoIds, filters) : all;
  const rows: ImageRow[] = filtered.map((u) => {
    const s = statuses.get(u.id) ?? { outdated: false, newer: null, mutable: null };
    return {
      repo: `${u.cluster.repository.owner}/${u.cluster.repository.name}`,
      cluster: u.cluster.name,
      namespace: u.namespace,
      workload: { kind: u.workloadKind, name: u.workloadName },
      container: u.container,
      reference: u.reference,
      registry: u.registry,
      repository: u.repository,
      tag: u.tag,
      digest: u.digest,
      malformed: u.malformed,
      commitSha: u.commitSha,
      outdated: s.outdated,
      newer: s.newer,
      mutable: s.mutable,
    };
  });
  const columns = new Map<string, MatrixColumn>();
  const matrix = new Map<string, MatrixRow>();
  for (const row of rows) {
    const key = `${row.repo}\u0000${row.cluster}\u0000${row.namespace}`;
    if (!columns.has(key)) columns.set(key, { key, repo: row.repo, cluster: row.cluster, namespace: row.namespace });
    const image = imageName(row);
    let m = matrix.get(image);
    if (!m) matrix.set(image, (m = { image, drift: false, cells: {} }));
    (m.cells[key] ??= []).push(row);
  }
  for (const m of matrix.values()) {
    const versions = new Set(Object.values(m.cells).flat().map((r) => `${r.tag}@${r.digest}`));
    m.drift = versions.size > 1;
  }
  const byName = (a: MatrixColumn, b: MatrixColumn) => a.cluster.localeCompare(b.cluster) || a.namespace.localeCompare(b.namespace) || a.repo.localeCompare(b.repo);
  return { rows, columns: [...columns.values()].sort(byName), matrix: [...matrix.values()].sort((a, b) => a.image.localeCompare(b.image)) };
}

export async function risksView(prisma: PrismaClient, repoIds: readonly bigint[], filters: OverviewFilters, includeRemoved = false) {
  const rows = await listRiskAcceptances(prisma, repoIds, filters, { includeRemoved });
  return rows.map((r) => ({
    repo: `${r.repository.owner}/${r.repository.name}`,
    cluster: r.cluster.name,
    policy: r.policy,
    object: { kind: r.objectKind, namespace: r.objectNamespace || null, name: r.objectName },
    level: r.level,
    reason: r.reason,
    file: r.file,
    line: r.line,
    introducedBy: r.introducedBy,
    introducedSha: r.introducedSha,
    firstSeenAt: r.firstSeenAt.toISOString(),
    firstSeenSha: r.firstSeenSha,
    lastSeenAt: r.lastSeenAt.toISOString(),
    removedAt: r.removedAt?.toISOString() ?? null,
  }));
}
export type RiskRow = Awaited<ReturnType<typeof risksView>>[number];

export async function evaluationsView(prisma: PrismaClient, repoIds: readonly bigint[], filters: OverviewFilters & { pullRequest?: number }) {
  const rows = await listEvaluations(prisma, repoIds, filters);
  return rows.map((e) => ({
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
  }));
}
export type EvaluationRow = Awaited<ReturnType<typeof evaluationsView>>[number];

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

/** What one stage runs of one image: its distinct versions (`tag`, `tag@digest` or `@digest`). */
export interface StageCell {
  versions: string[];
  /** The tags among them (for comparison with versions.ts). */
  tags: (string | null)[];
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

const versionOf = (u: { tag: string | null; digest: string | null }) => (u.tag ?? '') + (u.digest ? `@${u.digest}` : '') || '(no tag)';

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
 * target namespace.
 */
export async function stagesView(prisma: PrismaClient, repoIds: readonly bigint[], filters: OverviewFilters): Promise<ApplicationView[]> {
  const { stages, images } = await listApplicationStages(prisma, repoIds, filters);
  const apps = new Map<string, typeof stages>();
  for (const s of stages) {
    const key = `${s.repositoryId}\u0000${s.application}`;
    apps.set(key, [...(apps.get(key) ?? []), s]);
  }
  const views: ApplicationView[] = [];
  for (const rows of apps.values()) {
    const first = rows[0]!;
    const repo = `${first.repository.owner}/${first.repository.name}`;
    if (filters.cluster && !rows.some((r) => r.cluster === filters.cluster)) continue;
    if (filters.q && ![first.application, ...rows.map((r) => r.stage)].some((t) => t.toLowerCase().includes(filters.q!.toLowerCase()))) continue;
    const columns: StageColumn[] = promotionOrder(
      rows.map((r) => ({
        name: r.stage,
        cluster: r.cluster,
        namespace: r.targetNamespace,
        previousStage: r.previousStage,
        resourcesPath: r.resourcesPath,
        unknown: r.targetNamespace === null ? 'no targetNamespace: its images cannot be told from the rest of the cluster' : null,
      })),
    );
    const matrix = new Map<string, StageImageRow>();
    for (const col of columns) {
      if (col.namespace === null) continue;
      const uses = images.filter((u) => u.cluster.repositoryId === first.repositoryId && u.cluster.name === col.cluster && u.namespace === col.namespace);
      for (const u of uses) {
        const image = imageName(u);
        if (filters.image && !image.toLowerCase().includes(filters.image.toLowerCase())) continue;
        let row = matrix.get(image);
        if (!row) matrix.set(image, (row = { image, cells: {}, drift: {} }));
        const cell = (row.cells[col.name] ??= { versions: [], tags: [], workloads: [] });
        const version = u.malformed ? u.reference : versionOf(u);
        if (!cell.versions.includes(version)) {
          cell.versions.push(version);
          cell.tags.push(u.tag);
        }
        const workload = `${u.workloadKind}/${u.workloadName} (${u.container})`;
        if (!cell.workloads.includes(workload)) cell.workloads.push(workload);
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
      stages: columns,
      images: [...matrix.values()].sort((a, b) => a.image.localeCompare(b.image)),
      driftCount,
    });
  }
  return views;
}

export { filterChoices };
