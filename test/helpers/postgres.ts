// A throwaway PostgreSQL server for tests: Debian's server binaries (/usr/lib/postgresql/*/bin),
// a cluster initdb'ed in a temp dir, listening on a free loopback port with its unix socket in the
// temp dir, run as the `postgres` user when the tests run as root (postgres refuses root).
// findPostgresBin() returns null when no server is installed: callers skip with a visible message,
// except under CI, which must have one (.ci/run installs it).
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';

export function findPostgresBin(): string | null {
  const root = process.env.PARAPET_TEST_PG_ROOT ?? '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : null;
}

/** Why PostgreSQL tests cannot run here, or null when they can. */
export function postgresUnavailable(): string | null {
  if (!findPostgresBin()) return 'no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)';
  if (userInfo().uid === 0 && spawnSync('id', ['-u', 'postgres']).status !== 0) return 'running as root and there is no `postgres` user to run the server as';
  return null;
}

export interface PostgresServer {
  port: number;
  /** URL of the maintenance database `postgres`. */
  url: string;
  /** A new, empty database on this server; returns its URL. */
  /** A new database, empty or a copy of `template` (a database name on this server). */
  createDatabase(template?: string): Promise<string>;
  stop(): Promise<void>;
}

let databaseCounter = 0;

/** Where test/global-setup.ts tells test processes the run's shared server listens. */
export const SHARED_POSTGRES_ENV = 'PARAPET_TEST_POSTGRES_URL';

/**
 * The test run's PostgreSQL server (started once by test/global-setup.ts; every file makes its own
 * databases on it), or a server of this process's own outside a test run. stop() of the shared
 * one does nothing: the global setup stops it after the last file.
 */
export async function testPostgres(): Promise<PostgresServer> {
  const shared = process.env[SHARED_POSTGRES_ENV];
  if (!shared) return startPostgres();
  const url = new URL(shared);
  return { ...serverAt(Number(url.port), shared), stop: async () => {} };
}

function serverAt(port: number, url: string): Omit<PostgresServer, 'stop'> {
  return {
    port,
    url,
    async createDatabase(template?: string) {
      const name = `parapet_test_${process.pid}_${++databaseCounter}`;
      const client = new pg.Client(url);
      await client.connect();
      try {
        await client.query(template ? `CREATE DATABASE ${name} TEMPLATE ${template}` : `CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgresql://postgres@127.0.0.1:${port}/${name}`;
    },
  };
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = findPostgresBin();
  if (!bin) throw new Error(postgresUnavailable() ?? 'no PostgreSQL');
  const asRoot = userInfo().uid === 0;
  const run = (cmd: string, args: string[]) => {
    const full = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] as const : [join(bin, cmd), args] as const;
    const r = spawnSync(full[0], [...full[1]], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr || r.stdout}`);
  };
  const dir = mkdtempSync(join(tmpdir(), 'parapet-pg-'));
  if (asRoot) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--no-instructions']);
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      run('pg_ctl', [
        '-D', data, '-l', join(dir, 'log'), '-w', '-t', '60',
        '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
        'start',
      ]);
    } catch (error) {
      if (attempt < 3) continue;
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
    return {
      ...serverAt(port, url),
      async stop() {
        try {
          run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  }
}
