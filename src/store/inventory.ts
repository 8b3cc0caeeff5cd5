// The image inventory of the default branch: for each cluster, the images its workloads run at
// one commit. A new commit's inventory replaces the cluster's previous one in one transaction;
// an older commit arriving late (by `observedAt`) is ignored. Malformed references are stored
// as written with the reason, never dropped.
//
// With the containers the same transaction writes the cluster's version summary (image_versions:
// per namespace, each distinct image version with its container count and its tag's version family
// and key), which the overview reads instead of every container. Being written with the inventory,
// it is never stale and every App process sharing the database sees the same one: no cache.
import type { PrismaClient } from '@prisma/client';
import { parseImageReference } from '../engine/index.js';
import { parseVersionTag, versionKey } from '../engine/index.js';
import { ensureCluster } from './repositories.js';

export interface ImageUseInput {
  namespace?: string | null;
  workloadKind: string;
  workloadName: string;
  container: string;
  /** The image reference as written in the manifest. */
  image: string;
  /** The manifest's path in the repository and the line of the image; absent when unknown. */
  file?: string | null;
  line?: number | null;
}

export interface InventoryInput {
  repositoryId: number | bigint;
  cluster: string;
  commitSha: string;
  /** Ordering key of the commit (push time). */
  observedAt: Date;
  images: ImageUseInput[];
}

/** What the search box matches against: one lower-cased text, fields joined by U+001F (never typed in a search box). */
export const SEARCH_SEPARATOR = '\u001f';

/** registry/repository of a parsed reference; the reference as written when it is malformed. */
export function imageName(row: { registry: string | null; repository: string | null; reference: string }): string {
  return row.repository ? `${row.registry}/${row.repository}` : row.reference;
}

interface VersionRow {
  namespace: string;
  image: string;
  tag: string | null;
  digest: string | null;
  malformed: string | null;
  family: string | null;
  versionKey: number[];
  containers: number;
}

const versionIdentity = (v: Pick<VersionRow, 'namespace' | 'image' | 'tag' | 'digest' | 'malformed'>) =>
  JSON.stringify([v.namespace, v.image, v.tag, v.digest, v.malformed !== null]);

/** True when the inventory was replaced; false when a newer commit's inventory is already stored. */
export async function replaceInventory(prisma: PrismaClient, input: InventoryInput): Promise<boolean> {
  const versions = new Map<string, VersionRow>();
  const uses = input.images.map((use) => {
    const ref = parseImageReference(use.image);
    const row = {
      namespace: use.namespace ?? '',
      workloadKind: use.workloadKind,
      workloadName: use.workloadName,
      container: use.container,
      reference: use.image,
      registry: ref.ok ? ref.registry : null,
      repository: ref.ok ? ref.repository : null,
      tag: ref.ok ? ref.tag : null,
      digest: ref.ok ? ref.digest : null,
      malformed: ref.ok ? null : ref.error,
      file: use.file ?? null,
      line: use.line ?? null,
      commitSha: input.commitSha,
    };
    const image = imageName(row);
    const version = ref.ok ? parseVersionTag(ref.tag) : null;
    const summary: VersionRow = {
      namespace: row.namespace,
      image,
      tag: row.tag,
      digest: row.digest,
      malformed: row.malformed,
      family: version ? version.family : null,
      versionKey: version ? versionKey(version) : [],
      containers: 0,
    };
    const identity = versionIdentity(summary);
    const counted = versions.get(identity) ?? summary;
    counted.containers++;
    versions.set(identity, counted);
    const searchText = [row.namespace, `${row.workloadKind}/${row.workloadName}`, row.container, row.reference, image].join(SEARCH_SEPARATOR).toLowerCase();
    return { row, identity, searchText };
  });
  return prisma.$transaction(async (tx) => {
    const clusterId = await ensureCluster(tx, input.repositoryId, input.cluster);
    // Lock the cluster row so concurrent replacements of one cluster serialise.
    const [cluster] = await tx.$queryRaw<{ inventory_at: Date | null }[]>`
      SELECT inventory_at FROM clusters WHERE id = ${clusterId} FOR UPDATE`;
    if (cluster?.inventory_at && cluster.inventory_at > input.observedAt) return false;
    await tx.imageUse.deleteMany({ where: { clusterId } });
    await tx.imageVersion.deleteMany({ where: { clusterId } });
    if (uses.length > 0) {
      const created = await tx.imageVersion.createManyAndReturn({
        data: [...versions.values()].map((v) => ({ ...v, clusterId })),
        select: { id: true, namespace: true, image: true, tag: true, digest: true, malformed: true },
      });
      const ids = new Map(created.map((v) => [versionIdentity(v), v.id]));
      await tx.imageUse.createMany({
        data: uses.map(({ row, identity, searchText }) => ({ ...row, clusterId, versionId: ids.get(identity)!, searchText })),
      });
    }
    await tx.cluster.update({ where: { id: clusterId }, data: { inventorySha: input.commitSha, inventoryAt: input.observedAt } });
    return true;
  });
}

