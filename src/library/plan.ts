// What `parapet policies enable|disable|status` would do to one cluster's policies folder, computed
// purely from the catalog and the folder's current files: files to write and delete, files already as
// they should be, and the problems that stop everything (nothing is planned when there is one).
//
// Files Parapet writes carry the annotation `parapet.dev/managed-by: parapet` on every YAML object, so
// a later run tells them from a user's: a user's file is never overwritten nor deleted.
import { isDeepStrictEqual } from 'node:util';
import { Document, isMap, isNode, isSeq, parseAllDocuments, parseDocument, type ToStringOptions } from 'yaml';
import { findPolicy, findStandard, POLICY_API_VERSION, similarPolicyNames, type Catalog, type LibraryPolicy, type ParameterSchema, type StandardId } from './catalog.js';
import { isRecord, sameKind, type SyncedKind } from '../engine/index.js';

export const MANAGED_BY_ANNOTATION = 'parapet.dev/managed-by';
export const MANAGED_BY_VALUE = 'parapet';
/** Where the library's ExpansionTemplates go, in the policies folder. */
export const EXPANSION_FILE = 'expansion-templates.yaml';
export const ENABLED_POLICY_KIND = 'EnabledPolicy';
/** Where Parapet writes Gatekeeper's Config when the folder has none, in the policies folder. */
export const GATEKEEPER_CONFIG_FILE = 'gatekeeper-config.yaml';

/**
 * The kinds Gatekeeper must sync into data.inventory for the library's exclusion lib to find a Pod's
 * owners: ReplicaSet -> Deployment, Job -> CronJob, and the workloads that own Pods directly (an
 * expanded Pod names its workload, whatever its kind). Namespaces are not needed: the lib reads the
 * Namespace from the review, which Gatekeeper's webhook fills in.
 */
export const OWNER_SYNC_KINDS: readonly SyncedKind[] = [
  { group: 'apps', version: 'v1', kind: 'ReplicaSet' },
  { group: 'apps', version: 'v1', kind: 'Deployment' },
  { group: 'apps', version: 'v1', kind: 'StatefulSet' },
  { group: 'apps', version: 'v1', kind: 'DaemonSet' },
  { group: '', version: 'v1', kind: 'ReplicationController' },
  { group: 'batch', version: 'v1', kind: 'Job' },
  { group: 'batch', version: 'v1', kind: 'CronJob' },
];
export const ENFORCEMENT_ACTIONS = ['deny', 'warn', 'dryrun'] as const;
export type EnforcementAction = (typeof ENFORCEMENT_ACTIONS)[number];

/** One cluster's policies folder as it is now. */
export interface PolicyFolder {
  /** Repository-relative, normalised (no leading or trailing slash); `''` is the repository root. */
  path: string;
  /** Every file under the folder, by repository-relative path, with its text. */
  files: ReadonlyMap<string, string>;
}

export interface Selection {
  names?: string[];
  standard?: string;
  /** With `standard`: also the policies stricter than its controls. */
  strict?: boolean;
}

export interface PlanProblem {
  code: 'unknown-policy' | 'unknown-standard' | 'nothing-selected' | 'conflict' | 'parameter';
  message: string;
  /** The file it is about, repository-relative. */
  path?: string;
}

export interface PolicyOutcome {
  name: string;
  /** The version enabled before, when there was one. */
  from?: string;
  /** The version enabled after, for enable. */
  to?: string;
  outcome: 'enabled' | 'upgraded' | 'updated' | 'unchanged' | 'disabled' | 'not-enabled';
}

export interface Plan {
  /** Files to create or replace, by repository-relative path. */
  writes: Map<string, string>;
  deletes: string[];
  /** Target files that already hold what would be written. */
  unchanged: string[];
  outcomes: PolicyOutcome[];
  /** When there are any, `writes` and `deletes` are empty: nothing may be half done. */
  problems: PlanProblem[];
  /** Things the user should know that stop nothing. */
  notes: string[];
}

/** The files of an enabled policy (security-tower.md §1.1). */
export function policyPaths(folder: string, name: string): { policy: string; template: string; constraint: string } {
  return {
    policy: joinPath(folder, `${name}.policy`),
    template: joinPath(folder, `constraint-templates/${name}-template.yaml`),
    constraint: joinPath(folder, `constraints/${name}-constraint.yaml`),
  };
}

export interface EnableSelection extends Selection {
  action?: EnforcementAction;
  /** `--param KEY=VALUE`, as typed: each goes to every selected policy whose template has KEY. */
  params?: Record<string, string>;
}

