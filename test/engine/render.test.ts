import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatReport, type ClusterReport, type Report } from '../../src/engine/index.js';
import { check, fixtureRepo, fixturesDir } from '../helpers/engine.js';

// What each cluster applies, rendered as Flux and kustomize render it (issue #13), and the line a
// person edits for every finding. The fixtures are real layouts: test/fixtures/repos/flux-monorepo
// (`flux bootstrap` per environment, infrastructure/ without a kustomization, apps/base with an
// overlay per environment, postBuild substitution) and test/fixtures/repos/kustomize-overlay (a base
// and an overlay with strategic merge and JSON 6902 patches, images:, namespace: and
// commonAnnotations:). Both use two templates: privileged containers (deny) and images not pinned by
// digest (warn).

function fixtureFile(repo: string, path: string): string {
  return readFileSync(join(fixturesDir, 'repos', repo, path), 'utf8');
}

function findings(cluster: ClusterReport): string[] {
  return cluster.violations.map((v) => {
    const accepted = v.acceptance ? ` (accepted at ${v.acceptance.location.file}:${v.acceptance.location.line})` : '';
    return `${v.location.file}:${v.location.line} ${v.constraint}: ${v.message}${accepted}`;
  });
}

function cluster(report: Report, name: string): ClusterReport {
  expect(report.errors).toEqual([]);
  const found = report.clusters.find((c) => c.name === name);
  if (!found) throw new Error(`no cluster ${name}`);
  return found;
}

describe('a Flux monorepo with one Cluster file per environment', () => {
  it('judges each environment by what its Flux Kustomizations render, each finding on the line to edit', async () => {
    const report = await check(fixtureRepo('flux-monorepo'));
    const production = cluster(report, 'production');
    expect(production.errors).toEqual([]);
    expect(findings(production)).toEqual([
      // The production overlay's patch made the container privileged: its line, not the base's.
      'apps/production/debug-patch.yaml:11 no-privileged: container web is privileged',
      // The overlay's images: entry set the tag.
      'apps/production/kustomization.yaml:10 pinned-images: container web: image nginx:1.27.3 is not pinned by digest',
    ]);
    const staging = cluster(report, 'staging');
    expect(staging.errors).toEqual([]);
    expect(findings(staging)).toEqual(['apps/base/deployment.yaml:19 pinned-images: container web: image nginx:1.27 is not pinned by digest']);
  });

  it('evaluates each environment’s objects once, in the namespaces and with the values Flux gives them', async () => {
    const report = await check(fixtureRepo('flux-monorepo'));
    const images = (name: string) => cluster(report, name).images.map((use) => `${use.namespace}/${use.workload.kind}/${use.workload.name} ${use.image} ${use.location.file}:${use.location.line}`);
    expect(images('production')).toEqual([
      'ingress/DaemonSet/ingress-controller registry.example.com/ingress-controller@sha256:0e36ef37d6a2a1ca8aa6bdee4b6e4d7fd0c1ec1c2cf7b2a0b7a5c7c98e6c9f11 infrastructure/ingress/controller.yaml:17',
      'shop/Deployment/web nginx:1.27.3 apps/production/kustomization.yaml:10',
    ]);
    expect(images('staging')).toEqual([
      'ingress/DaemonSet/ingress-controller registry.example.com/ingress-controller@sha256:0e36ef37d6a2a1ca8aa6bdee4b6e4d7fd0c1ec1c2cf7b2a0b7a5c7c98e6c9f11 infrastructure/ingress/controller.yaml:17',
      'shop-staging/Deployment/web nginx:1.27 apps/base/deployment.yaml:19',
    ]);
    // flux-system (GitRepository, Kustomization, cluster-vars), infrastructure (2 Namespaces, the
    // DaemonSet), apps (Deployment, Ingress) and the two child Kustomizations: no duplicates.
    expect(cluster(report, 'production').stats.objects).toBe(10);
  });

  it('sets a Kustomization\'s commonMetadata on every object it applies, as kustomize-controller does: an annotation there accepts a risk, on its line', async () => {
    const apps = fixtureFile('flux-monorepo', 'clusters/production/apps.yaml').replace(
      '  prune: true\n',
      '  prune: true\n  commonMetadata:\n    labels:\n      team: shop\n    annotations:\n      securitytower.io/policy.exclusion.k8simagedigest: Digests are pinned at release.\n',
    );
    const production = cluster(await check(fixtureRepo('flux-monorepo', { 'clusters/production/apps.yaml': apps })), 'production');
    const line = apps.split('\n').findIndex((l) => l.includes('policy.exclusion')) + 1;
    expect(findings(production)).toEqual([
      'apps/production/debug-patch.yaml:11 no-privileged: container web is privileged',
      `apps/production/kustomization.yaml:10 pinned-images: container web: image nginx:1.27.3 is not pinned by digest (accepted at clusters/production/apps.yaml:${line})`,
    ]);
  });

  it('lists the YAML no cluster applies instead of judging it, and counts it in one line of text', async () => {
    const report = await check(fixtureRepo('flux-monorepo'));
    expect(report.notApplied).toEqual(['.github/workflows/ci.yaml', 'docs/docker-compose.yaml']);
    expect(JSON.parse(formatReport(report, 'json', { color: false, withStatus: false, toolVersion: 'test' })).notApplied).toEqual(['.github/workflows/ci.yaml', 'docs/docker-compose.yaml']);
    expect(formatReport(report, 'text', { color: false, withStatus: false, toolVersion: 'test' })).toContain('2 YAML files are applied by no cluster and were not evaluated (--format json lists them)\n');
  });

  it('reports a path that does not exist on the Kustomization’s line, and still evaluates the rest', async () => {
    const apps = fixtureFile('flux-monorepo', 'clusters/production/apps.yaml');
    const report = await check(fixtureRepo('flux-monorepo', { 'clusters/production/apps.yaml': apps.replace('path: ./apps/production', 'path: ./apps/prod') }), { clusters: ['production'] });
    const production = cluster(report, 'production');
    expect(production.errors).toEqual([
      { location: { file: 'clusters/production/apps.yaml', line: 10 }, code: 'render', message: 'Kustomization flux-system/apps: kustomization path not found: ./apps/prod' },
    ]);
    expect(production.images.map((use) => use.workload.name)).toEqual(['ingress-controller']);
  });

  it('reports a kustomization that fails to build on its line, and a remote base on the line that names it', async () => {
    const report = await check(
      fixtureRepo('flux-monorepo', {
        'apps/production/kustomization.yaml': 'resources:\n  - ../base\n  - missing.yaml\n',
        'apps/staging/kustomization.yaml': 'namespace: shop-staging\nresources:\n  - ../base\n  - github.com/example/shared//base?ref=v1\n',
      }),
    );
    expect(cluster(report, 'production').errors).toMatchObject([
      { location: { file: 'clusters/production/apps.yaml', line: 10 }, code: 'render', message: expect.stringMatching(/^Kustomization flux-system\/apps: kustomize build failed: .*missing\.yaml/) },
    ]);
    expect(cluster(report, 'staging').errors).toEqual([
      {
        location: { file: 'apps/staging/kustomization.yaml', line: 4 },
        code: 'render',
        message: 'github.com/example/shared//base?ref=v1 is a remote base: Parapet renders only what the repository holds (vendor it into the repository)',
      },
    ]);
    // The infrastructure still renders in both.
    expect(cluster(report, 'staging').images.map((use) => use.workload.name)).toEqual(['ingress-controller']);
  });

  it('reports a substituteFrom ConfigMap the cluster does not apply on the line that names it', async () => {
    const report = await check(fixtureRepo('flux-monorepo', { 'clusters/staging/cluster-vars.yaml': null }), { clusters: ['staging'] });
    expect(cluster(report, 'staging').errors).toEqual([
      {
        location: { file: 'clusters/staging/apps.yaml', line: 19 },
        code: 'render',
        message: "Kustomization flux-system/apps: substitute from 'ConfigMap/cluster-vars' error: no ConfigMap cluster-vars in namespace flux-system among the objects this cluster applies",
      },
    ]);
  });
});

