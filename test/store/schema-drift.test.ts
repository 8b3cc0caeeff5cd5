// prisma/schema.prisma and prisma/migrations describe the same database. The migrations are
// written by hand (the App applies them itself); the client is generated from the schema: a
// difference between the two is a query that fails in production only.
//
// Two checks: Prisma's own (`prisma migrate diff` from the migrations, applied to a shadow
// database, to the schema) on PostgreSQL; and on both backends the catalog of a database built by
// the migrations against one built by the SQL Prisma generates from the schema. The second is
// the one that covers the embedded PGlite: it is PostgreSQL 18, whose catalogs the schema engine
// of Prisma 6.19 cannot introspect.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/store/database.js';
import { repoRoot } from '../helpers/engine.js';
import { forEachBackend } from '../helpers/postgres-backends.js';

const prismaCli = join(repoRoot, 'node_modules', 'prisma', 'build', 'index.js');

/** `prisma <args>` through the JS schema engine and the pg adapter (prisma.config.ts) at `databaseUrl`. */
async function prisma(args: string[], databaseUrl: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [prismaCli, ...args], { cwd: repoRoot, env: { ...process.env, DATABASE_URL: databaseUrl, PRISMA_HIDE_UPDATE_MESSAGE: '1' }, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The public schema as PostgreSQL describes it: columns, indexes, constraints (not Prisma's migrations table). */
async function catalog(db: Database): Promise<Record<string, string[]>> {
  const lines = async (query: string) => (await db.prisma.$queryRawUnsafe<{ line: string }[]>(query)).map((r) => r.line);
  return {
    columns: await lines(`
      SELECT format('%s.%s %s%s%s', table_name, column_name, CASE WHEN data_type = 'ARRAY' THEN udt_name ELSE data_type END,
                    CASE WHEN is_nullable = 'NO' THEN ' NOT NULL' ELSE '' END, COALESCE(' DEFAULT ' || column_default, '')) AS line
      FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_prisma_migrations' ORDER BY 1`),
    indexes: await lines(`SELECT indexdef AS line FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_prisma_migrations' ORDER BY 1`),
    constraints: await lines(`
      SELECT format('%s %s %s', c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)) AS line
      FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
      WHERE n.nspname = 'public' AND c.contype IN ('p', 'u', 'f', 'c') AND c.conrelid::regclass::text <> '_prisma_migrations' ORDER BY 1`),
  };
}

let schemaSql: ReturnType<typeof prisma> | undefined;
/**
 * The schema as SQL, as Prisma generates it: the same for both backends, so generated once (a
 * Prisma CLI run costs seconds). The CLI needs a database to connect to; any will do.
 */
function schemaAsSql(databaseUrl: string): ReturnType<typeof prisma> {
  schemaSql ??= prisma(['migrate', 'diff', '--from-empty', '--to-schema-datamodel', 'prisma/schema.prisma', '--script'], databaseUrl);
  return schemaSql;
}

forEachBackend((backend) => {
  it('the migrations build exactly the tables, indexes and constraints the schema describes', async () => {
    const migrated = await backend.open();
    const script = await schemaAsSql(unredacted(migrated));
    expect(script.stderr.replace(/Loaded Prisma config from prisma\.config\.ts\.\s*/, '')).toBe('');
    expect(script.code).toBe(0);

    const noMigrations = mkdtempSync(join(tmpdir(), 'parapet-no-migrations-'));
    const fromSchema = await openDatabase({ ...(await backend.fresh()), migrationsDir: noMigrations });
    try {
      await fromSchema.prisma.$executeRawUnsafe(script.stdout);
      expect(await catalog(migrated)).toEqual(await catalog(fromSchema));
    } finally {
      await fromSchema.close();
      rmSync(noMigrations, { recursive: true, force: true });
    }
  });

  if (backend.name === 'postgres') {
    it('agree by `prisma migrate diff --from-migrations --to-schema-datamodel --exit-code`', async () => {
      const { url } = await backend.fresh();
      const diff = await prisma(['migrate', 'diff', '--from-migrations', 'prisma/migrations', '--to-schema-datamodel', 'prisma/schema.prisma', '--exit-code'], url!);
      // Exit code 0: no difference; 2: the difference, printed; 1: an error.
      expect({ code: diff.code, difference: diff.stdout.trim() }).toEqual({ code: 0, difference: 'No difference detected.' });
    });
  }
});

/** The URL of the database with its password, which `Database.url` hides. */
function unredacted(db: Database): string {
  // Both backends here use known passwords: PGlite's socket takes any, the test PostgreSQL trusts local users.
  return db.url.replace(':***@', ':postgres@');
}

