// `parapet check` keeps the outcomes of its evaluations under PARAPET_CACHE_DIR/results: the next run
// of an unchanged repository evaluates nothing and reports the very same findings; an edited object
// is evaluated again; --no-cache neither reads nor writes them.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JsonReport } from '../../src/engine/report/format/index.js';
import { runCli } from '../helpers/cli.js';
import { copyFixture } from '../helpers/engine.js';

/** The JSON report without its render statistics (the render cache's, which differ from run to run), and stderr. */
async function check(cwd: string, cacheDir: string, ...flags: string[]): Promise<{ report: string; said: string }> {
  const run = await runCli(['check', '--format', 'json', ...flags], { cwd, env: { PARAPET_CACHE_DIR: cacheDir, PARAPET_DEBUG: '1' } });
  const report = JSON.parse(run.stdout) as JsonReport;
  return { report: JSON.stringify({ ...report, clusters: report.clusters.map((c) => ({ ...c, render: undefined })) }), said: run.stderr };
}

describe('parapet check with the result cache', () => {
  it('evaluates nothing on the next run of an unchanged repository, with the same report, and evaluates an edited object again', async () => {
    const repo = copyFixture('kustomize-overlay');
    const cacheDir = mkdtempSync(join(tmpdir(), 'parapet-cli-results-'));

    const cold = await check(repo, cacheDir);
    expect(cold.said).toMatch(/^parapet: result cache: 0 evaluations answered, [1-9]\d* evaluated\n$/);
    expect(cold.report).toContain('k8sprivilegedcontainer');
    expect(existsSync(join(cacheDir, 'results'))).toBe(true);

    const warm = await check(repo, cacheDir);
    expect(warm.said).toMatch(/^parapet: result cache: [1-9]\d* evaluations answered, 0 evaluated\n$/);
    expect(warm.report).toBe(cold.report);

    const patch = join(repo, 'overlays/prod/privileged.yaml');
    writeFileSync(patch, readFileSync(patch, 'utf8').replace('privileged: true', 'privileged: false'));
    const edited = await check(repo, cacheDir);
    expect(edited.said).toMatch(/^parapet: result cache: \d+ evaluations answered, [1-9]\d* evaluated\n$/);
    expect(edited.report).not.toBe(cold.report);
    expect(edited.report).toBe((await check(repo, cacheDir, '--no-cache')).report);
  });

  it('neither reads nor writes outcomes with --no-cache', async () => {
    const repo = copyFixture('kustomize-overlay');
    const cacheDir = mkdtempSync(join(tmpdir(), 'parapet-cli-results-'));
    const run = await check(repo, cacheDir, '--no-cache');
    expect(run.said).toBe('');
    expect(run.report).toContain('k8sprivilegedcontainer');
    expect(existsSync(join(cacheDir, 'results'))).toBe(false);
  });
});
