// The in-process job queue (the default mode) and the runner both queues run jobs with: a
// delivery runs once, again after its job failed, and a failure is logged with how to redeliver.
import { describe, expect, it, vi } from 'vitest';
import { MemoryJobQueue } from '../../src/github/queue/memory-queue.js';
import { backfillJob, jobRunner, type QueuedJob } from '../../src/github/queue/jobs.js';
import type { Recorder } from '../../src/github/recorder.js';
import { configDefaults } from '../../src/config.js';
import { pullRequestJob } from '../helpers/queued-jobs.js';

/** A logger keeping what it was told, as pino's level methods take it: (fields, message). */
function recordingLog() {
  const lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  const at = (bound: Record<string, unknown>): Record<string, unknown> => ({
    ...Object.fromEntries(['error', 'warn', 'info', 'debug'].map((level) => [level, (fields: Record<string, unknown>, message: string) => lines.push({ level, fields: { ...bound, ...fields }, message })])),
    child: (fields: Record<string, unknown>) => at({ ...bound, ...fields }),
  });
  return { lines, log: at({}) };
}

/** What the runner tells the delivery record, in order. */
function deliveryRecord() {
  const calls: string[] = [];
  const recorder = {
    releaseDelivery: async (id: string) => void calls.push(`release ${id}`),
    finishDelivery: async (id: string) => void calls.push(`finish ${id}`),
  } as Partial<Recorder> as Recorder;
  return { calls, recorder };
}

const installation = (deliveryId: string, repositories: string[]): QueuedJob => ({
  deliveryId,
  event: 'installation_repositories.added',
  job: { kind: 'installation', installationId: 4242, account: { login: 'example-org', type: 'Organization' }, repositories: repositories.map((fullName, i) => ({ id: 100 + i, fullName })) },
});

describe('the in-process job queue', () => {
  it('runs a delivery once, but again after its job failed, one job at a time and in order', async () => {
    const ran: string[] = [];
    let running = 0;
    const jobs = new MemoryJobQueue(async ({ deliveryId }) => {
      expect(++running).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 5));
      ran.push(deliveryId);
      running--;
      return deliveryId !== 'd-1' || ran.filter((id) => id === 'd-1').length > 1;
    });
    expect(await jobs.add(installation('d-1', []))).toBe(true);
    expect(await jobs.add(installation('d-2', []))).toBe(true);
    await jobs.idle();
    expect(await jobs.add(installation('d-2', []))).toBe(false);
    expect(await jobs.add(installation('d-1', []))).toBe(true);
    await jobs.close();
    expect(ran).toEqual(['d-1', 'd-2', 'd-1']);
  });

  it('runs up to its concurrency of jobs at once, starting them in the order they came', async () => {
    const started: string[] = [];
    const finish = new Map<string, (done: boolean) => void>();
    const jobs = new MemoryJobQueue(({ deliveryId }) => {
      started.push(deliveryId);
      return new Promise<boolean>((resolve) => finish.set(deliveryId, resolve));
    }, 2);
    for (const id of ['d-1', 'd-2', 'd-3', 'd-4']) expect(await jobs.add(installation(id, []))).toBe(true);
    expect(started).toEqual(['d-1', 'd-2']);

    // A job that ends frees its slot for the next in line, whichever of the running ones it was.
    finish.get('d-2')!(true);
    await until(() => started.length === 3);
    expect(started).toEqual(['d-1', 'd-2', 'd-3']);
    finish.get('d-1')!(false);
    await until(() => started.length === 4);
    expect(started).toEqual(['d-1', 'd-2', 'd-3', 'd-4']);

    let idle = false;
    const idling = jobs.idle().then(() => (idle = true));
    finish.get('d-3')!(true);
    // Settled, had it been idle: the job's end reaches the queue within a turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    expect(idle).toBe(false);
    finish.get('d-4')!(true);
    await idling;
    // The failed one is forgotten (its redelivery runs), the others are not.
    expect(await jobs.add(installation('d-1', []))).toBe(true);
    expect(await jobs.add(installation('d-2', []))).toBe(false);
    finish.get('d-1')!(true);
    await jobs.close();
  });

  it('goes on after a runner that rejects, and forgets its delivery', async () => {
    const ran: string[] = [];
    const jobs = new MemoryJobQueue(async ({ deliveryId }) => {
      ran.push(deliveryId);
      if (deliveryId === 'd-1') throw new Error('a runner that breaks its promise never to reject');
      return true;
    }, 2);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await jobs.add(installation('d-1', []));
      await jobs.add(installation('d-2', []));
      await jobs.add(installation('d-3', []));
      await jobs.idle();
      expect(stderr.mock.calls.map(([text]) => String(text))).toEqual(['parapet: background job of delivery d-1 failed: Error: a runner that breaks its promise never to reject\n']);
    } finally {
      stderr.mockRestore();
    }
    expect(ran).toEqual(['d-1', 'd-2', 'd-3']);
    expect(await jobs.add(installation('d-1', []))).toBe(true);
    await jobs.close();
  });
});

