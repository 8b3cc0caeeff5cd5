// The GitHub App's settings: read from the environment once, every value typed, defaulted and
// checked, and every problem reported together (one ConfigError lists them all).
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigProblemsError } from './errors.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The App's identity on GitHub. Absent altogether: the server runs Probot's setup (manifest flow). */
export interface GitHubCredentials {
  appId: number;
  /** PEM text of the App's private key. */
  privateKey: string;
  webhookSecret: string;
}

export interface Config {
  /** null: no credentials at all, so `npm start` serves the setup page to register the App. */
  credentials: GitHubCredentials | null;
  server: { host: string; port: number; webhookPath: string };
  /** REST API root: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server. */
  githubApiUrl: string;
  logLevel: LogLevel;
  engine: EngineConfig;
  /**
   * Scale-out mode: the job queue, shared by every App process, in this Redis (BullMQ); null: each
   * process queues its own jobs in memory.
   */
  redisUrl: string | null;
  /**
   * Jobs a process runs at once: while one waits out its installation's write pacing on GitHub,
   * the others evaluate. Each holds its pull request's archives in memory.
   */
  jobConcurrency: number;
  /**
   * Commits of the default branch whose changes are read back when the App is installed on a
   * repository (PARAPET_HISTORY_BACKFILL): the history page is not empty on day one; 0: none.
   */
  historyBackfill: number;
  limits: {
    /** Largest repository archive (uncompressed tar) read at one commit. */
    maxRepoBytes: number;
    /** Largest single file parsed as YAML; larger files are an input error on the file. */
    maxFileBytes: number;
    /**
     * Time budget of one pull request's job (its evaluations: head, merge base, policy-change
     * impact); what is not done when it runs out is a `limit` error on the cluster, which fails it.
     */
    jobTimeoutMs: number;
  };
}

/** How the engine runs, for the CLI and the App alike (the PARAPET_* variables). */
export interface EngineConfig {
  /** Compiled policies on disk; null disables the cache. */
  cacheDir: string | null;
  /** The CLI's render cache on disk (src/renderer/render-cache.ts); null disables it (the App's in memory too). */
  renderCacheDir?: string | null;
  /** The CLI's result cache on disk (src/results/); null disables it (the App's in memory too). */
  resultCacheDir?: string | null;
  /** PARAPET_DEBUG: the CLI says on stderr what a cache ignored and why, and what the result cache answered. */
  debug?: boolean;
  /** The opa binary; undefined: the one `npm ci` built. */
  opaPath: string | undefined;
  /** Where `scripts/build-go-tool.mjs` keeps the opa it built, for every install of Parapet. */
  toolsCacheDir?: string;
  /** The parapet-cel helper (Gatekeeper's CEL driver); undefined: the one `npm ci` built. */
  celPath: string | undefined;
  /** Evaluation worker threads; undefined: the pool's default. */
  workers: number | undefined;
  /** Time limit of one evaluation (a template against one object). */
  evalTimeoutMs: number;
  /** Time limit of parsing one YAML file. */
  parseTimeoutMs: number;
  /** Time limit of compiling one template (`opa` parse, check and build together). */
  compileTimeoutMs: number;
  /** Memory limit of each worker thread's heap and of one evaluation's Wasm memory, in MiB. */
  workerMemoryMb: number;
  /**
   * Charts from Helm repositories and OCI registries, fetched when a HelmRelease or an Application
   * names one; null: not fetched (PARAPET_CHART_FETCH=off, or the CLI's --offline), a notice instead.
   */
  chartFetch?: { cacheDir: string | null; timeoutMs: number; maxBytes: number } | null;
}

const MIB = 1024 * 1024;

export const configDefaults = {
  port: 3000,
  host: 'localhost',
  webhookPath: '/api/github/webhooks',
  githubApiUrl: 'https://api.github.com',
  logLevel: 'info' as LogLevel,
  evalTimeoutMs: 5000,
  chartFetchTimeoutMs: 20_000,
  chartMaxBytes: 50 * MIB,
  parseTimeoutMs: 20_000,
  compileTimeoutMs: 60_000,
  workerMemoryMb: 512,
  maxRepoBytes: 256 * MIB,
  maxFileBytes: 5 * MIB,
  jobTimeoutMs: 10 * 60_000,
  jobConcurrency: 8,
  historyBackfill: 50,
};

type Env = Record<string, string | undefined>;

