// `npm start`: the GitHub App. Without credentials it serves the setup page, where a person
// registers the App from the browser (GitHub's manifest flow, from app.yml; the credentials land in
// ./.env); with them it serves webhooks. .env is read from and written to the working directory.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { fileURLToPath } from 'node:url';
import { readConfig, type Config } from './config.js';
import { ConfigError, DatabaseError, lastLine, MigrationError, redactSecrets, RedisUnavailableError } from './errors.js';
import { closeDatabase, openDatabase, readDatabaseConfig, type Database } from './store/index.js';
import { createWebApp } from './web/app.js';
import { readWebConfig } from './web/web-config.js';
import { readAppDefinition } from './web/setup/manifest.js';
import { startSetupServer } from './web/setup/setup-server.js';
import { databaseRecorder } from './database-recorder.js';
import { startAppServer, type AppServer, type Handler } from './github/server.js';
import { startEngineRuntime, type EngineRuntime } from './runtime.js';
import { userTreeReader } from './github/tree-reader.js';

async function main(): Promise<void> {
  loadDotEnv();
  let config: Config;
  try {
    config = readConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`parapet: ${redactSecrets(error.message)}\n`);
      process.exit(2);
    }
    throw error;
  }

  if (config.credentials === null) {
    await serveSetup(config);
    return;
  }

  // The database comes up before the server: a database that cannot be reached or migrated stops
  // the start with its reason, never a half-started App.
  let db: Database;
  try {
    db = await openDatabase(readDatabaseConfig());
  } catch (error) {
    if (error instanceof DatabaseError || error instanceof MigrationError) {
      process.stderr.write(`parapet: ${redactSecrets(error.message)}\n`);
      process.exit(2);
    }
    throw error;
  }
  const recorder = databaseRecorder(db, {
    retry: {
      onRetry: (error, attempt, delayMs) => {
        process.stderr.write(`parapet: could not record a default branch in the database (attempt ${attempt}): ${redactSecrets(lastLine(error))}; trying again in ${delayMs / 1000} s\n`);
      },
    },
  });
  // In memory: the App's process outlives every check, and the base and head of each pull request share it.
  const engine = startEngineRuntime(config.engine, { renderCache: 'memory', resultCache: 'memory' });
  let server: AppServer;
  try {
    server = await startAppServer({ ...config, credentials: config.credentials }, { engine, recorder, pages: overviewPages(db, engine, config) });
  } catch (error) {
    if (error instanceof RedisUnavailableError) {
      process.stderr.write(`parapet: ${redactSecrets(error.message)}\n`);
      await engine.close();
      await closeDatabase(db);
      process.exit(2);
    }
    throw error;
  }
  if (config.redisUrl) process.stderr.write('parapet: scale-out mode: jobs are shared with the other App processes through Redis (REDIS_URL)\n');
  stopOnSignal(async () => {
    await server.close();
    await engine.close();
    await closeDatabase(db);
  });
}

/**
 * The overview page and its API, served beside the webhooks once the App's OAuth client is
 * configured (GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET); invalid settings stop the start.
 */
function overviewPages(db: Database, engine: EngineRuntime, appConfig: Config): Handler | undefined {
  if (!process.env.GITHUB_CLIENT_ID && !process.env.GITHUB_CLIENT_SECRET) {
    process.stderr.write('parapet: the overview page is off: set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET (the App\'s OAuth client) to serve it\n');
    return undefined;
  }
  try {
    const { config, github, warnings } = readWebConfig();
    for (const warning of warnings) process.stderr.write(`parapet: ${warning}\n`);
    // Policy changes read the default branch as the App does and preview them with the App's engine.
    const policyChanges = { engine, readTree: userTreeReader(github.apiUrl, appConfig.limits.maxRepoBytes), limits: { maxFileBytes: appConfig.limits.maxFileBytes } };
    return createWebApp({ db, config, github, policyChanges }).handle;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`parapet: ${redactSecrets(error.message)}\n`);
      process.exit(2);
    }
    throw error;
  }
}


/**
 * No credentials yet: the setup page registers the App on GitHub (app.yml, beside dist/) and writes
 * its credentials to ./.env, which the next start reads.
 */
async function serveSetup(config: Config): Promise<void> {
  let app;
  try {
    app = readAppDefinition(readFileSync(fileURLToPath(new URL('../app.yml', import.meta.url)), 'utf8'));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`parapet: ${error.message}\n`);
    process.exit(2);
  }
  const githubUrl = (process.env.GITHUB_URL?.trim() || (config.githubApiUrl === 'https://api.github.com' ? 'https://github.com' : config.githubApiUrl.replace(/\/api\/v3$/, ''))).replace(/\/+$/, '');
  const server = await startSetupServer({
    app,
    host: config.server.host,
    port: config.server.port,
    webhookPath: config.server.webhookPath,
    githubUrl,
    githubApiUrl: config.githubApiUrl,
    organization: process.env.GH_ORG?.trim() ?? '',
    envFile: join(process.cwd(), '.env'),
    onError: (error) => process.stderr.write(`parapet: setup: ${redactSecrets(error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`),
  });
  if (config.logLevel !== 'silent' && config.logLevel !== 'error' && config.logLevel !== 'fatal' && config.logLevel !== 'warn') {
    process.stderr.write(`parapet: no GitHub App credentials yet: open ${server.url}/ to register the App (setup mode, no webhooks until then)\n`);
  }
  stopOnSignal(() => server.close());
}

/** Variables from ./.env (where the setup flow writes the credentials); the environment wins. */
function loadDotEnv(): void {
  let text: string;
  try {
    text = readFileSync(join(process.cwd(), '.env'), 'utf8');
  } catch {
    return;
  }
  for (const [name, value] of Object.entries(parseEnv(text))) process.env[name] ??= value;
}

function stopOnSignal(stop: () => Promise<void>): void {
  const handler = () => {
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`parapet: error while stopping: ${redactSecrets(String(error))}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}

await main();
