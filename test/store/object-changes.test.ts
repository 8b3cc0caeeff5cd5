// Who changed what and when, as the store records it: each recorded default-branch commit's
// applied objects compared with the cluster's previous ones, on both backends.
import { expect, it } from 'vitest';
import { recordObjectChanges, UNATTRIBUTED } from '../../src/store/changes.js';
import { diffObjects } from '../../src/store/object-diff.js';
import type { Database } from '../../src/store/database.js';
import { forEachBackend } from '../helpers/postgres-backends.js';
import { applied, daysAgo, deployment, seedHistory, SHA } from '../web/history-seed.js';

async function changes(db: Database, repositoryId = 1n) {
  const rows = await db.prisma.objectChange.findMany({ where: { repositoryId }, orderBy: [{ changedAt: 'asc' }, { id: 'asc' }] });
  return rows.map((r) => ({
    sha: r.commitSha[0],
    change: r.change,
    object: `${r.kind}/${r.namespace}/${r.name}`,
    ...(r.previousName ? { from: r.previousName } : {}),
    fields: r.fields,
    stage: r.stage && `${r.application}/${r.stage}`,
    who: [r.pullRequest, r.openedBy, r.mergedBy, r.pushedBy],
  }));
}

it('diffs containers by name and says which kinds of field changed', () => {
  const before = deployment('shop', 'web', 'shop:1.0');
  const after = deployment('shop', 'web', 'shop:1.1', { replicas: 4, securityContext: { runAsNonRoot: true }, resources: { limits: { memory: '1Gi' } } });
  (after.metadata as Record<string, unknown>).annotations = { 'example.com/owner': 'team-a' };
  const diff = diffObjects(before, after);
  expect(diff.fields).toEqual(['image', 'replicas', 'securityContext', 'resources', 'other']);
  expect(diff.changes).toEqual([
    { path: 'metadata.annotations', after: { 'example.com/owner': 'team-a' } },
    { path: 'spec.replicas', before: 2, after: 4 },
    { path: 'spec.template.spec.containers[main].image', before: 'shop:1.0', after: 'shop:1.1' },
    { path: 'spec.template.spec.containers[main].resources', after: { limits: { memory: '1Gi' } } },
    { path: 'spec.template.spec.securityContext', after: { runAsNonRoot: true } },
  ]);
  expect(diff.omitted).toBe(0);
});

it('counts an added container as an image change, and a label alone as other', () => {
  const before = deployment('shop', 'web', 'shop:1.0');
  const after = deployment('shop', 'web', 'shop:1.0');
  const containers = (after as any).spec.template.spec.containers;
  containers.push({ name: 'proxy', image: 'envoy:1.30' });
  expect(diffObjects(before, after)).toMatchObject({ fields: ['image'], changes: [{ path: 'spec.template.spec.containers[proxy]', after: { name: 'proxy', image: 'envoy:1.30' } }] });
  const labelled = deployment('shop', 'web', 'shop:1.0');
  (labelled as any).metadata.labels['app.kubernetes.io/part-of'] = 'shop';
  expect(diffObjects(before, labelled)).toEqual({ fields: ['other'], changes: [{ path: 'metadata.labels["app.kubernetes.io/part-of"]', after: 'shop' }], omitted: 0 });
});

