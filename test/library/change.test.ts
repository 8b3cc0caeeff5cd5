// One change, two writers: `planPolicyChange` over a tree held in memory (as the overview reads the
// default branch from GitHub's archive) plans exactly the files `parapet policies enable|disable`
// writes into a checkout of the same repository.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { loadCatalog } from '../../src/library/catalog.js';
import { isClusterProblem, planPolicyChange, sourceRepository, withPlan, type PolicyChange } from '../../src/library/change.js';
import { copyToTemp, runCli, treeSnapshot } from '../helpers/cli.js';
import { fixturesDir } from '../helpers/engine.js';
import { MemorySource } from '../helpers/memory-source.js';
import { readTree } from '../helpers/read-tree.js';

const catalog = await loadCatalog();
const made: string[] = [];
afterAll(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function checkout(name = 'policy-library-cluster'): string {
  const dir = copyToTemp(join(fixturesDir, 'repos', name), name);
  made.push(dir);
  return dir;
}

/** What the CLI changed in a checkout: files written (with their text) and files removed. */
function changes(before: Record<string, string>, after: Record<string, string>) {
  const writes = Object.fromEntries(Object.entries(after).filter(([path, text]) => before[path] !== text));
  const deletes = Object.keys(before).filter((path) => !(path in after)).sort();
  return { writes, deletes };
}

function planned(change: PolicyChange) {
  return { writes: Object.fromEntries(change.plan.writes), deletes: [...change.plan.deletes].sort() };
}

describe('planPolicyChange', () => {
  it('plans for a tree in memory exactly what parapet policies enable --standard writes into a checkout', async () => {
    const dir = checkout();
    const before = treeSnapshot(dir);
    const run = await runCli(['policies', 'enable', '--standard', 'k8s/baseline', '--action', 'warn'], { cwd: dir });
    expect(run.code).toBe(0);
    const change = await planPolicyChange(catalog, sourceRepository(new MemorySource(before)), { verb: 'enable', names: [], standard: 'k8s/baseline', action: 'warn' });
    if (isClusterProblem(change)) throw new Error(change.message);
    expect(change.cluster.name).toBe('library-demo');
    expect(change.plan.writes.size).toBeGreaterThan(3);
    expect(planned(change)).toEqual(changes(before, treeSnapshot(dir)));
  });

  it('plans what parapet policies disable removes, over a tree where the CLI enabled the policy', async () => {
    const dir = checkout();
    expect((await runCli(['policies', 'enable', 'preventprivileged', 'preventhostnamespaces'], { cwd: dir })).code).toBe(0);
    const before = treeSnapshot(dir);
    expect((await runCli(['policies', 'disable', 'preventprivileged'], { cwd: dir })).code).toBe(0);
    const change = await planPolicyChange(catalog, sourceRepository(new MemorySource(before)), { verb: 'disable', names: ['preventprivileged'] });
    if (isClusterProblem(change)) throw new Error(change.message);
    expect(planned(change)).toEqual(changes(before, treeSnapshot(dir)));
    expect(change.plan.deletes).toContain('cluster/policies/preventprivileged.policy');
  });

  it('refuses imageallowlist named in deny without an allowlist, as the CLI does', async () => {
    const tree = new MemorySource(readTree(join(fixturesDir, 'repos', 'policy-library-cluster')));
    const change = await planPolicyChange(catalog, sourceRepository(tree), { verb: 'enable', names: ['imageallowlist'], action: 'deny' });
    if (isClusterProblem(change)) throw new Error(change.message);
    expect(change.plan.writes.size).toBe(0);
    expect(change.plan.problems.map((p) => p.message)).toEqual([expect.stringMatching(/^imageallowlist needs .* before it can deny: left empty, it denies everything it checks/)]);
  });

  it('names the clusters when the repository declares several and none is chosen, and an unknown one', async () => {
    const files = readTree(join(fixturesDir, 'repos', 'policy-library-cluster'));
    files['.securitytower/second.yaml'] = files['.securitytower/cluster.yaml']!.replace('name: library-demo', 'name: second');
    const repo = sourceRepository(new MemorySource(files));
    expect(await planPolicyChange(catalog, repo, { verb: 'enable', names: ['preventprivileged'] })).toEqual({
      kind: 'several-clusters',
      message: 'the repository declares several clusters (library-demo, second): choose one with --cluster NAME',
    });
    expect(await planPolicyChange(catalog, repo, { verb: 'enable', cluster: 'prod', names: ['preventprivileged'] })).toEqual({
      kind: 'unknown-cluster',
      message: 'no cluster named prod in .securitytower/*.yaml (clusters: library-demo, second)',
    });
  });

  it('shows the tree as it will be once the plan is merged, without writing anything', async () => {
    const files = readTree(join(fixturesDir, 'repos', 'policy-library-cluster'));
    const tree = new MemorySource(files);
    const change = await planPolicyChange(catalog, sourceRepository(tree), { verb: 'enable', names: ['preventprivileged'] });
    if (isClusterProblem(change)) throw new Error(change.message);
    const after = withPlan(tree, change.plan);
    const paths = (await after.listFiles()).map((f) => f.path);
    expect(paths).toEqual([...new Set([...Object.keys(files), ...change.plan.writes.keys()])].sort());
    const constraint = 'cluster/policies/constraints/preventprivileged-constraint.yaml';
    expect((await after.readFiles([constraint, 'cluster/policies/README.md'])).get(constraint)).toBe(change.plan.writes.get(constraint));
    expect(Object.keys(files)).not.toContain(constraint);
  });
});
