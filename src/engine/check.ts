// The check pipeline, top to bottom: read the configuration, then per cluster load policies, collect
// objects, expand, match, evaluate, accept risks and locate every finding.
import { annotationsAt, blankExclusions, findAcceptance, podTemplatePath, type AcceptanceSource } from './accept/risk-acceptance.js';
import type { EvaluationPool, EvaluationTask, TaskOutcome } from './evaluate/evaluation-pool.js';
import { addToInventory, buildReview, emptyInventory, inventoryData } from './evaluate/review.js';
import { defaultExpansionTemplates, expand, type Resultant } from './expand/expansion.js';
import { AUDIT_ENFORCEMENT_POINT, effectiveAction, WEBHOOK_ENFORCEMENT_POINT } from './match/enforcement.js';
import { isExcluded } from './match/gatekeeper-config.js';
import type { MatchTarget } from './match/constraint-match.js';
import type { ClusterReport, EnforcementAction, InputError, Report, Violation } from './model.js';
import type { Constraint } from './policy/constraint.js';
import { loadPolicySet, type PolicySet } from './policy/policy-set.js';
import type { PolicyCompiler, RepoSource } from './ports.js';
import { violationLine } from './report/line-mapping.js';
import { sortReport } from './report/sort.js';
import { clusterManifestFiles, clusterObjects, kustomizationFiles, kustomizePatchFiles, namespaceRules, type SourceObject } from './repo/cluster-objects.js';
import { BUILTIN_NAMESPACES, builtinNamespace, objectRef, type KubernetesObject } from './repo/kubernetes.js';
import { isRecord, isSecurityTowerConfigFile, isUnder, readSecurityTowerConfig, type ClusterConfig, type SecurityTowerConfig } from './repo/security-tower.js';
import { defaultYamlLimits, lineOfPath, sizeLimitError, type YamlDocument, type YamlLimits } from './repo/yaml-file.js';

export interface CheckOptions {
  compiler: PolicyCompiler;
  pool: EvaluationPool;
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

/** Thrown when the repository has no `kind: Cluster` configuration at all: there is nothing to check. */
export class NoClusterError extends Error {
  override name = 'NoClusterError';
}

export async function checkRepo(source: RepoSource, options: CheckOptions): Promise<Report> {
  const limits = { ...defaultYamlLimits, ...options.limits };
  const files = new RepoFiles(source, limits, options.pool);
  const policyFiles = options.policies ? new RepoFiles(options.policies, limits, options.pool) : files;

  const configDocs = await policyFiles.documents((await policyFiles.paths()).filter(isSecurityTowerConfigFile));
  const config = readSecurityTowerConfig(configDocs.documents);
  const report: Report = { clusters: [], errors: [...configDocs.errors, ...config.errors] };
  if (config.clusters.length === 0) {
    if (report.errors.length > 0) return report;
    throw new NoClusterError('no `kind: Cluster` configuration found in .securitytower/*.yaml');
  }
  const wanted = options.clusters;
  const unknown = (wanted ?? []).filter((name) => !config.clusters.some((c) => c.name === name));
  if (unknown.length > 0) throw new NoClusterError(`no cluster named ${unknown.join(', ')} (clusters: ${config.clusters.map((c) => c.name).join(', ')})`);
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
  const { pool } = options;
  const errors: InputError[] = [];
  const policyPaths = (await policyFiles.paths()).filter((p) => isUnder(p, cluster.policiesPath) && /\.(ya?ml|policy)$/.test(p));
  if (policyPaths.length === 0) {
    errors.push({ location: cluster.location, code: 'cluster-config', message: `Cluster ${cluster.name}: the policies folder ${cluster.policiesPath || '/'} holds no policy files` });
  }
  const policyDocs = await policyFiles.documents(policyPaths);
  errors.push(...policyDocs.errors);
  const policies = await loadPolicySet(
    policyDocs.documents,
    options.compiler,
    pool,
  );
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
  const dataId = needsInventory ? pool.addText(inventoryData(inventory)) : 0;

  const expansionTemplates = policies.expansionTemplates.length > 0 ? policies.expansionTemplates : defaultExpansionTemplates;
  const evaluator = new ClusterEvaluator(cluster.name, policies, namespaceObjects, dataId, pool);
  const reviewed = objects.filter((source) => !excludedFrom(source, 'webhook'));
  const chunkSize = options.chunkSize ?? 500;
  // Pipelined: the workers evaluate one chunk while this thread matches the next.
  let inflight: Promise<void> | undefined;
  for (let start = 0; start < reviewed.length; start += chunkSize) {
    const prepared = evaluator.prepare(reviewed.slice(start, start + chunkSize), expansionTemplates, errors);
    const previous = inflight;
    inflight = evaluator.run(prepared);
    await previous;
  }
  await inflight;
  errors.push(...evaluator.errors);
  pool.release(policies.moduleIds, [...(dataId ? [dataId] : []), ...evaluator.parameterIds()]);

  const owners = new OwnerIndex(objects);
  const violations = evaluator.violations.map((pending) => locate(pending, namespaces, owners));
  for (const source of objects) errors.push(...blankAcceptanceErrors(source));
  return {
    name: cluster.name,
    config: cluster.location.file,
    violations,
    errors,
    stats: { objects: objects.length, constraints: policies.constraints.length, evaluations: evaluator.evaluations },
  };
}

interface PendingViolation {
  source: SourceObject;
  resultant?: Resultant;
  constraint: Constraint;
  action: EnforcementAction;
  message: string;
  details: unknown;
  cluster: string;
  /**
   * False for autorejections and evaluation errors: Security Tower's acceptances live in the policies'
   * Rego, so they can only ever suppress what a template reports, never a failure around it.
   */
  acceptable: boolean;
}

type PendingItem = Omit<PendingViolation, 'message' | 'details' | 'acceptable'>;

interface PreparedChunk {
  tasks: EvaluationTask[];
  meta: PendingItem[];
}

/** Matches and evaluates objects against one cluster's constraints. */
class ClusterEvaluator {
  readonly violations: PendingViolation[] = [];
  readonly errors: InputError[] = [];
  evaluations = 0;
  private readonly actions = new Map<Constraint, EnforcementAction | null>();
  private readonly parameters = new Map<Constraint, number>();
  private readonly auditOnly = new Set<Constraint>();

