// The App with its database: the default branch's inventory and risk register are recorded on a
// push and on installation, pull request evaluations are recorded, and a redelivered webhook is
// processed once, even by a restarted App.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../src/config.js';
import { RETRIES, startAppServer, type AppServer, type AppServerOptions } from '../../src/github/server.js';
import { createWebApp } from '../../src/web/app.js';
import { readWebConfig } from '../../src/web/web-config.js';
import { databaseRecorder } from '../../src/database-recorder.js';
import {
  clusterInventory,
  closeDatabase,
  openDatabase,
  riskRegister,
  type Database,
} from '../../src/store/index.js';
import { migratedDataDir } from '../helpers/database-template.js';
import { engine, testCacheDir } from '../helpers/engine.js';
import { appEnvironment, fixtureFiles, pullRequestPayload, sha, webhookExample, withRepository, WEBHOOK_SECRET } from '../helpers/fake-github-app.js';
import { deliverWebhook, FakeGitHub, type RecordedRequest } from '../helpers/fake-github.js';

const REPO = 'example-org/shop-prod';

let fake: FakeGitHub;
let db: Database;

beforeAll(async () => {
  fake = await FakeGitHub.start();
  db = await openDatabase({ dataDir: await migratedDataDir() });
});

afterAll(async () => {
  await fake?.close();
  if (db) await closeDatabase(db);
});


/** The App on the test database; `retryAfterMs` shortens plugin-retry's waits (1 s, 4 s, 9 s by default). */
async function startApp(pages?: AppServerOptions['pages'], retryAfterMs?: number): Promise<AppServer> {
  const config = readConfig({ ...appEnvironment(fake), PARAPET_CACHE_DIR: testCacheDir });
  const { driver, renderer } = engine();
  const retry = retryAfterMs === undefined ? {} : { retry: { retryAfterBaseValue: retryAfterMs } };
  return startAppServer(
    { ...config, credentials: config.credentials!, server: { ...config.server, port: 0 } },
    { engine: { driver, renderer, close: async () => {} }, octokitOverrides: { throttle: { enabled: false }, ...retry }, recorder: databaseRecorder(db), pages },
  );
}

/** One delivery to a freshly started App, run to its end (as after a restart). */
async function deliverToNewApp(event: string, payload: Record<string, any>, options: { deliveryId?: string } = {}): Promise<void> {
  const app = await startApp();
  try {
    expect((await deliverWebhook(`${app.url}/api/github/webhooks`, event, payload, WEBHOOK_SECRET, options)).status).toBeLessThan(300);
    await app.jobs.idle();
  } finally {
    await app.close();
  }
}

function pushPayload(after: string): Record<string, any> {
  const payload = withRepository(structuredClone(webhookExample('push', undefined as unknown as string)) as Record<string, any>, REPO);
  payload.ref = 'refs/heads/main';
  payload.after = after;
  payload.deleted = false;
  payload.repository.default_branch = 'main';
  payload.head_commit = { ...(payload.head_commit ?? {}), id: after, timestamp: new Date().toISOString() };
  return payload;
}

async function repositoryId(): Promise<bigint> {
  const repository = await db.prisma.repository.findFirstOrThrow({ where: { owner: 'example-org', name: 'shop-prod' } });
  return repository.id;
}

