import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { gatorTest, resultKey } from '../../bench/gator.js';
import { files, libraryRepo } from '../../bench/library-repo.js';
import { FsSource } from '../../src/cli/fs-source.js';
import { verifySuites, type Report } from '../../src/engine/index.js';
import { check, engine, fixturesDir, repoRoot } from '../helpers/engine.js';

// Gatekeeper's gator with its defaults (CEL on, as Gatekeeper since 3.18) against Parapet on the
// gatekeeper-library templates that carry CEL (test/fixtures/gatekeeper-library, copied from the
// library at 5c441fb6): their suites, and every result on a repository of generated workloads plus
// every sample object of those templates, compared as (object, constraint, action, message).
const gator = join(repoRoot, 'tools', 'bin', 'gator');
const library = join(fixturesDir, 'gatekeeper-library');
const expansion = join(repoRoot, 'policies', 'expansion.yaml');

beforeAll(() => {
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build-go-tool.mjs'), 'gator'], { stdio: 'inherit' });
}, 15 * 60_000);

/** What `a` has that `b` lacks, counting repeats (a result reported twice is two results). */
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
  return report.clusters.flatMap((c) =>
    c.violations.map((v) => resultKey({ ...v.object, constraint: v.constraint, message: v.message, action: v.enforcementAction })),
  );
}

describe('Gatekeeper’s gator (CEL on) and Parapet agree on the library’s CEL templates', () => {
  engine();

  it('gator passes every suite of those templates, and so does parapet verify, with CEL and with Rego', async () => {
    const run = execFileSync(gator, ['verify', `${library}/...`], { encoding: 'utf8' });
    expect(run).toMatch(/ok/);
    const suites = files(library, (name) => name === 'suite.yaml');
    const reader = { read: async (path: string) => readFileSync(path, 'utf8') };
    for (const k8sNativeValidation of [true, false]) {
      const results = await verifySuites(suites, { ...engine(), reader, k8sNativeValidation });
      const failures = results.flatMap((s) => [
        ...(s.error ? [`${s.file}: ${s.error}`] : []),
        ...s.tests.flatMap((t) => [...(t.error ? [`${s.file} ${t.name}: ${t.error}`] : []), ...t.cases.filter((c) => !c.passed).map((c) => `${s.file} ${t.name} / ${c.name}: ${c.error}`)]),
      ]);
      expect({ k8sNativeValidation, failures }).toEqual({ k8sNativeValidation, failures: [] });
    }
  });

  it.each([true, false])('gives the same (object, constraint, action, message) as gator test on a generated repository and the samples, CEL on: %s', async (k8sNativeValidation) => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-cel-differential-'));
    libraryRepo(join(dir, 'repo'), 300, library);
    if (!k8sNativeValidation) {
      const config = join(dir, 'repo', '.securitytower', 'cluster.yaml');
      const cluster = parseAllDocuments(readFileSync(config, 'utf8'))[0]!.toJS() as { spec: Record<string, unknown> };
      cluster.spec.gatekeeper = { k8sNativeValidation: false };
      writeFileSync(config, stringify(cluster));
    }
    const { results: theirs } = gatorTest(gator, [join(dir, 'repo', 'cluster'), expansion], { k8sNativeValidation, withAction: true });
    const report = await check(new FsSource(join(dir, 'repo')), { everyResult: true });
    expect(report.clusters[0]!.errors).toEqual([]);
    expect(theirs.length).toBeGreaterThan(500);
    // Every template of the library that carries CEL takes part.
    const folders = files(library, (name) => name === 'template.yaml').map((t) => relative(library, join(t, '..')).split('/').pop()!);
    expect(folders).toHaveLength(16);
    expect(folders.filter((folder) => !theirs.some((key) => key.startsWith(`${folder}-`)))).toEqual([]);
    const mine = ours(report);
    const onlyGator = difference(theirs, mine);
    const onlyParapet = difference(mine, theirs);
    console.info(`differential (CEL ${k8sNativeValidation ? 'on' : 'off'}): gator ${theirs.length} results, Parapet ${mine.length}; only in gator ${onlyGator.length}, only in Parapet ${onlyParapet.length}`);
    expect({ onlyGator: onlyGator.slice(0, 40), onlyParapet: onlyParapet.slice(0, 40) }).toEqual({ onlyGator: [], onlyParapet: [] });
  });
});
