import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { check, fixtureRepo, fixturesDir } from '../helpers/engine.js';

// The Report's additive fields for the overview: the `.securitytower/` configuration read, and per
// cluster the constraints loaded with their templates, titles and parameters.
const TEMPLATE = 'cluster/global/policies/constraint-templates/preventprivileged-template.yaml';

describe('Report.config and ClusterReport.policies', () => {
  it('carry the cluster configs, the Application stages and the enabled policies of shop-cluster', async () => {
    const original = readFileSync(join(fixturesDir, 'repos', 'shop-cluster', TEMPLATE), 'utf8');
    const versioned = original.replace('  name: preventprivileged\n', '  name: preventprivileged\n  annotations:\n    metadata.gatekeeper.sh/version: 1.2.0\n    metadata.gatekeeper.sh/title: Prevent privileged containers\n');
    expect(versioned).not.toBe(original);
    const report = await check(fixtureRepo('shop-cluster', { [TEMPLATE]: versioned }));
    expect(report.errors).toEqual([]);

    expect(report.config!.clusters).toEqual([
      expect.objectContaining({
        name: 'shop-prod',
        location: { file: '.securitytower/cluster.yaml', line: 2 },
        tenant: 'example-org',
        contact: { email: 'platform@example.com', slack: undefined },
        configuration: { description: 'Production cluster of the shop', production: true, securityLevel: 'confidential' },
      }),
    ]);
    expect(report.config!.applications).toHaveLength(1);
    const [app] = report.config!.applications;
    expect(app!.name).toBe('shop');
    expect(app!.stages.map((s) => [s.name, s.clusterName, s.resourcesPath, s.targetNamespace, s.previousStage])).toEqual([
      ['shop', 'shop-prod', 'cluster/namespaces/shop', 'shop', undefined],
      ['payments', 'shop-prod', 'cluster/namespaces/payments', 'payments', 'shop'],
    ]);

    // With the template's title and the constraint's parameters (`{}` when it has none), which the
    // compliance page compares between clusters.
    expect(report.clusters[0]!.policies).toEqual([
      { template: 'enforceimageversion', kind: 'EnforceImageVersion', constraint: 'enforceimageversion', enforcementAction: 'warn', parameters: {} },
      {
        template: 'k8srequiredlabels',
        kind: 'K8sRequiredLabels',
        constraint: 'workloads-must-have-owner',
        enforcementAction: 'dryrun',
        parameters: { labels: [{ key: 'owner' }, { key: 'cost-center' }] },
      },
      {
        template: 'preventprivileged',
        kind: 'PreventPrivileged',
        constraint: 'preventprivileged',
        enforcementAction: 'deny',
        version: '1.2.0',
        title: 'Prevent privileged containers',
        parameters: { exemptImages: ['registry.example.com/node-agent'] },
      },
      { template: 'uniqueingresshost', kind: 'UniqueIngressHost', constraint: 'uniqueingresshost', enforcementAction: 'deny', parameters: {} },
    ]);
    expect(report.clusters[0]!.stats.constraints).toBe(report.clusters[0]!.policies!.length);
  });
});
