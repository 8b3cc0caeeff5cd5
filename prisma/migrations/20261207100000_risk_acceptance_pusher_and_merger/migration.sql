-- Who GitHub says brought in the commit that introduced a risk acceptance (its commit author is
-- whatever the commit says): who pushed it, who opened its pull request and who merged it.
-- AlterTable
ALTER TABLE "risk_acceptances" ADD COLUMN     "introduced_merged_by" TEXT,
ADD COLUMN     "introduced_opened_by" TEXT,
ADD COLUMN     "introduced_pushed_by" TEXT;