  constructor(
    private readonly cluster: string,
    private readonly policies: PolicySet,
    private readonly namespaces: Map<string, KubernetesObject>,
    private readonly dataId: number,
    private readonly pool: EvaluationPool,
  ) {
    for (const constraint of policies.constraints) {
      // The webhook's action decides what blocks. A constraint scoped to audit only never rejects
      // anything, but the cluster's audit still lists its results: report them, as dryrun.
      const atWebhook = effectiveAction(constraint.spec, WEBHOOK_ENFORCEMENT_POINT);
      if (atWebhook === null && effectiveAction(constraint.spec, AUDIT_ENFORCEMENT_POINT) !== null) this.auditOnly.add(constraint);
      this.actions.set(constraint, atWebhook ?? (this.auditOnly.has(constraint) ? 'dryrun' : null));
      this.parameters.set(constraint, pool.addText(evaluationParameters(constraint)));
    }
  }

  parameterIds(): number[] {
    return [...this.parameters.values()];
  }

  /** Expands and matches; returns the evaluations to run. Autorejections are recorded right away. */
  prepare(sources: SourceObject[], expansionTemplates: typeof defaultExpansionTemplates, errors: InputError[]): PreparedChunk {
    const tasks: EvaluationTask[] = [];
    const meta: PendingItem[] = [];
    for (const source of sources) {
      const namespace = this.namespaceOf(source);
      const expanded = expand(source.object, expansionTemplates);
      for (const message of expanded.errors) errors.push({ location: { file: source.doc.file, line: source.doc.kindLine }, code: 'expansion', message });
      const targets: Array<{ object: typeof source.object; resultant?: Resultant }> = [{ object: source.object }, ...expanded.resultants.map((r) => ({ object: r.object, resultant: r }))];
      for (const target of targets) {
        let reviewJson: string | undefined;
        const matchTarget: MatchTarget = {
          object: target.object,
          ...gvkParts(target.object.apiVersion, target.object.kind),
          namespace: namespace ?? null,
          source: target.resultant ? 'Generated' : 'Original',
        };
        for (const constraint of this.policies.constraints) {
          const base = this.actions.get(constraint);
          if (base === null || base === undefined) continue;
          // An ExpansionTemplate's override applies where the constraint runs; audit-only results never block.
          const override = this.auditOnly.has(constraint) ? undefined : (target.resultant?.template.enforcementAction as EnforcementAction | undefined);
          const action = override ?? base;
          const item = { source, resultant: target.resultant, constraint, action, cluster: this.cluster };
          const matched = constraint.matches(matchTarget);
          if (matched.matches === false) continue;
          if (matched.matches === 'error') {
            this.violations.push({ ...item, message: this.prefixed(item.resultant, matched.message), details: {}, acceptable: false });
            continue;
          }
          reviewJson ??= JSON.stringify(buildReview(target.object, {}, namespace));
          const loaded = this.policies.templates.get(constraint.kind)!;
          tasks.push({ template: loaded.moduleId, data: loaded.usesInventory ? this.dataId : 0, parameters: this.parameters.get(constraint)!, review: reviewJson });
          meta.push(item);
        }
      }
    }
    return { tasks, meta };
  }

