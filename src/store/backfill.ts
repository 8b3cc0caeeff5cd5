// The history read back from the default branch after the App is installed on a repository, so
// that the history page is not empty on day one. Its plan (the last first-parent commits, newest
// first, from the commit the repository's history began at) and how far it got are a row of
// history_backfills; each commit is one step: its changes against its first parent, for every
// cluster whose history still begins at that commit, written in the same transaction as the step's
// progress. A step done is never done again (a redelivery, a second process, a restart), and a
// restart resumes at the next one.
//
// A step that fails is tried again a few times, its attempts counted here before each one (so a
// step that crashes the process counts as well), and then given up: its commit is listed with the
// error (given_up, shown on the history page), the clusters' history goes on from its parent, and
// the next step reads the older commits. A given-up step stays given up: the plan's commits are
// fixed, so the same commit would fail again; nothing retries it after a restart.
//
// Time: a backfilled commit's changes are stamped with its commit date, but never at or after the
// (later) record they precede: the history's order is the branch's first-parent order, and what
// was recorded from pushes stays after it.
import type { Prisma, PrismaClient } from '@prisma/client';
import type { AppliedObject, ApplicationConfig } from '../engine/index.js';
import { changesBetween, type ChangeAttribution } from './changes.js';
import type { RepositoryRow } from './record-report.js';

/** A commit to read, as GitHub reported it. */
export interface BackfillCommitInput {
  sha: string;
  /** Its commit date (as unverified as its author); null when GitHub gave none. */
  committedAt: Date | null;
  attribution: Omit<ChangeAttribution, 'pushedBy'>;
  /** Its author: the GitHub user its email belongs to, and its name; null when GitHub gave none. */
  author: CommitAuthor | null;
}

export interface CommitAuthor {
  login: string | null;
  name: string | null;
}

/** A planned commit, as stored: its changes' stamp is `at`. */
export interface BackfillCommit {
  sha: string;
  at: string;
  pullRequest: number | null;
  openedBy: string | null;
  mergedBy: string | null;
  /** Absent in a plan made before authors were read. */
  authorLogin?: string | null;
  authorName?: string | null;
}

/** A step given up after its attempts: the commit whose changes are not known, and why. */
export interface GivenUpCommit {
  sha: string;
  /** The parent it was to be compared with. */
  parent: string | null;
  error: string;
  attempts: number;
}

export interface BackfillState {
  startSha: string;
  /** Newest first; `commits[0]` is startSha. */
  commits: BackfillCommit[];
  /** Steps passed (recorded, or given up): the next step compares commits[done] with commits[done + 1]. */
  done: number;
  finished: boolean;
  /** Attempts at step `done` so far, and why the last one failed. */
  attempts: number;
  lastError: string | null;
  givenUp: GivenUpCommit[];
}

/** One cluster's objects at a commit, as rendered. */
export interface ClusterObjects {
  objects: readonly AppliedObject[];
  applications: readonly ApplicationConfig[];
}

/** Where the repository's recorded history begins: the commit of its clusters' earliest first state; null when none is recorded. */
export async function historyStart(prisma: PrismaClient, repositoryId: number | bigint): Promise<{ sha: string; at: Date } | null> {
  const cluster = await prisma.cluster.findFirst({
    where: { repositoryId: BigInt(repositoryId), historySha: { not: null }, historyAt: { not: null } },
    select: { historySha: true, historyAt: true },
    orderBy: [{ historyAt: 'asc' }, { id: 'asc' }],
  });
  return cluster ? { sha: cluster.historySha!, at: cluster.historyAt! } : null;
}

export async function backfillState(prisma: PrismaClient | Prisma.TransactionClient, repositoryId: number | bigint): Promise<BackfillState | null> {
  const row = await prisma.historyBackfill.findUnique({ where: { repositoryId: BigInt(repositoryId) } });
  return (
    row && {
      startSha: row.startSha,
      commits: row.commits as unknown as BackfillCommit[],
      done: row.done,
      finished: row.finishedAt !== null,
      attempts: row.attempts,
      lastError: row.lastError,
      givenUp: row.givenUp as unknown as GivenUpCommit[],
    }
  );
}

