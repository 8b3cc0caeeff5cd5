// Policy-change impact: when a pull request changes a cluster's policies (files under its
// `spec.policies.path`) or the `.securitytower/` configuration, the head's manifests are also
// evaluated with the HEAD's policies, and the check run shows which violations would appear or
// disappear once the change is merged. Informational only: the verdict stays with the base
// branch's policies (a pull request cannot weaken the policies that judge it).
//
// Cost: nothing when no policy file changed (the comparison reads the trees already downloaded);
// otherwise one more evaluation of the affected clusters, and no extra API call.
import { fingerprint, isSecurityTowerConfigFile, isUnder, type ClusterReport, type DeclaredCluster, type InputError, type Report, type RepoSource, type Violation } from '../engine/index.js';

/** What changing the policies does to one cluster's violations on the head's manifests. */
export interface PolicyImpact {
  /** Changed policy and configuration files (relative to the merge base), sorted. */
  changedFiles: string[];
  /** Violations the head's policies find that the base's do not. */
  appeared: Violation[];
  /** Violations the base's policies find that the head's do not. */
  disappeared: Violation[];
  /** Input errors with the head's policies that the base's evaluation does not have (a broken new constraint, say). */
  errors: InputError[];
  /** Set when the head's policies could not be evaluated at all (why). */
  failure?: string;
}

/**
 * The files that differ between two trees among the `.securitytower/` configuration and the files
 * under `folders` (the clusters' policies paths, as either side declares them). Reads only trees
 * already in memory.
 */
export async function changedPolicyFiles(before: RepoSource, after: RepoSource, folders: string[]): Promise<string[]> {
  const relevant = (path: string) => isSecurityTowerConfigFile(path) || folders.some((folder) => isUnder(path, folder));
  const [a, b] = await Promise.all([before.listFiles(), after.listFiles()]);
  const paths = [...new Set([...a, ...b].map((f) => f.path).filter(relevant))].sort(compareText);
  if (paths.length === 0) return [];
  const [textsBefore, textsAfter] = await Promise.all([before.readFiles(paths), after.readFiles(paths)]);
  return paths.filter((path) => textsBefore.get(path) !== textsAfter.get(path));
}

/** The clusters a change of these files concerns: all of them for a `.securitytower/` change, else those whose policies folder holds a changed file. */
export function affectedClusters(changed: string[], clusters: DeclaredCluster[]): string[] {
  if (changed.length === 0) return [];
  if (changed.some(isSecurityTowerConfigFile)) return clusters.map((c) => c.name);
  return clusters.filter((c) => c.policiesPath !== undefined && changed.some((path) => isUnder(path, c.policiesPath!))).map((c) => c.name);
}

/** Pure: the impact on `cluster` (evaluated with the base's policies) of evaluating with the head's (`withHeadPolicies`). */
export function compareClusterPolicies(cluster: ClusterReport, baseErrors: InputError[], withHeadPolicies: Report, changedFiles: string[]): PolicyImpact {
  const head = withHeadPolicies.clusters.find((c) => c.name === cluster.name);
  if (!head) {
    return {
      changedFiles,
      appeared: [],
      disappeared: [],
      errors: withHeadPolicies.errors,
      failure: `the head's configuration does not declare cluster ${cluster.name} (or it has errors that keep it out)`,
    };
  }
  // The enforcement action counts too: a constraint moved from dryrun to deny changes what blocks.
  const key = (v: Violation) => `${fingerprint(v)}\0${v.enforcementAction}`;
  const before = new Set(cluster.violations.map(key));
  const after = new Set(head.violations.map(key));
  const knownErrors = new Set(baseErrors.map(errorKey));
  return {
    changedFiles,
    appeared: head.violations.filter((v) => !before.has(key(v))),
    disappeared: cluster.violations.filter((v) => !after.has(key(v))),
    errors: [...withHeadPolicies.errors, ...head.errors].filter((e) => !knownErrors.has(errorKey(e))),
  };
}

function errorKey(e: InputError): string {
  return JSON.stringify([e.location.file, e.location.line, e.code, e.message]);
}



function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
