// Which enforcement actions a constraint's results carry at one enforcement point, and what Gatekeeper's
// validation of `spec.enforcementAction` / `spec.scopedEnforcementActions` rejects.
// Sources: FW constraint/pkg/apis/constraints/apis.go (GetEnforcementAction, GetEnforcementActionsForEP),
// FW client/template_client.go AddConstraint and constraint_client.go matches (which points a constraint runs
// at), GK pkg/util/enforcement_action.go (ValidateEnforcementAction and its messages) and GK
// pkg/webhook/policy.go getValidationMessages (which actions the webhook acts on).

import { goQuote } from '../go/quote.js';
import { isRecord, type EnforcementAction } from '../model.js';

export const WEBHOOK_ENFORCEMENT_POINT = 'validation.gatekeeper.sh';
export const AUDIT_ENFORCEMENT_POINT = 'audit.gatekeeper.sh';
export const GATOR_ENFORCEMENT_POINT = 'gator.gatekeeper.sh';
export const VAP_ENFORCEMENT_POINT = 'vap.k8s.io';

export type EnforcementPoint =
  | typeof WEBHOOK_ENFORCEMENT_POINT
  | typeof AUDIT_ENFORCEMENT_POINT
  | typeof GATOR_ENFORCEMENT_POINT
  | typeof VAP_ENFORCEMENT_POINT;

/** `unrecognized`: results exist (audit lists them, gator counts them) but neither deny nor warn. */
export type ResolvedAction = EnforcementAction | 'unrecognized';

export interface EffectiveActions {
  /**
   * The distinct actions the constraint's results carry at this point, most severe first. Empty when
   * Gatekeeper does not run the constraint there: a scoped constraint that does not list the point, or a
   * constraint Gatekeeper refuses to load (see `problems`).
   */
  actions: ResolvedAction[];
  /** Gatekeeper's own messages for what its constraint validation rejects. */
  problems: string[];
}

const SUPPORTED_POINTS = [WEBHOOK_ENFORCEMENT_POINT, AUDIT_ENFORCEMENT_POINT, GATOR_ENFORCEMENT_POINT, VAP_ENFORCEMENT_POINT];
const KNOWN: ReadonlySet<string> = new Set(['deny', 'warn', 'dryrun']);
const ORDER: readonly ResolvedAction[] = ['deny', 'warn', 'dryrun', 'unrecognized'];

/**
 * The actions a constraint's results carry at `point`.
 *
 * - No `enforcementAction` means `deny` everywhere.
 * - `scoped` runs the constraint only where `scopedEnforcementActions` lists the point (or `*`), with the
 *   union of the actions listed for it.
 * - In the cluster (webhook and audit points) a constraint failing Gatekeeper's validation is refused when
 *   it is applied, so it has no actions there. gator does not run that validation: it loads the
 *   constraint and labels its results with the action as written, which shows here as `unrecognized`.
 * - An explicit `enforcementAction: ""` passes validation, but the framework keeps the empty string and the
 *   webhook skips results whose action it does not recognise; gator treats it as `deny`.
 */
export function effectiveActions(spec: unknown, point: EnforcementPoint): EffectiveActions {
  const s = isRecord(spec) ? spec : {};
  const problems = enforcementProblems(s);
  const raw = rawActionsAt(s, point);
  if (raw === null) return { actions: [], problems };

  const inCluster = point !== GATOR_ENFORCEMENT_POINT;
  if (inCluster && problems.length > 0) return { actions: [], problems };

  const resolved = new Set<ResolvedAction>();
  for (const action of raw) {
    if (KNOWN.has(action)) resolved.add(action as EnforcementAction);
    else if (action === '' && !inCluster) resolved.add('deny');
    else resolved.add('unrecognized');
  }
  return { actions: ORDER.filter((a) => resolved.has(a)), problems };
}

/**
 * The one action that decides what happens at `point`: the most severe recognised one, or null when the
 * constraint does nothing there (not run, refused, or only unrecognised actions). At the webhook a scoped
 * constraint with both `deny` and `warn` denies and warns; this returns `deny`.
 */
