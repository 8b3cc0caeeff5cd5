// Opens Parapet's database: PostgreSQL at DATABASE_URL, or else an embedded PGlite (PostgreSQL
// compiled to Wasm) storing its files in a directory, served over the PostgreSQL wire protocol by
// pglite-socket on a private unix socket. Both are reached through the same path (pg pool -> Prisma's
// pg driver adapter), so the embedded database exercises exactly the code a real server does.
// Pending migrations are applied before the client is handed out; a database that cannot be
// reached or migrated fails here with a DatabaseError that says which and why. An embedded
// database directory is locked for the process that opened it (dir-lock.ts): a second process is
// stopped with the holder's name instead of corrupting the files.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { PrismaClient } from '@prisma/client';
import pg from 'pg';
import { DatabaseError, DirectoryLockedError, redactUrl } from '../errors.js';
import { lockDirectory, type DirectoryLock } from './dir-lock.js';
import { applyMigrations, readMigrations } from './migrate.js';
import { createPgAdapter } from './pg-adapter.js';


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

/** The port in the socket's file name, which PostgreSQL clients derive from the URL. */
const SOCKET_PORT = 5432;

interface Embedded {
  url: string;
  stop(): Promise<void>;
}

async function startEmbedded(dataDir: string): Promise<Embedded> {
  let db: PGlite;
  let lock: DirectoryLock | undefined;
  try {
    if (!dataDir.startsWith('memory://')) {
      mkdirSync(dataDir, { recursive: true });
      lock = lockDirectory(dataDir);
    }
    db = await PGlite.create(dataDir);
  } catch (error) {
    lock?.release();
    if (error instanceof DirectoryLockedError) throw new DatabaseError(error.message);
    throw new DatabaseError(`cannot open the embedded database in ${dataDir}: ${(error as Error).message}`);
  }
  // Served on a unix socket in a directory only this user can enter (mkdtemp: 0700), not on a
  // TCP port: pglite-socket has no authentication, and another local user must not reach it.
  // PGlite is a single session, and the pool above it holds one connection. The server admits a
  // second one so that a connection replacing a lost one is not refused while the old socket is
  // still being torn down (pglite-socket rolls back what the old one left open, then serves the
  // new one: they never interleave inside a transaction).
  const socketDir = mkdtempSync(join(tmpdir(), 'parapet-db-'));
  const server = new PGLiteSocketServer({ db, path: join(socketDir, `.s.PGSQL.${SOCKET_PORT}`), maxConnections: 2 });
  try {
    await server.start();
  } catch (error) {
    await db.close().catch(() => {});
    rmSync(socketDir, { recursive: true, force: true });
    lock?.release();
    throw new DatabaseError(`cannot serve the embedded database on a socket in ${socketDir}: ${(error as Error).message}`);
  }
  return {
    url: `postgresql://postgres:postgres@localhost:${SOCKET_PORT}/postgres?host=${encodeURIComponent(socketDir)}`,
    async stop() {
      await server.stop().catch(() => {});
      await db.close().catch(() => {});
      rmSync(socketDir, { recursive: true, force: true });
      lock?.release();
    },
  };
}

async function migrate(url: string, migrationsDir: string, timeoutMs: number): Promise<string[]> {
  const shown = redactUrl(url, 'DATABASE_URL');
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
      // The embedded connection is kept for good: there is no server-side cost to an idle one, and
      // every reconnection is a chance to race the single-session server.
      adapter: createPgAdapter(url, embedded ? { max: 1, idleTimeoutMillis: 0, connectionTimeoutMillis: timeoutMs } : { max: 10, connectionTimeoutMillis: timeoutMs }),
      // One connection for PGlite: transactions may queue behind each other for a while.
      transactionOptions: { maxWait: 30_000, timeout: 60_000 },
    });
    await prisma.$connect();
    const client = prisma;
    let closed = false;
    return {
      prisma: client,
      url: redactUrl(url, 'DATABASE_URL'),
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
    throw new DatabaseError(`cannot open the database at ${redactUrl(url, 'DATABASE_URL')}: ${(error as Error).message}`);
  }
}

export async function closeDatabase(db: Database): Promise<void> {
  await db.close();
}
