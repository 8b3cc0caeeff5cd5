// The engine as the CLI and the App run it: the pinned opa compiler with its on-disk cache behind the
// Rego driver, whose worker pool the App shares across every pull request the process checks.
import type { EngineConfig } from './config.js';
import { RegoDriver, type PolicyCompiler, type PolicyDriver } from './engine/index.js';
import { ConfigError } from './errors.js';
import { OpaCompiler } from './opa/opa-compiler.js';

export interface EngineRuntime {
  driver: PolicyDriver;
  close(): Promise<void>;
}

export function startEngineRuntime(engine: EngineConfig): EngineRuntime {
  const opa = new OpaCompiler({ cacheDir: engine.cacheDir, opaPath: engine.opaPath, timeoutMs: engine.compileTimeoutMs });
  // A missing or broken opa binary is a setup problem, not a bug in Parapet: typed as a ConfigError,
  // it is reported in one line (the CLI exits 2, the App's check run says it) with how to build it.
  const compiler: PolicyCompiler = {
    compile: async (source, options) => {
      await opa.opaVersion().catch((error: unknown) => {
        throw new ConfigError(error instanceof Error ? error.message : String(error));
      });
      return opa.compile(source, options);
    },
  };
  const driver = RegoDriver.start({
    compiler,
    workers: engine.workers,
    timeoutMs: engine.evalTimeoutMs,
    parseTimeoutMs: engine.parseTimeoutMs,
    memoryMb: engine.workerMemoryMb,
  });
  return { driver, close: () => driver.close() };
}
