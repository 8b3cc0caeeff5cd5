-- The image inventory's version summary (image_versions), and per container: its manifest file and
-- line, its summary row, and the text the search box matches; the containers list's order as an index. The DDL is what `prisma migrate diff`
-- generates for the schema change; the statements marked "Backfill" derive the new columns of an
-- inventory recorded before this migration, so an existing overview keeps working unchanged.

-- DropIndex
DROP INDEX "image_uses_cluster_id_namespace_idx";

-- DropIndex
DROP INDEX "image_uses_repository_tag_idx";

-- AlterTable
ALTER TABLE "image_uses" ADD COLUMN     "file" TEXT,
ADD COLUMN     "line" INTEGER,
ADD COLUMN     "search_text" TEXT,
ADD COLUMN     "version_id" BIGINT;

-- CreateTable
CREATE TABLE "image_versions" (
    "id" BIGSERIAL NOT NULL,
    "cluster_id" INTEGER NOT NULL,
    "namespace" TEXT NOT NULL DEFAULT '',
    "image" TEXT NOT NULL,
    "tag" TEXT,
    "digest" TEXT,
    "malformed" TEXT,
    "family" TEXT,
    "version_key" INTEGER[],
    "containers" INTEGER NOT NULL,

    CONSTRAINT "image_versions_pkey" PRIMARY KEY ("id")
);

-- Backfill: one summary row per (cluster, namespace, image, tag, digest), with the tag's version
-- family and key as src/web/versions.ts parseVersionTag/versionKey compute them (same expression:
-- an optional v, one to four dot-separated numbers of up to nine digits, then -, _ or + and the family).
INSERT INTO "image_versions" ("cluster_id", "namespace", "image", "tag", "digest", "malformed", "family", "version_key", "containers")
SELECT g.cluster_id, g.namespace, g.image, g.tag, g.digest, g.malformed,
       CASE WHEN g.m IS NULL THEN NULL ELSE lower(coalesce(g.m[2], '')) END,
       CASE WHEN g.m IS NULL THEN '{}'::INTEGER[]
            ELSE string_to_array(g.m[1], '.')::INTEGER[] || array_fill(0, ARRAY[4 - cardinality(string_to_array(g.m[1], '.'))]) END,
       g.containers
FROM (
    SELECT u.cluster_id, u.namespace, coalesce(u.registry || '/' || u.repository, u.reference) AS image, u.tag, u.digest, min(u.malformed) AS malformed,
           CASE WHEN u.repository IS NULL THEN NULL
                ELSE regexp_match(u.tag, '^[vV]?([0-9]{1,9}(?:\.[0-9]{1,9}){0,3})(?:[-_+](.+))?$') END AS m,
           count(*)::INTEGER AS containers
    FROM "image_uses" u
    GROUP BY 1, 2, 3, 4, 5, 7, u.malformed IS NULL
) g;

-- Backfill
UPDATE "image_uses" u
SET "version_id" = v."id",
    "search_text" = lower(u.namespace || chr(31) || u.workload_kind || '/' || u.workload_name || chr(31) || u.container || chr(31) || u.reference || chr(31) || v.image)
FROM "image_versions" v
WHERE v.cluster_id = u.cluster_id AND v.namespace = u.namespace AND v.image = coalesce(u.registry || '/' || u.repository, u.reference)
  AND v.tag IS NOT DISTINCT FROM u.tag AND v.digest IS NOT DISTINCT FROM u.digest AND (v.malformed IS NULL) = (u.malformed IS NULL);

-- AlterTable
ALTER TABLE "image_uses" ALTER COLUMN "search_text" SET NOT NULL,
ALTER COLUMN "version_id" SET NOT NULL;

-- CreateIndex
CREATE INDEX "image_versions_cluster_id_namespace_idx" ON "image_versions"("cluster_id", "namespace");

-- CreateIndex
CREATE INDEX "image_uses_list_order_idx" ON "image_uses"("cluster_id", "namespace", "workload_name", "workload_kind", "container", "id");

-- CreateIndex
CREATE INDEX "image_uses_version_id_idx" ON "image_uses"("version_id");

-- AddForeignKey
ALTER TABLE "image_uses" ADD CONSTRAINT "image_uses_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "image_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "image_versions" ADD CONSTRAINT "image_versions_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "clusters"("id") ON DELETE CASCADE ON UPDATE CASCADE;
