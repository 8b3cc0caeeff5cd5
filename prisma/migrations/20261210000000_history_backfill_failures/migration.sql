-- A history backfill's step that keeps failing is given up after a bounded number of attempts,
-- counted in the store (a crash counts too), and listed with its error on the history page; the
-- backfill goes on with the older commits. A backfilled change names the commit's author.

-- AlterTable
ALTER TABLE "history_backfills" ADD COLUMN     "attempts" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "given_up" JSONB NOT NULL DEFAULT '[]',
ADD COLUMN     "last_error" TEXT;

-- AlterTable
ALTER TABLE "object_changes" ADD COLUMN     "author_login" TEXT,
ADD COLUMN     "author_name" TEXT;