describe('the App with its database', () => {
  it('records the default branch on a push: image inventory, risk register and evaluation', async () => {
    const app = await startApp();
    try {
      const commit = sha('main-1');
      fake.addCommit(REPO, commit, fixtureFiles('shop-cluster'));
      expect((await deliverWebhook(`${app.url}/api/github/webhooks`, 'push', pushPayload(commit), WEBHOOK_SECRET)).status).toBeLessThan(300);
      await app.jobs.idle();

      const id = await repositoryId();
      const images = await clusterInventory(db.prisma, id, 'shop-prod');
      expect(images.map((i) => `${i.namespace}/${i.workloadKind}/${i.workloadName}/${i.container} ${i.reference}`)).toContain(
        'shop/Deployment/storefront/metrics registry.example.com/tools/exporter:latest',
      );
      const register = await riskRegister(db.prisma, id);
      expect(register.map((r) => `${r.policy} ${r.level} ${r.reason.split('\n')[0]}`).sort()).toEqual([
        'enforceimageversion namespace Legacy tools are pinned by digest in the mirror; tags are not used here.',
        'preventprivileged object Reads host devices to attest the node.',
        'preventprivileged owner Attaches to other processes for incident response.',
        'preventprivileged podTemplate The card-reader sidecar needs device access; vendor ticket VEND-1234',
      ]);
      const evaluations = await db.prisma.evaluation.findMany({ where: { repositoryId: id, sha: commit } });
      expect(evaluations.map((e) => e.conclusion)).toEqual(['failure']);
    } finally {
      await app.close();
    }
  });

  it('notes a push before evaluating it, so that a push whose evaluation fails leaves its clusters shown as behind', async () => {
    const commit = sha('main-not-on-github'); // its tarball is missing: the job fails before recording anything
    await deliverToNewApp('push', pushPayload(commit));
    expect(await db.prisma.evaluation.count({ where: { sha: commit } })).toBe(0);
    const repository = await db.prisma.repository.findUniqueOrThrow({ where: { id: await repositoryId() } });
    expect(repository.pushedSha).toBe(commit);
  });

  it('processes a redelivered webhook once, even after a restart', async () => {
    const commit = sha('main-2');
    fake.addCommit(REPO, commit, fixtureFiles('shop-cluster'));
    const deliveryId = 'a-delivery-redelivered-after-a-restart';
    for (let attempt = 0; attempt < 2; attempt++) {
      await deliverToNewApp('push', pushPayload(commit), { deliveryId });
    }
    expect(await db.prisma.evaluation.count({ where: { sha: commit } })).toBe(1);
    // Its job finished: no redelivery, however late, runs it again.
    expect((await db.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId } })).finishedAt).toBeInstanceOf(Date);
  });

  it('runs a redelivery again when the process that took the delivery died before finishing it', async () => {
    const commit = sha('main-crashed');
    fake.addCommit(REPO, commit, fixtureFiles('shop-cluster'));
    const deliveryId = 'a-delivery-whose-process-died';
    // What a process leaves when it dies mid-job: the delivery taken on long ago, never finished.
    await db.prisma.webhookDelivery.create({ data: { id: deliveryId, event: 'push', receivedAt: new Date(Date.now() - 2 * 60 * 60_000) } });
    await deliverToNewApp('push', pushPayload(commit), { deliveryId });
    expect(await db.prisma.evaluation.count({ where: { sha: commit } })).toBe(1);
  });

  it('records the default branch of every repository the App is installed on', async () => {
    const commit = sha('main-3');
    fake.addCommit(REPO, commit, fixtureFiles('shop-cluster'));
    fake.setBranch(REPO, 'main', commit);
    const payload = structuredClone(webhookExample('installation_repositories', 'added')) as Record<string, any>;
    payload.installation = { ...payload.installation, id: 4242, account: { ...payload.installation.account, login: 'example-org', type: 'Organization' } };
    // The same repository as the push deliveries above (its id is the example payload's).
    const { id } = (webhookExample('push', undefined as unknown as string) as { repository: { id: number } }).repository;
    payload.repositories_added = [{ id, name: 'shop-prod', full_name: REPO, private: false }];
    await deliverToNewApp('installation_repositories', payload);
    expect(await db.prisma.evaluation.count({ where: { sha: commit, ref: 'main' } })).toBe(1);
  });

  it('records a pull request evaluation with its conclusion per cluster', async () => {
    const base = sha('pr-base');
    const head = sha('pr-head');
    fake.addCommit(REPO, base, fixtureFiles('shop-cluster'));
    fake.addCommit(REPO, head, { ...fixtureFiles('shop-cluster'), 'cluster/namespaces/shop/extra.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: shop\n' });
    await deliverToNewApp('pull_request', pullRequestPayload(fake, REPO, 'opened', base, head, 7));
    const evaluations = await db.prisma.evaluation.findMany({ where: { sha: head } });
    expect(evaluations.map((e) => [e.pullRequestNumber, e.conclusion])).toEqual([[7, 'success']]);
  });

  it('serves the overview beside the webhooks, behind sign-in', async () => {
    const { config, github } = readWebConfig({ GITHUB_CLIENT_ID: 'client', GITHUB_CLIENT_SECRET: 'secret', SESSION_SECRET: 'a-session-secret-of-at-least-32-characters', GITHUB_API_URL: fake.url, GITHUB_URL: fake.url });
    const app = await startApp(createWebApp({ db, config, github }).handle);
    try {
      const api = await fetch(`${app.url}/api/images`);
      expect(api.status).toBe(401);
      const page = await fetch(`${app.url}/`, { redirect: 'manual' });
      expect(page.status).toBe(302);
      expect(page.headers.get('location')).toContain('/auth/login');
      // The webhooks are still answered on their path.
      expect((await deliverWebhook(`${app.url}/api/github/webhooks`, 'push', pushPayload(sha('main-1')), WEBHOOK_SECRET)).status).toBeLessThan(300);
      await app.jobs.idle();
    } finally {
      await app.close();
    }
  });
});