export function readConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const read = new Reader(env, problems);

  const credentials = readCredentials(env, problems);
  const server = {
    host: read.text('HOST') ?? configDefaults.host,
    port: read.integer('PORT', { min: 1, max: 65535 }) ?? configDefaults.port,
    webhookPath: read.text('WEBHOOK_PATH') ?? configDefaults.webhookPath,
  };
  if (!server.webhookPath.startsWith('/')) problems.push(`WEBHOOK_PATH must start with "/", got "${server.webhookPath}"`);

  const apiUrl = read.text('GITHUB_API_URL') ?? (read.text('GHE_HOST') ? `${read.text('GHE_PROTOCOL') ?? 'https'}://${read.text('GHE_HOST')}/api/v3` : configDefaults.githubApiUrl);
  const githubApiUrl = apiUrl.replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(githubApiUrl)) problems.push(`GITHUB_API_URL must be an http(s) URL, got "${apiUrl}"`);

  const level = read.text('LOG_LEVEL') ?? configDefaults.logLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(level)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);

  const engine = engineSettings(env, read);
  const limits = {
    maxRepoBytes: read.integer('PARAPET_MAX_REPO_BYTES', { min: 1 }) ?? configDefaults.maxRepoBytes,
    maxFileBytes: read.integer('PARAPET_MAX_FILE_BYTES', { min: 1 }) ?? configDefaults.maxFileBytes,
    jobTimeoutMs: read.integer('PARAPET_JOB_TIMEOUT_MS', { min: 1 }) ?? configDefaults.jobTimeoutMs,
  };

  const redisUrl = readRedisUrl(read, problems);
  const jobConcurrency = read.integer('PARAPET_JOB_CONCURRENCY', { min: 1, max: 64 }) ?? configDefaults.jobConcurrency;
  // Each commit is an archive downloaded and rendered: a thousand is a long afternoon already.
  const historyBackfill = read.integer('PARAPET_HISTORY_BACKFILL', { min: 0, max: 1000 }) ?? configDefaults.historyBackfill;

  if (problems.length > 0) throw new ConfigProblemsError(problems);
  return { credentials, server, githubApiUrl, logLevel: level as LogLevel, engine, limits, redisUrl, jobConcurrency, historyBackfill };
}

/** The engine's settings alone (the CLI reads no others); every problem reported together. */
export function readEngineConfig(env: Env = process.env): EngineConfig {
  const problems: string[] = [];
  const engine = engineSettings(env, new Reader(env, problems));
  if (problems.length > 0) throw new ConfigProblemsError(problems);
  return engine;
}

function engineSettings(env: Env, read: Reader): EngineConfig {
  const cacheSetting = env.PARAPET_CACHE_DIR;
  const userCache = join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'parapet');
  return {
    // Never inside the repository being checked: the XDG cache directory unless told otherwise.
    cacheDir: cacheSetting === '' ? null : (cacheSetting ?? join(userCache, 'wasm')),
    renderCacheDir: cacheSetting === '' ? null : join(cacheSetting ?? userCache, 'render'),
    resultCacheDir: cacheSetting === '' ? null : join(cacheSetting ?? userCache, 'results'),
    debug: env.PARAPET_DEBUG !== undefined && env.PARAPET_DEBUG !== '' && env.PARAPET_DEBUG !== '0',
    opaPath: read.text('PARAPET_OPA'),
    toolsCacheDir: join(userCache, 'tools'),
    celPath: read.text('PARAPET_CEL_HELPER'),
    workers: read.integer('PARAPET_WORKERS', { min: 1, max: 256 }),
    evalTimeoutMs: read.integer('PARAPET_EVAL_TIMEOUT_MS', { min: 1 }) ?? configDefaults.evalTimeoutMs,
    parseTimeoutMs: read.integer('PARAPET_PARSE_TIMEOUT_MS', { min: 1 }) ?? configDefaults.parseTimeoutMs,
    compileTimeoutMs: read.integer('PARAPET_COMPILE_TIMEOUT_MS', { min: 1 }) ?? configDefaults.compileTimeoutMs,
    // Below this a worker cannot even load the engine's modules.
    workerMemoryMb: read.integer('PARAPET_WORKER_MEMORY_MB', { min: 64 }) ?? configDefaults.workerMemoryMb,
    chartFetch: chartFetchSetting(read, cacheSetting === '' ? null : cacheSetting !== undefined ? join(cacheSetting, 'charts') : join(userCache, 'charts')),
  };
}

