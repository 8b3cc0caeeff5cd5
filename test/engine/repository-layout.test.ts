import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { nothingToCheck, type ClusterReport, type Report } from '../../src/engine/index.js';
import { check, fixtureRepo } from '../helpers/engine.js';
import { MemorySource } from '../helpers/memory-source.js';

// Which files a cluster is made of (README "How a repository is read", security-tower.md §1). The
// K8sReviewed template reports every object it is evaluated against, so a cluster's violations list
// exactly the objects, files and constraints that cluster consists of.

const REVIEWED_REGO = `package k8sreviewed

violation contains {"msg": sprintf("%v %v", [input.review.kind.kind, input.review.name])}
`;

const REVIEWED_TEMPLATE = stringify({
  apiVersion: 'templates.gatekeeper.sh/v1',
  kind: 'ConstraintTemplate',
  metadata: { name: 'k8sreviewed' },
  spec: { crd: { spec: { names: { kind: 'K8sReviewed' } } }, targets: [{ target: 'admission.k8s.gatekeeper.sh', code: [{ engine: 'Rego', source: { version: 'v1', rego: REVIEWED_REGO } }] }] },
});

/** A policies folder: the template and one constraint named after the cluster, seeing original objects only. */
function policies(folder: string, constraint: string): Record<string, string> {
  return {
    [`${folder}/k8sreviewed-template.yaml`]: REVIEWED_TEMPLATE,
    [`${folder}/${constraint}.yaml`]: stringify({
      apiVersion: 'constraints.gatekeeper.sh/v1beta1',
      kind: 'K8sReviewed',
      metadata: { name: constraint },
      spec: { match: { source: 'Original' } },
    }),
  };
}

function clusterConfig(name: string, spec: Record<string, unknown>, apiVersion = 'securitytower.io/v1alpha1'): string {
  return stringify({ apiVersion, kind: 'Cluster', metadata: { name }, spec });
}

function namespace(name: string): string {
  return `apiVersion: v1
kind: Namespace
metadata:
  name: ${name}
`;
}

function deployment(name: string, ns: string, image = 'nginx:1.25.3'): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
    spec:
      containers:
        - name: ${name}
          image: ${image}
`;
}

/** `<file>: <constraint> <message>` for each violation of the cluster. */
function seen(cluster: ClusterReport): string[] {
  expect(cluster.errors).toEqual([]);
  return cluster.violations.map((v) => `${v.location.file}: ${v.constraint} ${v.message}`);
}

function clusterNamed(report: Report, name: string): ClusterReport {
  expect(report.errors).toEqual([]);
  const cluster = report.clusters.find((c) => c.name === name);
  if (!cluster) throw new Error(`no cluster ${name} in the report`);
  return cluster;
}

// Two clusters in one repository, each declaring its folders with spec.manifests, the same Namespace
// and Deployment names in both, and an Application stage that deploys into production.
const TWO_CLUSTERS: Record<string, string> = {
  '.securitytower/staging.yaml': clusterConfig('staging', {
    policies: { path: 'clusters/staging/policies' },
    namespaces: [{ path: 'clusters/staging/namespaces' }],
    manifests: [{ path: 'clusters/staging/apps' }],
  }),
  '.securitytower/production.yaml': clusterConfig('production', {
    policies: { path: 'clusters/production/policies' },
    namespaces: [{ path: 'clusters/production/namespaces' }],
    manifests: [{ path: 'clusters/production/apps' }],
  }),
  '.securitytower/shop.yaml': `apiVersion: securitytower.io/v1alpha1
kind: Application
metadata:
  name: shop
spec:
  stages:
    - name: production
      cluster:
        repository: https://github.com/example-org/fleet.git
        name: production
      resources:
        path: teams/shop/production
      targetNamespace: shop
