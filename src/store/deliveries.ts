// Processed webhook deliveries (X-GitHub-Delivery): a redelivery is answered once.
import type { Db } from './repositories.js';

/**
 * Records a delivery id. True the first time it is seen, false afterwards. Race-safe: the id is
 * the primary key and the insert is `ON CONFLICT DO NOTHING`, so of two concurrent calls exactly
 * one gets true.
 */
export async function markDelivered(db: Db, id: string, event?: string): Promise<boolean> {
  const { count } = await db.webhookDelivery.createMany({ data: [{ id, event: event ?? null }], skipDuplicates: true });
  return count === 1;
}

/**
 * Forgets a delivery whose work failed, so that GitHub's redelivery of it (an operator's, from
 * the App's settings) runs it again instead of being answered as a duplicate.
 */
export async function releaseDelivery(db: Db, id: string): Promise<void> {
  await db.webhookDelivery.deleteMany({ where: { id } });
}

/** Forgets deliveries older than `before` (GitHub redelivers for a few days at most). */
export async function pruneDeliveries(db: Db, before: Date): Promise<number> {
  const { count } = await db.webhookDelivery.deleteMany({ where: { receivedAt: { lt: before } } });
  return count;
}