export function planEnable(catalog: Catalog, folder: PolicyFolder, selection: EnableSelection): Plan {
  const plan = emptyPlan();
  const policies = select(catalog, selection, plan.problems);
  if (plan.problems.length > 0) return plan;
  const params = selection.params ?? {};
  for (const key of Object.keys(params)) {
    if (policies.some((policy) => key in policy.parameters)) continue;
    const known = policies.map((policy) => `${policy.name} takes ${Object.keys(policy.parameters).join(', ') || 'none'}`);
    plan.problems.push({ code: 'parameter', message: `none of the policies to enable has the parameter "${key}" (${known.slice(0, 3).join('; ')}${known.length > 3 ? '; ...' : ''})` });
  }
  // Named on the command line, a policy that cannot deny yet is an error; in a standard, it waits in dryrun.
  const named = new Set((selection.names ?? []).map((name) => findPolicy(catalog, name)?.name));
  const view = inspectFolder(folder);
  const created: string[] = [];
  const target = (path: string, text: string) => {
    const current = view.files.get(path);
    if (current !== undefined && equivalent(current.text, text)) plan.unchanged.push(path);
    else {
      plan.writes.set(path, text);
      if (current === undefined) created.push(path);
    }
  };

  for (const policy of policies) {
    const paths = policyPaths(folder.path, policy.name);
    const blocked = conflicts(view, policy, Object.values(paths));
    plan.problems.push(...blocked);
    if (blocked.length > 0) continue;
    const before = new Set([...plan.writes.keys()]);
    const record = view.records.get(policy.name);
    const existingConstraint = view.files.get(paths.constraint);
    // What the standard's control needs of the constraint (the Baseline's /proc exemption, say); the
    // user's --param still wins.
    const ref = selection.standard === undefined ? undefined : policy.standards.find((s) => s.id.toLowerCase() === selection.standard!.toLowerCase());
    const values: Record<string, unknown> = { ...ref?.parameters };
    for (const [key, raw] of Object.entries(params)) {
      if (!(key in policy.parameters)) continue;
      const value = parameterValue(policy.parameters[key]!, raw);
      if (typeof value === 'object' && value !== null && 'invalid' in value) plan.problems.push({ code: 'parameter', message: `--param ${key}=${raw} for ${policy.name}: ${String(value.invalid)}` });
      else values[key] = value;
    }
    let constraint = renderConstraint(policy, existingConstraint?.text, selection.action, values);
    const missing = missingParameters(policy, constraint);
    if (missing !== undefined) {
      const example = `parapet policies enable ${policy.name} --param ${policy.requiredParameters!.example}`;
      if (named.has(policy.name)) {
        plan.problems.push({
          code: 'parameter',
          message: `${policy.name} needs ${missing} before it can deny: left empty, it denies everything it checks. Give one, e.g. '${example}', or enable it with --action dryrun first to see what it reports`,
        });
        continue;
      }
      constraint = renderConstraint(policy, existingConstraint?.text, 'dryrun', values);
      plan.notes.push(`${policy.name} is enabled in dryrun, not deny: it needs ${missing} before it can deny. With them: '${example} --action deny'`);
    }
    target(paths.policy, renderPolicyRecord(policy));
    target(paths.template, renderTemplate(policy));
    target(paths.constraint, constraint);
    const changed = [...plan.writes.keys()].some((path) => !before.has(path));
    const existed = [paths.policy, paths.template, paths.constraint].some((path) => view.files.has(path));
    const from = record?.version;
    const outcome: PolicyOutcome['outcome'] = !changed ? 'unchanged' : !existed ? 'enabled' : from !== undefined && from !== policy.version ? 'upgraded' : 'updated';
    plan.outcomes.push({ name: policy.name, ...(from !== undefined ? { from } : {}), to: policy.version, outcome });
  }

  // Pod-level policies see workloads only through expansion; a folder without ExpansionTemplates of
  // its own gets the library's, so the cluster rejects a Deployment as Parapet reports it.
  if (view.foreignExpansion.length === 0 && policies.length > 0) {
    const path = joinPath(folder.path, EXPANSION_FILE);
    const current = view.files.get(path);
    if (current !== undefined && !current.ours) plan.problems.push(notOurs(path, current));
    else target(path, renderExpansion(catalog));
  }

  // The lib finds a workload's acceptance through Gatekeeper's referential data, which holds only the
  // kinds its Config syncs: without them, the cluster rejects the Pods Parapet shows as accepted.
  if (policies.some((policy) => readsInventory(policy.templateText))) {
    const kinds = syncKinds(policies);
    const compared = kinds.slice(OWNER_SYNC_KINDS.length).map((k) => `${k.kind} (${k.group ? `${k.group}/` : ''}${k.version})`);
    const also = compared.length > 0 ? `, and ${compared.join(', ')}, which the policies compare objects with` : '';
    const sync = syncPlan(folder, kinds);
    const current = view.files.get(sync.path);
    target(sync.path, sync.text);
    if (!current) {
      plan.notes.push(`${sync.path} makes Gatekeeper sync the workloads that own Pods, where the policies find risk acceptances on a workload's own metadata${also}; if the cluster's Gatekeeper Config (there is one, named config) lives elsewhere, add these kinds to its spec.sync.syncOnly instead`);
    } else if (!current.ours && current.text !== sync.text) plan.notes.push(`${sync.path}: added the workloads that own Pods to spec.sync.syncOnly, where the policies find risk acceptances on a workload's own metadata${also}`);
  }

  if (plan.problems.length > 0) return failed(plan);
  const kustomizations = [...view.files.keys()].filter((path) => /(^|\/)kustomization\.ya?ml$/i.test(path) && !view.files.get(path)!.ours);
  if (created.length > 0 && kustomizations.length > 0) {
    plan.notes.push(`${kustomizations.join(', ')} ${kustomizations.length === 1 ? 'lists' : 'list'} the folder's resources: add the new files to it, or the cluster will not get them`);
  }
  return plan;
}