it('keeps the diff compact: long values cut, entries past 50 counted', () => {
  const many = (n: number, v: string) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${String(i).padStart(3, '0')}`, v]));
  const diff = diffObjects({ data: many(60, 'a') }, { data: many(60, 'b'), blob: 'x'.repeat(5000) });
  expect(diff.changes).toHaveLength(50);
  expect(diff.omitted).toBe(11);
  const blob = diffObjects({}, { blob: 'x'.repeat(5000) }).changes[0]!;
  expect(String(blob.after).length).toBeLessThanOrEqual(1003);
});

forEachBackend((backend) => {
  it('records each push as added, modified (with fields), removed and renamed objects, with the pull request and people, after a first state that is no change', async () => {
    const db = await backend.open();
    await seedHistory(db);
    expect(await changes(db)).toEqual([
      { sha: 'b', change: 'renamed', object: 'ConfigMap/shop/settings-v2', from: 'settings', fields: [], stage: null, who: [12, 'dana', 'erin', 'erin'] },
      { sha: 'b', change: 'modified', object: 'Deployment/payments/api', fields: ['image', 'replicas'], stage: 'payments/prod', who: [12, 'dana', 'erin', 'erin'] },
      { sha: 'b', change: 'modified', object: 'Deployment/shop/web', fields: ['securityContext'], stage: null, who: [12, 'dana', 'erin', 'erin'] },
      { sha: 'c', change: 'added', object: 'Deployment/payments/worker', fields: [], stage: 'payments/prod', who: [null, null, null, 'frank'] },
      { sha: 'c', change: 'modified', object: 'Deployment/payments/api', fields: ['resources'], stage: 'payments/prod', who: [null, null, null, 'frank'] },
      { sha: 'c', change: 'removed', object: 'Service/payments/api', fields: [], stage: 'payments/prod', who: [null, null, null, 'frank'] },
    ]);
    const api = await db.prisma.objectChange.findFirstOrThrow({ where: { name: 'api', commitSha: SHA.B } });
    expect(api.diff).toEqual({
      changes: [
        { path: 'spec.replicas', before: 2, after: 3 },
        { path: 'spec.template.spec.containers[main].image', before: 'nginx:1.18', after: 'nginx:1.19' },
      ],
      omitted: 0,
    });
    expect([api.images, api.previousSha, api.changedAt]).toEqual([['nginx:1.19'], SHA.A, daysAgo(5)]);
    const prod = await db.prisma.cluster.findFirstOrThrow({ where: { repositoryId: 1n, name: 'prod' } });
    expect([prod.historySha, prod.historyAt, prod.objectsSha]).toEqual([SHA.A, daysAgo(10), SHA.C]);
    expect(await db.prisma.objectState.count({ where: { clusterId: prod.id } })).toBe(4);
  });

  it('ignores an older state arriving after a newer one, and records nothing twice', async () => {
    const db = await backend.open();
    await seedHistory(db);
    const before = await db.prisma.objectChange.count();
    const late = await recordObjectChanges(db.prisma, {
      repositoryId: 1,
      cluster: 'prod',
      commitSha: 'f'.repeat(40),
      at: daysAgo(2),
      objects: [],
      applications: [],
      attribution: UNATTRIBUTED,
    });
    expect(late).toEqual({ recorded: false, baseline: false, changes: 0 });
    expect(await db.prisma.objectChange.count()).toBe(before);
  });

  it('does not guess a rename when two removed objects look alike: they stay removals and additions', async () => {
    const db = await backend.open();
    const cm = (name: string) => applied({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'shop' }, data: { a: '1' } }, 'cm.yaml');
    const record = (sha: string, day: number, objects: ReturnType<typeof cm>[]) =>
      recordObjectChanges(db.prisma, { repositoryId: 1, cluster: 'prod', commitSha: sha, at: daysAgo(day), objects, applications: [], attribution: UNATTRIBUTED });
    await db.prisma.installation.create({ data: { id: 7n, accountLogin: 'acme', accountType: 'Organization' } });
    await db.prisma.repository.create({ data: { id: 1n, installationId: 7n, owner: 'acme', name: 'gitops' } });
    expect(await record('1'.repeat(40), 5, [cm('one'), cm('two')])).toEqual({ recorded: true, baseline: true, changes: 0 });
    expect(await record('2'.repeat(40), 4, [cm('three')])).toEqual({ recorded: true, baseline: false, changes: 3 });
    expect((await changes(db)).map((c) => `${c.change} ${c.object}`)).toEqual(['added ConfigMap/shop/three', 'removed ConfigMap/shop/one', 'removed ConfigMap/shop/two']);
  });
});
