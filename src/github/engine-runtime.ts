// The engine's collaborators as the App runs them: the opa compiler with its disk cache, and one
// evaluation pool shared by every pull request the process checks.
import type { Config } from '../config.js';
import { EvaluationPool, type PolicyCompiler } from '../engine/index.js';
import { ConfigError } from '../errors.js';
import { OpaCompiler } from '../opa/opa-compiler.js';

export interface EngineRuntime {
  compiler: PolicyCompiler;
  pool: EvaluationPool;
  close(): Promise<void>;
}

export function startEngineRuntime(engine: Config['engine']): EngineRuntime {
  const opa = new OpaCompiler({ cacheDir: engine.cacheDir, opaPath: engine.opaPath });
  const compiler: PolicyCompiler = {
    compile: async (source) => {
      // A missing opa binary is a setup problem: its message says how to build it.
      await opa.opaVersion().catch((error: unknown) => {
        throw new ConfigError(error instanceof Error ? error.message : String(error));
      });
      return opa.compile(source);
    },
  };
  const pool = EvaluationPool.start({ workers: engine.workers, timeoutMs: engine.evalTimeoutMs });
  return { compiler, pool, close: () => pool.close() };
}
