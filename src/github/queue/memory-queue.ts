// Work done after the webhook is answered: GitHub wants a response within seconds, an evaluation
// may take longer. This is the queue of a single process (the default): jobs run one at a time
// (evaluation is CPU-bound and shares one worker pool), and a delivery seen before
// (`X-GitHub-Delivery`, as when GitHub or an operator redelivers it) is not run twice while this
// process remembers it, unless its job failed: a failed job's delivery is forgotten, so its
// redelivery runs it again. Scale-out mode shares the jobs of several processes through Redis
// instead (queue/redis-queue.ts); both run a job with the same runner (queue/jobs.ts). Waiting jobs
// are taken round-robin across installations and repositories (queue/fair-order.ts), not in
// arrival order, so one installation's burst does not hold up the others.
import { redactSecrets } from '../../errors.js';
import { FairQueue, fairnessKey } from './fair-order.js';
import type { JobQueue, QueuedJob } from './jobs.js';

const REMEMBERED_DELIVERIES = 10_000;


export class MemoryJobQueue implements JobQueue {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;
  private readonly seen = new Set<string>();
  private readonly waiting = new FairQueue<QueuedJob>();

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
    this.waiting.push(job, fairnessKey(job.job));
    // One step per job added; each step runs whichever job's turn it is then.
    this.tail = this.tail.then(() => this.runNext()).finally(() => this.pending--);
    return true;
  }

  private async runNext(): Promise<void> {
    const job = this.waiting.shift()!;
    try {
      if (!(await this.run(job))) this.seen.delete(job.deliveryId);
    } catch (error) {
      // A runner that rejects anyway: the queue goes on (a rejected tail would skip every later
      // job), and the delivery is forgotten so that its redelivery runs it.
      this.seen.delete(job.deliveryId);
      process.stderr.write(`parapet: background job of delivery ${job.deliveryId} failed: ${redactSecrets(String(error))}\n`);
    }
  }

  async idle(): Promise<void> {
    while (this.pending > 0) await this.tail;
  }

  async close(): Promise<void> {
    await this.idle();
  }
}
