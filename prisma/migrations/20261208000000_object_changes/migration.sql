-- Who changed what and when: the objects each cluster applies on the default branch as last
-- recorded (object_states), and every object added, modified, removed or renamed since
-- (object_changes), with the commit, pull request and people GitHub reported. A cluster's history
-- begins with the first state recorded after this migration (history_sha): nothing is backfilled
-- here, the App reads the branch's recent commits when it is installed.

-- AlterTable
ALTER TABLE "clusters" ADD COLUMN     "history_at" TIMESTAMPTZ(3),
ADD COLUMN     "history_sha" TEXT,
ADD COLUMN     "objects_at" TIMESTAMPTZ(3),
ADD COLUMN     "objects_sha" TEXT;

-- CreateTable
CREATE TABLE "object_states" (
    "id" BIGSERIAL NOT NULL,
    "cluster_id" INTEGER NOT NULL,
    "api_group" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "namespace" TEXT NOT NULL DEFAULT '',
    "name" TEXT NOT NULL,
    "api_version" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "rename_key" TEXT NOT NULL,
    "content" JSONB NOT NULL,
    "application" TEXT,
    "stage" TEXT,
    "images" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "file" TEXT,

    CONSTRAINT "object_states_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "object_changes" (
    "id" BIGSERIAL NOT NULL,
    "repository_id" BIGINT NOT NULL,
    "cluster_id" INTEGER NOT NULL,
    "change" TEXT NOT NULL,
    "api_group" TEXT NOT NULL,
    "api_version" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "namespace" TEXT NOT NULL DEFAULT '',
    "name" TEXT NOT NULL,
    "previous_name" TEXT,
    "application" TEXT,
    "stage" TEXT,
    "fields" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "diff" JSONB NOT NULL,
    "images" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "file" TEXT,
    "commit_sha" TEXT NOT NULL,
    "previous_sha" TEXT,
    "pull_request" INTEGER,
    "opened_by" TEXT,
    "merged_by" TEXT,
    "pushed_by" TEXT,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,
    "backfilled" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "object_changes_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "object_states_cluster_id_api_group_kind_namespace_name_key" ON "object_states"("cluster_id", "api_group", "kind", "namespace", "name");

-- CreateIndex
CREATE INDEX "object_changes_repository_id_changed_at_id_idx" ON "object_changes"("repository_id", "changed_at" DESC, "id");

-- CreateIndex
CREATE INDEX "object_changes_cluster_id_kind_namespace_name_idx" ON "object_changes"("cluster_id", "kind", "namespace", "name");

-- CreateIndex
CREATE INDEX "object_changes_cluster_id_kind_namespace_previous_name_idx" ON "object_changes"("cluster_id", "kind", "namespace", "previous_name");

-- AddForeignKey
ALTER TABLE "object_states" ADD CONSTRAINT "object_states_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "clusters"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "object_changes" ADD CONSTRAINT "object_changes_repository_id_fkey" FOREIGN KEY ("repository_id") REFERENCES "repositories"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "object_changes" ADD CONSTRAINT "object_changes_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "clusters"("id") ON DELETE CASCADE ON UPDATE CASCADE;
