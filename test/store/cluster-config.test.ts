import { expect, it } from 'vitest';
import type { ClusterReport, Report } from '../../src/engine/index.js';
import { clusterPolicies, clusterSettings, replaceApplicationStages, replaceClusterConfig, repositoryStages, type ClusterSettings } from '../../src/store/cluster-config.js';
import { recordDefaultBranchReport, type RepositoryRow } from '../../src/store/record-report.js';
import { forEachBackend } from '../helpers/postgres-backends.js';
import { REPO, seedRepository } from './fixtures.js';

const settings: ClusterSettings = {
  tenant: 'acme',
  contactEmail: 'ops@acme.example',
  contactSlack: 'https://acme.slack.com/archives/C1',
  description: 'Production',
  production: true,
  securityLevel: 'confidential',
  geographicLocation: 'eu-west',
  costCenter: '1000',
};
const policy = (constraint: string, version?: string) => ({
  template: 'k8srequiredlabels',
  kind: 'K8sRequiredLabels',
  constraint,
  enforcementAction: 'deny' as const,
  ...(version ? { version } : {}),
});
const columns = (c: Record<string, unknown> | null) =>
  c && Object.fromEntries(['tenant', 'contactEmail', 'contactSlack', 'description', 'production', 'securityLevel', 'geographicLocation', 'costCenter', 'config', 'configSha'].map((k) => [k, c[k]]));

