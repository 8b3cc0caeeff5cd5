// Scale-out mode: several App processes behind a load balancer share one PostgreSQL and one Redis
// (REDIS_URL: a BullMQ queue). Every process answers webhooks and works jobs; a delivery is
// evaluated once, by whichever process is free, and a process that closes leaves its waiting jobs
// to the others. Real engines only: a throwaway PostgreSQL cluster and redis-server.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readConfig } from '../../src/config.js';
import { databaseRecorder } from '../../src/database-recorder.js';
import { Worker } from 'bullmq';
import { lockTiming, QUEUE_NAME, QUEUE_PREFIX, RedisJobQueue, TAKEOVER_MS } from '../../src/github/queue/redis-queue.js';
import { backfillJob, type QueuedJob } from '../../src/github/queue/jobs.js';
import type { Recorder } from '../../src/github/recorder.js';
import { startAppServer, type AppServer } from '../../src/github/server.js';
import { clusterInventory, openDatabase, riskRegister, type Database } from '../../src/store/index.js';
import { engine, testCacheDir } from '../helpers/engine.js';
import { appEnvironment, DEBUG_DEPLOYMENT, fixtureFiles, pullRequestPayload, sha, webhookExample, withRepository, WEBHOOK_SECRET } from '../helpers/fake-github-app.js';
import { deliverWebhook, FakeGitHub } from '../helpers/fake-github.js';
import { silentPort } from '../helpers/ports.js';
import { postgresUnavailable, testPostgres, type PostgresServer } from '../helpers/postgres.js';
import { pullRequestJob } from '../helpers/queued-jobs.js';
import { redisUnavailable, startRedis, type RedisServer } from '../helpers/redis.js';
import { RedisUnavailableError } from '../../src/errors.js';

const REPO = 'example-org/shop-prod';
const shop = fixtureFiles('shop-cluster');

const unavailable = [postgresUnavailable(), redisUnavailable()].filter((reason) => reason !== null);
if (unavailable.length > 0 && process.env.CI) throw new Error(`scale-out tests need PostgreSQL and Redis under CI: ${unavailable.join('; ')}`);
if (unavailable.length > 0) console.warn(`\n[scale-out tests] SKIPPING: ${unavailable.join('; ')}\n`);

interface Process {
  name: string;
  server: AppServer;
  db: Database;
  /** The deliveries whose jobs this process finished. */
  worked: string[];
}

