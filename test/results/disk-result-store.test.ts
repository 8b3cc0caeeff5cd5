// The CLI's result cache on disk: a later process answers from the files an earlier one wrote; a
// damaged file costs evaluations and a debug line, never a crash or a wrong answer; the folder stays
// within its size bound by removing what was used longest ago.
import { mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CachingDriver, checkRepo, type Report } from '../../src/engine/index.js';
import { DiskResultStore, type DiskResultStoreOptions } from '../../src/results/disk-result-store.js';
import { engine, fixturesDir } from '../helpers/engine.js';
import { MemorySource } from '../helpers/memory-source.js';
import { constraintOf } from '../helpers/policy-builders.js';

const requiredLabels = readFileSync(join(fixturesDir, 'gatekeeper-library', 'general', 'requiredlabels', 'template.yaml'), 'utf8');

function repo(label = 'owner', gatekeeper: Record<string, unknown> = { k8sNativeValidation: false }): MemorySource {
  return new MemorySource({
    '.securitytower/cluster.yaml': stringify({ apiVersion: 'securitytower.io/v1alpha1', kind: 'Cluster', metadata: { name: 'prod' }, spec: { policies: { path: 'cluster/policies' }, gatekeeper } }),
    'cluster/policies/requiredlabels.yaml': requiredLabels,
    'cluster/policies/must-have-label.yaml': constraintOf('K8sRequiredLabels', 'must-have-label', { match: { kinds: [{ apiGroups: [''], kinds: ['Namespace'] }] }, parameters: { labels: [{ key: label }] } }),
    ...Object.fromEntries(['shop', 'billing', 'search'].map((name) => [`cluster/namespaces/${name}.yaml`, stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })])),
  });
}

const said = (report: Report) => JSON.stringify(report.clusters.map((c) => ({ violations: c.violations, errors: c.errors })));

/** One `parapet check` process: its own store over `dir`, flushed at its end as the CLI's runtime does. */
async function checkOnce(dir: string, source: MemorySource, options: DiskResultStoreOptions = {}): Promise<{ report: Report; driver: CachingDriver }> {
  const driver = new CachingDriver(engine().driver, new DiskResultStore(dir, options), async () => 'engines-1');
  const report = await checkRepo(source, { driver, renderer: engine().renderer });
  await driver.flush();
  return { report, driver };
}

function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}

/** The files of outcomes, without the one of templates' loads. */
const files = (dir: string) => allFiles(dir).filter((path) => !readFileSync(path, 'utf8').includes('"ok":true'));

describe('the result cache on disk', () => {
  it('answers a later process from the files an earlier one wrote, with the same report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-results-'));
    const uncached = said(await checkRepo(repo(), engine()));
    const first = await checkOnce(dir, repo());
    expect(said(first.report)).toBe(uncached);
    expect(first.driver.stats).toEqual({ hits: 0, misses: 3 });
    expect(files(dir)).toHaveLength(1);
    const second = await checkOnce(dir, repo());
    expect(said(second.report)).toBe(uncached);
    expect(second.driver.stats).toEqual({ hits: 3, misses: 0 });
    // Nothing new: the file is left as it was.
    expect(readFileSync(files(dir)[0]!, 'utf8').split('\n')).toHaveLength(4);
  });

  it('ignores a file cut short with a debug line, evaluates again and writes it whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-results-'));
    const uncached = said(await checkRepo(repo(), engine()));
    await checkOnce(dir, repo());
    const [file] = files(dir);
    writeFileSync(file!, readFileSync(file!, 'utf8').slice(0, -20));
    const debug: string[] = [];
    const damaged = await checkOnce(dir, repo(), { debug: (line) => debug.push(line) });
    expect(said(damaged.report)).toBe(uncached);
    expect(damaged.driver.stats).toEqual({ hits: 0, misses: 3 });
    expect(debug).toEqual([`result cache: ignoring ${file}: its last line is incomplete; it is written again`]);
    expect((await checkOnce(dir, repo())).driver.stats).toEqual({ hits: 3, misses: 0 });
  });

  it('evaluates again an entry whose outcome is not JSON, and writes the file again without it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-results-'));
    const uncached = said(await checkRepo(repo(), engine()));
    await checkOnce(dir, repo());
    const [file] = files(dir);
    const lines = readFileSync(file!, 'utf8').split('\n');
    lines[0] = lines[0]!.replace(/\t.*/, '\t{"results":[}');
    writeFileSync(file!, lines.join('\n'));
    const damaged = await checkOnce(dir, repo());
    expect(said(damaged.report)).toBe(uncached);
    expect(damaged.driver.stats).toEqual({ hits: 2, misses: 1 });
    expect(readFileSync(file!, 'utf8')).not.toContain('{"results":[}');
    expect((await checkOnce(dir, repo())).driver.stats).toEqual({ hits: 3, misses: 0 });
  });

  it('ignores a file that is not the cache, whatever it holds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-results-'));
    await checkOnce(dir, repo());
    const [file] = files(dir);
    writeFileSync(file!, '\u0000\u0001 not a cache\n');
    const debug: string[] = [];
    const damaged = await checkOnce(dir, repo(), { debug: (line) => debug.push(line) });
    expect(damaged.driver.stats).toEqual({ hits: 0, misses: 3 });
    expect(debug).toEqual([`result cache: ignoring ${file}: line 1 is not an entry; it is written again`]);
  });

  it('stays within its size by removing the files used longest ago', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-results-'));
    await checkOnce(dir, repo('owner'));
    const [old] = files(dir);
    utimesSync(old!, new Date(2020, 0, 1), new Date(2020, 0, 1));
    const bound = allFiles(dir).reduce((sum, path) => sum + statSync(path).size, 64);
    // Another constraint's outcomes (a label of the same length: a file of the same size) in a second
    // file: together more than the bound.
    await checkOnce(dir, repo('tiers'), { maxBytes: bound });
    expect(allFiles(dir)).toHaveLength(2);
    expect(files(dir)).toHaveLength(1);
    expect(files(dir)[0]).not.toBe(old);
  });
});
