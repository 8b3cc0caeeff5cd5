// Runs a store test suite against both backends: the embedded PGlite and a real PostgreSQL
// started for the file. Without PostgreSQL binaries the PostgreSQL half is skipped with a visible
// message, except under CI, where it fails.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { openDatabase, type Database, type DatabaseConfig } from '../../src/store/database.js';
import { postgresUnavailable, startPostgres, type PostgresServer } from './postgres.js';

export interface Backend {
  name: 'pglite' | 'postgres';
  /** Configuration of a new, empty database. */
  fresh(): Promise<DatabaseConfig>;
  /** Opens a new, empty, migrated database; closed after the file. */
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
      const dirs: string[] = [];
      const opened: Database[] = [];
      beforeAll(async () => {
        if (name === 'postgres') server = await startPostgres();
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
          const db = await openDatabase(await backend.fresh());
          opened.push(db);
          return db;
        },
      };
      suite(backend);
    });
  }
}
