// The CelHelper port as a child process: the pinned `parapet-cel` (tools/cel, built by `npm ci`),
// started with the engine's runtime (warmUp) or else by the first request, and kept for every later check of this process,
// speaking one JSON line per request and per answer. A missing or crashed helper is an operational
// error (ConfigError) with what to do about it; the next request starts a new one.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { CelHelper } from '../engine/index.js';
import { ConfigError } from '../errors.js';

export const defaultCelHelperPath = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tools', 'bin', 'parapet-cel');

const BUILD_HINT = 'run `npm ci` (or `node scripts/build-go-tool.mjs cel`) to build it';

interface Pending {
  resolve: (answer: unknown) => void;
  reject: (error: Error) => void;
}

export class CelHelperProcess implements CelHelper {
  generation = 0;
  private child: ChildProcessWithoutNullStreams | undefined;
  private pending: Pending[] = [];
  private stderr = '';

  constructor(
    private readonly path: string = defaultCelHelperPath,
    /**
     * Where the helper keeps what compiling each template's CEL found (undefined: nowhere), so a
     * check of templates it has seen before compiles each of them once, in the driver, not twice.
     */
    private readonly cacheDir?: string,
  ) {}

  request(json: string): Promise<unknown> {
    let child: ChildProcessWithoutNullStreams;
    try {
      child = this.child ?? this.start();
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      child.stdin.write(`${json}\n`);
    });
  }

  /**
   * Starts the helper ahead of its first request, so that its start-up overlaps reading and parsing
   * the repository instead of following it; a helper that cannot start says so at the first request,
   * as it always did.
   */
  warmUp(): void {
    if (this.child || !existsSync(this.path)) return;
    this.start();
  }

  lostState(): Error {
    return new ConfigError(`the CEL helper ${this.path} stopped during this check and was started again: check again`);
  }

  /** Ends the helper: it exits when its input closes. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.stdin.end();
    await exited;
  }

  private start(): ChildProcessWithoutNullStreams {
    if (!existsSync(this.path)) throw new ConfigError(`the CEL helper (Gatekeeper's CEL driver) is missing at ${this.path}; ${BUILD_HINT}`);
    this.generation += 1;
    this.stderr = '';
    const env = this.cacheDir === undefined ? process.env : { ...process.env, PARAPET_CEL_CACHE_DIR: this.cacheDir };
    const child = spawn(this.path, [], { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.child = child;
    const pending: Pending[] = [];
    this.pending = pending;
    const fail = (reason: string) => {
      if (this.child === child) this.child = undefined;
      const error = new ConfigError(`the CEL helper ${this.path} ${reason}${this.stderr.trim() ? `: ${this.stderr.trim().split('\n').slice(-5).join('\n')}` : ''}; ${BUILD_HINT} if it is missing or broken`);
      for (const waiting of pending.splice(0)) waiting.reject(error);
    };
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
      const waiting = pending.shift();
      if (!waiting) return;
      try {
        waiting.resolve(JSON.parse(line) as unknown);
      } catch {
        waiting.reject(new ConfigError(`the CEL helper ${this.path} answered with something that is not JSON: ${line.slice(0, 200)}`));
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      // Only the end is ever shown; a chatty helper must not grow memory.
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-4000);
    });
    child.on('error', (error) => fail(`could not be run (${error.message})`));
    child.on('close', (code, signal) => {
      if (pending.length > 0) fail(`stopped (${signal ?? `exit code ${code}`}) before answering`);
      else if (this.child === child) this.child = undefined;
    });
    // A write to a helper that died is reported by 'close'; without a listener it would throw.
    child.stdin.on('error', () => {});
    return child;
  }
}
