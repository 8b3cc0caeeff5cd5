// The order of a repository's default-branch records: push order, as GitHub reports it, never the
// commit dates authors set (a rebase-merge, a cherry-pick or a commit made before the App was
// installed carries an older date than the state it follows). Each push or installation event
// gets a sequence number when it is received; a record then claims the branch for its commit:
//
//   - a push whose `before` is the recorded commit follows it: newer, whatever its sequence;
//   - a commit the branch has already left (its `after` among the recorded earlier commits) is
//     older: an out-of-order or redelivered push; unless the push is forced (a branch reset back);
//   - otherwise the receipt sequence decides: an installation's snapshot is older than every push
//     received after it.
//
// A claim stamps the branch with a time that only increases; the records it writes (evaluation,
// inventory, configuration, stages, register) carry that stamp, and each keeps the newest.
import type { Prisma, PrismaClient } from '@prisma/client';
import { repositoryNameKey, upsertInstallation } from './repositories.js';

/** The commits remembered as left by the branch, for recognising late pushes. */
export const BRANCH_HISTORY = 100;

/** A repository as a default-branch event names it. */
export interface BranchEventRepository {
  id: number | bigint;
  installationId: number | bigint;
  owner: string;
  ownerType: string;
  name: string;
}

/** Where a record's commit stands in the branch's history, as the event that reported it says. */
export interface BranchPosition {
  /** The commit the push moved the branch from; null for an installation's snapshot or a new branch. */
  before: string | null;
  /** The push rewrote the branch (`forced`). */
  forced: boolean;
  /** The event's receipt sequence (`receiveBranchEvent`); absent when it could not be given at receipt. */
  sequence?: number | bigint | null;
}

export interface BranchClaim {
  /** The stamp of every record of this commit: later than any earlier claim's. */
  at: Date;
  sequence: bigint;
}

/**
 * The next receipt sequence of each repository's default-branch events, by repository id: three
 * statements however many repositories an installation adds (the webhook is answered after
 * this). A repository seen for the first time gets its row; one whose name another recorded
 * repository holds gets none yet (its sequence is then given when its record claims the branch).
 */
export async function receiveBranchEvents(prisma: PrismaClient, repositories: readonly BranchEventRepository[]): Promise<Map<bigint, bigint>> {
  const ids = [...new Set(repositories.map((r) => BigInt(r.id)))];
  if (ids.length === 0) return new Map();
  for (const installation of new Map(repositories.map((r) => [BigInt(r.installationId), r])).values()) {
    await upsertInstallation(prisma, { id: installation.installationId, accountLogin: installation.owner, accountType: installation.ownerType });
  }
  await prisma.repository.createMany({
    data: repositories.map((r) => ({ id: BigInt(r.id), installationId: BigInt(r.installationId), owner: r.owner, name: r.name, nameKey: repositoryNameKey(r.owner, r.name) })),
    skipDuplicates: true,
  });
  const rows = await prisma.$queryRaw<{ id: bigint; branch_receipts: bigint }[]>`
    UPDATE repositories SET branch_receipts = branch_receipts + 1 WHERE id = ANY(${ids}::bigint[]) RETURNING id, branch_receipts`;
  return new Map(rows.map((r) => [BigInt(r.id), BigInt(r.branch_receipts)]));
}

async function nextReceipt(db: PrismaClient | Prisma.TransactionClient, repositoryId: bigint): Promise<bigint> {
  const [row] = await db.$queryRaw<{ branch_receipts: bigint }[]>`
    UPDATE repositories SET branch_receipts = branch_receipts + 1 WHERE id = ${repositoryId} RETURNING branch_receipts`;
  if (!row) throw new Error(`repository ${repositoryId} is not recorded: its default-branch events cannot be ordered`);
  return BigInt(row.branch_receipts);
}

/**
 * Claims the repository's default-branch record for commit `sha` (the repository's row must
 * exist): the stamp to write its records with, or null when a newer state of the branch is
 * recorded already. Claims of one repository take turns on its row.
 */
/** `at`: the time to stamp (at least); the database's clock when absent (imports and tests set it). */
export async function claimDefaultBranch(prisma: PrismaClient, repositoryId: number | bigint, sha: string, position: BranchPosition, at?: Date): Promise<BranchClaim | null> {
  const id = BigInt(repositoryId);
  return prisma.$transaction(async (tx) => {
    const [row] = await tx.$queryRaw<{ branch_sha: string | null; branch_sequence: bigint | null; branch_history: string[] | null }[]>`
      SELECT branch_sha, branch_sequence, branch_history FROM repositories WHERE id = ${id} FOR UPDATE`;
    if (!row) throw new Error(`repository ${id} is not recorded: its default branch cannot be claimed`);
    const sequence = position.sequence != null ? BigInt(position.sequence) : await nextReceipt(tx, id);
    const history = row.branch_history ?? [];
    if (!newer(row, history, sha, position, sequence)) return null;
    const left = [row.branch_sha, position.before].filter((c): c is string => c !== null && c !== sha);
    const remembered = [...new Set([...left, ...history])].filter((c) => c !== sha).slice(0, BRANCH_HISTORY);
    // Strictly increasing, also within a millisecond (the column's precision) and if the clock stalls.
    const [stamp] = await tx.$queryRaw<{ branch_at: Date }[]>`
      UPDATE repositories
      SET branch_sha = ${sha}, branch_sequence = ${sequence}, branch_history = ${remembered}::text[],
          branch_at = GREATEST(COALESCE(${at ?? null}::timestamptz, date_trunc('milliseconds', clock_timestamp())), branch_at + interval '1 millisecond')
      WHERE id = ${id}
      RETURNING branch_at`;
    return { at: stamp!.branch_at, sequence };
  });
}

function newer(recorded: { branch_sha: string | null; branch_sequence: bigint | null }, history: readonly string[], sha: string, position: BranchPosition, sequence: bigint): boolean {
  if (recorded.branch_sha === null) return true;
  // It moves the branch on from the recorded commit, or records that very commit again (a retry).
  if (position.before === recorded.branch_sha || sha === recorded.branch_sha) return true;
  // The branch was at this commit before the recorded one: an older push, delivered late.
  if (history.includes(sha) && !position.forced) return false;
  return recorded.branch_sequence === null || sequence > recorded.branch_sequence;
}
