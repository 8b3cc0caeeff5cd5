// The change history read back when the App is installed (PARAPET_HISTORY_BACKFILL), through the
// App at the fake GitHub: a repository whose default branch has five commits (three merged pull
// requests and a direct push on top of the first) gets the changes of its four later commits,
// each with the pull request, its author and merger and the commit's author as GitHub reports
// them, in the branch's order; read once, whatever is redelivered, and resumed after a restart
// where it stopped. A commit that cannot be read is tried three times (across restarts too), then
// given up and listed, and the older commits are read.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readConfig } from '../../src/config.js';
import { startAppServer, type AppServer } from '../../src/github/server.js';
import { databaseRecorder } from '../../src/database-recorder.js';
import { closeDatabase, openDatabase, type Database } from '../../src/store/index.js';
import { engine, testCacheDir } from '../helpers/engine.js';
import { appEnvironment, fixtureFiles, sha, webhookExample, WEBHOOK_SECRET } from '../helpers/fake-github-app.js';
import { deliverWebhook, FakeGitHub } from '../helpers/fake-github.js';

const OWNER = 'example-org';
const SHOP = 'cluster/namespaces/shop';
const PAYMENTS = 'cluster/namespaces/payments';

let fake: FakeGitHub;
let db: Database;

beforeAll(async () => {
  fake = await FakeGitHub.start();
  db = await openDatabase({ dataDir: 'memory://' });
});

afterAll(async () => {
  await fake?.close();
  if (db) await closeDatabase(db);
});

/** Tries a failing step three times, 10 ms apart (the App waits seconds). */
const RETRY = { attempts: 3, delayMs: 10 };

async function startApp(env: Record<string, string> = {}, backfillRetry = RETRY): Promise<AppServer> {
  // The default, 50: more than the five commits of the histories below.
  const config = readConfig({ ...appEnvironment(fake, { PARAPET_HISTORY_BACKFILL: '50' }), PARAPET_CACHE_DIR: testCacheDir, ...env });
  const { driver, renderer } = engine();
  return startAppServer(
    { ...config, credentials: config.credentials!, server: { ...config.server, port: 0 } },
    { engine: { driver, renderer, close: async () => {} }, octokitOverrides: { throttle: { enabled: false }, retry: { enabled: false } }, recorder: databaseRecorder(db), backfillRetry },
  );
}

async function install(app: AppServer, id: number, name: string, deliveryId?: string, opts: { wait: boolean } = { wait: true }): Promise<void> {
  const payload = structuredClone(webhookExample('installation_repositories', 'added')) as Record<string, any>;
  payload.installation = { ...payload.installation, id: 4242, account: { ...payload.installation.account, login: OWNER, type: 'Organization' } };
  payload.repositories_added = [{ id, name, full_name: `${OWNER}/${name}`, private: false }];
  const options = deliveryId ? { deliveryId } : {};
  expect((await deliverWebhook(`${app.url}/api/github/webhooks`, 'installation_repositories', payload, WEBHOOK_SECRET, options)).status).toBeLessThan(300);
  if (opts.wait) await app.jobs.idle();
}

/**
 * Five commits on `main`, a day apart: the shop cluster as the fixture has it; the storefront's
 * image bumped (#21, opened by dana, merged by erin); its replicas raised (#22, opened by frank,
 * merged by dana); the CronJob removed by a direct push; the Ingress renamed (#23, opened and
 * merged by erin). Authored by dana, frank, gus (whose email is no GitHub user's) and erin.
 */
