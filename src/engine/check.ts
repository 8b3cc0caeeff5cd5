// The check pipeline, top to bottom: read the configuration, then per cluster load policies, render
// what the cluster applies, expand, match, evaluate, accept risks and locate every finding.
import { acceptanceSources, blankAcceptanceErrors, OwnerIndex } from './accept/acceptance-sources.js';
import { findAcceptance, podTemplatePath } from './accept/risk-acceptance.js';
import { ClusterEvaluation, needsInventory, type PendingViolation } from './evaluate/evaluate-matches.js';
import { addToInventory, emptyInventory, inventoryData } from './evaluate/review.js';
import { reviewTargets } from './expand/expansion.js';
import { imageUses } from './inventory/image-uses.js';
import { ConstraintMatcher, type Match } from './match/match-objects.js';
import type { ClusterConfig, ClusterReport, EnabledPolicy, InputError, RenderStats, Report, Violation } from './model.js';
import type { Constraint } from './policy/constraint.js';
import { AUDIT_ENFORCEMENT_POINT, effectiveAction, WEBHOOK_ENFORCEMENT_POINT } from './policy/enforcement.js';
import { defaultExpansionTemplates } from './policy/expansion-template.js';
import { isExcluded, syncedKindKey, type SyncedKind } from './policy/gatekeeper-config.js';
import { loadPolicySet, type PolicySet } from './policy/policy-set.js';
import type { PolicyDriver, Renderer, RenderSession, RepoSource } from './ports.js';
import { fieldLocation, nodeLocation } from './render/origin-lines.js';
import { renderCluster } from './render/render-cluster.js';
import { foldImpliedResults } from './report/fold.js';
import { violationSubject } from './report/identity.js';
import { violationNode } from './report/line-mapping.js';
import { sortReport } from './report/sort.js';
import { clusterObjects, namespaceRules, type SourceObject } from './repo/cluster-objects.js';
import { BUILTIN_NAMESPACES, builtinNamespace, objectRef, type KubernetesObject } from './repo/kubernetes.js';
import { RepoFiles } from './repo/repo-files.js';
import { isSecurityTowerConfigFile, isUnder, readSecurityTowerConfig, type SecurityTowerConfig } from './repo/security-tower.js';
import { defaultYamlLimits, type YamlLimits } from './repo/yaml-file.js';

/** The annotation Gatekeeper's library (and Parapet's) versions a ConstraintTemplate with. */
const TEMPLATE_VERSION_ANNOTATION = 'metadata.gatekeeper.sh/version';
const TEMPLATE_TITLE_ANNOTATION = 'metadata.gatekeeper.sh/title';

export interface CheckOptions {
  /** Runs the templates' code (and parses YAML on its threads). */
  driver: PolicyDriver;
  /** Builds kustomizations and Flux Kustomizations. */
  renderer: Renderer;
  /** Only these clusters (by metadata.name). */
  clusters?: string[];
  limits?: Partial<YamlLimits>;
  /**
   * Where cluster configs and policies come from, when not from the checked tree itself: a pull
   * request is judged by its base branch's policies.
   */
  policies?: RepoSource;
  /** Objects reviewed per evaluation round; bounds memory on large repositories. */
  chunkSize?: number;
  /**
   * Stops the check when it aborts (the App's time budget per job): the report is still returned,
   * with a `limit` error on each cluster saying what was not checked and why (the signal's reason,
   * e.g. an Error "the check's time limit of 10 min ran out").
   */
  signal?: AbortSignal;
  /**
   * Every result as Gatekeeper reports it (for comparisons with gator): a workload's result and its
   * implied Pod's result about the same container both. By default the Pod's folds into the workload's.
   */
  everyResult?: boolean;
  /** Hears how far the check is, for a progress display: the engine itself never prints. */
  onProgress?: (progress: CheckProgress) => void;
  /** Keep each cluster's applied objects in its report (`objects`): the App compares them push to push. */
  keepObjects?: boolean;
}

/** Templates compiled, or objects evaluated, of one cluster so far. */
export interface CheckProgress {
  cluster: string;
  stage: 'compiling' | 'evaluating';
  done: number;
  total: number;
}

