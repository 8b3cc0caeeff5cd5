// Exit status and base comparison: pure functions of the Report.
import type { Report, Violation } from '../model.js';

/** Whether a violation blocks: an unaccepted deny. */
export function isBlocking(violation: Violation): boolean {
  return violation.enforcementAction === 'deny' && violation.acceptance === null;
}

export function errorCount(report: Report): number {
  return report.errors.length + report.clusters.reduce((sum, cluster) => sum + cluster.errors.length, 0);
}

/** `parapet check`'s exit code: 1 for an unaccepted deny violation or any input error, else 0. */
export function checkExitCode(report: Report): 0 | 1 {
  const blocking = report.clusters.some((cluster) => cluster.violations.some(isBlocking));
  return blocking || errorCount(report) > 0 ? 1 : 0;
}

/**
 * What identifies "the same finding" across two revisions: not the line, which moves when lines are
 * added above it, but the cluster, the constraint, the object and the message.
 */
export function fingerprint(violation: Violation): string {
  const { object } = violation;
  return JSON.stringify([violation.cluster, violation.policy, violation.constraint, object.apiVersion.split('/').length > 1 ? object.apiVersion.split('/')[0] : '', object.kind, object.namespace ?? '', object.name, violation.message]);
}

/** Marks each violation of `head` as new, or existing when `base` already had it. */
export function markStatus(head: Report, base: Report): Report {
  const known = new Set(base.clusters.flatMap((cluster) => cluster.violations.map(fingerprint)));
  for (const cluster of head.clusters) {
    for (const violation of cluster.violations) violation.status = known.has(fingerprint(violation)) ? 'existing' : 'new';
  }
  return head;
}

/**
 * Why nothing could be checked, when that is so: the repository declares no `kind: Cluster` at all
 * (and has no configuration error to show), or the clusters asked for are not declared. Not an
 * input error: there is nothing wrong in the repository, only nothing to judge.
 */
export function nothingToCheck(report: Report): string | undefined {
  const declared = report.config?.clusters ?? [];
  if (report.unknownClusters && report.unknownClusters.length > 0) {
    return `no cluster named ${report.unknownClusters.join(', ')} (clusters: ${declared.map((c) => c.name).join(', ')})`;
  }
  if (declared.length === 0 && report.errors.length === 0) return 'no `kind: Cluster` configuration found in .securitytower/*.yaml';
  return undefined;
}
