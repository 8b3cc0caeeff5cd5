-- Who introduced a risk acceptance, as GitHub says: who pushed its commit to the default branch,
-- who opened the pull request that merged it and who merged it. The commit's author is what the
-- commit says (anyone can write any author into a commit): its column says so.
ALTER TABLE "risk_acceptances" RENAME COLUMN "introduced_by" TO "introduced_commit_author";

-- AlterTable
ALTER TABLE "risk_acceptances" ADD COLUMN     "introduced_merged_by" TEXT,
ADD COLUMN     "introduced_opened_by" TEXT,
ADD COLUMN     "introduced_pushed_by" TEXT;