describe.skipIf(unavailable.length > 0)('the App in scale-out mode (PostgreSQL + Redis)', () => {
  let fake: FakeGitHub;
  let postgres: PostgresServer;
  let redis: RedisServer;
  let databaseUrl: string;
  let observer: Database;
  const processes: Process[] = [];

  /** One App process: its own connections to the shared database and Redis. */
  async function startProcess(name: string): Promise<Process> {
    const db = await openDatabase({ url: databaseUrl });
    // Two job slots: fewer than the last test's pull requests, so that some wait for a slot.
    const config = readConfig({ ...appEnvironment(fake), PARAPET_CACHE_DIR: testCacheDir, DATABASE_URL: databaseUrl, REDIS_URL: redis.url, PARAPET_JOB_CONCURRENCY: '2' });
    const { driver, renderer } = engine();
    const worked: string[] = [];
    const recorder = databaseRecorder(db);
    // The database recorder as is; only which process finished a delivery is noted on the way.
    const noting: Recorder = { ...recorder, finishDelivery: async (id) => { worked.push(id); await recorder.finishDelivery(id); } };
    const server = await startAppServer(
      { ...config, credentials: config.credentials!, server: { ...config.server, port: 0 } },
      { engine: { driver, renderer, close: async () => {} }, octokitOverrides: { throttle: { enabled: false } }, recorder: noting },
    );
    const process: Process = { name, server, db, worked };
    processes.push(process);
    return process;
  }

  async function stopProcess(process: Process): Promise<void> {
    processes.splice(processes.indexOf(process), 1);
    await process.server.close();
    await process.db.close();
  }

  let a: Process;
  let b: Process;

  beforeAll(async () => {
    [fake, postgres, redis] = await Promise.all([FakeGitHub.start(), testPostgres(), startRedis()]);
    databaseUrl = await postgres.createDatabase();
    observer = await openDatabase({ url: databaseUrl });
    a = await startProcess('A');
    b = await startProcess('B');
  });

  afterAll(async () => {
    for (const process of [...processes]) await stopProcess(process);
    await observer?.close();
    await fake?.close();
    await redis?.stop();
    await postgres?.stop();
  });

  beforeEach(() => {
    fake.reset();
    for (const process of processes) process.worked.length = 0;
  });

  const webhooks = (process: Process) => `${process.server.url}/api/github/webhooks`;
  const workedBy = (deliveryId: string) => processes.filter((p) => p.worked.includes(deliveryId)).map((p) => p.name);
  const worked = () => processes.flatMap((p) => p.worked).sort();

  /** Pull request `number` adding a privileged Deployment: its verdict is failure. */
  function privilegedPullRequest(number: number): { head: string; payload: Record<string, any> } {
    const base = sha('scale-out-base');
    const head = sha(`scale-out-head-${number}`);
    fake.addCommit(REPO, base, shop);
    fake.addCommit(REPO, head, { ...shop, [`cluster/namespaces/shop/debug-${number}.yaml`]: DEBUG_DEPLOYMENT.replace('debug-shell', `debug-shell-${number}`) });
    return { head, payload: pullRequestPayload(fake, REPO, 'opened', base, head, number) };
  }

  function completedRuns(head: string): Array<[string, string | null]> {
    return fake.checkRuns.filter((r) => r.head_sha === head).map((r) => [r.status, r.conclusion]);
  }

  it('evaluates a pull request delivered to one process exactly once, in whichever process takes it', async () => {
    const { head, payload } = privilegedPullRequest(21);
    const deliveryId = 'c1a0e6d0-8a4f-11f0-9d5e-5b1f0e6a2101';
    expect((await deliverWebhook(webhooks(a), 'pull_request', payload, WEBHOOK_SECRET, { deliveryId })).status).toBe(200);
    await a.server.jobs.idle();

    expect(completedRuns(head)).toEqual([['completed', 'failure']]);
    expect(workedBy(deliveryId)).toHaveLength(1);
    expect(worked()).toEqual([deliveryId]);
    const evaluations = await observer.prisma.evaluation.findMany({ where: { sha: head } });
    expect(evaluations.map((e) => [e.pullRequestNumber, e.conclusion])).toEqual([[21, 'failure']]);
    expect((await observer.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId } })).finishedAt).toBeInstanceOf(Date);
  });

  it('runs a delivery sent to both processes at once only once', async () => {
    const { head, payload } = privilegedPullRequest(22);
    const deliveryId = 'c1a0e6d0-8a4f-11f0-9d5e-5b1f0e6a2202';
    const responses = await Promise.all([a, b].map((p) => deliverWebhook(webhooks(p), 'pull_request', payload, WEBHOOK_SECRET, { deliveryId })));
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    await b.server.jobs.idle();

    expect(completedRuns(head)).toEqual([['completed', 'failure']]);
    expect(worked()).toEqual([deliveryId]);
    expect(await observer.prisma.evaluation.count({ where: { sha: head } })).toBe(1);
  });

  it('records a push to the default branch', async () => {
    const commit = sha('scale-out-main');
    fake.addCommit(REPO, commit, shop);
    const payload = withRepository(structuredClone(webhookExample('push', undefined as unknown as string)) as Record<string, any>, REPO);
    Object.assign(payload, { ref: 'refs/heads/main', after: commit, deleted: false, head_commit: { ...payload.head_commit, id: commit, timestamp: '2026-11-25T09:12:00Z' } });
    payload.repository.default_branch = 'main';
    const deliveryId = 'c1a0e6d0-8a4f-11f0-9d5e-5b1f0e6a2303';
    const received = Date.now();
    expect((await deliverWebhook(webhooks(b), 'push', payload, WEBHOOK_SECRET, { deliveryId })).status).toBe(200);
    await b.server.jobs.idle();

    expect(worked()).toEqual([deliveryId]);
    const repository = await observer.prisma.repository.findFirstOrThrow({ where: { owner: 'example-org', name: 'shop-prod' } });
    const evaluations = await observer.prisma.evaluation.findMany({ where: { repositoryId: repository.id, sha: commit } });
    expect(evaluations.map((e) => [e.ref, e.conclusion])).toEqual([['main', 'failure']]);
    // Stamped when recorded, in push order: never with the commit's date, which its author set.
    expect(evaluations[0]!.observedAt.getTime()).toBeGreaterThanOrEqual(received - 1000);
    expect((await clusterInventory(observer.prisma, repository.id, 'shop-prod')).length).toBeGreaterThan(0);
    expect((await riskRegister(observer.prisma, repository.id)).map((r) => r.policy).sort()).toEqual(['enforceimageversion', 'preventprivileged', 'preventprivileged', 'preventprivileged']);
  });

  // Last: it closes process A.
  it('loses nothing when a process closes while the other runs: its waiting jobs go to the other', async () => {
    const pulls = [31, 32, 33, 34, 35].map((number) => ({ number, deliveryId: `c1a0e6d0-8a4f-11f0-9d5e-5b1f0e6a23${number}`, ...privilegedPullRequest(number) }));
    for (const pr of pulls) expect((await deliverWebhook(webhooks(a), 'pull_request', pr.payload, WEBHOOK_SECRET, { deliveryId: pr.deliveryId })).status).toBe(200);
    // Closing waits for A's running jobs (if it has any), and takes no more.
    await stopProcess(a);
    const finishedByA = [...a.worked];
    await b.server.jobs.idle();

    for (const pr of pulls) expect(completedRuns(pr.head), `pull request #${pr.number}`).toEqual([['completed', 'failure']]);
    expect([...finishedByA, ...b.worked].sort()).toEqual(pulls.map((pr) => pr.deliveryId).sort());
    expect(a.worked).toEqual(finishedByA);
    expect(b.worked.length).toBeGreaterThan(0);
    expect(await observer.prisma.evaluation.count({ where: { sha: { in: pulls.map((pr) => pr.head) } } })).toBe(pulls.length);
  });
});

