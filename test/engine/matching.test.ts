import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { checkExitCode, type Report, type Violation } from '../../src/engine/index.js';
import { check } from '../helpers/engine.js';
import { constraintOf, regoTemplate } from '../helpers/policy-builders.js';
import { MemorySource } from '../helpers/memory-source.js';

// `spec.match` as Gatekeeper applies it (gatekeeper.md §2.2), through checkRepo on a small cluster:
// three Namespaces, a ClusterRole, and workloads in team-a (namespace from a kustomization), team-b and
// ops-system. The K8sReviewed template reports every object it is evaluated against as
// `<Kind> <namespace>/<name>`, so a constraint's results say exactly what it matched, implied Pods included.

const REVIEWED_REGO = `package k8sreviewed

violation contains {"msg": sprintf("%v %v", [input.review.kind.kind, qualified_name])}

qualified_name := concat("/", [input.review.namespace, input.review.name]) if input.review.namespace
qualified_name := input.review.name if not input.review.namespace
`;

const UNIQUE_HOST_REGO = `package uniqueingresshost

violation contains {"msg": msg} if {
  some rule in input.review.object.spec.rules
  some ns, name
  other := data.inventory.namespace[ns]["networking.k8s.io/v1"].Ingress[name]
  [ns, name] != [input.review.namespace, input.review.name]
  some other_rule in other.spec.rules
  other_rule.host == rule.host
  msg := sprintf("host %v is also served by ingress %v/%v", [rule.host, ns, name])
}
`;

const template = (kind: string, rego: string) => regoTemplate(kind, rego);
const constraint = (name: string, spec: Record<string, unknown>, kind = 'K8sReviewed') => constraintOf(kind, name, spec);

