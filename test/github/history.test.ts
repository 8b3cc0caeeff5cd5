// Who changed what and when, through the App: pushes to the default branch at the fake GitHub (an
// image and replicas changed by a merged pull request, an Ingress renamed and a CronJob removed by
// a direct push) are recorded as object changes with the pull request, its merger and the pusher
// as GitHub reports them.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readConfig } from '../../src/config.js';
import { startAppServer, type AppServer } from '../../src/github/server.js';
import { databaseRecorder } from '../../src/database-recorder.js';
import { closeDatabase, openDatabase, type Database } from '../../src/store/index.js';
import { migratedDataDir } from '../helpers/database-template.js';
import { engine, testCacheDir } from '../helpers/engine.js';
import { appEnvironment, fixtureFiles, sha, webhookExample, withRepository, WEBHOOK_SECRET } from '../helpers/fake-github-app.js';
import { deliverWebhook, FakeGitHub } from '../helpers/fake-github.js';

const REPO = 'example-org/shop-prod';
const SHOP = 'cluster/namespaces/shop';
const PAYMENTS = 'cluster/namespaces/payments';

let fake: FakeGitHub;
let db: Database;
let app: AppServer;

beforeAll(async () => {
  fake = await FakeGitHub.start();
  db = await openDatabase({ dataDir: await migratedDataDir() });
  const config = readConfig({ ...appEnvironment(fake), PARAPET_CACHE_DIR: testCacheDir });
  const { driver, renderer } = engine();
  app = await startAppServer(
    { ...config, credentials: config.credentials!, server: { ...config.server, port: 0 } },
    { engine: { driver, renderer, close: async () => {} }, octokitOverrides: { throttle: { enabled: false } }, recorder: databaseRecorder(db) },
  );
});

afterAll(async () => {
  await app?.close();
  await fake?.close();
  if (db) await closeDatabase(db);
});

function pushPayload(before: string, after: string, sender: string): Record<string, any> {
  const payload = withRepository(structuredClone(webhookExample('push', undefined as unknown as string)) as Record<string, any>, REPO);
  payload.ref = 'refs/heads/main';
  payload.before = before;
  payload.after = after;
  payload.deleted = false;
  payload.forced = false;
  payload.repository.default_branch = 'main';
  payload.sender = { ...payload.sender, login: sender };
  payload.pusher = { name: sender, email: `${sender}@example.com` };
  payload.commits = fake.pushCommits(REPO, before, after);
  payload.head_commit = { ...(payload.head_commit ?? {}), id: after, timestamp: new Date().toISOString() };
  return payload;
}

async function push(before: string, after: string, sender: string): Promise<void> {
  expect((await deliverWebhook(`${app.url}/api/github/webhooks`, 'push', pushPayload(before, after, sender), WEBHOOK_SECRET)).status).toBeLessThan(300);
  await app.jobs.idle();
}

const changes = async () =>
  (await db.prisma.objectChange.findMany({ orderBy: [{ changedAt: 'asc' }, { id: 'asc' }] })).map((c) => ({
    commit: c.commitSha,
    change: c.change,
    object: `${c.kind}/${c.namespace}/${c.name}`,
    ...(c.previousName ? { from: c.previousName } : {}),
    fields: c.fields,
    stage: c.stage,
    who: { pullRequest: c.pullRequest, openedBy: c.openedBy, mergedBy: c.mergedBy, pushedBy: c.pushedBy },
  }));

it('records the objects each push changed, with the pull request, its merger and the pusher', async () => {
  const files = fixtureFiles('shop-cluster');
  const c1 = sha('history-1');
  fake.addCommit(REPO, c1, files);
  await push('0'.repeat(40), c1, 'erin');
  // The first state recorded: the history begins here, nothing changed yet.
  expect(await changes()).toEqual([]);

  const bumped = files[`${SHOP}/deployment.yaml`]!.replace('image: nginx:1.25.3', 'image: nginx:1.25.4').replace('replicas: 2', 'replicas: 4');
  const c2 = sha('history-2');
  fake.addCommit(
    REPO,
    c2,
    { ...files, [`${SHOP}/deployment.yaml`]: bumped },
    { parents: [c1], pullRequest: 21, pullRequestAuthor: 'dana', mergedBy: 'erin' },
  );
  const queriesBefore = fake.graphqlRequests(REPO).length;
  await push(c1, c2, 'erin');
  // One GraphQL query per push for the change history (and the register, which asks nothing here).
  expect(fake.graphqlRequests(REPO).length - queriesBefore).toBe(1);
  const merged = { pullRequest: 21, openedBy: 'dana', mergedBy: 'erin', pushedBy: 'erin' };
  expect(await changes()).toEqual([{ commit: c2, change: 'modified', object: 'Deployment/shop/storefront', fields: ['image', 'replicas'], stage: 'shop', who: merged }]);
  const diff = await db.prisma.objectChange.findFirstOrThrow({ where: { commitSha: c2 } });
  expect(diff.diff).toEqual({
    changes: [
      { path: 'spec.replicas', before: 2, after: 4 },
      { path: 'spec.template.spec.containers[web].image', before: 'nginx:1.25.3', after: 'nginx:1.25.4' },
    ],
    omitted: 0,
  });

  // A direct push: the Ingress renamed (nothing else about it changed), the CronJob removed.
  const c3 = sha('history-3');
  const withoutCronJob: Record<string, string> = { ...files, [`${SHOP}/deployment.yaml`]: bumped };
  delete withoutCronJob[`${SHOP}/cronjob.yaml`];
  const ingress = files[`${PAYMENTS}/ingress.yaml`]!;
  fake.addCommit(REPO, c3, { ...withoutCronJob, [`${PAYMENTS}/ingress.yaml`]: ingress.replace(/^(  name: )payments$/m, '$1payments-public') }, { parents: [c2] });
  await push(c2, c3, 'frank');
  const direct = { pullRequest: null, openedBy: null, mergedBy: null, pushedBy: 'frank' };
  const third = (await changes()).filter((c) => c.commit === c3);
  expect(third).toEqual([
    { commit: c3, change: 'renamed', object: 'Ingress/payments/payments-public', from: 'payments', fields: [], stage: 'payments', who: direct },
    expect.objectContaining({ commit: c3, change: 'removed', object: expect.stringMatching(/^CronJob\/shop\//), who: direct }),
  ]);
}, 240_000);
