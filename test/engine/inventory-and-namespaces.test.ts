import { beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/engine/index.js';
import { check } from '../helpers/engine.js';
import { constraintOf, regoTemplate } from '../helpers/policy-builders.js';
import { MemorySource } from '../helpers/memory-source.js';

// What templates see: every namespaced object gets the namespace the cluster would give it
// (gatekeeper.md §7), `data.inventory` holds the cluster in Gatekeeper's layout (§1.4), and
// `input.review` has the JSON shape of an audited AdmissionRequest (§1.3). Probe templates report what
// they see as their messages.

const WHERE_REGO = `package whereprobe

violation contains {"msg": msg} if {
  msg := sprintf("%v %v: review.namespace=%v metadata.namespace=%v", [
    input.review.kind.kind,
    input.review.name,
    object.get(input.review, "namespace", "<none>"),
    object.get(input.review.object.metadata, "namespace", "<none>"),
  ])
}
`;

const INVENTORY_REGO = `package inventoryprobe

violation contains {"msg": sprintf("cluster %v %v %v", [gv, kind, name])} if {
  some gv, kind, name
  data.inventory.cluster[gv][kind][name]
}

violation contains {"msg": sprintf("namespace %v %v %v %v", [ns, gv, kind, name])} if {
  some ns, gv, kind, name
  data.inventory.namespace[ns][gv][kind][name]
}

violation contains {"msg": sprintf("stored %v", [data.inventory.namespace.kustomized.v1.ConfigMap["kustomized-config"]])}
`;

const REVIEW_REGO = `package reviewprobe

violation contains {"msg": sprintf("keys=%v", [{k | some k, _ in input.review}])}

violation contains {"msg": msg} if {
  r := input.review
  msg := sprintf("uid=%v operation=%v userInfo=%v oldObject=%v resource=%v kind=%v", [[r.uid], [r.operation], r.userInfo, [r.oldObject], r.resource, r.kind])
}

violation contains {"msg": sprintf("namespaceObject.metadata=%v", [input.review.namespaceObject.metadata])} if input.review.namespaceObject
`;

const template = (kind: string, rego: string) => regoTemplate(kind, rego);
const constraint = (kind: string, name: string, match: Record<string, unknown>) => constraintOf(kind, name, { match });

function configMap(name: string, namespace?: string): string {
  return `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
${namespace ? `  namespace: ${namespace}\n` : ''}data:
  key: value
`;
}

function crd(plural: string, kind: string, scope: 'Cluster' | 'Namespaced'): string {
  return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${plural}.example.com
spec:
  group: example.com
  names:
    kind: ${kind}
    plural: ${plural}
  scope: ${scope}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
`;
}

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
  '.securitytower/shop.yaml': `apiVersion: securitytower.io/v1alpha1
kind: Application
metadata:
  name: shop
spec:
  stages:
    - name: stage
      cluster:
        name: prod
      resources:
        path: apps/stage
      targetNamespace: shop-stage
`,
  'cluster/policies/probes.yaml': [
    template('WhereProbe', WHERE_REGO),
    template('InventoryProbe', INVENTORY_REGO),
    template('ReviewProbe', REVIEW_REGO),
    constraint('WhereProbe', 'where', { source: 'Original' }),
    constraint('InventoryProbe', 'inventory', { name: 'inventory-probe' }),
    constraint('ReviewProbe', 'namespaced-with-manifest', { name: 'settings' }),
    constraint('ReviewProbe', 'namespaced-without-manifest', { name: 'kustomized-config' }),
    constraint('ReviewProbe', 'builtin-namespace', { name: 'plain' }),
    constraint('ReviewProbe', 'cluster-scoped', { name: 'reader' }),
  ].join('---\n'),
  'cluster/namespaces/shop.yaml': `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    team: shop
`,
  // The API server drops a namespace written on a cluster-scoped object.
  'cluster/global/reader.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: reader
  namespace: shop
rules: []
`,
  'cluster/global/crds.yaml': `${crd('backuppolicies', 'BackupPolicy', 'Cluster')}---\n${crd('widgets', 'Widget', 'Namespaced')}`,
  'apps/custom.yaml': `apiVersion: example.com/v1
kind: BackupPolicy
metadata:
  name: nightly
  namespace: shop
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: gear
`,
  // kustomize's `namespace:` wins over what the manifest says.
  'apps/kustomized/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: kustomized
resources: [config.yaml]
`,
  'apps/kustomized/config.yaml': configMap('kustomized-config', 'other'),
  // Flux applies apps/flux with targetNamespace.
  'clusters/prod/apps.yaml': `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps/flux
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  targetNamespace: fluxed
`,
  'apps/flux/config.yaml': configMap('flux-config'),
  // The Application stage's targetNamespace is only a default: a written namespace wins.
  'apps/stage/config.yaml': configMap('stage-config'),
  'apps/stage/settings.yaml': configMap('settings', 'shop'),
  'apps/plain/config.yaml': configMap('plain'),
  'apps/plain/probe.yaml': configMap('inventory-probe'),
};

describe('inventory and namespaces', () => {
  let report: Report;
  const messages = (constraint: string) =>
    report.clusters[0]!.violations
      .filter((v) => v.constraint === constraint)
      .map((v) => v.message)
      .sort();

  beforeAll(async () => {
    report = await check(new MemorySource(FILES));
    expect(report.errors).toEqual([]);
    expect(report.clusters[0]!.errors).toEqual([]);
  });

  it('gives objects without metadata.namespace the effective namespace, and cluster-scoped kinds none', () => {
    expect(messages('where')).toEqual([
      // A CRD declared in the repository with scope: Cluster makes its kind cluster-scoped...
      'BackupPolicy nightly: review.namespace=<none> metadata.namespace=<none>',
      'ClusterRole reader: review.namespace=<none> metadata.namespace=<none>',
      'ConfigMap flux-config: review.namespace=fluxed metadata.namespace=fluxed',
      'ConfigMap inventory-probe: review.namespace=default metadata.namespace=default',
      'ConfigMap kustomized-config: review.namespace=kustomized metadata.namespace=kustomized',
      'ConfigMap plain: review.namespace=default metadata.namespace=default',
      'ConfigMap settings: review.namespace=shop metadata.namespace=shop',
      'ConfigMap stage-config: review.namespace=shop-stage metadata.namespace=shop-stage',
      'CustomResourceDefinition backuppolicies.example.com: review.namespace=<none> metadata.namespace=<none>',
      'CustomResourceDefinition widgets.example.com: review.namespace=<none> metadata.namespace=<none>',
      'Kustomization apps: review.namespace=flux-system metadata.namespace=flux-system',
      'Namespace shop: review.namespace=<none> metadata.namespace=<none>',
      // ...and one with scope: Namespaced keeps its kind namespaced.
      'Widget gear: review.namespace=default metadata.namespace=default',
    ]);
  });

  it('warns on the line of a namespace written on a cluster-scoped kind, which the API server drops before Gatekeeper sees it', () => {
    expect(report.clusters[0]!.warnings?.filter((w) => w.code === 'ignored-field')).toEqual([
      {
        location: { file: 'apps/custom.yaml', line: 5 },
        code: 'ignored-field',
        message: 'BackupPolicy is cluster-scoped: the API server drops its metadata.namespace (shop) before Gatekeeper reviews it, so Parapet judges it without a namespace',
      },
      {
        location: { file: 'cluster/global/reader.yaml', line: 5 },
        code: 'ignored-field',
        message: 'ClusterRole is cluster-scoped: the API server drops its metadata.namespace (shop) before Gatekeeper reviews it, so Parapet judges it without a namespace',
      },
    ]);
  });

  it('reports objects with their effective namespace', () => {
    const refs = report.clusters[0]!.violations.filter((v) => v.constraint === 'where').map((v) => `${v.object.kind}/${v.object.name} ${v.object.namespace ?? '-'}`);
    expect(refs).toContain('ConfigMap/kustomized-config kustomized');
    expect(refs).toContain('ClusterRole/reader -');
  });

  it('stores data.inventory in Gatekeeper\'s layout: cluster[groupVersion][kind][name] and namespace[ns][groupVersion][kind][name]', () => {
    expect(messages('inventory').filter((m) => !m.startsWith('stored'))).toEqual([
      'cluster apiextensions.k8s.io/v1 CustomResourceDefinition backuppolicies.example.com',
      'cluster apiextensions.k8s.io/v1 CustomResourceDefinition widgets.example.com',
      'cluster example.com/v1 BackupPolicy nightly',
      'cluster rbac.authorization.k8s.io/v1 ClusterRole reader',
      // Namespaces every cluster has are there even though the repository does not declare them.
      'cluster v1 Namespace default',
      'cluster v1 Namespace kube-node-lease',
      'cluster v1 Namespace kube-public',
      'cluster v1 Namespace kube-system',
      'cluster v1 Namespace shop',
      'namespace default example.com/v1 Widget gear',
      // Audit semantics: the object under review is part of the inventory too.
      'namespace default v1 ConfigMap inventory-probe',
      'namespace default v1 ConfigMap plain',
      'namespace flux-system kustomize.toolkit.fluxcd.io/v1 Kustomization apps',
      'namespace fluxed v1 ConfigMap flux-config',
      'namespace kustomized v1 ConfigMap kustomized-config',
      'namespace shop v1 ConfigMap settings',
      'namespace shop-stage v1 ConfigMap stage-config',
    ]);
  });

  it('holds only the kinds Gatekeeper syncs when the policies hold its Config or SyncSets: spec.sync.syncOnly and spec.gvks', async () => {
    const synced = await check(
      new MemorySource({
        ...FILES,
        'cluster/policies/config.yaml': `apiVersion: config.gatekeeper.sh/v1alpha1
kind: Config
metadata:
  name: config
  namespace: gatekeeper-system
spec:
  sync:
    syncOnly:
      - version: v1
        kind: ConfigMap
`,
        'cluster/policies/syncset.yaml': `apiVersion: syncset.gatekeeper.sh/v1alpha1
kind: SyncSet
metadata:
  name: rbac
spec:
  gvks:
    - group: rbac.authorization.k8s.io
      version: v1
      kind: ClusterRole
`,
      }),
    );
    expect(synced.clusters[0]!.errors).toEqual([]);
    const seen = synced.clusters[0]!.violations.filter((v) => v.constraint === 'inventory' && !v.message.startsWith('stored')).map((v) => v.message);
    expect(seen.sort()).toEqual([
      'cluster rbac.authorization.k8s.io/v1 ClusterRole reader',
      // Namespaces, built in or not, are not synced: Gatekeeper has none of them either.
      'namespace default v1 ConfigMap inventory-probe',
      'namespace default v1 ConfigMap plain',
      'namespace fluxed v1 ConfigMap flux-config',
      'namespace kustomized v1 ConfigMap kustomized-config',
      'namespace shop v1 ConfigMap settings',
      'namespace shop-stage v1 ConfigMap stage-config',
    ]);
  });

  it('refuses a syncOnly that is not a list of kinds, on the Config', async () => {
    const wrong = await check(
      new MemorySource({
        ...FILES,
        'cluster/policies/config.yaml': `apiVersion: config.gatekeeper.sh/v1alpha1
kind: Config
metadata:
  name: config
spec:
  sync:
    syncOnly:
      kind: ConfigMap
`,
      }),
    );
    expect(wrong.clusters[0]!.errors.filter((e) => e.code === 'gatekeeper-config')).toEqual([
      { location: { file: 'cluster/policies/config.yaml', line: 2 }, code: 'gatekeeper-config', message: 'spec.sync.syncOnly: Invalid value: "object": spec.sync.syncOnly in body must be of type array: "object"' },
    ]);
  });

  it('stores the whole object, with its effective namespace', () => {
    expect(messages('inventory').filter((m) => m.startsWith('stored'))).toEqual([
      'stored {"apiVersion": "v1", "data": {"key": "value"}, "kind": "ConfigMap", "metadata": {"name": "kustomized-config", "namespace": "kustomized"}}',
    ]);
  });

  describe('input.review', () => {
    const AUDIT_FIELDS = 'uid=[""] operation=[""] userInfo={} oldObject=[null] resource={"group": "", "resource": "", "version": ""}';

    it('has the shape of an audited AdmissionRequest, with namespaceObject for a namespaced object whose Namespace is in the repository', () => {
      expect(messages('namespaced-with-manifest')).toEqual([
        'keys={"kind", "name", "namespace", "namespaceObject", "object", "oldObject", "operation", "options", "resource", "uid", "userInfo"}',
        // The API server labels every Namespace with its name.
        'namespaceObject.metadata={"labels": {"kubernetes.io/metadata.name": "shop", "team": "shop"}, "name": "shop"}',
        `${AUDIT_FIELDS} kind={"group": "", "kind": "ConfigMap", "version": "v1"}`,
      ]);
    });

    it('has no namespaceObject when the repository has no manifest for the namespace', () => {
      expect(messages('namespaced-without-manifest')).toEqual([
        'keys={"kind", "name", "namespace", "object", "oldObject", "operation", "options", "resource", "uid", "userInfo"}',
        `${AUDIT_FIELDS} kind={"group": "", "kind": "ConfigMap", "version": "v1"}`,
      ]);
    });

    it('has the namespaceObject of a namespace every cluster has, such as default, without a manifest', () => {
      expect(messages('builtin-namespace')).toEqual([
        'keys={"kind", "name", "namespace", "namespaceObject", "object", "oldObject", "operation", "options", "resource", "uid", "userInfo"}',
        'namespaceObject.metadata={"labels": {"kubernetes.io/metadata.name": "default"}, "name": "default"}',
        `${AUDIT_FIELDS} kind={"group": "", "kind": "ConfigMap", "version": "v1"}`,
      ]);
    });

    it('has neither namespace nor namespaceObject for a cluster-scoped object, and the group of its apiVersion', () => {
      expect(messages('cluster-scoped')).toEqual([
        'keys={"kind", "name", "object", "oldObject", "operation", "options", "resource", "uid", "userInfo"}',
        `${AUDIT_FIELDS} kind={"group": "rbac.authorization.k8s.io", "kind": "ClusterRole", "version": "v1"}`,
      ]);
    });
  });
});
