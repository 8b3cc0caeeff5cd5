// The overview's sessions in the database: what a row holds, what a copy of it gives away, expiry.
import { expect, it } from 'vitest';
import { decryptToken, encryptToken, sessionIdHash, SessionStore, tokenKey } from '../../../src/web/session.js';
import { forEachBackend } from '../../helpers/postgres-backends.js';

const SECRET = 'f3c1d8a0b6e24a9c9d7e5b3a1c0f8e6d4b2a0c9e7f5d3b1a';
const TOKEN = 'ghu_16C7e42F292c6912E7710c838347Ae178B4a';
const HOUR = 3600_000;

forEachBackend((backend) => {
  it('keeps a session in the database, with only the hash of its id and the token encrypted', async () => {
    const db = await backend.open();
    const store = new SessionStore(db.prisma, SECRET, 8 * HOUR);
    const session = await store.create('octocat', TOKEN);

    expect(await store.get(session.id)).toEqual(session);
    // Another process on the same database, with the same secret, knows it too.
    expect(await new SessionStore(db.prisma, SECRET, 8 * HOUR).get(session.id)).toEqual(session);

    const rows = await db.prisma.session.findMany();
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row).toMatchObject({ idHash: sessionIdHash(session.id), login: 'octocat', csrf: session.csrf });
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(TOKEN);
    expect(stored).not.toContain(session.id);
    expect(row.encryptedToken).toMatch(/^v1\.[\w-]{16}\.[\w-]+\.[\w-]{22}$/);
  });

  it('gives a stolen row nothing without the secret: the token does not decrypt, under another key or in another row', async () => {
    const db = await backend.open();
    const store = new SessionStore(db.prisma, SECRET, 8 * HOUR);
    const alice = await store.create('alice', TOKEN);
    const bob = await store.create('bob', 'ghu_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
    const [aliceRow, bobRow] = await Promise.all([alice, bob].map((s) => db.prisma.session.findUniqueOrThrow({ where: { idHash: sessionIdHash(s.id) } })));

    expect(decryptToken(tokenKey(SECRET), aliceRow!.encryptedToken, aliceRow!.idHash)).toBe(TOKEN);
    expect(decryptToken(tokenKey('another-secret-another-secret-another-secret'), aliceRow!.encryptedToken, aliceRow!.idHash)).toBeNull();
    // Alice's token pasted into Bob's row: bound to Alice's row, it does not decrypt there.
    expect(decryptToken(tokenKey(SECRET), aliceRow!.encryptedToken, bobRow!.idHash)).toBeNull();
    // The same token encrypted twice differs (a fresh IV each time).
    expect(encryptToken(tokenKey(SECRET), TOKEN, aliceRow!.idHash)).not.toBe(encryptToken(tokenKey(SECRET), TOKEN, aliceRow!.idHash));

    await db.prisma.session.update({ where: { idHash: bobRow!.idHash }, data: { encryptedToken: aliceRow!.encryptedToken } });
    expect(await store.get(bob.id)).toBeNull();
    // A row whose token cannot be read is of no use: gone.
    expect(await db.prisma.session.count({ where: { idHash: bobRow!.idHash } })).toBe(0);
  });

  it('refuses an expired session, deletes it, and sweeps expired sessions away as new ones start', async () => {
    const db = await backend.open();
    let now = Date.parse('2026-11-25T09:00:00Z');
    const store = new SessionStore(db.prisma, SECRET, 8 * HOUR, () => now);
    const morning = await store.create('alice', TOKEN);
    now += 3 * HOUR;
    const noon = await store.create('bob', TOKEN);

    now = Date.parse('2026-11-25T17:00:00Z'); // 8 hours after the first sign-in
    expect(await store.get(morning.id)).toBeNull();
    expect(await store.get(noon.id)).toMatchObject({ login: 'bob' });
    expect(await db.prisma.session.findMany({ select: { login: true } })).toEqual([{ login: 'bob' }]);

    now = Date.parse('2026-11-25T21:00:00Z'); // Bob's expired too; nobody asked for it
    await store.create('carol', TOKEN);
    expect(await db.prisma.session.findMany({ select: { login: true } })).toEqual([{ login: 'carol' }]);
  });

  it('ends a session on request', async () => {
    const db = await backend.open();
    const store = new SessionStore(db.prisma, SECRET, 8 * HOUR);
    const session = await store.create('octocat', TOKEN);
    await store.delete(session.id);
    expect(await store.get(session.id)).toBeNull();
    expect(await db.prisma.session.count()).toBe(0);
  });
});
