-- AlterTable
ALTER TABLE "repositories" ADD COLUMN     "applications_at" TIMESTAMPTZ(3),
ADD COLUMN     "applications_sha" TEXT;

-- AlterTable
ALTER TABLE "clusters" ADD COLUMN     "config_at" TIMESTAMPTZ(3),
ADD COLUMN     "config_sha" TEXT,
ADD COLUMN     "contact_email" TEXT,
ADD COLUMN     "contact_slack" TEXT,
ADD COLUMN     "cost_center" TEXT,
ADD COLUMN     "description" TEXT,
ADD COLUMN     "geographic_location" TEXT,
ADD COLUMN     "production" BOOLEAN,
ADD COLUMN     "security_level" TEXT,
ADD COLUMN     "tenant" TEXT;

-- CreateTable
CREATE TABLE "cluster_policies" (
    "id" BIGSERIAL NOT NULL,
    "cluster_id" INTEGER NOT NULL,
    "template" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "constraint" TEXT NOT NULL,
    "enforcement_action" TEXT NOT NULL,
    "version" TEXT,
    "commit_sha" TEXT NOT NULL,

    CONSTRAINT "cluster_policies_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "application_stages" (
    "id" BIGSERIAL NOT NULL,
    "repository_id" BIGINT NOT NULL,
    "application" TEXT NOT NULL,
    "stage" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "cluster" TEXT NOT NULL,
    "cluster_repository" TEXT,
    "resources_path" TEXT NOT NULL,
    "target_namespace" TEXT,
    "previous_stage" TEXT,
    "commit_sha" TEXT NOT NULL,

    CONSTRAINT "application_stages_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "cluster_policies_template_idx" ON "cluster_policies"("template");

-- CreateIndex
CREATE UNIQUE INDEX "cluster_policies_cluster_id_kind_constraint_key" ON "cluster_policies"("cluster_id", "kind", "constraint");

-- CreateIndex
CREATE UNIQUE INDEX "application_stages_repository_id_application_stage_key" ON "application_stages"("repository_id", "application", "stage");

-- AddForeignKey
ALTER TABLE "cluster_policies" ADD CONSTRAINT "cluster_policies_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "clusters"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "application_stages" ADD CONSTRAINT "application_stages_repository_id_fkey" FOREIGN KEY ("repository_id") REFERENCES "repositories"("id") ON DELETE CASCADE ON UPDATE CASCADE;

