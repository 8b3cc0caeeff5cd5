// `parapet check` keeps its builds in the render cache on disk (issue #13): the next run of an
// unchanged repository builds nothing and reports the very same findings; an edited patch is built
// again; PARAPET_CACHE_DIR='' turns the cache off.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JsonReport } from '../../src/engine/report/format/index.js';
import { runCli } from '../helpers/cli.js';
import { copyFixture } from '../helpers/engine.js';

async function check(cwd: string, cacheDir: string): Promise<JsonReport> {
  const run = await runCli(['check', '--format', 'json'], { cwd, env: { PARAPET_CACHE_DIR: cacheDir } });
  expect(run.stderr).toBe('');
  return JSON.parse(run.stdout) as JsonReport;
}

const findings = (report: JsonReport) => report.clusters.flatMap((c) => c.violations.map((v) => `${v.file}:${v.line} ${v.policy}`));

describe('parapet check with the render cache', () => {
  it('builds nothing on the next run of an unchanged repository, with the same findings, and builds an edited patch again', async () => {
    const repo = copyFixture('kustomize-overlay');
    const cacheDir = mkdtempSync(join(tmpdir(), 'parapet-cli-render-cache-'));

    const cold = await check(repo, cacheDir);
    expect(cold.clusters[0]!.render).toMatchObject({ builds: 1, cached: 0 });
    expect(findings(cold)).toContain('overlays/prod/privileged.yaml:11 k8sprivilegedcontainer');
    expect(existsSync(join(cacheDir, 'render'))).toBe(true);

    const warm = await check(repo, cacheDir);
    expect(warm.clusters[0]!.render).toMatchObject({ builds: 1, cached: 1 });
    expect({ ...warm, clusters: warm.clusters.map((c) => ({ ...c, render: undefined })) }).toEqual({ ...cold, clusters: cold.clusters.map((c) => ({ ...c, render: undefined })) });

    const patch = join(repo, 'overlays/prod/privileged.yaml');
    writeFileSync(patch, readFileSync(patch, 'utf8').replace('privileged: true', 'privileged: false'));
    const edited = await check(repo, cacheDir);
    expect(edited.clusters[0]!.render).toMatchObject({ builds: 1, cached: 0 });
    expect(findings(edited)).not.toContain('overlays/prod/privileged.yaml:11 k8sprivilegedcontainer');
  });

  it('builds every time when PARAPET_CACHE_DIR is empty', async () => {
    const repo = copyFixture('kustomize-overlay');
    await check(repo, '');
    expect((await check(repo, '')).clusters[0]!.render).toMatchObject({ builds: 1, cached: 0 });
  });
});
