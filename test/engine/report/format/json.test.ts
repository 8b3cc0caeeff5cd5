import { describe, expect, it } from 'vitest';
import { formatJson } from '../../../../src/engine/report/format/json.js';
import { expectGolden } from './golden.js';
import { cleanCluster, twoClusters, twoClustersWithStatus } from './report-fixtures.js';

describe('formatJson', () => {
  it.each([
    ['two clusters', 'two-clusters.json', twoClusters, false],
    ['two clusters compared with a base', 'two-clusters.status.json', twoClustersWithStatus, true],
    ['a clean cluster', 'clean-cluster.json', cleanCluster, false],
  ])('renders %s as in its golden file', (_name, golden, report, withStatus) => {
    expectGolden(golden, formatJson(report(), { withStatus }));
  });

  it('writes one JSON document ending in a newline, as cli.md asks of stdout', () => {
    const text = formatJson(twoClusters(), { withStatus: false });
    expect(text.endsWith('}\n')).toBe(true);
    expect(() => JSON.parse(text)).not.toThrow();
  });

  it('gives each cluster exactly the fields of cli.md', () => {
    const json = JSON.parse(formatJson(twoClusters(), { withStatus: false }));
    expect(Object.keys(json)).toEqual(['clusters', 'errors']);
    expect(json.clusters.map((c: object) => Object.keys(c))).toEqual([
      ['name', 'config', 'violations', 'errors'],
      ['name', 'config', 'violations', 'errors'],
    ]);
    expect(json.clusters[0].name).toBe('prod-eu');
    expect(json.clusters[0].config).toBe('.securitytower/cluster.yaml');
  });

  it('describes a violation on an expanded Deployment with the Deployment and the Implied-by message', () => {
    const json = JSON.parse(formatJson(twoClusters(), { withStatus: false }));
    const violation = json.clusters[0].violations.find((v: { policy: string }) => v.policy === 'k8spspprivilegedcontainer');
    expect(violation).toStrictEqual({
      policy: 'k8spspprivilegedcontainer',
      constraint: 'psp-privileged-container',
      enforcementAction: 'deny',
      message: '[Implied by expand-workloads] Privileged container is not allowed: nginx, securityContext: {"privileged": true}',
      file: 'apps/web/deployment.yaml',
      line: 24,
      object: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'web' },
      accepted: false,
      acceptance: null,
      engine: 'Rego',
    });
  });

  it('says which engine produced each result, and null for one that none did', () => {
    const json = JSON.parse(formatJson(twoClusters(), { withStatus: false }));
    const engines = json.clusters[0].violations.map((v: { policy: string; engine: string | null }) => [v.policy, v.engine]);
    expect(engines).toContainEqual(['k8spspprivilegedcontainer', 'Rego']);
    expect(engines).toContainEqual(['k8srequiredlabels', null]);
  });

  it('gives an accepted risk its reason, level and annotation', () => {
    const json = JSON.parse(formatJson(twoClusters(), { withStatus: false }));
    const violation = json.clusters[0].violations.find((v: { file: string }) => v.file === 'apps/legacy/statefulset.yaml');
    expect(violation.accepted).toBe(true);
    expect(violation.acceptance).toStrictEqual({
      reason: 'The legacy database image needs root until the 2025 migration (SEC-1423)',
      level: 'namespace',
      annotation: 'securitytower.io/policy.exclusion.k8spspallowprivilegeescalationcontainer',
    });
  });

  it('leaves out the namespace of a cluster-scoped object', () => {
    const json = JSON.parse(formatJson(twoClusters(), { withStatus: false }));
    const violation = json.clusters[0].violations.find((v: { enforcementAction: string }) => v.enforcementAction === 'dryrun');
    expect(violation.object).toStrictEqual({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'ops-admin' });
  });

  it('lists input errors with file, line, message and code', () => {
    const json = JSON.parse(formatJson(twoClusters(), { withStatus: false }));
    expect(json.clusters[0].errors).toStrictEqual([
      { file: 'apps/api/broken.yaml', line: 7, message: 'YAML: Nested mappings are not allowed in compact mappings at line 7, column 12', code: 'yaml' },
    ]);
  });

  it('keeps errors that belong to no cluster in a top-level errors array', () => {
    const json = JSON.parse(formatJson(twoClusters(), { withStatus: false }));
    expect(json.errors).toStrictEqual([{ file: '.securitytower/old-cluster.yaml', line: 3, message: 'Cluster file: spec.policies.path is required', code: 'cluster-config' }]);
    expect(JSON.parse(formatJson(cleanCluster(), { withStatus: false })).errors).toStrictEqual([]);
  });

  it('adds status to every violation only when compared with a base', () => {
    const withStatus = JSON.parse(formatJson(twoClustersWithStatus(), { withStatus: true }));
    const statuses = withStatus.clusters.flatMap((c: { violations: Array<{ status: string }> }) => c.violations.map((v) => v.status));
    expect(statuses).toEqual(['existing', 'existing', 'existing', 'existing', 'new', 'existing']);
    const without = JSON.parse(formatJson(twoClustersWithStatus(), { withStatus: false }));
    expect(without.clusters[1].violations.every((v: object) => !('status' in v))).toBe(true);
  });

  it('orders violations by file, line and policy whatever order the Report holds', () => {
    const report = twoClusters();
    report.clusters[0]!.violations.reverse();
    const json = JSON.parse(formatJson(report, { withStatus: false }));
    expect(json.clusters[0].violations.map((v: { file: string; line: number }) => `${v.file}:${v.line}`)).toEqual([
      'apps/legacy/statefulset.yaml:31',
      'apps/web/deployment.yaml:4',
      'apps/web/deployment.yaml:24',
      'rbac/ops-admin.yaml:8',
    ]);
  });

  it('adds what rendering took to a cluster that rendered: builds, those the render cache answered, seconds', () => {
    const report = cleanCluster();
    report.clusters[0]!.stats.renders = { builds: 12, cached: 9, ms: 1234.6 };
    const json = JSON.parse(formatJson(report, { withStatus: false }));
    expect(json.clusters[0].render).toStrictEqual({ builds: 12, cached: 9, seconds: 1.235 });
  });
});
