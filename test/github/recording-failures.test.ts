// The App when its database cannot take a write (here: a full disk, in the middle of the write):
// the pull request still gets its verdict, the check run says the evaluation was not recorded and
// how to repair it; nothing half-written is stored; a failed job releases its delivery, so
// GitHub's redelivery runs it again; the default branch's record is retried before giving up.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readConfig } from '../../src/config.js';
import { databaseRecorder } from '../../src/database-recorder.js';
import { startAppServer, type AppServer } from '../../src/github/server.js';
import { openDatabase, type Database } from '../../src/store/index.js';
import { migratedDataDir } from '../helpers/database-template.js';
import { engine, testCacheDir } from '../helpers/engine.js';
import { appEnvironment, DEBUG_DEPLOYMENT, fixtureFiles, pullRequestPayload, sha, webhookExample, withRepository, WEBHOOK_SECRET } from '../helpers/fake-github-app.js';
import { deliverWebhook, FakeGitHub } from '../helpers/fake-github.js';
import { fillDisk, freeDisk } from '../helpers/full-disk.js';

const REPO = 'example-org/shop-prod';
const shop = fixtureFiles('shop-cluster');

let fake: FakeGitHub;
let db: Database;
let app: AppServer;
/** Retries of the default branch's record, as the App's recorder reported them. */
const retries: Array<{ attempt: number; delayMs: number; error: string }> = [];

beforeAll(async () => {
  fake = await FakeGitHub.start();
  db = await openDatabase({ dataDir: await migratedDataDir() });
  const config = readConfig({ ...appEnvironment(fake), PARAPET_CACHE_DIR: testCacheDir });
  const { driver, renderer } = engine();
  // The production policy waits seconds between attempts; the same policy, with short waits.
  const recorder = databaseRecorder(db, {
    retry: { attempts: 3, delaysMs: [10, 30], onRetry: (error, attempt, delayMs) => retries.push({ attempt, delayMs, error: String(error) }) },
  });
  app = await startAppServer(
    { ...config, credentials: config.credentials!, server: { ...config.server, port: 0 } },
    { engine: { driver, renderer, close: async () => {} }, octokitOverrides: { throttle: { enabled: false } }, recorder },
  );
});

afterAll(async () => {
  await app?.close();
  await fake?.close();
  await db?.close();
});

beforeEach(() => {
  fake.reset();
  retries.length = 0;
});

async function deliver(event: string, payload: unknown, deliveryId: string): Promise<void> {
  const response = await deliverWebhook(`${app.url}/api/github/webhooks`, event, payload, WEBHOOK_SECRET, { deliveryId });
  expect(response.status).toBe(200);
  await app.jobs.idle();
}

async function delivered(id: string): Promise<boolean> {
  return (await db.prisma.webhookDelivery.count({ where: { id } })) === 1;
}

/** A pull request adding a privileged Deployment to the shop cluster: its verdict is failure. */
function privilegedPullRequest(seed: string, number: number): { head: string; payload: Record<string, any> } {
  const base = sha(`${seed}-base`);
  const head = sha(`${seed}-head`);
  fake.addCommit(REPO, base, shop);
  fake.addCommit(REPO, head, { ...shop, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT });
  return { head, payload: pullRequestPayload(fake, REPO, 'opened', base, head, number) };
}

function pushPayload(after: string): Record<string, any> {
  const payload = withRepository(structuredClone(webhookExample('push', undefined as unknown as string)) as Record<string, any>, REPO);
  payload.ref = 'refs/heads/main';
  payload.after = after;
  payload.deleted = false;
  payload.commits = [];
  payload.repository.default_branch = 'main';
  payload.head_commit = { ...(payload.head_commit ?? {}), id: after, timestamp: new Date().toISOString() };
  return payload;
}

