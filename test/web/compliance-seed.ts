// Seeded data of the compliance tests, recorded as the App records the default branch (the engine's
// Report through recordDefaultBranchReport, pushes through recordDefaultBranchPush).
//
// acme/gitops (id 1): staging and prod (production: true), pushed 20 and 5 days ago (B: prod fixed
// its api Deployment and moved nginx to 1.19), then 1 day ago (C), whose evaluation holds staging
// only: prod is behind. acme/secret-ops (id 2): vault-prod (production), 3 days ago.
//
//                     staging                          prod
//   preventprivileged deny, exemptImages []            deny, exemptImages [node-agent]; web (accepted)
//   imageallowlist    warn; web                        deny; web (two containers)
//   enforceimageversion dryrun                         —
//   enforceseccompprofile —                            deny
//   k8scustomlabels   deny, same parameters            deny (a custom template, "Team labels")
//
// alice reads repositories 1 and 3 (unknown to Parapet), bob 1 and 2, mallory only 77 (unknown).
import type { ClusterReport, EnabledPolicy, Report, Violation } from '../../src/engine/index.js';
import type { Database } from '../../src/store/database.js';
import { recordDefaultBranchPush, recordDefaultBranchReport, type RepositoryRow } from '../../src/store/record-report.js';

export const COMPLIANCE_USERS = [
  { login: 'alice', repos: [1, 3] },
  { login: 'bob', repos: [1, 2] },
  { login: 'mallory', repos: [77] },
];

const DAY = 86_400_000;
/** Noon (UTC) of the day `n` days ago: far from a day's edges. */
export function daysAgo(n: number, now = Date.now()): Date {
  const today = new Date(now);
  return new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - n, 12));
}
export const dayText = (d: Date) => d.toISOString().slice(0, 10);

const gitops: RepositoryRow = { installationId: 7, id: 1, owner: 'acme', ownerType: 'Organization', name: 'gitops', defaultBranch: 'main', private: true };
const secretOps: RepositoryRow = { ...gitops, id: 2, name: 'secret-ops' };

export const SHA = { A: 'a'.repeat(40), B: 'b'.repeat(40), C: 'c'.repeat(40), VAULT: 'e'.repeat(40) };
export const NODE_AGENT = 'registry.example.com/node-agent';

const policy = (template: string, action: EnabledPolicy['enforcementAction'], parameters: unknown = {}, extra: Partial<EnabledPolicy> = {}): EnabledPolicy => ({
  template,
  kind: template,
  constraint: template,
  enforcementAction: action,
  parameters,
  ...extra,
});

const CUSTOM = policy('k8scustomlabels', 'deny', { labels: ['team'] }, { kind: 'K8sCustomLabels', constraint: 'must-have-team', title: 'Team labels' });

function found(cluster: string, policyName: string, name: string, options: { accepted?: boolean; container?: string; action?: Violation['enforcementAction'] } = {}): Violation {
  return {
    cluster,
    policy: policyName,
    constraint: policyName,
    enforcementAction: options.action ?? 'deny',
    message: `${options.container ?? 'main'} of ${name} violates ${policyName}`,
    details: {},
    location: { file: `clusters/${cluster}/${name}.yaml`, line: 17 },
    object: { apiVersion: 'apps/v1', kind: 'Deployment', name, namespace: 'shop' },
    acceptance: options.accepted
      ? { level: 'object', reason: 'vendor image', annotation: `securitytower.io/policy.exclusion.${policyName}`, location: { file: `clusters/${cluster}/${name}.yaml`, line: 5 } }
      : null,
    status: 'existing',
  };
}

function cluster(name: string, policies: EnabledPolicy[], violations: Violation[], images: Record<string, string>): ClusterReport {
  return {
    name,
    config: `.securitytower/${name}.yaml`,
    violations,
    errors: [],
    images: Object.entries(images).map(([workload, image]) => ({
      namespace: 'shop',
      workload: { apiVersion: 'apps/v1', kind: 'Deployment', name: workload, namespace: 'shop' },
      container: 'main',
      containerType: 'containers' as const,
      image,
      location: { file: `clusters/${name}/${workload}.yaml`, line: 20 },
    })),
    policies,
    stats: { objects: 0, constraints: policies.length, evaluations: 0 },
  };
}

function report(clusters: ClusterReport[], production: Record<string, boolean>): Report {
  return {
    clusters,
    errors: [],
    config: {
      clusters: clusters.map((c) => ({ name: c.name, location: { file: c.config, line: 1 }, configuration: { production: production[c.name] ?? false }, policiesPath: `clusters/${c.name}/policies`, namespacePaths: [], k8sNativeValidation: true })),
      applications: [],
    },
  };
}

const stagingPolicies = [policy('preventprivileged', 'deny', { exemptImages: [] }), policy('imageallowlist', 'warn', { registries: ['ghcr.io/acme/'] }), policy('enforceimageversion', 'dryrun'), CUSTOM];
const prodPolicies = [policy('preventprivileged', 'deny', { exemptImages: [NODE_AGENT] }), policy('imageallowlist', 'deny', { registries: ['ghcr.io/acme/'] }), policy('enforceseccompprofile', 'deny'), CUSTOM];

export async function seedCompliance(db: Database, now = Date.now()): Promise<void> {
  const p = db.prisma;
  const production = { prod: true, staging: false, 'vault-prod': true };
  const staging = (violations: Violation[]) => cluster('staging', stagingPolicies, violations, { web: 'nginx:1.19', api: 'ghcr.io/acme/api:v1.3.0' });
  const record = async (repository: RepositoryRow, sha: string, at: Date, r: Report) => {
    await recordDefaultBranchPush(p, { repository, sha, observedAt: at });
    await recordDefaultBranchReport(p, { repository, sha, report: r, recordedAt: at, startedAt: at });
  };

  await record(gitops, SHA.A, daysAgo(20, now), report([
    staging([found('staging', 'imageallowlist', 'web', { action: 'warn' })]),
    cluster('prod', prodPolicies, [
      found('prod', 'preventprivileged', 'web', { accepted: true }),
      found('prod', 'preventprivileged', 'api'),
      found('prod', 'imageallowlist', 'web', { container: 'main' }),
      found('prod', 'imageallowlist', 'web', { container: 'cache' }),
    ], { web: 'nginx:1.18', api: 'ghcr.io/acme/api:v1.2.3' }),
  ], production));

  await record(gitops, SHA.B, daysAgo(5, now), report([
    staging([found('staging', 'imageallowlist', 'web', { action: 'warn' })]),
    cluster('prod', prodPolicies, [
      found('prod', 'preventprivileged', 'web', { accepted: true }),
      found('prod', 'imageallowlist', 'web', { container: 'main' }),
      found('prod', 'imageallowlist', 'web', { container: 'cache' }),
    ], { web: 'nginx:1.19', api: 'ghcr.io/acme/api:v1.2.3' }),
  ], production));

  // C: prod's evaluation is missing (it failed): prod still shows B, and says so.
  await record(gitops, SHA.C, daysAgo(1, now), report([staging([found('staging', 'imageallowlist', 'web', { action: 'warn' })])], production));

  await record(secretOps, SHA.VAULT, daysAgo(3, now), report([
    cluster('vault-prod', [policy('preventprivileged', 'deny', { exemptImages: [] })], [found('vault-prod', 'preventprivileged', 'vault')], { vault: 'nginx:1.25' }),
  ], production));
}
