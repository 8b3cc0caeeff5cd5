// Work done after the webhook is answered: GitHub wants a response within seconds, an evaluation
// may take longer. This is the queue of a single process (the default): jobs run a few at a time
// (PARAPET_JOB_CONCURRENCY: GitHub paces each installation's writes a second apart, and while one
// job waits that out another evaluates on the shared worker pool), and a delivery seen before
// (`X-GitHub-Delivery`, as when GitHub or an operator redelivers it) is not run twice while this
// process remembers it, unless its job failed: a failed job's delivery is forgotten, so its
// redelivery runs it again. Scale-out mode shares the jobs of several processes through Redis
// instead (queue/redis-queue.ts); both run a job with the same runner (queue/jobs.ts). Waiting jobs
// are taken round-robin across installations and repositories (queue/fair-order.ts), not in
// arrival order, so one installation's burst does not hold up the others. Background jobs (a
// history backfill's steps) wait in a lane of their own, taken only when no other job waits, and
// leave a slot free for checks when the process runs several jobs at once.
import { redactSecrets } from '../../errors.js';
import { FairQueue, fairnessKey } from './fair-order.js';
import { isBackground, type JobQueue, type QueuedJob } from './jobs.js';

const REMEMBERED_DELIVERIES = 10_000;


export class MemoryJobQueue implements JobQueue {
  private readonly waiting = new FairQueue<QueuedJob>();
  private readonly background = new FairQueue<QueuedJob>();
  private running = 0;
  private runningBackground = 0;
  private readonly seen = new Set<string>();
  /** Called when the last job finished and none waits. */
  private readonly idlers: Array<() => void> = [];

  /**
   * `run` does the job (`jobRunner`, which reports its failures itself); false: it failed.
   * At most `concurrency` jobs run at once.
   */
  constructor(
    private readonly run: (job: QueuedJob) => Promise<boolean>,
    private readonly concurrency = 1,
  ) {}

  start(): void {
    // Jobs run as they are added.
  }

  async add(job: QueuedJob): Promise<boolean> {
    const { deliveryId } = job;
    if (this.seen.has(deliveryId)) return false;
    this.seen.add(deliveryId);
    if (this.seen.size > REMEMBERED_DELIVERIES) this.seen.delete(this.seen.values().next().value!);
    (isBackground(job.job) ? this.background : this.waiting).push(job, fairnessKey(job.job));
    this.next();
    return true;
  }

  async idle(): Promise<void> {
    if (this.running === 0 && this.waiting.size === 0 && this.background.size === 0) return;
    await new Promise<void>((resolve) => this.idlers.push(resolve));
  }

  async close(): Promise<void> {
    await this.idle();
  }

  private next(): void {
    while (this.running < this.concurrency && this.waiting.size > 0) {
      const job = this.waiting.shift()!;
      this.running++;
      void this.work(job, false);
    }
    // One slot is kept for checks (unless there is only one); background jobs take the rest.
    const backgroundSlots = Math.max(1, this.concurrency - 1);
    while (this.running < this.concurrency && this.waiting.size === 0 && this.background.size > 0 && this.runningBackground < backgroundSlots) {
      const job = this.background.shift()!;
      this.running++;
      this.runningBackground++;
      void this.work(job, true);
    }
    if (this.running === 0 && this.background.size === 0) for (const idle of this.idlers.splice(0)) idle();
  }

  private async work(job: QueuedJob, background: boolean): Promise<void> {
    const { deliveryId } = job;
    try {
      if (!(await this.run(job))) this.seen.delete(deliveryId);
    } catch (error) {
      // A runner that rejects anyway: the queue goes on, and the delivery is forgotten so that
      // its redelivery runs it.
      this.seen.delete(deliveryId);
      process.stderr.write(`parapet: background job of delivery ${deliveryId} failed: ${redactSecrets(String(error))}\n`);
    } finally {
      this.running--;
      if (background) this.runningBackground--;
      this.next();
    }
  }
}
