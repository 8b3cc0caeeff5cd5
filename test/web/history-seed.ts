// Seeded history of the history tests, recorded as the App records the default branch: the
// engine's Report (each cluster's applied objects kept) through recordDefaultBranchReport, with
// the commit's pull request and people as GitHub reports them.
//
// acme/gitops (id 1), cluster prod; Application "payments" (stage prod: namespace payments):
//   A, 10 days ago: the first state recorded (the history begins here)
//     payments: Deployment api (nginx:1.18, 2 replicas), Service api; shop: Deployment web (shop:1.0),
//     ConfigMap settings
//   B, 5 days ago, pull request #12 opened by dana, merged by erin (who pushed the merge):
//     api: nginx:1.19 and 3 replicas; web: a security context; ConfigMap settings renamed settings-v2
//   C, 1 day ago, pushed by frank without a pull request:
//     Service api removed; Deployment worker added (worker:2.0); api's resources changed
// acme/secret-ops (id 2), cluster vault: Deployment vault vault:1.0 (A, 10 days ago) → vault:1.1 (3 days ago).
//
// alice reads repositories 1 and 3 (unknown to Parapet), bob 1 and 2, mallory only 77 (unknown).
import type { AppliedObject, ClusterReport, Report } from '../../src/engine/index.js';
import type { Database } from '../../src/store/database.js';
import { recordDefaultBranchReport, type RepositoryRow } from '../../src/store/record-report.js';
import type { ChangeAttribution } from '../../src/store/changes.js';

export const HISTORY_USERS = [
  { login: 'alice', repos: [1, 3] },
  { login: 'bob', repos: [1, 2] },
  { login: 'mallory', repos: [77] },
];

const DAY = 86_400_000;
export function daysAgo(n: number, now = Date.now()): Date {
  const today = new Date(now);
  return new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - n, 12));
}

export const gitops: RepositoryRow = { installationId: 7, id: 1, owner: 'acme', ownerType: 'Organization', name: 'gitops', defaultBranch: 'main', private: true };
const secretOps: RepositoryRow = { ...gitops, id: 2, name: 'secret-ops' };
export const SHA = { A: 'a'.repeat(40), B: 'b'.repeat(40), C: 'c'.repeat(40), VA: 'd'.repeat(40), VB: 'e'.repeat(40) };

export function applied(object: Record<string, unknown>, file: string): AppliedObject {
  return { object: object as AppliedObject['object'], location: { file, line: 2 } };
}

export function deployment(namespace: string, name: string, image: string, spec: { replicas?: number; securityContext?: unknown; resources?: unknown } = {}): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      replicas: spec.replicas ?? 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          ...(spec.securityContext ? { securityContext: spec.securityContext } : {}),
          containers: [{ name: 'main', image, ...(spec.resources ? { resources: spec.resources } : {}) }],
        },
      },
    },
  };
}

const service = (namespace: string, name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector: { app: name }, ports: [{ port: 80 }] } });
const configMap = (namespace: string, name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data: { currency: 'EUR', region: 'eu-west-1' } });

export function clusterReport(name: string, objects: AppliedObject[]): ClusterReport {
  return { name, config: `.securitytower/${name}.yaml`, violations: [], errors: [], images: [], policies: [], stats: { objects: objects.length, constraints: 0, evaluations: 0 }, objects };
}

export function reportOf(clusters: ClusterReport[], applications: { name: string; stages: { name: string; clusterName: string; resourcesPath: string; targetNamespace?: string }[] }[] = []): Report {
  return {
    clusters,
    errors: [],
    config: { clusters: [], applications: applications.map((a) => ({ ...a, location: { file: `.securitytower/${a.name}.yaml`, line: 1 } })) },
  } as unknown as Report;
}

const PAYMENTS = [{ name: 'payments', stages: [{ name: 'prod', clusterName: 'prod', resourcesPath: 'apps/payments', targetNamespace: 'payments' }] }];
const none: ChangeAttribution = { pullRequest: null, openedBy: null, mergedBy: null, pushedBy: null };

export async function seedHistory(db: Database): Promise<void> {
  const record = (repository: RepositoryRow, sha: string, at: Date, clusters: ClusterReport[], attribution: ChangeAttribution, applications = PAYMENTS) =>
    recordDefaultBranchReport(db.prisma, { repository, sha, report: reportOf(clusters, applications), startedAt: at, recordedAt: at, attribution });
  const api = (image: string, spec: Parameters<typeof deployment>[3] = {}) => applied(deployment('payments', 'api', image, spec), 'apps/payments/api.yaml');
  const web = (spec: Parameters<typeof deployment>[3] = {}) => applied(deployment('shop', 'web', 'registry.example.com/shop:1.0', spec), 'apps/shop/web.yaml');
  await record(gitops, SHA.A, daysAgo(10), [clusterReport('prod', [api('nginx:1.18'), applied(service('payments', 'api'), 'apps/payments/api.yaml'), web(), applied(configMap('shop', 'settings'), 'apps/shop/settings.yaml')])], none);
  const restricted = { runAsNonRoot: true };
  await record(
    gitops,
    SHA.B,
    daysAgo(5),
    [clusterReport('prod', [api('nginx:1.19', { replicas: 3 }), applied(service('payments', 'api'), 'apps/payments/api.yaml'), web({ securityContext: restricted }), applied(configMap('shop', 'settings-v2'), 'apps/shop/settings.yaml')])],
    { pullRequest: 12, openedBy: 'dana', mergedBy: 'erin', pushedBy: 'erin' },
  );
  await record(
    gitops,
    SHA.C,
    daysAgo(1),
    [
      clusterReport('prod', [
        api('nginx:1.19', { replicas: 3, resources: { limits: { cpu: '500m' } } }),
        web({ securityContext: restricted }),
        applied(configMap('shop', 'settings-v2'), 'apps/shop/settings.yaml'),
        applied(deployment('payments', 'worker', 'registry.example.com/worker:2.0'), 'apps/payments/worker.yaml'),
      ]),
    ],
    { ...none, pushedBy: 'frank' },
  );
  const vault = (image: string) => applied(deployment('vault', 'vault', image), 'vault/vault.yaml');
  await record(secretOps, SHA.VA, daysAgo(10), [clusterReport('vault', [vault('vault:1.0')])], none, []);
  await record(secretOps, SHA.VB, daysAgo(3), [clusterReport('vault', [vault('vault:1.1')])], { pullRequest: 3, openedBy: 'gina', mergedBy: 'gina', pushedBy: 'gina' }, []);
}
