-- The default branch's records are ordered by push order (receipt sequence, before -> after),
-- no longer by the commit dates authors set.
-- AlterTable
ALTER TABLE "repositories" ADD COLUMN     "branch_at" TIMESTAMPTZ(3),
ADD COLUMN     "branch_history" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "branch_receipts" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "branch_sequence" BIGINT,
ADD COLUMN     "branch_sha" TEXT;

-- The stamps written so far are commit dates, which authors set, some in the future: capped at
-- now, so that the first record ordered by push order (stamped after this) replaces them.
UPDATE "clusters" SET "inventory_at" = LEAST("inventory_at", now()), "config_at" = LEAST("config_at", now());
UPDATE "repositories" SET "applications_at" = LEAST("applications_at", now());
