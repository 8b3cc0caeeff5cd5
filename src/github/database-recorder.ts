// The composition of the App's Recorder port with the database store.
import { markDelivered, recordDefaultBranchReport, recordPullRequestReport, type Database } from '../store/index.js';
import type { Recorder } from './recorder.js';

/** The App's Recorder port, backed by the database. */
export function databaseRecorder(db: Database): Recorder {
  return {
    firstDelivery: (id, event) => markDelivered(db.prisma, id, event),
    pullRequestEvaluated: async (evaluation) => {
      await recordPullRequestReport(db.prisma, evaluation);
    },
    defaultBranchEvaluated: (evaluation) => recordDefaultBranchReport(db.prisma, evaluation),
  };
}