describe('the takeover time of a dead process\'s job (README "Scale-out")', () => {
  it('is TAKEOVER_MS at most: the lock runs out at most lockDuration after the death, a stalled check finds it within an interval', () => {
    const timing = lockTiming(TAKEOVER_MS);
    expect(TAKEOVER_MS).toBe(60_000);
    expect(timing).toEqual({ lockDuration: 40_000, lockRenewTime: 10_000, stalledInterval: 10_000 });
    // The latest: renewed just before the death, then the check runs just before the lock ends;
    // a sixth is left for late timers and a free slot.
    expect(timing.lockDuration + timing.stalledInterval).toBeLessThanOrEqual((TAKEOVER_MS * 5) / 6);
    // A check falls between the last renewal and the lock's end (it marks the job), so the first
    // check after the end moves it; and a busy process keeps its lock through a long pause.
    expect(timing.stalledInterval).toBeLessThan(timing.lockDuration - timing.lockRenewTime);
  });
});

describe.skipIf(redisUnavailable() !== null)('the Redis job queue', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  const job = (deliveryId: string): QueuedJob => ({ deliveryId, event: 'push', job: { kind: 'installation', installationId: 4242, account: { login: 'example-org', type: 'Organization' }, repositories: [] } });

  it('queues a delivery once while it waits, and again once its job failed or finished', async () => {
    const ran: string[] = [];
    const queue = await RedisJobQueue.open({
      redisUrl: redis.url,
      run: async ({ deliveryId }) => {
        ran.push(deliveryId);
        return !deliveryId.startsWith('fails');
      },
      log: () => null,
    });
    try {
      // Not yet worked: the second add of each delivery finds it waiting.
      expect(await queue.add(job('fails:1'))).toBe(true);
      expect(await queue.add(job('fails:1'))).toBe(false);
      expect(await queue.add(job('72d3162e-cc78-11e3-81ab-4c9367dc0958'))).toBe(true);
      expect(await queue.add(job('72d3162e-cc78-11e3-81ab-4c9367dc0958'))).toBe(false);
      queue.start();
      await queue.idle();
      expect(ran).toEqual(['fails:1', '72d3162e-cc78-11e3-81ab-4c9367dc0958']);
      // Nothing kept in Redis: a redelivery (which the database lets through only after a failure) runs again.
      expect(await queue.add(job('fails:1'))).toBe(true);
      await queue.idle();
      expect(ran).toEqual(['fails:1', '72d3162e-cc78-11e3-81ab-4c9367dc0958', 'fails:1']);
    } finally {
      await queue.close();
    }
  });

  it('serves every installation’s first waiting job before any installation’s second', async () => {
    const ran: string[] = [];
    const queue = await RedisJobQueue.open({ redisUrl: redis.url, run: async ({ deliveryId }) => { ran.push(deliveryId); return true; }, log: () => null });
    try {
      // Queued while no process works: installation 1 opens three pull requests, then 2 one, then 3 two.
      for (const n of [1, 2, 3]) await queue.add(pullRequestJob(`acme-${n}`, 1, 'acme/shop'));
      await queue.add(pullRequestJob('globex-1', 2, 'globex/site'));
      for (const n of [1, 2]) await queue.add(pullRequestJob(`initech-${n}`, 3, 'initech/app'));
      queue.start();
      await queue.idle();
      expect(ran).toEqual(['acme-1', 'globex-1', 'initech-1', 'acme-2', 'initech-2', 'acme-3']);

      // Finished jobs give their rank back: installation 1's next job is a first again.
      await queue.close();
      ran.length = 0;
      const next = await RedisJobQueue.open({ redisUrl: redis.url, run: async ({ deliveryId }) => { ran.push(deliveryId); return true; }, log: () => null });
      try {
        await next.add(pullRequestJob('acme-4', 1, 'acme/shop'));
        await next.add(pullRequestJob('acme-5', 1, 'acme/shop'));
        await next.add(pullRequestJob('globex-2', 2, 'globex/site'));
        next.start();
        await next.idle();
        expect(ran).toEqual(['acme-4', 'globex-2', 'acme-5']);
      } finally {
        await next.close();
      }
    } finally {
      await queue.close();
    }
  });

  it("takes every waiting check, of any installation, before a history backfill's steps", async () => {
    const ran: string[] = [];
    const queue = await RedisJobQueue.open({ redisUrl: redis.url, run: async ({ deliveryId }) => { ran.push(deliveryId); return true; }, log: () => null });
    const shop = { installationId: 1, id: 7, owner: 'acme', ownerType: 'Organization', name: 'shop', defaultBranch: 'main', private: false };
    try {
      // Queued while no process works: a backfill step first, then installation 1's three pull requests and 2's one.
      await queue.add(backfillJob(1, shop, 0));
      for (const n of [1, 2, 3]) await queue.add(pullRequestJob(`acme-${n}`, 1, 'acme/shop'));
      await queue.add(pullRequestJob('globex-1', 2, 'globex/site'));
      queue.start();
      await queue.idle();
      expect(ran).toEqual(['acme-1', 'globex-1', 'acme-2', 'acme-3', 'history-backfill:7:0']);
    } finally {
      await queue.close();
    }
  });

  it('runs up to its concurrency of jobs at once in one process', async () => {
    const started: string[] = [];
    let release!: () => void;
    const bothStarted = new Promise<void>((resolve) => (release = resolve));
    const queue = await RedisJobQueue.open({
      redisUrl: redis.url,
      // Each job waits for the other: one slot would never run them both.
      run: async ({ deliveryId }) => {
        started.push(deliveryId);
        if (started.length === 2) release();
        await bothStarted;
        return true;
      },
      log: () => null,
      concurrency: 2,
    });
    try {
      expect(await queue.add(job('side-by-side-1'))).toBe(true);
      expect(await queue.add(job('side-by-side-2'))).toBe(true);
      queue.start();
      await Promise.race([bothStarted, new Promise((resolve) => setTimeout(resolve, 20_000))]);
      expect(started.sort()).toEqual(['side-by-side-1', 'side-by-side-2']);
      await queue.idle();
    } finally {
      release();
      await queue.close();
    }
  });

  it('takes over the job of a process that died while running it, once its lock ran out, within the takeover time', async () => {
    const takeoverMs = 3_000;
    const timing = lockTiming(takeoverMs);
    // A Redis of its own: the stalled check is throttled across processes (a key living one
    // interval), and the other tests' queues check every 10 s.
    const own = await startRedis();
    // A process configured like every Parapet process, that takes the job and dies mid-way: its
    // lock is never renewed again.
    let taken!: () => void;
    const tookIt = new Promise<void>((resolve) => (taken = resolve));
    const dying = new Worker(QUEUE_NAME, () => { taken(); return new Promise<never>(() => {}); }, { connection: { url: own.url }, prefix: QUEUE_PREFIX, ...timing });
    const ran: string[] = [];
    const survivor = await RedisJobQueue.open({ redisUrl: own.url, run: async ({ deliveryId }) => { ran.push(deliveryId); return true; }, log: () => null, takeoverMs });
    try {
      expect(await survivor.add(job('taken-by-a-dying-process'))).toBe(true);
      await tookIt;
      const died = Date.now();
      await dying.close(true); // no goodbye, no completion: as a killed process leaves it
      survivor.start();
      await survivor.idle();
      const waited = Date.now() - died;
      expect(ran).toEqual(['taken-by-a-dying-process']);
      // Not while the lock could still be alive: it was renewed at most lockRenewTime before the death.
      expect(waited).toBeGreaterThanOrEqual(timing.lockDuration - timing.lockRenewTime);
      // About the takeover time (at most 5/6 of it, see lockTiming); timers slip on a loaded machine.
      expect(waited).toBeLessThan(3 * takeoverMs);
    } finally {
      await survivor.close();
      await dying.close(true).catch(() => {});
      await own.stop();
    }
  });

  it('refuses a job at once while Redis is away (the webhook is answered with an error), and still closes', async () => {
    const own = await startRedis();
    const reported: string[] = [];
    const queue = await RedisJobQueue.open({ redisUrl: own.url, run: async () => true, log: () => ({ error: (_fields, message) => void reported.push(message) }) });
    queue.start();
    await own.stop();
    const started = Date.now();
    await expect(queue.add(job('e2b8c7a0-9b1e-11f0-8f3a-0242ac120002'))).rejects.toThrow("Stream isn't writeable");
    expect(Date.now() - started).toBeLessThan(1000);
    const closing = Date.now();
    await queue.close();
    // Within its two grace periods (worker, queue), however BullMQ's worker meets the lost
    // connection: it gives up at once, or stays silent and is reported and dropped.
    expect(Date.now() - closing).toBeLessThan(2 * 5_000 + 2_000);
    // What it logs meanwhile is about Redis being away, nothing else.
    expect(reported.filter((message) => !/ (lost|without) Redis$/.test(message))).toEqual([]);
  });

  it('does not open on a Redis that does not answer, naming REDIS_URL without its password', async () => {
    // A Redis behind a black-holing firewall.
    const silent = await silentPort();
    const { port } = silent;
    try {
      const opening = RedisJobQueue.open({ redisUrl: `redis://:queue-secret@127.0.0.1:${port}`, run: async () => true, log: () => null, connectTimeoutMs: 500 });
      await expect(opening).rejects.toThrow(RedisUnavailableError);
      await expect(opening).rejects.toThrow(`no answer from Redis at redis://:***@127.0.0.1:${port} (REDIS_URL) within 0.5 s`);
    } finally {
      await silent.close();
    }
  });
});
