// The default branch's records follow push order: a push that moves the branch on from the
// recorded commit is newer, a commit the branch already left is older, and otherwise the order in
// which the events were received decides; the commits' dates, which authors set, never do.
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { claimDefaultBranch, receiveBranchEvents, type BranchPosition } from '../../src/store/branch-order.js';
import { replaceApplicationStages, replaceClusterConfig } from '../../src/store/cluster-config.js';
import { openDatabase, projectRoot, type Database } from '../../src/store/database.js';
import { replaceInventory } from '../../src/store/inventory.js';
import { riskRegister, syncRiskAcceptances } from '../../src/store/risk-acceptances.js';
import { forEachBackend } from '../helpers/postgres-backends.js';
import { REPO, seedRepository } from './fixtures.js';

const push = (before: string | null, sequence?: number, forced = false): BranchPosition => ({ before, forced, ...(sequence !== undefined ? { sequence } : {}) });

async function recordedSha(db: Database): Promise<string | null> {
  return (await db.prisma.repository.findUniqueOrThrow({ where: { id: REPO } })).branchSha;
}

forEachBackend((backend) => {
  it('numbers the default-branch events of each repository as they are received, recording a repository seen for the first time', async () => {
    const db = await backend.open();
    await seedRepository(db);
    const other = { id: 43, installationId: 7, owner: 'acme', ownerType: 'Organization', name: 'new-gitops' };
    const seed = { id: REPO, installationId: 7, owner: 'acme', ownerType: 'Organization', name: 'gitops' };
    expect(await receiveBranchEvents(db.prisma, [seed])).toEqual(new Map([[REPO, 1n]]));
    expect(await receiveBranchEvents(db.prisma, [seed, other])).toEqual(new Map([[REPO, 2n], [43n, 1n]]));
    expect(await db.prisma.repository.findUniqueOrThrow({ where: { id: 43n } })).toMatchObject({ owner: 'acme', name: 'new-gitops', nameKey: 'acme/new-gitops' });
  });

  it('takes a push that moves the branch on from the recorded commit, even received before the one that recorded it', async () => {
    const db = await backend.open();
    await seedRepository(db);
    expect(await claimDefaultBranch(db.prisma, REPO, 'b', push('a', 5))).not.toBeNull();
    // b → c was received earlier (sequence 4) but its job ran later: it still follows b.
    expect(await claimDefaultBranch(db.prisma, REPO, 'c', push('b', 4))).not.toBeNull();
    expect(await recordedSha(db)).toBe('c');
  });

  it('ignores a push to a commit the branch has already left, however late or renumbered, unless it is forced back there', async () => {
    const db = await backend.open();
    await seedRepository(db);
    await claimDefaultBranch(db.prisma, REPO, 'x', push(null, 1));
    await claimDefaultBranch(db.prisma, REPO, 'y', push('x', 2));
    await claimDefaultBranch(db.prisma, REPO, 'z', push('y', 3));
    // w → x, then x → y, redelivered after its first run failed: a new receipt number, yet older.
    expect(await claimDefaultBranch(db.prisma, REPO, 'x', push('w', 10))).toBeNull();
    expect(await claimDefaultBranch(db.prisma, REPO, 'y', push('x', 11))).toBeNull();
    expect(await recordedSha(db)).toBe('z');
    // A forced push back to y (reset), from a state not recorded, received last: newer.
    expect(await claimDefaultBranch(db.prisma, REPO, 'y', push('q', 12, true))).not.toBeNull();
    expect(await recordedSha(db)).toBe('y');
  });

  it("orders an installation's snapshot before every push received after it", async () => {
    const db = await backend.open();
    await seedRepository(db);
    const seed = { id: REPO, installationId: 7, owner: 'acme', ownerType: 'Organization', name: 'gitops' };
    const installed = (await receiveBranchEvents(db.prisma, [seed])).get(REPO)!;
    const pushed = (await receiveBranchEvents(db.prisma, [seed])).get(REPO)!;
    // The push s → p is recorded first; the snapshot, read before the push landed, comes after.
    expect(await claimDefaultBranch(db.prisma, REPO, 'p', push('s', Number(pushed)))).not.toBeNull();
    expect(await claimDefaultBranch(db.prisma, REPO, 's', { before: null, forced: false, sequence: Number(installed) })).toBeNull();
    // Nor does a snapshot of a commit the history does not show replace the push received after it.
    expect(await claimDefaultBranch(db.prisma, REPO, 'other', { before: null, forced: false, sequence: Number(installed) })).toBeNull();
    expect(await recordedSha(db)).toBe('p');
    // Without a number from its receipt, an event is numbered when it claims the branch.
    expect(await claimDefaultBranch(db.prisma, REPO, 'later', push(null))).toMatchObject({ sequence: pushed + 1n });
  });

  it('stamps each claim later than the one before, within one millisecond too, and the register keeps the latest claim', async () => {
    const db = await backend.open();
    await seedRepository(db);
    const stamps: number[] = [];
    let before: string | null = null;
    for (const sha of ['c1', 'c2', 'c3', 'c4', 'c5']) {
      stamps.push((await claimDefaultBranch(db.prisma, REPO, sha, push(before)))!.at.getTime());
      before = sha;
    }
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]).toBeGreaterThan(stamps[i - 1]!);

    // The register of a claim overtaken by a newer one is not written.
    const acceptance = { cluster: 'prod', policy: 'preventprivileged', object: { kind: 'Pod', namespace: 'shop', name: 'probe' }, level: 'object', reason: 'Debugging.', file: 'probe.yaml', line: 7 };
    expect(await syncRiskAcceptances(db.prisma, { repositoryId: REPO, commitSha: 'c4', seenAt: new Date(stamps[3]!), acceptances: [acceptance] })).toBeNull();
    expect(await riskRegister(db.prisma, REPO)).toEqual([]);
    expect(await syncRiskAcceptances(db.prisma, { repositoryId: REPO, commitSha: 'c5', seenAt: new Date(stamps[4]!), acceptances: [acceptance] })).toEqual({ added: 1, kept: 0, removed: 0 });
  });

  it('the migration lets the first record in push order replace what commit dates stamped, even dates in the future', async () => {
    const all = join(projectRoot(), 'prisma', 'migrations');
    const before = mkdtempSync(join(tmpdir(), 'parapet-migrations-'));
    try {
      for (const name of readdirSync(all).filter((n) => n < '20261207000000')) cpSync(join(all, name), join(before, name), { recursive: true });
      const config = await backend.fresh();
      const old = await openDatabase({ ...config, migrationsDir: before });
      // Raw SQL: today's client knows columns that database does not have yet. A commit dated 2031.
      await old.prisma.$executeRaw`INSERT INTO installations (id, account_login, account_type, updated_at) VALUES (7, 'acme', 'Organization', now())`;
      await old.prisma.$executeRaw`INSERT INTO repositories (id, installation_id, owner, name, updated_at, applications_sha, applications_at) VALUES (${REPO}, 7, 'acme', 'gitops', now(), 'dated', '2031-01-01T00:00:00Z')`;
      await old.prisma.$executeRaw`INSERT INTO clusters (repository_id, name, inventory_sha, inventory_at, config_sha, config_at) VALUES (${REPO}, 'prod', 'dated', '2031-01-01T00:00:00Z', 'dated', '2031-01-01T00:00:00Z')`;
      await old.close();

      const db = await openDatabase(config);
      const { at } = (await claimDefaultBranch(db.prisma, REPO, 'pushed', push('dated')))!;
      const settings = { tenant: null, contactEmail: null, contactSlack: null, description: null, production: null, securityLevel: null, geographicLocation: null, costCenter: null };
      expect(await replaceInventory(db.prisma, { repositoryId: REPO, cluster: 'prod', commitSha: 'pushed', observedAt: at, images: [] })).toBe(true);
      expect(await replaceClusterConfig(db.prisma, { repositoryId: REPO, cluster: 'prod', commitSha: 'pushed', observedAt: at, settings, policies: [] })).toBe(true);
      expect(await replaceApplicationStages(db.prisma, { repositoryId: REPO, commitSha: 'pushed', observedAt: at, stages: [] })).toBe(true);
      expect(await db.prisma.cluster.findFirstOrThrow({ where: { name: 'prod' } })).toMatchObject({ inventorySha: 'pushed', configSha: 'pushed' });
    } finally {
      rmSync(before, { recursive: true, force: true });
    }
  });
});