`,
  ...policies('clusters/staging/policies', 'staging-sees'),
  ...policies('clusters/production/policies', 'production-sees'),
  'clusters/staging/namespaces/shop.yaml': namespace('shop'),
  'clusters/staging/apps/web.yaml': deployment('web', 'shop'),
  'clusters/production/namespaces/shop.yaml': namespace('shop'),
  'clusters/production/apps/web.yaml': deployment('web', 'shop'),
  'clusters/production/apps/worker.yaml': deployment('worker', 'shop'),
  'teams/shop/production/checkout.yaml': deployment('checkout', 'shop'),
};

describe('repository layout', () => {
  describe('a repository with two clusters', () => {
    it('gives each cluster only its own manifests, Namespaces, Application stages and policies', async () => {
      const report = await check(new MemorySource(TWO_CLUSTERS));
      expect(report.clusters.map((c) => c.name)).toEqual(['production', 'staging']);
      expect(seen(clusterNamed(report, 'staging'))).toEqual([
        'clusters/staging/apps/web.yaml: staging-sees Deployment web',
        'clusters/staging/namespaces/shop.yaml: staging-sees Namespace shop',
      ]);
      expect(seen(clusterNamed(report, 'production'))).toEqual([
        'clusters/production/apps/web.yaml: production-sees Deployment web',
        'clusters/production/apps/worker.yaml: production-sees Deployment worker',
        'clusters/production/namespaces/shop.yaml: production-sees Namespace shop',
        // Named by an Application stage, so part of production although outside its manifests folders.
        'teams/shop/production/checkout.yaml: production-sees Deployment checkout',
      ]);
    });

    it('gives a cluster without spec.manifests everything the other clusters do not claim', async () => {
      const report = await check(
        new MemorySource({
          ...TWO_CLUSTERS,
          '.securitytower/platform.yaml': clusterConfig('platform', { policies: { path: 'platform/policies' } }),
          ...policies('platform/policies', 'platform-sees'),
          'platform/ingress-nginx.yaml': deployment('ingress-nginx', 'ingress-nginx'),
          'shared/priorityclass.yaml': `apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: business-critical
value: 100000
`,
        }),
      );
      expect(seen(clusterNamed(report, 'platform'))).toEqual([
        'platform/ingress-nginx.yaml: platform-sees Deployment ingress-nginx',
        'shared/priorityclass.yaml: platform-sees PriorityClass business-critical',
      ]);
      // The other clusters are unchanged: the new files are not theirs.
      expect(seen(clusterNamed(report, 'staging'))).toHaveLength(2);
      expect(seen(clusterNamed(report, 'production'))).toHaveLength(4);
    });

    it('checks only the clusters asked for (--cluster)', async () => {
      const report = await check(new MemorySource(TWO_CLUSTERS), { clusters: ['staging'] });
      expect(report.clusters.map((c) => c.name)).toEqual(['staging']);
    });

    it('refuses a --cluster name the repository does not declare, naming the clusters it has', async () => {
      const report = await check(new MemorySource(TWO_CLUSTERS), { clusters: ['stagin'] });
      expect(report.clusters).toEqual([]);
      expect(report.unknownClusters).toEqual(['stagin']);
      expect(nothingToCheck(report)).toBe('no cluster named stagin (clusters: production, staging)');
    });
  });

  it.each([
    ['.phylake/cluster.yaml', 'phylake.io/v1alpha1'],
    ['.securitytower/cluster.yaml', 'phylake.io/v1alpha1'],
  ])('accepts the product\'s former name: %s with apiVersion %s', async (path, apiVersion) => {
    const report = await check(
      new MemorySource({
        [path]: clusterConfig('legacy', { policies: { path: 'policies' } }, apiVersion),
        ...policies('policies', 'legacy-sees'),
        'apps/web.yaml': deployment('web', 'shop'),
      }),
    );
    expect(seen(clusterNamed(report, 'legacy'))).toEqual(['apps/web.yaml: legacy-sees Deployment web']);
  });

  it('reads a Phylake-era Cluster file without spec.policies.path with its policies in cluster/global/policies, and says so in a notice', async () => {
    const report = await check(
      new MemorySource({
        '.phylake/cluster.yaml': clusterConfig('legacy', { tenant: 'acme' }, 'phylake.io/v1alpha1'),
        ...policies('cluster/global/policies', 'legacy-sees'),
        'cluster/namespaces/shop/web.yaml': deployment('web', 'shop'),
      }),
    );
    const legacy = clusterNamed(report, 'legacy');
    expect(seen(legacy)).toEqual(['cluster/namespaces/shop/web.yaml: legacy-sees Deployment web']);
    expect(legacy.notices).toEqual([
      {
        location: { file: '.phylake/cluster.yaml', line: 2 },
        code: 'cluster-config',
        message: 'Cluster legacy: spec.policies.path is not set: Parapet reads the policies in cluster/global/policies, where Security Tower kept them; set spec.policies.path to name another folder',
      },
    ]);
  });

  it('leaves an Application stage without cluster.name out of the overview with a notice, and never fails the check for it', async () => {
    const application = stringify({
      apiVersion: 'securitytower.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'shop' },
      spec: { stages: [{ name: 'dev', resources: { path: 'apps' } }, { name: 'prod', cluster: { name: 'production' }, resources: { path: 'apps' } }] },
    });
    const report = await check(
      new MemorySource({
        '.securitytower/cluster.yaml': clusterConfig('production', { policies: { path: 'policies' } }),
        '.securitytower/shop.yaml': application,
        ...policies('policies', 'production-sees'),
        'apps/web.yaml': deployment('web', 'shop'),
      }),
    );
    const production = clusterNamed(report, 'production');
    expect(seen(production)).toEqual(['apps/web.yaml: production-sees Deployment web']);
    expect(production.notices?.map((n) => `${n.location.file}:${n.location.line} ${n.code} ${n.message}`)).toEqual([
      ".securitytower/shop.yaml:2 application Application shop: spec.stages[0] (dev) names no cluster.name: the stage is left out of the overview's Applications and stages",
    ]);
    expect(report.config?.applications.map((a) => a.stages.map((s) => s.name))).toEqual([['prod']]);
  });

  it('does not evaluate hidden folders, Helm charts, kustomization.yaml or values files, and finds nothing wrong with them', async () => {
    const report = await check(
      new MemorySource({
        '.securitytower/cluster.yaml': clusterConfig('prod', { policies: { path: 'policies' } }),
        ...policies('policies', 'prod-sees'),
        '.github/workflows/ci.yaml': `name: ci
