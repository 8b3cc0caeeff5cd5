// Scale-out mode: the jobs of every App process behind a load balancer, in one BullMQ queue in
// Redis. Each process both answers webhooks (queues their jobs) and works the queue, a few jobs at a
// time (PARAPET_JOB_CONCURRENCY: while one waits out its installation's write pacing on GitHub,
// another evaluates); whichever process has a free slot takes the next job.
//
// - A delivery is one job: its id is the delivery's, so a delivery queued twice (sent to two
//   processes, or redelivered while waiting) is queued once. The database's delivery record (the
//   App's first line: `firstDelivery`) still decides whether a delivery is new.
// - One attempt: a job's failure is already reported where users look (a check run) and its
//   delivery released for a redelivery, GitHub calls are retried by Octokit and database writes
//   by the recorder (src/store/write-retry.ts); retrying the whole job would post the same failure
//   again. A job whose process died mid-way is taken by another process once, within TAKEOVER_MS
//   (BullMQ's lock and stalled-job check, timed by `lockTiming`).
// - Finished jobs are removed (Redis keeps only what is waiting or running), and so are failed
//   ones: a failure is in the logs, and a kept job would make BullMQ ignore its redelivery.
// - Fair across installations: a job's BullMQ priority is its rank among its installation's jobs
//   waiting or running (1 for the first, 2 for the second...), so the queue serves every
//   installation's first job, then every installation's second, and so on: one installation's 200
//   pull requests wait behind the others' few, not in front of them. Within one installation jobs
//   are first in, first out (BullMQ's groups, which could also rotate repositories, are BullMQ Pro's).
//   The ranks are a Redis set of job ids per installation, `parapet:fair:<installation>`, joined
//   when a job is queued and left when it ends; a job lost without ending (failed by BullMQ after
//   stalling twice) stays in it until the installation has been idle for a day, lowering that
//   installation's priority by one meanwhile. Background jobs (a history backfill's steps) take
//   BullMQ's lowest priority and no rank: every check waiting is taken before them.
import { hostname } from 'node:os';
import { Queue, Worker, type ConnectionOptions, type RedisClient } from 'bullmq';
import { redactSecrets, redactUrl, RedisUnavailableError } from '../../errors.js';
import { fairnessKey } from './fair-order.js';
import { isBackground, type JobQueue, type QueuedJob } from './jobs.js';

export const QUEUE_NAME = 'webhook-jobs';
export const QUEUE_PREFIX = 'parapet';
/**
 * The longest the job of a process that died running it waits before it is back in the queue,
 * first in line, for the other processes (README "Scale-out"); the next free job slot starts it.
 */
export const TAKEOVER_MS = 60_000;

export interface LockTiming {
  /** How long a running job's lock lasts without renewal. */
  lockDuration: number;
  /** How often the lock is renewed (BullMQ looks every half of it whether one is due). */
  lockRenewTime: number;
  /** How often each process looks for jobs whose lock ran out (BullMQ's stalled-job check). */
  stalledInterval: number;
}

/**
 * BullMQ's timing that keeps a takeover within `takeoverMs`. A dead process's lock runs out at the
 * latest `lockDuration` after its death (it was renewed at most then), and at the earliest
 * `lockDuration - lockRenewTime` after it. The stalled-job check runs once per `stalledInterval`
 * across all processes (a Redis key throttles it) and moves a job that it marked at its previous
 * run, that no renewal unmarked since, and whose lock is gone: since a check falls between the last
 * renewal and the lock's end, the first check after the end moves it. So the job is back in the
 * queue 1/2 to 5/6 of `takeoverMs` after the death (30 to 50 s for TAKEOVER_MS), first in line;
 * the last sixth is for timers that run late on a busy process (a check came 58 s after a death
 * under load with a 15 s interval) and for a free slot. (BullMQ's defaults, a 30 s lock renewed
 * every 15 s and a 30 s check, and Parapet's earlier 60/30/30 s made it up to 90 s.) A busy event
 * loop may stall for `lockDuration - lockRenewTime` (30 s) without its jobs being taken from it.
 */
