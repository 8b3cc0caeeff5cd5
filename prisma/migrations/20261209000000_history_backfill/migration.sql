-- The history read back from the default branch after the App is installed on a repository
-- (PARAPET_HISTORY_BACKFILL commits, src/store/backfill.ts): the plan and how far it got, so that a
-- restart resumes it and a redelivery does not repeat it.

-- CreateTable
CREATE TABLE "history_backfills" (
    "repository_id" BIGINT NOT NULL,
    "start_sha" TEXT NOT NULL,
    "commits" JSONB NOT NULL,
    "done" INTEGER NOT NULL DEFAULT 0,
    "finished_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "history_backfills_pkey" PRIMARY KEY ("repository_id")
);

-- AddForeignKey
ALTER TABLE "history_backfills" ADD CONSTRAINT "history_backfills_repository_id_fkey" FOREIGN KEY ("repository_id") REFERENCES "repositories"("id") ON DELETE CASCADE ON UPDATE CASCADE;
