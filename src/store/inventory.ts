// The image inventory of the default branch: for each cluster, the images its workloads run at
// one commit. A new commit's inventory replaces the cluster's previous one in one transaction;
// an older commit arriving late (by `observedAt`) is ignored. Malformed references are stored
// as written with the reason, never dropped.
import type { PrismaClient } from '@prisma/client';
import { parseImageReference } from '../engine/index.js';
import { ensureCluster } from './repositories.js';

export interface ImageUseInput {
  namespace?: string | null;
  workloadKind: string;
  workloadName: string;
  container: string;
  /** The image reference as written in the manifest. */
  image: string;
}

export interface InventoryInput {
  repositoryId: number | bigint;
  cluster: string;
  commitSha: string;
  /** Ordering key of the commit (push time). */
  observedAt: Date;
  images: ImageUseInput[];
}

/** True when the inventory was replaced; false when a newer commit's inventory is already stored. */
export async function replaceInventory(prisma: PrismaClient, input: InventoryInput): Promise<boolean> {
  const rows = input.images.map((image) => {
    const ref = parseImageReference(image.image);
    return {
      namespace: image.namespace ?? '',
      workloadKind: image.workloadKind,
      workloadName: image.workloadName,
      container: image.container,
      reference: image.image,
      registry: ref.ok ? ref.registry : null,
      repository: ref.ok ? ref.repository : null,
      tag: ref.ok ? ref.tag : null,
      digest: ref.ok ? ref.digest : null,
      malformed: ref.ok ? null : ref.error,
      commitSha: input.commitSha,
    };
  });
  return prisma.$transaction(async (tx) => {
    const clusterId = await ensureCluster(tx, input.repositoryId, input.cluster);
    // Lock the cluster row so concurrent replacements of one cluster serialise.
    const [cluster] = await tx.$queryRaw<{ inventory_at: Date | null }[]>`
      SELECT inventory_at FROM clusters WHERE id = ${clusterId} FOR UPDATE`;
    if (cluster?.inventory_at && cluster.inventory_at > input.observedAt) return false;
    await tx.imageUse.deleteMany({ where: { clusterId } });
    if (rows.length > 0) await tx.imageUse.createMany({ data: rows.map((r) => ({ ...r, clusterId })) });
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
