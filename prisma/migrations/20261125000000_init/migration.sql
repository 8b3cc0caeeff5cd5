-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "installations" (
    "id" BIGINT NOT NULL,
    "account_login" TEXT NOT NULL,
    "account_type" TEXT NOT NULL,
    "suspended_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "installations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "repositories" (
    "id" BIGINT NOT NULL,
    "installation_id" BIGINT NOT NULL,
    "owner" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "default_branch" TEXT NOT NULL DEFAULT 'main',
    "private" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "repositories_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "clusters" (
    "id" SERIAL NOT NULL,
    "repository_id" BIGINT NOT NULL,
    "name" TEXT NOT NULL,
    "config" TEXT,
    "inventory_sha" TEXT,
    "inventory_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "clusters_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "evaluations" (
    "id" BIGSERIAL NOT NULL,
    "repository_id" BIGINT NOT NULL,
    "sha" TEXT NOT NULL,
    "pull_request_number" INTEGER,
    "ref" TEXT,
    "cluster_id" INTEGER,
    "conclusion" TEXT NOT NULL,
    "violation_count" INTEGER NOT NULL DEFAULT 0,
    "new_violation_count" INTEGER NOT NULL DEFAULT 0,
    "accepted_count" INTEGER NOT NULL DEFAULT 0,
    "error_count" INTEGER NOT NULL DEFAULT 0,
    "observed_at" TIMESTAMPTZ(3) NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "finished_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "evaluations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "pull_requests" (
    "repository_id" BIGINT NOT NULL,
    "number" INTEGER NOT NULL,
    "head_sha" TEXT NOT NULL,
    "head_observed_at" TIMESTAMPTZ(3) NOT NULL,
    "evaluation_id" BIGINT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "pull_requests_pkey" PRIMARY KEY ("repository_id","number")
);

-- CreateTable
CREATE TABLE "violations" (
    "id" BIGSERIAL NOT NULL,
    "evaluation_id" BIGINT NOT NULL,
    "cluster_id" INTEGER,
    "policy" TEXT NOT NULL,
    "constraint" TEXT NOT NULL,
    "enforcement_action" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "file" TEXT NOT NULL,
    "line" INTEGER NOT NULL,
    "object_api_version" TEXT NOT NULL,
    "object_kind" TEXT NOT NULL,
    "object_namespace" TEXT,
    "object_name" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "status" TEXT,
    "acceptance_level" TEXT,

    CONSTRAINT "violations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "risk_acceptances" (
    "id" BIGSERIAL NOT NULL,
    "repository_id" BIGINT NOT NULL,
    "cluster_id" INTEGER NOT NULL,
    "policy" TEXT NOT NULL,
    "object_kind" TEXT NOT NULL,
    "object_namespace" TEXT NOT NULL DEFAULT '',
    "object_name" TEXT NOT NULL,
    "level" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "file" TEXT NOT NULL,
    "line" INTEGER,
    "introduced_sha" TEXT,
    "introduced_by" TEXT,
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "first_seen_sha" TEXT NOT NULL,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "last_seen_sha" TEXT NOT NULL,
    "removed_at" TIMESTAMPTZ(3),
    "removed_sha" TEXT,

    CONSTRAINT "risk_acceptances_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "image_uses" (
    "id" BIGSERIAL NOT NULL,
    "cluster_id" INTEGER NOT NULL,
    "namespace" TEXT NOT NULL DEFAULT '',
    "workload_kind" TEXT NOT NULL,
    "workload_name" TEXT NOT NULL,
    "container" TEXT NOT NULL,
    "reference" TEXT NOT NULL,
    "registry" TEXT,
    "repository" TEXT,
    "tag" TEXT,
    "digest" TEXT,
    "malformed" TEXT,
    "commit_sha" TEXT NOT NULL,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "image_uses_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_deliveries" (
    "id" TEXT NOT NULL,
    "event" TEXT,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "repositories_installation_id_idx" ON "repositories"("installation_id");

-- CreateIndex
CREATE UNIQUE INDEX "repositories_owner_name_key" ON "repositories"("owner", "name");

-- CreateIndex
CREATE UNIQUE INDEX "clusters_repository_id_name_key" ON "clusters"("repository_id", "name");

-- CreateIndex
CREATE INDEX "evaluations_repository_id_finished_at_idx" ON "evaluations"("repository_id", "finished_at" DESC);

-- CreateIndex
CREATE INDEX "evaluations_repository_id_pull_request_number_idx" ON "evaluations"("repository_id", "pull_request_number");

-- CreateIndex
CREATE INDEX "evaluations_repository_id_sha_idx" ON "evaluations"("repository_id", "sha");

-- CreateIndex
CREATE INDEX "evaluations_cluster_id_idx" ON "evaluations"("cluster_id");

-- CreateIndex
CREATE INDEX "pull_requests_evaluation_id_idx" ON "pull_requests"("evaluation_id");

-- CreateIndex
CREATE INDEX "violations_evaluation_id_idx" ON "violations"("evaluation_id");

-- CreateIndex
CREATE INDEX "violations_cluster_id_policy_idx" ON "violations"("cluster_id", "policy");

-- CreateIndex
CREATE INDEX "violations_fingerprint_idx" ON "violations"("fingerprint");

-- CreateIndex
CREATE INDEX "risk_acceptances_repository_id_removed_at_idx" ON "risk_acceptances"("repository_id", "removed_at");

-- CreateIndex
CREATE UNIQUE INDEX "risk_acceptances_cluster_id_policy_object_kind_object_names_key" ON "risk_acceptances"("cluster_id", "policy", "object_kind", "object_namespace", "object_name");

-- CreateIndex
CREATE INDEX "image_uses_cluster_id_namespace_idx" ON "image_uses"("cluster_id", "namespace");

-- CreateIndex
CREATE INDEX "image_uses_repository_tag_idx" ON "image_uses"("repository", "tag");

-- CreateIndex
CREATE INDEX "webhook_deliveries_received_at_idx" ON "webhook_deliveries"("received_at");

-- AddForeignKey
ALTER TABLE "repositories" ADD CONSTRAINT "repositories_installation_id_fkey" FOREIGN KEY ("installation_id") REFERENCES "installations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "clusters" ADD CONSTRAINT "clusters_repository_id_fkey" FOREIGN KEY ("repository_id") REFERENCES "repositories"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "evaluations" ADD CONSTRAINT "evaluations_repository_id_fkey" FOREIGN KEY ("repository_id") REFERENCES "repositories"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "evaluations" ADD CONSTRAINT "evaluations_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "clusters"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "pull_requests" ADD CONSTRAINT "pull_requests_repository_id_fkey" FOREIGN KEY ("repository_id") REFERENCES "repositories"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "pull_requests" ADD CONSTRAINT "pull_requests_evaluation_id_fkey" FOREIGN KEY ("evaluation_id") REFERENCES "evaluations"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "violations" ADD CONSTRAINT "violations_evaluation_id_fkey" FOREIGN KEY ("evaluation_id") REFERENCES "evaluations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "violations" ADD CONSTRAINT "violations_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "clusters"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "risk_acceptances" ADD CONSTRAINT "risk_acceptances_repository_id_fkey" FOREIGN KEY ("repository_id") REFERENCES "repositories"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "risk_acceptances" ADD CONSTRAINT "risk_acceptances_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "clusters"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "image_uses" ADD CONSTRAINT "image_uses_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "clusters"("id") ON DELETE CASCADE ON UPDATE CASCADE;

