// The App's HTTP server with credentials: webhooks (bodies capped at 25 MiB and signatures
// verified while they arrive, src/github/webhook-guard.ts, then again by Probot; unsigned or forged
// deliveries get 4xx and change nothing), a status page and a health check.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getTransformStream } from '@probot/pino';
import { pino } from 'pino';
import { createNodeMiddleware, Probot, ProbotOctokit, type Logger } from 'probot';
import type { Config, GitHubCredentials } from '../config.js';
import { redactSecrets } from '../errors.js';
import { parapetApp } from './app.js';
import { appLogin } from './app-identity.js';
import type { EngineRuntime } from '../runtime.js';
import type { GitHubClient } from './github-client.js';
import { MemoryJobQueue } from './queue/memory-queue.js';
import { backfillJob, jobRunner, type JobQueue } from './queue/jobs.js';
import type { BackfillDeps } from './history-backfill.js';
import { RedisJobQueue } from './queue/redis-queue.js';
import type { Recorder } from './recorder.js';
import { webhookGuard } from './webhook-guard.js';

export interface AppServer {
  /** http://host:port, without a trailing slash. */
  url: string;
  /** In this process, or (REDIS_URL) shared with the App's other processes through Redis. */
  jobs: JobQueue;
  /**
   * Stops accepting requests; in between, this process's queue is worked off, or in scale-out mode
   * its running jobs finished (what waits stays for the others). The engine stays with its owner.
   */
  close(): Promise<void>;
}

export interface OctokitOverrides {
  throttle?: Record<string, unknown>;
  retry?: Record<string, unknown>;
  [option: string]: unknown;
}

export interface AppServerOptions {
  /** Octokit options over Parapet's (tests shorten the waits, or turn throttling off: it spaces writes a second apart). */
  octokitOverrides?: OctokitOverrides;
  /** The engine the jobs evaluate with; its owner closes it after the server. */
  engine: EngineRuntime;
  /** Where deliveries and evaluations are recorded (the database). */
  recorder?: Recorder;
  /** More pages served beside the webhooks (the overview); answers true for the requests it took. */
  pages?: Handler;
  /** How often a failing history backfill step is tried, and the first pause (default BACKFILL_RETRY; tests shorten it). */
  backfillRetry?: BackfillDeps['backfillRetry'];
}

/**
 * Backfills a restart interrupted (their next step was queued in this process's memory, or lost
 * with it): queued again at the step the database says is next. A step queued or done already is
 * not repeated (its job id names it; the store records a step once), nor is one given up (the
 * store is past it); a step whose attempts a restart cut short is given up once they reach the limit.
 */
function resumeBackfills(recorder: Recorder | undefined, commits: number, jobs: JobQueue, log: Logger): void {
  const store = recorder?.history;
  if (!store || commits === 0) return;
  void (async () => {
    for (const repository of await store.unfinishedBackfills()) {
      const progress = await store.backfillPlan(repository, async () => []);
      if (progress && !progress.finished) await jobs.add(backfillJob(repository.installationId, repository, progress.done));
    }
  })().catch((error: unknown) => log.error({ err: error }, 'could not resume the history backfills a restart interrupted; they resume at the next start'));
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => boolean | void | Promise<boolean | void>;

export async function startAppServer(config: Config & { credentials: GitHubCredentials }, options: AppServerOptions): Promise<AppServer> {
  const { credentials } = config;
  const Octokit = parapetOctokit(options.octokitOverrides);
  const probot = new Probot({
    appId: credentials.appId,
    privateKey: credentials.privateKey,
    secret: credentials.webhookSecret,
    baseUrl: config.githubApiUrl,
    log: await redactingLog(config.logLevel),
    Octokit,
  });
  const { engine } = options;
  const stopping = new AbortController();
  // probot.log exists once Probot has loaded the App (below): jobs start after that.
  const run = jobRunner({
    stopping: stopping.signal,
    engine,
    limits: config.limits,
    appId: credentials.appId,
    appLogin: appLogin(async () => (await probot.auth()) as GitHubClient),
    recorder: options.recorder,
    historyBackfill: config.historyBackfill,
    ...(options.backfillRetry ? { backfillRetry: options.backfillRetry } : {}),
    // `jobs` is made below; a job only runs once it is.
    queue: (job) => jobs.add(job),
    octokit: async (installationId) => (await probot.auth(installationId)) as GitHubClient,
    log: () => probot.log ?? null,
  });
  let jobs: JobQueue;
  const concurrency = config.jobConcurrency;
  if (config.redisUrl === null) jobs = new MemoryJobQueue(run, concurrency);
  else jobs = await RedisJobQueue.open({ redisUrl: config.redisUrl, run, log: () => probot.log ?? null, concurrency });
  const app = parapetApp({ jobs, recorder: options.recorder });

  const handlers: Handler[] = [
    // Bodies capped and signatures checked as they arrive, before Probot reads anything.
    webhookGuard({ paths: [config.server.webhookPath, '/'], secret: credentials.webhookSecret }),
    await createNodeMiddleware(app, { probot, webhooksPath: config.server.webhookPath }),
    ...(options.pages ? [options.pages] : []),
    statusPage,
    // The manifest flow registers the server's root as the webhook URL (after the status page,
    // which answers GET /: this middleware answers anything but POST on its path with 404).
    await probot.getNodeMiddleware({ path: '/' }),
  ];
  const server = createServer(async (req, res) => {
    try {
      for (const handler of handlers) if (await handler(req, res)) return;
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
    } catch (error) {
      probot.log.error({ err: error }, 'request failed');
      if (!res.headersSent) res.writeHead(500).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.server.port, config.server.host, () => resolve());
  });
  jobs.start();
  resumeBackfills(options.recorder, config.historyBackfill, jobs, probot.log);
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  probot.log.info(`Parapet GitHub App listening on http://${host}:${address.port}${config.server.webhookPath}`);

  return {
    url: `http://${host}:${address.port}`,
    jobs,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      stopping.abort();
      await jobs.close();
    },
  };
}

