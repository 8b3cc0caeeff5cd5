import { expect, it } from 'vitest';
import { riskRegister, syncRiskAcceptances, type RiskAcceptanceInput } from '../../src/store/risk-acceptances.js';
import { forEachBackend } from '../helpers/postgres-backends.js';
import { REPO, seedRepository } from './fixtures.js';

const accept = (name: string, reason = 'vendor image, reviewed'): RiskAcceptanceInput => ({
  cluster: 'prod',
  policy: 'k8sallowedrepos',
  object: { kind: 'Deployment', namespace: 'shop', name },
  level: 'object',
  reason,
  file: `clusters/prod/${name}.yaml`,
  line: 4,
  introducedSha: 'intro-' + name,
  introducedBy: 'alice',
});

forEachBackend((backend) => {
  it('tracks first seen, last seen and removal, and a comeback', async () => {
    const db = await backend.open();
    await seedRepository(db);
    const sync = (sha: string, at: number, acceptances: RiskAcceptanceInput[]) =>
      syncRiskAcceptances(db.prisma, { repositoryId: REPO, commitSha: sha, seenAt: new Date(at), acceptances });

    expect(await sync('c1', 1000, [accept('web'), accept('api')])).toEqual({ added: 2, kept: 0, removed: 0 });
    expect(await sync('c2', 2000, [accept('web', 'new reason')])).toEqual({ added: 0, kept: 1, removed: 1 });

    const all = await riskRegister(db.prisma, REPO, { includeRemoved: true });
    const byName = new Map(all.map((r) => [r.objectName, r]));
    expect(byName.get('web')).toMatchObject({
      reason: 'new reason', introducedSha: 'intro-web', introducedBy: 'alice',
      firstSeenAt: new Date(1000), firstSeenSha: 'c1', lastSeenAt: new Date(2000), lastSeenSha: 'c2', removedAt: null,
    });
    expect(byName.get('api')).toMatchObject({ firstSeenSha: 'c1', lastSeenSha: 'c1', removedAt: new Date(2000), removedSha: 'c2' });
    expect((await riskRegister(db.prisma, REPO)).map((r) => r.objectName)).toEqual(['web']);

    expect(await sync('c3', 3000, [accept('web'), { ...accept('api'), introducedSha: 'again', introducedBy: 'bob' }])).toEqual({ added: 0, kept: 2, removed: 0 });
    const api = (await riskRegister(db.prisma, REPO)).find((r) => r.objectName === 'api');
    expect(api).toMatchObject({ removedAt: null, removedSha: null, lastSeenSha: 'c3', introducedSha: 'again', introducedBy: 'bob', firstSeenSha: 'c1' });
    expect(api?.cluster.name).toBe('prod');

    expect(await sync('c4', 4000, [])).toEqual({ added: 0, kept: 0, removed: 2 });
    expect(await riskRegister(db.prisma, REPO)).toEqual([]);
  });
});
