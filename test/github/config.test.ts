import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configDefaults, readConfig } from '../../src/config.js';
import { ConfigError, ConfigProblemsError } from '../../src/errors.js';

const PEM = '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n';

function problemsOf(env: Record<string, string>): string[] {
  try {
    readConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigProblemsError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('readConfig', () => {
  it('with no credentials at all, is in setup mode with every default', () => {
    const config = readConfig({ HOME: '/home/u' });
    expect(config.credentials).toBeNull();
    expect(config.server).toEqual({ host: 'localhost', port: 3000, webhookPath: '/api/github/webhooks' });
    expect(config.githubApiUrl).toBe('https://api.github.com');
    expect(config.logLevel).toBe('info');
    expect(config.engine.evalTimeoutMs).toBe(5000);
    expect(config.engine.workers).toBeUndefined();
    // Every piece of a check's work is bounded by default.
    expect(config.engine).toMatchObject({ parseTimeoutMs: 20_000, compileTimeoutMs: 60_000, workerMemoryMb: 512 });
    expect(config.limits).toEqual({ maxRepoBytes: configDefaults.maxRepoBytes, maxFileBytes: 5 * 1024 * 1024, jobTimeoutMs: 600_000 });
    expect(config.jobConcurrency).toBe(8);
  });

  it('reads credentials, with \\n escapes in PRIVATE_KEY, and every setting', () => {
    const config = readConfig({
      APP_ID: '123',
      PRIVATE_KEY: PEM.replace(/\n/g, '\\n'),
      WEBHOOK_SECRET: 's',
      PORT: '8080',
      HOST: '0.0.0.0',
      GITHUB_API_URL: 'https://ghe.example.com/api/v3/',
      LOG_LEVEL: 'debug',
      PARAPET_CACHE_DIR: '',
      PARAPET_WORKERS: '3',
      PARAPET_EVAL_TIMEOUT_MS: '100',
      PARAPET_PARSE_TIMEOUT_MS: '200',
      PARAPET_COMPILE_TIMEOUT_MS: '300',
      PARAPET_WORKER_MEMORY_MB: '256',
      PARAPET_MAX_REPO_BYTES: '1000',
      PARAPET_MAX_FILE_BYTES: '10',
      PARAPET_JOB_TIMEOUT_MS: '400',
      PARAPET_JOB_CONCURRENCY: '2',
      PARAPET_HISTORY_BACKFILL: '0',
    });
    expect(config.credentials).toEqual({ appId: 123, privateKey: PEM, webhookSecret: 's' });
    expect(config.server).toMatchObject({ host: '0.0.0.0', port: 8080 });
    expect(config.githubApiUrl).toBe('https://ghe.example.com/api/v3');
    expect(config.engine).toMatchObject({ cacheDir: null, workers: 3, evalTimeoutMs: 100, parseTimeoutMs: 200, compileTimeoutMs: 300, workerMemoryMb: 256 });
    expect(config.limits).toEqual({ maxRepoBytes: 1000, maxFileBytes: 10, jobTimeoutMs: 400 });
    expect(config.jobConcurrency).toBe(2);
    // 0: the history is recorded from installation on, nothing read back.
    expect(config.historyBackfill).toBe(0);
  });

  it('reads back the last 50 commits of history at installation unless told otherwise', () => {
    expect(readConfig({}).historyBackfill).toBe(50);
    expect(readConfig({ PARAPET_HISTORY_BACKFILL: '200' }).historyBackfill).toBe(200);
    for (const value of ['-1', 'all', '1001', '2.5']) {
      expect(problemsOf({ PARAPET_HISTORY_BACKFILL: value })).toEqual([`PARAPET_HISTORY_BACKFILL must be an integer from 0 to 1000, got "${value}"`]);
    }
  });

  it('fetches remote charts into the user cache by default, with a time and size limit; PARAPET_CHART_FETCH=off turns it off', () => {
    expect(readConfig({ XDG_CACHE_HOME: '/home/u/.cache' }).engine.chartFetch).toEqual({ cacheDir: '/home/u/.cache/parapet/charts', timeoutMs: 20_000, maxBytes: 50 * 1024 * 1024 });
    expect(readConfig({ PARAPET_CACHE_DIR: '/var/cache/parapet', PARAPET_CHART_FETCH_TIMEOUT_MS: '5000', PARAPET_CHART_MAX_BYTES: '1048576' }).engine.chartFetch).toEqual({
      cacheDir: '/var/cache/parapet/charts',
      timeoutMs: 5000,
      maxBytes: 1048576,
    });
    // No cache at all: still fetched, just not kept.
    expect(readConfig({ PARAPET_CACHE_DIR: '' }).engine.chartFetch?.cacheDir).toBeNull();
    expect(readConfig({ PARAPET_CHART_FETCH: 'off' }).engine.chartFetch).toBeNull();
    expect(problemsOf({ PARAPET_CHART_FETCH: 'sometimes' })).toEqual(['PARAPET_CHART_FETCH must be on or off']);
  });

  it('keeps evaluation results in results/ of the cache folder, none when PARAPET_CACHE_DIR is empty; PARAPET_DEBUG says what caches ignore', () => {
    expect(readConfig({ XDG_CACHE_HOME: '/home/u/.cache' }).engine).toMatchObject({ resultCacheDir: '/home/u/.cache/parapet/results', debug: false });
    expect(readConfig({ PARAPET_CACHE_DIR: '/var/cache/parapet', PARAPET_DEBUG: '1' }).engine).toMatchObject({ resultCacheDir: '/var/cache/parapet/results', debug: true });
    expect(readConfig({ PARAPET_CACHE_DIR: '', PARAPET_DEBUG: '0' }).engine).toMatchObject({ resultCacheDir: null, debug: false });
  });

  it('reads the private key from PRIVATE_KEY_PATH, and a base64 PRIVATE_KEY', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-config-'));
    writeFileSync(join(dir, 'key.pem'), PEM);
    expect(readConfig({ APP_ID: '1', PRIVATE_KEY_PATH: join(dir, 'key.pem'), WEBHOOK_SECRET: 's' }).credentials?.privateKey).toBe(PEM);
    expect(readConfig({ APP_ID: '1', PRIVATE_KEY: Buffer.from(PEM).toString('base64'), WEBHOOK_SECRET: 's' }).credentials?.privateKey).toBe(PEM);
  });

  it('derives the API URL from GHE_HOST, as Probot does', () => {
    expect(readConfig({ GHE_HOST: 'github.corp.example' }).githubApiUrl).toBe('https://github.corp.example/api/v3');
  });

  it('switches to scale-out mode with REDIS_URL, which needs DATABASE_URL (one PostgreSQL for every process)', () => {
    const credentials = { APP_ID: '123', PRIVATE_KEY: PEM, WEBHOOK_SECRET: 's' };
    expect(readConfig(credentials).redisUrl).toBeNull();
    expect(readConfig({ ...credentials, REDIS_URL: ' ' }).redisUrl).toBeNull();
    const databaseUrl = 'postgresql://parapet:s3cret@db.internal:5432/parapet';
    expect(readConfig({ ...credentials, DATABASE_URL: databaseUrl, REDIS_URL: 'redis://:queue-secret@redis.internal:6379/2' }).redisUrl).toBe('redis://:queue-secret@redis.internal:6379/2');
    expect(readConfig({ ...credentials, DATABASE_URL: databaseUrl, REDIS_URL: 'rediss://redis.internal' }).redisUrl).toBe('rediss://redis.internal');

    expect(problemsOf({ ...credentials, REDIS_URL: 'redis://redis.internal:6379' })).toEqual([
      'REDIS_URL (scale-out mode, several App processes) requires DATABASE_URL: the embedded database serves one process only, so every process must use the same PostgreSQL',
    ]);
    // A malformed value is not repeated: it may hold the password.
    for (const value of ['redis.internal:6379', 'http://redis.internal:6379', 'redis://', 'redis://:hunter2@']) {
      const problems = problemsOf({ ...credentials, DATABASE_URL: databaseUrl, REDIS_URL: value });
      expect(problems).toEqual(['REDIS_URL must be a redis:// or rediss:// URL with a host, e.g. redis://redis.internal:6379 (or rediss:// for TLS)']);
    }
  });

  it('reports every problem at once', () => {
    expect(
      problemsOf({
        APP_ID: 'abc',
        WEBHOOK_SECRET: '',
        PORT: '99999',
        LOG_LEVEL: 'loud',
        PARAPET_WORKERS: '0',
        PARAPET_WORKER_MEMORY_MB: '16',
        PARAPET_COMPILE_TIMEOUT_MS: '1m',
        PARAPET_MAX_REPO_BYTES: '1e9',
        PARAPET_JOB_TIMEOUT_MS: '0',
        GITHUB_API_URL: 'ftp://x',
        PARAPET_JOB_CONCURRENCY: '0',
      }),
    ).toEqual([
      'APP_ID must be a positive integer, got "abc"',
      'PRIVATE_KEY or PRIVATE_KEY_PATH is required with GitHub credentials (the .pem downloaded from the App settings)',
      'WEBHOOK_SECRET is required with GitHub credentials: webhooks are never accepted unsigned',
      'PORT must be an integer from 1 to 65535, got "99999"',
      'GITHUB_API_URL must be an http(s) URL, got "ftp://x"',
      'LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, got "loud"',
      'PARAPET_WORKERS must be an integer from 1 to 256, got "0"',
      'PARAPET_COMPILE_TIMEOUT_MS must be an integer from 1, got "1m"',
      'PARAPET_WORKER_MEMORY_MB must be an integer from 64, got "16"',
      'PARAPET_MAX_REPO_BYTES must be an integer from 1, got "1e9"',
      'PARAPET_JOB_TIMEOUT_MS must be an integer from 1, got "0"',
      'PARAPET_JOB_CONCURRENCY must be an integer from 1 to 64, got "0"',
    ]);
  });

  it.each([
    ['a missing key file', { APP_ID: '1', PRIVATE_KEY_PATH: '/nonexistent/key.pem', WEBHOOK_SECRET: 's' }, /PRIVATE_KEY_PATH: cannot read \/nonexistent\/key.pem \(ENOENT\)/],
    ['a key that is not PEM', { APP_ID: '1', PRIVATE_KEY: 'not a key', WEBHOOK_SECRET: 's' }, /PRIVATE_KEY is not a PEM private key/],
    ['both key settings', { APP_ID: '1', PRIVATE_KEY: PEM, PRIVATE_KEY_PATH: '/k.pem', WEBHOOK_SECRET: 's' }, /not both/],
    ['a secret without the rest', { WEBHOOK_SECRET: 's' }, /APP_ID is required/],
  ])('refuses %s', (_name, env, problem) => {
    expect(problemsOf(env as Record<string, string>).join('\n')).toMatch(problem);
  });
});