/**
 * Probot's logger as Probot would make it (pino on stdout, pretty, or JSON lines in production),
 * except that every line passes through redactSecrets on its way out: whatever a log call carries
 * (an Octokit error with the archive link it was redirected to, a URL with a password), from
 * Parapet, Probot or Octokit, is written without credentials.
 */
async function redactingLog(level: Config['logLevel']): Promise<Logger> {
  const format = await getTransformStream({ logFormat: process.env.NODE_ENV === 'production' ? 'json' : 'pretty' });
  format.pipe(process.stdout);
  return pino({ level, name: 'probot', messageKey: 'msg', hooks: { streamWrite: redactSecrets } }, format);
}

/** Retries of a request that failed with 5xx (or another error GitHub may not repeat), by plugin-retry. */
export const RETRIES = 3;
/** Waits on a secondary rate limit (403/429 with `retry-after`) before giving up, by plugin-throttling. */
export const SECONDARY_RATE_LIMIT_RETRIES = 3;
/** Waits on an exhausted primary quota (`x-ratelimit-remaining: 0`) before giving up. */
export const RATE_LIMIT_RETRIES = 2;

interface ThrottledRequest {
  method: string;
  url: string;
}

/**
 * Probot's Octokit (plugin-retry, plugin-throttling, pagination) with Parapet's retry policy.
 * plugin-retry retries 5xx and network errors `RETRIES` times after (n+1)² seconds; 4xx other
 * than rate limits are not retried. plugin-throttling queues writes a second apart (three between
 * those that notify) and calls the handlers below on rate limits: Probot's own secondary-limit
 * handler only logs, never retries, so it is replaced here to wait `retry-after` and try again.
 *
 * The pacing is per installation: plugin-throttling keeps one queue per `throttle.id` in the
 * whole process, and GitHub's limits are per token, so each installation's client gets its own id
 * (Probot gives `probot.auth(id)` clients one, but not the clients of its webhook contexts). One
 * shared id would space every installation's writes a second apart, a process-wide clock.
 */
export function parapetOctokit(overrides: OctokitOverrides = {}): typeof ProbotOctokit {
  const throttle = {
    onRateLimit: (retryAfter: number, request: ThrottledRequest, octokit: { log: Logger }, retryCount: number) => {
      octokit.log.warn(`GitHub rate limit hit by ${request.method} ${request.url}; retry ${retryCount + 1} in ${retryAfter} s`);
      return retryCount < RATE_LIMIT_RETRIES;
    },
    onSecondaryRateLimit: (retryAfter: number, request: ThrottledRequest, octokit: { log: Logger }, retryCount: number) => {
      octokit.log.warn(`GitHub secondary rate limit hit by ${request.method} ${request.url}; retry ${retryCount + 1} in ${retryAfter} s`);
      return retryCount < SECONDARY_RATE_LIMIT_RETRIES;
    },
  };
  return ProbotOctokit.defaults((instance: Record<string, any>) => ({
    ...instance,
    ...overrides,
    retry: { retries: RETRIES, ...instance.retry, ...overrides.retry },
    throttle: { ...instance.throttle, ...throttle, ...installationPacing(instance), ...overrides.throttle },
  }));
}

/** The throttle id of an installation's client (`auth.installationId`); the App's own client keeps the default. */
function installationPacing(instance: Record<string, any>): { id?: string } {
  const installationId: unknown = instance.auth?.installationId;
  return installationId === undefined ? {} : { id: `installation-${String(installationId)}` };
}

const statusPage: Handler = (req, res) => {
  if (req.method !== 'GET') return false;
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/ping' || path === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('PONG\n');
    return true;
  }
  if (path === '/' || path === '/probot') {
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end('<!doctype html><title>Parapet</title><h1>Parapet</h1><p>The GitHub App is running and receiving webhooks.</p>\n');
    return true;
  }
  return false;
};
