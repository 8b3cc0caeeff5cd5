// The engine's collaborators for tests: the real Rego driver over the real opa compiler (cached
// across runs under .cache/), Gatekeeper's CEL driver in the real parapet-cel helper, routed as
// the App and the CLI route them, and the real renderer (tools/bin/render).
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { CelHelperProcess } from '../../src/cel/cel-helper-process.js';
import { CelDriver, checkRepo, GatekeeperDriver, RegoDriver, type CheckOptions, type Report, type RepoSource } from '../../src/engine/index.js';
import type { EvaluationPoolOptions } from '../../src/engine/rego/evaluation-pool.js';
import { OpaCompiler } from '../../src/opa/opa-compiler.js';
import { HelperRenderer } from '../../src/renderer/helper-renderer.js';
import { MemorySource } from './memory-source.js';
import { readTree } from './read-tree.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const fixturesDir = join(repoRoot, 'test', 'fixtures');
export const testCacheDir = join(repoRoot, '.cache', 'test-wasm');

let shared: { driver: GatekeeperDriver; renderer: HelperRenderer } | undefined;

/** A Rego driver over the test compile cache; the pool's options (limits, workers) as it takes them. */
export function startDriver(options: Partial<EvaluationPoolOptions> = {}): RegoDriver {
  return RegoDriver.start({ compiler: new OpaCompiler({ cacheDir: testCacheDir }), ...options, workers: options.workers ?? 2, timeoutMs: options.timeoutMs ?? 5000 });
}

/**
 * Both engines behind Gatekeeper's routing; the CEL helper, which also runs the builtins Go OPA
 * runs, starts with the first CEL template or such builtin.
 */
export function startDrivers(options: { workers?: number; timeoutMs?: number } = {}): { driver: GatekeeperDriver; helper: CelHelperProcess; close(): Promise<void> } {
  const helper = new CelHelperProcess();
  const rego = startDriver({ ...options, builtins: helper });
  const driver = new GatekeeperDriver({ Rego: rego, K8sNativeValidation: new CelDriver(helper) });
  return { driver, helper, close: async () => void (await Promise.all([rego.close(), helper.close()])) };
}

/** One driver per test file, closed after it. */
export function engine(): { driver: GatekeeperDriver; renderer: HelperRenderer } {
  if (!shared) {
    const started = startDrivers();
    shared = { driver: started.driver, renderer: new HelperRenderer() };
    afterAll(async () => {
      await started.close();
      shared = undefined;
    });
  }
  return shared;
}

export function check(source: RepoSource, options: Partial<CheckOptions> = {}): Promise<Report> {
  return checkRepo(source, { ...engine(), ...options });
}

/** A fixture repository under test/fixtures/repos, read into memory (plus optional overrides). */
export function fixtureRepo(name: string, overrides: Record<string, string | null> = {}): MemorySource {
  const root = join(fixturesDir, 'repos', name);
  const files = readTree(root);
  for (const [path, text] of Object.entries(overrides)) {
    if (text === null) delete files[path];
    else files[path] = text;
  }
  return new MemorySource(files);
}

/** Copies a fixture repository to a temporary directory (for CLI and git tests). */
export function copyFixture(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `parapet-${name}-`));
  cpSync(join(fixturesDir, 'repos', name), dir, { recursive: true });
  return dir;
}
