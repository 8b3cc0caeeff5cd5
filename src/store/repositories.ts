// Installations, repositories and clusters: the keys every other aggregate hangs from.
import type { Prisma, PrismaClient } from '@prisma/client';

export type Db = PrismaClient | Prisma.TransactionClient;

export interface InstallationInput {
  id: number | bigint;
  accountLogin: string;
  accountType: string;
  suspendedAt?: Date | null;
}

export async function upsertInstallation(db: Db, input: InstallationInput): Promise<void> {
  const data = { accountLogin: input.accountLogin, accountType: input.accountType, suspendedAt: input.suspendedAt ?? null };
  await db.installation.upsert({ where: { id: BigInt(input.id) }, create: { id: BigInt(input.id), ...data }, update: data });
}

export interface RepositoryInput {
  id: number | bigint;
  installationId: number | bigint;
  owner: string;
  name: string;
  defaultBranch?: string;
  private?: boolean;
}

export async function upsertRepository(db: Db, input: RepositoryInput): Promise<void> {
  const data = {
    installationId: BigInt(input.installationId),
    owner: input.owner,
    name: input.name,
    ...(input.defaultBranch !== undefined ? { defaultBranch: input.defaultBranch } : {}),
    ...(input.private !== undefined ? { private: input.private } : {}),
  };
  await db.repository.upsert({ where: { id: BigInt(input.id) }, create: { id: BigInt(input.id), ...data }, update: data });
}

/**
 * The cluster's id, creating the cluster on first sight. Race-safe: (repository, name) is unique
 * and the insert is `ON CONFLICT DO NOTHING` (Prisma's upsert is a read then a write, which two
 * concurrent transactions can both lose). Callers creating several clusters in one transaction
 * should do so in a stable (sorted) order, so concurrent transactions lock them in the same order.
 */
export async function ensureCluster(db: Db, repositoryId: number | bigint, name: string, config?: string): Promise<number> {
  const repo = BigInt(repositoryId);
  await db.cluster.createMany({ data: [{ repositoryId: repo, name, config: config ?? null }], skipDuplicates: true });
  const cluster = await db.cluster.findUniqueOrThrow({ where: { repositoryId_name: { repositoryId: repo, name } }, select: { id: true, config: true } });
  if (config !== undefined && cluster.config !== config) await db.cluster.update({ where: { id: cluster.id }, data: { config } });
  return cluster.id;
}