// Who introduced each accepted risk, in the history of a payments repository: Alice set it up
// (PR #11), Bob accepted the checkout's privileged card reader (PR #12, which Alice merged), Carol
// bumped an image in the same file and later reworded the reason's second line (no PR), Dave merged
// a new accepted workload (PR #14), Erin pushed one more while GitHub's GraphQL API was failing,
// and Mallory pushed one whose commit names Dave as its author. Who introduced it is who GitHub
// says pushed, opened and merged it; the commit's author is only what the commit says.
describe('who introduced each accepted risk', () => {
  const PAYMENTS = 'example-org/payments-gitops';
  const PAYMENTS_ID = 701_288_015;
  const CHECKOUT = 'cluster/namespaces/payments/deployment.yaml';
  const base = fixtureFiles('shop-cluster');
  const accepted = base[CHECKOUT]!;
  // The card reader's acceptance, as Bob wrote it (lines 17-20 of the file; the key on line 18).
  const annotation = `      annotations:
        securitytower.io/policy.exclusion.preventprivileged: |-
          The card-reader sidecar needs device access; vendor ticket VEND-1234
          tracks an unprivileged build.
`;
  const withoutAcceptance = accepted.replace(annotation, '');
  const bumped = accepted.replace('image: nginx:1.25.3', 'image: nginx:1.25.4');
  const reworded = bumped.replace('tracks an unprivileged build.', 'tracks an unprivileged build, due 2027-03.');
  const privilegedWorkload = (name: string, reason: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: payments
  labels:
    owner: team-payments
    cost-center: "4711"
spec:
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
      annotations:
        securitytower.io/policy.exclusion.preventprivileged: ${reason}
    spec:
      containers:
        - name: ${name}
          image: registry.example.com/payments/${name}:2.4.1
          securityContext:
            privileged: true
`;
  const fraudCheck = privilegedWorkload('fraud-check', 'Raw sockets for the card-network probe; reviewed in SEC-311.');
  const ledger = privilegedWorkload('ledger', 'Mounts the HSM device until the PKCS#11 proxy ships.');

  const alice = { name: 'Alice Platform', email: 'alice@example.com', login: 'alice-platform' };
  const bob = { name: 'Bob Payments', email: 'bob@payments.example.com', login: 'bob-payments' };
  const carol = { name: 'Carol Ops', email: 'carol@laptop.local' };
  const dave = { name: 'Dave Risk', email: 'dave@example.com', login: 'dave-risk' };
  const erin = { name: 'Erin SRE', email: 'erin@example.com', login: 'erin-sre' };
  const frank = { name: 'Frank Payments', email: 'frank@example.com', login: 'frank-payments' };

  const P1 = sha('payments-1');
  const P2 = sha('payments-2');
  const P3 = sha('payments-3');
  const P4 = sha('payments-4');
  const P5 = sha('payments-5');
  const P6 = sha('payments-6');
  const P7 = sha('payments-7');

  // The App is installed now; the history before that is older, the pushes after it newer.
  const NOW = Math.floor(Date.now() / 1000) * 1000;
  const DAY = 86_400_000;
  const HOUR = 3_600_000;
  const when = (offset: number) => new Date(NOW + offset).toISOString();
  const dates = { P1: when(-30 * DAY), P2: when(-20 * DAY), P3: when(-10 * DAY), P4: when(HOUR), P5: when(2 * HOUR), P6: when(3 * HOUR), P7: when(3.5 * HOUR) };

  let p7Files: Record<string, string> = {};

  beforeAll(() => {
    fake.addCommit(PAYMENTS, P1, { ...base, [CHECKOUT]: withoutAcceptance }, { author: alice, committedDate: dates.P1, pullRequest: 11 });
    fake.addCommit(PAYMENTS, P2, { ...base, [CHECKOUT]: accepted }, { parents: [P1], author: bob, committedDate: dates.P2, pullRequest: 12, pullRequestAuthor: 'bob-payments', mergedBy: 'alice-platform' });
    fake.addCommit(PAYMENTS, P3, { ...base, [CHECKOUT]: bumped }, { parents: [P2], author: carol, committedDate: dates.P3 });
    fake.addCommit(PAYMENTS, P4, { ...base, [CHECKOUT]: reworded }, { parents: [P3], author: carol, committedDate: dates.P4 });
    const withFraudCheck = { ...base, [CHECKOUT]: reworded, 'cluster/namespaces/payments/fraud-check.yaml': fraudCheck };
    fake.addCommit(PAYMENTS, P5, withFraudCheck, { parents: [P4], author: dave, committedDate: dates.P5, pullRequest: 14, pullRequestAuthor: 'dave-risk', mergedBy: 'frank-payments' });
    const withLedger = { ...withFraudCheck, 'cluster/namespaces/payments/ledger.yaml': ledger };
    fake.addCommit(PAYMENTS, P6, withLedger, { parents: [P5], author: erin, committedDate: dates.P6 });
    p7Files = { ...withLedger, [CHECKOUT]: reworded.replace('card-reader:4.1.0', 'card-reader:4.2.0') };
    fake.addCommit(PAYMENTS, P7, p7Files, { parents: [P6], author: frank, committedDate: dates.P7 });
  });

  /** The push `before` → `after` to main, made by `sender` (GitHub's account that pushed). */
  function pushPayments(before: string, after: string, sender = 'frank-payments'): Record<string, any> {
    const payload = withRepository(structuredClone(webhookExample('push', undefined as unknown as string)) as Record<string, any>, PAYMENTS);
    payload.sender = { ...payload.sender, login: sender };
    payload.pusher = { name: sender, email: `${sender}@users.noreply.github.com` };
    payload.repository.id = PAYMENTS_ID;
    payload.repository.default_branch = 'main';
    Object.assign(payload, { ref: 'refs/heads/main', before, after, created: false, deleted: false, forced: false, base_ref: null });
    payload.commits = fake.pushCommits(PAYMENTS, before, after);
    payload.head_commit = payload.commits[payload.commits.length - 1];
    return payload;
  }

  async function deliver(event: string, payload: Record<string, any>): Promise<RecordedRequest[]> {
    fake.reset();
    await deliverToNewApp(event, payload);
    // The API calls made about the repository (token requests and the tarball's codeload redirect are not API calls).
    return fake.requests.filter((r) => r.path === `/repos/${PAYMENTS}` || r.path.startsWith(`/repos/${PAYMENTS}/`) || r.repository === PAYMENTS);
  }

  /** Each acceptance's introducer, by the annotation's place. */
  async function introducers(): Promise<Record<string, unknown[]>> {
    const register = await riskRegister(db.prisma, PAYMENTS_ID);
    return Object.fromEntries(register.map((r) => [`${r.file}:${r.line}`, [r.introducedSha, r.introducedCommitAuthor, r.introducedPullRequest, r.introducedAt?.toISOString() ?? null]]));
  }

  /** Who GitHub says brought each acceptance in: [pushed by, pull request opened by, merged by]. */
  async function vouchedFor(): Promise<Record<string, unknown[]>> {
    const register = await riskRegister(db.prisma, PAYMENTS_ID);
    return Object.fromEntries(register.map((r) => [`${r.file}:${r.line}`, [r.introducedPushedBy, r.introducedOpenedBy, r.introducedMergedBy]]));
  }

  const byAlice = [P1, 'alice-platform', 11, dates.P1];
  const fixtureAcceptances = {
    'cluster/global/namespace-specs/legacy/namespace.yaml:8': byAlice,
    'cluster/namespaces/legacy/replicaset.yaml:8': byAlice,
    'cluster/namespaces/payments/node-agent.yaml:17': byAlice,
  };

  it('attributes the register by blame when the App is installed, to the change of each annotation rather than of its file', async () => {
    fake.setBranch(PAYMENTS, 'main', P3);
    const payload = structuredClone(webhookExample('installation_repositories', 'added')) as Record<string, any>;
    payload.installation = { ...payload.installation, id: 4242, account: { ...payload.installation.account, login: 'example-org', type: 'Organization' } };
    payload.repositories_added = [{ id: PAYMENTS_ID, name: 'payments-gitops', full_name: PAYMENTS, private: false }];

    const calls = await deliver('installation_repositories', payload);

    expect(await introducers()).toEqual({
      ...fixtureAcceptances,
      // Carol's later image bump in the same file does not make her the one who accepted the risk.
      [`${CHECKOUT}:18`]: [P2, 'bob-payments', 12, dates.P2],
    });
    // Bob opened #12 and Alice merged it, GitHub says; who pushed it before the installation, it does not.
    expect((await vouchedFor())[`${CHECKOUT}:18`]).toEqual([null, 'bob-payments', 'alice-platform']);
    expect(calls.map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /repos/${PAYMENTS}`,
      `GET /repos/${PAYMENTS}/commits/main`,
      `GET /repos/${PAYMENTS}/tarball/${P3}`,
      // The register's blame and the change history's pull request of the commit: one query.
      'POST /graphql',
    ]);
    const [query] = calls.filter((r) => r.path === '/graphql').map((r) => r.body as { query: string });
    expect(query!.query).toMatch(/commit: object\(expression: \$sha\) \{ \.\.\. on Commit \{ associatedPullRequests/);
  });

  it('re-attributes an acceptance whose reason a push rewords, with the one GraphQL query the register needs', async () => {
    const calls = await deliver('push', pushPayments(P3, P4, 'erin-sre'));
    expect(await introducers()).toEqual({ ...fixtureAcceptances, [`${CHECKOUT}:18`]: [P4, 'Carol Ops', null, dates.P4] });
    // Carol's commit came with Erin's push, without a pull request.
    expect((await vouchedFor())[`${CHECKOUT}:18`]).toEqual(['erin-sre', null, null]);
    expect(calls.map((r) => `${r.method} ${r.path}`)).toEqual([`GET /repos/${PAYMENTS}/tarball/${P4}`, 'POST /graphql']);
    const [query] = calls.filter((r) => r.path === '/graphql').map((r) => r.body as { variables: Record<string, string> });
    expect(query!.variables).toEqual({ owner: 'example-org', name: 'payments-gitops', sha: P4, path0: CHECKOUT });
  });

  it('names who pushed it, who opened and merged its pull request, and its commit and commit author, for an acceptance a push adds', async () => {
    const calls = await deliver('push', pushPayments(P4, P5, 'frank-payments'));
    const register = await riskRegister(db.prisma, PAYMENTS_ID);
    expect(register.find((r) => r.objectName === 'fraud-check')).toMatchObject({
      policy: 'preventprivileged',
      level: 'podTemplate',
      reason: 'Raw sockets for the card-network probe; reviewed in SEC-311.',
      introducedSha: P5,
      introducedCommitAuthor: 'dave-risk',
      introducedPullRequest: 14,
      introducedAt: new Date(dates.P5),
      introducedPushedBy: 'frank-payments',
      introducedOpenedBy: 'dave-risk',
      introducedMergedBy: 'frank-payments',
      firstSeenSha: P5,
    });
    // The archive, and one query for the register and the change history.
    expect(calls).toHaveLength(2);
    // That query's commit answer attributes the push's object changes.
    const changed = await db.prisma.objectChange.findMany({ where: { commitSha: P5 }, select: { name: true, pullRequest: true, openedBy: true, mergedBy: true, pushedBy: true } });
    expect(changed).toContainEqual({ name: 'fraud-check', pullRequest: 14, openedBy: 'dave-risk', mergedBy: 'frank-payments', pushedBy: 'frank-payments' });
    // The acceptances already attributed are not looked up again.
    expect((calls[1]!.body as { variables: Record<string, string> }).variables).toMatchObject({ path0: 'cluster/namespaces/payments/fraud-check.yaml' });
    expect(Object.keys((calls[1]!.body as { variables: Record<string, string> }).variables)).not.toContain('path1');
  });

  it("falls back to the push's commits when GitHub's GraphQL API keeps failing, and records everything else", async () => {
    fake.reset();
    const payload = pushPayments(P5, P7, 'erin-sre');
    const app = await startApp(undefined, 1);
    try {
      fake.failGraphQL('Something went wrong while executing your query. This may be the result of a timeout, or it could be a GitHub bug.');
      await deliverWebhook(`${app.url}/api/github/webhooks`, 'push', payload, WEBHOOK_SECRET);
      await app.jobs.idle();
    } finally {
      await app.close();
    }
    // GitHub's "Something went wrong" is retried as a 5xx would be, then given up on: the one
    // query of the register and the change history, not asked again for the history alone.
    expect(fake.requests.filter((r) => r.path === '/graphql')).toHaveLength(1 + RETRIES);
    const introduced = await introducers();
    // Erin's commit added the file; Frank's later commit of the push touched another one.
    expect(introduced['cluster/namespaces/payments/ledger.yaml:18']).toEqual([P6, 'erin-sre', null, dates.P6]);
    expect(introduced[`${CHECKOUT}:18`]).toEqual([P4, 'Carol Ops', null, dates.P4]);
    expect(introduced['cluster/namespaces/payments/fraud-check.yaml:18']).toEqual([P5, 'dave-risk', 14, dates.P5]);
    expect(Object.keys(introduced)).toHaveLength(6);
    // The push's commits tell the pusher too: Erin's push.
    expect((await vouchedFor())['cluster/namespaces/payments/ledger.yaml:18']).toEqual(['erin-sre', null, null]);
    expect(await db.prisma.evaluation.count({ where: { repositoryId: PAYMENTS_ID, sha: P7 } })).toBe(1);
    const images = await clusterInventory(db.prisma, PAYMENTS_ID, 'shop-prod');
    expect(images.map((i) => i.reference)).toContain('registry.example.com/vendor/card-reader:4.2.0');
  });

  it('records who pushed an acceptance whose commit names someone else as its author, and that author only as the commit’s', async () => {
    // Mallory commits with Dave's name and e-mail (GitHub then even shows Dave's login on the commit), dated last year.
    const P8 = sha('payments-8');
    const vault = privilegedWorkload('vault', 'Approved by the risk board, see RISK-9.');
    fake.addCommit(PAYMENTS, P8, { ...p7Files, 'cluster/namespaces/payments/vault.yaml': vault }, { parents: [P7], author: dave, committedDate: when(-365 * DAY) });
    await deliver('push', pushPayments(P7, P8, 'mallory'));

    const row = (await riskRegister(db.prisma, PAYMENTS_ID)).find((r) => r.objectName === 'vault');
    expect(row).toMatchObject({ introducedSha: P8, introducedPushedBy: 'mallory', introducedOpenedBy: null, introducedMergedBy: null, introducedCommitAuthor: 'dave-risk', firstSeenSha: P8 });
  });
});

