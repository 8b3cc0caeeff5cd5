import { expect, it } from 'vitest';
import { acceptancesToAttribute, riskRegister, syncRiskAcceptances, type RiskAcceptanceInput } from '../../src/store/risk-acceptances.js';
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
  introducedCommitAuthor: 'alice',
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
      reason: 'new reason', introducedSha: 'intro-web', introducedCommitAuthor: 'alice',
      firstSeenAt: new Date(1000), firstSeenSha: 'c1', lastSeenAt: new Date(2000), lastSeenSha: 'c2', removedAt: null,
    });
    expect(byName.get('api')).toMatchObject({ firstSeenSha: 'c1', lastSeenSha: 'c1', removedAt: new Date(2000), removedSha: 'c2' });
    expect((await riskRegister(db.prisma, REPO)).map((r) => r.objectName)).toEqual(['web']);

    expect(await sync('c3', 3000, [accept('web'), { ...accept('api'), introducedSha: 'again', introducedCommitAuthor: 'bob' }])).toEqual({ added: 0, kept: 2, removed: 0 });
    const api = (await riskRegister(db.prisma, REPO)).find((r) => r.objectName === 'api');
    expect(api).toMatchObject({ removedAt: null, removedSha: null, lastSeenSha: 'c3', introducedSha: 'again', introducedCommitAuthor: 'bob', firstSeenSha: 'c1' });
    expect(api?.cluster.name).toBe('prod');

    expect(await sync('c4', 4000, [])).toEqual({ added: 0, kept: 0, removed: 2 });
    expect(await riskRegister(db.prisma, REPO)).toEqual([]);
  });

  // Who introduced an acceptance is the author of its present wording: written when first seen,
  // when it comes back and when its reason changes; filled in while unknown; otherwise kept.
  // Bob's pull request, merged (and its merge pushed) by Dana; Carol's commit, pushed by Erin.
  const bob = {
    introducedSha: 'b0b'.padEnd(40, '0'),
    introducedCommitAuthor: 'bob-payments',
    introducedAt: new Date('2026-10-08T14:30:00Z'),
    introducedPullRequest: 12,
    introducedPushedBy: 'dana-lead',
    introducedOpenedBy: 'bob-payments',
    introducedMergedBy: 'dana-lead',
  };
  const carol = { introducedSha: 'ca401'.padEnd(40, '0'), introducedCommitAuthor: 'Carol Ops', introducedAt: new Date('2026-10-20T17:45:00Z'), introducedPullRequest: null, introducedPushedBy: 'erin-sre', introducedOpenedBy: null, introducedMergedBy: null };
  const unknown = { introducedSha: null, introducedCommitAuthor: null, introducedAt: null, introducedPullRequest: null, introducedPushedBy: null, introducedOpenedBy: null, introducedMergedBy: null };
  const checkout = (reason: string, introduced: Partial<RiskAcceptanceInput>): RiskAcceptanceInput => ({
    cluster: 'prod',
    policy: 'preventprivileged',
    object: { kind: 'Deployment', namespace: 'payments', name: 'checkout' },
    level: 'podTemplate',
    reason,
    file: 'clusters/prod/payments/checkout.yaml',
    line: 15,
    ...introduced,
  });
  const introducer = async (db: { prisma: Parameters<typeof riskRegister>[0] }) => {
    const [row] = await riskRegister(db.prisma, REPO, { includeRemoved: true });
    return (
      row && {
        introducedSha: row.introducedSha,
        introducedCommitAuthor: row.introducedCommitAuthor,
        introducedAt: row.introducedAt,
        introducedPullRequest: row.introducedPullRequest,
        introducedPushedBy: row.introducedPushedBy,
        introducedOpenedBy: row.introducedOpenedBy,
        introducedMergedBy: row.introducedMergedBy,
      }
    );
  };
  const VEND = 'The card-reader sidecar needs device access; vendor ticket VEND-1234';

  it('keeps the introducer while the reason reads the same, and takes the new one when it is reworded', async () => {
    const db = await backend.open();
    await seedRepository(db);
    const sync = (sha: string, at: number, acceptances: RiskAcceptanceInput[]) =>
      syncRiskAcceptances(db.prisma, { repositoryId: REPO, commitSha: sha, seenAt: new Date(at), acceptances });

    await sync('c2', 1000, [checkout(VEND, bob)]);
    expect(await introducer(db)).toEqual(bob);
    // A later push that attributes the unchanged acceptance differently (its file was touched) changes nothing.
    await sync('c3', 2000, [checkout(VEND, carol)]);
    expect(await introducer(db)).toEqual(bob);
    await sync('c4', 3000, [checkout(`${VEND}, due 2027-03`, carol)]);
    expect(await introducer(db)).toEqual(carol);
    // Reworded again, by someone GitHub could not name: the previous wording's author no longer applies.
    await sync('c5', 4000, [checkout(`${VEND}, due 2027-06`, unknown)]);
    expect(await introducer(db)).toEqual(unknown);
    const [row] = await riskRegister(db.prisma, REPO);
    expect(row).toMatchObject({ firstSeenSha: 'c2', lastSeenSha: 'c5', reason: `${VEND}, due 2027-06` });
  });

  it('fills in an introducer that was unknown, and one that comes back is attributed anew', async () => {
    const db = await backend.open();
    await seedRepository(db);
    const sync = (sha: string, at: number, acceptances: RiskAcceptanceInput[]) =>
      syncRiskAcceptances(db.prisma, { repositoryId: REPO, commitSha: sha, seenAt: new Date(at), acceptances });

    await sync('c1', 1000, [checkout(VEND, unknown)]);
    expect(await introducer(db)).toEqual(unknown);
    await sync('c2', 2000, [checkout(VEND, {})]);
    expect(await introducer(db)).toEqual(unknown);
    await sync('c3', 3000, [checkout(VEND, bob)]);
    expect(await introducer(db)).toEqual(bob);
    await sync('c4', 4000, []);
    await sync('c5', 5000, [checkout(VEND, carol)]);
    expect(await introducer(db)).toEqual(carol);
    expect((await riskRegister(db.prisma, REPO))[0]).toMatchObject({ firstSeenSha: 'c1', removedAt: null });
  });

  it("names the acceptances whose introducer a sync would write: this commit's changes first, then the unknown", async () => {
    const db = await backend.open();
    await seedRepository(db);
    const sync = (sha: string, at: number, acceptances: RiskAcceptanceInput[]) =>
      syncRiskAcceptances(db.prisma, { repositoryId: REPO, commitSha: sha, seenAt: new Date(at), acceptances });
    const named = (kind: string, name: string, reason: string, introduced: Partial<RiskAcceptanceInput>) => ({ ...checkout(reason, introduced), object: { kind, namespace: 'payments', name }, file: `clusters/prod/payments/${name}.yaml` });

    await sync('c1', 1000, [
      named('Deployment', 'checkout', VEND, bob),
      named('DaemonSet', 'node-agent', 'Reads host devices to attest the node.', unknown),
      named('Deployment', 'fraud-check', 'Needs raw sockets for its probe.', carol),
      named('Deployment', 'retired', 'Gone soon.', carol),
    ]);
    await sync('c2', 2000, [
      named('Deployment', 'checkout', VEND, {}),
      named('DaemonSet', 'node-agent', 'Reads host devices to attest the node.', {}),
      named('Deployment', 'fraud-check', 'Needs raw sockets for its probe.', {}),
    ]);

    const next = [
      named('DaemonSet', 'node-agent', 'Reads host devices to attest the node.', {}),
      named('Deployment', 'checkout', `${VEND}, due 2027-03`, {}),
      named('Deployment', 'fraud-check', 'Needs raw sockets for its probe.', {}),
      named('Deployment', 'retired', 'Gone soon.', {}),
      named('Deployment', 'ledger', 'Mounts the HSM device.', {}),
    ];
    const wanted = await acceptancesToAttribute(db.prisma, REPO, next);
    expect(wanted.map((w) => [w.object.name, w.need])).toEqual([
      ['checkout', 'reworded'],
      ['retired', 'returned'],
      ['ledger', 'new'],
      ['node-agent', 'unknown'],
    ]);
    expect(await acceptancesToAttribute(db.prisma, 999n, next.slice(0, 1))).toEqual([{ ...next[0], need: 'new' }]);
  });
});
