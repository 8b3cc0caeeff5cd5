import { expect, it } from 'vitest';
import { DELIVERY_LEASE_MS, finishDelivery, markDelivered, pruneDeliveries, releaseDelivery } from '../../src/store/deliveries.js';
import { forEachBackend } from '../helpers/postgres-backends.js';

forEachBackend((backend) => {
  it('answers a delivery once: first time true, later false', async () => {
    const db = await backend.open();
    expect(await markDelivered(db.prisma, 'd-1', 'pull_request')).toBe(true);
    expect(await markDelivered(db.prisma, 'd-1', 'pull_request')).toBe(false);
    expect(await markDelivered(db.prisma, 'd-2')).toBe(true);
  });

  it('of concurrent marks of one delivery exactly one wins', async () => {
    const db = await backend.open();
    const results = await Promise.all(Array.from({ length: 10 }, () => markDelivered(db.prisma, 'same')));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('answers a released delivery (its job failed) as new again, once', async () => {
    const db = await backend.open();
    expect(await markDelivered(db.prisma, '72d3162e-cc78-11e3-81ab-4c9367dc0958', 'push')).toBe(true);
    await releaseDelivery(db.prisma, '72d3162e-cc78-11e3-81ab-4c9367dc0958');
    expect(await markDelivered(db.prisma, '72d3162e-cc78-11e3-81ab-4c9367dc0958', 'push')).toBe(true);
    expect(await markDelivered(db.prisma, '72d3162e-cc78-11e3-81ab-4c9367dc0958', 'push')).toBe(false);
    // Releasing one never seen (or released twice) is no error.
    await releaseDelivery(db.prisma, 'never-seen');
  });

  it('runs a redelivery again when the first job never finished within the lease (its process died), once', async () => {
    const db = await backend.open();
    const started = new Date('2026-11-25T10:00:00Z');
    const later = (ms: number) => new Date(started.getTime() + ms);
    expect(await markDelivered(db.prisma, 'crashed', 'push', { now: started })).toBe(true);
    // Still within the lease: the job may be running or waiting in a queue.
    expect(await markDelivered(db.prisma, 'crashed', 'push', { now: later(DELIVERY_LEASE_MS - 1000) })).toBe(false);
    // Past it: taken over by exactly one of two concurrent redeliveries, and the lease starts anew.
    const takeOvers = await Promise.all([1, 2].map(() => markDelivered(db.prisma, 'crashed', 'push', { now: later(DELIVERY_LEASE_MS + 1000) })));
    expect(takeOvers.filter(Boolean)).toHaveLength(1);
    expect(await markDelivered(db.prisma, 'crashed', 'push', { now: later(DELIVERY_LEASE_MS + 2000) })).toBe(false);
  });

  it('answers a redelivery of a finished job as a duplicate, however late', async () => {
    const db = await backend.open();
    const started = new Date('2026-11-25T10:00:00Z');
    expect(await markDelivered(db.prisma, 'done', 'pull_request', { now: started })).toBe(true);
    await finishDelivery(db.prisma, 'done', new Date(started.getTime() + 20_000));
    expect(await markDelivered(db.prisma, 'done', 'pull_request', { now: new Date(started.getTime() + 10 * DELIVERY_LEASE_MS) })).toBe(false);
  });

  it('prunes old deliveries', async () => {
    const db = await backend.open();
    await markDelivered(db.prisma, 'old');
    await db.prisma.webhookDelivery.update({ where: { id: 'old' }, data: { receivedAt: new Date('2020-01-01') } });
    await markDelivered(db.prisma, 'new');
    expect(await pruneDeliveries(db.prisma, new Date('2021-01-01'))).toBe(1);
    expect(await markDelivered(db.prisma, 'new')).toBe(false);
  });
});
