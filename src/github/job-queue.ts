// Work done after the webhook is answered: GitHub wants a response within seconds, an evaluation
// may take longer. Jobs run one at a time (evaluation is CPU-bound and shares one worker pool), and
// a delivery seen before (`X-GitHub-Delivery`, as when GitHub or an operator redelivers it) is not
// run twice while this process remembers it, unless its job failed: a failed job's delivery is
// forgotten, so its redelivery runs it again.
import type { Logger } from 'probot';

const REMEMBERED_DELIVERIES = 10_000;

/**
 * A job's failure that was already logged with its context and shown where users look (a check
 * run): the queue only notes that the delivery is released.
 */
export class ReportedJobFailure extends Error {
  override name = 'ReportedJobFailure';
}

type JobLog = Pick<Logger, 'error' | 'warn'>;

export class JobQueue {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;
  private readonly seen = new Set<string>();

  /** `log`: the logger, or how to get it when a job fails (Probot creates its logger only when it loads the App). */
  constructor(private readonly log: JobLog | (() => JobLog | null)) {}

  /** Queues `job` unless `deliveryId` was queued before; returns whether it was queued. */
  add(deliveryId: string, job: () => Promise<void>): boolean {
    if (this.seen.has(deliveryId)) return false;
    this.seen.add(deliveryId);
    if (this.seen.size > REMEMBERED_DELIVERIES) this.seen.delete(this.seen.values().next().value!);
    this.pending++;
    this.tail = this.tail
      .then(job)
      .catch((error: unknown) => {
        this.seen.delete(deliveryId);
        const advice = `redeliver ${deliveryId} (the App's advanced settings on GitHub) to run it again`;
        // Whatever happens here, the queue goes on: a rejected tail would skip every later job.
        try {
          const log = typeof this.log === 'function' ? this.log() : this.log;
          if (!log) process.stderr.write(`parapet: background job failed: ${String(error)}; ${advice}\n`);
          else if (error instanceof ReportedJobFailure) log.warn({ deliveryId }, `${error.message}; ${advice}`);
          else log.error({ err: error, deliveryId }, `background job failed; ${advice}`);
        } catch {
          // a logger that throws: nothing more to do
        }
      })
      .finally(() => this.pending--);
    return true;
  }

  /** Resolves when every queued job has finished (tests, and a graceful stop). */
  async idle(): Promise<void> {
    while (this.pending > 0) await this.tail;
  }
}
