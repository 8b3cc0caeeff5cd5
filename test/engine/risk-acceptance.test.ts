import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { checkExitCode, type Report, type Violation } from '../../src/engine/index.js';
import { check } from '../helpers/engine.js';
import { clusterConfig } from '../helpers/policy-builders.js';
import { MemorySource } from '../helpers/memory-source.js';

// Risk acceptances (security-tower.md §4): `securitytower.io/policy.exclusion.<policy>: <reason>` on the
// object, its pod template, its Namespace or an owner up to two levels up. Every repository here has one
// cluster whose PreventPrivileged constraint checks Pods, so workloads are judged through the Pod they
// imply, exactly as Gatekeeper's expansion does.

const CLUSTER = clusterConfig({ namespaces: 'cluster/namespaces' });

const PREVENT_PRIVILEGED_REGO = `package preventprivileged

violation contains {"msg": msg} if {
  some c in input.review.object.spec.containers
  c.securityContext.privileged == true
  msg := sprintf("container <%v> is privileged", [c.name])
}
`;

function preventPrivilegedTemplate(schema: Record<string, unknown> | undefined = { ignoreRiskAcceptances: { type: 'boolean' } }): string {
  return stringify({
    apiVersion: 'templates.gatekeeper.sh/v1',
    kind: 'ConstraintTemplate',
    metadata: { name: 'preventprivileged' },
    spec: {
      crd: { spec: { names: { kind: 'PreventPrivileged' }, ...(schema ? { validation: { openAPIV3Schema: { type: 'object', properties: schema } } } : {}) } },
      targets: [{ target: 'admission.k8s.gatekeeper.sh', code: [{ engine: 'Rego', source: { version: 'v1', rego: PREVENT_PRIVILEGED_REGO } }] }],
    },
  });
}

function preventPrivilegedConstraint(spec: Record<string, unknown> = {}): string {
  return stringify({
    apiVersion: 'constraints.gatekeeper.sh/v1beta1',
    kind: 'PreventPrivileged',
    metadata: { name: 'no-privileged-pods' },
    spec: { match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] }, ...spec },
  });
}

const SHOP_NAMESPACE = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
`;

/** A repository with the policy, the `shop` Namespace, and the given manifests. */
function repo(manifests: Record<string, string>, policies: { template?: string; constraint?: string } = {}): MemorySource {
  return new MemorySource({
    '.securitytower/cluster.yaml': CLUSTER,
    'cluster/policies/preventprivileged-template.yaml': policies.template ?? preventPrivilegedTemplate(),
    'cluster/policies/preventprivileged-constraint.yaml': policies.constraint ?? preventPrivilegedConstraint(),
    'cluster/namespaces/shop.yaml': SHOP_NAMESPACE,
    ...manifests,
  });
}

/** The 1-based line of the first line of `text` that contains `needle`. */
function lineOf(text: string, needle: string): number {
  const index = text.split('\n').findIndex((line) => line.includes(needle));
  if (index < 0) throw new Error(`${needle} is not in the text`);
  return index + 1;
}

function violations(report: Report): Violation[] {
  expect(report.errors).toEqual([]);
  expect(report.clusters[0]!.errors).toEqual([]);
  return report.clusters[0]!.violations;
}

function only(report: Report): Violation {
  const found = violations(report);
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** A Deployment in `shop` with one privileged container; `annotations` go on its own metadata. */
function deployment(options: { annotations?: string; podAnnotations?: string } = {}): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
${options.annotations ? `  annotations:\n${options.annotations}\n` : ''}spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
${options.podAnnotations ? `      annotations:\n${options.podAnnotations}\n` : ''}    spec:
      containers:
        - name: web
          image: nginx:1.25.3
          securityContext:
            privileged: true
`;
}

