import { expect, it } from 'vitest';
import { join } from 'node:path';
import { openDatabase, projectRoot, readDatabaseConfig } from '../../src/store/database.js';
import { readMigrations } from '../../src/store/migrate.js';
import { freePort } from '../helpers/ports.js';
import { forEachBackend } from '../helpers/postgres-backends.js';
import { DatabaseError } from '../../src/errors.js';

forEachBackend((backend) => {
  it('applies the migrations on a fresh database, and nothing on restart', async () => {
    const config = await backend.fresh();
    const first = await openDatabase(config);
    try {
      // Every committed migration, in name order, starting with the first.
      const committed = readMigrations(join(projectRoot(), 'prisma', 'migrations')).map((m) => m.name);
      expect(committed.slice(0, 2)).toEqual(['20261125000000_init', '20261125100000_cluster_config_and_stages']);
      expect(first.appliedMigrations).toEqual(committed);
      expect(first.embedded).toBe(backend.name === 'pglite');
      // The client works, including a catalog query returning `name` columns (prisma/orm#27403).
      const tables = await first.prisma.$queryRaw<{ tablename: string }[]>`
        SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`;
      expect(tables.map((t) => t.tablename)).toContain('evaluations');
      expect(await first.prisma.installation.count()).toBe(0);
      await first.prisma.installation.create({ data: { id: 1n, accountLogin: 'acme', accountType: 'Organization' } });
    } finally {
      await first.close();
    }
    const second = await openDatabase(config);
    try {
      expect(second.appliedMigrations).toEqual([]);
      expect(await second.prisma.installation.count()).toBe(1);
      const rows = await second.prisma.$queryRaw<{ migration_name: string; finished_at: Date | null }[]>`
        SELECT migration_name, finished_at FROM _prisma_migrations`;
      expect(rows).toHaveLength(first.appliedMigrations.length);
      expect(rows[0]!.finished_at).not.toBeNull();
    } finally {
      await second.close();
    }
  });

  it('refuses to start when a recorded migration was modified', async () => {
    const config = await backend.fresh();
    const db = await openDatabase(config);
    await db.prisma.$executeRaw`UPDATE _prisma_migrations SET checksum = 'x'`;
    await db.close();
    await expect(openDatabase(config)).rejects.toThrow(/cannot migrate the database .*modified after it was applied/);
  });
});

it('an unreachable DATABASE_URL stops start-up with a clear message, password hidden', async () => {
  const port = await freePort(); // nothing listens there now
  const error = await openDatabase({ url: `postgresql://parapet:s3cret@127.0.0.1:${port}/parapet`, connectTimeoutMs: 2000 }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(DatabaseError);
  expect((error as Error).message).toMatch(new RegExp(`^cannot reach the database at postgresql://parapet:\\*\\*\\*@127\\.0\\.0\\.1:${port}/parapet: .*ECONNREFUSED`));
  expect((error as Error).message).not.toContain('s3cret');
});

it('reads the database configuration from the environment', () => {
  expect(readDatabaseConfig({ DATABASE_URL: 'postgresql://h/db' })).toEqual({ url: 'postgresql://h/db' });
  expect(readDatabaseConfig({ PARAPET_DB_DIR: '/var/lib/parapet-db' })).toEqual({ dataDir: '/var/lib/parapet-db' });
  expect(readDatabaseConfig({ PARAPET_DATA_DIR: '/data' })).toEqual({ dataDir: '/data/db' });
  expect(readDatabaseConfig({}).dataDir).toMatch(/\/\.parapet\/db$/);
});

