// The engine as the CLI and the App run it: the pinned opa compiler with its on-disk cache behind the
// Rego driver, whose worker pool the App shares across every pull request the process checks, and
// Gatekeeper's CEL driver in one helper process (started with the runtime, ahead of its first template),
// each template routed to the engine the cluster's Gatekeeper runs it with; and the renderer
// (kustomize and Flux's build steps) that turns entry points into objects.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineConfig } from './config.js';
import { builtHelperIdentity } from './disk-cache.js';
import { CelHelperProcess, defaultCelHelperPath } from './cel/cel-helper-process.js';
import { CachingDriver, CelDriver, GatekeeperDriver, MemoryResultStore, RegoDriver, type PolicyCompiler, type PolicyDriver, type Renderer, type ResultStore } from './engine/index.js';
import { ConfigError } from './errors.js';
import type { ParsedModule } from './opa/gatekeeper-checks.js';
import { OpaCompiler } from './opa/opa-compiler.js';
import { HelperRenderer } from './renderer/helper-renderer.js';
import { CachingRenderer, DiskRenderCache, MemoryRenderCache } from './renderer/render-cache.js';
import { DiskResultStore } from './results/disk-result-store.js';

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
  /**
   * Where outcomes of evaluations are kept for the next check (src/engine/result-cache.ts): `memory`
   * for the App (the base and head of every pull request share it), `disk` for `parapet check`, in
   * `engine.resultCacheDir`; `off` (the default) evaluates everything every time.
   */
  resultCache?: 'memory' | 'disk' | 'off';
  /** Hears what a cache ignored and why, and how many evaluations the result cache answered (PARAPET_DEBUG). */
  debug?: (line: string) => void;
}

export function startEngineRuntime(engine: EngineConfig, options: RuntimeOptions = {}): EngineRuntime {
  const helper = new CelHelperProcess(engine.celPath, engine.cacheDir === null ? undefined : join(engine.cacheDir, 'cel'));
  // Its process start-up (a large Go binary) overlaps the worker's and the reading of the policies,
  // which its first template waits for anyway.
  helper.warmUp();
  const opa = new OpaCompiler({
    cacheDir: engine.cacheDir,
    opaPath: engine.opaPath,
    timeoutMs: engine.compileTimeoutMs,
    ...(engine.toolsCacheDir ? { toolsCacheDir: engine.toolsCacheDir } : {}),
    // The modules of a cold compile parse in the helper, already running, not in an opa process each.
    parseModule: async (name, text, version) => {
      const answer = await helper.request(JSON.stringify({ op: 'parse', name, text, regoVersion: version }));
      return typeof answer === 'object' && answer !== null && 'module' in answer ? (answer.module as ParsedModule) : undefined;
    },
  });
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
  const rego = RegoDriver.start({
    compiler,
    workers: engine.workers,
    timeoutMs: engine.evalTimeoutMs,
    parseTimeoutMs: engine.parseTimeoutMs,
    memoryMb: engine.workerMemoryMb,
    // The builtins the Wasm host does not write itself run in Gatekeeper's OPA, in the same helper.
    builtins: helper,
  });
  const gatekeeper = new GatekeeperDriver({ Rego: rego, K8sNativeValidation: new CelDriver(helper) });
  const store = resultStore(engine, options);
  // Started now, so that reading Parapet's code overlaps with reading the repository.
  const identity = store ? engineIdentity(opa, engine.celPath ?? defaultCelHelperPath) : undefined;
  identity?.catch(() => undefined);
  const driver = store ? new CachingDriver(gatekeeper, store, () => identity!) : gatekeeper;
  return {
    driver,
    renderer: cachedRenderer(engine, options),
    close: async () => {
      // What this run evaluated is kept even when closing the engine fails.
      const flushed = driver instanceof CachingDriver ? driver.flush() : Promise.resolve();
      await Promise.all([flushed, rego.close(), helper.close()]);
      if (driver instanceof CachingDriver) options.debug?.(`result cache: ${driver.stats.hits} evaluations answered, ${driver.stats.misses} evaluated`);
    },
  };
}

function resultStore(engine: EngineConfig, options: RuntimeOptions): ResultStore | undefined {
  if (options.resultCache === 'memory') return engine.resultCacheDir === null ? undefined : new MemoryResultStore();
  if (options.resultCache !== 'disk' || !engine.resultCacheDir) return undefined;
  return new DiskResultStore(engine.resultCacheDir, options.debug ? { debug: options.debug } : {});
}

/**
 * What decides an evaluation's outcome besides its inputs: the opa that compiled the Rego, the CEL
 * helper (Gatekeeper's drivers and builtins; its build stamp, size and time, as the render cache
 * names its helper), Parapet's own engine code (the Wasm host, its builtins, the drivers), by
 * content, so a changed Parapet never reuses an older one's outcomes, and the Node that runs the
 * host's builtins (its regular expressions and Unicode tables).
 */
async function engineIdentity(opa: OpaCompiler, celPath: string): Promise<string> {
  const [opaVersion, celIdentity, code] = await Promise.all([opa.opaVersion().catch(() => 'unknown'), builtHelperIdentity(celPath), codeHash()]);
  return JSON.stringify([opaVersion, celIdentity, code, process.version]);
}

let codeHashOnce: Promise<string> | undefined;

/** Parapet's code that evaluates (the engine, the opa compiler, the CEL helper's client), as run. */
function codeHash(): Promise<string> {
  codeHashOnce ??= (async () => {
    const root = dirname(fileURLToPath(import.meta.url));
    const sha = createHash('sha256');
    for (const folder of ['engine', 'opa', 'cel']) {
      const names = (await readdir(join(root, folder), { recursive: true })).filter((name) => /\.(js|ts)$/.test(name)).sort();
      const texts = await Promise.all(names.map((name) => readFile(join(root, folder, name))));
      names.forEach((name, i) => sha.update(`${folder}/${name}\0`).update(texts[i]!).update('\0'));
    }
    return sha.digest('hex');
  })();
  return codeHashOnce;
}

function cachedRenderer(engine: EngineConfig, options: RuntimeOptions): Renderer {
  const helper = new HelperRenderer(engine.chartFetch ? { chartFetch: engine.chartFetch } : {});
  if (!engine.renderCacheDir) return helper;
  return new CachingRenderer(helper, options.renderCache === 'memory' ? new MemoryRenderCache() : new DiskRenderCache(engine.renderCacheDir));
}