describe('risk acceptances', () => {
  describe('levels', () => {
    it('accepts on the object: the Deployment\'s own metadata', async () => {
      const web = deployment({ annotations: '    securitytower.io/policy.exclusion.preventprivileged: Needs raw sockets for packet capture.' });
      const violation = only(await check(repo({ 'apps/web.yaml': web })));
      expect(violation.message).toBe('[Implied by expand-workloads] container <web> is privileged');
      expect(violation.acceptance).toEqual({
        level: 'object',
        reason: 'Needs raw sockets for packet capture.',
        annotation: 'securitytower.io/policy.exclusion.preventprivileged',
        location: { file: 'apps/web.yaml', line: lineOf(web, 'policy.exclusion') },
      });
      expect(violation.location).toEqual({ file: 'apps/web.yaml', line: lineOf(web, 'privileged: true') });
    });

    it('accepts on the pod template of a Deployment', async () => {
      const web = deployment({ podAnnotations: '        securitytower.io/policy.exclusion.preventprivileged: The vendor image only runs privileged.' });
      expect(only(await check(repo({ 'apps/web.yaml': web }))).acceptance).toMatchObject({
        level: 'podTemplate',
        reason: 'The vendor image only runs privileged.',
        location: { file: 'apps/web.yaml', line: lineOf(web, 'policy.exclusion') },
      });
    });

    it('accepts on the pod template of a CronJob, under spec.jobTemplate.spec.template', async () => {
      const cronjob = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: backup
  namespace: shop
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        metadata:
          annotations:
            securitytower.io/policy.exclusion.preventprivileged: |-
              Snapshots the node's block device.
        spec:
          restartPolicy: OnFailure
          containers:
            - name: snapshot
              image: registry.example.com/backup:2.0.1
              securityContext:
                privileged: true
`;
      const violation = only(await check(repo({ 'apps/backup.yaml': cronjob })));
      expect(violation.message).toBe('[Implied by expand-cronjobs] container <snapshot> is privileged');
      expect(violation.location).toEqual({ file: 'apps/backup.yaml', line: lineOf(cronjob, 'privileged: true') });
      expect(violation.acceptance).toMatchObject({
        level: 'podTemplate',
        reason: "Snapshots the node's block device.",
        location: { file: 'apps/backup.yaml', line: lineOf(cronjob, 'policy.exclusion') },
      });
    });

    it('accepts on the Namespace manifest, for every object in that namespace', async () => {
      const namespace = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  annotations:
    securitytower.io/policy.exclusion.preventprivileged: |-
      Node tooling namespace; reviewed by the platform team.
`;
      const report = await check(repo({ 'cluster/namespaces/shop.yaml': namespace, 'apps/web.yaml': deployment() }));
      expect(only(report).acceptance).toEqual({
        level: 'namespace',
        reason: 'Node tooling namespace; reviewed by the platform team.',
        annotation: 'securitytower.io/policy.exclusion.preventprivileged',
        location: { file: 'cluster/namespaces/shop.yaml', line: lineOf(namespace, 'policy.exclusion') },
      });
    });

    it('accepts through an owner one level up ownerReferences: a ReplicaSet owned by an annotated Deployment', async () => {
      const owned = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    securitytower.io/policy.exclusion.preventprivileged: Debug build; removed after the incident.
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
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d8f
  namespace: shop
  ownerReferences:
    - apiVersion: apps/v1
      kind: Deployment
      name: web
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
          securityContext:
            privileged: true
`;
      const violation = only(await check(repo({ 'apps/web.yaml': owned })));
      expect(violation.object).toMatchObject({ kind: 'ReplicaSet', name: 'web-5d8f' });
      // The finding stays on the ReplicaSet's own privileged line; the acceptance points at the owner's annotation.
      expect(violation.location).toEqual({ file: 'apps/web.yaml', line: lineOf(owned, 'privileged: true') });
      expect(violation.acceptance).toMatchObject({
        level: 'owner',
        reason: 'Debug build; removed after the incident.',
        location: { file: 'apps/web.yaml', line: lineOf(owned, 'policy.exclusion') },
      });
    });

    it('accepts through an owner two levels up: a Pod of a ReplicaSet of an annotated Deployment, across files', async () => {
      const files = {
        'apps/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    phylake.io/policy.exclusion.preventprivileged: Accepted by the security board (SEC-88).
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
        'apps/replicaset.yaml': `apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d8f
  namespace: shop
  ownerReferences:
    - {apiVersion: apps/v1, kind: Deployment, name: web}
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
        'apps/pod.yaml': `apiVersion: v1
kind: Pod
metadata:
  name: web-5d8f-x2x9q
  namespace: shop
  ownerReferences:
    - {apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f}
spec:
  containers:
    - name: web
      image: nginx:1.25.3
      securityContext:
        privileged: true
`,
      };
      const violation = only(await check(repo(files)));
      expect(violation.object).toMatchObject({ kind: 'Pod', name: 'web-5d8f-x2x9q' });
      expect(violation.location).toEqual({ file: 'apps/pod.yaml', line: lineOf(files['apps/pod.yaml'], 'privileged: true') });
      expect(violation.acceptance).toMatchObject({
        level: 'owner',
        annotation: 'phylake.io/policy.exclusion.preventprivileged',
        location: { file: 'apps/deployment.yaml', line: lineOf(files['apps/deployment.yaml'], 'policy.exclusion') },
      });
    });

    it('does not look further than two owners up', async () => {
      const files = {
        'apps/workflow.yaml': `apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata:
  name: nightly
  namespace: shop
  annotations:
    securitytower.io/policy.exclusion.preventprivileged: Too far away to count.
spec:
  schedule: "0 1 * * *"
`,
        'apps/cronjob.yaml': `apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
  namespace: shop
  ownerReferences:
    - {apiVersion: argoproj.io/v1alpha1, kind: CronWorkflow, name: nightly}
spec:
  schedule: "0 1 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: run
              image: registry.example.com/run:1.0.0
`,
        'apps/job.yaml': `apiVersion: batch/v1
kind: Job
metadata:
  name: nightly-28000000
  namespace: shop
  ownerReferences:
    - {apiVersion: batch/v1, kind: CronJob, name: nightly}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: run
          image: registry.example.com/run:1.0.0
`,
        'apps/pod.yaml': `apiVersion: v1
kind: Pod
metadata:
  name: nightly-28000000-abcde
  namespace: shop
  ownerReferences:
    - {apiVersion: batch/v1, kind: Job, name: nightly-28000000}
spec:
  containers:
    - name: run
      image: registry.example.com/run:1.0.0
      securityContext:
        privileged: true
`,
      };
      expect(only(await check(repo(files))).acceptance).toBeNull();
    });
  });

  it.each([
    ['securitytower.io/policy.exclusion.'],
    ['phylake.io/policy.exclusion.'],
    ['cloud.syncier.com/policy.exclusion.'],
  ])('accepts with the prefix %s', async (prefix) => {
    const report = await check(repo({ 'apps/web.yaml': deployment({ annotations: `    ${prefix}preventprivileged: Written before the product was renamed.` }) }));
    expect(only(report).acceptance).toMatchObject({ level: 'object', annotation: `${prefix}preventprivileged` });
  });

  it('names the policy (the template), not the constraint: an annotation for another policy accepts nothing', async () => {
    const annotations = [
      '    securitytower.io/policy.exclusion.enforceimageversion: Only the image tag policy is accepted here.',
      // The constraint's own name is not the policy name.
      '    securitytower.io/policy.exclusion.no-privileged-pods: The constraint name is not the policy.',
      // Keys match exactly: no prefix matching of policy names, no wildcards.
      '    securitytower.io/policy.exclusion.preventprivilege: Missing a letter.',
      '    securitytower.io/policy.exclusion.*: Wildcards are not a thing.',
    ].join('\n');
    const violation = only(await check(repo({ 'apps/web.yaml': deployment({ annotations }) })));
    expect(violation.policy).toBe('preventprivileged');
    expect(violation.constraint).toBe('no-privileged-pods');
    expect(violation.acceptance).toBeNull();
  });

  it('turns acceptances off with ignoreRiskAcceptances: true in the constraint parameters', async () => {
    const manifests = {
      'cluster/namespaces/shop.yaml': `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  annotations:
    securitytower.io/policy.exclusion.preventprivileged: Namespace-wide acceptance.
`,
      'apps/web.yaml': deployment({
        annotations: '    securitytower.io/policy.exclusion.preventprivileged: Object acceptance.',
        podAnnotations: '        securitytower.io/policy.exclusion.preventprivileged: Pod template acceptance.',
      }),
    };
    const strict = await check(repo(manifests, { constraint: preventPrivilegedConstraint({ parameters: { ignoreRiskAcceptances: true } }) }));
    expect(only(strict).acceptance).toBeNull();
    expect(checkExitCode(strict)).toBe(1);

    const lenient = await check(repo(manifests, { constraint: preventPrivilegedConstraint({ parameters: { ignoreRiskAcceptances: false } }) }));
    expect(only(lenient).acceptance).toMatchObject({ level: 'object', reason: 'Object acceptance.' });
  });

  it('needs ignoreRiskAcceptances declared in the template schema, as Gatekeeper rejects unknown parameters', async () => {
    const report = await check(
      repo(
        { 'apps/web.yaml': deployment({ annotations: '    securitytower.io/policy.exclusion.preventprivileged: Accepted.' }) },
        {
          template: preventPrivilegedTemplate({ exemptImages: { type: 'array', items: { type: 'string' } } }),
          constraint: preventPrivilegedConstraint({ parameters: { ignoreRiskAcceptances: true } }),
        },
      ),
    );
    const cluster = report.clusters[0]!;
    // The constraint never reaches the cluster: nothing is evaluated, and the error says why.
    expect(cluster.violations).toEqual([]);
    expect(cluster.errors).toEqual([
      expect.objectContaining({
        location: { file: 'cluster/policies/preventprivileged-constraint.yaml', line: 13 },
        message: expect.stringContaining('spec.parameters.ignoreRiskAcceptances: unknown field'),
      }),
    ]);
    expect(checkExitCode(report)).toBe(1);
  });

  it('still reports accepted violations, with level, reason and the annotation\'s line', async () => {
    const podAnnotations = `        securitytower.io/policy.exclusion.preventprivileged: |-
          The card reader needs device access.
          Vendor ticket VEND-1234 tracks an unprivileged build.`;
    const web = deployment({ podAnnotations });
    const violation = only(await check(repo({ 'apps/web.yaml': web })));
    expect(violation).toMatchObject({
      policy: 'preventprivileged',
      enforcementAction: 'deny',
      location: { file: 'apps/web.yaml', line: lineOf(web, 'privileged: true') },
      acceptance: {
        level: 'podTemplate',
        reason: 'The card reader needs device access.\nVendor ticket VEND-1234 tracks an unprivileged build.',
        annotation: 'securitytower.io/policy.exclusion.preventprivileged',
        location: { file: 'apps/web.yaml', line: lineOf(web, 'policy.exclusion') },
      },
    });
  });

  it('does not let an accepted deny block, while an unaccepted one does', async () => {
    const accepted = await check(repo({ 'apps/web.yaml': deployment({ annotations: '    securitytower.io/policy.exclusion.preventprivileged: Accepted.' }) }));
    expect(only(accepted).enforcementAction).toBe('deny');
    expect(checkExitCode(accepted)).toBe(0);

    const unaccepted = await check(repo({ 'apps/web.yaml': deployment() }));
    expect(only(unaccepted).acceptance).toBeNull();
    expect(checkExitCode(unaccepted)).toBe(1);
  });

  describe('what happens outside the template', () => {
    // Security Tower's acceptances were part of each policy's Rego: they can hide what a template reports,
    // but never Gatekeeper's autorejection or an evaluation error, which the cluster rejects regardless.

    it('accepts no autorejection: an annotation does not make up for a missing Namespace manifest', async () => {
      const report = await check(
        repo(
          { 'apps/web.yaml': deployment({ annotations: '    securitytower.io/policy.exclusion.preventprivileged: Accepted.' }).replace('namespace: shop', 'namespace: orders') },
          { constraint: preventPrivilegedConstraint({ match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }], namespaceSelector: { matchLabels: { tier: 'web' } } } }) },
        ),
      );
      const violation = only(report);
      expect(violation.message).toBe(
        '[Implied by expand-workloads] unable to match constraints: error matching the requested object: web-pod :failed to run Match criteria: namespace selector for namespace-scoped object but missing Namespace',
      );
      expect(violation.acceptance).toBeNull();
      expect(checkExitCode(report)).toBe(1);
    });

    it('accepts no evaluation error', async () => {
      const conflicting = stringify({
        apiVersion: 'templates.gatekeeper.sh/v1',
        kind: 'ConstraintTemplate',
        metadata: { name: 'preventprivileged' },
        spec: {
          crd: { spec: { names: { kind: 'PreventPrivileged' } } },
          targets: [
            {
              target: 'admission.k8s.gatekeeper.sh',
              // Both complete rules hold for every object: OPA stops with a conflict.
              rego: `package preventprivileged

violation[{"msg": mode}] {
  mode != "relaxed"
}

mode = "strict" { input.review.object.kind }
mode = "relaxed" { input.review.object.metadata }
`,
            },
          ],
        },
      });
      const report = await check(
        repo({ 'apps/web.yaml': deployment({ annotations: '    securitytower.io/policy.exclusion.preventprivileged: Accepted.' }) }, { template: conflicting }),
      );
      // The conflict is an input error too: it fails the check whatever acceptances say.
      expect(report.clusters[0]!.errors.map((e) => e.code)).toEqual(['evaluation']);
      const [violation] = report.clusters[0]!.violations;
      expect(report.clusters[0]!.violations).toHaveLength(1);
      expect(violation!.message).toMatch(/^\[Implied by expand-workloads\] template:\d+: eval_conflict_error: complete rules must not produce multiple outputs$/);
      expect(violation!.acceptance).toBeNull();
      expect(checkExitCode(report)).toBe(1);
    });
  });

  it('accepts nothing with a blank reason, and reports the annotation as an error on its line', async () => {
    const web = deployment({
      annotations: '    securitytower.io/policy.exclusion.preventprivileged: ""',
      podAnnotations: '        securitytower.io/policy.exclusion.preventprivileged: The pod template reason counts.',
    });
    const report = await check(repo({ 'apps/web.yaml': web }));
    const cluster = report.clusters[0]!;
    expect(cluster.violations).toHaveLength(1);
    // The blank object-level reason is skipped; the pod template's reason is the one that accepts.
    expect(cluster.violations[0]!.acceptance).toMatchObject({ level: 'podTemplate', reason: 'The pod template reason counts.' });
    expect(cluster.errors).toEqual([
      {
        location: { file: 'apps/web.yaml', line: lineOf(web, 'preventprivileged: ""') },
        code: 'acceptance',
        message: expect.stringContaining('securitytower.io/policy.exclusion.preventprivileged has no reason'),
      },
    ]);
  });
});