export async function checkRepo(source: RepoSource, options: CheckOptions): Promise<Report> {
  const limits = { ...defaultYamlLimits, ...options.limits };
  const files = new RepoFiles(source, limits, options.driver);
  const policyFiles = options.policies ? new RepoFiles(options.policies, limits, options.driver) : files;

  const configDocs = await policyFiles.documents((await policyFiles.paths()).filter(isSecurityTowerConfigFile));
  const config = readSecurityTowerConfig(configDocs.documents);
  const report: Report = {
    clusters: [],
    errors: [...configDocs.errors, ...config.errors],
    config: { clusters: config.clusters, applications: config.applications },
  };
  const wanted = options.clusters;
  const unknown = (wanted ?? []).filter((name) => !config.clusters.some((c) => c.name === name));
  if (unknown.length > 0) return { ...report, unknownClusters: unknown };
  // One renderer session for the whole tree, opened only when a cluster needs a build.
  let session: Promise<RenderSession> | undefined;
  const openSession = () => (session ??= openRenderSession(source, options.renderer, limits));
  const applied = new Set<string>();
  try {
    for (const cluster of config.clusters) {
      if (wanted && !wanted.includes(cluster.name)) continue;
      report.clusters.push(
        await checkCluster(cluster, config, files, policyFiles, options, openSession, applied).catch((error: unknown) => {
          if (!isStop(options.signal, error)) throw error;
          return stoppedCluster(cluster, `Cluster ${cluster.name} was not checked: ${stopReason(options.signal!)}`);
        }),
      );
    }
  } finally {
    if (session) await (await session).close();
  }
  for (const cluster of report.clusters) {
    const own = [...(config.notices.byCluster.get(cluster.name) ?? []), ...config.notices.everyCluster];
    if (own.length > 0) cluster.notices = [...own, ...(cluster.notices ?? [])];
  }
  if (report.clusters.length > 0) {
    const policyFolders = config.clusters.map((c) => c.policiesPath);
    report.notApplied = (await files.paths())
      .filter((p) => /\.ya?ml$/.test(p) && !applied.has(p) && !isSecurityTowerConfigFile(p) && !policyFolders.some((folder) => isUnder(p, folder)))
      .sort();
  }
  return sortReport(report);
}

/** The session, counting into `stats` the builds asked of it, those the cache answered, and the time they took. */
function countingSession(open: () => Promise<RenderSession>, stats: RenderStats): () => Promise<RenderSession> {
  let counting: Promise<RenderSession> | undefined;
  return () =>
    (counting ??= open().then((session) => ({
      render: async (request) => {
        const start = performance.now();
        try {
          const outcome = await session.render(request);
          if (outcome.cached) stats.cached++;
          return outcome;
        } finally {
          stats.builds++;
          stats.ms += performance.now() - start;
        }
      },
      // The check closes the session it opened, once, after every cluster.
      close: async () => undefined,
    })));
}

/** A renderer session over every file of the tree a build may read (each within the size limit). */
async function openRenderSession(source: RepoSource, renderer: Renderer, limits: YamlLimits): Promise<RenderSession> {
  const paths = (await source.listFiles()).filter((f) => f.size <= limits.maxFileBytes && !f.path.startsWith('.git/')).map((f) => f.path);
  return renderer.open(await source.readFiles(paths));
}

function isStop(signal: AbortSignal | undefined, error: unknown): boolean {
  return signal?.aborted === true && error === signal.reason;
}

function stopReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason.message : String(reason);
}

/** A cluster the check was stopped before it evaluated: nothing but the error that says so. */
function stoppedCluster(cluster: ClusterConfig, message: string): ClusterReport {
  return {
    name: cluster.name,
    config: cluster.location.file,
    violations: [],
    errors: [{ location: cluster.location, code: 'limit', message }],
    images: [],
    stats: { objects: 0, constraints: 0, evaluations: 0 },
  };
}

type Progress = (stage: CheckProgress['stage'], done: number, total: number) => void;

/** One cluster's check: what its stages read, and the lists they fill. */
interface ClusterRun {
  cluster: ClusterConfig;
  config: SecurityTowerConfig;
  files: RepoFiles;
  policies: PolicySet;
  options: CheckOptions;
  /** The check's renderer session, opened by the first build any cluster needs. */
  session: () => Promise<RenderSession>;
  /** Every file a cluster applies, over all clusters: what is left is the report's notApplied. */
  applied: Set<string>;
  progress: Progress;
  /** The cluster's input errors, in the order the stages find them (the report keeps it). */
  errors: InputError[];
  /** The driver's ids of the texts registered, for checkCluster to release. */
  texts: number[];
}

