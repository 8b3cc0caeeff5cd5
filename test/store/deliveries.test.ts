import { expect, it } from 'vitest';
import { markDelivered, pruneDeliveries, releaseDelivery } from '../../src/store/deliveries.js';
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

  it('prunes old deliveries', async () => {
    const db = await backend.open();
    await markDelivered(db.prisma, 'old');
    await db.prisma.webhookDelivery.update({ where: { id: 'old' }, data: { receivedAt: new Date('2020-01-01') } });
    await markDelivered(db.prisma, 'new');
    expect(await pruneDeliveries(db.prisma, new Date('2021-01-01'))).toBe(1);
    expect(await markDelivered(db.prisma, 'new')).toBe(false);
  });
});