  async run({ tasks, meta }: PreparedChunk): Promise<void> {
    this.evaluations += tasks.length;
    const outcomes = await this.pool.evaluate(tasks);
    outcomes.forEach((outcome, i) => this.collect(meta[i]!, outcome));
  }

  private collect(item: PendingItem, outcome: TaskOutcome): void {
    if ('error' in outcome) {
      // Gatekeeper turns an evaluation error into one result per constraint carrying the error text;
      // it is also an input error, so it fails the check whatever the constraint's action.
      this.violations.push({ ...item, message: this.prefixed(item.resultant, outcome.error), details: {}, acceptable: false });
      const { object, doc } = item.source;
      this.errors.push({
        location: { file: doc.file, line: doc.kindLine },
        code: 'evaluation',
        message: `${item.constraint.kind} ${item.constraint.name} could not be evaluated on ${object.kind} ${String(object.metadata.name ?? '')}: ${outcome.error}`,
      });
      return;
    }
    for (const result of outcome.results) {
      if (!isRecord(result) || !('msg' in result)) continue; // Gatekeeper's hook drops results without msg
      if (typeof result.msg !== 'string') {
        this.violations.push({ ...item, message: this.prefixed(item.resultant, `result msg is not a string: ${JSON.stringify(result.msg)}`), details: {}, acceptable: false });
        continue;
      }
      this.violations.push({ ...item, message: this.prefixed(item.resultant, result.msg), details: result.details ?? {}, acceptable: true });
    }
  }

  private prefixed(resultant: Resultant | undefined, message: string): string {
    return resultant ? `[Implied by ${resultant.template.name}] ${message}` : message;
  }

  private namespaceOf(source: SourceObject): KubernetesObject | undefined {
    const ns = source.object.metadata.namespace;
    return typeof ns === 'string' ? this.namespaces.get(ns) : undefined;
  }
}

/**
 * The parameters a constraint is evaluated with. A template that honours risk acceptances in its Rego
 * would hide accepted violations; Parapet turns that off (`ignoreRiskAcceptances: true`) and applies
 * the same acceptances itself, so they are shown and recorded, never silently absent. The verdict is
 * the cluster's either way.
 */
function evaluationParameters(constraint: Constraint): string {
  if (!constraint.template.handlesRiskAcceptances || constraint.ignoreRiskAcceptances) return constraint.parametersJson;
  return JSON.stringify({ ...(isRecord(constraint.parameters) ? constraint.parameters : {}), ignoreRiskAcceptances: true });
}

function gvkParts(apiVersion: string, kind: string): { group: string; version: string; kind: string } {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0 ? { group: '', version: apiVersion, kind } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1), kind };
}

/** Owners by kind/namespace/name, for acceptances inherited through ownerReferences. */
class OwnerIndex {
  private readonly byKey = new Map<string, SourceObject>();

  constructor(objects: SourceObject[]) {
    for (const source of objects) this.byKey.set(this.key(source.object.kind, source.object.metadata.namespace, source.object.metadata.name), source);
  }

  /** Owners and their owners (two levels), as Security Tower's Rego looked them up. */
  ownersOf(source: SourceObject): SourceObject[] {
    const found: SourceObject[] = [];
    const visit = (child: SourceObject, depth: number) => {
      if (depth > 2) return;
      const refs = child.object.metadata.ownerReferences;
      if (!Array.isArray(refs)) return;
      for (const ref of refs) {
        if (!isRecord(ref)) continue;
        const owner = this.byKey.get(this.key(ref.kind, child.object.metadata.namespace, ref.name));
        if (owner && !found.includes(owner)) {
          found.push(owner);
          visit(owner, depth + 1);
        }
      }
    };
    visit(source, 1);
    return found;
  }

