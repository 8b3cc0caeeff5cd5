// The store: Parapet's database (Prisma over PostgreSQL or embedded PGlite), one module per aggregate.
export { closeDatabase, openDatabase, readDatabaseConfig, type Database, type DatabaseConfig } from './database.js';
export { ensureCluster, upsertInstallation, upsertRepository, type Db, type InstallationInput, type RepositoryInput } from './repositories.js';
export { pullRequestHead, recentEvaluations, recordEvaluation, type EvaluationInput, type RecordedEvaluation } from './evaluations.js';
export { finishDelivery, markDelivered, pruneDeliveries, releaseDelivery } from './deliveries.js';
export { clusterInventory, replaceInventory, type ImageUseInput, type InventoryInput } from './inventory.js';
export { riskRegister, syncRiskAcceptances, type RiskAcceptanceInput, type RiskRegisterChanges, type RiskRegisterSync } from './risk-acceptances.js';
export { recordDefaultBranchPush, recordDefaultBranchReport, recordPullRequestReport, type RepositoryRow } from './record-report.js';
export {
  applicationStages,
  clusterPolicies,
  clusterSettings,
  replaceApplicationStages,
  replaceClusterConfig,
  repositoryStages,
  type ApplicationStagesInput,
  type ClusterConfigInput,
  type ClusterSettings,
  type StageInput,
} from './cluster-config.js';
