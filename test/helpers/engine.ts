// The engine's collaborators for tests: the real opa compiler (cached across runs under .cache/) and
// a real evaluation pool.
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { checkRepo, EvaluationPool, type CheckOptions, type Report, type RepoSource } from '../../src/engine/index.js';
import { OpaCompiler } from '../../src/opa/opa-compiler.js';
import { MemorySource } from './memory-source.js';
import { readTree } from './read-tree.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const fixturesDir = join(repoRoot, 'test', 'fixtures');
export const testCacheDir = join(repoRoot, '.cache', 'test-wasm');

let shared: { compiler: OpaCompiler; pool: EvaluationPool } | undefined;

/** One compiler and pool per test file, closed after it. */
export function engine(): { compiler: OpaCompiler; pool: EvaluationPool } {
  if (!shared) {
    shared = { compiler: new OpaCompiler({ cacheDir: testCacheDir }), pool: EvaluationPool.start({ workers: 2, timeoutMs: 5000 }) };
    afterAll(async () => {
      await shared?.pool.close();
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