/**
 * The repository's backfill: the one planned before, else this plan (`commits`, newest first, from
 * `start`, the commit the history begins at, stamped before `start.at`). Planned once: of two
 * concurrent plans the first written is kept.
 */
export async function planBackfill(prisma: PrismaClient, input: { repositoryId: number | bigint; start: { sha: string; at: Date }; commits: readonly BackfillCommitInput[] }): Promise<BackfillState> {
  if (input.commits[0]?.sha !== input.start.sha) throw new Error(`a backfill plan begins with the commit the history begins at (${input.start.sha}), not ${input.commits[0]?.sha ?? 'nothing'}`);
  let before = input.start.at.getTime();
  const commits: BackfillCommit[] = input.commits.map((c) => {
    const committed = c.committedAt?.getTime();
    before = Math.min(committed !== undefined && !Number.isNaN(committed) ? committed : before - 1, before - 1);
    return { sha: c.sha, at: new Date(before).toISOString(), ...c.attribution, authorLogin: c.author?.login ?? null, authorName: c.author?.name ?? null };
  });
  await prisma.historyBackfill.createMany({
    data: [{ repositoryId: BigInt(input.repositoryId), startSha: input.start.sha, commits: commits as unknown as Prisma.InputJsonValue, finishedAt: commits.length < 2 ? new Date() : null }],
    skipDuplicates: true,
  });
  return (await backfillState(prisma, input.repositoryId))!;
}

/**
 * Records step `step`: the changes commit `commits[step]` made against `commits[step + 1]` (its
 * first parent), for each cluster whose history begins at `commits[step]` and that both commits
 * have; those clusters' history then begins at the parent. `newer` and `older` are the clusters'
 * objects at each commit, by name. Nothing is written when the step is not the next one (done
 * already, by a redelivery or another process).
 */
export async function recordBackfillStep(
  prisma: PrismaClient,
  input: { repositoryId: number | bigint; step: number; newer: ReadonlyMap<string, ClusterObjects>; older: ReadonlyMap<string, ClusterObjects> },
): Promise<{ recorded: boolean; changes: number; finished: boolean }> {
  const repositoryId = BigInt(input.repositoryId);
  return prisma.$transaction(
    async (tx) => {
      const [row] = await tx.$queryRaw<{ done: number; commits: BackfillCommit[]; finished_at: Date | null }[]>`
        SELECT done, commits, finished_at FROM history_backfills WHERE repository_id = ${repositoryId} FOR UPDATE`;
      if (!row || row.done !== input.step || row.finished_at !== null) return { recorded: false, changes: 0, finished: row?.finished_at != null };
      const newer = row.commits[input.step];
      const older = row.commits[input.step + 1];
      let changes = 0;
      let extended = 0;
      if (newer && older) {
        const clusters = await tx.$queryRaw<{ id: number; name: string }[]>`
          SELECT id, name FROM clusters WHERE repository_id = ${repositoryId} AND history_sha = ${newer.sha} ORDER BY name FOR UPDATE`;
        for (const cluster of clusters) {
          const after = input.newer.get(cluster.name);
          const before = input.older.get(cluster.name);
          // The cluster did not exist at the parent (or could not be read there): its history begins here.
          if (!after || !before) continue;
          const rows = await changesBetween({
            older: before.objects,
            newer: after.objects,
            cluster: cluster.name,
            applications: { older: before.applications, newer: after.applications },
            common: {
              repositoryId,
              clusterId: cluster.id,
              commitSha: newer.sha,
              previousSha: older.sha,
              pullRequest: newer.pullRequest,
              openedBy: newer.openedBy,
              mergedBy: newer.mergedBy,
              // A commit read from the history came with no push Parapet received.
              pushedBy: null,
              authorLogin: newer.authorLogin ?? null,
              authorName: newer.authorName ?? null,
              changedAt: new Date(newer.at),
              backfilled: true,
            },
          });
          for (let i = 0; i < rows.length; i += 1000) await tx.objectChange.createMany({ data: rows.slice(i, i + 1000) });
          await tx.cluster.update({ where: { id: cluster.id }, data: { historySha: older.sha, historyAt: new Date(older.at) } });
          changes += rows.length;
          extended++;
        }
      }
      const done = extended > 0 ? input.step + 1 : input.step;
      // Over when no cluster goes further back, or the plan's oldest commit is reached.
      const finished = extended === 0 || input.step + 2 >= row.commits.length;
      await tx.historyBackfill.update({ where: { repositoryId }, data: { done, attempts: 0, lastError: null, ...(finished ? { finishedAt: new Date() } : {}) } });
      return { recorded: true, changes, finished };
    },
    { timeout: 60_000, maxWait: 60_000 },
  );
}