async function checkCluster(
  cluster: ClusterConfig,
  config: SecurityTowerConfig,
  files: RepoFiles,
  policyFiles: RepoFiles,
  options: CheckOptions,
  session: () => Promise<RenderSession>,
  applied: Set<string>,
): Promise<ClusterReport> {
  const { driver, signal } = options;
  signal?.throwIfAborted();
  const errors: InputError[] = [];
  const folderPaths = (await policyFiles.paths()).filter((p) => isUnder(p, cluster.policiesPath));
  const policyPaths = folderPaths.filter((p) => /\.(ya?ml|policy)$/.test(p));
  // A folder that is not there is a misspelt spec.policies.path. A folder that holds only a README
  // or a .gitkeep (as `parapet init` leaves it) is a cluster with no policy enabled yet: the report
  // says so through its empty list of policies, and nothing fails.
  if (folderPaths.length === 0) {
    errors.push({ location: cluster.location, code: 'cluster-config', message: `Cluster ${cluster.name}: the policies folder ${cluster.policiesPath || '/'} does not exist or is empty` });
  }
  const policyDocs = await policyFiles.documents(policyPaths, signal);
  errors.push(...policyDocs.errors);
  const progress: Progress = (stage, done, total) => options.onProgress?.({ cluster: cluster.name, stage, done, total });
  const policies = await loadPolicySet(policyDocs.documents, driver, { k8sNativeValidation: cluster.k8sNativeValidation, signal, onLoaded: (done, total) => progress('compiling', done, total) });
  errors.push(...policies.errors);
  const run: ClusterRun = { cluster, config, files, policies, options, session, applied, progress, errors, texts: [] };
  // Released however the cluster ends (a stopped check too): the App's driver outlives every check.
  try {
    return await evaluateCluster(run);
  } finally {
    driver.release(policies.moduleIds, run.texts);
  }
}

async function evaluateCluster(run: ClusterRun): Promise<ClusterReport> {
  const rendered = await renderedObjects(run);
  const inventory = clusterInventory(run, rendered);
  const evaluated = await evaluateObjects(run, rendered.objects, inventory);
  return clusterReport(run, rendered, inventory, evaluated);
}

/** What the cluster applies, as objects to review. */
interface RenderedObjects {
  objects: SourceObject[];
  /** The repository's Namespaces, by name. */
  namespaces: Map<string, SourceObject>;
  warnings: InputError[];
  notices: InputError[];
  renders: RenderStats;
}

/** Renders the cluster's entry points and collects the objects they apply, marking their files applied. */
async function renderedObjects(run: ClusterRun): Promise<RenderedObjects> {
  const { cluster, config, files, errors } = run;
  const renders: RenderStats = { builds: 0, cached: 0, ms: 0 };
  const rendered = await renderCluster({ cluster, clusters: config.clusters, applications: config.applications, files, session: countingSession(run.session, renders) });
  errors.push(...rendered.errors);
  for (const path of rendered.applied) run.applied.add(path);
  // kustomize and Flux set namespaces while rendering; only Security Tower stages still default one.
  const rules = namespaceRules([], [], config.applications, cluster.name);
  const collected = clusterObjects(rendered.documents, rules);
  errors.push(...collected.errors);
  const objects = collected.objects;
  const namespaces = new Map<string, SourceObject>();
  for (const source of objects) if (source.gvk.group === '' && source.gvk.kind === 'Namespace') namespaces.set(String(source.object.metadata.name), source);
  return { objects, namespaces, warnings: [...rendered.warnings, ...collected.warnings], notices: rendered.notices, renders };
}

/** The cluster as Gatekeeper sees it around the objects under review. */
interface ClusterInventory {
  /** What namespaceSelector and namespaceObject see. */
  namespaceObjects: Map<string, KubernetesObject>;
  /** Whether Gatekeeper's Config keeps `process` away from the object's namespace. */
  excludedFrom: (source: SourceObject, process: 'webhook' | 'sync') => boolean;
  /** Whether Gatekeeper syncs the object's kind into data.inventory. */
  inInventory: (source: SourceObject) => boolean;
  /** The driver's id of data.inventory's text; 0 when no template reads it. */
  dataId: number;
}

/**
 * Decides the cluster's namespaces, what Gatekeeper's Config excludes and which kinds it syncs, and
 * hands the driver data.inventory when a template reads it.
 */
