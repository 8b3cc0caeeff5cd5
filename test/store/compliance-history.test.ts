// What the compliance page reads beyond the newest state: each constraint's parameters and its
// template's title, the newest push to the default branch (a cluster evaluated before it is
// behind), and the image inventory counted at every default-branch commit (its trends).
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { ClusterReport, Report } from '../../src/engine/index.js';
import { clusterPolicies, replaceClusterConfig, type ClusterSettings } from '../../src/store/cluster-config.js';
import { openDatabase, projectRoot, type Database } from '../../src/store/database.js';
import { snapshotInventories } from '../../src/store/inventory.js';
import { recordDefaultBranchPush, recordDefaultBranchReport, type RepositoryRow } from '../../src/store/record-report.js';
import { forEachBackend } from '../helpers/postgres-backends.js';
import { REPO, seedRepository, violation } from './fixtures.js';

const repository: RepositoryRow = { installationId: 7, id: Number(REPO), owner: 'acme', ownerType: 'Organization', name: 'gitops', defaultBranch: 'main', private: true };
const settings: ClusterSettings = { tenant: null, contactEmail: null, contactSlack: null, description: null, production: null, securityLevel: null, geographicLocation: null, costCenter: null };

/** A cluster of the Report running these images (one Deployment each), with these violations. */
function cluster(name: string, images: string[], violations = 0): ClusterReport {
  return {
    name,
    config: `.securitytower/${name}.yaml`,
    violations: Array.from({ length: violations }, (_, i) => violation({ cluster: name, object: { apiVersion: 'apps/v1', kind: 'Deployment', name: `app-${i}`, namespace: 'shop' } })),
    errors: [],
    images: images.map((image, i) => ({
      namespace: 'shop',
      workload: { apiVersion: 'apps/v1', kind: 'Deployment', name: `app-${i}`, namespace: 'shop' },
      container: 'main',
      containerType: 'containers',
      image,
      location: { file: `clusters/${name}/app-${i}.yaml`, line: 20 },
    })),
    policies: [],
    stats: { objects: images.length, constraints: 0, evaluations: 0 },
  };
}

const report = (...clusters: ClusterReport[]): Report => ({ clusters, errors: [] });

async function snapshots(db: Database) {
  const rows = await db.prisma.inventorySnapshot.findMany({ include: { cluster: { select: { name: true } } }, orderBy: [{ observedAt: 'asc' }, { clusterId: 'asc' }] });
  return rows.map((s) => [s.cluster.name, s.commitSha, s.observedAt.getTime(), s.containers, s.outdated, s.mutable]);
}

const pushed = async (db: Database) => db.prisma.repository.findUniqueOrThrow({ where: { id: REPO }, select: { pushedSha: true, pushedAt: true } });

