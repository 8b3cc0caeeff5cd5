// `npm start` as a person runs it: the built dist/main.js, spawned, answering on a loopback port.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migratedDataDir } from '../helpers/database-template.js';
import { repoRoot } from '../helpers/engine.js';
import { freePort, silentPort } from '../helpers/ports.js';
import { postgresUnavailable, testPostgres, type PostgresServer } from '../helpers/postgres.js';

const main = join(repoRoot, 'dist', 'main.js');
const children: ChildProcess[] = [];

beforeAll(() => expectBuilt());

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }
});

describe('npm start', () => {
  it('without credentials serves the setup page at /, also with NODE_ENV=production, and answers /healthz', async () => {
    const port = await freePort();
    const cwd = mkdtempSync(join(tmpdir(), 'parapet-setup-start-'));
    try {
      // Run from another directory (as a container's WORKDIR would be): app.yml comes from the package.
      const child = spawn(process.execPath, [main], { cwd, env: baseEnv({ PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'production' }), stdio: 'pipe' });
      children.push(child);
      await waitForServer(`http://127.0.0.1:${port}/healthz`, child);

      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      const root = await fetch(`http://127.0.0.1:${port}/`, { redirect: 'manual' });
      expect(root.status).toBe(200);
      expect(await root.text()).toContain('<label for="public_url">Public URL of this server</label>');
      const review = await (await fetch(`http://127.0.0.1:${port}/?public_url=https%3A%2F%2Fparapet.example.com`)).text();
      expect(review).toContain('<code id="webhook-url">https://parapet.example.com/api/github/webhooks</code>');
      expect(review).toContain('action="https://github.com/settings/apps/new?state=');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('stops with exit code 2 and every configuration problem listed', async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, [main], { cwd: repoRoot, env: baseEnv({ APP_ID: 'abc', PORT: 'x' }) }, (error, _stdout, stderr) =>
        resolve({ code: error ? (error as { code?: number }).code ?? null : 0, stderr }),
      );
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('APP_ID must be a positive integer, got "abc"');
    expect(result.stderr).toContain('WEBHOOK_SECRET is required');
    expect(result.stderr).toContain('PORT must be an integer');
  });
});

describe('npm start with a database', () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const credentials = { APP_ID: '12345', PRIVATE_KEY: privateKey, WEBHOOK_SECRET: 'a-webhook-secret', HOST: '127.0.0.1', PARAPET_CACHE_DIR: '' };
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'parapet-start-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stops a second App on the same embedded database with exit code 2, naming the directory and the first App', async () => {
    const dbDir = await migratedDataDir();
    const port = await freePort();
    const first = spawn(process.execPath, [main], { cwd: repoRoot, env: baseEnv({ ...credentials, PORT: String(port), PARAPET_DB_DIR: dbDir }), stdio: 'pipe' });
    children.push(first);
    await waitForServer(`http://127.0.0.1:${port}/healthz`, first);

    const second = await run(baseEnv({ ...credentials, PORT: String(await freePort()), PARAPET_DB_DIR: dbDir }));
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`parapet: the embedded database in ${dbDir} is in use by process ${first.pid} on ${hostname()}`);
    // The first one goes on serving.
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  it('stops with exit code 2 when REDIS_URL (scale-out mode) comes without DATABASE_URL', async () => {
    const port = await freePort();
    const result = await run(baseEnv({ ...credentials, PORT: String(port), PARAPET_DB_DIR: join(dir, 'db-scale-out'), REDIS_URL: 'redis://redis.internal:6379' }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('parapet: invalid configuration:\n  - REDIS_URL (scale-out mode, several App processes) requires DATABASE_URL: ');
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it('stops with exit code 2 and no server when the database cannot be reached', async () => {
    const port = await freePort();
    const closed = await freePort(); // nothing listens there
    const result = await run(baseEnv({ ...credentials, PORT: String(port), DATABASE_URL: `postgresql://parapet:s3cret@127.0.0.1:${closed}/parapet` }));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`parapet: cannot reach the database at postgresql://parapet:\\*\\*\\*@127\\.0\\.0\\.1:${closed}/parapet: .*ECONNREFUSED`));
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });
});

describe.skipIf(postgresUnavailable() !== null)('npm start in scale-out mode (REDIS_URL)', () => {
  let postgres: PostgresServer;
  beforeAll(async () => {
    postgres = await testPostgres();
  });
  afterAll(async () => {
    await postgres?.stop();
  });

  it('stops with exit code 2 and no server when Redis does not answer, naming REDIS_URL without its password', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    // A Redis behind a black-holing firewall.
    const silent = await silentPort();
    const redisPort = silent.port;
    const port = await freePort();
    try {
      const result = await run(
        baseEnv({ APP_ID: '12345', PRIVATE_KEY: privateKey, WEBHOOK_SECRET: 'a-webhook-secret', HOST: '127.0.0.1', PARAPET_CACHE_DIR: '', PORT: String(port), DATABASE_URL: await postgres.createDatabase(), REDIS_URL: `redis://:queue-secret@127.0.0.1:${redisPort}` }),
      );
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`parapet: no answer from Redis at redis://:***@127.0.0.1:${redisPort} (REDIS_URL) within 10 s`);
      expect(result.stderr).not.toContain('queue-secret');
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    } finally {
      await silent.close();
    }
  });
});

/** Runs `npm start` to its end. */
async function run(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main], { cwd: repoRoot, env, timeout: 60_000 }, (error, _stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stderr }));
  });
}

function baseEnv(extra: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', ...extra };
}

async function waitForServer(url: string, child: ChildProcess): Promise<void> {
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  // No deadline of its own: on a loaded machine the start takes what it takes, and the test's
  // timeout (vitest's) says when it is too long. The server answering is the event waited for.
  for (;;) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${output}`);
    try {
      await fetch(url, { redirect: 'manual' });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** dist/ is built (and kept fresh) by test/global-setup.ts before any test file runs. */
function expectBuilt(): void {
  if (!existsSync(main)) throw new Error(`${main} is missing: the global setup should have built dist/`);
}
