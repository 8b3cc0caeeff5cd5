import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { gatorTest, resultKey } from '../../bench/gator.js';
import { libraryRepo } from '../../bench/library-repo.js';
import { FsSource } from '../../src/cli/fs-source.js';
import type { Report } from '../../src/engine/index.js';
import { check, fixturesDir, repoRoot } from '../helpers/engine.js';

const gator = join(repoRoot, 'tools', 'bin', 'gator');
const library = [join(fixturesDir, 'gatekeeper-library'), join(fixturesDir, 'gatekeeper-library-rego')];
const expansion = join(repoRoot, 'policies', 'expansion.yaml');

beforeAll(() => {
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build-go-tool.mjs'), 'gator'], { stdio: 'inherit' });
}, 15 * 60_000);

function difference(a: readonly string[], b: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const key of b) left.set(key, (left.get(key) ?? 0) + 1);
  return [...a].sort().filter((key) => {
    const n = left.get(key) ?? 0;
    if (n > 0) left.set(key, n - 1);
    return n === 0;
  });
}

function ours(report: Report): string[] {
  return report.clusters.flatMap((c) => c.violations.map((v) => resultKey({ ...v.object, constraint: v.constraint, message: v.message, action: v.enforcementAction })));
}

describe('explore', () => {
  it('diffs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-lib-differential-'));
    libraryRepo(join(dir, 'repo'), Number(process.env.SIZE ?? 300), library);
    console.log(dir);
    let t = performance.now();
    const { results: theirs } = gatorTest(gator, [join(dir, 'repo', 'cluster'), expansion], { k8sNativeValidation: true, withAction: true });
    console.log('gator', (performance.now() - t) / 1000);
    t = performance.now();
    const report = await check(new FsSource(join(dir, 'repo')), { everyResult: true });
    console.log('parapet', (performance.now() - t) / 1000);
    console.log(JSON.stringify(report.clusters[0]!.errors.slice(0, 10), null, 1));
    const mine = ours(report);
    console.log(theirs.length, mine.length);
    console.log('ONLY GATOR\n' + difference(theirs, mine).join('\n'));
    console.log('ONLY PARAPET\n' + difference(mine, theirs).join('\n'));
  }, 600_000);
});
