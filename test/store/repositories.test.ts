import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { openDatabase, projectRoot } from '../../src/store/database.js';
import { readMigrations } from '../../src/store/migrate.js';
import { recordPullRequestReport } from '../../src/store/record-report.js';
import { upsertInstallation, upsertRepository } from '../../src/store/repositories.js';
import { forEachBackend } from '../helpers/postgres-backends.js';
import { violation } from './fixtures.js';

const INSTALLATION = 7;

forEachBackend((backend) => {
  it('gives the name of a repository deleted and created again to the new one; the old one keeps its history', async () => {
    const db = await backend.open();
    await upsertInstallation(db.prisma, { id: INSTALLATION, accountLogin: 'acme', accountType: 'Organization' });
    await recordPullRequestReport(db.prisma, pullRequest({ id: 1001, owner: 'acme', name: 'gitops' }, 'a1'.repeat(20)));

    // acme/gitops deleted on GitHub, and created again: a new id, the same name.
    await recordPullRequestReport(db.prisma, pullRequest({ id: 2002, owner: 'acme', name: 'gitops' }, 'b2'.repeat(20)));

    const rows = await db.prisma.repository.findMany({ orderBy: { id: 'asc' }, select: { id: true, owner: true, name: true, nameKey: true, evaluations: { select: { sha: true } } } });
    expect(rows).toEqual([
      { id: 1001n, owner: 'acme', name: 'gitops', nameKey: null, evaluations: [{ sha: 'a1'.repeat(20) }] },
      { id: 2002n, owner: 'acme', name: 'gitops', nameKey: 'acme/gitops', evaluations: [{ sha: 'b2'.repeat(20) }] },
    ]);
  });

  it('compares names as GitHub does, without case, and lets a former holder claim the name it has now', async () => {
    const db = await backend.open();
    await upsertInstallation(db.prisma, { id: INSTALLATION, accountLogin: 'acme', accountType: 'Organization' });
    await upsertRepository(db.prisma, { id: 1001, installationId: INSTALLATION, owner: 'acme', name: 'gitops' });
    // Transferred to another account; another repository created under the old name, spelt differently.
    await upsertRepository(db.prisma, { id: 2002, installationId: INSTALLATION, owner: 'Acme', name: 'GitOps' });
    expect(await names(db)).toEqual([
      [1001n, 'acme/gitops', null],
      [2002n, 'Acme/GitOps', 'acme/gitops'],
    ]);

    // The transferred repository is seen again, under its new name.
    await upsertRepository(db.prisma, { id: 1001, installationId: INSTALLATION, owner: 'acme-archive', name: 'gitops' });
    expect(await names(db)).toEqual([
      [1001n, 'acme-archive/gitops', 'acme-archive/gitops'],
      [2002n, 'Acme/GitOps', 'acme/gitops'],
    ]);
  });

  it('leaves one holder when two repositories claim one name at the same time', async () => {
    const db = await backend.open();
    await upsertInstallation(db.prisma, { id: INSTALLATION, accountLogin: 'acme', accountType: 'Organization' });
    const ids = [3001, 3002, 3003, 3004];
    await Promise.all(ids.map((id) => upsertRepository(db.prisma, { id, installationId: INSTALLATION, owner: 'acme', name: 'platform' })));

    const holders = (await names(db)).filter(([, , key]) => key === 'acme/platform');
    expect(holders).toHaveLength(1);
    expect(await db.prisma.repository.count()).toBe(ids.length);
  });

  it('gives each existing name to its newest repository when the migration adds the name key', async () => {
    // The database as the release before this migration left it: the old unique key was case-sensitive.
    const migrations = readMigrations(join(projectRoot(), 'prisma', 'migrations'));
    const mine = migrations.findIndex((m) => m.name.endsWith('_repository_name_key_and_sessions'));
    expect(mine).toBeGreaterThan(0);
    const earlier = mkdtempSync(join(tmpdir(), 'parapet-migrations-'));
    try {
      for (const m of migrations.slice(0, mine)) cpSync(join(projectRoot(), 'prisma', 'migrations', m.name), join(earlier, m.name), { recursive: true });
      const config = await backend.fresh();
      const before = await openDatabase({ ...config, migrationsDir: earlier });
      try {
        await before.prisma.$executeRaw`INSERT INTO installations (id, account_login, account_type, updated_at) VALUES (7, 'acme', 'Organization', now())`;
        await before.prisma.$executeRaw`
          INSERT INTO repositories (id, installation_id, owner, name, updated_at)
          VALUES (1001, 7, 'Acme', 'GitOps', now()), (2002, 7, 'acme', 'gitops', now()), (3003, 7, 'acme', 'platform', now())`;
      } finally {
        await before.close();
      }
      const after = await openDatabase(config);
      try {
        expect(after.appliedMigrations).toEqual(migrations.slice(mine).map((m) => m.name));
        expect(await names(after)).toEqual([
          [1001n, 'Acme/GitOps', null],
          [2002n, 'acme/gitops', 'acme/gitops'],
          [3003n, 'acme/platform', 'acme/platform'],
        ]);
      } finally {
        await after.close();
      }
    } finally {
      rmSync(earlier, { recursive: true, force: true });
    }
  });
});

async function names(db: Awaited<ReturnType<typeof openDatabase>>): Promise<Array<[bigint, string, string | null]>> {
  const rows = await db.prisma.repository.findMany({ orderBy: { id: 'asc' }, select: { id: true, owner: true, name: true, nameKey: true } });
  return rows.map((r) => [r.id, `${r.owner}/${r.name}`, r.nameKey]);
}

function pullRequest(repository: { id: number; owner: string; name: string }, sha: string): Parameters<typeof recordPullRequestReport>[1] {
  const now = new Date();
  return {
    repository: { installationId: INSTALLATION, ...repository, ownerType: 'Organization', defaultBranch: 'main', private: true },
    pullRequest: 12,
    sha,
    report: {
      clusters: [{ name: 'prod', config: '.securitytower/prod.yaml', violations: [violation()], errors: [], images: [], stats: { objects: 3, constraints: 2, evaluations: 6 } }],
      errors: [],
    },
    conclusions: new Map([['prod', 'failure']]),
    observedAt: now,
    startedAt: now,
  };
}
