// The one import path for adapters (CLI, GitHub App, store, web, opa).
export type * from './model.js';
export { isRecord } from './model.js';
export type { CelHelper, CelProblem, CelSource, CompileOptions, CompileOutcome, EvaluationTask, FetchFailureReason, PolicyCompiler, PolicyDriver, RegoProblem, RegoSource, RemoteChart, RenderedObject, RenderOrigin, RenderOutcome, Renderer, RenderRequest, RenderSession, RepoFile, RepoSource, TaskOutcome, TemplateCode, TemplateLoad, WorkOptions } from './ports.js';
export { checkRepo, type CheckOptions, type CheckProgress } from './check.js';
export { RegoDriver, type RegoDriverOptions } from './rego/rego-driver.js';
export { CelDriver } from './cel/cel-driver.js';
export { GatekeeperDriver } from './gatekeeper-driver.js';
export { CachingDriver, deterministicCode, MemoryResultStore, type CacheStats, type ResultStore } from './result-cache.js';
export { BoundedLru } from './bounded-lru.js';
export { checkExitCode, errorCount, FAIL_ON_LEVELS, failsCheck, isBlocking, markStatus, nothingToCheck, type ExitPolicy, type FailOn } from './report/outcome.js';
export { fingerprint, messageFingerprint, normaliseMessage } from './report/identity.js';
export { compareViolations, sortReport } from './report/sort.js';
export { defaultYamlLimits, parseYamlFile, type YamlLimits } from './repo/yaml-file.js';
export { declaredClusters, isSecurityTowerConfigFile, isUnder, normalizeRepoPath, readSecurityTowerConfig, type DeclaredCluster, type SecurityTowerConfig } from './repo/security-tower.js';
export { isSuiteFile, verifySuites, type CaseResult, type SuiteResult, type TestResult, type VerifyOptions } from './verify/index.js';
export { formatReport, isReportFormat, REPORT_FORMATS, type ReportFormat } from './report/format/index.js';
export { DOCKER_HUB, isMutableReference, parseImageReference, type ImageReference, type MalformedImageReference, type ParsedImageReference } from './inventory/image-reference.js';
export { compareTags, compareVersionKeys, mutability, MUTABILITY_TEXT, parseVersionTag, versionKey, VERSION_KEY_LENGTH, type Mutability, type VersionTag } from './inventory/versions.js';
