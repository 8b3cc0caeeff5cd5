import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { gatorTest, resultKey } from '../../bench/gator.js';
import { generateRepo } from '../../bench/generate-repo.js';
import { FsSource } from '../../src/cli/fs-source.js';
import { check, repoRoot } from '../helpers/engine.js';

// Gatekeeper's own gator, built from the module pinned in tools/gator/go.mod, judges the same inputs
// as Parapet: both must agree on every suite and on every result of a generated repository.
const gator = join(repoRoot, 'tools', 'bin', 'gator');
const expansion = join(repoRoot, 'policies', 'expansion.yaml');

beforeAll(() => {
  // A few minutes the first time on two cores; reused afterwards.
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build-go-tool.mjs'), 'gator'], { stdio: 'inherit' });
}, 15 * 60_000);

function runGator(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(gator, args, { encoding: 'utf8', maxBuffer: 1 << 30 });
}

describe('Gatekeeper’s gator and Parapet agree', () => {
  it.each(['policies', 'test/fixtures/templates'])('gator passes every suite under %s, as parapet verify does', (folder) => {
    expect(existsSync(gator)).toBe(true);
    const run = runGator(['verify', '--enable-k8s-native-validation=false', `${join(repoRoot, folder)}/...`]);
    expect(run.stderr + run.stdout).toMatch(/PASS|ok/);
    expect(run.status).toBe(0);
  });

  it('gives the same results as gator test on a generated repository, one by one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-differential-'));
    generateRepo(join(dir, 'repo'), 300, join(repoRoot, 'test', 'fixtures', 'templates'), 30);
    const { results: theirs } = gatorTest(gator, [join(dir, 'repo', 'cluster'), expansion]);
    const report = await check(new FsSource(join(dir, 'repo')), { everyResult: true });
    const ours = report.clusters.flatMap((c) => c.violations.map((v) => resultKey({ ...v.object, constraint: v.constraint, message: v.message })));
    expect(theirs.length).toBeGreaterThan(100);
    expect(ours.sort()).toEqual(theirs.sort());
  });
});
