// The engine's collaborators as the CLI sets them up: the opa compiler with its on-disk cache and the
// evaluation pool.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { EvaluationPool, type PolicyCompiler } from '../engine/index.js';
import { ConfigError } from '../errors.js';
import { OpaCompiler } from '../opa/opa-compiler.js';
import type { CliIo } from './io.js';

export interface Runtime {
  compiler: PolicyCompiler;
  pool: EvaluationPool;
  close(): Promise<void>;
}

/** PARAPET_CACHE_DIR, else the XDG cache directory: never inside the repository being checked. */
export function cacheDir(env: CliIo['env']): string | null {
  if (env.PARAPET_CACHE_DIR === '') return null;
  if (env.PARAPET_CACHE_DIR) return env.PARAPET_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'parapet', 'wasm');
}

export function startRuntime(io: CliIo): Runtime {
  const opa = new OpaCompiler({ cacheDir: cacheDir(io.env), opaPath: io.env.PARAPET_OPA || undefined });
  // A missing or broken opa binary is a setup problem, not a bug in Parapet: typed as a ConfigError,
  // main() reports it in one line (exit 2) instead of as an internal error with a stack trace.
  const compiler: PolicyCompiler = {
    compile: async (source) => {
      await opa.opaVersion().catch((error: unknown) => {
        throw new ConfigError(error instanceof Error ? error.message : String(error));
      });
      return opa.compile(source);
    },
  };
  const workers = io.env.PARAPET_WORKERS ? Number(io.env.PARAPET_WORKERS) : undefined;
  const timeoutMs = io.env.PARAPET_EVAL_TIMEOUT_MS ? Number(io.env.PARAPET_EVAL_TIMEOUT_MS) : 5000;
  const pool = EvaluationPool.start({ workers, timeoutMs });
  return { compiler, pool, close: () => pool.close() };
}