export function planDisable(catalog: Catalog, folder: PolicyFolder, selection: { names: string[] }): Plan {
  const plan = emptyPlan();
  const view = inspectFolder(folder);
  const names: string[] = [];
  for (const raw of selection.names) {
    const name = raw.toLowerCase();
    // A policy the library no longer has can still be disabled where an earlier version enabled it.
    if (findPolicy(catalog, name) || view.records.has(name)) {
      if (!names.includes(name)) names.push(name);
    } else plan.problems.push(unknownPolicy(catalog, raw));
  }
  if (selection.names.length === 0) plan.problems.push({ code: 'nothing-selected', message: 'name at least one policy to disable' });
  if (plan.problems.length > 0) return plan;

  const removed = new Set<string>();
  for (const name of names.sort()) {
    const paths = Object.values(policyPaths(folder.path, name));
    const present = paths.filter((path) => view.files.has(path));
    const foreign = present.filter((path) => !view.files.get(path)!.ours);
    plan.problems.push(...foreign.map((path) => notOurs(path, view.files.get(path)!)));
    if (foreign.length > 0) continue;
    plan.deletes.push(...present);
    if (present.length > 0) removed.add(name);
    plan.outcomes.push({ name, ...(view.records.has(name) ? { from: view.records.get(name)!.version } : {}), outcome: present.length > 0 ? 'disabled' : 'not-enabled' });
  }
  // The expansion went in with the first policy; it goes out with the last.
  const expansion = view.files.get(joinPath(folder.path, EXPANSION_FILE));
  const remaining = [...view.records.keys()].filter((name) => !removed.has(name));
  if (expansion?.ours && remaining.length === 0 && removed.size > 0) plan.deletes.push(joinPath(folder.path, EXPANSION_FILE));
  // Our Config goes out with the last policy too, unless someone has added to it since.
  const configPath = joinPath(folder.path, GATEKEEPER_CONFIG_FILE);
  const config = view.files.get(configPath);
  if (config?.ours && remaining.length === 0 && removed.size > 0 && isUntouchedConfig(config.text, [...view.records.keys()].flatMap((name) => findPolicy(catalog, name) ?? []))) plan.deletes.push(configPath);
  return plan.problems.length > 0 ? failed(plan) : plan;
}

export interface PolicyStatus {
  name: string;
  title: string;
  libraryVersion: string;
  /** The version its `.policy` record names, when enabled. */
  enabledVersion?: string;
  state: 'up-to-date' | 'outdated' | 'newer' | 'incomplete' | 'conflict' | 'not-enabled';
  /** For incomplete and conflict: what is wrong. */
  problems?: string[];
}

export interface StandardCoverage {
  id: StandardId;
  title: string;
  /** Library policies that implement the standard's controls and are enabled, at any version. */
  enabled: number;
  total: number;
  missing: string[];
  /** Library policies stricter than one of its controls (`enable --standard ID --strict`): which are enabled. */
  stricter: { enabled: string[]; total: number };
}

export interface FolderStatus {
  policies: PolicyStatus[];
  /** Policies Parapet enabled that this library no longer has. */
  unknown: Array<{ name: string; version?: string; path: string }>;
  standards: StandardCoverage[];
  /** Files in the folder that Parapet did not write: left untouched. */
  unmanagedFiles: string[];
}

