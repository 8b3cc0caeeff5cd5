// What the compliance pages and their API show, computed once for both: one row per policy (the
// library's, grouped by standard and control from its metadata, then the repositories' own), one
// column per cluster the user may read, and per cell whether the cluster enables the policy, how,
// and what its newest default-branch evaluation found. Coverage per standard is counted by the
// library's own standardCoverage, as `parapet policies status` counts it.
import type { PrismaClient } from '@prisma/client';
import { QueryError } from '../errors.js';
import { loadCatalog, STANDARDS, type Catalog, type StandardId, type StandardRef } from '../library/catalog.js';
import { standardCoverage, type StandardCoverage } from '../library/plan.js';
import type { PageInfo } from './overview-data.js';
import {
  clusterHistory,
  complianceClusters,
  enabledConstraints,
  listViolations,
  policyFindings,
  type ComplianceClusterRow,
  type ConstraintRow,
  type PolicyFindings,
} from './queries/compliance.js';
import { compareNames, type OverviewFilters } from './queries/overview.js';

let catalog: Promise<Catalog> | undefined;

/** Parapet's policy library, read once per process (its files ship with the package). */
export function libraryCatalog(): Promise<Catalog> {
  catalog ??= loadCatalog().catch((error: unknown) => {
    catalog = undefined;
    throw error;
  });
  return catalog;
}

// --- The query string ----------------------------------------------------------------------------

export interface ComplianceQuery {
  repo?: string | undefined;
  cluster?: string | undefined;
  standard?: StandardId | undefined;
  /** Only the policies whose configuration differs between the clusters shown. */
  differences: boolean;
  /** Only the clusters whose `kind: Cluster` file says `production: true`. */
  production: boolean;
}

function flag(params: URLSearchParams, name: string): boolean {
  const value = params.get(name);
  if (value === null || value === '') return false;
  if (value !== '1') throw new QueryError(`${name} must be 1 (or absent)`);
  return true;
}

/** The compliance filters: the overview's repo and cluster, and standard, differences, production. */
export function readComplianceQuery(params: URLSearchParams, filters: OverviewFilters): ComplianceQuery {
  const standard = params.get('standard');
  const known = STANDARDS.find((s) => s.id === standard);
  if (standard !== null && standard !== '' && !known) throw new QueryError(`standard must be one of ${STANDARDS.map((s) => s.id).join(', ')}`);
  return { repo: filters.repo, cluster: filters.cluster, standard: known?.id, differences: flag(params, 'differences'), production: flag(params, 'production') };
}

export const TREND_DAYS = { default: 90, max: 730 };

export function readDays(params: URLSearchParams): number {
  const value = params.get('days');
  if (value === null || value === '') return TREND_DAYS.default;
  if (!/^\d{1,4}$/.test(value) || Number(value) < 1 || Number(value) > TREND_DAYS.max) throw new QueryError(`days must be a whole number from 1 to ${TREND_DAYS.max}`);
  return Number(value);
}

/** `owner/name:cluster`, as the compliance columns' keys: one cluster of one repository. */
export function readClusterKey(params: URLSearchParams, name: string): string | undefined {
  const value = params.get(name);
  if (value === null || value === '') return undefined;
  if (value.length > 300 || /[\u0000-\u001f\u007f]/.test(value) || !/^[^/:]+\/[^/:]+:[^/:]+$/.test(value)) {
    throw new QueryError(`${name} must name a cluster as owner/repository:cluster`);
  }
  return value;
}

// --- Columns -------------------------------------------------------------------------------------

export const clusterKey = (repo: string, cluster: string) => `${repo}:${cluster}`;

/** The strongest first: the order actions are listed and compared in. */
const ACTION_ORDER = ['deny', 'warn', 'dryrun', 'none'];
const byAction = (a: string, b: string) => (ACTION_ORDER.indexOf(a) + 1 || 99) - (ACTION_ORDER.indexOf(b) + 1 || 99) || compareNames(a, b);

export interface Coverage extends StandardCoverage {
  /** Of the enabled policies of the standard, those with a constraint in `deny`. */
  enforced: number;
}

