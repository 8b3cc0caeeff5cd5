// Work done after the webhook is answered: GitHub wants a response within seconds, an evaluation
// may take longer. Jobs run one at a time (evaluation is CPU-bound and shares one worker pool), and
// a delivery seen before (`X-GitHub-Delivery`, as when GitHub or an operator redelivers it) is not
// run twice while this process remembers it.
import type { Logger } from 'probot';

const REMEMBERED_DELIVERIES = 10_000;

export class JobQueue {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;
  private readonly seen = new Set<string>();

  constructor(private readonly log: Pick<Logger, 'error'>) {}

  /** Queues `job` unless `deliveryId` was queued before; returns whether it was queued. */
  add(deliveryId: string, job: () => Promise<void>): boolean {
    if (this.seen.has(deliveryId)) return false;
    this.seen.add(deliveryId);
    if (this.seen.size > REMEMBERED_DELIVERIES) this.seen.delete(this.seen.values().next().value!);
    this.pending++;
    this.tail = this.tail
      .then(job)
      .catch((error: unknown) => this.log.error({ err: error, deliveryId }, 'background job failed'))
      .finally(() => this.pending--);
    return true;
  }

  /** Resolves when every queued job has finished (tests, and a graceful stop). */
  async idle(): Promise<void> {
    while (this.pending > 0) await this.tail;
  }
}
