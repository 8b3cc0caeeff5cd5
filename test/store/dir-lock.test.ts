// Two processes on one embedded database directory: the second is stopped with a clear message
// naming the directory and the holder; a lock left by a process that died is taken over.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.js';
import { LOCK_FILE, lockDirectory } from '../../src/store/dir-lock.js';
import { migratedDataDir } from '../helpers/database-template.js';
import { repoRoot } from '../helpers/engine.js';
import { DatabaseError } from '../../src/errors.js';

const root = mkdtempSync(join(tmpdir(), 'parapet-lock-'));
const children: ChildProcess[] = [];
let dirs = 0;
const freshDir = () => join(root, `db-${++dirs}`);

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Another process holding the database in `dir`; resolves with its pid once it is open. */
async function holder(dir: string): Promise<{ child: ChildProcess; pid: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test', 'helpers', 'hold-database.ts'), dir], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      const open = /^open (\d+)$/m.exec(output);
      if (open) resolve({ child, pid: Number(open[1]) });
      else if (/^refused /m.test(output)) reject(new Error(output));
    });
    child.stderr!.on('data', (chunk) => (output += chunk));
    child.once('exit', (code) => reject(new Error(`the holder exited with ${code}: ${output}`)));
  });
}

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => child.once('exit', resolve));
}

describe('the embedded database directory', () => {
  it('stops a second process with the directory and the process holding it, and opens once that one stopped', async () => {
    const dir = await migratedDataDir();
    const { child, pid } = await holder(dir);

    const refused = await openDatabase({ dataDir: dir }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DatabaseError);
    expect((refused as Error).message).toMatch(
      new RegExp(`^the embedded database in ${dir} is in use by process ${pid} on ${hostname()} \\(since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\); stop that process first`),
    );

    child.kill('SIGTERM');
    await exited(child);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    const db = await openDatabase({ dataDir: dir });
    await db.close();
  });

  it('takes over the lock of a process that died holding it, and keeps the data', async () => {
    const dir = await migratedDataDir();
    const first = await openDatabase({ dataDir: dir });
    await first.prisma.installation.create({ data: { id: 7n, accountLogin: 'acme', accountType: 'Organization' } });
    await first.close();

    const { child, pid } = await holder(dir);
    child.kill('SIGKILL');
    await exited(child);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid, host: hostname() });

    const db = await openDatabase({ dataDir: dir });
    try {
      expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
      expect(await db.prisma.installation.count()).toBe(1);
    } finally {
      await db.close();
    }
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('takes over a lock whose pid is now another process (a reused pid), or this one (a restarted container)', () => {
    const dir = freshDir();
    // process.ppid runs, but did not start at clock tick 1: the pid was reused since the holder died.
    for (const stale of [
      { pid: process.ppid, host: hostname(), since: '2026-11-20T08:00:00.000Z', startTicks: 1 },
      { pid: process.pid, host: hostname(), since: '2026-11-20T08:00:00.000Z' },
    ]) {
      rmSync(dir, { recursive: true, force: true });
      const lock = lockDirectory(dir); // creates the directory
      lock.release();
      writeFileSync(join(dir, LOCK_FILE), JSON.stringify(stale));
      const taken = lockDirectory(dir);
      expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
      expect(() => lockDirectory(dir)).toThrow(`is in use by process ${process.pid} on ${hostname()}`);
      taken.release();
    }
  });

  it('takes over an empty lock file left by a process that died creating it, but not one being written', () => {
    const dir = freshDir();
    lockDirectory(dir).release();
    writeFileSync(join(dir, LOCK_FILE), '');
    // Just created: its holder may be about to write its name; after a grace period it is stale.
    const started = Date.now();
    const lock = lockDirectory(dir);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
    lock.release();

    writeFileSync(join(dir, LOCK_FILE), '');
    const minuteAgo = new Date(Date.now() - 60_000);
    utimesSync(join(dir, LOCK_FILE), minuteAgo, minuteAgo);
    const again = Date.now();
    lockDirectory(dir).release();
    expect(Date.now() - again).toBeLessThan(1_000);
  });

  it('assumes a holder on another host runs: a directory on a shared volume is not taken from it', () => {
    const dir = freshDir();
    lockDirectory(dir).release();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 4242, host: 'parapet-0.internal', since: '2026-11-25T08:00:00.000Z' }));
    expect(() => lockDirectory(dir)).toThrow(
      `the embedded database in ${dir} is in use by process 4242 on parapet-0.internal (since 2026-11-25T08:00:00.000Z); stop that process first, or give this one its own PARAPET_DB_DIR (or a PostgreSQL DATABASE_URL to share one database). If that process is gone, delete ${join(dir, LOCK_FILE)}.`,
    );
  });
});