export interface ComplianceColumn {
  /** `owner/name:cluster`: the key of the cells, and `a`/`b` of the comparison. */
  key: string;
  repo: string;
  cluster: string;
  production: boolean | null;
  securityLevel: string | null;
  /** The commit its configuration and policies were read at; null when none recorded yet. */
  configSha: string | null;
  /** Its newest evaluation of the default branch; null when none. */
  evaluation: { sha: string; conclusion: string; observedAt: string; finishedAt: string } | null;
  /** The newest push to the default branch the App took on. */
  push: { sha: string; at: string } | null;
  /** The newest push came after its newest evaluation (or it has none): what it shows is not the branch's state. */
  behind: boolean;
  coverage: Coverage[];
  totals: { policies: number; violations: number; accepted: number };
}

/** A constraint of a policy in a cluster. */
export interface ConstraintSetting {
  constraint: string;
  kind: string;
  action: string;
  /** The template's version annotation. */
  version: string | null;
  /** After schema defaulting; null when unknown (recorded before parameters were kept). */
  parameters: unknown;
}

export interface ComplianceCell {
  enabled: boolean;
  /** The distinct enforcement actions of its constraints, strongest first. */
  actions: string[];
  constraints: ConstraintSetting[];
  /** What the cluster's newest default-branch evaluation found of the policy. */
  violations: number;
  objects: number;
  /** Objects with an accepted violation of the policy. */
  accepted: number;
  /** Objects with a violation no risk acceptance covers. */
  open: number;
  /** 0 (none open) to 4 (50 or more open objects); null when neither enabled nor violated. */
  heat: number | null;
  /** The page listing the violating objects (`/api/violations` takes the same query); null when none. */
  objectsHref: string | null;
}

export type ConfigDifference = 'enabled' | 'action' | 'parameters';

export interface ComplianceRow {
  /** The template's name (the policy's name in the library, the risk-acceptance annotation's suffix). */
  policy: string;
  title: string;
  source: 'library' | 'custom';
  /** The library's version; null for custom policies. */
  version: string | null;
  /** Every standard and control the library maps it to. */
  standards: StandardRef[];
  /** Its control in the standard of its group; null outside a standard. */
  control: string | null;
  cells: Record<string, ComplianceCell>;
  /** How the shown clusters' configurations of it differ (none with fewer than two clusters). */
  differences: ConfigDifference[];
}

export interface ComplianceGroup {
  /** A standard's id, `library` (library policies of no standard) or `custom`. */
  key: string;
  title: string;
  rows: ComplianceRow[];
}

