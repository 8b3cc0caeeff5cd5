// One process at a time per embedded database directory. PGlite has no lock of its own: two
// processes opening the same PARAPET_DB_DIR both write its files and corrupt it. The lock is a
// file in the directory, created exclusively, naming its holder (pid, host, process start time);
// a lock whose holder is gone (the process died without closing) is taken over.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DirectoryLockedError } from '../errors.js';

export const LOCK_FILE = 'parapet.lock';

export interface LockHolder {
  pid: number;
  host: string;
  /** When the holder took the lock (ISO 8601). */
  since: string;
  /** The holder's start time in clock ticks since boot (Linux), to tell a reused pid from the holder. */
  startTicks?: number;
}


export interface DirectoryLock {
  readonly path: string;
  release(): void;
}

/** Directories this process holds: a lock file naming this pid but not listed here is a previous run's. */
const held = new Set<string>();

/**
 * Takes the lock of `dir` (created if missing) or throws DirectoryLockedError naming the holder.
 * A lock left by a process that no longer runs on this host is taken over.
 */
export function lockDirectory(dir: string): DirectoryLock {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 5; attempt++) {
    if (tryCreate(path)) return lockHandle(dir, path);
    let holder = readHolder(path);
    // Created this instant by a process about to write its name into it: give it the time.
    while (!holder && ageMs(path) < HALF_WRITTEN_GRACE_MS) {
      sleep(100);
      holder = readHolder(path);
    }
    if (holder && isAlive(holder, dir)) throw new DirectoryLockedError(dir, holder, join(dir, LOCK_FILE));
    // Stale (or half-written by a process that died creating it): remove it under a takeover
    // guard, so that of two processes finding it stale only one removes it and creates its own.
    takeOver(path, holder);
  }
  throw new Error(`cannot lock ${dir}: its lock file ${path} keeps changing hands (several processes starting at once?)`);
}

function lockHandle(dir: string, path: string): DirectoryLock {
  held.add(dir);
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      held.delete(dir);
      // Only our own lock: never one a later process took over after this one was presumed dead.
      if (readHolder(path)?.pid === process.pid) unlinkSync(path);
    },
  };
}

function tryCreate(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), ...startTicksOf(process.pid) };
    writeSync(fd, `${JSON.stringify(me)}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readHolder(path: string): LockHolder | null {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>;
    if (typeof value.pid !== 'number' || typeof value.host !== 'string' || typeof value.since !== 'string') return null;
    return { pid: value.pid, host: value.host, since: value.since, ...(typeof value.startTicks === 'number' ? { startTicks: value.startTicks } : {}) };
  } catch {
    return null;
  }
}

function isAlive(holder: LockHolder, dir: string): boolean {
  // Another host's process cannot be checked from here (a shared volume): assume it runs.
  if (holder.host !== hostname()) return true;
  // Our own pid: held by this process, or left by an earlier process that had the same pid (a
  // restarted container starts its main process with the same pid every time).
  if (holder.pid === process.pid) return held.has(dir);
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: it runs, as another user.
  }
  // The pid runs, but may have been reused by an unrelated process since the holder died.
  const now = startTicksOf(holder.pid).startTicks;
  return holder.startTicks === undefined || now === undefined || now === holder.startTicks;
}

function takeOver(path: string, seen: LockHolder | null): void {
  const guard = `${path}.takeover`;
  try {
    mkdirSync(guard);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      removeAbandonedGuard(guard);
      return; // another process is taking over: look again
    }
    throw error;
  }
  try {
    // Still the stale lock we judged, not one a faster process just created.
    const now = readHolder(path);
    if (existsSync(path) && JSON.stringify(now) === JSON.stringify(seen)) unlinkSync(path);
  } finally {
    rmdirSync(guard);
  }
}

/** An unreadable lock younger than this may be one whose holder has not written its name yet. */
const HALF_WRITTEN_GRACE_MS = 2_000;

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return Number.POSITIVE_INFINITY; // gone: nothing to wait for
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A takeover guard older than a minute belongs to a process that died mid-takeover. */
function removeAbandonedGuard(guard: string): void {
  try {
    const { mtimeMs } = statSync(guard);
    if (Date.now() - mtimeMs > 60_000) rmdirSync(guard);
  } catch {
    // gone already
  }
}

/** The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat); absent off Linux. */
function startTicksOf(pid: number): { startTicks?: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? { startTicks: ticks } : {};
  } catch {
    return {};
  }
}