export function folderStatus(catalog: Catalog, folder: PolicyFolder): FolderStatus {
  const view = inspectFolder(folder);
  const policies = catalog.policies.map((policy): PolicyStatus => {
    const paths = policyPaths(folder.path, policy.name);
    const base = { name: policy.name, title: policy.title, libraryVersion: policy.version };
    const blocked = conflicts(view, policy, Object.values(paths));
    const record = view.records.get(policy.name);
    const enabledVersion = record?.version !== undefined ? { enabledVersion: record.version } : {};
    if (blocked.length > 0) return { ...base, ...enabledVersion, state: 'conflict', problems: blocked.map((p) => p.message) };
    const missing = [paths.policy, paths.template, paths.constraint].filter((path) => !view.files.has(path));
    if (missing.length === 3) return { ...base, state: 'not-enabled' };
    if (missing.length > 0 || !record?.version) {
      const problems = missing.length > 0 ? missing.map((path) => `${path} is missing`) : [`${paths.policy} names no spec.version`];
      return { ...base, ...enabledVersion, state: 'incomplete', problems: [...problems, `'parapet policies enable ${policy.name}' repairs it`] };
    }
    const order = compareVersions(record.version, policy.version);
    return { ...base, enabledVersion: record.version, state: order === 0 ? 'up-to-date' : order < 0 ? 'outdated' : 'newer' };
  });
  const enabled = new Set(policies.filter((p) => p.state === 'up-to-date' || p.state === 'outdated' || p.state === 'newer').map((p) => p.name));
  return {
    policies,
    unknown: [...view.records]
      .filter(([name]) => !findPolicy(catalog, name))
      .map(([name, record]) => ({ name, ...(record.version !== undefined ? { version: record.version } : {}), path: record.path })),
    standards: standardCoverage(catalog, enabled),
    unmanagedFiles: [...view.files].filter(([, file]) => !file.ours).map(([path]) => path),
  };
}

/**
 * How much of each standard the `enabled` library policies cover: `parapet policies status` and the
 * overview's compliance page count it the same way.
 */
export function standardCoverage(catalog: Catalog, enabled: ReadonlySet<string>): StandardCoverage[] {
  return catalog.standards.map((standard) => ({
    id: standard.id,
    title: standard.title,
    enabled: standard.policies.filter((name) => enabled.has(name)).length,
    total: standard.policies.length,
    missing: standard.policies.filter((name) => !enabled.has(name)),
    stricter: { enabled: standard.stricter.filter((name) => enabled.has(name)), total: standard.stricter.length },
  }));
}

// --- What is written -------------------------------------------------------------------------------

const STRINGIFY: ToStringOptions = { lineWidth: 0, flowCollectionPadding: false };

/** The library's template verbatim (it carries metadata.gatekeeper.sh/version), marked as Parapet's. */
export function renderTemplate(policy: LibraryPolicy): string {
  const doc = parseDocument(policy.templateText);
  mark(doc, [
    ` ${policy.name} from Parapet's policy library, written by \`parapet policies enable\`.`,
    ' Enabling again or upgrading overwrites this file: do not edit it.',
  ]);
  return doc.toString(STRINGIFY);
}

/**
 * The library's default constraint, marked as Parapet's, with `action` as its enforcementAction. Over
 * an earlier one of ours (`previous`), the user's spec.parameters, spec.match and, unless `action` is
 * given, spec.enforcementAction are kept.
 */
export function renderConstraint(policy: LibraryPolicy, previous: string | undefined, action: EnforcementAction | undefined, params: Record<string, unknown> = {}): string {
  const doc = parseDocument(policy.constraintText);
  mark(doc, [
    ` ${policy.name} from Parapet's policy library, written by \`parapet policies enable\`. Edit`,
    ' spec.parameters, spec.match and spec.enforcementAction as you need: enabling again or upgrading',
    ' keeps them.',
  ]);
  const old = previous === undefined ? undefined : parseDocument(previous);
  if (old && old.errors.length === 0 && isManaged(old.toJS())) {
    for (const field of ['parameters', 'match']) {
      const node = old.getIn(['spec', field], true);
      if (node === undefined) continue;
      // The user's node keeps its comments and style; an alias into the rest of the old file cannot
      // move, so such a value is copied as plain data instead.
      const value: unknown = old.getIn(['spec', field]);
      const plain = isNode(node) ? node.toJS(old) : value;
      doc.setIn(['spec', field], node);
      if (!roundTrips(doc, ['spec', field], plain)) doc.setIn(['spec', field], doc.createNode(plain));
    }
    const kept = old.getIn(['spec', 'enforcementAction']);
    if (action === undefined && typeof kept === 'string') setAction(doc, kept);
  }
  if (action !== undefined) setAction(doc, action);
  for (const [key, value] of Object.entries(params)) doc.setIn(['spec', 'parameters', key], doc.createNode(value));
  return doc.toString(STRINGIFY);
}

/**
 * `trustedregistries or trustedimages` when the constraint would deny with all of the policy's
 * required parameters empty (Gatekeeper's default action is deny); undefined when it may.
 */