function clusterInventory(run: ClusterRun, { objects, namespaces }: RenderedObjects): ClusterInventory {
  const { policies, texts } = run;
  // What namespaceSelector and namespaceObject see: the repository's Namespaces, plus those every
  // cluster has whether or not the repository declares them.
  const namespaceObjects = new Map<string, KubernetesObject>([...namespaces].map(([name, source]) => [name, source.object]));
  const builtins = BUILTIN_NAMESPACES.filter((name) => !namespaceObjects.has(name)).map(builtinNamespace);
  for (const namespace of builtins) namespaceObjects.set(String(namespace.metadata.name), namespace);
  const gkConfig = policies.gatekeeperConfig;
  const excludedFrom = (source: SourceObject, process: 'webhook' | 'sync') => {
    // Cluster-scoped objects are compared as namespace '' (so a `*` pattern excludes them too), as excluder.go does.
    const ns = source.gvk.kind === 'Namespace' && source.gvk.group === '' ? source.object.metadata.name : source.object.metadata.namespace;
    return gkConfig !== undefined && isExcluded(gkConfig, typeof ns === 'string' ? ns : '', process);
  };

  // Gatekeeper caches only the kinds its Config and SyncSets name; without either in the policies,
  // where the cluster's sync is set up cannot be known, and every kind counts.
  const synced = policies.syncedKinds && new Set(policies.syncedKinds.map(syncedKindKey));
  const syncs = (k: SyncedKind) => !synced || synced.has(syncedKindKey(k));
  const inInventory = (source: SourceObject) => syncs(source.gvk);
  const inventory = emptyInventory();
  for (const source of objects) if (inInventory(source) && !excludedFrom(source, 'sync')) addToInventory(inventory, source.object);
  for (const namespace of builtins) {
    if (!syncs({ group: '', version: 'v1', kind: 'Namespace' })) continue;
    if (!gkConfig || !isExcluded(gkConfig, String(namespace.metadata.name), 'sync')) addToInventory(inventory, namespace);
  }
  const dataId = [...policies.templates.values()].some(needsInventory) ? run.options.driver.addText(inventoryData(inventory)) : 0;
  if (dataId) texts.push(dataId);
  return { namespaceObjects, excludedFrom, inInventory, dataId };
}

/** What the driver found, before any finding is located. */
interface EvaluatedObjects {
  pending: PendingViolation[];
  evaluations: number;
}

/**
 * Expands, matches and evaluates the objects the webhook would review, a chunk at a time; a stopped
 * check leaves a `limit` error saying how many were not evaluated.
 */
async function evaluateObjects(run: ClusterRun, objects: readonly SourceObject[], { namespaceObjects, excludedFrom, dataId }: ClusterInventory): Promise<EvaluatedObjects> {
  const { cluster, policies, options, errors, progress } = run;
  const { driver, signal } = options;
  const expansionTemplates = policies.expansionTemplates.length > 0 ? policies.expansionTemplates : defaultExpansionTemplates;
  const matcher = new ConstraintMatcher(policies.constraints, namespaceObjects);
  const evaluation = new ClusterEvaluation(cluster.name, policies, dataId, driver);
  run.texts.push(...evaluation.parameterIds());
  const reviewed = objects.filter((source) => !excludedFrom(source, 'webhook'));
  const chunkSize = options.chunkSize ?? 500;
  // Pipelined: the driver evaluates one chunk while this thread expands and matches the next.
  let inflight: Promise<void> | undefined;
  progress('evaluating', 0, reviewed.length);
  for (let start = 0; start < reviewed.length; start += chunkSize) {
    if (signal?.aborted) {
      evaluation.notEvaluated += reviewed.length - start;
      break;
    }
    const chunk = reviewed.slice(start, start + chunkSize);
    const matches: Match[] = [];
    for (const source of chunk) {
      const expanded = reviewTargets(source, expansionTemplates);
      errors.push(...expanded.errors);
      const matched = matcher.match(source, expanded.targets);
      evaluation.autoreject(matched.autorejections);
      matches.push(...matched.matches);
    }
    const prepared = evaluation.prepare(matches);
    const previous = inflight;
    const done = Math.min(start + chunkSize, reviewed.length);
    inflight = evaluation.run(prepared, chunk.length, signal).then(() => progress('evaluating', done, reviewed.length));
    await previous;
  }
  await inflight;
  errors.push(...evaluation.errors, ...evaluation.stoppedTemplateErrors());
  if (evaluation.notEvaluated > 0) {
    errors.push({
      location: cluster.location,
      code: 'limit',
      message: `Cluster ${cluster.name} was not fully checked: ${stopReason(signal!)}; ${evaluation.notEvaluated} of ${reviewed.length} objects were not evaluated`,
    });
  }
  return { pending: evaluation.violations, evaluations: evaluation.evaluations };
}

