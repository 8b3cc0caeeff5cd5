// The overview's queries at the store: outdated decided in the database over every visible
// cluster (however many containers), the matrix aggregated per cell, the containers list paged
// across clusters, and stages attributed by namespace or by manifest path.
import { expect, it } from 'vitest';
import type { Database } from '../../../src/store/database.js';
import { replaceInventory, type ImageUseInput } from '../../../src/store/inventory.js';
import { imageMatrix, listContainers, listApplicationStages, type OverviewFilters } from '../../../src/web/queries/overview.js';
import { replaceApplicationStages } from '../../../src/store/cluster-config.js';
import { upsertRepository } from '../../../src/store/repositories.js';
import { syncRiskAcceptances } from '../../../src/store/risk-acceptances.js';
import { compareTags } from '../../../src/engine/inventory/versions.js';
import { forEachBackend } from '../../helpers/postgres-backends.js';
import { REPO, seedRepository } from '../../store/fixtures.js';

const OTHER = 43n;
const at = new Date('2026-11-20T10:00:00Z');

function deployments(namespace: string, count: number, image: (i: number) => string, file = (i: number) => `apps/${namespace}/app-${i}.yaml`): ImageUseInput[] {
  return Array.from({ length: count }, (_, i) => ({ namespace, workloadKind: 'Deployment', workloadName: `app-${i}`, container: 'main', image: image(i), file: file(i), line: 20 }));
}

async function inventory(db: Database, repositoryId: bigint, cluster: string, images: ImageUseInput[]): Promise<void> {
  await replaceInventory(db.prisma, { repositoryId, cluster, commitSha: `${cluster}-sha`, observedAt: at, images });
}

const matrix = (db: Database, repoIds: bigint[], filters: OverviewFilters = {}, columns: 'cluster' | 'namespace' = 'cluster') =>
  imageMatrix(db.prisma, repoIds, filters, { columns, images: { offset: 0, limit: 50 }, versionsPerCell: 3 });