// The default branch's records follow push order, not the commits' dates (which authors set): a
// rebase-merge after the installation carries an older date, a commit may claim a future one.
describe('the order of the default branch’s records', () => {
  const ORDERS = 'example-org/orders-gitops';
  const ORDERS_ID = 701_300_001;
  const DEPLOYMENT = 'cluster/namespaces/payments/deployment.yaml';
  const base = fixtureFiles('shop-cluster');
  const DAY = 86_400_000;
  const when = (days: number) => new Date(Date.now() + days * DAY).toISOString();
  const reader = (version: string) => ({ ...base, [DEPLOYMENT]: base[DEPLOYMENT]!.replace('card-reader:4.1.0', `card-reader:${version}`) });
  const [O1, O2, O3, O4] = ['orders-1', 'orders-2', 'orders-3', 'orders-4'].map((seed) => sha(seed)) as [string, string, string, string];

  beforeAll(() => {
    fake.addCommit(ORDERS, O1, reader('4.1.0'), { committedDate: when(0) });
    // Rebase-merged after the App was installed: its date is a month before the installation's.
    fake.addCommit(ORDERS, O2, reader('4.2.0'), { parents: [O1], committedDate: when(-30) });
    // A commit dated a year ahead, followed by one dated a year back.
    fake.addCommit(ORDERS, O3, reader('4.3.0'), { parents: [O2], committedDate: when(365) });
    fake.addCommit(ORDERS, O4, reader('4.4.0'), { parents: [O3], committedDate: when(-365) });
  });

  function push(before: string, after: string): Record<string, any> {
    const payload = withRepository(structuredClone(webhookExample('push', undefined as unknown as string)) as Record<string, any>, ORDERS);
    payload.repository.id = ORDERS_ID;
    payload.repository.default_branch = 'main';
    Object.assign(payload, { ref: 'refs/heads/main', before, after, created: false, deleted: false, forced: false, base_ref: null });
    payload.commits = fake.pushCommits(ORDERS, before, after);
    payload.head_commit = payload.commits[payload.commits.length - 1];
    return payload;
  }

  /** The commit each record of the default branch is at: inventory, configuration, newest evaluation, register. */
  async function recorded(): Promise<Record<string, unknown>> {
    const [cluster] = await db.prisma.cluster.findMany({ where: { repositoryId: ORDERS_ID } });
    const images = await clusterInventory(db.prisma, ORDERS_ID, 'shop-prod');
    const latest = await db.prisma.evaluation.findFirst({ where: { repositoryId: ORDERS_ID, pullRequestNumber: null }, orderBy: [{ observedAt: 'desc' }, { id: 'desc' }] });
    const register = await riskRegister(db.prisma, ORDERS_ID);
    return {
      inventory: cluster?.inventorySha,
      reader: images.find((i) => i.reference.includes('card-reader'))?.reference,
      config: cluster?.configSha,
      evaluation: latest?.sha,
      register: [...new Set(register.map((r) => r.lastSeenSha))],
    };
  }
  const at = (commit: string, version: string) => ({ inventory: commit, reader: `registry.example.com/vendor/card-reader:${version}`, config: commit, evaluation: commit, register: [commit] });

  it('records a push after the installation whose commit is dated before it', async () => {
    fake.setBranch(ORDERS, 'main', O1);
    const payload = structuredClone(webhookExample('installation_repositories', 'added')) as Record<string, any>;
    payload.installation = { ...payload.installation, id: 4242, account: { ...payload.installation.account, login: 'example-org', type: 'Organization' } };
    payload.repositories_added = [{ id: ORDERS_ID, name: 'orders-gitops', full_name: ORDERS, private: false }];
    await deliverToNewApp('installation_repositories', payload);
    expect(await recorded()).toEqual(at(O1, '4.1.0'));

    await deliverToNewApp('push', push(O1, O2));
    expect(await recorded()).toEqual(at(O2, '4.2.0'));
  });

  it('keeps the newer state when an older push is redelivered after a newer one, whatever the commits’ dates', async () => {
    // O2 → O3 fails at first (GitHub cannot serve its tarball): its delivery is released.
    fake.failWith(new RegExp(`^GET /repos/${ORDERS}/tarball/${O3}$`), 404, { times: 1 });
    await deliverToNewApp('push', push(O2, O3), { deliveryId: 'orders-push-o2-o3' });
    expect(await recorded()).toEqual(at(O2, '4.2.0'));
    // O3 → O4 is recorded; then O2 → O3 is redelivered, and runs, and changes nothing.
    await deliverToNewApp('push', push(O3, O4));
    expect(await recorded()).toEqual(at(O4, '4.4.0'));
    await deliverToNewApp('push', push(O2, O3), { deliveryId: 'orders-push-o2-o3' });
    expect(fake.requests.filter((r) => r.path === `/repos/${ORDERS}/tarball/${O3}`).map((r) => r.status)).toEqual([404, 302]);
    expect(await recorded()).toEqual(at(O4, '4.4.0'));
  });
});
