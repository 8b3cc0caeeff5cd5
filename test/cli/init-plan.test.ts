// planInit: the layout of a repository, from its files, and the Cluster files that describe it.
import { describe, expect, it } from 'vitest';
import { parseYamlFile, readSecurityTowerConfig } from '../../src/engine/index.js';
import { EXAMPLE_CLUSTER_FILE, planInit, reachableFolders, type InitPlan } from '../../src/cli/init-plan.js';

function plan(files: Record<string, string>, name?: string): InitPlan {
  return planInit({ folderName: 'fleet', files: Object.keys(files).sort(), texts: new Map(Object.entries(files)), ...(name ? { name } : {}) });
}

/** What the engine reads from the Cluster files the plan writes. */
function readBack(result: InitPlan) {
  const documents = [...result.writes].filter(([path]) => path.startsWith('.securitytower/')).flatMap(([path, text]) => parseYamlFile(path, text).documents);
  return readSecurityTowerConfig(documents);
}

const deployment = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n';

describe('planInit', () => {
  it('makes one cluster per kustomize overlay, with the bases each overlay names', () => {
    const result = plan({
      'web/base/deployment.yaml': deployment,
      'web/base/kustomization.yaml': 'resources: [deployment.yaml]\n',
      'web/overlays/dev/kustomization.yaml': 'resources:\n  - ../../base\n  - https://github.com/example/remote//base\n',
      'web/overlays/prod/kustomization.yaml': 'resources: [../../base, hpa.yaml]\n',
      'web/overlays/prod/hpa.yaml': 'apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: web\n',
      'api/overlays/prod/kustomization.yaml': 'resources: [service.yaml]\n',
      'api/overlays/prod/service.yaml': 'apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n',
    });
    expect(result.layout).toBe('kustomize-overlays');
    expect(result.clusters.map((c) => ({ name: c.name, policies: c.policiesPath, manifests: c.manifests }))).toEqual([
      { name: 'dev', policies: 'policies/dev', manifests: ['web/base', 'web/overlays/dev'] },
      { name: 'prod', policies: 'policies/prod', manifests: ['api/overlays/prod', 'web/base', 'web/overlays/prod'] },
    ]);
  });

  it('makes one cluster per Argo CD destination, with the source paths this repository holds', () => {
    const application = (name: string, destination: string, path: string) =>
      `apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: ${name}\n  namespace: argocd\nspec:\n  project: default\n  source:\n    repoURL: https://github.com/example/gitops.git\n    targetRevision: HEAD\n    path: ${path}\n  destination:\n    ${destination}\n    namespace: shop\n`;
    const result = plan({
      'argocd/shop-prod.yaml': application('shop-prod', 'name: prod-eu', 'envs/prod'),
      'argocd/shop-dev.yaml': application('shop-dev', 'server: https://kubernetes.default.svc', 'envs/dev'),
      'argocd/monitoring.yaml': `${application('monitoring', 'server: https://10.0.0.1:6443', 'monitoring')}---\n${application('elsewhere', 'name: prod-eu', 'not/in/this/repo')}`,
      'envs/prod/kustomization.yaml': 'resources: [../../base]\n',
      'envs/dev/kustomization.yaml': 'resources: [../../base]\n',
      'base/deployment.yaml': deployment,
      'monitoring/prometheus.yaml': deployment,
    });
    expect(result.layout).toBe('argo-cd');
    expect(result.clusters.map((c) => ({ name: c.name, policies: c.policiesPath, manifests: c.manifests }))).toEqual([
      { name: '10-0-0-1', policies: 'policies/10-0-0-1', manifests: ['monitoring'] },
      { name: 'in-cluster', policies: 'policies/in-cluster', manifests: ['base', 'envs/dev'] },
      { name: 'prod-eu', policies: 'policies/prod-eu', manifests: ['base', 'envs/prod'] },
    ]);
  });

  it('gives one Flux cluster the whole repository, without spec.manifests', () => {
    const result = plan({ 'clusters/prod/flux-system/gotk-sync.yaml': 'kind: GitRepository\n', 'apps/web.yaml': deployment });
    expect(result.clusters).toEqual([{ name: 'prod', configPath: '.securitytower/prod.yaml', policiesPath: 'clusters/prod/policies', namespaces: [] }]);
  });

  it.each([
    ['Flux', { 'clusters/eu-west/apps.yaml': 'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nspec:\n  path: ./apps\n', 'clusters/us/x.yaml': deployment, 'apps/a.yaml': deployment }],
    ["Security Tower's template", { 'cluster/namespaces/shop/web.yaml': deployment, 'cluster/global/namespace-specs/shop/namespace.yaml': 'kind: Namespace\n' }],
    ['kustomize overlays', { 'overlays/a/kustomization.yaml': 'resources: []\n', 'overlays/b/kustomization.yaml': 'resources: []\n' }],
    ['Argo CD', { 'apps.yaml': 'apiVersion: argoproj.io/v1alpha1\nkind: Application\nspec:\n  sources:\n    - path: web\n  destination:\n    name: prod\n', 'web/a.yaml': deployment }],
    ['plain manifests', { 'web.yaml': deployment }],
  ])('writes Cluster files for %s that the engine reads back as planned, without an error', (_layout, files) => {
    const result = plan(files);
    const config = readBack(result);
    expect(config.errors).toEqual([]);
    expect(config.clusters.map((c) => ({ name: c.name, policies: c.policiesPath, manifests: c.manifestPaths, namespaces: c.namespacePaths }))).toEqual(
      result.clusters.map((c) => ({ name: c.name, policies: c.policiesPath, manifests: c.manifests, namespaces: c.namespaces })),
    );
  });

  it('follows Flux Kustomizations and kustomization resources, but never out of the repository or to a folder it lacks', () => {
    const files = {
      'clusters/prod/apps.yaml': 'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nspec:\n  path: ./apps/prod\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nspec:\n  path: ./not/here\n',
      'apps/prod/kustomization.yaml': 'resources:\n  - ../base\n  - ../../../outside\n  - github.com/example/repo/base?ref=v1\n',
      'apps/base/web.yaml': deployment,
      'apps/other/web.yaml': deployment,
    };
    expect(reachableFolders(['clusters/prod'], Object.keys(files), new Map(Object.entries(files)))).toEqual(['apps/base', 'apps/prod', 'clusters/prod']);
  });

  it('names clusters as Kubernetes names objects, and keeps two that clean alike apart', () => {
    const result = plan({ 'clusters/Prod_EU/a.yaml': deployment, 'clusters/prod-eu/a.yaml': deployment });
    expect(result.clusters.map((c) => c.name)).toEqual(['prod-eu', 'prod-eu-2']);
  });

  it('leaves existing Gatekeeper policies spread over the repository root alone, and says so', () => {
    const template = 'apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: x\n';
    const result = plan({ 'template.yaml': template, 'apps/constraint.yaml': 'apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: X\n' });
    expect(result.clusters[0]!.policiesPath).toBe('policies');
    expect(result.notes).toEqual(['ConstraintTemplates and Constraints are spread over apps/constraint.yaml, template.yaml: move them under one folder and set spec.policies.path to it']);
  });

  it('shows an example Cluster file that the engine reads without an error', () => {
    const config = readSecurityTowerConfig(parseYamlFile('.securitytower/cluster.yaml', EXAMPLE_CLUSTER_FILE).documents);
    expect(config.errors).toEqual([]);
    expect(config.clusters.map((c) => [c.name, c.policiesPath])).toEqual([['my-cluster', 'policies']]);
  });
});
