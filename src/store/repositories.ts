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

/** The key GitHub's names are unique by: `owner/name`, case-insensitively. */
export function repositoryNameKey(owner: string, name: string): string {
  return `${owner}/${name}`.toLowerCase();
}

/** Advisory-lock class of repository names (the two-key form: apart from migrate.ts's one-key lock). */
const NAME_LOCK_CLASS = 7243;

/**
 * Records the repository under GitHub's id. GitHub reuses names: a repository deleted and created
 * again, or transferred or renamed away and another created under the old name, comes back with a
 * new id. The repository seen now with a name holds it; a former holder keeps its id, its rows and
 * its history under the name it was last seen with, and no longer claims the name (until it is
 * seen again, under whatever name it has then).
 */
export async function upsertRepository(db: Db, input: RepositoryInput): Promise<void> {
  const id = BigInt(input.id);
  const nameKey = repositoryNameKey(input.owner, input.name);
  const data = {
    installationId: BigInt(input.installationId),
    owner: input.owner,
    name: input.name,
    nameKey,
    ...(input.defaultBranch !== undefined ? { defaultBranch: input.defaultBranch } : {}),
    ...(input.private !== undefined ? { private: input.private } : {}),
  };
  const write = async (tx: Prisma.TransactionClient) => {
    // Claims of one name take turns: two repositories claiming it at once would otherwise both
    // release it from the old holder, and the second insert would fail on the unique key.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${NAME_LOCK_CLASS}::int, hashtext(${nameKey}))`;
    await tx.repository.updateMany({ where: { nameKey, id: { not: id } }, data: { nameKey: null } });
    await tx.repository.upsert({ where: { id }, create: { id, ...data }, update: data });
  };
  if (isClient(db)) await db.$transaction(write);
  else await write(db);
}

function isClient(db: Db): db is PrismaClient {
  return typeof (db as Partial<PrismaClient>).$transaction === 'function';
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

/**
 * Notes a push to the repository's default branch before it is evaluated: the compliance page says
 * which clusters' evaluations are older. An older push arriving late (by `observedAt`) changes nothing.
 */
export async function notePush(db: Db, repositoryId: number | bigint, sha: string, observedAt: Date): Promise<void> {
  await db.repository.updateMany({
    where: { id: BigInt(repositoryId), OR: [{ pushedAt: null }, { pushedAt: { lt: observedAt } }] },
    data: { pushedSha: sha, pushedAt: observedAt },
  });
}