function history(repo: string, seed: string): string[] {
  const files = fixtureFiles('shop-cluster');
  const deployment = files[`${SHOP}/deployment.yaml`]!;
  const day = (n: number) => `2026-11-0${n}T10:00:00Z`;
  const c = [1, 2, 3, 4, 5].map((n) => sha(`${seed}-${n}`));
  const bumped = { ...files, [`${SHOP}/deployment.yaml`]: deployment.replace('image: nginx:1.25.3', 'image: nginx:1.25.4') };
  const scaled = { ...bumped, [`${SHOP}/deployment.yaml`]: bumped[`${SHOP}/deployment.yaml`]!.replace('replicas: 2', 'replicas: 4') };
  const withoutCronJob: Record<string, string> = { ...scaled };
  delete withoutCronJob[`${SHOP}/cronjob.yaml`];
  const renamed = { ...withoutCronJob, [`${PAYMENTS}/ingress.yaml`]: files[`${PAYMENTS}/ingress.yaml`]!.replace(/^(  name: )payments$/m, '$1payments-public') };
  fake.addCommit(repo, c[0]!, files, { committedDate: day(1) });
  const author = (login: string, name: string) => ({ name, email: `${login}@example.com`, login });
  fake.addCommit(repo, c[1]!, bumped, { parents: [c[0]!], committedDate: day(2), pullRequest: 21, pullRequestAuthor: 'dana', mergedBy: 'erin', author: author('dana', 'Dana Developer') });
  fake.addCommit(repo, c[2]!, scaled, { parents: [c[1]!], committedDate: day(3), pullRequest: 22, pullRequestAuthor: 'frank', mergedBy: 'dana', author: author('frank', 'Frank Fixer') });
  fake.addCommit(repo, c[3]!, withoutCronJob, { parents: [c[2]!], committedDate: day(4), author: { name: 'Gus Operator', email: 'gus@ops.example.com' } });
  fake.addCommit(repo, c[4]!, renamed, { parents: [c[3]!], committedDate: day(5), pullRequest: 23, pullRequestAuthor: 'erin', mergedBy: 'erin', author: author('erin', 'Erin Engineer') });
  fake.setBranch(repo, 'main', c[4]!);
  return c;
}

/** Starts the App again with nothing delivered (its start resumes unfinished backfills), lets its jobs finish and stops it. */
async function restartUntilIdle(): Promise<void> {
  const app = await startApp();
  try {
    await new Promise((resolve) => setTimeout(resolve, 200));
    await app.jobs.idle();
  } finally {
    await app.close();
  }
}

const changeSets = async (repositoryId: number) => {
  const rows = await db.prisma.objectChange.findMany({ where: { repositoryId }, orderBy: [{ changedAt: 'asc' }, { id: 'asc' }] });
  const sets = new Map<string, { commit: string; previous: string | null; who: unknown; backfilled: boolean; at: string; changes: string[] }>();
  for (const r of rows) {
    const set = sets.get(r.commitSha) ?? { commit: r.commitSha, previous: r.previousSha, who: { pullRequest: r.pullRequest, openedBy: r.openedBy, mergedBy: r.mergedBy, pushedBy: r.pushedBy, author: r.authorLogin ?? r.authorName }, backfilled: r.backfilled, at: r.changedAt.toISOString(), changes: [] };
    set.changes.push(`${r.change} ${r.kind}/${r.namespace}/${r.name}${r.fields.length ? ` (${r.fields.join(', ')})` : ''}`);
    sets.set(r.commitSha, set);
  }
  return [...sets.values()];
};