describe('the order of waiting jobs', () => {
  it('takes waiting jobs round-robin across installations and their repositories, not in arrival order', async () => {
    const ran: string[] = [];
    let started!: () => void;
    const first = new Promise<void>((resolve) => (started = resolve));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const jobs = new MemoryJobQueue(async ({ deliveryId }) => {
      ran.push(deliveryId);
      if (deliveryId === 'acme-shop-1') {
        started();
        await held;
      }
      return true;
    });
    await jobs.add(pullRequestJob('acme-shop-1', 1, 'acme/shop'));
    await first;
    // While it runs, installation 1 opens three more pull requests on shop and one on billing;
    // installation 2, one.
    for (const n of [2, 3, 4]) await jobs.add(pullRequestJob(`acme-shop-${n}`, 1, 'acme/shop'));
    await jobs.add(pullRequestJob('acme-billing-1', 1, 'acme/billing'));
    await jobs.add(pullRequestJob('globex-site-1', 2, 'globex/site'));
    release();
    await jobs.idle();
    expect(ran).toEqual(['acme-shop-1', 'acme-shop-2', 'globex-site-1', 'acme-billing-1', 'acme-shop-3', 'acme-shop-4']);
  });
});

describe('a history backfill in the queue', () => {
  const shop = { installationId: 1, id: 7, owner: 'acme', ownerType: 'Organization', name: 'shop', defaultBranch: 'main', private: false };
  const billing = { ...shop, id: 8, name: 'billing' };

  /** A queue whose jobs wait until released, noting the order they start in. */
  function heldQueue(concurrency: number) {
    const started: string[] = [];
    const release = new Map<string, () => void>();
    const jobs = new MemoryJobQueue(async ({ deliveryId }) => {
      started.push(deliveryId);
      await new Promise<void>((resolve) => release.set(deliveryId, resolve));
      return true;
    }, concurrency);
    return { jobs, started, release: (id: string) => release.get(id)!() };
  }

  it("takes a pull request's check before the backfill steps waiting, whenever it came", async () => {
    const { jobs, started, release } = heldQueue(1);
    await jobs.add(backfillJob(1, shop, 0));
    await until(() => started.length === 1);
    // While a step runs, another repository's backfill and then a pull request are queued.
    await jobs.add(backfillJob(1, billing, 0));
    await jobs.add(pullRequestJob('acme-shop-pr', 1, 'acme/shop'));
    release('history-backfill:7:0');
    await until(() => started.length === 2);
    expect(started).toEqual(['history-backfill:7:0', 'acme-shop-pr']);
    // The step that ran queues the next: it waits behind the other backfill's, both behind checks.
    await jobs.add(backfillJob(1, shop, 1));
    await jobs.add(pullRequestJob('acme-billing-pr', 1, 'acme/billing'));
    release('acme-shop-pr');
    await until(() => started.length === 3);
    release('acme-billing-pr');
    await until(() => started.length === 4);
    release('history-backfill:8:0');
    await until(() => started.length === 5);
    release('history-backfill:7:1');
    await jobs.idle();
    expect(started).toEqual(['history-backfill:7:0', 'acme-shop-pr', 'acme-billing-pr', 'history-backfill:8:0', 'history-backfill:7:1']);
  });

  it('keeps a slot free for checks while backfills run, when it runs several jobs at once', async () => {
    const { jobs, started, release } = heldQueue(2);
    await jobs.add(backfillJob(1, shop, 0));
    await jobs.add(backfillJob(1, billing, 0));
    await until(() => started.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // One backfill step at a time: the second slot stays free...
    expect(started).toEqual(['history-backfill:7:0']);
    // ...and a check takes it at once.
    await jobs.add(pullRequestJob('acme-shop-pr', 1, 'acme/shop'));
    await until(() => started.length === 2);
    expect(started).toEqual(['history-backfill:7:0', 'acme-shop-pr']);
    release('history-backfill:7:0');
    await until(() => started.length === 3);
    release('acme-shop-pr');
    release('history-backfill:8:0');
    await jobs.idle();
    expect(started).toEqual(['history-backfill:7:0', 'acme-shop-pr', 'history-backfill:8:0']);
  });

  it('queues each step once', async () => {
    const { jobs, release } = heldQueue(1);
    expect(await jobs.add(backfillJob(1, shop, 0))).toBe(true);
    expect(await jobs.add(backfillJob(1, shop, 0))).toBe(false);
    release('history-backfill:7:0');
    await jobs.idle();
  });
});

/** Resolves once `done()` holds, looking after each turn of the event loop. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setImmediate(resolve));
}

describe('the job runner', () => {
  const deps = { engine: undefined as never, limits: configDefaults, appLogin: async () => 'parapet[bot]' };

  it('releases the delivery of a failed job and logs it with how to redeliver', async () => {
    const { lines, log } = recordingLog();
    const { calls, recorder } = deliveryRecord();
    const run = jobRunner({ ...deps, recorder, octokit: async () => { throw new Error('could not create an installation token: 502 Bad Gateway'); }, log: () => log as never });
    expect(await run(installation('d-7', ['example-org/shop-prod']))).toBe(false);
    expect(calls).toEqual(['release d-7']);
    expect(lines).toEqual([
      {
        level: 'error',
        fields: { delivery: 'd-7', event: 'installation_repositories.added', err: new Error('could not create an installation token: 502 Bad Gateway'), deliveryId: 'd-7' },
        message: "background job failed; redeliver d-7 (the App's advanced settings on GitHub) to run it again",
      },
    ]);
  });

  it('notes a failure the job already reported as a warning', async () => {
    const { lines, log } = recordingLog();
    const { calls, recorder } = deliveryRecord();
    const octokit = { request: async () => { throw new Error('HTTP 404: Not Found'); } };
    const run = jobRunner({ ...deps, recorder, octokit: async () => octokit as never, log: () => log as never });
    expect(await run(installation('d-8', ['example-org/shop-prod', 'example-org/gone']))).toBe(false);
    expect(calls).toEqual(['release d-8']);
    expect(lines.map((l) => [l.level, l.fields.repository ?? null, l.message])).toEqual([
      ['error', 'example-org/shop-prod', 'could not record the default branch'],
      ['error', 'example-org/gone', 'could not record the default branch'],
      ['warn', null, "the default branch of example-org/shop-prod, example-org/gone was not recorded; redeliver d-8 (the App's advanced settings on GitHub) to run it again"],
    ]);
  });

  it('runs the jobs of one commit one after the other, those of other commits meanwhile', async () => {
    const { log } = recordingLog();
    // Each job's first call (its commit's unfinished check runs) waits for the test; later calls fail.
    const asked: string[] = [];
    const answers: Array<(error: Error) => void> = [];
    const octokit = {
      request: (route: string, params: { ref?: string }) => {
        if (!route.startsWith('GET /repos/{owner}/{repo}/commits/{ref}/check-runs')) return Promise.reject(new Error('HTTP 503'));
        asked.push(params.ref!);
        return new Promise((_, reject) => answers.push(reject));
      },
    };
    const run = jobRunner({ ...deps, octokit: async () => octokit as never, log: () => log as never });
    const jobs = new MemoryJobQueue(run, 3);
    const pullRequest = (deliveryId: string, number: number, headSha: string): QueuedJob => ({
      deliveryId,
      event: 'pull_request.opened',
      job: { kind: 'pull-request', installationId: 4242, repo: { owner: 'example-org', repo: 'shop-prod' }, number, headSha, baseSha: 'b'.repeat(40), baseRef: 'main', defaultBranch: 'main', observedAt: '2026-11-25T09:12:00Z' },
    });
    const shared = 'a'.repeat(40);
    const other = 'c'.repeat(40);
    // Two pull requests of one head, and one of another head: three slots.
    await jobs.add(pullRequest('d-11', 11, shared));
    await jobs.add(pullRequest('d-12', 12, shared));
    await jobs.add(pullRequest('d-13', 13, other));
    await until(() => asked.length >= 2);
    expect(asked).toEqual([shared, other]);

    answers[0]!(new Error('HTTP 502'));
    await until(() => asked.length >= 3);
    expect(asked).toEqual([shared, other, shared]);
    answers[1]!(new Error('HTTP 502'));
    answers[2]!(new Error('HTTP 502'));
    await jobs.close();
  });

  it('notes a finished job, and refuses a job kind it does not know (queued by another version)', async () => {
    const { lines, log } = recordingLog();
    const { calls, recorder } = deliveryRecord();
    const run = jobRunner({ ...deps, recorder, octokit: async () => ({}) as never, log: () => log as never });
    expect(await run(installation('d-9', []))).toBe(true);
    expect(await run({ deliveryId: 'd-10', event: 'deployment.created', job: { kind: 'deployment', installationId: 4242 } as never })).toBe(false);
    expect(calls).toEqual(['finish d-9', 'release d-10']);
    expect(lines.map((l) => l.fields.err)).toEqual([new Error('unknown job kind "deployment" (a job queued by another version of Parapet?)')]);
  });
});
