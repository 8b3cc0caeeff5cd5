// The engine's collaborators as the CLI sets them up: the opa compiler with its on-disk cache and the
// evaluation pool.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { EvaluationPool } from '../engine/index.js';
import { OpaCompiler } from '../opa/opa-compiler.js';
import type { CliIo } from './io.js';

export interface Runtime {
  compiler: OpaCompiler;
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
  const compiler = new OpaCompiler({ cacheDir: cacheDir(io.env), opaPath: io.env.PARAPET_OPA || undefined });
  const workers = io.env.PARAPET_WORKERS ? Number(io.env.PARAPET_WORKERS) : undefined;
  const timeoutMs = io.env.PARAPET_EVAL_TIMEOUT_MS ? Number(io.env.PARAPET_EVAL_TIMEOUT_MS) : 5000;
  const pool = EvaluationPool.start({ workers, timeoutMs });
  return { compiler, pool, close: () => pool.close() };
}
