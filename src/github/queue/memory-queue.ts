// Work done after the webhook is answered: GitHub wants a response within seconds, an evaluation
// may take longer. This is the queue of a single process (the default): jobs run one at a time
// (evaluation is CPU-bound and shares one worker pool), and a delivery seen before
// (`X-GitHub-Delivery`, as when GitHub or an operator redelivers it) is not run twice while this
// process remembers it, unless its job failed: a failed job's delivery is forgotten, so its
// redelivery runs it again. Scale-out mode shares the jobs of several processes through Redis
// instead (queue/redis-queue.ts); both run a job with the same runner (queue/jobs.ts).
import { redactSecrets } from '../../errors.js';
import type { JobQueue, QueuedJob } from './jobs.js';

const REMEMBERED_DELIVERIES = 10_000;


export class MemoryJobQueue implements JobQueue {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;
  private readonly seen = new Set<string>();

  /** `run` does the job (`jobRunner`, which reports its failures itself); false: it failed. */
  constructor(private readonly run: (job: QueuedJob) => Promise<boolean>) {}

  start(): void {
    // Jobs run as they are added.
  }

  async add(job: QueuedJob): Promise<boolean> {
    const { deliveryId } = job;
    if (this.seen.has(deliveryId)) return false;
    this.seen.add(deliveryId);
    if (this.seen.size > REMEMBERED_DELIVERIES) this.seen.delete(this.seen.values().next().value!);
    this.pending++;
    this.tail = this.tail
      .then(() => this.run(job))
      .then(
        (done) => {
          if (!done) this.seen.delete(deliveryId);
        },
        // A runner that rejects anyway: the queue goes on (a rejected tail would skip every later
        // job), and the delivery is forgotten so that its redelivery runs it.
        (error: unknown) => {
          this.seen.delete(deliveryId);
          process.stderr.write(`parapet: background job of delivery ${deliveryId} failed: ${redactSecrets(String(error))}\n`);
        },
      )
      .finally(() => this.pending--);
    return true;
  }

  async idle(): Promise<void> {
    while (this.pending > 0) await this.tail;
  }

  async close(): Promise<void> {
    await this.idle();
  }
}