on: [pull_request]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: npm test
`,
        '.flux/cache.yaml': deployment('hidden', 'shop'),
        'charts/web/Chart.yaml': `apiVersion: v2
name: web
version: 1.2.0
`,
        'charts/web/values.yaml': `image:
  repository: nginx
  tag: latest
`,
        'charts/web/templates/deployment.yaml': `{{- if .Values.enabled }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "web.fullname" . }}
  labels: {{- include "web.labels" . | nindent 4 }}
{{- end }}
`,
        'apps/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [web.yaml]
`,
        'apps/values.yaml': `replicaCount: 2
`,
        'apps/values-production.yaml': `replicaCount: 5
`,
        'apps/web.yaml': deployment('web', 'shop'),
      }),
    );
    const cluster = clusterNamed(report, 'prod');
    expect(seen(cluster)).toEqual(['apps/web.yaml: prod-sees Deployment web']);
    expect(cluster.stats.objects).toBe(1);
  });

  it('reads kustomize patch files as patches, not as second declarations of the objects they patch', async () => {
    const patch = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 5
`;
    const report = await check(
      new MemorySource({
        '.securitytower/cluster.yaml': clusterConfig('prod', { policies: { path: 'policies' } }),
        ...policies('policies', 'prod-sees'),
        'apps/base/web.yaml': deployment('web', 'shop'),
        'apps/base/kustomization.yaml': 'resources: [web.yaml]\n',
        'apps/overlay/kustomization.yaml': `resources: [../base]
patchesStrategicMerge: [replicas.yaml]
patches:
  - path: patches/image.yaml
  - patch: |-
      - op: replace
        path: /spec/replicas
        value: 3
    target: {kind: Deployment}
`,
        'apps/overlay/replicas.yaml': patch,
        'apps/overlay/patches/image.yaml': patch,
      }),
    );
    const cluster = report.clusters[0]!;
    expect(cluster.errors).toEqual([]);
    expect(cluster.violations.map((v) => `${v.location.file}: ${v.message}`)).toEqual(['apps/base/web.yaml: Deployment web']);
  });

  it('needs no configuration beyond the Cluster file for Security Tower\'s single-cluster template layout', async () => {
    const report = await check(fixtureRepo('cluster-template-layout'));
    expect(report.errors).toEqual([]);
    expect(report.clusters).toHaveLength(1);
    const [cluster] = report.clusters;
    expect(cluster!.name).toBe('single-cluster');
    expect(cluster!.errors).toEqual([]);
    // PriorityClass, two Namespaces and three Deployments: no kubeconfig, workflow, certificate or .policy file.
    expect(cluster!.stats).toMatchObject({ objects: 6, constraints: 1 });
    expect(cluster!.violations.map((v) => ({ file: v.location.file, line: v.location.line, object: v.object, message: v.message }))).toEqual([
      {
        file: 'cluster/namespaces/bar/deployment.yaml',
        line: 19, // `image: nginx:latest`
        // The stage's targetNamespace places the Deployment, whose file names no namespace.
        object: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'bar-deployment', namespace: 'bar' },
        message: '[Implied by expand-workloads] container <nginx> uses image nginx:latest without an explicit version',
      },
    ]);
  });
});