const FILES: Record<string, string> = {
  '.securitytower/cluster.yaml': `apiVersion: securitytower.io/v1alpha1
kind: Cluster
metadata:
  name: prod
spec:
  policies:
    path: cluster/policies
  namespaces:
    - path: cluster/namespaces
`,
  'cluster/policies/k8sreviewed-template.yaml': template('K8sReviewed', REVIEWED_REGO),
  'cluster/namespaces/team-a.yaml': `apiVersion: v1
kind: Namespace
metadata:
  name: team-a
  labels:
    tier: frontend
`,
  'cluster/namespaces/team-b.yaml': `apiVersion: v1
kind: Namespace
metadata:
  name: team-b
  labels:
    tier: backend
`,
  'cluster/namespaces/ops-system.yaml': `apiVersion: v1
kind: Namespace
metadata:
  name: ops-system
  labels:
    tier: platform
`,
  'cluster/global/clusterrole.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: reader
rules:
  - apiGroups: [""]
    resources: ["pods"]
    verbs: ["get", "list"]
`,
  'apps/team-a/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: team-a
resources: [web.yaml, debug.yaml]
`,
  'apps/team-a/web.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: nginx:1.25.3
`,
  'apps/team-a/debug.yaml': `apiVersion: v1
kind: Pod
metadata:
  name: debug
  labels:
    app: debug
spec:
  containers:
    - name: shell
      image: busybox:1.36
`,
  'apps/team-b/api.yaml': `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: api
  namespace: team-b
spec:
  rules:
    - host: api.example.com
`,
  'apps/team-b/cleanup.yaml': `apiVersion: batch/v1
kind: CronJob
metadata:
  name: cleanup
  namespace: team-b
spec:
  schedule: "*/30 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: cleanup
              image: registry.example.com/cleanup:1.4.0
`,
  'apps/ops/node-exporter.yaml': `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-exporter
  namespace: ops-system
spec:
  selector:
    matchLabels:
      app: node-exporter
  template:
    metadata:
      labels:
        app: node-exporter
    spec:
      containers:
        - name: exporter
          image: quay.io/prometheus/node-exporter:v1.8.1
`,
};

function repo(extra: Record<string, string>): MemorySource {
  return new MemorySource({ ...FILES, ...extra });
}

function clean(report: Report): Violation[] {
  expect(report.errors).toEqual([]);
  expect(report.clusters[0]!.errors).toEqual([]);
  return report.clusters[0]!.violations;
}

/** What each constraint was evaluated against, sorted. */
async function reviewedBy(constraints: Record<string, Record<string, unknown>>, extra: Record<string, string> = {}): Promise<Record<string, string[]>> {
  const files: Record<string, string> = { ...extra };
  for (const [name, spec] of Object.entries(constraints)) files[`cluster/policies/${name}.yaml`] = constraint(name, spec);
  // Every result, as Gatekeeper gives them: which objects a constraint reviews, not how `check`
  // folds an implied Pod's result into its workload's.
  const found = clean(await check(repo(files), { everyResult: true }));
  const result: Record<string, string[]> = Object.fromEntries(Object.keys(constraints).map((name) => [name, []]));
  for (const v of found) result[v.constraint]!.push(v.message);
  for (const list of Object.values(result)) list.sort();
  return result;
}

const ORIGINAL = { source: 'Original' };

describe('matching constraints to objects', () => {
  describe('kinds', () => {
    it('matches a kind only within the listed API groups', async () => {
      expect(
        await reviewedBy({
          'apps-workloads': { match: { kinds: [{ apiGroups: ['apps'], kinds: ['Deployment', 'DaemonSet'] }] } },
          'networking-ingress': { match: { kinds: [{ apiGroups: ['networking.k8s.io'], kinds: ['Ingress'] }] } },
          'extensions-ingress': { match: { kinds: [{ apiGroups: ['extensions'], kinds: ['Ingress'] }] } },
          'core-anything': { match: { kinds: [{ apiGroups: [''], kinds: ['*'] }], ...ORIGINAL } },
        }),
      ).toEqual({
        'apps-workloads': ['DaemonSet ops-system/node-exporter', 'Deployment team-a/web'],
        'networking-ingress': ['Ingress team-b/api'],
        'extensions-ingress': [],
        // The core group is "": Namespaces and the bare Pod, but not the ClusterRole (rbac.authorization.k8s.io).
        'core-anything': ['Namespace ops-system', 'Namespace team-a', 'Namespace team-b', 'Pod team-a/debug'],
      });
    });

    it('matches any group when apiGroups is left out, and kinds case-sensitively', async () => {
      expect(
        await reviewedBy({
          'any-group-ingress': { match: { kinds: [{ kinds: ['Ingress'] }] } },
          'lower-case-ingress': { match: { kinds: [{ apiGroups: ['*'], kinds: ['ingress'] }] } },
        }),
      ).toEqual({ 'any-group-ingress': ['Ingress team-b/api'], 'lower-case-ingress': [] });
    });
  });

  it('matches by scope: Namespaces count as cluster-scoped', async () => {
    expect(
      await reviewedBy({
        cluster: { match: { scope: 'Cluster' } },
        namespaced: { match: { scope: 'Namespaced', ...ORIGINAL } },
      }),
    ).toEqual({
      cluster: ['ClusterRole reader', 'Namespace ops-system', 'Namespace team-a', 'Namespace team-b'],
      namespaced: ['CronJob team-b/cleanup', 'DaemonSet ops-system/node-exporter', 'Deployment team-a/web', 'Ingress team-b/api', 'Pod team-a/debug'],
    });
  });

  describe('namespaces and excludedNamespaces', () => {
    it('compares wildcards against the effective namespace, a Namespace\'s own name, and never excludes cluster-scoped objects', async () => {
      expect(
        await reviewedBy({
          'teams-prefix': { match: { namespaces: ['team-*'], ...ORIGINAL } },
          'system-suffix': { match: { namespaces: ['*-system'], ...ORIGINAL } },
          'not-teams': { match: { excludedNamespaces: ['team-*'], ...ORIGINAL } },
        }),
      ).toEqual({
        // web.yaml names no namespace: the kustomization puts it in team-a, and so does matching.
        'teams-prefix': [
          'ClusterRole reader',
          'CronJob team-b/cleanup',
          'Deployment team-a/web',
          'Ingress team-b/api',
          'Namespace team-a',
          'Namespace team-b',
          'Pod team-a/debug',
        ],
        'system-suffix': ['ClusterRole reader', 'DaemonSet ops-system/node-exporter', 'Namespace ops-system'],
        'not-teams': ['ClusterRole reader', 'DaemonSet ops-system/node-exporter', 'Namespace ops-system'],
      });
    });

    it('puts implied Pods in their workload\'s namespace', async () => {
      expect(
        await reviewedBy({
          'team-a-pods': { match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }], namespaces: ['team-a'] } },
        }),
      ).toEqual({ 'team-a-pods': ['Pod team-a/debug', '[Implied by expand-workloads] Pod team-a/web-pod'] });
    });
  });

  it('matches labelSelector against the object\'s labels; an implied Pod carries its pod template\'s labels', async () => {
    expect(
      await reviewedBy({
        'app-web': { match: { labelSelector: { matchLabels: { app: 'web' } } } },
        'has-app-not-web': { match: { kinds: [{ apiGroups: ['', 'apps'], kinds: ['Pod', 'DaemonSet'] }], labelSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }, { key: 'app', operator: 'Exists' }] } } },
      }),
    ).toEqual({
      'app-web': ['Deployment team-a/web', '[Implied by expand-workloads] Pod team-a/web-pod'],
      // The DaemonSet's own metadata has no labels; its pod template has.
      'has-app-not-web': ['Pod team-a/debug', '[Implied by expand-workloads] Pod ops-system/node-exporter-pod'],
    });
  });

  it('matches namespaceSelector against the labels of the repository\'s Namespace manifests', async () => {
    expect(
      await reviewedBy({
        frontend: { match: { namespaceSelector: { matchLabels: { tier: 'frontend' } }, ...ORIGINAL } },
        'not-platform': { match: { kinds: [{ apiGroups: ['apps', 'batch'], kinds: ['*'] }], namespaceSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['platform'] }] } } },
      }),
    ).toEqual({
      // A Namespace is selected by its own labels; a cluster-scoped ClusterRole passes the selector.
      frontend: ['ClusterRole reader', 'Deployment team-a/web', 'Namespace team-a', 'Pod team-a/debug'],
      'not-platform': ['CronJob team-b/cleanup', 'Deployment team-a/web'],
    });
  });

  it('autorejects a namespaced object whose Namespace manifest is missing when a namespaceSelector must be tested', async () => {
    const configMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: orders
data:
  currency: EUR
`;
    const files = {
      'apps/orders/settings.yaml': configMap,
      'cluster/policies/frontend.yaml': constraint('frontend-config', { enforcementAction: 'warn', match: { kinds: [{ apiGroups: [''], kinds: ['ConfigMap'] }], namespaceSelector: { matchLabels: { tier: 'frontend' } } } }),
      'cluster/policies/all-config.yaml': constraint('all-config', { match: { kinds: [{ apiGroups: [''], kinds: ['ConfigMap'] }] } }),
    };
    const report = await check(repo(files));
    const found = clean(report).map((v) => ({ constraint: v.constraint, action: v.enforcementAction, message: v.message, location: v.location }));
    expect(found).toEqual([
      // Without a namespaceSelector the missing Namespace does not matter.
      { constraint: 'all-config', action: 'deny', message: 'ConfigMap orders/settings', location: { file: 'apps/orders/settings.yaml', line: 2 } },
      {
        constraint: 'frontend-config',
        // The autorejection carries the constraint's enforcementAction.
        action: 'warn',
        message:
          'unable to match constraints: error matching the requested object: settings :failed to run Match criteria: namespace selector for namespace-scoped object but missing Namespace',
        location: { file: 'apps/orders/settings.yaml', line: 2 },
      },
    ]);
  });

  it('selects Namespaces by the kubernetes.io/metadata.name label the API server gives every Namespace', async () => {
    expect(
      await reviewedBy({
        'team-a-only': { match: { kinds: [{ apiGroups: ['apps'], kinds: ['Deployment'] }], namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'team-a' } } } },
      }),
    ).toEqual({ 'team-a-only': ['Deployment team-a/web'] });
  });

  it('knows the namespaces every cluster has (default, kube-system...) without their manifests', async () => {
    const inDefault = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  currency: EUR
`;
    const report = await check(
      repo({
        'apps/settings.yaml': inDefault,
        'cluster/policies/not-kube.yaml': constraint('not-kube', {
          match: { kinds: [{ apiGroups: [''], kinds: ['ConfigMap'] }], namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] }] } },
        }),
      }),
    );
    // No autorejection: `default` exists in every cluster, so its selector is simply tested.
    expect(clean(report).map((v) => `${v.constraint}: ${v.message}`)).toEqual(['not-kube: ConfigMap default/settings']);
  });

  it('matches name wildcards, including the <workload>-pod name Gatekeeper gives implied Pods', async () => {
    expect(
      await reviewedBy({
        'node-prefix': { match: { name: 'node-*' } },
        'pod-suffix': { match: { name: '*-pod' } },
        'exact-web': { match: { name: 'web' } },
      }),
    ).toEqual({
      'node-prefix': ['DaemonSet ops-system/node-exporter', '[Implied by expand-workloads] Pod ops-system/node-exporter-pod'],
      'pod-suffix': [
        '[Implied by expand-cronjobs] Pod team-b/cleanup-pod',
        '[Implied by expand-workloads] Pod ops-system/node-exporter-pod',
        '[Implied by expand-workloads] Pod team-a/web-pod',
      ],
      'exact-web': ['Deployment team-a/web'],
    });
  });

  it('matches source: Original for objects in the repository and Generated for implied ones', async () => {
    const pods = [{ apiGroups: [''], kinds: ['Pod'] }];
    expect(
      await reviewedBy({
        'original-pods': { match: { kinds: pods, source: 'Original' } },
        'generated-pods': { match: { kinds: pods, source: 'Generated' } },
        'all-pods': { match: { kinds: pods, source: 'All' } },
      }),
    ).toEqual({
      'original-pods': ['Pod team-a/debug'],
      'generated-pods': [
        '[Implied by expand-cronjobs] Pod team-b/cleanup-pod',
        '[Implied by expand-workloads] Pod ops-system/node-exporter-pod',
        '[Implied by expand-workloads] Pod team-a/web-pod',
      ],
      'all-pods': [
        'Pod team-a/debug',
        '[Implied by expand-cronjobs] Pod team-b/cleanup-pod',
        '[Implied by expand-workloads] Pod ops-system/node-exporter-pod',
        '[Implied by expand-workloads] Pod team-a/web-pod',
      ],
    });
  });

  describe('enforcementAction', () => {
    const ingress = { kinds: [{ apiGroups: ['networking.k8s.io'], kinds: ['Ingress'] }] };

    async function actionsOf(spec: Record<string, unknown>): Promise<{ actions: string[]; exitCode: number }> {
      const report = await check(repo({ 'cluster/policies/ingress.yaml': constraint('ingress', { match: ingress, ...spec }) }));
      return { actions: clean(report).map((v) => v.enforcementAction), exitCode: checkExitCode(report) };
    }

    it.each([
      ['absent', {}, ['deny'], 1],
      ['deny', { enforcementAction: 'deny' }, ['deny'], 1],
      ['warn', { enforcementAction: 'warn' }, ['warn'], 0],
      ['dryrun', { enforcementAction: 'dryrun' }, ['dryrun'], 0],
    ])('reports %s results with that action; only deny blocks', async (_name, spec, actions, exitCode) => {
      expect(await actionsOf(spec)).toEqual({ actions, exitCode });
    });

    const scoped = (...entries: Array<[string, string[]]>) => ({
      enforcementAction: 'scoped',
      scopedEnforcementActions: entries.map(([action, points]) => ({ action, enforcementPoints: points.map((name) => ({ name })) })),
    });

    it.each([
      ['the webhook\'s action (validation.gatekeeper.sh)', scoped(['warn', ['validation.gatekeeper.sh']]), ['warn'], 0],
      ['the action for every point (*)', scoped(['deny', ['*']]), ['deny'], 1],
      ['the webhook\'s action, whatever audit does', scoped(['warn', ['validation.gatekeeper.sh']], ['deny', ['audit.gatekeeper.sh']]), ['warn'], 0],
      ['the most severe of the webhook\'s actions', scoped(['warn', ['validation.gatekeeper.sh']], ['deny', ['validation.gatekeeper.sh']]), ['deny'], 1],
      // Audit still lists these results in the cluster, but nothing is ever rejected.
      ['dryrun when only audit runs the constraint', scoped(['deny', ['audit.gatekeeper.sh']]), ['dryrun'], 0],
      // Neither the webhook nor audit runs it in the cluster.
      ['nothing when only gator runs the constraint', scoped(['deny', ['gator.gatekeeper.sh']]), [], 0],
    ])('reports a scoped constraint with %s', async (_name, spec, actions, exitCode) => {
      expect(await actionsOf(spec)).toEqual({ actions, exitCode });
    });
  });

  describe('the Gatekeeper Config in the policies folder', () => {
    const config = (processes: string[]) =>
      stringify({
        apiVersion: 'config.gatekeeper.sh/v1alpha1',
        kind: 'Config',
        metadata: { name: 'config', namespace: 'gatekeeper-system' },
        // It syncs Ingresses, as the referential template below needs (without, the inventory is empty).
        spec: { match: [{ excludedNamespaces: ['team-b'], processes }], sync: { syncOnly: [{ group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' }] } },
      });

    it('does not review objects in a namespace excluded from the webhook, nor that Namespace itself', async () => {
      expect(
        await reviewedBy({ everything: { match: ORIGINAL } }, { 'cluster/policies/config.yaml': config(['webhook']) }),
      ).toEqual({
        everything: ['ClusterRole reader', 'DaemonSet ops-system/node-exporter', 'Deployment team-a/web', 'Namespace ops-system', 'Namespace team-a', 'Pod team-a/debug'],
      });
    });

    it('keeps objects of a namespace excluded from sync out of data.inventory, so a referential template no longer sees them', async () => {
      const ingress = (namespace: string) => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop
  namespace: ${namespace}
spec:
  rules:
    - host: shop.example.com
`;
      const files = {
        'cluster/policies/uniqueingresshost-template.yaml': template('UniqueIngressHost', UNIQUE_HOST_REGO),
        'cluster/policies/unique-host.yaml': constraint('unique-host', { match: { kinds: [{ apiGroups: ['networking.k8s.io'], kinds: ['Ingress'] }] } }, 'UniqueIngressHost'),
        // A kustomization applies only what it lists.
        'apps/team-a/kustomization.yaml': 'namespace: team-a\nresources: [web.yaml, debug.yaml, shop.yaml]\n',
        'apps/team-a/shop.yaml': ingress('team-a'),
        'apps/team-b/shop.yaml': ingress('team-b'),
      };
      const messages = async (extra: Record<string, string>) => clean(await check(repo({ ...files, ...extra }))).map((v) => `${v.location.file}: ${v.message}`);

      expect(await messages({})).toEqual([
        'apps/team-a/shop.yaml: host shop.example.com is also served by ingress team-b/shop',
        'apps/team-b/shop.yaml: host shop.example.com is also served by ingress team-a/shop',
      ]);
      // team-b's Ingress is still reviewed (sync is not the webhook), but nobody sees it in the inventory.
      expect(await messages({ 'cluster/policies/config.yaml': config(['sync']) })).toEqual([
        'apps/team-b/shop.yaml: host shop.example.com is also served by ingress team-a/shop',
      ]);
      // `*` is every process: team-b is neither reviewed nor synced.
      expect(await messages({ 'cluster/policies/config.yaml': config(['*']) })).toEqual([]);
    });
  });
});