it("reads back the changes of the last commits at installation, each with its pull request, author and merger and the commit's author, in the branch order, once", async () => {
  const repo = `${OWNER}/shop-history`;
  const c = history(repo, 'backfill');
  const app = await startApp();
  try {
    await install(app, 301, 'shop-history', 'install-301');
    const nobody = { pullRequest: null, openedBy: null, mergedBy: null, pushedBy: null };
    expect(await changeSets(301)).toEqual([
      { commit: c[1], previous: c[0], who: { ...nobody, pullRequest: 21, openedBy: 'dana', mergedBy: 'erin', author: 'dana' }, backfilled: true, at: '2026-11-02T10:00:00.000Z', changes: ['modified Deployment/shop/storefront (image)'] },
      { commit: c[2], previous: c[1], who: { ...nobody, pullRequest: 22, openedBy: 'frank', mergedBy: 'dana', author: 'frank' }, backfilled: true, at: '2026-11-03T10:00:00.000Z', changes: ['modified Deployment/shop/storefront (replicas)'] },
      // A direct push whose author's email GitHub maps to no user: named by the name it carries.
      { commit: c[3], previous: c[2], who: { ...nobody, author: 'Gus Operator' }, backfilled: true, at: '2026-11-04T10:00:00.000Z', changes: [expect.stringMatching(/^removed CronJob\/shop\//)] },
      { commit: c[4], previous: c[3], who: { ...nobody, pullRequest: 23, openedBy: 'erin', mergedBy: 'erin', author: 'erin' }, backfilled: true, at: '2026-11-05T10:00:00.000Z', changes: ['renamed Ingress/payments/payments-public'] },
    ]);
    // The history now begins at the first commit, four commits read back.
    expect(await db.prisma.cluster.findMany({ where: { repositoryId: 301 }, select: { historySha: true, historyAt: true } })).toEqual([{ historySha: c[0], historyAt: new Date('2026-11-01T10:00:00Z') }]);
    expect(await db.prisma.historyBackfill.findUniqueOrThrow({ where: { repositoryId: 301 } })).toMatchObject({ startSha: c[4], done: 4, finishedAt: expect.any(Date) });
    // GitHub was asked for the list of commits, their authors and pull requests once (and for the
    // installation's state's blame, nothing more), and for one archive per commit.
    const queries = fake.graphqlRequests(repo).map((r) => (r.body as { query: string }).query);
    expect(queries.filter((q) => q.includes('ParapetHistory'))).toHaveLength(1);
    expect(queries).toHaveLength(2);
    const archives = fake.requests.filter((r) => r.path.startsWith(`/repos/${repo}/tarball/`)).map((r) => r.path.split('/').pop());
    // The installation's state, then each commit of the walk (the newest again: another job).
    expect(archives).toEqual([c[4], c[4], c[3], c[2], c[1], c[0]]);

    // The installation delivered again, or another one for the same repository: nothing is read or recorded twice.
    const before = await changeSets(301);
    const requests = fake.requests.length;
    await install(app, 301, 'shop-history', 'install-301');
    await install(app, 301, 'shop-history');
    expect(await changeSets(301)).toEqual(before);
    expect(fake.requests.slice(requests).filter((r) => r.path === '/graphql' && (r.body as { query: string }).query.includes('ParapetHistory'))).toEqual([]);
  } finally {
    await app.close();
  }
}, 300_000);

it('gives a commit GitHub will not serve up after three attempts, lists it with the error, and reads the older commits', async () => {
  const repo = `${OWNER}/shop-given-up`;
  const c = history(repo, 'given-up');
  fake.reset();
  // The fourth commit's archive is never served: neither its own changes (against the third) nor
  // the fifth's (against it) can be read.
  fake.failWith(new RegExp(`^GET /repos/${repo}/tarball/${c[3]}$`), 404);
  const app = await startApp();
  try {
    await install(app, 304, 'shop-given-up');
  } finally {
    await app.close();
  }
  // The older commits are read all the same.
  expect((await changeSets(304)).map((s) => s.commit)).toEqual([c[1], c[2]]);
  expect(await db.prisma.cluster.findMany({ where: { repositoryId: 304 }, select: { historySha: true } })).toEqual([{ historySha: c[0] }]);
  const backfill = await db.prisma.historyBackfill.findUniqueOrThrow({ where: { repositoryId: 304 } });
  expect(backfill).toMatchObject({ done: 4, finishedAt: expect.any(Date), attempts: 0, lastError: null });
  expect(backfill.givenUp).toEqual([
    { sha: c[4], parent: c[3], attempts: 3, error: expect.stringMatching(/404|Not Found/) },
    { sha: c[3], parent: c[2], attempts: 3, error: expect.stringMatching(/404|Not Found/) },
  ]);
  // Three attempts at each of the two steps; one list of commits.
  const archives = fake.requests.filter((r) => r.path.includes('/tarball/')).map((r) => r.path.split('/').pop());
  expect(archives.filter((a) => a === c[3])).toHaveLength(6);
  expect(fake.requests.filter((r) => r.path === '/graphql' && (r.body as { query: string }).query.includes('ParapetHistory'))).toHaveLength(1);
}, 300_000);

it('counts the attempts at a step across restarts: resumed where it stopped, the step is given up at its third attempt, and never tried again', async () => {
  const repo = `${OWNER}/shop-resumed`;
  const c = history(repo, 'resumed');
  fake.reset();
  // GitHub fails to serve the third commit's archive. The App stops while its step waits to be tried again.
  fake.failWith(new RegExp(`^GET /repos/${repo}/tarball/${c[2]}$`), 404);
  const app = await startApp({}, { attempts: 3, delayMs: 600_000 });
  try {
    await install(app, 302, 'shop-resumed', undefined, { wait: false });
    for (let i = 0; i < 600 && !(await db.prisma.historyBackfill.findUnique({ where: { repositoryId: 302 } }))?.lastError; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    await app.close();
  }
  expect((await changeSets(302)).map((s) => s.commit)).toEqual([c[4]]);
  expect(await db.prisma.historyBackfill.findUniqueOrThrow({ where: { repositoryId: 302 } })).toMatchObject({ done: 1, finishedAt: null, attempts: 1, lastError: expect.stringMatching(/404|Not Found/) });

  // Started again, the archive still failing: two more attempts at that step, not three.
  fake.requests.length = 0;
  await restartUntilIdle();
  expect((await changeSets(302)).map((s) => s.commit)).toEqual([c[1], c[4]]);
  const backfill = await db.prisma.historyBackfill.findUniqueOrThrow({ where: { repositoryId: 302 } });
  expect(backfill).toMatchObject({ done: 4, finishedAt: expect.any(Date) });
  expect((backfill.givenUp as Array<{ sha: string; attempts: number }>).map((g) => [g.sha, g.attempts])).toEqual([
    [c[3], 3],
    [c[2], 3],
  ]);
  // The list of commits was not asked for again; the archives from the step that stopped on:
  // two attempts at it (its newer commit read once), three at the next (the failing commit is its
  // newer one), then the last.
  expect(fake.requests.filter((r) => r.path === '/graphql')).toEqual([]);
  expect(fake.requests.filter((r) => r.path.includes('/tarball/')).map((r) => r.path.split('/').pop())).toEqual([c[3], c[2], c[2], c[2], c[2], c[2], c[1], c[0]]);

  // GitHub serves it again: a restart does not try the given-up steps again.
  fake.reset();
  await restartUntilIdle();
  expect(fake.requests.filter((r) => r.path.includes('/tarball/'))).toEqual([]);
  expect((await changeSets(302)).map((s) => s.commit)).toEqual([c[1], c[4]]);
}, 300_000);

it('gives a step up at the next start when the App stopped during each of its three attempts, without reading it a fourth time', async () => {
  const repo = `${OWNER}/shop-crashing`;
  const c = history(repo, 'crashing');
  fake.reset();
  // The second step's archive fails once; the App stops while that step waits to be tried again.
  fake.failWith(new RegExp(`^GET /repos/${repo}/tarball/${c[2]}$`), 404, { times: 1 });
  const app = await startApp({}, { attempts: 3, delayMs: 600_000 });
  try {
    await install(app, 305, 'shop-crashing', undefined, { wait: false });
    for (let i = 0; i < 600 && !(await db.prisma.historyBackfill.findUnique({ where: { repositoryId: 305 } }))?.lastError; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    await app.close();
  }
  // As if two more attempts had each ended with the process (killed while rendering the commit):
  // counted before they began, nothing noted after.
  await db.prisma.historyBackfill.update({ where: { repositoryId: 305 }, data: { attempts: 3, lastError: null } });

  fake.reset();
  await restartUntilIdle();
  const backfill = await db.prisma.historyBackfill.findUniqueOrThrow({ where: { repositoryId: 305 } });
  expect(backfill.givenUp).toEqual([{ sha: c[3], parent: c[2], attempts: 3, error: 'not finished in 3 attempts: the App stopped while reading it' }]);
  // The older commits are read: the given-up step's archives are not asked for again.
  expect(fake.requests.filter((r) => r.path.includes('/tarball/')).map((r) => r.path.split('/').pop())).toEqual([c[2], c[1], c[0]]);
  expect((await changeSets(305)).map((s) => s.commit)).toEqual([c[1], c[2], c[4]]);
}, 300_000);

it('reads nothing back with PARAPET_HISTORY_BACKFILL=0: the history begins at installation', async () => {
  const repo = `${OWNER}/shop-off`;
  const c = history(repo, 'off');
  fake.reset();
  const app = await startApp({ PARAPET_HISTORY_BACKFILL: '0' });
  try {
    await install(app, 303, 'shop-off');
  } finally {
    await app.close();
  }
  expect(await changeSets(303)).toEqual([]);
  expect(await db.prisma.historyBackfill.count({ where: { repositoryId: 303 } })).toBe(0);
  expect(await db.prisma.cluster.findMany({ where: { repositoryId: 303 }, select: { historySha: true } })).toEqual([{ historySha: c[4] }]);
  expect(fake.requests.filter((r) => r.path.includes('/tarball/'))).toHaveLength(1);
}, 300_000);
