// The engine as the CLI and the App run it: the pinned opa compiler with its on-disk cache behind the
// Rego driver, whose worker pool the App shares across every pull request the process checks, and
// Gatekeeper's CEL driver in one helper process (started with the runtime, ahead of its first template),
// each template routed to the engine the cluster's Gatekeeper runs it with; and the renderer
// (kustomize and Flux's build steps) that turns entry points into objects.
import { join } from 'node:path';
import type { EngineConfig } from './config.js';
import { CelHelperProcess } from './cel/cel-helper-process.js';
import { CelDriver, GatekeeperDriver, RegoDriver, type PolicyCompiler, type PolicyDriver, type Renderer } from './engine/index.js';
import { ConfigError } from './errors.js';
import { OpaCompiler } from './opa/opa-compiler.js';
import { HelperRenderer } from './renderer/helper-renderer.js';
import { CachingRenderer, DiskRenderCache, MemoryRenderCache } from './renderer/render-cache.js';

export interface EngineRuntime {
  driver: PolicyDriver;
  renderer: Renderer;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /**
   * Where builds are cached: `memory` for a long-running process (the App: the base and head of
   * every pull request share it), `disk` (the default) for the CLI, in `engine.renderCacheDir`.
   */
  renderCache?: 'memory' | 'disk';
}

export function startEngineRuntime(engine: EngineConfig, options: RuntimeOptions = {}): EngineRuntime {
  const opa = new OpaCompiler({ cacheDir: engine.cacheDir, opaPath: engine.opaPath, timeoutMs: engine.compileTimeoutMs, ...(engine.toolsCacheDir ? { toolsCacheDir: engine.toolsCacheDir } : {}) });
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
  const helper = new CelHelperProcess(engine.celPath, engine.cacheDir === null ? undefined : join(engine.cacheDir, 'cel'));
  // Its process start-up (a large Go binary) overlaps the worker's and the reading of the policies,
  // which its first template waits for anyway.
  helper.warmUp();
  const rego = RegoDriver.start({
    compiler,
    workers: engine.workers,
    timeoutMs: engine.evalTimeoutMs,
    parseTimeoutMs: engine.parseTimeoutMs,
    memoryMb: engine.workerMemoryMb,
    // The builtins the Wasm host does not write itself run in Gatekeeper's OPA, in the same helper.
    builtins: helper,
  });
  const driver = new GatekeeperDriver({ Rego: rego, K8sNativeValidation: new CelDriver(helper) });
  return { driver, renderer: cachedRenderer(engine, options), close: async () => void (await Promise.all([rego.close(), helper.close()])) };
}

function cachedRenderer(engine: EngineConfig, options: RuntimeOptions): Renderer {
  const helper = new HelperRenderer(engine.chartFetch ? { chartFetch: engine.chartFetch } : {});
  if (!engine.renderCacheDir) return helper;
  return new CachingRenderer(helper, options.renderCache === 'memory' ? new MemoryRenderCache() : new DiskRenderCache(engine.renderCacheDir));
}
