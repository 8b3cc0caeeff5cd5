// Seeded data for the overview's tests, written through the store's own write functions.
// acme/gitops (id 1): clusters prod and staging. acme/secret-ops (id 2): cluster vault-prod.
// acme/gitops declares Application web (stages staging -> prod, namespace shop; tooling by path) and prod's config and
// policies; acme/secret-ops declares Application vault (stage vault-prod).
// alice can read repositories 1, 3 and 5 (3 and 5 are unknown to Parapet; two pages of /user/repos); bob can read 1 and 2.
import { violation } from '../store/fixtures.js';
import type { Database } from '../../src/store/database.js';
import { replaceApplicationStages, replaceClusterConfig } from '../../src/store/cluster-config.js';
import { recordEvaluation } from '../../src/store/evaluations.js';
import { replaceInventory, type ImageUseInput } from '../../src/store/inventory.js';
import { upsertInstallation, upsertRepository } from '../../src/store/repositories.js';
import { syncRiskAcceptances } from '../../src/store/risk-acceptances.js';

export const GITOPS = 1;
export const SECRET = 2;
export const XSS = '<script>alert("x")</script>';
export const DIGEST = `sha256:${'a'.repeat(64)}`;

export const USERS = [
  { login: 'alice', repos: [3, GITOPS, 5] },
  { login: 'bob', repos: [GITOPS, SECRET, 4] },
];

const use = (namespace: string, workloadName: string, container: string, image: string, file?: string, line?: number): ImageUseInput => ({
  namespace,
  workloadKind: 'Deployment',
  workloadName,
  container,
  image,
  ...(file ? { file, line: line ?? 1 } : {}),
});