export function missingParameters(policy: LibraryPolicy, constraintText: string): string | undefined {
  const required = policy.requiredParameters;
  if (!required) return undefined;
  const constraint: unknown = parseDocument(constraintText).toJS();
  const spec = isRecord(constraint) && isRecord(constraint.spec) ? constraint.spec : {};
  if ((spec.enforcementAction ?? 'deny') !== 'deny') return undefined;
  const parameters = isRecord(spec.parameters) ? spec.parameters : {};
  const set = (value: unknown) =>
    Array.isArray(value) ? value.length > 0 : typeof value === 'string' ? value.trim() !== '' : isRecord(value) ? Object.keys(value).length > 0 : value !== undefined && value !== null;
  if (required.anyOf.some((key) => set(parameters[key]))) return undefined;
  return required.anyOf.length === 1 ? required.anyOf[0]! : `${required.anyOf.slice(0, -1).join(', ')} or ${required.anyOf.at(-1)}`;
}

/**
 * A `--param` value read as its schema types it: a list is comma-separated (`a,b`), a boolean
 * `true`/`false`, a number in digits; `[...]` or `{...}` is YAML, for lists of objects.
 */
export function parameterValue(schema: ParameterSchema, raw: string): unknown {
  const text = raw.trim();
  if (text.startsWith('[') || text.startsWith('{')) {
    try {
      return parseDocument(text, { prettyErrors: false }).toJS() as unknown;
    } catch {
      return { invalid: 'not valid YAML' };
    }
  }
  const scalar = (type: string | undefined, value: string): unknown => {
    if (type === 'boolean') return value === 'true' ? true : value === 'false' ? false : { invalid: `expected true or false, not "${value}"` };
    if (type === 'integer') return /^-?\d+$/.test(value) ? Number(value) : { invalid: `expected a whole number, not "${value}"` };
    if (type === 'number') return value !== '' && Number.isFinite(Number(value)) ? Number(value) : { invalid: `expected a number, not "${value}"` };
    if (type === 'object' || type === 'array') return { invalid: `expected a ${type}: give it as YAML, e.g. ${type === 'object' ? '{key: value}' : '[a, b]'}` };
    return value;
  };
  if (schema.type === 'array') {
    const items = text === '' ? [] : text.split(',').map((item) => item.trim()).filter((item) => item !== '');
    const values = items.map((item) => scalar(schema.items?.type ?? 'string', item));
    return values.find((value) => typeof value === 'object' && value !== null && 'invalid' in value) ?? values;
  }
  return scalar(schema.type, text);
}

/** `<name>.policy`: Parapet's record of an enabled library policy (Security Tower's schema is not public). */
export function renderPolicyRecord(policy: LibraryPolicy): string {
  const paths = policyPaths('', policy.name);
  const doc = new Document({
    apiVersion: POLICY_API_VERSION,
    kind: ENABLED_POLICY_KIND,
    metadata: { name: policy.name, annotations: { [MANAGED_BY_ANNOTATION]: MANAGED_BY_VALUE } },
    spec: {
      version: policy.version,
      title: policy.title,
      standards: policy.standards.map((s) => ({ id: s.id, control: s.control })),
      templateFile: paths.template,
      constraintFile: paths.constraint,
      enabledBy: 'parapet',
    },
  });
  doc.commentBefore = [
    " Parapet's record of a library policy enabled in this folder (Parapet's docs/policies.md describes",
    ' the format). `parapet policies status` reads it: do not edit.',
  ].join('\n');
  return doc.toString(STRINGIFY);
}

/** policies/expansion.yaml, every ExpansionTemplate marked as Parapet's. */
export function renderExpansion(catalog: Catalog): string {
  const docs = parseAllDocuments(catalog.expansionText);
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    if (i === 0) {
      mark(doc, [
        ' Written by `parapet policies enable` with the first library policy in this folder, removed with the',
        ' last one; it is overwritten on upgrades: do not edit.',
      ]);
    } else mark(doc, []);
  });
  return list.map((doc) => doc.toString(STRINGIFY)).join('');
}

/**
 * The kinds a template says Gatekeeper must sync for it (`metadata.gatekeeper.sh/requires-sync-data`:
 * a list of requirements, each a list of clauses whose kinds are equivalent): every group, version
 * and kind of each requirement's first clause.
 */
