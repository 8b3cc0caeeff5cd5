import { describe, expect, it } from 'vitest';
import type { Violation } from '../../src/engine/index.js';
import { check, fixtureRepo } from '../helpers/engine.js';
import { MemorySource } from '../helpers/memory-source.js';
import { clusterConfig } from '../helpers/policy-builders.js';

// The shop-cluster fixture is a Security Tower repository: one Cluster, an Application with two
// stages, Namespace manifests, four policies, and workloads that exercise every acceptance level.
const summary = (v: Violation) => ({
  file: v.location.file,
  line: v.location.line,
  policy: v.policy,
  action: v.enforcementAction,
  message: v.message,
  accepted: v.acceptance ? `${v.acceptance.level}: ${v.acceptance.reason.split('\n')[0]}` : null,
});

describe('checking a Security Tower repository', () => {
  it('reports every violation on the line it is about, with Gatekeeper messages and acceptances', async () => {
    const report = await check(fixtureRepo('shop-cluster'));
    expect(report.errors).toEqual([]);
    expect(report.clusters).toHaveLength(1);
    const [cluster] = report.clusters;
    expect(cluster!.name).toBe('shop-prod');
    expect(cluster!.config).toBe('.securitytower/cluster.yaml');
    expect(cluster!.errors).toEqual([]);
    expect(cluster!.violations.map(summary)).toEqual([
      {
        file: 'cluster/namespaces/legacy/replicaset.yaml',
        line: 44,
        policy: 'preventprivileged',
        action: 'deny',
        message: '[Implied by expand-workloads] Privileged container is not allowed: gdb, securityContext: {"privileged": true}',
        accepted: 'owner: Attaches to other processes for incident response.',
      },
      {
        file: 'cluster/namespaces/legacy/tools.yaml',
        line: 17,
        policy: 'enforceimageversion',
        action: 'warn',
        message: '[Implied by expand-workloads] container <shell> uses image registry.example.com/tools/toolbox without an explicit version',
        accepted: 'namespace: Legacy tools are pinned by digest in the mirror; tags are not used here.',
      },
      {
        file: 'cluster/namespaces/payments/deployment.yaml',
        line: 6,
        policy: 'k8srequiredlabels',
        action: 'dryrun',
        message: 'you must provide labels: {"cost-center", "owner"}',
        accepted: null,
      },
      {
        file: 'cluster/namespaces/payments/deployment.yaml',
        line: 28,
        policy: 'preventprivileged',
        action: 'deny',
        message: '[Implied by expand-workloads] Privileged container is not allowed: card-reader, securityContext: {"privileged": true}',
        accepted: 'podTemplate: The card-reader sidecar needs device access; vendor ticket VEND-1234',
      },
      {
        file: 'cluster/namespaces/payments/ingress.yaml',
        line: 8,
        policy: 'uniqueingresshost',
        action: 'deny',
        message: 'ingress host conflicts with an existing ingress <shop/storefront>: shop.example.com',
        accepted: null,
      },
      {
        file: 'cluster/namespaces/payments/node-agent.yaml',
        line: 32,
        policy: 'preventprivileged',
        action: 'deny',
        message: '[Implied by expand-workloads] Privileged container is not allowed: agent, securityContext: {"privileged": true}',
        accepted: 'object: Reads host devices to attest the node.',
      },
      {
        file: 'cluster/namespaces/shop/cronjob.yaml',
        line: 14,
        policy: 'enforceimageversion',
        action: 'warn',
        message: '[Implied by expand-cronjobs] container <prepare> uses image busybox without an explicit version',
        accepted: null,
      },
      {
        file: 'cluster/namespaces/shop/cronjob.yaml',
        line: 16,
        policy: 'preventprivileged',
        action: 'deny',
        message: '[Implied by expand-cronjobs] Privileged container is not allowed: prepare, securityContext: {"privileged": true}',
        accepted: null,
      },
      {
        file: 'cluster/namespaces/shop/deployment.yaml',
        line: 23,
        policy: 'preventprivileged',
        action: 'deny',
        message: '[Implied by expand-workloads] Privileged container is not allowed: web, securityContext: {"privileged": true}',
        accepted: null,
      },
      {
        file: 'cluster/namespaces/shop/deployment.yaml',
        line: 25,
        policy: 'enforceimageversion',
        action: 'warn',
        message: '[Implied by expand-workloads] container <metrics> uses image registry.example.com/tools/exporter:latest without an explicit version',
        accepted: null,
      },
      {
        file: 'cluster/namespaces/shop/ingress.yaml',
        line: 7,
        policy: 'uniqueingresshost',
        action: 'deny',
        message: 'ingress host conflicts with an existing ingress <payments/payments>: shop.example.com',
        accepted: null,
      },
    ]);
  });

  it('reports a workload in the file, with the namespace the cluster would give it', async () => {
    const report = await check(fixtureRepo('shop-cluster'));
    const cronjob = report.clusters[0]!.violations.find((v) => v.location.file.endsWith('cronjob.yaml'))!;
    // The stage's targetNamespace applies: the file names none.
    expect(cronjob.object).toEqual({ apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly-report', namespace: 'shop' });
    const tools = report.clusters[0]!.violations.find((v) => v.location.file.endsWith('tools.yaml'))!;
    // The kustomization's `namespace:` overrides what the manifest says.
    expect(tools.object.namespace).toBe('legacy');
  });

  it('locates an acceptance on the line of its annotation', async () => {
    const report = await check(fixtureRepo('shop-cluster'));
    const accepted = report.clusters[0]!.violations.filter((v) => v.acceptance).map((v) => v.acceptance!);
    expect(accepted.map((a) => [a.level, a.location.file, a.location.line, a.annotation])).toEqual([
      ['owner', 'cluster/namespaces/legacy/replicaset.yaml', 8, 'securitytower.io/policy.exclusion.preventprivileged'],
      ['namespace', 'cluster/global/namespace-specs/legacy/namespace.yaml', 8, 'securitytower.io/policy.exclusion.enforceimageversion'],
      ['podTemplate', 'cluster/namespaces/payments/deployment.yaml', 18, 'securitytower.io/policy.exclusion.preventprivileged'],
      ['object', 'cluster/namespaces/payments/node-agent.yaml', 17, 'securitytower.io/policy.exclusion.preventprivileged'],
    ]);
  });

  it('lists the image of an ephemeral container too (a debug container added to a Pod)', async () => {
    const report = await check(
      new MemorySource({
        '.securitytower/cluster.yaml': clusterConfig(),
        'cluster/policies/.keep.yaml': '',
        'cluster/namespaces/shop/checkout.yaml': `apiVersion: v1
kind: Pod
metadata:
  name: checkout
  namespace: shop
spec:
  containers:
    - name: app
      image: ghcr.io/acme/checkout:2.4.1
  ephemeralContainers:
    - name: debugger
      image: busybox:1.36
      targetContainerName: app
`,
      }),
    );
    const images = report.clusters[0]!.images.map((i) => `${i.location.line} ${i.containerType}/${i.container} ${i.image}`);
    expect(images).toEqual(['9 containers/app ghcr.io/acme/checkout:2.4.1', '12 ephemeralContainers/debugger busybox:1.36']);
  });

  it('lists the image of every container, init container included, with its workload and line', async () => {
    const report = await check(fixtureRepo('shop-cluster'));
    const images = report.clusters[0]!.images.map((i) => `${i.location.file}:${i.location.line} ${i.workload.kind}/${i.workload.name} ${i.namespace ?? '-'} ${i.containerType}/${i.container} ${i.image}`);
    expect(images).toContain('cluster/namespaces/shop/cronjob.yaml:14 CronJob/nightly-report shop initContainers/prepare busybox');
    expect(images).toContain('cluster/namespaces/shop/deployment.yaml:25 Deployment/storefront shop containers/metrics registry.example.com/tools/exporter:latest');
    expect(images).toContain('cluster/namespaces/legacy/tools.yaml:17 Deployment/toolbox legacy containers/shell registry.example.com/tools/toolbox');
    // Workloads only: Services, Ingresses and Namespaces run no images.
    expect(new Set(report.clusters[0]!.images.map((i) => i.workload.kind))).toEqual(new Set(['Deployment', 'CronJob', 'DaemonSet', 'ReplicaSet']));
  });
});