  private key(kind: unknown, namespace: unknown, name: unknown): string {
    return `${String(kind)}/${String(namespace ?? '')}/${String(name)}`;
  }
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

/**
 * Where an acceptance of this violation may be written. A template that honours acceptances in its
 * own Rego sees only the evaluated object (for an implied Pod: the workload's pod template) and its
 * Namespace, so only those count: Parapet must not accept what the cluster will reject. For other
 * templates, Security Tower's levels apply: the object, its pod template, its Namespace, its owners.
 */
function acceptanceSources(pending: PendingViolation, namespaces: Map<string, SourceObject>, owners: OwnerIndex): Array<AcceptanceSource<SourceObject>> {
  const { source, resultant } = pending;
  const sources: Array<AcceptanceSource<SourceObject>> = [];
  const add = (level: AcceptanceSource<SourceObject>['level'], origin: SourceObject, path: string[]) => {
    const annotations = annotationsAt(origin.object, path);
    if (annotations) sources.push({ level, annotations, path: [...path, 'metadata', 'annotations'], origin });
  };
  const ns = source.object.metadata.namespace;
  const namespace = typeof ns === 'string' ? namespaces.get(ns) : undefined;
  if (pending.constraint.template.handlesRiskAcceptances) {
    if (resultant) add('podTemplate', source, resultant.sourcePath);
    else add('object', source, []);
    if (namespace && namespace !== source) add('namespace', namespace, []);
    return sources;
  }
  add('object', source, []);
  const templatePath = podTemplatePath(source.object);
  if (templatePath) add('podTemplate', source, templatePath);
  if (namespace && namespace !== source) add('namespace', namespace, []);
  for (const owner of owners.ownersOf(source)) add('owner', owner, []);
  return sources;
}

function blankAcceptanceErrors(source: SourceObject): InputError[] {
  const errors: InputError[] = [];
  const paths = [[], ...(podTemplatePath(source.object) ? [podTemplatePath(source.object)!] : [])];
  for (const path of paths) {
    const annotations = annotationsAt(source.object, path);
    if (!annotations) continue;
    for (const key of blankExclusions(annotations)) {
      const line = lineOfPath(source.doc.lines, [...path, 'metadata', 'annotations', key]).line;
      errors.push({
        location: { file: source.doc.file, line },
        code: 'acceptance',
        message: `risk acceptance ${key} has no reason; write why the risk is accepted (it accepts nothing until then)`,
      });
    }
  }
  return errors;
}

/** Reads and parses each file of a tree once, in bulk. */
class RepoFiles {
  private listing: Promise<Map<string, number>> | undefined;
  private readonly parsed = new Map<string, { documents: YamlDocument[]; errors: InputError[] }>();

  constructor(
    private readonly source: RepoSource,
    private readonly limits: YamlLimits,
    private readonly pool: EvaluationPool,
  ) {}

  async paths(): Promise<string[]> {
    return [...(await this.sizes()).keys()];
  }

  async documents(paths: string[]): Promise<{ documents: YamlDocument[]; errors: InputError[] }> {
    const sizes = await this.sizes();
    const errors: InputError[] = [];
    const toRead: string[] = [];
    for (const path of paths) {
      if (this.parsed.has(path)) continue;
      const tooBig = sizeLimitError(path, sizes.get(path) ?? 0, this.limits);
      if (tooBig) this.parsed.set(path, { documents: [], errors: [tooBig] });
      else toRead.push(path);
    }
    if (toRead.length > 0) {
      const texts = await this.source.readFiles(toRead);
      const readable: Array<{ path: string; text: string }> = [];
      for (const path of toRead) {
        const text = texts.get(path);
        if (text === undefined) {
          this.parsed.set(path, { documents: [], errors: [{ location: { file: path, line: 1 }, code: 'read', message: 'the file could not be read' }] });
        } else {
          readable.push({ path, text });
        }
      }
      const parsed = await this.pool.parseYamlFiles(readable, this.limits);
      readable.forEach(({ path }, i) => this.parsed.set(path, parsed[i]!));
    }
    const documents: YamlDocument[] = [];
    for (const path of paths) {
      const parsed = this.parsed.get(path)!;
      documents.push(...parsed.documents);
      errors.push(...parsed.errors);
    }
    return { documents, errors };
  }

  private sizes(): Promise<Map<string, number>> {
    this.listing ??= this.source.listFiles().then((list) => new Map(list.map((f) => [f.path, f.size])));
    return this.listing;
  }
}
