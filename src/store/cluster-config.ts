// What the default branch declares: each cluster's `kind: Cluster` configuration with the policies
// loaded for it, and the repository's `kind: Application` stages. Like the image inventory, a new
// commit replaces what an older one recorded, in one transaction; an older commit arriving late
// (by `observedAt`) is ignored.
import type { Prisma, PrismaClient } from '@prisma/client';
import type { ApplicationConfig, ClusterConfig, EnabledPolicy } from '../engine/index.js';
import { ensureCluster } from './repositories.js';

/** The cluster's configuration as stored; every field null when not declared. */
export interface ClusterSettings {
  tenant: string | null;
  contactEmail: string | null;
  contactSlack: string | null;
  description: string | null;
  production: boolean | null;
  securityLevel: string | null;
  geographicLocation: string | null;
  costCenter: string | null;
}

export interface ClusterConfigInput {
  repositoryId: number | bigint;
  cluster: string;
  /** The `.securitytower/` file that declares the cluster. */
  file?: string | null;
  commitSha: string;
  /** Ordering key of the commit (push time). */
  observedAt: Date;
  settings: ClusterSettings;
  policies: EnabledPolicy[];
}

export interface StageInput {
  application: string;
  stage: string;
  cluster: string;
  clusterRepository?: string | null;
  resourcesPath: string;
  targetNamespace?: string | null;
  previousStage?: string | null;
}

export interface ApplicationStagesInput {
  repositoryId: number | bigint;
  commitSha: string;
  observedAt: Date;
  stages: StageInput[];
}

const text = (value: unknown): string | null =>
  typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : null;

function flag(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  return null;
}

/** The stored settings of an engine ClusterConfig (spec.tenant, spec.contact, spec.configuration). */
export function clusterSettings(config: ClusterConfig): ClusterSettings {
  const c = config.configuration;
  return {
    tenant: config.tenant ?? null,
    contactEmail: config.contact?.email ?? null,
    contactSlack: config.contact?.slack ?? null,
    description: text(c.description),
    production: flag(c.production),
    securityLevel: text(c.securityLevel),
    geographicLocation: text(c.geographicLocation),
    costCenter: text(c.costCenter),
  };
}

/** The stage rows of the engine's Applications, in declaration order. */
export function applicationStages(applications: readonly ApplicationConfig[]): StageInput[] {
  return applications.flatMap((app) =>
    app.stages.map((s) => ({
      application: app.name,
      stage: s.name,
      cluster: s.clusterName,
      clusterRepository: s.clusterRepository ?? null,
      resourcesPath: s.resourcesPath,
      targetNamespace: s.targetNamespace ?? null,
      previousStage: s.previousStage ?? null,
    })),
  );
}

/** True when replaced; false when a newer commit's configuration is already stored. */
export async function replaceClusterConfig(prisma: PrismaClient, input: ClusterConfigInput): Promise<boolean> {
  // One row per (kind, constraint): the engine reports a duplicate constraint as an error and keeps the first.
  const policies = new Map<string, EnabledPolicy>();
  for (const p of input.policies) if (!policies.has(`${p.kind}\u0000${p.constraint}`)) policies.set(`${p.kind}\u0000${p.constraint}`, p);
  return prisma.$transaction(async (tx) => {
    const clusterId = await ensureCluster(tx, input.repositoryId, input.cluster);
    // Lock the cluster row so concurrent replacements of one cluster serialise.
    const [row] = await tx.$queryRaw<{ config_at: Date | null }[]>`SELECT config_at FROM clusters WHERE id = ${clusterId} FOR UPDATE`;
    if (row?.config_at && row.config_at > input.observedAt) return false;
    await tx.clusterPolicy.deleteMany({ where: { clusterId } });
    if (policies.size > 0) {
      await tx.clusterPolicy.createMany({
        data: [...policies.values()].map((p) => ({
          clusterId,
          template: p.template,
          kind: p.kind,
          constraint: p.constraint,
          enforcementAction: p.enforcementAction,
          version: p.version ?? null,
          title: p.title ?? null,
          // A policy given without parameters (null or absent) keeps them unknown: never compared.
          ...(p.parameters !== undefined && p.parameters !== null ? { parameters: p.parameters as Prisma.InputJsonValue } : {}),
          commitSha: input.commitSha,
        })),
      });
    }
    await tx.cluster.update({
      where: { id: clusterId },
      data: { ...input.settings, ...(input.file != null ? { config: input.file } : {}), configSha: input.commitSha, configAt: input.observedAt },
    });
    return true;
  });
}

/** Replaces the repository's Application stages; false when a newer commit's stages are already stored. */
export async function replaceApplicationStages(prisma: PrismaClient, input: ApplicationStagesInput): Promise<boolean> {
  const repositoryId = BigInt(input.repositoryId);
  const seen = new Set<string>();
  const positions = new Map<string, number>();
  const rows: Prisma.ApplicationStageCreateManyInput[] = [];
  for (const s of input.stages) {
    const key = JSON.stringify([s.application, s.stage]);
    if (seen.has(key)) continue; // a stage name twice in one Application: the first one counts
    seen.add(key);
    const position = positions.get(s.application) ?? 0;
    positions.set(s.application, position + 1);
    rows.push({
      repositoryId,
      application: s.application,
      stage: s.stage,
      position,
      cluster: s.cluster,
      clusterRepository: s.clusterRepository ?? null,
      resourcesPath: s.resourcesPath,
      targetNamespace: s.targetNamespace ?? null,
      previousStage: s.previousStage ?? null,
      commitSha: input.commitSha,
    });
  }
  return prisma.$transaction(async (tx) => {
    const [repo] = await tx.$queryRaw<{ applications_at: Date | null }[]>`
      SELECT applications_at FROM repositories WHERE id = ${repositoryId} FOR UPDATE`;
    if (!repo) throw new Error(`repository ${repositoryId} is not recorded`);
    if (repo.applications_at && repo.applications_at > input.observedAt) return false;
    await tx.applicationStage.deleteMany({ where: { repositoryId } });
    if (rows.length > 0) await tx.applicationStage.createMany({ data: rows });
    await tx.repository.update({ where: { id: repositoryId }, data: { applicationsSha: input.commitSha, applicationsAt: input.observedAt } });
    return true;
  });
}

export async function clusterPolicies(prisma: PrismaClient, repositoryId: number | bigint, cluster: string) {
  return prisma.clusterPolicy.findMany({
    where: { cluster: { repositoryId: BigInt(repositoryId), name: cluster } },
    orderBy: [{ template: 'asc' }, { constraint: 'asc' }],
  });
}

export async function repositoryStages(prisma: PrismaClient, repositoryId: number | bigint) {
  return prisma.applicationStage.findMany({ where: { repositoryId: BigInt(repositoryId) }, orderBy: [{ application: 'asc' }, { position: 'asc' }] });
}