export function effectiveAction(spec: unknown, point: EnforcementPoint): EnforcementAction | null {
  for (const action of effectiveActions(spec, point).actions) if (action !== 'unrecognized') return action;
  return null;
}

/** GK ValidateEnforcementAction (webhook admission of constraints, constraint controller), one message per error. */
export function enforcementProblems(spec: unknown): string[] {
  const s = isRecord(spec) ? spec : {};
  const action = s['enforcementAction'];
  if (action === undefined || action === null || action === '') return [];
  if (typeof action !== 'string') {
    return [`spec.enforcementAction must be a string: .spec.enforcementAction accessor error: ${goValue(action)} is of the type ${goType(action)}, expected string`];
  }
  if (action === 'deny' || action === 'warn' || action === 'dryrun') return [];
  if (action !== 'scoped') {
    return [`unrecognized enforcementAction: ${goQuote(action)} is not within the supported list [deny dryrun warn scoped]`];
  }

  const entries = scopedEntries(s['scopedEnforcementActions']);
  if (entries === 'missing') return ['error fetching scopedEnforcementActions: scopedEnforcementActions is required'];
  if (entries === 'invalid') {
    return [
      'error fetching scopedEnforcementActions: Could not convert JSON to scopedEnforcementActions: ' +
        'scopedEnforcementActions must be a list of {action: string, enforcementPoints: [{name: string}]}',
    ];
  }
  const badPoints: string[] = [];
  const badActions: string[] = [];
  for (const entry of entries) {
    if (!KNOWN.has(entry.action)) badActions.push(entry.action);
    // An entry without enforcement points is reported as the point "".
    if (entry.points.length === 0) badPoints.push('');
    for (const point of entry.points) {
      if (point !== '*' && !SUPPORTED_POINTS.includes(point)) badPoints.push(point);
    }
  }
  const problems: string[] = [];
  if (badPoints.length > 0) {
    problems.push(
      `unrecognized enforcement points: constraint will not be enforced for enforcement points ${goList(badPoints)}, ` +
        `supported enforcement points are ${goList(SUPPORTED_POINTS)}`,
    );
  }
  if (badActions.length > 0) {
    problems.push(`unrecognized enforcementAction: ${goList(badActions)} is not within the supported list [deny dryrun warn]`);
  }
  return problems;
}

// The action strings the framework attaches to results at `point`, or null when the constraint does not run
// there (or cannot be loaded at all).
function rawActionsAt(spec: Record<string, unknown>, point: string): string[] | null {
  const action = spec['enforcementAction'];
  if (action === undefined || action === null) return ['deny'];
  if (typeof action !== 'string') return null; // the framework refuses the constraint
  if (action !== 'scoped') return [action];

  const entries = scopedEntries(spec['scopedEnforcementActions']);
  if (!Array.isArray(entries)) return null; // the framework refuses the constraint
  const actions = new Set<string>();
  for (const entry of entries) {
    if (entry.points.includes('*') || entry.points.includes(point)) actions.add(entry.action);
  }
  return actions.size > 0 ? [...actions] : null;
}

interface ScopedEntry {
  action: string;
  points: string[];
}

function scopedEntries(raw: unknown): ScopedEntry[] | 'missing' | 'invalid' {
  if (raw === undefined || raw === null) return 'missing';
  if (!Array.isArray(raw)) return 'invalid';
  const entries: ScopedEntry[] = [];
  for (const item of raw) {
    if (!isRecord(item)) return 'invalid';
    const action = item['action'] ?? '';
    const points = item['enforcementPoints'] ?? [];
    if (typeof action !== 'string' || !Array.isArray(points)) return 'invalid';
    const names: string[] = [];
    for (const p of points) {
      if (!isRecord(p)) return 'invalid';
      const name = p['name'] ?? '';
      if (typeof name !== 'string') return 'invalid';
      names.push(name);
    }
    entries.push({ action, points: names });
  }
  return entries;
}

// Go's %v of a []string: `[a b]`, an empty string showing as nothing between separators.
function goList(items: readonly string[]): string {
  return `[${items.join(' ')}]`;
}


function goType(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

function goValue(v: unknown): string {
  if (Array.isArray(v) || isRecord(v)) return JSON.stringify(v);
  return String(v);
}

