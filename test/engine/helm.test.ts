import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatReport, type ClusterReport, type Report } from '../../src/engine/index.js';
import { check, fixtureRepo, fixturesDir } from '../helpers/engine.js';
import { readTree } from '../helpers/read-tree.js';

// Helm charts of the repository, rendered as the cluster's Flux renders them (issue #13). The
// fixture test/fixtures/repos/flux-helm is a Flux monorepo (`flux bootstrap` in
// clusters/production) whose apps Kustomization applies a HelmRelease of the local chart
// charts/web, with values in the HelmRelease and in a ConfigMap (valuesFrom, one key with
// targetPath). Templates: privileged containers (deny) and images not pinned by digest (warn).

function fixtureFile(path: string): string {
  return readFileSync(join(fixturesDir, 'repos', 'flux-helm', path), 'utf8');
}

function findings(cluster: ClusterReport): string[] {
  return cluster.violations.map((v) => `${v.location.file}:${v.location.line} ${v.constraint}: ${v.message}`);
}

function production(report: Report): ClusterReport {
  expect(report.errors).toEqual([]);
  return report.clusters.find((c) => c.name === 'production')!;
}

describe('a HelmRelease of a chart in the repository', () => {
  it('judges what the chart renders with the release’s values, each finding on the values line that set the field', async () => {
    const report = await check(fixtureRepo('flux-helm'));
    const cluster = production(report);
    expect(cluster.errors).toEqual([]);
    expect(cluster.notices).toBeUndefined();
    expect(findings(cluster)).toEqual([
      // worker.securityContext, toYaml'd by the template, comes from the valuesFrom ConfigMap.
      'apps/production/web-values.yaml:10 no-privileged: container worker is privileged',
      // The image is built from image.registry (valuesFrom targetPath), image.repository and
      // image.tag: the HelmRelease's tag line is what to edit.
      'apps/production/web.yaml:24 pinned-images: container web: image registry.example.com/shop/web:2.4.1 is not pinned by digest',
    ]);
  });

  it('renders in the release’s namespace, with the CRDs of crds/ and without test hooks, and applies every chart file', async () => {
    const report = await check(fixtureRepo('flux-helm'));
    const cluster = production(report);
    expect(cluster.images.map((use) => `${use.namespace}/${use.workload.kind}/${use.workload.name} ${use.image} ${use.location.file}:${use.location.line}`)).toEqual([
      'shop/Deployment/web-web registry.example.com/shop/web:2.4.1 apps/production/web.yaml:24',
      // The chart's own default, on its values.yaml line.
      'shop/Deployment/web-web-worker busybox@sha256:0e36ef37d6a2a1ca8aa6bdee4b6e4d7fd0c1ec1c2cf7b2a0b7a5c7c98e6c9f11 charts/web/values.yaml:13',
    ]);
    // GitRepository, 2 Kustomizations, Namespace, ConfigMap, HelmRelease; the CRD, the Service and
    // two Deployments. The test Pod runs only at `helm test`.
    expect(cluster.stats.objects).toBe(10);
    expect(report.notApplied).toEqual([]);
  });

  it('points a field the template writes itself at the object’s kind: line in the template', async () => {
    const template = fixtureFile('charts/web/templates/deployment.yaml').replace('{{- toYaml .Values.worker.securityContext | nindent 12 }}', 'privileged: true');
    const report = await check(fixtureRepo('flux-helm', { 'charts/web/templates/deployment.yaml': template, 'apps/production/web-values.yaml': fixtureFile('apps/production/web-values.yaml').replace('privileged: true', 'readOnlyRootFilesystem: true') }));
    expect(findings(production(report))).toContain('charts/web/templates/deployment.yaml:27 no-privileged: container worker is privileged');
  });

  it('points a field a post-renderer set at its entry in the HelmRelease', async () => {
    const release = `${fixtureFile('apps/production/web.yaml')}  postRenderers:\n    - kustomize:\n        images:\n          - name: busybox\n            newTag: "1.37"\n`;
    const report = await check(fixtureRepo('flux-helm', { 'apps/production/web.yaml': release }));
    const cluster = production(report);
    expect(cluster.errors).toEqual([]);
    expect(cluster.images.map((use) => `${use.workload.name} ${use.image} ${use.location.file}:${use.location.line}`)).toContain('web-web-worker busybox:1.37 apps/production/web.yaml:29');
  });

  it('says on the HelmRelease’s chart line that a chart from a HelmRepository the cluster does not apply was not rendered, and passes the rest', async () => {
    const release = fixtureFile('apps/production/web.yaml').replace('chart: ./charts/web', 'chart: podinfo\n      version: 6.7.1').replace('kind: GitRepository\n        name: flux-system', 'kind: HelmRepository\n        name: podinfo');
    const report = await check(fixtureRepo('flux-helm', { 'apps/production/web.yaml': release }));
    const cluster = production(report);
    expect(cluster.errors).toEqual([]);
    expect(cluster.notices).toEqual([
      {
        location: { file: 'apps/production/web.yaml', line: 9 },
        code: 'render',
        message: 'HelmRelease shop/web: chart podinfo@6.7.1 from HelmRepository flux-system/podinfo was not rendered: HelmRepository flux-system/podinfo is not among the objects this cluster applies',
      },
    ]);
    expect(cluster.violations).toEqual([]);
    expect(cluster.stats.objects).toBe(6);
    const text = formatReport(report, 'text', { color: false, withStatus: false, toolVersion: 'test' });
    expect(text).toContain('notice  apps/production/web.yaml:9  HelmRelease shop/web: chart podinfo@6.7.1 from HelmRepository flux-system/podinfo was not rendered');
    expect(text).toMatch(/^PASS {2}production/m);
    expect(JSON.parse(formatReport(report, 'json', { color: false, withStatus: false, toolVersion: 'test' })).clusters[0].notices).toEqual([
      { file: 'apps/production/web.yaml', line: 9, code: 'render', message: expect.stringContaining('chart podinfo@6.7.1 from HelmRepository flux-system/podinfo was not rendered') },
    ]);
  });

  it('reports a valuesFrom naming a ConfigMap the cluster does not apply on the line that names it', async () => {
    const kustomization = fixtureFile('apps/production/kustomization.yaml').replace('  - web-values.yaml\n', '');
    const report = await check(fixtureRepo('flux-helm', { 'apps/production/kustomization.yaml': kustomization }));
    expect(production(report).errors).toEqual([
      {
        location: { file: 'apps/production/web.yaml', line: 15 },
        code: 'render',
        message: "HelmRelease shop/web: could not resolve ConfigMap chart values reference 'shop/web-values' with key 'values.yaml': resource not found: no ConfigMap web-values in namespace shop among the objects this cluster applies",
      },
    ]);
  });

  it('reports a chart that fails to render on the chart line, and still evaluates the rest of the cluster', async () => {
    const report = await check(fixtureRepo('flux-helm', { 'charts/web/templates/service.yaml': 'kind: Service\nmetadata:\n  name: {{ .Values.service.port\n' }));
    const cluster = production(report);
    expect(cluster.errors).toEqual([
      {
        location: { file: 'apps/production/web.yaml', line: 9 },
        code: 'render',
        message: 'HelmRelease shop/web: Helm install failed for release shop/web with chart charts/web: parse error at (web/templates/service.yaml:4): unclosed action started at web/templates/service.yaml:3',
      },
    ]);
    expect(cluster.stats.objects).toBe(6);
  });

  it('reports a chart path outside the repository or missing on the chart line', async () => {
    const outside = await check(fixtureRepo('flux-helm', { 'apps/production/web.yaml': fixtureFile('apps/production/web.yaml').replace('chart: ./charts/web', 'chart: ../other/charts/web') }));
    expect(production(outside).errors).toEqual([{ location: { file: 'apps/production/web.yaml', line: 9 }, code: 'render', message: 'HelmRelease shop/web: chart path ../other/charts/web is outside the repository' }]);
    const missing = await check(fixtureRepo('flux-helm', { 'apps/production/web.yaml': fixtureFile('apps/production/web.yaml').replace('chart: ./charts/web', 'chart: ./charts/api') }));
    expect(production(missing).errors).toEqual([{ location: { file: 'apps/production/web.yaml', line: 9 }, code: 'render', message: 'HelmRelease shop/web: chart path not found: ./charts/api has no Chart.yaml in this repository' }]);
  });
});

