// `npm run bench` measures the CLI through bench/check-once.mjs, which runs on the built dist/ with no
// TypeScript loader and so escapes the typecheck: this runs it on a small generated repository so an
// engine change that breaks the benchmark fails here, not only in CI's bench step.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { generateRepo } from '../../bench/generate-repo.js';

const script = fileURLToPath(new URL('../../bench/check-once.mjs', import.meta.url));
const templates = fileURLToPath(new URL('../fixtures/templates', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'parapet-bench-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the benchmark’s one-check script', () => {
  it('checks a generated repository with the built engine and reports what it found', () => {
    const repo = join(dir, 'repo');
    const generated = generateRepo(repo, 40, templates, 3);
    const output = execFileSync(process.execPath, [script, repo, join(dir, 'cache')], { encoding: 'utf8' });
    const result = JSON.parse(output) as { evaluations: number; constraints: number; errors: number; firstErrors: string[]; violations: unknown[] };
    expect(result.firstErrors).toEqual([]);
    expect(result.constraints).toBe(generated.constraints);
    expect(result.evaluations).toBeGreaterThan(0);
    expect(result.violations.length).toBeGreaterThan(0);
  });

  it('answers a second check from the result cache, with the same results, and evaluates every time with it off', () => {
    const repo = join(dir, 'repo-warm');
    generateRepo(repo, 40, templates, 3);
    const cache = join(dir, 'cache-warm');
    type Result = { cpuSeconds: number; cache?: { hits: number; misses: number }; violations: unknown[] };
    const once = (...args: string[]) => JSON.parse(execFileSync(process.execPath, [script, repo, cache, ...args], { encoding: 'utf8' })) as Result;
    const cold = once();
    const warm = once();
    const evaluating = once('off');
    expect(cold.cache!.misses).toBeGreaterThan(0);
    expect(warm.cache).toEqual({ hits: cold.cache!.misses, misses: 0 });
    expect(evaluating.cache).toBeUndefined();
    expect(warm.violations).toEqual(cold.violations);
    expect(evaluating.violations).toEqual(cold.violations);
    expect(warm.cpuSeconds).toBeGreaterThan(0);
  });
});
