// Exit status and base comparison: pure functions of the Report.
import type { Report, Violation } from '../model.js';
import { fingerprint, messageFingerprint } from './identity.js';

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
 * Marks each violation of `head` as new, or existing when `base` already had it. Pairs are made one
 * to one: first by the message as written (the same finding, word for word), then by the finding's
 * identity (fingerprint: the same problem on the same part of the same object, whatever values the
 * message names). A head with more findings of one identity than its base has new ones.
 */
export function markStatus(head: Report, base: Report): Report {
  // The identities of the base's findings, by message: pairing by message takes the base finding's own identity away.
  const byMessage = new Map<string, string[]>();
  const byIdentity = new Map<string, number>();
  for (const violation of base.clusters.flatMap((cluster) => cluster.violations)) {
    const identity = fingerprint(violation);
    const key = messageFingerprint(violation);
    byMessage.set(key, [...(byMessage.get(key) ?? []), identity]);
    byIdentity.set(identity, (byIdentity.get(identity) ?? 0) + 1);
  }
  const unpaired: Violation[] = [];
  for (const violation of head.clusters.flatMap((cluster) => cluster.violations)) {
    const identity = byMessage.get(messageFingerprint(violation))?.pop();
    if (identity === undefined) {
      unpaired.push(violation);
      continue;
    }
    byIdentity.set(identity, byIdentity.get(identity)! - 1);
    violation.status = 'existing';
  }
  for (const violation of unpaired) {
    const left = byIdentity.get(fingerprint(violation)) ?? 0;
    if (left > 0) byIdentity.set(fingerprint(violation), left - 1);
    violation.status = left > 0 ? 'existing' : 'new';
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
