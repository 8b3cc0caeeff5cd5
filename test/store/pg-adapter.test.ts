import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createPgAdapter, isStatementError } from '../../src/store/pg-adapter.js';
import { forEachBackend } from '../helpers/postgres-backends.js';

const NAME_QUERY = { sql: `SELECT 'parapet'::name AS n, ARRAY['a'::name] AS ns`, args: [], argTypes: [] };

forEachBackend((backend) => {
  it('reports `name` columns as text (work-around for prisma/orm#27403)', async () => {
    const db = await backend.open();
    // Through the client Parapet uses (both backends).
    const viaClient = await db.prisma.$queryRawUnsafe<{ n: string; ns: string[] }[]>(NAME_QUERY.sql);
    expect(viaClient).toEqual([{ n: 'parapet', ns: ['a'] }]);
    if (db.embedded) return; // PGlite serves one connection, held by db; the comparison below needs two.
    const url = (await backend.fresh()).url!;
    const plain = await new PrismaPg({ connectionString: url }).connect();
    try {
      await expect(plain.queryRaw(NAME_QUERY)).rejects.toThrow();
    } finally {
      await plain.dispose();
    }
    const fixed = await createPgAdapter(url).connect();
    try {
      const result = await fixed.queryRaw(NAME_QUERY);
      expect(result.rows).toEqual([['parapet', ['a']]]);
    } finally {
      await fixed.dispose();
    }
  });
});

forEachBackend((backend) => {
  // The embedded database serves one session: a statement error that cost the connection made the
  // next query fail while the replacement connection was refused ("Connection terminated unexpectedly").
  it('keeps the connection after a statement fails outside a transaction', async () => {
    const db = await backend.open();
    await db.prisma.installation.create({ data: { id: 7n, accountLogin: 'acme', accountType: 'Organization' } });
    const [{ pid: before } = { pid: -1 }] = await db.prisma.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;

    await expect(db.prisma.installation.create({ data: { id: 7n, accountLogin: 'acme-again', accountType: 'Organization' } })).rejects.toMatchObject({ code: 'P2002' });
    await expect(db.prisma.$executeRaw`INSERT INTO installations (id, account_login, account_type, updated_at) VALUES (7, 'raw', 'User', now())`).rejects.toThrow(/duplicate key/);

    expect(await db.prisma.installation.findMany({ select: { accountLogin: true } })).toEqual([{ accountLogin: 'acme' }]);
    const [{ pid: after } = { pid: -2 }] = await db.prisma.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
    expect(after).toBe(before);
  });

  it('rolls back a transaction whose statement fails, and the connection goes on', async () => {
    const db = await backend.open();
    await db.prisma.installation.create({ data: { id: 7n, accountLogin: 'acme', accountType: 'Organization' } });
    await db.prisma.repository.create({ data: { id: 42n, installationId: 7n, owner: 'acme', name: 'gitops', nameKey: 'acme/gitops' } });

    const failing = db.prisma.$transaction(async (tx) => {
      await tx.installation.update({ where: { id: 7n }, data: { accountLogin: 'acme-renamed' } });
      // Another repository claiming the name without releasing it first: the unique key refuses.
      await tx.repository.create({ data: { id: 77n, installationId: 7n, owner: 'acme', name: 'gitops', nameKey: 'acme/gitops' } });
    });
    await expect(failing).rejects.toMatchObject({ code: 'P2002' });

    expect(await db.prisma.installation.findUniqueOrThrow({ where: { id: 7n } })).toMatchObject({ accountLogin: 'acme' });
    expect(await db.prisma.repository.count()).toBe(1);
    // Many more, one after the other, on the same connection.
    for (let i = 0; i < 20; i++) await db.prisma.$transaction(async (tx) => tx.installation.update({ where: { id: 7n }, data: { suspendedAt: new Date(i * 1000) } }));
    expect((await db.prisma.installation.findUniqueOrThrow({ where: { id: 7n } })).suspendedAt).toEqual(new Date(19_000));
  });

  it('reports `"char"` catalog columns as text, as the Prisma CLI\'s introspection needs', async () => {
    const db = await backend.open();
    const kinds = await db.prisma.$queryRaw<{ relname: string; relkind: string }[]>`
      SELECT relname, relkind FROM pg_class WHERE relname IN ('repositories', 'repositories_pkey') ORDER BY relname`;
    expect(kinds).toEqual([
      { relname: 'repositories', relkind: 'r' },
      { relname: 'repositories_pkey', relkind: 'i' },
    ]);
  });

  if (backend.name === 'postgres') {
    it('replaces connections lost in the middle of a transaction: nothing half-written stays, no pool slot leaks', async () => {
      const db = await backend.open();
      await db.prisma.installation.create({ data: { id: 7n, accountLogin: 'acme', accountType: 'Organization' } });
      // The server of the test helper trusts local connections: its URLs carry no password.
      const admin = new pg.Client(db.url);
      await admin.connect();
      try {
        // More losses than the pool has connections (10): a leaked slot per loss would stop every query.
        for (let loss = 0; loss < 12; loss++) {
          // Hold the table, so the transaction below stops half-way, after its first write.
          await admin.query('BEGIN');
          await admin.query('LOCK TABLE repositories IN EXCLUSIVE MODE');
          // Its failure is taken as soon as it happens (during the kill below), not left unhandled till then.
          const write = db.prisma
            .$transaction(async (tx) => {
              await tx.installation.update({ where: { id: 7n }, data: { accountLogin: `half-written-${loss}` } });
              await tx.repository.create({ data: { id: 42n, installationId: 7n, owner: 'acme', name: 'gitops' } });
            })
            .then(() => null, (error: unknown) => error);
          const writer = await waitFor(async () => {
            // Inside a transaction the statistics are a snapshot taken once: take a new one each time.
            await admin.query('SELECT pg_stat_clear_snapshot()');
            const { rows } = await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`);
            return rows[0]?.pid;
          });
          await admin.query('SELECT pg_terminate_backend($1)', [writer]);
          expect(String(await write)).toMatch(/terminating connection due to administrator command|Connection terminated/);
          await admin.query('ROLLBACK');
        }
      } finally {
        await admin.end();
      }
      expect(await db.prisma.installation.findUniqueOrThrow({ where: { id: 7n } })).toMatchObject({ accountLogin: 'acme' });
      expect(await db.prisma.repository.count()).toBe(0);
      await db.prisma.repository.create({ data: { id: 42n, installationId: 7n, owner: 'acme', name: 'gitops' } });
      expect(await db.prisma.repository.count()).toBe(1);
    });
  }
});

describe('which errors keep the connection', () => {
  it('a statement the server refused with ERROR does; FATAL, socket and client errors do not', () => {
    const refused = new pg.DatabaseError('duplicate key value violates unique constraint "installations_pkey"', 100, 'error');
    refused.severity = 'ERROR';
    refused.code = '23505';
    const terminated = new pg.DatabaseError('terminating connection due to administrator command', 100, 'error');
    terminated.severity = 'FATAL';
    terminated.code = '57P01';
    expect(isStatementError(refused)).toBe(true);
    expect(isStatementError(terminated)).toBe(false);
    expect(isStatementError(new Error('Connection terminated unexpectedly'))).toBe(false);
    expect(isStatementError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(false);
  });
});

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