export function lockTiming(takeoverMs: number): LockTiming {
  const lockDuration = Math.round((takeoverMs * 2) / 3);
  return { lockDuration, lockRenewTime: Math.round(lockDuration / 4), stalledInterval: Math.round(takeoverMs / 6) };
}
const RANK_COMMAND = 'parapetFairRank';
const LEAVE_COMMAND = 'parapetFairLeave';
/** BullMQ's lowest priority (its largest number). */
const MAX_PRIORITY = 2 ** 21 - 1;
/** How long an installation's set of ranked jobs outlives its last change (see the top of this file). */
const FAIR_SET_TTL_MS = 24 * 60 * 60 * 1000;

/** How long start-up waits for Redis before it gives up with the reason. */
const CONNECT_TIMEOUT_MS = 10_000;

const IDLE_POLL_MS = 50;
/** A connection trouble is reported once a minute while it lasts. */
const REPORT_EVERY_MS = 60_000;
/**
 * How long closing waits for Redis to take the last jobs' completion and the connections' goodbye
 * once the running jobs' work is done: Redis that is away would hold the stop forever.
 */
const CLOSE_GRACE_MS = 5_000;

interface QueueLog {
  error(fields: object, message: string): void;
}

export interface RedisJobQueueOptions {
  redisUrl: string;
  /** Runs a job (`jobRunner`: reports its own failures, never rejects). */
  run(job: QueuedJob): Promise<boolean>;
  /** Where connection trouble is reported (null: standard error). */
  log(): QueueLog | null;
  /** How long `open` waits for Redis (default 10 s). */
  connectTimeoutMs?: number;
  /** Jobs this process runs at once (PARAPET_JOB_CONCURRENCY; default 1). */
  concurrency?: number;
  /** How soon a dead process's job is taken over (default TAKEOVER_MS; tests shorten it). */
  takeoverMs?: number;
}

export class RedisJobQueue implements JobQueue {
  private readonly queue: Queue<QueuedJob>;
  private worker: Worker<QueuedJob> | undefined;
  /** The jobs this process is running. */
  private readonly running = new Set<Promise<boolean>>();
  private readonly connection: ConnectionOptions;

  private constructor(private readonly options: RedisJobQueueOptions) {
    this.connection = { url: options.redisUrl };
    this.queue = new Queue<QueuedJob>(QUEUE_NAME, {
      // Queueing fails at once while Redis is away, rather than holding the webhook's answer
      // until it is back: the handler then answers with an error and releases the delivery.
      connection: { ...this.connection, enableOfflineQueue: false },
      prefix: QUEUE_PREFIX,
      defaultJobOptions: { attempts: 1, removeOnComplete: true, removeOnFail: true },
    });
    this.queue.on('error', (error) => this.report(error, 'the job queue lost Redis'));
  }