describe('a pull request whose evaluation the database cannot store', () => {
  it('gets its verdict, a check run that says it was not recorded and how to repair it, nothing half-written, and is recorded when redelivered', async () => {
    const { head, payload } = privilegedPullRequest('full-disk', 61);
    // The evaluation's row goes in; its violations find the disk full.
    await fillDisk(db, 'violations');
    try {
      await deliver('pull_request', payload, 'delivery-on-a-full-disk');
    } finally {
      await freeDisk(db, 'violations');
    }

    const [run] = fake.checkRuns;
    expect(run).toMatchObject({ name: 'parapet / shop-prod', status: 'completed', conclusion: 'failure' });
    expect(run!.output.title).toBe('1 new violation that blocks merging (not recorded)');
    expect(run!.output.summary).toMatch(
      /^> \*\*Not recorded\.\*\* Parapet could not store this evaluation in its database: could not extend file "base\/16384\/full_disk_violations": No space left on device\n>\n> The verdict below stands, .* Use \*\*Re-run\*\* on this check once the database is back to record it;/,
    );
    // The verdict itself is all there: the annotation, the summary of the evaluation.
    expect(run!.annotations.map((a) => [a.path, a.start_line])).toEqual([['cluster/namespaces/shop/debug.yaml', 22]]);
    expect(run!.output.summary).toContain('Cluster **shop-prod**');
    expect(await db.prisma.evaluation.count({ where: { sha: head } })).toBe(0);
    expect(await db.prisma.pullRequest.count({ where: { number: 61 } })).toBe(0);
    // The job failed: the delivery is released, and GitHub's redelivery runs it again.
    expect(await delivered('delivery-on-a-full-disk')).toBe(false);

    await deliver('pull_request', payload, 'delivery-on-a-full-disk');
    const evaluations = await db.prisma.evaluation.findMany({ where: { sha: head }, select: { pullRequestNumber: true, conclusion: true, newViolationCount: true } });
    expect(evaluations).toEqual([{ pullRequestNumber: 61, conclusion: 'failure', newViolationCount: 1 }]);
    expect(await delivered('delivery-on-a-full-disk')).toBe(true);
    const latest = fake.checkRuns[fake.checkRuns.length - 1]!;
    expect(latest.output.title).toBe('1 new violation that blocks merging');
    expect(latest.output.summary).not.toContain('Not recorded');
  });

  it('is recorded by a re-run of its check suite', async () => {
    const { head, payload } = privilegedPullRequest('rerun-after-full-disk', 62);
    await fillDisk(db, 'evaluations');
    try {
      await deliver('pull_request', payload, 'pr-62-opened');
    } finally {
      await freeDisk(db, 'evaluations');
    }
    expect(fake.checkRuns[0]!.output.title).toContain('(not recorded)');
    expect(await db.prisma.evaluation.count({ where: { sha: head } })).toBe(0);

    const suite = withRepository(structuredClone(webhookExample('check_suite', 'rerequested')) as Record<string, any>, REPO);
    suite.check_suite.head_sha = head;
    suite.check_suite.pull_requests = [];
    await deliver('check_suite', suite, 'pr-62-rerun');

    const evaluations = await db.prisma.evaluation.findMany({ where: { sha: head }, select: { pullRequestNumber: true, conclusion: true } });
    expect(evaluations).toEqual([{ pullRequestNumber: 62, conclusion: 'failure' }]);
    expect(await db.prisma.pullRequest.findFirst({ where: { number: 62 }, select: { headSha: true } })).toEqual({ headSha: head });
  });

  it('still gets its verdict when not even the delivery can be recorded', async () => {
    const { head, payload } = privilegedPullRequest('deliveries-full', 63);
    await fillDisk(db, 'webhook_deliveries');
    try {
      await deliver('pull_request', payload, 'delivery-not-recordable');
    } finally {
      await freeDisk(db, 'webhook_deliveries');
    }
    expect(fake.checkRuns.map((r) => [r.status, r.conclusion, r.output.title])).toEqual([['completed', 'failure', '1 new violation that blocks merging']]);
    expect(await db.prisma.evaluation.count({ where: { sha: head } })).toBe(1);
  });
});

describe('the default branch when the database cannot store it', () => {
  it('is retried while the disk is full, and recorded once there is room', async () => {
    const commit = sha('main-after-two-failures');
    fake.addCommit(REPO, commit, shop);
    // The first two attempts find no room for the inventory.
    await fillDisk(db, 'image_uses', { failures: 2 });
    try {
      await deliver('push', pushPayload(commit), 'push-retried');
    } finally {
      await freeDisk(db, 'image_uses');
    }

    expect(retries.map((r) => [r.attempt, r.delayMs])).toEqual([[1, 10], [2, 30]]);
    expect(retries[0]!.error).toContain('No space left on device');
    // One evaluation per cluster, though the evaluation was written by each attempt before the inventory failed.
    expect(await db.prisma.evaluation.count({ where: { sha: commit } })).toBe(1);
    expect(await db.prisma.imageUse.count({ where: { commitSha: commit } })).toBeGreaterThan(0);
    expect(await delivered('push-retried')).toBe(true);
  });

  it('gives up after the attempts allowed and releases the delivery, whose redelivery records it', async () => {
    const commit = sha('main-on-a-full-disk');
    fake.addCommit(REPO, commit, shop);
    await fillDisk(db, 'evaluations');
    try {
      await deliver('push', pushPayload(commit), 'push-given-up');
    } finally {
      await freeDisk(db, 'evaluations');
    }
    expect(retries.map((r) => r.attempt)).toEqual([1, 2]);
    expect(await db.prisma.evaluation.count({ where: { sha: commit } })).toBe(0);
    expect(await delivered('push-given-up')).toBe(false);

    await deliver('push', pushPayload(commit), 'push-given-up');
    expect(await db.prisma.evaluation.count({ where: { sha: commit } })).toBe(1);
    expect(await delivered('push-given-up')).toBe(true);
  });

  it('releases an installation’s delivery when a repository could not be recorded', async () => {
    const commit = sha('main-at-installation');
    fake.addCommit(REPO, commit, shop);
    fake.setBranch(REPO, 'main', commit);
    const payload = structuredClone(webhookExample('installation_repositories', 'added')) as Record<string, any>;
    payload.installation = { ...payload.installation, id: 4242, account: { ...payload.installation.account, login: 'example-org', type: 'Organization' } };
    const { id } = (webhookExample('push', undefined as unknown as string) as { repository: { id: number } }).repository;
    payload.repositories_added = [{ id, name: 'shop-prod', full_name: REPO, private: false }];
    await fillDisk(db, 'evaluations');
    try {
      await deliver('installation_repositories', payload, 'installation-on-a-full-disk');
    } finally {
      await freeDisk(db, 'evaluations');
    }
    expect(await delivered('installation-on-a-full-disk')).toBe(false);

    await deliver('installation_repositories', payload, 'installation-on-a-full-disk');
    expect(await db.prisma.evaluation.count({ where: { sha: commit } })).toBe(1);
  });
});