forEachBackend((backend) => {
  it("keeps each constraint's parameters and its template's title; unknown parameters stay null", async () => {
    const db = await backend.open();
    await seedRepository(db);
    await replaceClusterConfig(db.prisma, {
      repositoryId: REPO,
      cluster: 'prod',
      commitSha: 'c1',
      observedAt: new Date(1000),
      settings,
      policies: [
        { template: 'k8sallowedrepos', kind: 'K8sAllowedRepos', constraint: 'allowed-repos', enforcementAction: 'deny', title: 'Allowed repositories', parameters: { repos: ['ghcr.io/acme/'] } },
        { template: 'k8srequiredlabels', kind: 'K8sRequiredLabels', constraint: 'owner', enforcementAction: 'warn', parameters: {} },
        { template: 'legacy', kind: 'Legacy', constraint: 'legacy', enforcementAction: 'dryrun' },
      ],
    });
    expect((await clusterPolicies(db.prisma, REPO, 'prod')).map((p) => [p.constraint, p.title, p.parameters])).toEqual([
      ['allowed-repos', 'Allowed repositories', { repos: ['ghcr.io/acme/'] }],
      ['owner', null, {}],
      ['legacy', null, null],
    ]);
  });

  it('notes each push before its evaluation, and keeps the newest push when an older one arrives late', async () => {
    const db = await backend.open();
    await recordDefaultBranchPush(db.prisma, { repository, sha: 'b'.repeat(40), observedAt: new Date(2000) });
    expect(await pushed(db)).toEqual({ pushedSha: 'b'.repeat(40), pushedAt: new Date(2000) });
    await recordDefaultBranchPush(db.prisma, { repository, sha: 'a'.repeat(40), observedAt: new Date(1000) });
    await recordDefaultBranchReport(db.prisma, { repository, sha: 'a'.repeat(40), report: report(cluster('prod', [])), recordedAt: new Date(1000), startedAt: new Date(1000) });
    expect(await pushed(db)).toEqual({ pushedSha: 'b'.repeat(40), pushedAt: new Date(2000) });
    // A push recorded without being noted first (the installation's first read) is noted too.
    await recordDefaultBranchReport(db.prisma, { repository, sha: 'c'.repeat(40), report: report(cluster('prod', [])), recordedAt: new Date(3000), startedAt: new Date(3000) });
    expect(await pushed(db)).toEqual({ pushedSha: 'c'.repeat(40), pushedAt: new Date(3000) });
  });

  it('counts every cluster inventory at each commit, outdated among the clusters of the repository', async () => {
    const db = await backend.open();
    const first = report(cluster('prod', ['nginx:1.18', 'nginx:1.18', `redis:7@sha256:${'d'.repeat(64)}`], 2), cluster('staging', ['nginx:1.19', 'busybox:latest']));
    await recordDefaultBranchReport(db.prisma, { repository, sha: 'a'.repeat(40), report: first, recordedAt: new Date(1000), startedAt: new Date(1000) });
    // prod's two nginx:1.18 are outdated because staging runs 1.19; redis is pinned by digest.
    expect(await snapshots(db)).toEqual([
      ['prod', 'a'.repeat(40), 1000, 3, 2, 2],
      ['staging', 'a'.repeat(40), 1000, 2, 0, 2],
    ]);
    // A retried write of the same commit rewrites its point; the next commit adds points.
    await recordDefaultBranchReport(db.prisma, { repository, sha: 'a'.repeat(40), report: first, recordedAt: new Date(1000), startedAt: new Date(1000) });
    const second = report(cluster('prod', ['nginx:1.19', 'nginx:1.19', `redis:7@sha256:${'d'.repeat(64)}`]), cluster('staging', ['nginx:1.19']));
    await recordDefaultBranchReport(db.prisma, { repository, sha: 'b'.repeat(40), report: second, recordedAt: new Date(2000), startedAt: new Date(2000) });
    // An older push arriving late (received before the last one) replaces no inventory, so it adds no point.
    await recordDefaultBranchReport(db.prisma, { repository, sha: '9'.repeat(40), report: first, recordedAt: new Date(1500), startedAt: new Date(1500), position: { before: null, forced: false, sequence: 1 } });
    // The retry's claim is stamped a millisecond after the first (stamps only increase): its point moved there.
    expect(await snapshots(db)).toEqual([
      ['prod', 'a'.repeat(40), 1001, 3, 2, 2],
      ['staging', 'a'.repeat(40), 1001, 2, 0, 2],
      ['prod', 'b'.repeat(40), 2000, 3, 0, 2],
      ['staging', 'b'.repeat(40), 2000, 1, 0, 1],
    ]);
  });

  it("does not decide outdated across repositories: another repository's newer version does not count", async () => {
    const db = await backend.open();
    await recordDefaultBranchReport(db.prisma, { repository, sha: 'a'.repeat(40), report: report(cluster('prod', ['nginx:1.18'])), recordedAt: new Date(1000), startedAt: new Date(1000) });
    const other = { ...repository, id: 43, name: 'other' };
    await recordDefaultBranchReport(db.prisma, { repository: other, sha: 'b'.repeat(40), report: report(cluster('edge', ['nginx:1.25'])), recordedAt: new Date(2000), startedAt: new Date(2000) });
    await snapshotInventories(db.prisma, { repositoryId: REPO, clusters: ['prod'], commitSha: 'a'.repeat(40), observedAt: new Date(1000) });
    expect(await snapshots(db)).toEqual([
      ['prod', 'a'.repeat(40), 1000, 1, 0, 1],
      ['edge', 'b'.repeat(40), 2000, 1, 0, 1],
    ]);
  });

  it('the migration starts the history from the stored inventory and the push from the newest evaluation', async () => {
    const all = join(projectRoot(), 'prisma', 'migrations');
    const before = mkdtempSync(join(tmpdir(), 'parapet-migrations-'));
    try {
      for (const name of readdirSync(all).filter((n) => n < '20261207120000')) cpSync(join(all, name), join(before, name), { recursive: true });
      const config = await backend.fresh();
      const old = await openDatabase({ ...config, migrationsDir: before });
      // The rows the App wrote before this migration.
      const state = report(cluster('prod', ['nginx:1.18', 'nginx:1.18', 'redis:7']), cluster('staging', ['nginx:1.19', `redis:7@sha256:${'d'.repeat(64)}`]));
      // Raw SQL: today's client knows columns that database does not have yet.
      await old.prisma.$executeRaw`INSERT INTO installations (id, account_login, account_type, updated_at) VALUES (7, 'acme', 'Organization', now())`;
      await old.prisma.$executeRaw`INSERT INTO repositories (id, installation_id, owner, name, updated_at) VALUES (${REPO}, 7, 'acme', 'gitops', now())`;
      for (const c of state.clusters) {
        await old.prisma.$executeRaw`INSERT INTO clusters (repository_id, name, inventory_sha, inventory_at) VALUES (${REPO}, ${c.name}, ${'a'.repeat(40)}, ${new Date(1000)})`;
        for (const use of c.images) {
          const tag = use.image.split(':')[1]!.split('@')[0]!;
          const digest = use.image.includes('@') ? use.image.split('@')[1]! : null;
          const image = `docker.io/library/${use.image.split(':')[0]}`;
          await old.prisma.$executeRaw`
            INSERT INTO image_versions (cluster_id, namespace, image, tag, digest, family, version_key, containers)
            SELECT id, 'shop', ${image}, ${tag}, ${digest}, '', string_to_array(${tag}, '.')::int[] || array_fill(0, ARRAY[4 - cardinality(string_to_array(${tag}, '.'))]), 1
            FROM clusters WHERE name = ${c.name}`;
        }
      }
      for (const [sha, at] of [['a'.repeat(40), 1000], ['0'.repeat(40), 500]] as const) {
        await old.prisma.$executeRaw`
          INSERT INTO evaluations (repository_id, sha, ref, conclusion, observed_at, started_at) VALUES (${REPO}, ${sha}, 'main', 'success', ${new Date(at)}, ${new Date(at)})`;
      }
      await old.prisma.$executeRaw`
        INSERT INTO evaluations (repository_id, sha, pull_request_number, conclusion, observed_at, started_at) VALUES (${REPO}, ${'f'.repeat(40)}, 3, 'success', ${new Date(9000)}, ${new Date(9000)})`;
      await old.close();

      const db = await openDatabase(config);
      try {
        const migrated = await snapshots(db);
        // As today's code counts the same inventory: written again through it, in a fresh database.
        const now = await backend.open();
        await recordDefaultBranchReport(now.prisma, { repository, sha: 'a'.repeat(40), report: state, recordedAt: new Date(1000), startedAt: new Date(1000) });
        expect(migrated).toEqual(await snapshots(now));
        expect(migrated).toEqual([
          ['prod', 'a'.repeat(40), 1000, 3, 2, 3],
          ['staging', 'a'.repeat(40), 1000, 2, 0, 1],
        ]);
        // The newest default-branch evaluation's commit, not a pull request's.
        expect(await pushed(db)).toEqual({ pushedSha: 'a'.repeat(40), pushedAt: new Date(1000) });
      } finally {
        await db.close();
      }
    } finally {
      rmSync(before, { recursive: true, force: true });
    }
  });
});