export function requiredSyncKinds(templateText: string): SyncedKind[] {
  let requirements: unknown;
  try {
    const template = parseDocument(templateText).toJS() as unknown;
    const annotations = isRecord(template) && isRecord(template.metadata) && isRecord(template.metadata.annotations) ? template.metadata.annotations : {};
    const raw = annotations['metadata.gatekeeper.sh/requires-sync-data'];
    // Gatekeeper trims line breaks and quotes first (cachemanager/parser): the library writes the
    // JSON as a quoted string inside a block scalar.
    requirements = typeof raw === 'string' ? JSON.parse(raw.replace(/^[\n"]+|[\n"]+$/g, '')) : [];
  } catch {
    return [];
  }
  const kinds: SyncedKind[] = [];
  for (const requirement of Array.isArray(requirements) ? requirements : []) {
    const first: unknown = Array.isArray(requirement) ? requirement[0] : undefined;
    if (!isRecord(first)) continue;
    const strings = (key: string) => (Array.isArray(first[key]) ? (first[key] as unknown[]).filter((v): v is string => typeof v === 'string') : []);
    for (const group of strings('groups')) for (const version of strings('versions')) for (const kind of strings('kinds')) kinds.push({ group, version, kind });
  }
  return kinds;
}

/** The owners' kinds, and what the policies' templates require, each once. */
function syncKinds(policies: readonly LibraryPolicy[]): SyncedKind[] {
  const kinds = [...OWNER_SYNC_KINDS, ...policies.flatMap((policy) => requiredSyncKinds(policy.templateText))];
  return kinds.filter((k, i) => kinds.findIndex((other) => sameKind(other, k)) === i);
}

/**
 * Whether the folder's Config is still as `enable` left it: what renderGatekeeperConfig writes for
 * its own syncOnly list, every kind of which the owners' or one that a policy enabled there requires.
 */
function isUntouchedConfig(text: string, enabled: readonly LibraryPolicy[]): boolean {
  const objects = parseObjects(text);
  if (typeof objects === 'string' || objects.length !== 1) return false;
  const [config] = objects;
  const spec = isRecord(config) && isRecord(config.spec) ? config.spec : {};
  const listed = isRecord(spec.sync) && Array.isArray(spec.sync.syncOnly) ? spec.sync.syncOnly : [];
  const ours = syncKinds(enabled);
  const kinds = listed.filter(isRecord).map((k) => ({ group: String(k.group ?? ''), version: String(k.version), kind: String(k.kind) }));
  if (!kinds.every((k) => ours.some((o) => sameKind(o, k)))) return false;
  return equivalent(text, renderGatekeeperConfig(kinds));
}

/** Gatekeeper's Config as Parapet writes it when the folder has none: it syncs the owners' kinds and what the policies read. */
export function renderGatekeeperConfig(kinds: readonly SyncedKind[] = OWNER_SYNC_KINDS): string {
  const doc = new Document({
    apiVersion: 'config.gatekeeper.sh/v1alpha1',
    kind: 'Config',
    // Gatekeeper reads only the Config named config in its own namespace.
    metadata: { name: 'config', namespace: 'gatekeeper-system' },
    spec: { sync: { syncOnly: kinds.map((k) => ({ ...k })) } },
  });
  mark(doc, [
    ' Written by `parapet policies enable`: Gatekeeper syncs these kinds into its referential data',
    " (data.inventory), where the library's templates find the workload that owns a Pod, so that a risk",
    " acceptance on a workload's own metadata accepts its Pods, and what the policies compare objects",
    " with (their templates' requires-sync-data). Add what else you need: enabling again",
    ' only adds the kinds that are missing, and disabling the last policy removes the file as written.',
  ]);
  return doc.toString(STRINGIFY);
}

function readsInventory(templateText: string): boolean {
  return templateText.includes('data.inventory');
}

/**
 * The Config that syncs the owners' kinds: Parapet's new file when the folder has no Config named
 * config, else that Config (the user's or ours) with the missing kinds added, its other fields and
 * comments kept (unchanged when it syncs them all already).
 */
function syncPlan(folder: PolicyFolder, kinds: readonly SyncedKind[]): { path: string; text: string } {
  for (const path of [...folder.files.keys()].sort()) {
    if (!/\.ya?ml$/i.test(path)) continue;
    const text = folder.files.get(path)!;
    let docs: Document[];
    try {
      const parsed = parseAllDocuments(text, { version: '1.2', prettyErrors: false });
      docs = Array.isArray(parsed) ? parsed : [parsed];
    } catch {
      continue;
    }
    if (docs.some((doc) => doc.errors.length > 0)) continue;
    const index = docs.findIndex((doc) => {
      const value: unknown = doc.toJS();
      return isRecord(value) && value.kind === 'Config' && typeof value.apiVersion === 'string' && value.apiVersion.startsWith('config.gatekeeper.sh/') && isRecord(value.metadata) && value.metadata.name === 'config';
    });
    if (index < 0) continue;
    const doc = docs[index]!;
    const value = doc.toJS() as Record<string, unknown>;
    const spec = isRecord(value.spec) ? value.spec : {};
    const synced = isRecord(spec.sync) ? spec.sync.syncOnly : undefined;
    const has = (k: SyncedKind) =>
      Array.isArray(synced) && synced.some((entry) => isRecord(entry) && sameKind({ group: String(entry.group ?? ''), version: String(entry.version), kind: String(entry.kind) }, k));
    const missing = kinds.filter((k) => !has(k));
    if (missing.length === 0) return { path, text };
    const list = doc.getIn(['spec', 'sync', 'syncOnly'], true);
    if (isSeq(list)) for (const k of missing) list.add(doc.createNode({ ...k }));
    else doc.setIn(['spec', 'sync', 'syncOnly'], doc.createNode(missing.map((k) => ({ ...k }))));
    return { path, text: docs.map((d) => d.toString(STRINGIFY)).join('') };
  }
  return { path: joinPath(folder.path, GATEKEEPER_CONFIG_FILE), text: renderGatekeeperConfig(kinds) };
}

