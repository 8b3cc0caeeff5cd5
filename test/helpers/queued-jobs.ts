// Job descriptions as the App's handlers queue them, for tests of the queues.
import type { QueuedJob } from '../../src/github/queue/jobs.js';

/** A pull request job of installation `installationId` on repository `fullName`. */
export function pullRequestJob(deliveryId: string, installationId: number, fullName: string): QueuedJob {
  const [owner, repo] = fullName.split('/') as [string, string];
  return {
    deliveryId,
    event: 'pull_request.opened',
    job: { kind: 'pull-request', installationId, repo: { owner, repo }, number: 1, headSha: 'a'.repeat(40), baseSha: 'b'.repeat(40), baseRef: 'main', defaultBranch: 'main', observedAt: '2024-05-01T12:00:00Z' },
  };
}
