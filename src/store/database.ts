// Opens Parapet's database: PostgreSQL at DATABASE_URL, or else an embedded PGlite (PostgreSQL
// compiled to Wasm) storing its files in a directory, served over the PostgreSQL wire protocol by
// pglite-socket on a loopback port. Both are reached through the same path (pg pool -> Prisma's
// pg driver adapter), so the embedded database exercises exactly the code a real server does.
// Pending migrations are applied before the client is handed out; a database that cannot be
// reached or migrated fails here with a DatabaseError that says which and why.
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { PrismaClient } from '@prisma/client';
import pg from 'pg';
import { applyMigrations, readMigrations } from './migrate.js';
import { createPgAdapter } from './pg-adapter.js';

export class DatabaseError extends Error {
  override name = 'DatabaseError';
}

export interface DatabaseConfig {
  /** A PostgreSQL server; undefined: the embedded PGlite database in `dataDir`. */
  url?: string | undefined;
  /** Where the embedded database keeps its files; 'memory://' for a throwaway in-memory one. */
  dataDir?: string | undefined;
  /** Committed migrations; default: prisma/migrations of the project. */
  migrationsDir?: string | undefined;
  /** How long to wait for the server to answer (ms). */
  connectTimeoutMs?: number | undefined;
}

export interface Database {
  prisma: PrismaClient;
  /** The connection string in use, password hidden. */
  url: string;
  embedded: boolean;
  /** Migrations this start applied. */
  appliedMigrations: string[];
  close(): Promise<void>;
}

type Env = Record<string, string | undefined>;

/** The project root: the nearest directory above this module that holds prisma/migrations. */
export function projectRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'prisma', 'migrations'))) return dir;
    if (dirname(dir) === dir) throw new DatabaseError(`prisma/migrations not found above ${from}`);
  }
}

/** DATABASE_URL; else PARAPET_DB_DIR; else PARAPET_DATA_DIR/db; else .parapet/db in the project. */
export function readDatabaseConfig(env: Env = process.env): DatabaseConfig {
  const url = env.DATABASE_URL?.trim() || undefined;
  if (url) return { url };
  const dataDir =
    env.PARAPET_DB_DIR?.trim() ||
    (env.PARAPET_DATA_DIR?.trim() ? join(env.PARAPET_DATA_DIR.trim(), 'db') : join(projectRoot(), '.parapet', 'db'));
  return { dataDir: resolve(dataDir) };
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => (typeof address === 'object' && address ? ok(address.port) : fail(new Error('no port'))));
    });
  });
}

interface Embedded {
  url: string;
  stop(): Promise<void>;
}

async function startEmbedded(dataDir: string): Promise<Embedded> {
  let db: PGlite;
  try {
    if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
    db = await PGlite.create(dataDir);
  } catch (error) {
    throw new DatabaseError(`cannot open the embedded database in ${dataDir}: ${(error as Error).message}`);
  }
  // PGlite is a single session: one connection, and the pool above it is sized 1 to match.
  for (let attempt = 0; ; attempt++) {
    const port = await freeLoopbackPort();
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port, maxConnections: 1 });
    try {
      await server.start();
    } catch (error) {
      if (attempt < 5 && (error as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
      await db.close().catch(() => {});
      throw new DatabaseError(`cannot serve the embedded database on 127.0.0.1:${port}: ${(error as Error).message}`);
    }
    return {
      url: `postgresql://postgres:postgres@127.0.0.1:${port}/postgres?sslmode=disable`,
      async stop() {
        await server.stop().catch(() => {});
        await db.close().catch(() => {});
      },
    };
  }
}

async function migrate(url: string, migrationsDir: string, timeoutMs: number): Promise<string[]> {
  const shown = redactUrl(url);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {}); // reported through the failing query
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    const e = error as NodeJS.ErrnoException;
    const why = e.message || e.code || String(error);
    throw new DatabaseError(`cannot reach the database at ${shown}: ${why}`);
  }
  try {
    return await applyMigrations(client, readMigrations(migrationsDir));
  } catch (error) {
    throw new DatabaseError(`cannot migrate the database at ${shown}: ${(error as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
}

export async function openDatabase(config: DatabaseConfig = readDatabaseConfig()): Promise<Database> {
  const migrationsDir = config.migrationsDir ?? join(projectRoot(), 'prisma', 'migrations');
  const timeoutMs = config.connectTimeoutMs ?? 10_000;
  const embedded = config.url ? null : await startEmbedded(config.dataDir ?? join(projectRoot(), '.parapet', 'db'));
  const url = config.url ?? embedded!.url;
  let prisma: PrismaClient | undefined;
  try {
    const appliedMigrations = await migrate(url, migrationsDir, timeoutMs);
    prisma = new PrismaClient({
      adapter: createPgAdapter(url, { max: embedded ? 1 : 10, connectionTimeoutMillis: timeoutMs }),
      // One connection for PGlite: transactions may queue behind each other for a while.
      transactionOptions: { maxWait: 30_000, timeout: 60_000 },
    });
    await prisma.$connect();
    const client = prisma;
    let closed = false;
    return {
      prisma: client,
      url: redactUrl(url),
      embedded: embedded !== null,
      appliedMigrations,
      async close() {
        if (closed) return;
        closed = true;
        await client.$disconnect().catch(() => {});
        await embedded?.stop();
      },
    };
  } catch (error) {
    await prisma?.$disconnect().catch(() => {});
    await embedded?.stop();
    if (error instanceof DatabaseError) throw error;
    throw new DatabaseError(`cannot open the database at ${redactUrl(url)}: ${(error as Error).message}`);
  }
}

export async function closeDatabase(db: Database): Promise<void> {
  await db.close();
}