/** PARAPET_CHART_FETCH (on, the default, or off) and the limits of one chart download. */
function chartFetchSetting(read: Reader, cacheDir: string | null): EngineConfig['chartFetch'] {
  const timeoutMs = read.integer('PARAPET_CHART_FETCH_TIMEOUT_MS', { min: 1 }) ?? configDefaults.chartFetchTimeoutMs;
  const maxBytes = read.integer('PARAPET_CHART_MAX_BYTES', { min: 1024 }) ?? configDefaults.chartMaxBytes;
  const setting = (read.text('PARAPET_CHART_FETCH') ?? 'on').toLowerCase();
  if (setting === 'off') return null;
  if (setting !== 'on') read.problem('PARAPET_CHART_FETCH must be on or off');
  return { cacheDir, timeoutMs, maxBytes };
}

/** REDIS_URL: a redis:// or rediss:// URL, only with DATABASE_URL (several processes share one database). */
function readRedisUrl(read: Reader, problems: string[]): string | null {
  const value = read.text('REDIS_URL');
  if (value === undefined) return null;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // The value may hold a password: not repeated.
  }
  if (!url || (url.protocol !== 'redis:' && url.protocol !== 'rediss:') || !url.hostname) {
    problems.push('REDIS_URL must be a redis:// or rediss:// URL with a host, e.g. redis://redis.internal:6379 (or rediss:// for TLS)');
    return null;
  }
  if (!read.text('DATABASE_URL')) {
    problems.push('REDIS_URL (scale-out mode, several App processes) requires DATABASE_URL: the embedded database serves one process only, so every process must use the same PostgreSQL');
    return null;
  }
  return value;
}

/** All three, or none (setup mode); anything in between is a mistake worth stopping for. */
function readCredentials(env: Env, problems: string[]): GitHubCredentials | null {
  const set = (name: string) => env[name] !== undefined && env[name]!.trim() !== '';
  const names = ['APP_ID', 'PRIVATE_KEY', 'PRIVATE_KEY_PATH', 'WEBHOOK_SECRET'];
  if (!names.some(set)) return null;

  const before = problems.length;
  let appId = 0;
  if (!set('APP_ID')) problems.push('APP_ID is required with GitHub credentials (the App ID from its settings page)');
  else {
    appId = Number(env.APP_ID!.trim());
    if (!Number.isInteger(appId) || appId <= 0) problems.push(`APP_ID must be a positive integer, got "${env.APP_ID}"`);
  }

  let privateKey = '';
  if (set('PRIVATE_KEY') && set('PRIVATE_KEY_PATH')) problems.push('set PRIVATE_KEY or PRIVATE_KEY_PATH, not both');
  else if (set('PRIVATE_KEY')) {
    privateKey = decodePrivateKey(env.PRIVATE_KEY!);
    if (!isPem(privateKey)) problems.push('PRIVATE_KEY is not a PEM private key (paste the .pem file, with \\n for newlines, or its base64)');
  } else if (set('PRIVATE_KEY_PATH')) {
    try {
      privateKey = readFileSync(env.PRIVATE_KEY_PATH!, 'utf8');
      if (!isPem(privateKey)) problems.push(`PRIVATE_KEY_PATH: ${env.PRIVATE_KEY_PATH} is not a PEM private key`);
    } catch (error) {
      problems.push(`PRIVATE_KEY_PATH: cannot read ${env.PRIVATE_KEY_PATH} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
  } else problems.push('PRIVATE_KEY or PRIVATE_KEY_PATH is required with GitHub credentials (the .pem downloaded from the App settings)');

  if (!set('WEBHOOK_SECRET')) problems.push('WEBHOOK_SECRET is required with GitHub credentials: webhooks are never accepted unsigned');

  return problems.length > before ? null : { appId, privateKey, webhookSecret: env.WEBHOOK_SECRET! };
}

function decodePrivateKey(value: string): string {
  const text = value.trim().replace(/^"|"$/g, '').replace(/\\n/g, '\n');
  if (text.includes('-----BEGIN')) return text;
  // One-line environments: the whole .pem in base64.
  const decoded = Buffer.from(text, 'base64').toString('utf8');
  return decoded.includes('-----BEGIN') ? decoded : text;
}

function isPem(text: string): boolean {
  return /-----BEGIN ([A-Z]+ )?PRIVATE KEY-----[\s\S]+-----END ([A-Z]+ )?PRIVATE KEY-----/.test(text);
}

class Reader {
  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  /** The trimmed value, or undefined when unset or blank. */
  text(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  integer(name: string, range: { min?: number; max?: number }): number | undefined {
    const raw = this.text(name);
    if (raw === undefined) return undefined;
    const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    const { min = 0, max = Number.MAX_SAFE_INTEGER } = range;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}, got "${raw}"`);
      return undefined;
    }
    return value;
  }

  problem(message: string): void {
    this.problems.push(message);
  }
}