  /** A queue on `redisUrl`, reachable (or a rejection saying why not); it works jobs once `start` is called. */
  static async open(options: RedisJobQueueOptions): Promise<RedisJobQueue> {
    const queue = new RedisJobQueue(options);
    const timeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        queue.queue.waitUntilReady(),
        new Promise((_, reject) => {
          const message = `no answer from Redis at ${redactUrl(options.redisUrl)} (REDIS_URL) within ${timeoutMs / 1000} s`;
          timer = setTimeout(() => reject(new RedisUnavailableError(message)), timeoutMs);
        }),
      ]);
    } catch (error) {
      await queue.queue.close().catch(() => {});
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return queue;
  }

  /** Starts working the queue (after the App is loaded: the runner needs its logger). */
  start(): void {
    if (this.worker) return;
    const work = async (data: QueuedJob, jobId: string | undefined) => {
      const running = this.options.run(data);
      this.running.add(running);
      try {
        await running;
      } finally {
        this.running.delete(running);
        // Its installation's next jobs move up a rank. A Redis that is away forgets nothing here
        // that matters: the rank only orders, and the set expires.
        if (jobId && !isBackground(data.job)) await this.leaveRank(data, jobId).catch((error: Error) => this.report(error, 'the job queue lost Redis'));
      }
    };
    this.worker = new Worker<QueuedJob>(QUEUE_NAME, async (job) => work(job.data, job.id), {
      connection: this.connection,
      prefix: QUEUE_PREFIX,
      // Stored on each job it takes (`processedBy`): which process runs, or ran, a job.
      name: workerName(),
      concurrency: this.options.concurrency ?? 1,
      ...lockTiming(this.options.takeoverMs ?? TAKEOVER_MS),
    });
    this.worker.on('error', (error) => this.report(error, 'the job worker lost Redis'));
  }

  async add(job: QueuedJob): Promise<boolean> {
    const jobId = bullJobId(job.deliveryId);
    // BullMQ ignores a job whose id it holds (waiting or running) on its own, also when two
    // processes add it at the same moment; looking first only tells the caller (for the logs).
    if (await this.queue.getJob(jobId)) return false;
    const priority = isBackground(job.job) ? MAX_PRIORITY : await this.rank(job, jobId);
    await this.queue.add(job.event, job, { jobId, priority });
    return true;
  }

  /** The job's rank among its installation's jobs waiting or running, itself included (see the top of this file). */
  private async rank(job: QueuedJob, jobId: string): Promise<number> {
    const client = await this.fairnessClient();
    const rank = Number(await client.runCommand(RANK_COMMAND, [fairSetKey(job), jobId, FAIR_SET_TTL_MS]));
    // Below background jobs' priority, however many wait.
    return Math.min(Math.max(1, rank), MAX_PRIORITY - 1);
  }

  private async leaveRank(job: QueuedJob, jobId: string): Promise<void> {
    const client = await this.fairnessClient();
    await client.runCommand(LEAVE_COMMAND, [fairSetKey(job), jobId]);
  }

  private fairness: Promise<RedisClient> | undefined;

  /** The queue's Redis connection, with the ranking scripts defined on it. */
  private fairnessClient(): Promise<RedisClient> {
    this.fairness ??= this.queue.getBackend().client.then(
      (client) => {
        // Scripts, so that joining and counting is one step: a delivery added by two processes at
        // once is one member, and the set's expiry is renewed with it.
        client.defineCommand(RANK_COMMAND, {
          numberOfKeys: 1,
          lua: "redis.call('SADD', KEYS[1], ARGV[1]); redis.call('PEXPIRE', KEYS[1], ARGV[2]); return redis.call('SCARD', KEYS[1])",
        });
        client.defineCommand(LEAVE_COMMAND, { numberOfKeys: 1, lua: "return redis.call('SREM', KEYS[1], ARGV[1])" });
        return client;
      },
      (error: unknown) => {
        this.fairness = undefined;
        throw error;
      },
    );
    return this.fairness;
  }

  /** Resolves when the queue, shared by every process, has nothing waiting or running. */
  async idle(): Promise<void> {
    for (;;) {
      const counts = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
      if (Object.values(counts).every((n) => n === 0)) return;
      await new Promise((resolve) => setTimeout(resolve, IDLE_POLL_MS));
    }
  }

  /** Takes no more jobs, waits for the running ones; what waits stays in Redis for the other processes. */
  async close(): Promise<void> {
    const { worker, queue } = this;
    if (worker) {
      // Graceful: no more jobs are taken, the running ones finish and are noted complete in Redis.
      const closing = worker.close();
      await Promise.all(this.running);
      if (!(await settlesWithin(closing, CLOSE_GRACE_MS))) {
        this.report(new Error(`no answer within ${CLOSE_GRACE_MS / 1000} s`), 'closing the job worker without Redis');
        // Stops its reconnecting; what Redis did not hear of, another process's stalled-job check finds.
        void worker.disconnect().catch(() => {});
      }
    }
    // A Redis that is away refuses the goodbye (or never answers): the connection is dropped.
    if (!(await settlesWithin(queue.close(), CLOSE_GRACE_MS))) void queue.disconnect().catch(() => {});
  }

  /** When each message was last reported: ioredis reconnects every few seconds while Redis is away. */
  private readonly reported = new Map<string, number>();

  private report(error: Error, message: string): void {
    const now = Date.now();
    if (now - (this.reported.get(message) ?? -Infinity) < REPORT_EVERY_MS) return;
    this.reported.set(message, now);
    const log = this.options.log();
    if (log) log.error({ err: error }, message);
    else process.stderr.write(`parapet: ${redactSecrets(`${message}: ${error.message}`)}\n`);
  }
}

/** Whether `promise` settles within `ms` (false: rejected or still pending). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function fairSetKey(job: QueuedJob): string {
  return `${QUEUE_PREFIX}:fair:${fairnessKey(job.job).installation}`;
}

/** This process as its jobs name it in Redis: host and process id. */
export function workerName(): string {
  return `${hostname()}:${process.pid}`;
}

/** BullMQ job ids may not contain `:` (its key separator) nor be integers: the delivery id, encoded and prefixed. */
export function bullJobId(deliveryId: string): string {
  return `delivery-${encodeURIComponent(deliveryId)}`;
}
