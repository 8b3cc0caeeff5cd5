// The composition of the App's Recorder port with the database store.
import { finishDelivery, markDelivered, recordDefaultBranchPush, recordDefaultBranchReport, recordPullRequestReport, releaseDelivery, type Database } from './store/index.js';
import { receiveBranchEvents } from './store/branch-order.js';
import { retryWrite, type WriteRetryOptions } from './store/write-retry.js';
import { riskAcceptanceInputs } from './store/record-report.js';
import { acceptancesToAttribute } from './store/risk-acceptances.js';
import {
  backfillState,
  giveUpBackfillStep,
  historyStart,
  noteBackfillFailure,
  planBackfill,
  recordBackfillStep,
  startBackfillAttempt,
  unfinishedBackfills,
  type ClusterObjects,
} from './store/backfill.js';
import type { AnnotationToAttribute, Recorder } from './github/recorder.js';
import type { Report } from './engine/index.js';

/** The clusters of a report whose objects were kept, by name. */
function clusterObjects(report: Report): Map<string, ClusterObjects> {
  const applications = report.config?.applications ?? [];
  return new Map(report.clusters.filter((c) => c.objects).map((c) => [c.name, { objects: c.objects!, applications }]));
}

/**
 * The App's Recorder port, backed by the database. The default branch's state is retried
 * (`retry`) while the database cannot take it: nothing on GitHub shows it otherwise, and the
 * next push may be days away. A pull request's record is not: its check run says it failed.
 */
export function databaseRecorder(db: Database, options: { retry?: WriteRetryOptions } = {}): Recorder {
  return {
    firstDelivery: (id, event) => markDelivered(db.prisma, id, event),
    pullRequestEvaluated: async (evaluation) => {
      await recordPullRequestReport(db.prisma, evaluation);
    },
    releaseDelivery: (id) => releaseDelivery(db.prisma, id),
    finishDelivery: (id) => finishDelivery(db.prisma, id),
    branchEventsReceived: async (repositories) => {
      const sequences = await receiveBranchEvents(db.prisma, repositories);
      return new Map([...sequences].map(([id, sequence]) => [Number(id), Number(sequence)]));
    },
    defaultBranchPushed: (push) => recordDefaultBranchPush(db.prisma, push),
    defaultBranchEvaluated: (evaluation) => retryWrite(() => recordDefaultBranchReport(db.prisma, evaluation), options.retry),
    history: {
      backfillPlan: async (repository, commits) => {
        const planned = await backfillState(db.prisma, repository.id);
        const state = planned ?? (await historyStart(db.prisma, repository.id).then(async (start) => start && planBackfill(db.prisma, { repositoryId: repository.id, start, commits: await commits(start.sha) })));
        return state && { shas: state.commits.map((c) => c.sha), done: state.done, finished: state.finished };
      },
      backfillStep: ({ repository, step, newer, older }) => recordBackfillStep(db.prisma, { repositoryId: repository.id, step, newer: clusterObjects(newer), older: clusterObjects(older) }),
      backfillAttempt: ({ repository, step }) => startBackfillAttempt(db.prisma, { repositoryId: repository.id, step }),
      backfillFailed: ({ repository, step, error }) => noteBackfillFailure(db.prisma, { repositoryId: repository.id, step, error }),
      backfillGiveUp: ({ repository, step, error, attempts }) => giveUpBackfillStep(db.prisma, { repositoryId: repository.id, step, error, attempts }),
      unfinishedBackfills: () => unfinishedBackfills(db.prisma),
    },
    annotationsToAttribute: async ({ repository, report }) => {
      const wanted = await acceptancesToAttribute(db.prisma, repository.id, riskAcceptanceInputs(report));
      // One annotation often accepts several (cluster, policy, object) entries: asked for once,
      // as changed when it is for any of them (those come first).
      const locations = new Map<string, AnnotationToAttribute>();
      for (const { file, line, need } of wanted) {
        const key = `${line}:${file}`;
        if (line && !locations.has(key)) locations.set(key, { file, line, changed: need !== 'unknown' });
      }
      return [...locations.values()];
    },
  };
}
