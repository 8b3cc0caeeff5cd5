// Which clusters a pull request's policy change concerns, read from trees already in memory.
import { describe, expect, it } from 'vitest';
import { declaredClusters } from '../../src/engine/index.js';
import { affectedClusters, changedPolicyFiles } from '../../src/github/policy-impact.js';
import { MemorySource } from '../helpers/memory-source.js';

const config = `apiVersion: securitytower.io/v1alpha1
kind: Cluster
metadata:
  name: prod
spec:
  policies:
    path: ./policies/prod/
---
apiVersion: securitytower.io/v1alpha1
kind: Cluster
metadata:
  name: staging
spec:
  policies:
    path: policies/staging
`;
const tree = {
  '.securitytower/clusters.yaml': config,
  'policies/prod/constraint.yaml': 'kind: A\n',
  'policies/staging/constraint.yaml': 'kind: B\n',
  'policies/production-notes.yaml': 'kind: C\n',
  'apps/web.yaml': 'kind: Deployment\n',
};

describe('policy-change detection', () => {
  it('reads each cluster’s policies folder, normalised', async () => {
    expect(await declaredClusters(new MemorySource(tree))).toEqual([
      { name: 'prod', policiesPath: 'policies/prod' },
      { name: 'staging', policiesPath: 'policies/staging' },
    ]);
  });

  it('concerns only the cluster whose policies folder changed (not a sibling folder with the same prefix)', async () => {
    const clusters = await declaredClusters(new MemorySource(tree));
    const folders = clusters.map((c) => c.policiesPath!);
    const head = new MemorySource({ ...tree, 'policies/staging/constraint.yaml': 'kind: B2\n', 'policies/production-notes.yaml': 'kind: C2\n', 'apps/web.yaml': 'kind: Pod\n' });
    const changed = await changedPolicyFiles(new MemorySource(tree), head, folders);
    expect(changed).toEqual(['policies/staging/constraint.yaml']);
    expect(affectedClusters(changed, clusters)).toEqual(['staging']);
  });

  it('counts added and removed policy files, and concerns every cluster when .securitytower/ changes', async () => {
    const clusters = await declaredClusters(new MemorySource(tree));
    const { ['policies/prod/constraint.yaml']: _removed, ...rest } = tree;
    const head = new MemorySource({ ...rest, 'policies/prod/new.yaml': 'kind: D\n', '.securitytower/clusters.yaml': `${config}\n` });
    const changed = await changedPolicyFiles(new MemorySource(tree), head, ['policies/prod', 'policies/staging']);
    expect(changed).toEqual(['.securitytower/clusters.yaml', 'policies/prod/constraint.yaml', 'policies/prod/new.yaml']);
    expect(affectedClusters(changed, clusters)).toEqual(['prod', 'staging']);
  });

  it('finds nothing when only manifests change', async () => {
    const head = new MemorySource({ ...tree, 'apps/web.yaml': 'kind: Pod\n' });
    expect(await changedPolicyFiles(new MemorySource(tree), head, ['policies/prod', 'policies/staging'])).toEqual([]);
  });
});