/**
 * Counts an attempt at step `step`, before it is made: the attempts so far, this one included, and
 * why the last one failed; null when the step is not the next one (done, or given up, already).
 */
export async function startBackfillAttempt(prisma: PrismaClient, input: { repositoryId: number | bigint; step: number }): Promise<{ attempts: number; lastError: string | null } | null> {
  const [row] = await prisma.$queryRaw<{ attempts: number; last_error: string | null }[]>`
    UPDATE history_backfills SET attempts = attempts + 1
    WHERE repository_id = ${BigInt(input.repositoryId)} AND done = ${input.step} AND finished_at IS NULL
    RETURNING attempts, last_error`;
  return row ? { attempts: row.attempts, lastError: row.last_error } : null;
}

/** Notes why an attempt at step `step` failed (its next attempt, or the step given up, reports it). */
export async function noteBackfillFailure(prisma: PrismaClient, input: { repositoryId: number | bigint; step: number; error: string }): Promise<void> {
  await prisma.historyBackfill.updateMany({ where: { repositoryId: BigInt(input.repositoryId), done: input.step, finishedAt: null }, data: { lastError: input.error } });
}

/**
 * Gives step `step` up after `attempts`: `commits[step]`'s changes are not read. It is listed with `error`, and the
 * clusters whose history begins at it go on from its parent (their history has a gap there, which
 * the list says), so that the next step reads the older commits. Nothing is written when the step
 * is not the next one.
 */
export async function giveUpBackfillStep(prisma: PrismaClient, input: { repositoryId: number | bigint; step: number; error: string; attempts: number }): Promise<{ recorded: boolean; finished: boolean }> {
  const repositoryId = BigInt(input.repositoryId);
  return prisma.$transaction(
    async (tx) => {
      const [row] = await tx.$queryRaw<{ done: number; commits: BackfillCommit[]; finished_at: Date | null; given_up: GivenUpCommit[] }[]>`
        SELECT done, commits, finished_at, given_up FROM history_backfills WHERE repository_id = ${repositoryId} FOR UPDATE`;
      if (!row || row.done !== input.step || row.finished_at !== null) return { recorded: false, finished: row?.finished_at != null };
      const newer = row.commits[input.step];
      const older = row.commits[input.step + 1];
      let moved = 0;
      if (newer && older) {
        moved = (await tx.cluster.updateMany({ where: { repositoryId, historySha: newer.sha }, data: { historySha: older.sha, historyAt: new Date(older.at) } })).count;
      }
      const givenUp: GivenUpCommit[] = [...row.given_up, { sha: newer?.sha ?? '', parent: older?.sha ?? null, error: input.error, attempts: input.attempts }];
      const finished = moved === 0 || input.step + 2 >= row.commits.length;
      await tx.historyBackfill.update({
        where: { repositoryId },
        data: { done: input.step + 1, attempts: 0, lastError: null, givenUp: givenUp as unknown as Prisma.InputJsonValue, ...(finished ? { finishedAt: new Date() } : {}) },
      });
      return { recorded: true, finished };
    },
    { timeout: 60_000, maxWait: 60_000 },
  );
}

/** The repositories whose backfill is not finished (a restart resumes them). */
export async function unfinishedBackfills(prisma: PrismaClient): Promise<RepositoryRow[]> {
  const rows = await prisma.historyBackfill.findMany({
    where: { finishedAt: null },
    select: { repository: { select: { id: true, installationId: true, owner: true, name: true, defaultBranch: true, private: true, installation: { select: { accountType: true } } } } },
    orderBy: { createdAt: 'asc' },
  });
  return rows.map(({ repository: r }) => ({
    installationId: Number(r.installationId),
    id: Number(r.id),
    owner: r.owner,
    ownerType: r.installation.accountType,
    name: r.name,
    defaultBranch: r.defaultBranch,
    private: r.private,
  }));
}
