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
  /** Who introduced the risk-acceptance annotations the register asked for, where GitHub told. */
  introductions?: AnnotationIntroduction[];
}

/** Where a risk acceptance's annotation is written (the line of its key). */
export interface AnnotationLocation {
  file: string;
  line: number;
}

/** An annotation whose introducer the register wants. */
export interface AnnotationToAttribute extends AnnotationLocation {
  /**
   * The register had it at its last commit reading otherwise, or not at all (or removed): it
   * changed since, so the commits of this push may tell who changed it. False for one the
   * register has as is with its introducer unknown: a commit of this push touching its file did
   * not write it.
   */
  changed: boolean;
}

/** The commit that last changed an annotation, as found on GitHub. */
export interface AnnotationIntroduction extends AnnotationLocation {
  sha: string;
  /** GitHub login when GitHub knows the author's email, else the author's name. */
  by: string | null;
  /** When the commit was committed. */
  at: Date | null;
  /** The pull request that merged the commit. */
  pullRequest: number | null;
}

export interface Recorder {
  /** Records a webhook delivery; false when it was processed before (a redelivery, even across restarts). */
  firstDelivery(id: string, event: string): Promise<boolean>;
  /** Forgets a delivery whose job failed, so that its redelivery runs it again. */
  releaseDelivery(id: string): Promise<void>;
  /** Notes that a delivery's job finished (until then, a redelivery after a crash runs it again). */
  finishDelivery(id: string): Promise<void>;
  pullRequestEvaluated(evaluation: PullRequestEvaluation): Promise<void>;
  /** A push to the default branch, before it is evaluated (the overview says which clusters are behind it). */
  defaultBranchPushed?(push: { repository: RepositoryInfo; sha: string; observedAt: Date }): Promise<void>;
  /** The default branch's state: evaluation, image inventory and risk-acceptance register. */
  defaultBranchEvaluated(evaluation: DefaultBranchEvaluation): Promise<void>;
  /**
   * The annotations of `report`'s risk acceptances whose introducer the register would record:
   * new, returned and reworded acceptances first, then those still unknown.
   */
  annotationsToAttribute(input: { repository: RepositoryInfo; report: Report }): Promise<AnnotationToAttribute[]>;
}