function mark(doc: Document, comment: string[]): void {
  doc.setIn(['metadata', 'annotations', MANAGED_BY_ANNOTATION], MANAGED_BY_VALUE);
  if (comment.length > 0) doc.commentBefore = [comment.join('\n'), doc.commentBefore].filter((c) => c).join('\n');
}

function setAction(doc: Document, action: string): void {
  const spec = doc.get('spec', true);
  if (!isMap(spec)) {
    doc.setIn(['spec', 'enforcementAction'], action);
    return;
  }
  if (spec.has('enforcementAction')) spec.set('enforcementAction', action);
  else spec.items.unshift(doc.createPair('enforcementAction', action));
}

function roundTrips(doc: Document, path: string[], expected: unknown): boolean {
  try {
    const reparsed = parseDocument(doc.toString(STRINGIFY));
    return reparsed.errors.length === 0 && isDeepStrictEqual(reparsed.getIn(path) === undefined ? undefined : toPlain(reparsed, path), expected);
  } catch {
    return false;
  }
}

function toPlain(doc: Document, path: string[]): unknown {
  const node = doc.getIn(path, true);
  return isNode(node) ? node.toJS(doc) : node;
}

// --- Reading the folder ----------------------------------------------------------------------------

interface FileView {
  text: string;
  /** Every YAML object in it carries the managed-by annotation. */
  ours: boolean;
  /** Why a YAML file could not be read, for messages. */
  error?: string;
}

interface FolderView {
  files: Map<string, FileView>;
  /** Enabled policies by name: our `.policy` files directly in the folder. */
  records: Map<string, { version?: string; path: string }>;
  /** ConstraintTemplates in files not ours, by metadata.name (the lower-cased kind). */
  foreignTemplates: Map<string, string>;
  /** Files not ours holding ExpansionTemplates. */
  foreignExpansion: string[];
}

function inspectFolder(folder: PolicyFolder): FolderView {
  const files = new Map<string, FileView>();
  const records = new Map<string, { version?: string; path: string }>();
  const foreignTemplates = new Map<string, string>();
  const foreignExpansion: string[] = [];
  for (const path of [...folder.files.keys()].sort()) {
    const text = folder.files.get(path)!;
    if (!/\.(ya?ml|policy)$/i.test(path)) {
      files.set(path, { text, ours: false });
      continue;
    }
    const parsed = parseObjects(text);
    if (typeof parsed === 'string') {
      files.set(path, { text, ours: false, error: parsed });
      continue;
    }
    const ours = parsed.length > 0 && parsed.every(isManaged);
    files.set(path, { text, ours });
    for (const object of parsed) {
      if (!isRecord(object)) continue;
      const name = isRecord(object.metadata) && typeof object.metadata.name === 'string' ? object.metadata.name : undefined;
      if (ours) {
        const record = /^[^/]+\.policy$/.test(relativeTo(folder.path, path)) && object.apiVersion === POLICY_API_VERSION && object.kind === ENABLED_POLICY_KIND;
        if (record && name) {
          const version = isRecord(object.spec) && typeof object.spec.version === 'string' ? object.spec.version : undefined;
          records.set(name, { path, ...(version !== undefined ? { version } : {}) });
        }
        continue;
      }
      if (object.kind === 'ConstraintTemplate' && name) foreignTemplates.set(name.toLowerCase(), path);
      if (object.kind === 'ExpansionTemplate' && !foreignExpansion.includes(path)) foreignExpansion.push(path);
    }
  }
  return { files, records, foreignTemplates, foreignExpansion };
}

