// The Renderer port over Parapet's Go helper (tools/render, built by `npm ci`): kustomize's API,
// Helm's and Flux's build steps in one process per session, fed the repository's files over stdin and asked
// for one build per line. The helper reads neither the disk nor the network for a build; only a
// chart from a Helm repository or OCI registry is fetched (into the chart cache), when this side
// allows it. This side bounds time.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FetchFailureReason, RenderedObject, RenderOutcome, Renderer, RenderRequest, RenderSession } from '../engine/index.js';
import { ConfigError, RendererError } from '../errors.js';
import { builtHelperIdentity } from '../disk-cache.js';

export const defaultRenderPath = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tools', 'bin', 'render');

export interface HelperRendererOptions {
  renderPath?: string;
  /** Time limit of one build; the helper is restarted after a build that exceeds it. */
  timeoutMs?: number;
  /**
   * Memory limit of the helper's heap, in MiB: the collector works hard from 80 % of it (Go's
   * GOMEMLIMIT), and a build that goes past it is stopped and reported, the helper restarted.
   */
  memoryLimitMiB?: number;
  /** Charts from Helm repositories and OCI registries; absent: not fetched (a notice says so). */
  chartFetch?: ChartFetchOptions;
}

export interface ChartFetchOptions {
  /** Where fetched archives are kept, by repository URL, chart and version; null: not kept. */
  cacheDir: string | null;
  /** Time limit of each request (the index, the archive). */
  timeoutMs?: number;
  /** Largest response read, in bytes. */
  maxBytes?: number;
}

interface Reply {
  id: number;
  objects: RenderedObject[];
  generated?: boolean;
  error?: string;
  reads?: RenderRead[];
  chart?: { version: string; digest?: string; cached?: boolean };
  fetch?: { reason: FetchFailureReason; message: string };
}

/**
 * A path of the repository a build looked at (tools/render/recordfs.go), repository-relative (`''`
 * for its root): `file` read its content, `stat` asked whether it exists and is a folder, `list`
 * listed the folder's names, `tree` walked every file below it.
 */
export interface RenderRead {
  op: 'file' | 'stat' | 'list' | 'tree';
  path: string;
}

/** A build's outcome with what it read; no reads when the helper did not answer (a build stopped for time). */
export interface RecordedOutcome {
  outcome: RenderOutcome;
  reads?: RenderRead[];
}

/** Files are sent in batches so no single line holds a whole large repository. */
const FILES_PER_MESSAGE = 500;

export class HelperRenderer implements Renderer {
  private readonly path: string;

  constructor(private readonly options: HelperRendererOptions = {}) {
    this.path = options.renderPath ?? defaultRenderPath;
  }

  async open(files: Map<string, string>): Promise<HelperSession> {
    return new HelperSession(this.path, files, this.options);
  }

  /**
   * What decides the helper's builds besides their inputs: the build stamp `npm ci` writes beside
   * it (pinned versions and a hash of its Go source) and the binary's size and time, so a rebuilt
   * helper never reuses outputs of the previous one.
   */
  async identity(): Promise<string> {
    return JSON.stringify([this.path, ...(await builtHelperIdentity(this.path))]);
  }
}