export async function seedOverview(db: Database): Promise<void> {
  const p = db.prisma;
  await upsertInstallation(p, { id: 7, accountLogin: 'acme', accountType: 'Organization' });
  await upsertRepository(p, { id: GITOPS, installationId: 7, owner: 'acme', name: 'gitops' });
  await upsertRepository(p, { id: SECRET, installationId: 7, owner: 'acme', name: 'secret-ops' });
  const at = new Date('2026-11-20T10:00:00Z');

  await replaceInventory(p, {
    repositoryId: GITOPS,
    cluster: 'prod',
    commitSha: 'c0ffee'.padEnd(40, '0'),
    observedAt: at,
    images: [
      use('shop', 'web', 'web', 'nginx:1.18-alpine', 'apps/web/prod/web.yaml', 24),
      use('shop', 'web', 'cache', 'redis', 'apps/web/prod/web.yaml', 31),
      use('shop', 'api', 'api', `ghcr.io/acme/api:v1.2.3@${DIGEST}`, 'apps/web/prod/api.yaml', 19),
      // The tooling stage has no targetNamespace: its images are told by manifest path.
      use('tools', 'debug', 'debug', 'busybox:latest', 'apps/web/tooling/debug.yaml', 12),
      use('tools', 'broken', 'x', 'Bad<img src=x onerror=alert(1)>', 'apps/web/tooling/broken.yaml', 9),
    ],
  });
  await replaceInventory(p, {
    repositoryId: GITOPS,
    cluster: 'staging',
    commitSha: 'c0ffee'.padEnd(40, '0'),
    observedAt: at,
    images: [use('shop', 'web', 'web', 'nginx:1.19-alpine'), use('shop', 'api', 'api', 'ghcr.io/acme/api:v1.3.0')],
  });
  await replaceInventory(p, {
    repositoryId: SECRET,
    cluster: 'vault-prod',
    commitSha: 'beef'.padEnd(40, '0'),
    observedAt: at,
    images: [use('vault', 'vault', 'vault', 'nginx:1.25-alpine')],
  });

  await replaceClusterConfig(p, {
    repositoryId: GITOPS,
    cluster: 'prod',
    file: '.securitytower/prod.yaml',
    commitSha: 'c0ffee'.padEnd(40, '0'),
    observedAt: at,
    settings: {
      tenant: 'acme-platform',
      contactEmail: 'platform@acme.example',
      contactSlack: 'https://acme.slack.com/archives/C0PROD',
      description: `Production ${XSS}`,
      production: true,
      securityLevel: 'confidential',
      geographicLocation: 'Azure - Germany West Central',
      costCenter: '1000',
    },
    policies: [
      { template: 'k8sallowedrepos', kind: 'K8sAllowedRepos', constraint: 'allowed-repos', enforcementAction: 'deny', version: '1.0.2' },
      { template: 'k8srequiredlabels', kind: 'K8sRequiredLabels', constraint: 'must-have-owner', enforcementAction: 'dryrun' },
    ],
  });
  const stage = (application: string, name: string, cluster: string, namespace: string | null, previousStage: string | null) => ({
    application,
    stage: name,
    cluster,
    resourcesPath: `apps/${application}/${name}`,
    targetNamespace: namespace,
    previousStage,
  });
  await replaceApplicationStages(p, {
    repositoryId: GITOPS,
    commitSha: 'c0ffee'.padEnd(40, '0'),
    observedAt: at,
    // Declared out of promotion order on purpose; `tooling` has no targetNamespace (its images are those under apps/web/tooling).
    stages: [stage('web', 'prod', 'prod', 'shop', 'staging'), stage('web', 'staging', 'staging', 'shop', null), stage('web', 'tooling', 'prod', null, 'prod')],
  });
  await replaceApplicationStages(p, { repositoryId: SECRET, commitSha: 'beef'.padEnd(40, '0'), observedAt: at, stages: [stage('vault', 'vault-prod', 'vault-prod', 'vault', null)] });

  await syncRiskAcceptances(p, {
    repositoryId: GITOPS,
    commitSha: 'c0ffee'.padEnd(40, '0'),
    seenAt: at,
    acceptances: [
      {
        cluster: 'prod',
        policy: 'k8sallowedrepos',
        object: { kind: 'Deployment', namespace: 'shop', name: 'web' },
        level: 'object',
        reason: `legacy registry until Q3 ${XSS}`,
        file: 'clusters/prod/web.yaml',
        line: 4,
        introducedSha: 'abc1234'.padEnd(40, '0'),
        introducedCommitAuthor: 'alice',
      },
      {
        cluster: 'staging',
        policy: 'k8spsphostnetwork',
        object: { kind: 'DaemonSet', namespace: 'kube-system', name: 'cni' },
        level: 'object',
        reason: 'CNI needs the host network',
        file: 'clusters/staging/cni.yaml',
      },
    ],
  });
  await syncRiskAcceptances(p, {
    repositoryId: SECRET,
    commitSha: 'beef'.padEnd(40, '0'),
    seenAt: at,
    acceptances: [{ cluster: 'vault-prod', policy: 'k8spspprivileged', object: { kind: 'Deployment', namespace: 'vault', name: 'vault' }, level: 'object', reason: 'secret reason', file: 'v.yaml' }],
  });

  await recordEvaluation(p, { repositoryId: GITOPS, sha: '5'.repeat(40), pullRequestNumber: 5, conclusion: 'failure', observedAt: at, startedAt: at, finishedAt: new Date('2026-11-20T10:01:00Z'), violations: [violation()] });
  await recordEvaluation(p, {
    repositoryId: GITOPS,
    sha: '6'.repeat(40),
    ref: 'refs/heads/main',
    cluster: 'prod',
    conclusion: 'success',
    observedAt: at,
    startedAt: at,
    finishedAt: new Date('2026-11-20T11:00:00Z'),
    violations: [violation({ policy: 'k8srequiredlabels', status: 'existing', enforcementAction: 'dryrun' })],
  });
  await recordEvaluation(p, { repositoryId: SECRET, sha: '9'.repeat(40), pullRequestNumber: 9, conclusion: 'failure', observedAt: at, startedAt: at, violations: [violation({ cluster: 'vault-prod', policy: 'k8spspprivileged' })] });
}
