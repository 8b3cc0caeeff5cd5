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

/** A commit of the branch's history to read back, as GitHub reported it. */
export interface BackfillCommit {
  sha: string;
  /** Its commit date (unverified, as its author); null when GitHub gave none. */
  committedAt: Date | null;
  /** The pull request GitHub associates with it and who opened and merged it (no pusher: no push was received). */
  attribution: Omit<CommitAttribution, 'pushedBy'>;
  /** Its author: the GitHub user GitHub maps its email to, and the name it carries; null when GitHub gave none. */
  author: { login: string | null; name: string | null } | null;
}

/** A repository's history backfill, as planned and as far as it got. */
export interface BackfillProgress {
  /** The commits to read, newest first: the first is where the recorded history began. */
  shas: string[];
  /** Steps passed (recorded, or given up): the next step reads `shas[done + 1]`. */
  done: number;
  finished: boolean;
}

/** Where the history read back from the default branch at installation is kept (the database). */
export interface HistoryBackfillRecorder {
  /**
   * The repository's backfill: the one planned before, else planned now from `commits(sha)` (the
   * commits from `sha`, where the recorded history begins, newest first); null when the repository
   * has no recorded history to extend.
   */
  backfillPlan(repository: RepositoryInfo, commits: (sha: string) => Promise<BackfillCommit[]>): Promise<BackfillProgress | null>;
  /**
   * Records step `step` (`shas[step]`'s changes against `shas[step + 1]`, from their reports); not
   * recorded when that step is not the next one (done by a redelivery or another process).
   */
  backfillStep(input: { repository: RepositoryInfo; step: number; newer: Report; older: Report }): Promise<{ recorded: boolean; changes: number; finished: boolean }>;
  /**
   * Counts an attempt at step `step` before it is made: the attempts so far (this one included,
   * and those a crash or a restart cut short) and why the last failed; null when the step is not
   * the next one.
   */
  backfillAttempt(input: { repository: RepositoryInfo; step: number }): Promise<{ attempts: number; lastError: string | null } | null>;
  /** Notes why an attempt at step `step` failed. */
  backfillFailed(input: { repository: RepositoryInfo; step: number; error: string }): Promise<void>;
  /** Gives step `step` up with `error`: listed as a commit that could not be read; the next step reads the older commits. */
  backfillGiveUp(input: { repository: RepositoryInfo; step: number; error: string; attempts: number }): Promise<{ recorded: boolean; finished: boolean }>;
  /** Repositories whose backfill is not finished: a restart resumes them. */
  unfinishedBackfills(): Promise<RepositoryInfo[]>;
}

export interface Recorder {
  /** The history backfill's store; without it nothing is backfilled. */
  history?: HistoryBackfillRecorder;
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