export interface ComplianceView {
  standards: { id: StandardId; title: string }[];
  columns: ComplianceColumn[];
  groups: ComplianceGroup[];
  summary: { clusters: number; policies: number; differing: number; behind: number };
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

interface Loaded {
  catalog: Catalog;
  columns: ComplianceColumn[];
  rows: { cluster: ComplianceClusterRow; constraints: Map<string, ConstraintRow[]>; findings: Map<string, PolicyFindings> }[];
}

const filtersLeave = (query: Pick<ComplianceQuery, 'repo' | 'cluster' | 'production'>) => (c: ComplianceClusterRow) =>
  (!query.repo || c.repo === query.repo) && (!query.cluster || c.name === query.cluster) && (!query.production || c.production === true);

/** The clusters `shows` keeps, each with its constraints by policy and its findings by policy. */
async function load(prisma: PrismaClient, repoIds: readonly bigint[], shows: (c: ComplianceClusterRow) => boolean): Promise<Loaded> {
  const [lib, all] = await Promise.all([libraryCatalog(), complianceClusters(prisma, repoIds)]);
  const shown = all.filter(shows);
  const evaluated = shown.flatMap((c) => (c.evaluationId === null ? [] : [{ clusterId: c.id, evaluationId: c.evaluationId }]));
  const [constraints, findings] = await Promise.all([enabledConstraints(prisma, shown.map((c) => c.id)), policyFindings(prisma, evaluated)]);
  const rows = shown.map((cluster) => ({ cluster, constraints: new Map<string, ConstraintRow[]>(), findings: new Map<string, PolicyFindings>() }));
  const byId = new Map(rows.map((r) => [r.cluster.id, r]));
  for (const c of constraints) {
    const row = byId.get(c.clusterId)!;
    row.constraints.set(c.template, [...(row.constraints.get(c.template) ?? []), c]);
  }
  for (const f of findings) byId.get(f.clusterId)!.findings.set(f.policy, f);
  const columns = rows.map(({ cluster, constraints: enabled, findings: found }): ComplianceColumn => {
    const deny = new Set([...enabled].filter(([, list]) => list.some((c) => c.enforcementAction === 'deny')).map(([name]) => name));
    const enforced = new Map(standardCoverage(lib, deny).map((s) => [s.id, s.enabled]));
    const evaluation =
      cluster.evaluationSha !== null
        ? { sha: cluster.evaluationSha, conclusion: cluster.evaluationConclusion!, observedAt: iso(cluster.evaluationObservedAt)!, finishedAt: iso(cluster.evaluationFinishedAt)! }
        : null;
    return {
      key: clusterKey(cluster.repo, cluster.name),
      repo: cluster.repo,
      cluster: cluster.name,
      production: cluster.production,
      securityLevel: cluster.securityLevel,
      configSha: cluster.configSha,
      evaluation,
      push: cluster.pushedSha !== null && cluster.pushedAt !== null ? { sha: cluster.pushedSha, at: cluster.pushedAt.toISOString() } : null,
      behind: cluster.pushedAt !== null && (cluster.evaluationObservedAt === null || cluster.evaluationObservedAt < cluster.pushedAt),
      coverage: standardCoverage(lib, new Set(enabled.keys())).map((s) => ({ ...s, enforced: enforced.get(s.id) ?? 0 })),
      totals: {
        policies: enabled.size,
        violations: [...found.values()].reduce((n, f) => n + f.violations, 0),
        accepted: [...found.values()].reduce((n, f) => n + f.acceptedViolations, 0),
      },
    };
  });
  return { catalog: lib, columns, rows };
}

function heatOf(enabled: boolean, objects: number, open: number): number | null {
  if (!enabled && objects === 0) return null;
  return open === 0 ? 0 : open < 3 ? 1 : open < 10 ? 2 : open < 50 ? 3 : 4;
}

export const HEAT_LEVELS = ['no open violation', '1–2 objects', '3–9 objects', '10–49 objects', '50 or more objects'] as const;

const violationsHref = (repo: string, cluster: string, policy: string) =>
  `/violations?${new URLSearchParams({ repo, cluster, policy }).toString()}`;

function cellOf(column: ComplianceColumn, policy: string, constraints: readonly ConstraintRow[], found: PolicyFindings | undefined): ComplianceCell {
  const enabled = constraints.length > 0;
  const objects = found?.objects ?? 0;
  const open = found?.open ?? 0;
  return {
    enabled,
    actions: [...new Set(constraints.map((c) => c.enforcementAction))].sort(byAction),
    constraints: constraints.map((c) => ({ constraint: c.constraint, kind: c.kind, action: c.enforcementAction, version: c.version, parameters: c.parameters })),
    violations: found?.violations ?? 0,
    objects,
    accepted: found?.accepted ?? 0,
    open,
    heat: heatOf(enabled, objects, open),
    objectsHref: objects > 0 ? violationsHref(column.repo, column.cluster, policy) : null,
  };
}

/** JSON with sorted keys: equal data, equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * What a cell's parameters are, for comparison: a policy with one constraint is compared by its
 * parameters whatever the constraint is called; with several, constraint by constraint. Null when
 * a parameter set is unknown.
 */
function parameterSignature(cell: ComplianceCell): string | null {
  if (cell.constraints.some((c) => c.parameters === null)) return null;
  if (cell.constraints.length === 1) return canonicalJson(cell.constraints[0]!.parameters);
  return canonicalJson(cell.constraints.map((c) => [c.constraint, c.parameters]).sort((a, b) => compareNames(String(a[0]), String(b[0]))));
}

/** How the configurations of a policy differ among clusters: enabled in some only, actions, parameters. */
export function configDifferences(cells: readonly ComplianceCell[]): ConfigDifference[] {
  const enabled = cells.filter((c) => c.enabled);
  const out: ConfigDifference[] = [];
  if (enabled.length > 0 && enabled.length < cells.length) out.push('enabled');
  if (new Set(enabled.map((c) => c.actions.join(','))).size > 1) out.push('action');
  const signatures = enabled.map(parameterSignature).filter((s) => s !== null);
  if (new Set(signatures).size > 1) out.push('parameters');
  return out;
}

const CUSTOM = { key: 'custom', title: "Custom policies (not in Parapet's library)" };
const NO_STANDARD = { key: 'library', title: 'Library policies mapped to no standard' };

/** The policies as rows, in groups: each standard's (by control), then the library's others, then custom ones. */
function buildRows(loaded: Loaded, standard: StandardId | undefined): ComplianceGroup[] {
  const { catalog: lib, columns, rows: clusters } = loaded;
  const custom = new Map<string, string | null>();
  const inLibrary = new Set(lib.policies.map((p) => p.name));
  for (const { constraints, findings } of clusters) {
    for (const [name, list] of constraints) if (!inLibrary.has(name)) custom.set(name, custom.get(name) ?? list.find((c) => c.title)?.title ?? null);
    for (const name of findings.keys()) if (!inLibrary.has(name) && !custom.has(name)) custom.set(name, null);
  }
  const rowOf = (policy: string, base: Omit<ComplianceRow, 'policy' | 'cells' | 'differences'>): ComplianceRow => {
    const cells: Record<string, ComplianceCell> = {};
    clusters.forEach(({ constraints, findings }, i) => {
      cells[columns[i]!.key] = cellOf(columns[i]!, policy, constraints.get(policy) ?? [], findings.get(policy));
    });
    return { policy, ...base, cells, differences: columns.length > 1 ? configDifferences(Object.values(cells)) : [] };
  };
  const groups = new Map<string, ComplianceGroup>();
  const add = (group: { key: string; title: string }, row: ComplianceRow) => {
    if (!groups.has(group.key)) groups.set(group.key, { ...group, rows: [] });
    groups.get(group.key)!.rows.push(row);
  };
  for (const policy of lib.policies) {
    const home = standard ?? STANDARDS.find((s) => policy.standards.some((r) => r.id === s.id))?.id;
    const control = home ? (policy.standards.find((r) => r.id === home)?.control ?? null) : null;
    if (standard && control === null) continue;
    const group = home ? { key: home, title: STANDARDS.find((s) => s.id === home)!.title } : NO_STANDARD;
    add(group, rowOf(policy.name, { title: policy.title, source: 'library', version: policy.version, standards: policy.standards, control }));
  }
  if (!standard) {
    for (const [name, title] of [...custom].sort((a, b) => compareNames(a[0], b[0]))) add(CUSTOM, rowOf(name, { title: title ?? name, source: 'custom', version: null, standards: [], control: null }));
  }
  const order = [...STANDARDS.map((s) => s.id as string), NO_STANDARD.key, CUSTOM.key];
  return [...groups.values()]
    .sort((a, b) => order.indexOf(a.key) - order.indexOf(b.key))
    .map((g) => ({ ...g, rows: g.rows.sort((a, b) => compareNames(a.control ?? '', b.control ?? '') || compareNames(a.policy, b.policy)) }));
}

/** Policies × clusters, grouped by standard and control; with `differences`, only the rows that differ. */
export async function complianceView(prisma: PrismaClient, repoIds: readonly bigint[], query: ComplianceQuery): Promise<ComplianceView> {
  const loaded = await load(prisma, repoIds, filtersLeave(query));
  const all = buildRows(loaded, query.standard);
  const differing = all.reduce((n, g) => n + g.rows.filter((r) => r.differences.length > 0).length, 0);
  const groups = query.differences ? all.map((g) => ({ ...g, rows: g.rows.filter((r) => r.differences.length > 0) })).filter((g) => g.rows.length > 0) : all;
  return {
    standards: STANDARDS.map((s) => ({ id: s.id, title: s.title })),
    columns: loaded.columns,
    groups,
    summary: { clusters: loaded.columns.length, policies: groups.reduce((n, g) => n + g.rows.length, 0), differing, behind: loaded.columns.filter((c) => c.behind).length },
  };
}

// --- Two clusters side by side ---------------------------------------------------------------------

export type ComparisonDifference = ConfigDifference | 'violations';

/** One parameter whose value differs: `key` is a top-level parameter, null when the whole value differs. */
export interface ParameterChange {
  constraint: string;
  key: string | null;
  /** Absent (undefined) where that side does not set it; `constraint` names a side's constraint missing on the other. */
  a?: unknown;
  b?: unknown;
}

export interface ComparisonRow {
  policy: string;
  title: string;
  source: 'library' | 'custom';
  standards: StandardRef[];
  a: ComplianceCell;
  b: ComplianceCell;
  differences: ComparisonDifference[];
  parameterChanges: ParameterChange[];
}

export interface ComparisonView {
  a: ComplianceColumn;
  b: ComplianceColumn;
  coverage: { id: StandardId; title: string; total: number; a: { enabled: number; enforced: number }; b: { enabled: number; enforced: number } }[];
  /** Policy names by kind of difference. */
  summary: { onlyA: string[]; onlyB: string[]; actions: string[]; parameters: string[]; violations: string[]; same: number };
  policies: ComparisonRow[];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The parameters that differ between two cells' constraints: paired when alone, else by name. */
export function parameterChanges(a: ComplianceCell, b: ComplianceCell): ParameterChange[] {
  if (!a.enabled || !b.enabled || parameterSignature(a) === null || parameterSignature(b) === null) return [];
  const pairs: [ConstraintSetting | undefined, ConstraintSetting | undefined][] =
    a.constraints.length === 1 && b.constraints.length === 1
      ? [[a.constraints[0], b.constraints[0]]]
      : [...new Set([...a.constraints, ...b.constraints].map((c) => c.constraint))].sort(compareNames).map((name) => [a.constraints.find((c) => c.constraint === name), b.constraints.find((c) => c.constraint === name)]);
  const changes: ParameterChange[] = [];
  for (const [x, y] of pairs) {
    const constraint = x && y && x.constraint !== y.constraint ? `${x.constraint} / ${y.constraint}` : (x ?? y)!.constraint;
    if (!x || !y) {
      changes.push({ constraint, key: null, ...(x ? { a: x.parameters } : {}), ...(y ? { b: y.parameters } : {}) });
      continue;
    }
    if (canonicalJson(x.parameters) === canonicalJson(y.parameters)) continue;
    if (!isPlainObject(x.parameters) || !isPlainObject(y.parameters)) {
      changes.push({ constraint, key: null, a: x.parameters, b: y.parameters });
      continue;
    }
    const px = x.parameters;
    const py = y.parameters;
    for (const key of [...new Set([...Object.keys(px), ...Object.keys(py)])].sort(compareNames)) {
      if (canonicalJson(px[key]) === canonicalJson(py[key])) continue;
      changes.push({ constraint, key, ...(key in px ? { a: px[key] } : {}), ...(key in py ? { b: py[key] } : {}) });
    }
  }
  return changes;
}

/**
 * Two clusters side by side: per policy both cells and how they differ (enabled in one only,
 * actions, parameters, violation counts), the parameters that differ, and coverage per standard.
 * Null when either cluster is not one the user may read.
 */
export async function comparisonView(prisma: PrismaClient, repoIds: readonly bigint[], keys: { a: string; b: string }, standard?: StandardId): Promise<ComparisonView | null> {
  const loaded = await load(prisma, repoIds, (c) => [keys.a, keys.b].includes(clusterKey(c.repo, c.name)));
  const ia = loaded.columns.findIndex((c) => c.key === keys.a);
  const ib = loaded.columns.findIndex((c) => c.key === keys.b);
  if (ia < 0 || ib < 0) return null;
  const pair: Loaded = { catalog: loaded.catalog, columns: [loaded.columns[ia]!, loaded.columns[ib]!], rows: [loaded.rows[ia]!, loaded.rows[ib]!] };
  const [a, b] = pair.columns as [ComplianceColumn, ComplianceColumn];
  // A cluster compared with itself is one column: its cells are read by index, not by key.
  const policies = buildRows(pair, standard)
    .flatMap((g) => g.rows)
    .map((row): ComparisonRow => {
      const [ca, cb] = [cellOf(a, row.policy, pair.rows[0]!.constraints.get(row.policy) ?? [], pair.rows[0]!.findings.get(row.policy)), cellOf(b, row.policy, pair.rows[1]!.constraints.get(row.policy) ?? [], pair.rows[1]!.findings.get(row.policy))];
      const differences: ComparisonDifference[] = configDifferences([ca, cb]);
      if (ca.objects !== cb.objects || ca.accepted !== cb.accepted) differences.push('violations');
      return { policy: row.policy, title: row.title, source: row.source, standards: row.standards, a: ca, b: cb, differences, parameterChanges: differences.includes('parameters') ? parameterChanges(ca, cb) : [] };
    });
  const names = (test: (r: ComparisonRow) => boolean) => policies.filter(test).map((r) => r.policy);
  return {
    a,
    b,
    coverage: a.coverage.map((s, i) => ({ id: s.id, title: s.title, total: s.total, a: { enabled: s.enabled, enforced: s.enforced }, b: { enabled: b.coverage[i]!.enabled, enforced: b.coverage[i]!.enforced } })),
    summary: {
      onlyA: names((r) => r.a.enabled && !r.b.enabled),
      onlyB: names((r) => !r.a.enabled && r.b.enabled),
      actions: names((r) => r.differences.includes('action')),
      parameters: names((r) => r.differences.includes('parameters')),
      violations: names((r) => r.differences.includes('violations')),
      same: policies.filter((r) => r.differences.length === 0).length,
    },
    policies,
  };
}

/** The clusters a comparison may choose from: every one the user may read. */
export async function comparableClusters(prisma: PrismaClient, repoIds: readonly bigint[]) {
  return (await complianceClusters(prisma, repoIds)).map((c) => ({ key: clusterKey(c.repo, c.name), repo: c.repo, cluster: c.name, production: c.production }));
}

// --- Trends ----------------------------------------------------------------------------------------

export interface TrendPoint {
  /** The UTC day, YYYY-MM-DD. */
  date: string;
  /** Violations found by the default branch's evaluation (accepted ones included), and of those the accepted. */
  violations: number | null;
  accepted: number | null;
  /** Containers running an outdated image (outdated decided among the clusters of the repository), of `containers`. */
  outdated: number | null;
  containers: number | null;
}

export interface TrendSeries {
  /** `owner/name:cluster`, or `all`. */
  key: string;
  repo: string | null;
  cluster: string | null;
  /** A point on the first and the last day and on each day a value changed: a value holds until the next point. */
  points: TrendPoint[];
}

export interface TrendsView {
  from: string;
  to: string;
  days: number;
  /** Every cluster shown, summed (a cluster counts from its first recorded state). */
  all: TrendSeries;
  clusters: TrendSeries[];
}

const DAY_MS = 86_400_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
type Values = Omit<TrendPoint, 'date'>;
const METRICS = ['violations', 'accepted', 'outdated', 'containers'] as const;

/** Daily values compressed to the days they change on, plus the first and the last. */
function changePoints(dates: string[], daily: Values[]): TrendPoint[] {
  return daily.flatMap((v, i) => {
    const prev = daily[i - 1];
    const changed = i === 0 || i === daily.length - 1 || METRICS.some((m) => v[m] !== prev![m]);
    return changed ? [{ date: dates[i]!, ...v }] : [];
  });
}

/** Per cluster the user may read (and all of them summed), violations, accepted risks and outdated containers by day. */
export async function trendsView(prisma: PrismaClient, repoIds: readonly bigint[], query: Pick<ComplianceQuery, 'repo' | 'cluster' | 'production'>, days: number, now = new Date()): Promise<TrendsView> {
  const clusters = (await complianceClusters(prisma, repoIds)).filter(filtersLeave(query));
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const first = today - (days - 1) * DAY_MS;
  const dates = Array.from({ length: days }, (_, i) => dayOf(first + i * DAY_MS));
  const history = await clusterHistory(prisma, clusters.map((c) => c.id), new Date(first));
  const dailyOf = (clusterId: number): Values[] => {
    const evaluations = new Map(history.evaluations.filter((e) => e.clusterId === clusterId).map((e) => [e.day, e]));
    const inventories = new Map(history.inventories.filter((s) => s.clusterId === clusterId).map((s) => [s.day, s]));
    const before = dayOf(first - DAY_MS);
    let state: Values = { violations: null, accepted: null, outdated: null, containers: null };
    const apply = (day: string) => {
      const e = evaluations.get(day);
      const s = inventories.get(day);
      if (e) state = { ...state, violations: e.violations, accepted: e.accepted };
      if (s) state = { ...state, outdated: s.outdated, containers: s.containers };
    };
    apply(before);
    return dates.map((day) => {
      apply(day);
      return state;
    });
  };
  const perCluster = clusters.map((c) => ({ cluster: c, daily: dailyOf(c.id) }));
  const summed = dates.map((_, i) => {
    const sum = (m: (typeof METRICS)[number]) => {
      const values = perCluster.map((p) => p.daily[i]![m]).filter((v) => v !== null);
      return values.length ? values.reduce((a, b) => a + b, 0) : null;
    };
    return { violations: sum('violations'), accepted: sum('accepted'), outdated: sum('outdated'), containers: sum('containers') };
  });
  return {
    from: dates[0]!,
    to: dates[dates.length - 1]!,
    days,
    all: { key: 'all', repo: null, cluster: null, points: changePoints(dates, summed) },
    clusters: perCluster.map(({ cluster, daily }) => ({ key: clusterKey(cluster.repo, cluster.name), repo: cluster.repo, cluster: cluster.name, points: changePoints(dates, daily) })),
  };
}

// --- The violating objects -------------------------------------------------------------------------

export const VIOLATIONS_PAGE = { limit: 100, maxLimit: 500 };

export interface ViolationItem {
  repo: string;
  cluster: string;
  /** The commit of the evaluation that found it. */
  sha: string;
  policy: string;
  constraint: string;
  enforcementAction: string;
  message: string;
  file: string;
  line: number;
  object: { apiVersion: string; kind: string; namespace: string | null; name: string };
  /** The risk acceptance's level when accepted; null otherwise. */
  accepted: string | null;
}

/** One page of what each shown cluster's newest default-branch evaluation found. */
export async function violationsView(
  prisma: PrismaClient,
  repoIds: readonly bigint[],
  filters: OverviewFilters & { production?: boolean },
  page: { page: number; limit: number },
): Promise<{ page: PageInfo; rows: ViolationItem[]; behind: string[] }> {
  const clusters = (await complianceClusters(prisma, repoIds)).filter(filtersLeave({ ...filters, production: filters.production ?? false }));
  const byId = new Map(clusters.map((c) => [c.id, c]));
  const evaluated = clusters.flatMap((c) => (c.evaluationId === null ? [] : [{ clusterId: c.id, evaluationId: c.evaluationId }]));
  const { total, rows } = await listViolations(prisma, evaluated, { policy: filters.policy, namespace: filters.namespace, q: filters.q }, { offset: (page.page - 1) * page.limit, limit: page.limit });
  return {
    page: { ...page, total },
    behind: clusters.filter((c) => c.pushedAt !== null && (c.evaluationObservedAt === null || c.evaluationObservedAt < c.pushedAt)).map((c) => clusterKey(c.repo, c.name)),
    rows: rows.map((r) => {
      const c = byId.get(r.clusterId)!;
      return {
        repo: c.repo,
        cluster: c.name,
        sha: r.sha,
        policy: r.policy,
        constraint: r.constraint,
        enforcementAction: r.enforcementAction,
        message: r.message,
        file: r.file,
        line: r.line,
        object: { apiVersion: r.objectApiVersion, kind: r.objectKind, namespace: r.objectNamespace, name: r.objectName },
        accepted: r.acceptanceLevel,
      };
    }),
  };
}