export class HelperSession implements RenderSession {
  private process: Promise<HelperProcess> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly files: Map<string, string>,
    private readonly options: HelperRendererOptions,
  ) {}

  async render(request: RenderRequest): Promise<RenderOutcome> {
    return (await this.renderRecorded(request)).outcome;
  }

  renderRecorded(request: RenderRequest): Promise<RecordedOutcome> {
    // One build at a time: kustomize's global state (its OpenAPI schema) is per process.
    const next = this.queue.then(() => this.run(request));
    this.queue = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    const process = await this.process?.catch(() => undefined);
    this.process = undefined;
    process?.stop();
  }

  private async run(request: RenderRequest): Promise<RecordedOutcome> {
    const fetch = this.options.chartFetch;
    if (request.kind === 'helm' && request.remote && !fetch) {
      return { outcome: { ok: false, error: 'fetching charts is off (--offline, or PARAPET_CHART_FETCH=off)', fetch: { reason: 'offline' } } };
    }
    this.process ??= HelperProcess.start(this.path, this.files, this.options);
    const helper = await this.process;
    const message =
      request.kind === 'kustomize'
        ? { op: 'kustomize', path: request.path }
        : request.kind === 'helm'
          ? {
              op: 'helm',
              helm: {
                ...request,
                kind: undefined,
                ...(request.remote && fetch
                  ? { remote: { ...request.remote, cacheDir: fetch.cacheDir ?? '', timeoutMs: fetch.timeoutMs ?? 20_000, maxBytes: fetch.maxBytes ?? 50 * 1024 * 1024 } }
                  : {}),
              },
            }
          : { op: 'flux', path: request.path, kustomization: request.kustomization, substituteFrom: request.substituteFrom, ...(request.argo ? { argo: request.argo } : {}) };
    const timeoutMs = this.options.timeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    try {
      const reply = await Promise.race([
        helper.send(message).catch((error: unknown): Reply => {
          // The helper ended during this build (its memory limit, a crash on this input): the build
          // failed, not the check; the next build starts a new helper.
          this.process = undefined;
          return { id: 0, objects: [], error: error instanceof Error ? error.message.replace(/^the renderer (was stopped|exited with code \d+)(: render: )?/, '') || error.message : String(error) };
        }),
        timedOut,
      ]);
      if (reply === 'timeout') {
        helper.stop();
        this.process = undefined;
        return { outcome: { ok: false, error: `the build took longer than ${Math.round(timeoutMs / 1000)} s and was stopped` } };
      }
      const reads = reply.reads ? { reads: reply.reads } : {};
      if (reply.error !== undefined) return { outcome: { ok: false, error: reply.error, ...(reply.fetch ? { fetch: { reason: reply.fetch.reason } } : {}) }, ...reads };
      return { outcome: { ok: true, objects: reply.objects, ...(reply.generated ? { generated: true } : {}), ...(reply.chart ? { chart: reply.chart } : {}) }, ...reads };
    } finally {
      clearTimeout(timer);
    }
  }
}

class HelperProcess {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  private failure: Error | undefined;
  private stderr = '';

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
      let reply: Reply;
      try {
        reply = JSON.parse(line) as Reply;
      } catch {
        this.fail(new RendererError(`the renderer wrote a line that is not JSON: ${line.slice(0, 200)}`));
        return;
      }
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      waiter?.resolve(reply);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-4000);
    });
    // 'close', not 'exit': its last words on stderr are read by then.
    child.on('close', (code, signal) => {
      const why = signal ? `was stopped (${signal})` : `exited with code ${code}`;
      this.fail(new RendererError(`the renderer ${why}${this.stderr.trim() ? `: ${this.stderr.trim()}` : ''}`));
    });
    child.stdin.on('error', () => undefined);
  }

  static async start(path: string, files: Map<string, string>, options: HelperRendererOptions): Promise<HelperProcess> {
    const child = spawn(path, [], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // Nothing of the caller's environment: no credentials, no proxies, no PATH to git.
      env: { GOMEMLIMIT: `${Math.floor((options.memoryLimitMiB ?? 1024) * 0.8)}MiB`, PARAPET_RENDER_MEMORY_MIB: String(options.memoryLimitMiB ?? 1024) },
    });
    const started = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', (error) => resolve(error));
    });
    if (started) {
      throw new ConfigError(`cannot run the renderer at ${path} (${started.message}); run \`npm ci\` (or \`node scripts/build-go-tool.mjs render\`) to build it`);
    }
    const helper = new HelperProcess(child);
    const entries = [...files];
    for (let start = 0; start < entries.length; start += FILES_PER_MESSAGE) {
      const reply = await helper.send({ op: 'files', files: Object.fromEntries(entries.slice(start, start + FILES_PER_MESSAGE)) });
      if (reply.error !== undefined) throw new RendererError(`the renderer could not take the repository's files: ${reply.error}`);
    }
    return helper;
  }

  send(message: Record<string, unknown>): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin.write(`${JSON.stringify({ id, ...message })}\n`);
    });
  }

  stop(): void {
    this.failure ??= new RendererError('the renderer was stopped');
    this.child.kill('SIGKILL');
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.pending.values()) waiter.reject(this.failure);
    this.pending.clear();
  }
}
