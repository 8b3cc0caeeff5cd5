// The check pipeline, top to bottom: read the configuration, then per cluster load policies, collect
// objects, expand, match, evaluate, accept risks and locate every finding.
import { acceptanceSources, blankAcceptanceErrors, OwnerIndex } from './accept/acceptance-sources.js';
import { findAcceptance } from './accept/risk-acceptance.js';
import { ClusterEvaluation, type PendingViolation } from './evaluate/evaluate-matches.js';
import { addToInventory, emptyInventory, inventoryData } from './evaluate/review.js';
import { reviewTargets } from './expand/expansion.js';
import { imageUses } from './inventory/image-uses.js';
import { ConstraintMatcher, type Match } from './match/match-objects.js';
import type { ClusterConfig, ClusterReport, EnabledPolicy, InputError, Report, Violation } from './model.js';
import type { Constraint } from './policy/constraint.js';
import { AUDIT_ENFORCEMENT_POINT, effectiveAction, WEBHOOK_ENFORCEMENT_POINT } from './policy/enforcement.js';
import { defaultExpansionTemplates } from './policy/expansion-template.js';
import { isExcluded } from './policy/gatekeeper-config.js';
import { loadPolicySet } from './policy/policy-set.js';
import type { PolicyDriver, RepoSource } from './ports.js';
import { violationLine } from './report/line-mapping.js';
import { sortReport } from './report/sort.js';
import { clusterManifestFiles, clusterObjects, kustomizationFiles, kustomizePatchFiles, namespaceRules, type SourceObject } from './repo/cluster-objects.js';
import { BUILTIN_NAMESPACES, builtinNamespace, objectRef, type KubernetesObject } from './repo/kubernetes.js';
import { RepoFiles } from './repo/repo-files.js';
import { isSecurityTowerConfigFile, isUnder, readSecurityTowerConfig, type SecurityTowerConfig } from './repo/security-tower.js';
import { defaultYamlLimits, lineOfPath, type YamlLimits } from './repo/yaml-file.js';

/** The annotation Gatekeeper's library (and Parapet's) versions a ConstraintTemplate with. */
const TEMPLATE_VERSION_ANNOTATION = 'metadata.gatekeeper.sh/version';
const TEMPLATE_TITLE_ANNOTATION = 'metadata.gatekeeper.sh/title';

export interface CheckOptions {
  /** Runs the templates' code (and parses YAML on its threads). */
  driver: PolicyDriver;
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
  for (const cluster of config.clusters) {
    if (wanted && !wanted.includes(cluster.name)) continue;
    report.clusters.push(await checkCluster(cluster, config, files, policyFiles, options));
  }
  return sortReport(report);
}

