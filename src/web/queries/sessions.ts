// The overview's sign-in sessions, as rows. What a row holds is decided by src/web/session.ts: the
// hash of the session id (never the id) and the user's GitHub token encrypted (never in clear).
import type { PrismaClient } from '@prisma/client';

export interface SessionRow {
  idHash: string;
  login: string;
  encryptedToken: string;
  csrf: string;
  createdAt: Date;
  expiresAt: Date;
}

export async function insertSession(db: PrismaClient, row: SessionRow): Promise<void> {
  await db.session.create({ data: row });
}

export async function findSession(db: PrismaClient, idHash: string): Promise<SessionRow | null> {
  return db.session.findUnique({ where: { idHash } });
}

/** Ends a session (sign-out, a token GitHub no longer accepts); nothing when it is gone already. */
export async function deleteSession(db: PrismaClient, idHash: string): Promise<void> {
  await db.session.deleteMany({ where: { idHash } });
}

/** Removes the sessions expired at `now`; returns how many. */
export async function deleteExpiredSessions(db: PrismaClient, now: Date): Promise<number> {
  const { count } = await db.session.deleteMany({ where: { expiresAt: { lte: now } } });
  return count;
}