/** Why enabling (or showing) `policy` would clash with files Parapet did not write. */
function conflicts(view: FolderView, policy: LibraryPolicy, targets: string[]): PlanProblem[] {
  const problems = targets.filter((path) => view.files.has(path) && !view.files.get(path)!.ours).map((path) => notOurs(path, view.files.get(path)!));
  const twin = view.foreignTemplates.get(policy.name);
  if (twin !== undefined && !targets.includes(twin)) {
    problems.push({
      code: 'conflict',
      path: twin,
      message: `${twin} already defines the ConstraintTemplate ${policy.name} and was not written by Parapet: left untouched; remove it to use the library's ${policy.name}`,
    });
  }
  return problems;
}

function notOurs(path: string, file: FileView): PlanProblem {
  const why = file.error ? `does not parse (${file.error})` : `has no ${MANAGED_BY_ANNOTATION}: ${MANAGED_BY_VALUE} annotation`;
  return { code: 'conflict', path, message: `${path} was not written by Parapet (it ${why}): left untouched; move it away to let Parapet write it` };
}

function isManaged(object: unknown): boolean {
  if (!isRecord(object) || !isRecord(object.metadata) || !isRecord(object.metadata.annotations)) return false;
  return object.metadata.annotations[MANAGED_BY_ANNOTATION] === MANAGED_BY_VALUE;
}

function parseObjects(text: string): unknown[] | string {
  try {
    const docs = parseAllDocuments(text, { version: '1.2', prettyErrors: false });
    const list = Array.isArray(docs) ? docs : [docs];
    const error = list.flatMap((doc) => doc.errors)[0];
    if (error) return `YAML: ${error.message.split('\n')[0]}`;
    return list.filter((doc) => doc.contents !== null).map((doc) => doc.toJS({ maxAliasCount: 100 }) as unknown);
  } catch (error) {
    return error instanceof Error ? error.message.split('\n')[0]! : String(error);
  }
}

/** Same text, or the same YAML data (a user's reformatting or comments are not a change). */
function equivalent(current: string, planned: string): boolean {
  if (current === planned) return true;
  const a = parseObjects(current);
  const b = parseObjects(planned);
  return typeof a !== 'string' && typeof b !== 'string' && isDeepStrictEqual(a, b);
}

// --- Selection -------------------------------------------------------------------------------------

function select(catalog: Catalog, selection: Selection, problems: PlanProblem[]): LibraryPolicy[] {
  const chosen = new Map<string, LibraryPolicy>();
  if (selection.standard !== undefined) {
    const standard = findStandard(catalog, selection.standard);
    if (!standard) {
      problems.push({ code: 'unknown-standard', message: `unknown standard "${selection.standard}" (known: ${catalog.standards.map((s) => s.id).join(', ')})` });
    } else if (standard.policies.length === 0) {
      problems.push({ code: 'nothing-selected', message: `the library has no policy for the standard ${standard.id} yet` });
    } else for (const name of [...standard.policies, ...(selection.strict ? standard.stricter : [])]) chosen.set(name, findPolicy(catalog, name)!);
  } else if (selection.strict) {
    problems.push({ code: 'nothing-selected', message: '--strict adds the policies stricter than a standard\'s controls: give the standard with --standard' });
  }
  for (const name of selection.names ?? []) {
    const policy = findPolicy(catalog, name);
    if (policy) chosen.set(policy.name, policy);
    else problems.push(unknownPolicy(catalog, name));
  }
  if (selection.standard === undefined && (selection.names ?? []).length === 0) {
    problems.push({ code: 'nothing-selected', message: 'name the policies to enable, or a standard with --standard' });
  }
  return [...chosen.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function unknownPolicy(catalog: Catalog, name: string): PlanProblem {
  const similar = similarPolicyNames(catalog, name);
  const hint = similar.length > 0 ? `; did you mean ${similar.join(' or ')}?` : ` (see 'parapet policies list')`;
  return { code: 'unknown-policy', message: `unknown policy "${name}"${hint}` };
}

// --- Small things ----------------------------------------------------------------------------------

function emptyPlan(): Plan {
  return { writes: new Map(), deletes: [], unchanged: [], outcomes: [], problems: [], notes: [] };
}

/** A plan with problems does nothing at all. */
function failed(plan: Plan): Plan {
  return { ...emptyPlan(), problems: plan.problems };
}

function joinPath(folder: string, file: string): string {
  return folder === '' ? file : `${folder}/${file}`;
}

function relativeTo(folder: string, path: string): string {
  return folder === '' ? path : path.slice(folder.length + 1);
}

/** -1, 0 or 1, by major.minor.patch; a pre-release sorts before its release. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const [core = '', pre] = v.split('-', 2);
    return { parts: core.split('.').map((n) => Number.parseInt(n, 10) || 0), pre };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.parts[i] ?? 0) - (y.parts[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre < y.pre ? -1 : 1;
}

