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
//   again. A job whose process died mid-way (its lock expired) is taken by another process once
//   (BullMQ's stalled-job check).
// - Finished jobs are removed (Redis keeps only what is waiting or running), and so are failed
//   ones: a failure is in the logs, and a kept job would make BullMQ ignore its redelivery.
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import { redactUrl, RedisUnavailableError } from '../../errors.js';
import type { JobQueue, QueuedJob } from './jobs.js';

export const QUEUE_NAME = 'webhook-jobs';
export const QUEUE_PREFIX = 'parapet';
/**
 * How long a running job's lock lasts without renewal (BullMQ renews it every half of it): long
 * enough for a busy event loop (a large archive being read) not to look like a dead process,
 * short enough for another process to take over a dead one's job within a couple of minutes.
 */
export const LOCK_DURATION_MS = 60_000;
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
  /** A running job's lock (default LOCK_DURATION_MS); a dead process's job is taken over within about 1.5× of it. */
  lockDurationMs?: number;
  /** Jobs this process runs at once (PARAPET_JOB_CONCURRENCY; default 1). */
  concurrency?: number;
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
    const work = async (data: QueuedJob) => {
      const running = this.options.run(data);
      this.running.add(running);
      try {
        await running;
      } finally {
        this.running.delete(running);
      }
    };
    this.worker = new Worker<QueuedJob>(QUEUE_NAME, async (job) => work(job.data), {
      connection: this.connection,
      prefix: QUEUE_PREFIX,
      concurrency: this.options.concurrency ?? 1,
      lockDuration: this.options.lockDurationMs ?? LOCK_DURATION_MS,
      // How often this process looks for jobs whose lock expired (their process died): twice per lock.
      stalledInterval: (this.options.lockDurationMs ?? LOCK_DURATION_MS) / 2,
    });
    this.worker.on('error', (error) => this.report(error, 'the job worker lost Redis'));
  }

  async add(job: QueuedJob): Promise<boolean> {
    const jobId = bullJobId(job.deliveryId);
    // BullMQ ignores a job whose id it holds (waiting or running) on its own, also when two
    // processes add it at the same moment; looking first only tells the caller (for the logs).
    if (await this.queue.getJob(jobId)) return false;
    await this.queue.add(job.event, job, { jobId });
    return true;
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
    else process.stderr.write(`parapet: ${message}: ${error.message}\n`);
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

/** BullMQ job ids may not contain `:` (its key separator) nor be integers: the delivery id, encoded and prefixed. */
export function bullJobId(deliveryId: string): string {
  return `delivery-${encodeURIComponent(deliveryId)}`;
}
