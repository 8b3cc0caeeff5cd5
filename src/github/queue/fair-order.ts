// The order jobs are taken in, so that one installation's burst of pull requests (or one busy
// repository) does not delay everybody else's checks: round-robin across installations, and within
// an installation round-robin across its repositories; first in, first out within a repository.
// The memory queue takes its jobs in this order. The Redis queue cannot reorder jobs it has handed
// to BullMQ (groups, which would, are BullMQ Pro's); it uses `fairRank` as the job's priority.
import type { JobDescriptor } from './jobs.js';

/** Who a job is fair to: its installation and its repository (`''` for installation-wide work). */
export interface FairnessKey {
  installation: string;
  repository: string;
}

export function fairnessKey(job: JobDescriptor): FairnessKey {
  const installation = String(job.installationId);
  switch (job.kind) {
    case 'pull-request':
    case 'rerequested':
      return { installation, repository: `${job.repo.owner}/${job.repo.repo}`.toLowerCase() };
    case 'default-branch':
    case 'history-backfill':
      return { installation, repository: `${job.repository.owner}/${job.repository.name}`.toLowerCase() };
    default:
      return { installation, repository: '' };
  }
}

/**
 * Items taken round-robin: each installation in turn, and within one, each of its repositories in
 * turn. An installation (or repository) that had nothing waiting joins the end of the round.
 */
export class FairQueue<T> {
  /** Installations with something waiting, in turn order; each with its repositories in turn order. */
  private readonly installations = new Map<string, Map<string, T[]>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(item: T, key: FairnessKey): void {
    let repositories = this.installations.get(key.installation);
    if (!repositories) this.installations.set(key.installation, (repositories = new Map()));
    let items = repositories.get(key.repository);
    if (!items) repositories.set(key.repository, (items = []));
    items.push(item);
    this.count++;
  }

  shift(): T | undefined {
    // Maps iterate in insertion order: the first entry's turn is now, and re-inserting it ends the round.
    const next = this.installations.entries().next();
    if (next.done) return undefined;
    const [installation, repositories] = next.value;
    const [repository, items] = repositories.entries().next().value!;
    const item = items.shift()!;
    this.count--;
    repositories.delete(repository);
    if (items.length > 0) repositories.set(repository, items);
    this.installations.delete(installation);
    if (repositories.size > 0) this.installations.set(installation, repositories);
    return item;
  }
}
