-- AlterTable
ALTER TABLE "risk_acceptances" ADD COLUMN     "introduced_at" TIMESTAMPTZ(3),
ADD COLUMN     "introduced_pull_request" INTEGER;
