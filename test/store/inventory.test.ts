import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { openDatabase, projectRoot } from '../../src/store/database.js';
import { parseImageReference } from '../../src/engine/index.js';
import { clusterImageVersions, clusterInventory, replaceInventory, SEARCH_SEPARATOR, type ImageUseInput } from '../../src/store/inventory.js';
import { forEachBackend } from '../helpers/postgres-backends.js';
import { REPO, seedRepository } from './fixtures.js';

const web = (image: string, container = 'web'): ImageUseInput => ({ namespace: 'shop', workloadKind: 'Deployment', workloadName: 'web', container, image });

forEachBackend((backend) => {
  it("replaces a cluster's inventory for a new commit, parsing references and keeping malformed ones", async () => {
    const db = await backend.open();
    await seedRepository(db);
    await replaceInventory(db.prisma, { repositoryId: REPO, cluster: 'prod', commitSha: 'c1', observedAt: new Date(1000), images: [web('nginx:1.18-alpine'), web('redis', 'cache')] });
    await replaceInventory(db.prisma, { repositoryId: REPO, cluster: 'staging', commitSha: 'c1', observedAt: new Date(1000), images: [web('nginx:1.19')] });
    const replaced = await replaceInventory(db.prisma, {
      repositoryId: REPO,
      cluster: 'prod',
      commitSha: 'c2',
      observedAt: new Date(2000),
      images: [web(`ghcr.io/acme/web:2.0@sha256:${'a'.repeat(64)}`), web('Bad Image', 'sidecar')],
    });
    expect(replaced).toBe(true);
    const prod = await clusterInventory(db.prisma, REPO, 'prod');
    expect(prod.map(({ container, reference, registry, repository, tag, digest, malformed, commitSha }) => ({ container, reference, registry, repository, tag, digest, malformed, commitSha }))).toEqual([
      { container: 'sidecar', reference: 'Bad Image', registry: null, repository: null, tag: null, digest: null, malformed: expect.stringContaining('invalid repository name component "Bad Image"') as unknown, commitSha: 'c2' },
      { container: 'web', reference: `ghcr.io/acme/web:2.0@sha256:${'a'.repeat(64)}`, registry: 'ghcr.io', repository: 'acme/web', tag: '2.0', digest: `sha256:${'a'.repeat(64)}`, malformed: null, commitSha: 'c2' },
    ]);
    // Other clusters are untouched.
    expect((await clusterInventory(db.prisma, REPO, 'staging')).map((i) => [i.repository, i.tag])).toEqual([['library/nginx', '1.19']]);
    expect(await db.prisma.cluster.findFirst({ where: { name: 'prod' }, select: { inventorySha: true } })).toEqual({ inventorySha: 'c2' });
  });

  it('an older commit arriving late does not replace a newer inventory', async () => {
    const db = await backend.open();
    await seedRepository(db);
    await replaceInventory(db.prisma, { repositoryId: REPO, cluster: 'prod', commitSha: 'new', observedAt: new Date(2000), images: [web('nginx:1.19')] });
    expect(await replaceInventory(db.prisma, { repositoryId: REPO, cluster: 'prod', commitSha: 'old', observedAt: new Date(1000), images: [web('nginx:1.18')] })).toBe(false);
    expect((await clusterInventory(db.prisma, REPO, 'prod')).map((i) => [i.tag, i.commitSha])).toEqual([['1.19', 'new']]);
  });

  it('a failed replacement leaves the previous inventory in place', async () => {
    const db = await backend.open();
    await seedRepository(db);
    await replaceInventory(db.prisma, { repositoryId: REPO, cluster: 'prod', commitSha: 'c1', observedAt: new Date(1000), images: [web('nginx:1.19')] });
    const nul = { ...web('nginx:1.20'), workloadName: 'bad\u0000name' }; // PostgreSQL rejects NUL in text
    await expect(replaceInventory(db.prisma, { repositoryId: REPO, cluster: 'prod', commitSha: 'c2', observedAt: new Date(2000), images: [web('nginx:1.20'), nul] })).rejects.toThrow();
    expect((await clusterInventory(db.prisma, REPO, 'prod')).map((i) => [i.tag, i.commitSha])).toEqual([['1.19', 'c1']]);
    expect((await clusterImageVersions(db.prisma, REPO, 'prod')).map((v) => [v.tag, v.containers])).toEqual([['1.19', 1]]);
  });

  it('summarises each namespace: every image version once, with its containers and its version family and key', async () => {
    const db = await backend.open();
    await seedRepository(db);
    const digest = `sha256:${'c'.repeat(64)}`;
    const use = (namespace: string, workloadName: string, container: string, image: string): ImageUseInput => ({ namespace, workloadKind: 'Deployment', workloadName, container, image });
    await replaceInventory(db.prisma, {
      repositoryId: REPO,
      cluster: 'prod',
      commitSha: 'c1',
      observedAt: new Date(1000),
      images: [
        use('shop', 'web', 'web', 'nginx:1.19-Alpine'),
        use('shop', 'checkout', 'web', 'docker.io/library/nginx:1.19-Alpine'), // the same image, written another way
        use('shop', 'web', 'cache', 'redis'),
        use('shop', 'api', 'api', `ghcr.io/acme/api:v2.1@${digest}`),
        use('tools', 'web', 'web', 'nginx:1.19-Alpine'),
        use('tools', 'debug', 'debug', 'busybox:latest'),
        use('tools', 'broken', 'x', 'Not An Image'),
        { workloadKind: 'ClusterRole', workloadName: 'pod-runner', container: 'c', image: `quay.io/prometheus/node-exporter@${digest}` },
      ],
    });
    expect(await clusterImageVersions(db.prisma, REPO, 'prod')).toEqual([
      { namespace: '', image: 'quay.io/prometheus/node-exporter', tag: null, digest, malformed: null, family: null, versionKey: [], containers: 1 },
      { namespace: 'shop', image: 'docker.io/library/nginx', tag: '1.19-Alpine', digest: null, malformed: null, family: 'alpine', versionKey: [1, 19, 0, 0], containers: 2 },
      { namespace: 'shop', image: 'docker.io/library/redis', tag: null, digest: null, malformed: null, family: null, versionKey: [], containers: 1 },
      { namespace: 'shop', image: 'ghcr.io/acme/api', tag: 'v2.1', digest, malformed: null, family: '', versionKey: [2, 1, 0, 0], containers: 1 },
      { namespace: 'tools', image: 'Not An Image', tag: null, digest: null, malformed: expect.stringContaining('invalid') as unknown, family: null, versionKey: [], containers: 1 },
      { namespace: 'tools', image: 'docker.io/library/busybox', tag: 'latest', digest: null, malformed: null, family: null, versionKey: [], containers: 1 },
      { namespace: 'tools', image: 'docker.io/library/nginx', tag: '1.19-Alpine', digest: null, malformed: null, family: 'alpine', versionKey: [1, 19, 0, 0], containers: 1 },
    ]);
    // Every container points at its summary row, which counts it.
    const uses = await db.prisma.imageUse.findMany({ include: { version: true } });
    expect(uses).toHaveLength(8);
    for (const u of uses) expect([u.version.namespace, u.version.tag, u.version.digest]).toEqual([u.namespace, u.tag, u.digest]);
  });

  it("keeps each container's manifest and line, and the text the search box matches", async () => {
    const db = await backend.open();
    await seedRepository(db);
    await replaceInventory(db.prisma, {
      repositoryId: REPO,
      cluster: 'prod',
      commitSha: 'c1',
      observedAt: new Date(1000),
      images: [{ ...web('nginx:1.19'), file: 'apps/shop/prod/web.yaml', line: 21 }, { ...web('Redis:7', 'cache') }],
    });
    const [cache, nginx] = await clusterInventory(db.prisma, REPO, 'prod');
    expect([nginx!.file, nginx!.line, cache!.file, cache!.line]).toEqual(['apps/shop/prod/web.yaml', 21, null, null]);
    expect(nginx!.searchText).toBe(['shop', 'deployment/web', 'web', 'nginx:1.19', 'docker.io/library/nginx'].join(SEARCH_SEPARATOR));
    expect(cache!.searchText).toBe(['shop', 'deployment/web', 'cache', 'redis:7', 'redis:7'].join(SEARCH_SEPARATOR)); // malformed: upper case
  });

  it('the migration derives the summary of an inventory recorded before it exactly as the inventory does now', async () => {
    // A database migrated up to the migration before the summary, holding an inventory as it was recorded then.
    const all = join(projectRoot(), 'prisma', 'migrations');
    const before = mkdtempSync(join(tmpdir(), 'parapet-migrations-'));
    try {
      for (const name of readdirSync(all).filter((n) => n < '20261125200000')) cpSync(join(all, name), join(before, name), { recursive: true });
      const config = await backend.fresh();
      const old = await openDatabase({ ...config, migrationsDir: before });
      // Raw SQL: today's client knows columns that database does not have yet.
      await old.prisma.$executeRaw`INSERT INTO installations (id, account_login, account_type, updated_at) VALUES (7, 'acme', 'Organization', now())`;
      await old.prisma.$executeRaw`INSERT INTO repositories (id, installation_id, owner, name, updated_at) VALUES (${REPO}, 7, 'acme', 'gitops', now())`;
      await old.prisma.$executeRaw`INSERT INTO clusters (repository_id, name) VALUES (${REPO}, 'prod')`;
      const tags = ['v1.2.3', '1.19-alpine', '3.1-Alpine', '1.2.3.4', '1.2.3.4.5', 'latest', '1234567890', '007', '1.2-rc.1', '1_2', '2.0_build.7', 'main-abc123', 'V2'];
      const images: ImageUseInput[] = [
        ...tags.map((tag, i) => ({ ...web(`nginx:${tag}`, `c${i}`), namespace: i % 2 ? 'shop' : 'tools' })),
        web(`ghcr.io/acme/api@sha256:${'d'.repeat(64)}`, 'api'),
        web('Bad Image', 'bad'),
        web('Bad Image', 'bad-again'),
        { ...web('redis', 'cache'), namespace: null },
      ];
      for (const image of images) {
        const ref = parseImageReference(image.image);
        await old.prisma.$executeRaw`
          INSERT INTO image_uses (cluster_id, namespace, workload_kind, workload_name, container, reference, registry, repository, tag, digest, malformed, commit_sha)
          SELECT id, ${image.namespace ?? ''}, 'Deployment', 'web', ${image.container}, ${image.image}, ${ref.ok ? ref.registry : null}, ${ref.ok ? ref.repository : null},
                 ${ref.ok ? ref.tag : null}, ${ref.ok ? ref.digest : null}, ${ref.ok ? null : ref.error}, 'old'
          FROM clusters WHERE name = 'prod'`;
      }
      await old.close();

      const db = await openDatabase(config);
      // The same inventory recorded by today's code, in another cluster, for comparison.
      await replaceInventory(db.prisma, { repositoryId: REPO, cluster: 'now', commitSha: 'new', observedAt: new Date(1000), images });
      const summary = async (cluster: string) => clusterImageVersions(db.prisma, REPO, cluster);
      expect(await summary('prod')).toEqual(await summary('now'));
      expect(await summary('prod')).toHaveLength(images.length - 1); // the two bad references are one version
      const versions = (await summary('prod')).filter((v) => v.family !== null).map((v) => [v.tag, v.family, v.versionKey]);
      expect(versions.sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1))).toEqual([
        ['007', '', [7, 0, 0, 0]],
        ['1.19-alpine', 'alpine', [1, 19, 0, 0]],
        ['1.2-rc.1', 'rc.1', [1, 2, 0, 0]],
        ['1.2.3.4', '', [1, 2, 3, 4]],
        ['1_2', '2', [1, 0, 0, 0]],
        ['2.0_build.7', 'build.7', [2, 0, 0, 0]],
        ['3.1-Alpine', 'alpine', [3, 1, 0, 0]],
        ['V2', '', [2, 0, 0, 0]],
        ['v1.2.3', '', [1, 2, 3, 0]],
      ]);
      const search = async (cluster: string) => (await clusterInventory(db.prisma, REPO, cluster)).map((u) => [u.container, u.searchText, u.file]);
      expect(await search('prod')).toEqual(await search('now'));
      await db.close();
    } finally {
      rmSync(before, { recursive: true, force: true });
    }
  });
});
