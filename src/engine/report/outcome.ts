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

/** The lowest enforcement action whose unaccepted violations fail the check (`--fail-on`); `never`: none do. */
export type FailOn = 'deny' | 'warn' | 'never';
export const FAIL_ON_LEVELS: readonly FailOn[] = ['deny', 'warn', 'never'];

export interface ExitPolicy {
  failOn: FailOn;
  /** Only violations the base did not have fail (`--new-only`), as the App judges a pull request. */
  newOnly: boolean;
}

/**
 * Whether a violation fails the check under `policy`: unaccepted, of an action at or above
 * `failOn`, and (with `newOnly`) not already in the base.
 */
export function failsCheck(violation: Violation, policy: ExitPolicy = { failOn: 'deny', newOnly: false }): boolean {
  if (violation.acceptance !== null || policy.failOn === 'never') return false;
  if (policy.newOnly && violation.status === 'existing') return false;
  return violation.enforcementAction === 'deny' || (policy.failOn === 'warn' && violation.enforcementAction === 'warn');
}

/**
 * `parapet check`'s exit code: 1 for a violation that fails the check (by default an unaccepted
 * deny) or any input error, else 0; with `failOn: 'never'`, 0 whenever the check ran.
 */
export function checkExitCode(report: Report, policy: ExitPolicy = { failOn: 'deny', newOnly: false }): 0 | 1 {
  if (policy.failOn === 'never') return 0;
  const failing = report.clusters.some((cluster) => cluster.violations.some((violation) => failsCheck(violation, policy)));
  return failing || errorCount(report) > 0 ? 1 : 0;
}

/**
 * Marks each violation of `head` as new, or existing when `base` already had it. Pairs are made one
 * to one: first by the message as written (the same finding, word for word), then by the finding's
 * identity (fingerprint: the same problem on the same part of the same object, whatever values the
 * message names). A head with more findings of one identity than its base has new ones.
 *
 * An acceptance the template reads from Gatekeeper's inventory counts only where the base had it
 * too: the inventory holds the cluster as it was before the change, so the cluster refuses the Pods
 * of a new workload whose own annotation accepts them, and the change that adds the annotation.
 */
export function markStatus(head: Report, base: Report): Report {
  const byMessage = new Map<string, Violation[]>();
  const byIdentity = new Map<string, Violation[]>();
  for (const violation of base.clusters.flatMap((cluster) => cluster.violations)) {
    push(byMessage, messageFingerprint(violation), violation);
    push(byIdentity, fingerprint(violation), violation);
  }
  const paired = new Map<Violation, Violation | undefined>();
  const unpaired: Violation[] = [];
  for (const violation of head.clusters.flatMap((cluster) => cluster.violations)) {
    const earlier = byMessage.get(messageFingerprint(violation))?.pop();
    if (earlier === undefined) {
      unpaired.push(violation);
      continue;
    }
    // Paired by its words, the base finding is no longer there to pair by identity.
    const same = byIdentity.get(fingerprint(earlier))!;
    same.splice(same.indexOf(earlier), 1);
    paired.set(violation, earlier);
  }
  for (const violation of unpaired) paired.set(violation, byIdentity.get(fingerprint(violation))?.pop());

  for (const cluster of head.clusters) {
    for (const violation of cluster.violations) {
      const earlier = paired.get(violation);
      violation.status = earlier ? 'existing' : 'new';
      const acceptance = violation.acceptance;
      if (!acceptance?.throughInventory || earlier?.acceptance?.throughInventory) continue;
      violation.acceptance = null;
      (cluster.warnings ??= []).push({
        location: acceptance.location,
        code: 'acceptance-pending',
        message:
          `${acceptance.annotation} does not accept ${violation.object.kind} ${violation.object.name}'s violation of ${violation.constraint} in this change: ` +
          `the policy reads it from Gatekeeper's inventory, which holds the ${violation.object.kind} as the cluster has it before the change (${earlier ? 'without this annotation' : 'not yet there'}), ` +
          `so the cluster refuses it; write the annotation on the pod template (spec.template.metadata.annotations), which the cluster reads from the change itself`,
      });
    }
  }
  return head;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
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