forEachBackend((backend) => {
  it('decides outdated over every visible container, not over the first rows read', async () => {
    const db = await backend.open();
    await seedRepository(db);
    // 3,000 containers on 1.19 in an early cluster; the one container on 1.20 comes last.
    await inventory(db, REPO, 'a-prod', deployments('shop', 3000, () => 'nginx:1.19-alpine'));
    await inventory(db, REPO, 'z-canary', deployments('shop', 1, () => 'nginx:1.20-alpine'));
    const m = await matrix(db, [REPO]);
    expect(m.totals).toEqual({ images: 1, containers: 3001, outdated: 3000, mutable: 3001 });
    expect(m.images).toEqual([{ image: 'docker.io/library/nginx', containers: 3001, versions: 2, outdated: 3000, mutable: 3001, newest: ['1.20-alpine'] }]);
    const prod = m.cells.find((c) => m.clusters.find((k) => k.id === c.clusterId)!.name === 'a-prod')!;
    expect(prod).toMatchObject({ containers: 3000, outdated: 3000, versionCount: 1, versions: [{ tag: '1.19-alpine', containers: 3000, newer: '1.20-alpine' }] });
    // The last page of the containers list is outdated too.
    const last = await listContainers(db.prisma, [REPO], {}, { offset: 2990, limit: 20 });
    expect(last.total).toBe(3001);
    expect(last.rows.map((r) => [r.cluster.name, r.tag, r.newer])).toEqual([
      ...Array.from({ length: 10 }, () => ['a-prod', '1.19-alpine', '1.20-alpine']),
      ['z-canary', '1.20-alpine', null],
    ]);
  });

  it('agrees with compareTags on which version of each family is newest', async () => {
    const db = await backend.open();
    await seedRepository(db);
    const tags = ['1.9', '1.10', '1.10.0', 'v1.10.1', '1.2.3.4', '1.19-alpine', '1.9-alpine', '1.19-Alpine', 'v2-alpine', 'latest', 'stable', '0.9-rc.1', '0.10-rc.1'];
    // One tag per cluster, so each cell holds exactly one version.
    for (const [i, tag] of tags.entries()) await inventory(db, REPO, `c${String(i).padStart(2, '0')}`, deployments('web', 1, () => `ghcr.io/acme/web:${tag}`));
    const m = await matrix(db, [REPO]);
    const newer = new Map(m.cells.map((c) => [c.versions[0]!.tag, c.versions[0]!.newer]));
    for (const tag of tags) {
      const newest = tags.reduce<string | null>((best, t) => ((compareTags(t, best ?? tag) ?? 0) > 0 ? t : best), null);
      expect(newer.get(tag), tag).toBe(newest !== null && compareTags(tag, newest)! < 0 ? newest : null);
    }
    expect(newer.get('1.9')).toBe('v1.10.1');
    expect(newer.get('1.9-alpine')).toBe('v2-alpine');
    expect(newer.get('latest')).toBeNull();
  });

  it("decides outdated among the user's repositories only", async () => {
    const db = await backend.open();
    await seedRepository(db);
    await upsertRepository(db.prisma, { id: OTHER, installationId: 7, owner: 'acme', name: 'secret-ops' });
    await inventory(db, REPO, 'prod', deployments('shop', 2, () => 'redis:7.0'));
    await inventory(db, OTHER, 'vault', deployments('vault', 1, () => 'redis:7.2'));
    expect((await matrix(db, [REPO])).cells[0]!.versions[0]!.newer).toBeNull();
    const both = await matrix(db, [REPO, OTHER], { repo: 'acme/gitops' });
    expect(both.cells.map((c) => [c.containers, c.outdated, c.versions[0]!.newer])).toEqual([[2, 2, '7.2']]);
    expect(both.clusters.map((c) => c.name)).toEqual(['prod']);
  });

  it('lists the most used versions per cell and counts the rest; namespaces as columns on request', async () => {
    const db = await backend.open();
    await seedRepository(db);
    const versions = ['1.25', '1.25', '1.25', '1.24', '1.24', '1.23', '1.22', `1.25@sha256:${'e'.repeat(64)}`];
    await inventory(db, REPO, 'prod', [...deployments('shop', versions.length, (i) => `nginx:${versions[i]}`), ...deployments('tools', 1, () => 'nginx:1.21')]);
    const [cell] = (await matrix(db, [REPO])).cells;
    expect(cell).toMatchObject({ namespace: '', containers: 9, outdated: 5, mutable: 8, versionCount: 6 });
    expect(cell!.versions.map((v) => [v.tag, v.digest ? 'digest' : '', v.containers, v.newer])).toEqual([
      ['1.25', '', 3, null],
      ['1.24', '', 2, '1.25'],
      ['1.25', 'digest', 1, null],
    ]);
    const byNamespace = await matrix(db, [REPO], { cluster: 'prod' }, 'namespace');
    expect(byNamespace.columns.map((c) => [c.namespace, c.containers])).toEqual(expect.arrayContaining([['shop', 8], ['tools', 1]]));
    expect(byNamespace.cells.map((c) => [c.namespace, c.versionCount])).toEqual([['shop', 5], ['tools', 1]]);
  });

  it('pages the containers across clusters, in order, with every filter counted the same way as the matrix', async () => {
    const db = await backend.open();
    await seedRepository(db);
    await inventory(db, REPO, 'prod', deployments('shop', 45, (i) => (i % 3 ? 'ghcr.io/acme/api:2.1' : 'redis:7.2')));
    await inventory(db, REPO, 'staging', deployments('shop', 30, (i) => (i % 2 ? 'ghcr.io/acme/api:2.2' : 'redis:7.2')));
    await inventory(db, REPO, 'dev', deployments('shop', 20, () => 'ghcr.io/acme/api:2.3'));
    await syncRiskAcceptances(db.prisma, {
      repositoryId: REPO,
      commitSha: 'a'.repeat(40),
      seenAt: at,
      acceptances: [1, 2, 4].map((i) => ({ cluster: 'staging', policy: 'k8sallowedrepos', object: { kind: 'Deployment', namespace: 'shop', name: `app-${i}` }, level: 'object', reason: 'vendor image', file: 'x.yaml' })),
    });
    for (const filters of [{}, { q: 'acme/api' }, { q: 'APP-1' }, { image: 'redis' }, { image: 'ghcr.io/acme/api', exact: true, version: '2.1' }, { policy: 'k8sallowedrepos' }, { namespace: 'shop', cluster: 'staging' }] as OverviewFilters[]) {
      const all = await listContainers(db.prisma, [REPO], filters, { offset: 0, limit: 500 });
      const pages = [];
      for (let offset = 0; offset < all.total; offset += 7) pages.push(...(await listContainers(db.prisma, [REPO], filters, { offset, limit: 7 })).rows);
      expect(pages, JSON.stringify(filters)).toEqual(all.rows);
      expect(all.rows).toHaveLength(all.total);
      expect((await matrix(db, [REPO], filters)).totals.containers, JSON.stringify(filters)).toBe(all.total);
      // Clusters by name, then namespace and workload.
      const names = all.rows.map((r) => r.cluster.name);
      expect(names).toEqual([...names].sort());
    }
    expect((await listContainers(db.prisma, [REPO], { policy: 'k8sallowedrepos' }, { offset: 0, limit: 10 })).rows.map((r) => [r.cluster.name, r.workloadName])).toEqual([
      ['staging', 'app-1'],
      ['staging', 'app-2'],
      ['staging', 'app-4'],
    ]);
    expect((await listContainers(db.prisma, [REPO], { q: 'app-1' }, { offset: 0, limit: 500 })).total).toBe(11 + 11 + 11);
    expect(await listContainers(db.prisma, [REPO], {}, { offset: 95, limit: 10 })).toEqual({ total: 95, rows: [] });
  });

  it('attributes a stage without targetNamespace by the manifests under its resourcesPath', async () => {
    const db = await backend.open();
    await seedRepository(db);
    await inventory(db, REPO, 'prod', [
      ...deployments('shop', 2, () => 'nginx:1.25', (i) => `cluster/apps/shop/app-${i}.yaml`),
      ...deployments('shop', 1, () => 'nginx:1.24', () => 'cluster/apps/shop-legacy/app.yaml'), // a sibling folder, not under apps/shop
      ...deployments('tools', 1, () => 'busybox:1.36', () => 'cluster/tools/debug.yaml'),
    ]);
    await replaceApplicationStages(db.prisma, {
      repositoryId: REPO,
      commitSha: 'a'.repeat(40),
      observedAt: at,
      stages: [
        { application: 'shop', stage: 'prod', cluster: 'prod', resourcesPath: 'cluster/apps/shop', targetNamespace: null },
        { application: 'tools', stage: 'prod', cluster: 'prod', resourcesPath: 'cluster/tools', targetNamespace: 'tools' },
        { application: 'ghost', stage: 'prod', cluster: 'nowhere', resourcesPath: 'cluster/ghost', targetNamespace: null },
      ],
    });
    const { stages, versions, clusterOf } = await listApplicationStages(db.prisma, [REPO]);
    const of = (application: string) => versions.filter((v) => stages[v.stage]!.application === application).map((v) => [v.image, v.tag, v.containers, v.workloads]);
    expect(of('shop')).toEqual([['docker.io/library/nginx', '1.25', 2, ['Deployment/app-0 (main)', 'Deployment/app-1 (main)']]]);
    expect(of('tools')).toEqual([['docker.io/library/busybox', '1.36', 1, ['Deployment/app-0 (main)']]]);
    expect(clusterOf.get(stages.findIndex((s) => s.application === 'ghost'))).toBeUndefined();
  });
});
