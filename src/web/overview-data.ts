// What the pages and the API show, computed once for both: the store's rows for the repositories
// the user may read, with version statuses, in plain JSON-able objects.
import type { PrismaClient } from '@prisma/client';
import { filterChoices, findClusters, listEvaluations, listImageUses, listRiskAcceptances, type OverviewFilters } from '../store/overview.js';
import { versionStatuses, type Mutability } from './versions.js';

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
  }));
}
export type ClusterRow = Awaited<ReturnType<typeof clusterView>>[number];

export { filterChoices };