/** The cluster's report: each violation located and its acceptance found, the images, the policies, the counts. */
function clusterReport(run: ClusterRun, rendered: RenderedObjects, { inInventory }: ClusterInventory, evaluated: EvaluatedObjects): ClusterReport {
  const { cluster, policies, options, errors } = run;
  const { objects, namespaces, warnings, notices, renders } = rendered;
  const owners = new OwnerIndex(objects);
  const located = evaluated.pending.map((pending) => ({
    violation: locate(pending, namespaces, owners, inInventory),
    ...(pending.resultant ? { impliedBy: pending.resultant.template.name } : {}),
  }));
  const violations = options.everyResult ? located.map((result) => result.violation) : foldImpliedResults(located);
  for (const source of objects) errors.push(...blankAcceptanceErrors(source));
  return {
    name: cluster.name,
    config: cluster.location.file,
    violations,
    errors,
    ...(warnings.length > 0 ? { warnings } : {}),
    ...(notices.length > 0 ? { notices } : {}),
    images: imageUses(objects),
    policies: enabledPolicies(policies.constraints),
    stats: { objects: objects.length, constraints: policies.constraints.length, evaluations: evaluated.evaluations, ...(renders.builds > 0 ? { renders } : {}) },
    ...(options.keepObjects ? { objects: objects.map((source) => ({ object: source.object, location: { file: source.doc.file, line: source.doc.kindLine } })) } : {}),
  };
}

/** The cluster's constraints with their templates, sorted by template then constraint name. */
function enabledPolicies(constraints: readonly Constraint[]): EnabledPolicy[] {
  return constraints
    .map((constraint) => {
      const webhook = effectiveAction(constraint.spec, WEBHOOK_ENFORCEMENT_POINT);
      const audit = effectiveAction(constraint.spec, AUDIT_ENFORCEMENT_POINT);
      const version = constraint.template.annotations[TEMPLATE_VERSION_ANNOTATION];
      const title = constraint.template.annotations[TEMPLATE_TITLE_ANNOTATION];
      return {
        template: constraint.template.name,
        kind: constraint.kind,
        constraint: constraint.name,
        enforcementAction: webhook ?? (audit !== null ? 'dryrun' : 'none'),
        ...(version !== undefined ? { version } : {}),
        ...(title !== undefined ? { title } : {}),
        parameters: constraint.parameters,
      } satisfies EnabledPolicy;
    })
    .sort((a, b) => (a.template < b.template ? -1 : a.template > b.template ? 1 : a.constraint < b.constraint ? -1 : a.constraint > b.constraint ? 1 : 0));
}

function locate(pending: PendingViolation, namespaces: Map<string, SourceObject>, owners: OwnerIndex, inInventory: (source: SourceObject) => boolean): Violation {
  const { source } = pending;
  const template = podTemplatePath(source.object);
  const podSpecPaths = pending.resultant
    ? [[...pending.resultant.sourcePath, 'spec']]
    : source.gvk.kind === 'Pod'
      ? [['spec']]
      : template
        ? [[...template, 'spec']]
        : [];
  const hint = {
    value: source.doc.value,
    lines: source.doc.lines,
    kindLine: source.doc.kindLine,
    message: pending.message,
    details: pending.details,
    objectPath: pending.resultant?.sourcePath ?? [],
    podSpecPaths,
  };
  const node = violationNode(hint);
  const subject = violationSubject(hint);

  let acceptance: Violation['acceptance'] = null;
  if (pending.acceptable && !pending.constraint.ignoreRiskAcceptances) {
    const found = findAcceptance(pending.constraint.template.name, acceptanceSources(pending, namespaces, owners, inInventory));
    if (found) {
      const origin = found.source.origin;
      const location = fieldLocation(origin.doc, [...found.source.path, found.annotation]);
      acceptance = { reason: found.reason, level: found.level, annotation: found.annotation, location, ...(found.source.throughInventory ? { throughInventory: true as const } : {}) };
    }
  }
  return {
    cluster: pending.cluster,
    policy: pending.constraint.template.name,
    constraint: pending.constraint.name,
    enforcementAction: pending.action,
    message: pending.message,
    details: pending.details,
    ...(pending.engine ? { engine: pending.engine } : {}),
    location: nodeLocation(source.doc, node),
    object: objectRef(source.object),
    acceptance,
    ...(subject ? { subject } : {}),
  };
}

