// With expansion, a constraint that judges both a workload and the Pod it implies reports each of the
// workload's problems twice: once for the workload, once `[Implied by ...]` for its Pod. Gatekeeper
// does too (both results are in the workload's admission response), and gator test lists both; a
// reader wants one finding per (constraint, workload, container), on the workload's line.
import type { Violation } from '../model.js';
import { subjectContainer } from './identity.js';

export interface LocatedResult {
  violation: Violation;
  /** The ExpansionTemplate that generated the object evaluated, for a result on an implied object. */
  impliedBy?: string;
}

/**
 * The results with each implied object's result folded into its workload's own result about the
 * same container (or, for a result about no container, on the same line). A result folds only into
 * one that blocks at least as much: the same action, and accepted only if it is accepted too.
 * Each of the workload's results takes at most one result per ExpansionTemplate, so two problems
 * of one container stay two.
 */
export function foldImpliedResults(results: readonly LocatedResult[]): Violation[] {
  const own = new Map<string, Violation[]>();
  for (const { violation, impliedBy } of results) {
    if (impliedBy === undefined) own.set(foldKey(violation), [...(own.get(foldKey(violation)) ?? []), violation]);
  }
  const taken = new Set<string>();
  const kept: Violation[] = [];
  const ids = new Map<Violation, number>();
  for (const { violation, impliedBy } of results) {
    if (impliedBy === undefined) {
      kept.push(violation);
      continue;
    }
    const free = (own.get(foldKey(violation)) ?? []).filter((workload) => !taken.has(takenKey(workload, impliedBy, ids)) && covers(workload, violation));
    const partner = free.find((workload) => workload.location.line === violation.location.line && workload.location.file === violation.location.file) ?? free[0];
    if (partner) taken.add(takenKey(partner, impliedBy, ids));
    else kept.push(violation);
  }
  return kept;
}

function foldKey(violation: Violation): string {
  const { object } = violation;
  const container = subjectContainer(violation.subject);
  const part = container !== undefined ? `container:${container}` : `line:${violation.location.file}:${violation.location.line}`;
  return JSON.stringify([violation.cluster, violation.constraint, violation.policy, object.apiVersion, object.kind, object.namespace ?? '', object.name, part]);
}

function takenKey(workload: Violation, impliedBy: string, ids: Map<Violation, number>): string {
  if (!ids.has(workload)) ids.set(workload, ids.size);
  return `${ids.get(workload)!}\0${impliedBy}`;
}

/** Whether reporting `workload` alone says all that `implied` says about blocking. */
function covers(workload: Violation, implied: Violation): boolean {
  return workload.enforcementAction === implied.enforcementAction && (workload.acceptance === null || implied.acceptance !== null);
}
