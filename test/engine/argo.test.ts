import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ClusterReport, Report } from '../../src/engine/index.js';
import { check, fixtureRepo, fixturesDir } from '../helpers/engine.js';

// Argo CD Applications as a cluster's entry points (issue #13), after Flux and before kustomize
// roots. The fixture test/fixtures/repos/argo-apps is an app-of-apps: argocd/root.yaml syncs
// argocd/apps, which holds a kustomize Application (namePrefix, images), a Helm Application of the
// local chart charts/web (valueFiles, parameters), a directory Application (recurse, include,
// exclude; a JSON manifest) and an Application of a chart from a Helm repository.

function fixtureFile(path: string): string {
  return readFileSync(join(fixturesDir, 'repos', 'argo-apps', path), 'utf8');
}

function findings(cluster: ClusterReport): string[] {
  return cluster.violations.map((v) => `${v.location.file}:${v.location.line} ${v.constraint}: ${v.message}`);
}

function production(report: Report): ClusterReport {
  expect(report.errors).toEqual([]);
  return report.clusters.find((c) => c.name === 'production')!;
}

describe('an Argo CD app-of-apps', () => {
  it('judges what each Application renders, each finding on the line to edit', async () => {
    const report = await check(fixtureRepo('argo-apps'));
    const cluster = production(report);
    expect(cluster.errors).toEqual([]);
    expect(findings(cluster)).toEqual([
      // The kustomize Application's images: entry set the tag.
      'argocd/apps/shop.yaml:15 pinned-images: container shop: image nginx:1.27.3 is not pinned by digest',
      // The Helm Application's parameter image.tag.
      'argocd/apps/web.yaml:17 pinned-images: container web: image docker.io/shop/web:2.5.0 is not pinned by digest',
      // Its values file, listed in valueFiles.
      'charts/web/values-prod.yaml:4 no-privileged: container worker is privileged',
      // The directory Application reads JSON manifests too.
      'config/toolbox.json:13 pinned-images: container toolbox: image busybox:1.36 is not pinned by digest',
      'config/toolbox.json:14 no-privileged: container toolbox is privileged',
    ]);
  });

  it('applies objects in each Application’s destination namespace, and names the chart it could not fetch', async () => {
    const report = await check(fixtureRepo('argo-apps'));
    const cluster = production(report);
    expect(cluster.images.map((use) => `${use.namespace}/${use.workload.name} ${use.image}`)).toEqual([
      'tools/toolbox busybox:1.36',
      'shop/prod-shop nginx:1.27.3',
      'web/web-web docker.io/shop/web:2.5.0',
      'web/web-web-worker busybox@sha256:0e36ef37d6a2a1ca8aa6bdee4b6e4d7fd0c1ec1c2cf7b2a0b7a5c7c98e6c9f11',
    ]);
    expect(cluster.notices).toEqual([
      {
        // The engine's tests fetch nothing (test/render/remote-charts.test.ts serves charts on loopback).
        location: { file: 'argocd/apps/monitoring.yaml', line: 10 },
        code: 'render',
        message: 'Application argocd/monitoring: chart kube-prometheus-stack@61.3.2 from https://prometheus-community.github.io/helm-charts was not rendered: fetching charts is off (--offline, or PARAPET_CHART_FETCH=off)',
      },
    ]);
    // Five Applications; the kustomize app's Deployment; the chart's Service and two Deployments;
    // the directory's Deployment and ResourceQuota.
    expect(cluster.stats.objects).toBe(11);
    // The directory Application's exclude: drafts/*.
    expect(report.notApplied).toEqual(['config/drafts/debug.yaml']);
  });

  it('says so when an Application’s source is another repository', async () => {
    const other = fixtureFile('argocd/apps/shop.yaml').replace('https://github.com/example/platform.git', 'git@github.com:example/shop-config.git');
    const cluster = production(await check(fixtureRepo('argo-apps', { 'argocd/apps/shop.yaml': other })));
    expect(cluster.errors).toEqual([]);
    expect(cluster.notices?.map((n) => `${n.location.file}:${n.location.line} ${n.message}`)).toContain(
      'argocd/apps/shop.yaml:9 Application argocd/shop: git@github.com:example/shop-config.git path apps/shop/overlays/prod was not rendered: it is another repository; Parapet renders what this repository holds',
    );
  });

  it('reports a missing values file, a missing path and a path outside the repository on the lines that name them, and evaluates the rest', async () => {
    const report = await check(
      fixtureRepo('argo-apps', {
        'argocd/apps/web.yaml': fixtureFile('argocd/apps/web.yaml').replace('- values-prod.yaml', '- values-staging.yaml'),
        'argocd/apps/config.yaml': fixtureFile('argocd/apps/config.yaml').replace('path: config', 'path: ../config'),
        'argocd/apps/shop.yaml': fixtureFile('argocd/apps/shop.yaml').replace('path: apps/shop/overlays/prod', 'path: apps/shop/overlays/production'),
      }),
    );
    const cluster = production(report);
    expect(cluster.errors).toEqual([
      { location: { file: 'argocd/apps/config.yaml', line: 11 }, code: 'render', message: 'Application argocd/config: spec.source.path ../config is outside the repository' },
      { location: { file: 'argocd/apps/shop.yaml', line: 11 }, code: 'render', message: 'Application argocd/shop: app path does not exist: apps/shop/overlays/production' },
      { location: { file: 'argocd/apps/web.yaml', line: 14 }, code: 'render', message: 'Application argocd/web: values file values-staging.yaml does not exist in charts/web' },
    ]);
    expect(cluster.stats.objects).toBe(5);
  });

  it('applies the kustomize Application\'s commonLabels, commonAnnotations and replicas as Argo CD\'s kustomize edit does: an annotation there accepts a risk', async () => {
    const shop = fixtureFile('argocd/apps/shop.yaml').replace(
      '      namePrefix: prod-\n',
      '      namePrefix: prod-\n      commonLabels:\n        team: shop\n      commonAnnotations:\n        securitytower.io/policy.exclusion.k8simagedigest: Pinned by the release pipeline.\n      replicas:\n        - name: shop\n          count: 3\n',
    );
    const cluster = production(await check(fixtureRepo('argo-apps', { 'argocd/apps/shop.yaml': shop })));
    expect(cluster.errors).toEqual([]);
    const digest = cluster.violations.find((v) => v.message.startsWith('container shop: image nginx'))!;
    expect(digest.acceptance?.reason).toBe('Pinned by the release pipeline.');
    // The line that sets it: the Application's commonAnnotations entry.
    expect(digest.acceptance?.location).toEqual({ file: 'argocd/apps/shop.yaml', line: shop.split('\n').findIndex((l) => l.includes('policy.exclusion')) + 1 });
  });

  it('refuses a commonLabels key the kustomization sets already, as kustomize edit add label does without forceCommonLabels', async () => {
    const shop = fixtureFile('argocd/apps/shop.yaml').replace('      namePrefix: prod-\n', '      namePrefix: prod-\n      commonLabels:\n        team: shop\n');
    const overlay = 'resources:\n  - ../../base\ncommonLabels:\n  team: platform\n';
    const refused = production(await check(fixtureRepo('argo-apps', { 'argocd/apps/shop.yaml': shop, 'apps/shop/overlays/prod/kustomization.yaml': overlay })));
    expect(refused.errors.map((e) => e.message)).toEqual([expect.stringContaining('label team already in kustomization file. Use --force to override.')]);
    const forced = shop.replace('      commonLabels:\n', '      forceCommonLabels: true\n      commonLabels:\n');
    expect(production(await check(fixtureRepo('argo-apps', { 'argocd/apps/shop.yaml': forced, 'apps/shop/overlays/prod/kustomization.yaml': overlay }))).errors).toEqual([]);
  });

  it('reports a remote base of a kustomize Application on the line that names it', async () => {
    const report = await check(fixtureRepo('argo-apps', { 'apps/shop/overlays/prod/kustomization.yaml': 'resources:\n  - ../../base\n  - github.com/example/shared//base?ref=v1\n' }));
    expect(production(report).errors).toEqual([
      {
        location: { file: 'apps/shop/overlays/prod/kustomization.yaml', line: 3 },
        code: 'render',
        message: 'github.com/example/shared//base?ref=v1 is a remote base: Parapet renders only what the repository holds (vendor it into the repository)',
      },
    ]);
  });

  it('follows an Application that manages itself (or its parent) once, without duplicates', async () => {
    // The root's own folder holds an Application of the folder that holds the root: a cycle.
    const report = await check(fixtureRepo('argo-apps', { 'argocd/apps/root-of-root.yaml': fixtureFile('argocd/root.yaml').replace('name: root', 'name: root-of-root').replace('path: argocd/apps', 'path: argocd') }));
    const cluster = production(report);
    expect(cluster.errors).toEqual([]);
    expect(cluster.stats.objects).toBe(12);
  });
});
