// What the App records, as a port: the composition root (main.ts) backs it with the database; the
// App itself knows nothing of storage. Without a recorder the App still answers pull requests.
import type { Report } from '../engine/index.js';

export interface RepositoryInfo {
  installationId: number;
  id: number;
  owner: string;
  ownerType: string;
  name: string;
  defaultBranch: string;
  private: boolean;
}

export interface PullRequestEvaluation {
  repository: RepositoryInfo;
  pullRequest: number;
  sha: string;
  report: Report;
  /** Check run conclusion per cluster. */
  conclusions: Map<string, string>;
  /** When the webhook reported this head: decides which SHA of a pull request is the newest. */
  observedAt: Date;
  startedAt: Date;
}

export interface DefaultBranchEvaluation {
  repository: RepositoryInfo;
  sha: string;
  report: Report;
  observedAt: Date;
  startedAt: Date;
}

export interface Recorder {
  /** Records a webhook delivery; false when it was processed before (a redelivery, even across restarts). */
  firstDelivery(id: string, event: string): Promise<boolean>;
  pullRequestEvaluated(evaluation: PullRequestEvaluation): Promise<void>;
  /** The default branch's state: evaluation, image inventory and risk-acceptance register. */
  defaultBranchEvaluated(evaluation: DefaultBranchEvaluation): Promise<void>;
}
