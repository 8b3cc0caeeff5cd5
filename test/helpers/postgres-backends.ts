// Runs a store test suite against both backends: the embedded PGlite and a real PostgreSQL
// started for the file. Without PostgreSQL binaries the PostgreSQL half is skipped with a visible
// message, except under CI, where it fails.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { openDatabase, type Database, type DatabaseConfig } from '../../src/store/database.js';
import { migratedDataDir } from './database-template.js';
import { postgresUnavailable, testPostgres, type PostgresServer } from './postgres.js';

export interface Backend {
  name: 'pglite' | 'postgres';
  /** Configuration of a new, empty database. */
  fresh(): Promise<DatabaseConfig>;
  /** Opens a new migrated database holding no rows; closed after the file. */
  open(): Promise<Database>;
}

export function forEachBackend(suite: (backend: Backend) => void): void {
  const unavailable = postgresUnavailable();
  if (unavailable && process.env.CI) throw new Error(`PostgreSQL is required under CI: ${unavailable}`);
  if (unavailable) console.warn(`\n[store tests] SKIPPING the PostgreSQL backend: ${unavailable}\n`);

  const backends: { name: Backend['name']; skip: boolean }[] = [
    { name: 'pglite', skip: false },
    { name: 'postgres', skip: unavailable !== null },
  ];
  for (const { name, skip } of backends) {
    (skip ? describe.skip : describe)(name, () => {
      let server: PostgresServer | undefined;
      /** A migrated database on the server that open() copies (CREATE DATABASE ... TEMPLATE). */
      let migrated: Promise<string> | undefined;
      const dirs: string[] = [];
      const opened: Database[] = [];
      beforeAll(async () => {
        if (name === 'postgres') server = await testPostgres();
      });
      afterAll(async () => {
        for (const db of opened) await db.close();
        await server?.stop();
        for (const d of dirs) rmSync(d, { recursive: true, force: true });
      });
      const backend: Backend = {
        name,
        async fresh() {
          if (name === 'postgres') return { url: await server!.createDatabase() };
          const dir = mkdtempSync(join(tmpdir(), 'parapet-pglite-'));
          dirs.push(dir);
          return { dataDir: join(dir, 'db') };
        },
        async open() {
          // From a migrated copy: what these suites test starts after the migrations.
          let config: DatabaseConfig;
          if (name === 'postgres') {
            config = { url: await server!.createDatabase(await (migrated ??= migratedTemplate(server!))) };
          } else {
            const dataDir = await migratedDataDir();
            dirs.push(dirname(dataDir));
            config = { dataDir };
          }
          const db = await openDatabase(config);
          opened.push(db);
          return db;
        },
      };
      suite(backend);
    });
  }
}

async function migratedTemplate(server: PostgresServer): Promise<string> {
  const url = await server.createDatabase();
  await (await openDatabase({ url })).close();
  return new URL(url).pathname.slice(1);
}