describe('a chart folder without a HelmRelease', () => {
  // The same repository without Flux: only the chart and the policies.
  const chartOnly = (extra: Record<string, string> = {}) => {
    const kept = (path: string) => path.startsWith('policies/') || path.startsWith('charts/') || path.startsWith('.securitytower/');
    return fixtureRepo('flux-helm', { ...Object.fromEntries(Object.keys(readTree(join(fixturesDir, 'repos', 'flux-helm'))).filter((p) => !kept(p)).map((p) => [p, null])), ...extra });
  };

  it('is rendered as helm template renders it, with the chart’s own values, when spec.manifests lists it', async () => {
    const report = await check(chartOnly({ '.securitytower/production.yaml': `${fixtureFile('.securitytower/production.yaml')}  manifests:\n    - path: charts/web\n` }));
    const cluster = production(report);
    expect(cluster.errors).toEqual([]);
    expect(cluster.images.map((use) => `${use.namespace}/${use.workload.name} ${use.image} ${use.location.file}:${use.location.line}`)).toEqual([
      // helm template's default release name; the tag falls back to the chart's appVersion, so the
      // repository's line is the value it was built from.
      'default/release-name-web docker.io/shop/web:2.4.0 charts/web/values.yaml:5',
      'default/release-name-web-worker busybox@sha256:0e36ef37d6a2a1ca8aa6bdee4b6e4d7fd0c1ec1c2cf7b2a0b7a5c7c98e6c9f11 charts/web/values.yaml:13',
    ]);
    expect(report.notApplied).toEqual([]);
  });

  it('is named in a notice, not guessed at, when no entry point names it', async () => {
    const cluster = production(await check(chartOnly()));
    expect(cluster.errors).toEqual([]);
    expect(cluster.stats.objects).toBe(0);
    expect(cluster.notices).toEqual([
      {
        location: { file: 'charts/web/Chart.yaml', line: 1 },
        code: 'render',
        message: "the Helm chart charts/web was not rendered: no HelmRelease or Argo CD Application of this cluster names it (list its folder in the Cluster file's spec.manifests to judge it with its own values)",
      },
    ]);
  });
});