describe('a kustomize overlay with patches, images:, namespace: and commonAnnotations:', () => {
  it('points each finding at the patch, the images: entry or the base that set the field', async () => {
    const report = await check(fixtureRepo('kustomize-overlay'));
    const shop = cluster(report, 'shop');
    expect(shop.errors).toEqual([]);
    expect(findings(shop)).toEqual([
      // commonAnnotations carries the risk acceptance; its line is where the review points.
      'base/deployment.yaml:19 pinned-images: container log: image busybox:1.36 is not pinned by digest (accepted at overlays/prod/kustomization.yaml:20)',
      // The JSON 6902 patch, inline in the kustomization.
      'overlays/prod/kustomization.yaml:15 no-privileged: container log is privileged',
      'overlays/prod/kustomization.yaml:18 pinned-images: container api: image registry.example.com/api:2.0 is not pinned by digest (accepted at overlays/prod/kustomization.yaml:20)',
      // The strategic merge patch file.
      'overlays/prod/privileged.yaml:11 no-privileged: container api is privileged',
    ]);
    expect(shop.images.map((use) => `${use.namespace} ${use.image}`)).toEqual(['shop-prod registry.example.com/api:2.0', 'shop-prod busybox:1.36']);
    expect(report.notApplied).toEqual([]);
  });

  it('judges files beside a kustomization only when it lists them', async () => {
    const extra = fixtureFile('flux-monorepo', 'apps/production/debug-patch.yaml');
    const report = await check(fixtureRepo('kustomize-overlay', { 'overlays/prod/unlisted.yaml': extra }));
    expect(findings(cluster(report, 'shop'))).toHaveLength(4);
    expect(report.notApplied).toEqual(['overlays/prod/unlisted.yaml']);
  });
});

describe('JSON manifests', () => {
  it('judges a JSON Kubernetes object where kubectl applies it, and leaves other JSON alone', async () => {
    const deployment = JSON.stringify(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'api', namespace: 'shop' },
        spec: { selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: 'registry.example.com/api:2.0', securityContext: { privileged: true } }] } } },
      },
      null,
      2,
    );
    const report = await check(
      fixtureRepo('kustomize-overlay', {
        'apps/api.json': deployment,
        'package.json': '{\n  "name": "shop",\n  "private": true\n}\n',
        'renovate.json': '{ "extends": ["config:base"] }\n',
      }),
    );
    const shop = cluster(report, 'shop');
    expect(shop.errors).toEqual([]);
    expect(findings(shop).filter((f) => f.startsWith('apps/api.json'))).toEqual([
      'apps/api.json:24 pinned-images: container api: image registry.example.com/api:2.0 is not pinned by digest',
      'apps/api.json:26 no-privileged: container api is privileged',
    ]);
  });
});
