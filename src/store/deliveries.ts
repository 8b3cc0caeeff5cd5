// Processed webhook deliveries (X-GitHub-Delivery): a redelivery is answered once.
import type { Db } from './repositories.js';

/**
 * How long a delivery's job may run before a redelivery of it is taken as the job being lost (its
 * process died mid-job): longer than any evaluation and its wait in the queue. Running a job twice
 * is harmless (check runs are taken over, review comments carry fingerprints); never running it
 * is not.
 */
export const DELIVERY_LEASE_MS = 30 * 60_000;

/**
 * Takes on a delivery id: true the first time it is seen, and for a redelivery of one whose job
 * never finished within the lease; false otherwise. Race-safe: the insert is `ON CONFLICT DO
 * NOTHING` on the primary key and the take-over a conditional update, so of concurrent calls
 * exactly one gets true.
 */
export async function markDelivered(db: Db, id: string, event?: string, options: { leaseMs?: number; now?: Date } = {}): Promise<boolean> {
  const now = options.now ?? new Date();
  const { count } = await db.webhookDelivery.createMany({ data: [{ id, event: event ?? null, receivedAt: now }], skipDuplicates: true });
  if (count === 1) return true;
  const expired = new Date(now.getTime() - (options.leaseMs ?? DELIVERY_LEASE_MS));
  const taken = await db.webhookDelivery.updateMany({ where: { id, finishedAt: null, receivedAt: { lt: expired } }, data: { receivedAt: now } });
  return taken.count === 1;
}

/** Notes that a delivery's job finished: its redeliveries are answered as duplicates for good. */
export async function finishDelivery(db: Db, id: string, now = new Date()): Promise<void> {
  await db.webhookDelivery.updateMany({ where: { id }, data: { finishedAt: now } });
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