async function checkCluster(
  cluster: ClusterConfig,
  config: SecurityTowerConfig,
  files: RepoFiles,
  policyFiles: RepoFiles,
  options: CheckOptions,
): Promise<ClusterReport> {
  const { driver } = options;
  const errors: InputError[] = [];
  const policyPaths = (await policyFiles.paths()).filter((p) => isUnder(p, cluster.policiesPath) && /\.(ya?ml|policy)$/.test(p));
  if (policyPaths.length === 0) {
    errors.push({ location: cluster.location, code: 'cluster-config', message: `Cluster ${cluster.name}: the policies folder ${cluster.policiesPath || '/'} holds no policy files` });
  }
  const policyDocs = await policyFiles.documents(policyPaths);
  errors.push(...policyDocs.errors);
  const policies = await loadPolicySet(policyDocs.documents, driver);
  errors.push(...policies.errors);

  const allPaths = await files.paths();
  const kustomizations = await files.documents(kustomizationFiles(allPaths));
  // Kustomize patches are fragments of objects defined elsewhere, not objects of their own.
  const patches = kustomizePatchFiles(kustomizations.documents);
  const manifestPaths = clusterManifestFiles(cluster, config.clusters, config.applications, allPaths).filter((path) => !patches.has(path));
  const manifests = await files.documents(manifestPaths);
  errors.push(...manifests.errors);
  const rules = namespaceRules(kustomizations.documents, manifests.documents, config.applications, cluster.name);
  const collected = clusterObjects(manifests.documents, rules);
  errors.push(...collected.errors);
  const objects = collected.objects;

  const namespaces = new Map<string, SourceObject>();
  for (const source of objects) if (source.gvk.group === '' && source.gvk.kind === 'Namespace') namespaces.set(String(source.object.metadata.name), source);
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

  const inventory = emptyInventory();
  for (const source of objects) if (!excludedFrom(source, 'sync')) addToInventory(inventory, source.object);
  for (const namespace of builtins) {
    if (!gkConfig || !isExcluded(gkConfig, String(namespace.metadata.name), 'sync')) addToInventory(inventory, namespace);
  }
  const needsInventory = [...policies.templates.values()].some((t) => t.usesInventory);
  const dataId = needsInventory ? driver.addText(inventoryData(inventory)) : 0;

  const expansionTemplates = policies.expansionTemplates.length > 0 ? policies.expansionTemplates : defaultExpansionTemplates;
  const matcher = new ConstraintMatcher(policies.constraints, namespaceObjects);
  const evaluation = new ClusterEvaluation(cluster.name, policies, dataId, driver);
  const reviewed = objects.filter((source) => !excludedFrom(source, 'webhook'));
  const chunkSize = options.chunkSize ?? 500;
  // Pipelined: the driver evaluates one chunk while this thread expands and matches the next.
  let inflight: Promise<void> | undefined;
  for (let start = 0; start < reviewed.length; start += chunkSize) {
    const matches: Match[] = [];
    for (const source of reviewed.slice(start, start + chunkSize)) {
      const expanded = reviewTargets(source, expansionTemplates);
      errors.push(...expanded.errors);
      const matched = matcher.match(source, expanded.targets);
      evaluation.autoreject(matched.autorejections);
      matches.push(...matched.matches);
    }
    const prepared = evaluation.prepare(matches);
    const previous = inflight;
    inflight = evaluation.run(prepared);
    await previous;
  }
  await inflight;
  errors.push(...evaluation.errors);
  driver.release(policies.moduleIds, [...(dataId ? [dataId] : []), ...evaluation.parameterIds()]);

  const owners = new OwnerIndex(objects);
  const violations = evaluation.violations.map((pending) => locate(pending, namespaces, owners));
  for (const source of objects) errors.push(...blankAcceptanceErrors(source));
  return {
    name: cluster.name,
    config: cluster.location.file,
    violations,
    errors,
    images: imageUses(objects),
    policies: enabledPolicies(policies.constraints),
    stats: { objects: objects.length, constraints: policies.constraints.length, evaluations: evaluation.evaluations },
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

function locate(pending: PendingViolation, namespaces: Map<string, SourceObject>, owners: OwnerIndex): Violation {
  const { source } = pending;
  const podSpecPaths = pending.resultant
    ? [[...pending.resultant.sourcePath, 'spec']]
    : source.gvk.kind === 'Pod'
      ? [['spec']]
      : [];
  const line = violationLine({
    value: source.doc.value,
    lines: source.doc.lines,
    kindLine: source.doc.kindLine,
    message: pending.message,
    details: pending.details,
    objectPath: pending.resultant?.sourcePath ?? [],
    podSpecPaths,
  });

  let acceptance: Violation['acceptance'] = null;
  if (pending.acceptable && !pending.constraint.ignoreRiskAcceptances) {
    const found = findAcceptance(pending.constraint.template.name, acceptanceSources(pending, namespaces, owners));
    if (found) {
      const origin = found.source.origin;
      const annotationLine = lineOfPath(origin.doc.lines, [...found.source.path, found.annotation]).line;
      acceptance = { reason: found.reason, level: found.level, annotation: found.annotation, location: { file: origin.doc.file, line: annotationLine } };
    }
  }
  return {
    cluster: pending.cluster,
    policy: pending.constraint.template.name,
    constraint: pending.constraint.name,
    enforcementAction: pending.action,
    message: pending.message,
    details: pending.details,
    location: { file: source.doc.file, line },
    object: objectRef(source.object),
    acceptance,
  };
}

