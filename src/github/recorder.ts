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

/** Where a commit stands in the default branch's history, as the event that reported it says. */
export interface BranchPosition {
  /** The commit a push moved the branch from; null for an installation's snapshot or a new branch. */
  before: string | null;
  /** The push rewrote the branch. */
  forced: boolean;
  /** The event's receipt sequence (`Recorder.branchEventReceived`); null when it could not be given at receipt. */
  sequence: number | null;
}

/** A repository as a default-branch event names it (an installation's does not say its default branch). */
export type BranchEventRepository = Pick<RepositoryInfo, 'installationId' | 'id' | 'owner' | 'ownerType' | 'name'>;

export interface DefaultBranchEvaluation {
  repository: RepositoryInfo;
  sha: string;
  /** Orders the branch's records: push order, never commit dates. */
  position: BranchPosition;
  report: Report;
  startedAt: Date;
  /** Who introduced the risk-acceptance annotations the register asked for, where GitHub told. */
  introductions?: AnnotationIntroduction[];
  /** Who made this state of the branch: the commit's pull request, who opened and merged it, who pushed it. */
  attribution?: CommitAttribution;
}

/** The pull request GitHub associates with a commit and the people it reports; null where it did not say. */
export interface CommitAttribution {
  pullRequest: number | null;
  openedBy: string | null;
  mergedBy: string | null;
  pushedBy: string | null;
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
  /**
   * The commit's author: GitHub login when GitHub knows the author's email, else the author's
   * name. Whoever makes a commit writes its author: unverified.
   */
  commitAuthor: string | null;
  /** When the commit says it was committed: as unverified as its author. */
  at: Date | null;
  /** The pull request that merged the commit. */
  pullRequest: number | null;
  /** Who GitHub says pushed the commit to the default branch (the push's sender), when the commit came with a push Parapet received. */
  pushedBy: string | null;
  /** Who GitHub says opened and merged that pull request. */
  openedBy: string | null;
  mergedBy: string | null;
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
  /**
   * The next sequence number of each repository's default-branch events (a push, an
   * installation), given when the event is received: the order of the branch's records. By
   * repository id; a repository missing gets its number when it is recorded.
   */
  branchEventsReceived(repositories: BranchEventRepository[]): Promise<Map<number, number>>;
  /**
   * The default branch's state: evaluation, image inventory and risk-acceptance register; false
   * when a newer state of the branch was recorded already (nothing is written then).
   */
  defaultBranchEvaluated(evaluation: DefaultBranchEvaluation): Promise<boolean>;
  /**
   * The annotations of `report`'s risk acceptances whose introducer the register would record:
   * new, returned and reworded acceptances first, then those still unknown.
   */
  annotationsToAttribute(input: { repository: RepositoryInfo; report: Report }): Promise<AnnotationToAttribute[]>;
}
