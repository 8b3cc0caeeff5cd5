// The history page and /api/changes on seeded data (test/web/history-seed.ts), on both backends:
// newest first, the filters, each entry's links and field-level diff, one object's whole history,
// how far back history goes, and authorization.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { forEachBackend } from '../helpers/postgres-backends.js';
import { daysAgo, HISTORY_USERS, seedHistory, SHA } from './history-seed.js';
import { signIn, startHarness, type Client, type Harness } from './harness.js';

/** A commit of acme/gitops's history whose changes could not be read back. */
const UNREAD = 'f'.repeat(40);

const summary = (body: any) => body.changes.map((c: any) => `${c.change} ${c.kind}/${c.namespace ?? ''}/${c.name}`);

forEachBackend((backend) => {
  let h: Harness;
  let alice: Client;
  let bob: Client;
  let mallory: Client;

  beforeAll(async () => {
    const db = await backend.open();
    await seedHistory(db);
    // acme/gitops's first two changes were read back from its history at installation; a third
    // commit's could not be (its archive was refused three times) and was given up.
    await db.prisma.historyBackfill.create({
      data: { repositoryId: 1n, startSha: SHA.B, commits: [], done: 3, finishedAt: daysAgo(10), givenUp: [{ sha: UNREAD, parent: SHA.A, error: 'the archive is larger than 50 MB', attempts: 3 }] },
    });
    await db.prisma.riskAcceptance.create({
      data: {
        repositoryId: 1n,
        clusterId: (await db.prisma.cluster.findFirstOrThrow({ where: { repositoryId: 1n, name: 'prod' } })).id,
        policy: 'k8sallowedrepos',
        objectKind: 'Deployment',
        objectNamespace: 'payments',
        objectName: 'api',
        level: 'accepted',
        reason: 'nginx from Docker Hub until the mirror is ready',
        file: 'apps/payments/api.yaml',
        line: 6,
        introducedSha: SHA.B,
        introducedPullRequest: 12,
        introducedOpenedBy: 'dana',
        introducedMergedBy: 'erin',
        introducedPushedBy: 'erin',
        firstSeenAt: daysAgo(5),
        firstSeenSha: SHA.B,
        lastSeenAt: daysAgo(1),
        lastSeenSha: SHA.C,
      },
    });
    h = await startHarness({ db, users: HISTORY_USERS, seed: async () => {} });
    alice = await signIn(h, 'alice');
    bob = await signIn(h, 'bob');
    mallory = await signIn(h, 'mallory');
  });
  afterAll(async () => h?.close());

  it('lists the changes of the readable repositories newest first, with commit, pull request, people and the field-level diff', async () => {
    const { status, body } = await bob.json('/api/changes');
    expect(status).toBe(200);
    expect(summary(body)).toEqual([
      'added Deployment/payments/worker',
      'modified Deployment/payments/api',
      'removed Service/payments/api',
      'modified Deployment/vault/vault',
      'renamed ConfigMap/shop/settings-v2',
      'modified Deployment/payments/api',
      'modified Deployment/shop/web',
    ]);
    const api = body.changes.find((c: any) => c.commitSha === SHA.B && c.name === 'api');
    expect(api).toMatchObject({
      repo: 'acme/gitops',
      cluster: 'prod',
      application: 'payments',
      stage: 'prod',
      fields: ['image', 'replicas'],
      pullRequest: 12,
      openedBy: 'dana',
      mergedBy: 'erin',
      pushedBy: 'erin',
      previousSha: SHA.A,
      diff: [
        { path: 'spec.replicas', before: 2, after: 3 },
        { path: 'spec.template.spec.containers[main].image', before: 'nginx:1.18', after: 'nginx:1.19' },
      ],
    });
    expect(body.history).toEqual([
      { repo: 'acme/gitops', cluster: 'prod', sinceSha: SHA.A, since: daysAgo(10).toISOString(), backfill: { commits: 2, finished: true, unread: [{ sha: UNREAD, error: 'the archive is larger than 50 MB' }] } },
      { repo: 'acme/secret-ops', cluster: 'vault', sinceSha: SHA.VA, since: daysAgo(10).toISOString(), backfill: null },
    ]);
    // A push's change names who pushed it, not an author.
    expect(api).toMatchObject({ authorLogin: null, authorName: null, backfilled: false });
    expect(body.total).toBe(7);
  });

  it('filters by change type, kind, field changed, person, namespace, Application, cluster and time range', async () => {
    const get = async (query: string) => summary((await bob.json(`/api/changes?${query}`)).body);
    expect(await get('field=image')).toEqual(['modified Deployment/vault/vault', 'modified Deployment/payments/api']);
    expect(await get('change=modified&kind=Deployment&repo=acme/gitops')).toEqual(['modified Deployment/payments/api', 'modified Deployment/payments/api', 'modified Deployment/shop/web']);
    expect(await get('change=renamed')).toEqual(['renamed ConfigMap/shop/settings-v2']);
    expect(await get('person=frank')).toEqual(['added Deployment/payments/worker', 'modified Deployment/payments/api', 'removed Service/payments/api']);
    expect(await get('person=dana&field=securityContext')).toEqual(['modified Deployment/shop/web']);
    expect(await get('application=payments&change=removed')).toEqual(['removed Service/payments/api']);
    expect(await get('namespace=shop')).toEqual(['renamed ConfigMap/shop/settings-v2', 'modified Deployment/shop/web']);
    expect(await get('cluster=vault')).toEqual(['modified Deployment/vault/vault']);
    const day = (n: number) => daysAgo(n).toISOString().slice(0, 10);
    expect(await get(`from=${day(4)}&to=${day(2)}`)).toEqual(['modified Deployment/vault/vault']);
    expect((await bob.json('/api/changes?limit=2&page=2')).body).toMatchObject({ page: 2, limit: 2, total: 7, next: '/api/changes?limit=2&page=3', previous: '/api/changes?limit=2&page=1' });
  });

  it("shows an object's whole history: when each image version arrived, who accepted a risk on it, every change", async () => {
    const { status, body } = await bob.json('/api/changes/object?repo=acme/gitops&cluster=prod&kind=Deployment&namespace=payments&name=api');
    expect(status).toBe(200);
    expect(body.current).toMatchObject({ apiVersion: 'apps/v1', images: ['nginx:1.19'], application: 'payments', stage: 'prod' });
    expect(body.images).toEqual([{ image: 'nginx:1.19', changedAt: daysAgo(5).toISOString(), commitSha: SHA.B, pullRequest: 12, mergedBy: 'erin', pushedBy: 'erin', authorLogin: null, authorName: null, current: true }]);
    expect(body.acceptances).toMatchObject([{ policy: 'k8sallowedrepos', introducedMergedBy: 'erin', introducedPullRequest: 12, firstSeenAt: daysAgo(5).toISOString(), removedAt: null }]);
    expect(body.changes.map((c: any) => [c.commitSha, c.fields])).toEqual([
      [SHA.C, ['resources']],
      [SHA.B, ['image', 'replicas']],
    ]);
    const renamed = (await bob.json('/api/changes/object?repo=acme/gitops&cluster=prod&kind=ConfigMap&namespace=shop&name=settings-v2')).body;
    expect(renamed.changes.map((c: any) => [c.change, c.previousName])).toEqual([['renamed', 'settings']]);
    const page = await (await bob.fetch('/changes/object?repo=acme/gitops&cluster=prod&kind=Deployment&namespace=payments&name=api')).text();
    expect(page).toContain('<h1>Deployment/payments/api</h1>');
    expect(page).toContain('nginx from Docker Hub until the mirror is ready');
    expect(page).toContain('nginx:1.18');
  });

  it('renders each entry with links to its commit and pull request and its diff, and says how far back history goes', async () => {
    const page = await (await bob.fetch('/changes?repo=acme/gitops&field=image')).text();
    expect(page).toContain(`href="${h.github.url}/acme/gitops/commit/${SHA.B}"`);
    expect(page).toContain(`href="${h.github.url}/acme/gitops/pull/12"`);
    expect(page).toContain('merged by erin in');
    expect(page).toMatch(/<code>spec\.template\.spec\.containers\[main\]\.image<\/code><\/td><td class="before"><code>nginx:1\.18<\/code><\/td><td class="after"><code>nginx:1\.19<\/code>/);
    // acme/gitops's history was read back two commits when the App was installed; acme/secret-ops's was not.
    const all = await (await bob.fetch('/changes')).text();
    expect(all).toMatch(
      new RegExp(`prod</a>: history since commit <a href="[^"]+/acme/gitops/commit/${SHA.A}">${SHA.A.slice(0, 7)}</a> <time datetime="${daysAgo(10).toISOString()}"[^>]*>[^<]*</time>; backfilled 2 commits \\(1 commit could not be read\\)</li>`),
    );
    expect(all).toMatch(/vault<\/a>: history since commit <a [^>]+>[0-9a-f]{7}<\/a> <time [^>]+>[^<]*<\/time>; recorded since installation<\/li>/);
    const object = await (await bob.fetch('/changes/object?repo=acme/gitops&cluster=prod&kind=Deployment&namespace=payments&name=api')).text();
    expect(object).toContain('; backfilled 2 commits (1 commit could not be read).</p>');
    expect(page).toContain('href="/changes/object?repo=acme%2Fgitops&amp;cluster=prod&amp;namespace=payments&amp;kind=Deployment&amp;name=api"');
  });

  it('says which commits of the history could not be read, and why, where the history shows', async () => {
    const notice = `acme/gitops: 1 commit could not be read: <a href="${h.github.url}/acme/gitops/commit/${UNREAD}">${UNREAD.slice(0, 7)}</a> the archive is larger than 50 MB. The history has no changes of it.</p>`;
    const page = await (await bob.fetch('/changes')).text();
    expect(page).toContain(notice);
    expect(page.indexOf(notice)).toBeLessThan(page.indexOf('<table'));
    expect(await (await bob.fetch('/changes/object?repo=acme/gitops&cluster=prod&kind=Deployment&namespace=payments&name=api')).text()).toContain(notice);
    // acme/secret-ops's history was not read back: nothing to say.
    expect(await (await bob.fetch('/changes?repo=acme/secret-ops')).text()).not.toContain('could not be read');
  });

  it("names a backfilled change's commit author: the GitHub user, else the name the commit carries", async () => {
    const cluster = await h.db.prisma.cluster.findFirstOrThrow({ where: { repositoryId: 1n, name: 'prod' } });
    const common = { repositoryId: 1n, clusterId: cluster.id, apiGroup: '', apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', diff: {}, commitSha: UNREAD, backfilled: true, changedAt: daysAgo(20) };
    const rows = [
      await h.db.prisma.objectChange.create({ data: { ...common, change: 'added', name: 'flags', images: ['redis:7.2'], authorLogin: 'gus', authorName: 'Gus Operator' } }),
      await h.db.prisma.objectChange.create({ data: { ...common, change: 'added', name: 'limits', authorName: 'Hal Contractor' } }),
    ];
    try {
      const { body } = await bob.json('/api/changes?kind=ConfigMap&change=added');
      expect(body.changes.map((c: any) => [c.name, c.authorLogin, c.authorName, c.backfilled])).toEqual([
        ['flags', 'gus', 'Gus Operator', true],
        ['limits', null, 'Hal Contractor', true],
      ]);
      expect(summary((await bob.json('/api/changes?person=gus')).body)).toEqual(['added ConfigMap/shop/flags']);
      const page = await (await bob.fetch('/changes?kind=ConfigMap&change=added')).text();
      expect(page).toContain('authored by gus<br>');
      expect(page).toContain('authored by Hal Contractor <small>(no GitHub user)</small>');
      // Who brought an image in, on the object's page.
      const object = await bob.json('/api/changes/object?repo=acme/gitops&cluster=prod&kind=ConfigMap&namespace=shop&name=flags');
      expect(object.body.images).toMatchObject([{ image: 'redis:7.2', commitSha: UNREAD, authorLogin: 'gus', authorName: 'Gus Operator' }]);
      expect(await (await bob.fetch('/changes/object?repo=acme/gitops&cluster=prod&kind=ConfigMap&namespace=shop&name=flags')).text()).toMatch(/<code>redis:7\.2<\/code><\/td><td>.*<br>authored by gus<br><small>commit/);
    } finally {
      await h.db.prisma.objectChange.deleteMany({ where: { id: { in: rows.map((r) => r.id) } } });
    }
  });

  it('answers an outsider 404 for every repository or object it names, and shows it no change', async () => {
    expect((await mallory.json('/api/changes')).body.total).toBe(0);
    for (const path of ['/api/changes?repo=acme/gitops', '/changes?repo=acme/gitops', '/api/changes/object?repo=acme/gitops&cluster=prod&kind=Deployment&namespace=payments&name=api', '/changes/object?repo=acme/gitops&cluster=prod&kind=Deployment&namespace=payments&name=api']) {
      const res = await mallory.fetch(path);
      expect(res.status, path).toBe(404);
      expect(await res.text()).not.toContain('nginx');
    }
  });

  it('shows a reader only the repositories GitHub says they can read', async () => {
    const body = (await alice.json('/api/changes')).body;
    expect(body.total).toBe(6);
    expect(JSON.stringify(body)).not.toContain('secret-ops');
    expect((await alice.fetch('/api/changes/object?repo=acme/secret-ops&cluster=vault&kind=Deployment&namespace=vault&name=vault')).status).toBe(404);
    expect((await alice.fetch('/api/changes?repo=acme/secret-ops')).status).toBe(404);
  });

  it('answers a filter it cannot mean with 400 naming the parameter', async () => {
    expect((await bob.json('/api/changes?change=edited')).body.error).toBe('change must be one of added, modified, removed, renamed');
    expect((await bob.json('/api/changes?field=labels')).body.error).toBe('field must be one of image, replicas, securityContext, resources, other');
    expect((await bob.json('/api/changes?from=yesterday')).body.error).toBe('from must be a date (YYYY-MM-DD) or an ISO 8601 time');
    expect((await bob.json('/api/changes/object?repo=acme/gitops')).status).toBe(400);
    expect((await bob.fetch('/changes?to=2020-01-01&from=2021-01-01')).status).toBe(400);
  });

  it('escapes every repository value', async () => {
    const page = await (await bob.fetch('/changes?person=%3Cscript%3Ealert(1)%3C%2Fscript%3E')).text();
    expect(page).not.toContain('<script>alert(1)');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });
});