export async function clusterInventory(prisma: PrismaClient, repositoryId: number | bigint, cluster: string) {
  return prisma.imageUse.findMany({
    where: { cluster: { repositoryId: BigInt(repositoryId), name: cluster } },
    orderBy: [{ namespace: 'asc' }, { workloadKind: 'asc' }, { workloadName: 'asc' }, { container: 'asc' }],
  });
}

/** The cluster's version summary: per namespace, each image version and how many containers run it. */
export async function clusterImageVersions(prisma: PrismaClient, repositoryId: number | bigint, cluster: string) {
  return prisma.imageVersion.findMany({
    where: { cluster: { repositoryId: BigInt(repositoryId), name: cluster } },
    select: { namespace: true, image: true, tag: true, digest: true, malformed: true, family: true, versionKey: true, containers: true },
    orderBy: [{ namespace: 'asc' }, { image: 'asc' }, { tag: 'asc' }, { digest: 'asc' }],
  });
}

/**
 * Counts the inventories of `clusters` as they are now into their history (inventory_snapshots),
 * at the commit that wrote them: containers, outdated (a newer version of the same image and tag
 * family runs in a cluster of the same repository: the boundary a reader of the repository sees)
 * and mutable. Called once the push's inventories are all written; repeating it for the same commit
 * rewrites the same point.
 */
export async function snapshotInventories(prisma: PrismaClient, input: { repositoryId: number | bigint; clusters: readonly string[]; commitSha: string; observedAt: Date }): Promise<void> {
  if (input.clusters.length === 0) return;
  const repositoryId = BigInt(input.repositoryId);
  // A commit recorded again (a retried write, a redelivery) moves its point rather than adding one:
  // each claim of the branch has its own stamp.
  await prisma.$executeRaw`
    DELETE FROM inventory_snapshots s USING clusters c
    WHERE c.id = s.cluster_id AND c.repository_id = ${repositoryId} AND c.name = ANY(${[...input.clusters]}::text[])
      AND s.commit_sha = ${input.commitSha} AND s.observed_at < ${input.observedAt}`;
  await prisma.$executeRaw`
    WITH shown AS (
      SELECT id FROM clusters WHERE repository_id = ${repositoryId} AND name = ANY(${[...input.clusters]}::text[]) AND inventory_at = ${input.observedAt}
    ),
    newest AS MATERIALIZED (
      SELECT v.image, v.family, max(v.version_key) AS version_key
      FROM image_versions v JOIN clusters c ON c.id = v.cluster_id
      WHERE c.repository_id = ${repositoryId} AND v.family IS NOT NULL
      GROUP BY v.image, v.family
    )
    INSERT INTO inventory_snapshots (cluster_id, commit_sha, observed_at, containers, outdated, mutable)
    SELECT s.id, ${input.commitSha}, ${input.observedAt},
           coalesce(sum(v.containers), 0)::int,
           coalesce(sum(v.containers) FILTER (WHERE n.version_key > v.version_key), 0)::int,
           coalesce(sum(v.containers) FILTER (WHERE v.malformed IS NULL AND v.digest IS NULL), 0)::int
    FROM shown s
    LEFT JOIN image_versions v ON v.cluster_id = s.id
    LEFT JOIN newest n ON n.image = v.image AND n.family = v.family
    GROUP BY s.id
    ON CONFLICT (cluster_id, observed_at) DO UPDATE
      SET commit_sha = EXCLUDED.commit_sha, containers = EXCLUDED.containers, outdated = EXCLUDED.outdated, mutable = EXCLUDED.mutable`;
}