forEachBackend((backend) => {
  it("records a cluster's configuration and enabled policies; a newer commit replaces them, an older one does not", async () => {
    const db = await backend.open();
    await seedRepository(db);
    const base = { repositoryId: REPO, cluster: 'prod', file: '.securitytower/prod.yaml' };
    expect(await replaceClusterConfig(db.prisma, { ...base, commitSha: 'c1', observedAt: new Date(1000), settings, policies: [policy('owner', '1.0.1'), policy('team')] })).toBe(true);
    expect(columns(await db.prisma.cluster.findFirst({ where: { name: 'prod' } }))).toEqual({ ...settings, config: '.securitytower/prod.yaml', configSha: 'c1' });
    expect((await clusterPolicies(db.prisma, REPO, 'prod')).map((p) => [p.template, p.kind, p.constraint, p.enforcementAction, p.version, p.commitSha])).toEqual([
      ['k8srequiredlabels', 'K8sRequiredLabels', 'owner', 'deny', '1.0.1', 'c1'],
      ['k8srequiredlabels', 'K8sRequiredLabels', 'team', 'deny', null, 'c1'],
    ]);

    const cleared = { ...settings, production: false, contactSlack: null, costCenter: null };
    expect(await replaceClusterConfig(db.prisma, { ...base, commitSha: 'c3', observedAt: new Date(3000), settings: cleared, policies: [policy('team', '2.0.0')] })).toBe(true);
    expect(await replaceClusterConfig(db.prisma, { ...base, commitSha: 'c2', observedAt: new Date(2000), settings, policies: [] })).toBe(false);
    expect(columns(await db.prisma.cluster.findFirst({ where: { name: 'prod' } }))).toEqual({ ...cleared, config: '.securitytower/prod.yaml', configSha: 'c3' });
    expect((await clusterPolicies(db.prisma, REPO, 'prod')).map((p) => [p.constraint, p.version])).toEqual([['team', '2.0.0']]);
  });

  it('a failed replacement leaves the previous configuration and policies in place', async () => {
    const db = await backend.open();
    await seedRepository(db);
    await replaceClusterConfig(db.prisma, { repositoryId: REPO, cluster: 'prod', commitSha: 'c1', observedAt: new Date(1000), settings, policies: [policy('owner')] });
    const nul = { ...policy('x'), template: 'bad\u0000name' }; // PostgreSQL rejects NUL in text
    await expect(replaceClusterConfig(db.prisma, { repositoryId: REPO, cluster: 'prod', commitSha: 'c2', observedAt: new Date(2000), settings: { ...settings, tenant: 'other' }, policies: [nul] })).rejects.toThrow();
    expect((await db.prisma.cluster.findFirst({ where: { name: 'prod' } }))!.tenant).toBe('acme');
    expect((await clusterPolicies(db.prisma, REPO, 'prod')).map((p) => [p.constraint, p.commitSha])).toEqual([['owner', 'c1']]);
  });

  it("replaces the repository's Application stages by commit order", async () => {
    const db = await backend.open();
    await seedRepository(db);
    const stage = (stageName: string, previousStage: string | null, cluster = 'prod') => ({
      application: 'shop',
      stage: stageName,
      cluster,
      resourcesPath: `apps/shop/${stageName}`,
      targetNamespace: `shop-${stageName}`,
      previousStage,
    });
    expect(await replaceApplicationStages(db.prisma, { repositoryId: REPO, commitSha: 'c1', observedAt: new Date(1000), stages: [stage('dev', null, 'staging'), stage('prod', 'dev')] })).toBe(true);
    expect((await repositoryStages(db.prisma, REPO)).map((s) => [s.application, s.stage, s.position, s.cluster, s.resourcesPath, s.targetNamespace, s.previousStage, s.commitSha])).toEqual([
      ['shop', 'dev', 0, 'staging', 'apps/shop/dev', 'shop-dev', null, 'c1'],
      ['shop', 'prod', 1, 'prod', 'apps/shop/prod', 'shop-prod', 'dev', 'c1'],
    ]);
    expect(await replaceApplicationStages(db.prisma, { repositoryId: REPO, commitSha: 'c0', observedAt: new Date(500), stages: [] })).toBe(false);
    expect(await replaceApplicationStages(db.prisma, { repositoryId: REPO, commitSha: 'c2', observedAt: new Date(2000), stages: [stage('prod', null)] })).toBe(true);
    expect((await repositoryStages(db.prisma, REPO)).map((s) => [s.stage, s.previousStage, s.commitSha])).toEqual([['prod', null, 'c2']]);
    expect(await db.prisma.repository.findUnique({ where: { id: REPO }, select: { applicationsSha: true } })).toEqual({ applicationsSha: 'c2' });
  });

  it('recordDefaultBranchReport records the configuration, policies and stages of the Report', async () => {
    const db = await backend.open();
    const repository: RepositoryRow = { installationId: 7, id: Number(REPO), owner: 'acme', ownerType: 'Organization', name: 'gitops', defaultBranch: 'main', private: true };
    const cluster: ClusterReport = {
      name: 'shop-prod',
      config: '.securitytower/cluster.yaml',
      violations: [],
      errors: [],
      images: [],
      policies: [policy('owner', '1.0.0')],
      stats: { objects: 0, constraints: 1, evaluations: 0 },
    };
    const config = {
      name: 'shop-prod',
      location: { file: '.securitytower/cluster.yaml', line: 2 },
      tenant: 'example-org',
      contact: { email: 'platform@example.com' },
      configuration: { production: true, securityLevel: 'confidential', costCenter: 1000, description: 'Shop' },
      policiesPath: 'policies',
      namespacePaths: [],
      k8sNativeValidation: true,
    };
    const report: Report = {
      clusters: [cluster],
      errors: [],
      config: {
        clusters: [config],
        applications: [
          {
            name: 'shop',
            location: { file: '.securitytower/shop-app.yaml', line: 2 },
            stages: [
              { name: 'shop', clusterName: 'shop-prod', resourcesPath: 'cluster/namespaces/shop', targetNamespace: 'shop' },
              { name: 'payments', clusterName: 'shop-prod', resourcesPath: 'cluster/namespaces/payments', targetNamespace: 'payments', previousStage: 'shop' },
            ],
          },
        ],
      },
    };
    expect(clusterSettings(config)).toEqual({
      tenant: 'example-org',
      contactEmail: 'platform@example.com',
      contactSlack: null,
      description: 'Shop',
      production: true,
      securityLevel: 'confidential',
      geographicLocation: null,
      costCenter: '1000',
    });
    await recordDefaultBranchReport(db.prisma, { repository, sha: 'a'.repeat(40), report, startedAt: new Date(1000) });
    expect(columns(await db.prisma.cluster.findFirst({ where: { name: 'shop-prod' } }))).toEqual({ ...clusterSettings(config), config: '.securitytower/cluster.yaml', configSha: 'a'.repeat(40) });
    expect((await clusterPolicies(db.prisma, REPO, 'shop-prod')).map((p) => [p.constraint, p.version])).toEqual([['owner', '1.0.0']]);
    expect((await repositoryStages(db.prisma, REPO)).map((s) => [s.application, s.stage, s.previousStage])).toEqual([
      ['shop', 'shop', null],
      ['shop', 'payments', 'shop'],
    ]);
  });
});
