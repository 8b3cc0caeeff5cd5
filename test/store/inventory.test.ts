import { expect, it } from 'vitest';
import { clusterInventory, replaceInventory, type ImageUseInput } from '../../src/store/inventory.js';
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
  });
});
