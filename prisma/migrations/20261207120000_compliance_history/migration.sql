-- The compliance page across clusters: each enabled constraint's parameters and its template's
-- title (compared between clusters), the newest push to the default branch (a cluster whose
-- evaluation is older is behind), and the image inventory counted at each default-branch commit
-- (the trends of outdated images). The DDL is what `prisma migrate diff` generates for the schema
-- change; the statements marked "Backfill" start the new columns and history from what is stored.

-- AlterTable
ALTER TABLE "cluster_policies" ADD COLUMN     "parameters" JSONB,
ADD COLUMN     "title" TEXT;

-- AlterTable
ALTER TABLE "repositories" ADD COLUMN     "pushed_at" TIMESTAMPTZ(3),
ADD COLUMN     "pushed_sha" TEXT;

-- CreateTable
CREATE TABLE "inventory_snapshots" (
    "id" BIGSERIAL NOT NULL,
    "cluster_id" INTEGER NOT NULL,
    "commit_sha" TEXT NOT NULL,
    "observed_at" TIMESTAMPTZ(3) NOT NULL,
    "containers" INTEGER NOT NULL,
    "outdated" INTEGER NOT NULL,
    "mutable" INTEGER NOT NULL,

    CONSTRAINT "inventory_snapshots_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "inventory_snapshots_cluster_id_observed_at_key" ON "inventory_snapshots"("cluster_id", "observed_at");

-- AddForeignKey
ALTER TABLE "inventory_snapshots" ADD CONSTRAINT "inventory_snapshots_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "clusters"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Backfill: the newest push known is the newest default-branch evaluation's commit.
UPDATE "repositories" r
SET "pushed_sha" = e."sha", "pushed_at" = e."observed_at"
FROM (
    SELECT DISTINCT ON ("repository_id") "repository_id", "sha", "observed_at"
    FROM "evaluations"
    WHERE "pull_request_number" IS NULL
    ORDER BY "repository_id", "observed_at" DESC, "id" DESC
) e
WHERE e."repository_id" = r."id";

-- Backfill: the inventory stored now is each cluster's first point of history, counted as
-- src/store/inventory.ts snapshotInventories counts it.
INSERT INTO "inventory_snapshots" ("cluster_id", "commit_sha", "observed_at", "containers", "outdated", "mutable")
SELECT c."id", c."inventory_sha", c."inventory_at",
       coalesce(sum(v."containers"), 0)::INTEGER,
       coalesce(sum(v."containers") FILTER (WHERE EXISTS (
           SELECT 1 FROM "image_versions" n JOIN "clusters" nc ON nc."id" = n."cluster_id"
           WHERE nc."repository_id" = c."repository_id" AND n."image" = v."image" AND n."family" = v."family" AND n."version_key" > v."version_key")), 0)::INTEGER,
       coalesce(sum(v."containers") FILTER (WHERE v."malformed" IS NULL AND v."digest" IS NULL), 0)::INTEGER
FROM "clusters" c
LEFT JOIN "image_versions" v ON v."cluster_id" = c."id"
WHERE c."inventory_sha" IS NOT NULL AND c."inventory_at" IS NOT NULL
GROUP BY c."id";
