// Reports as `checkRepo` returns them for small but realistic GitOps repositories, built by hand so
// the renderers' tests do not depend on the engine. Each function returns a fresh Report.
import type { ClusterReport, Report, Violation } from '../../../../src/engine/model.js';

const web = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'web' };

function privilegedWeb(cluster: string): Violation {
  return {
    cluster,
    policy: 'k8spspprivilegedcontainer',
    constraint: 'psp-privileged-container',
    enforcementAction: 'deny',
    message: '[Implied by expand-workloads] Privileged container is not allowed: nginx, securityContext: {"privileged": true}',
    details: {},
    engine: 'Rego',
    location: { file: 'apps/web/deployment.yaml', line: 24 },
    object: web,
    acceptance: null,
  };
}

function prodEu(): ClusterReport {
  return {
    name: 'prod-eu',
    config: '.securitytower/cluster.yaml',
    violations: [
      privilegedWeb('prod-eu'),
      {
        cluster: 'prod-eu',
        policy: 'k8spspallowprivilegeescalationcontainer',
        constraint: 'k8spspallowprivilegeescalationcontainer',
        enforcementAction: 'deny',
        message: '[Implied by expand-workloads] Privilege escalation container is not allowed: postgres',
        details: {},
        location: { file: 'apps/legacy/statefulset.yaml', line: 31 },
        object: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', namespace: 'legacy' },
        acceptance: {
          reason: 'The legacy database image needs root until the 2025 migration (SEC-1423)',
          level: 'namespace',
          annotation: 'securitytower.io/policy.exclusion.k8spspallowprivilegeescalationcontainer',
          location: { file: 'apps/legacy/namespace.yaml', line: 6 },
        },
      },
      {
        cluster: 'prod-eu',
        policy: 'k8srequiredlabels',
        constraint: 'require-team-label',
        enforcementAction: 'warn',
        message: 'you must provide labels: {"team"}',
        details: { missing_labels: ['team'] },
        location: { file: 'apps/web/deployment.yaml', line: 4 },
        object: web,
        acceptance: null,
      },
      {
        cluster: 'prod-eu',
        policy: 'k8srestrictrbacwildcards',
        constraint: 'no-wildcard-verbs',
        enforcementAction: 'dryrun',
        message: 'ClusterRole ops-admin grants the wildcard verb "*" on pods',
        details: {},
        location: { file: 'rbac/ops-admin.yaml', line: 8 },
        object: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'ops-admin' },
        acceptance: null,
      },
    ],
    errors: [
      {
        location: { file: 'apps/api/broken.yaml', line: 7 },
        code: 'yaml',
        message: 'YAML: Nested mappings are not allowed in compact mappings at line 7, column 12',
      },
    ],
    images: [],
    stats: { objects: 14, constraints: 6, evaluations: 61 },
  };
}

function staging(): ClusterReport {
  return {
    name: 'staging',
    config: '.securitytower/staging.yaml',
    violations: [
      {
        cluster: 'staging',
        policy: 'k8scontainerlimits',
        constraint: 'container-must-have-limits',
        enforcementAction: 'warn',
        message: '[Implied by expand-workloads] container <api> has no resource limits\ncontainer <log-shipper> has no resource limits',
        details: {},
        location: { file: 'apps/api/deployment.yaml', line: 40 },
        object: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api', namespace: 'api' },
        acceptance: null,
      },
      privilegedWeb('staging'),
    ],
    errors: [
      {
        location: { file: 'policies/staging/ingress-host/template.yaml', line: 12 },
        code: 'rego',
        message: 'Rego: rego_parse_error: unexpected } token',
      },
    ],
    images: [],
    stats: { objects: 12, constraints: 5, evaluations: 48 },
  };
}

/** Two clusters sharing an app folder, with deny, warn and dryrun, an accepted risk and input errors. */
export function twoClusters(): Report {
  return {
    clusters: [prodEu(), staging()],
    errors: [
      {
        location: { file: '.securitytower/old-cluster.yaml', line: 3 },
        code: 'cluster-config',
        message: 'Cluster file: spec.policies.path is required',
      },
    ],
  };
}

/** The same repository checked with `--base`: only the staging container limits are new. */
export function twoClustersWithStatus(): Report {
  const report = twoClusters();
  for (const cluster of report.clusters) {
    for (const violation of cluster.violations) violation.status = violation.policy === 'k8scontainerlimits' ? 'new' : 'existing';
  }
  return report;
}

/** One cluster whose manifests satisfy every policy. */
export function cleanCluster(): Report {
  return {
    clusters: [{ name: 'prod-eu', config: '.securitytower/cluster.yaml', violations: [], errors: [], images: [],
    stats: { objects: 9, constraints: 6, evaluations: 40 } }],
    errors: [],
  };
}
