import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import type { Report, Violation } from '../../src/engine/index.js';
import { defaultExpansionTemplates, readExpansionTemplate } from '../../src/engine/policy/expansion-template.js';
import { check, repoRoot } from '../helpers/engine.js';
import { clusterConfig, constraintOf, regoTemplate } from '../helpers/policy-builders.js';
import { MemorySource } from '../helpers/memory-source.js';

// Gatekeeper's generator-resource expansion (gatekeeper.md §3): a workload is also reviewed as the Pod
// it creates; that Pod's results carry `[Implied by <ExpansionTemplate>] ` and are reported on the
// workload, in its file, on the line of the offending field. Without ExpansionTemplates of its own, a
// repository gets Parapet's `expand-workloads`, `expand-cronjobs` and `expand-podtemplates`.

const CLUSTER = clusterConfig();

const PRIVILEGED_REGO = `package preventprivileged

violation contains {"msg": msg} if {
  some field in ["containers", "initContainers"]
  some c in input.review.object.spec[field]
  c.securityContext.privileged == true
  msg := sprintf("container <%v> is privileged", [c.name])
}
`;

// v0, as most of the Gatekeeper library is written.
const REQUIRED_LABELS_REGO = `package k8srequiredlabels

violation[{"msg": msg}] {
  provided := {label | input.review.object.metadata.labels[label]}
  required := {label | label := input.parameters.labels[_]}
  missing := required - provided
  count(missing) > 0
  msg := sprintf("you must provide labels: %v", [missing])
}
`;

// Reports the reviewed object as Gatekeeper hands it to the template.
const POD_PROBE_REGO = `package podprobe

violation contains {"msg": msg} if {
  msg := sprintf("kind=%v name=%v namespace=%v metadata=%v", [
    input.review.kind,
    object.get(input.review, "name", "<none>"),
    object.get(input.review, "namespace", "<none>"),
    input.review.object.metadata,
  ])
}
`;

function template(kind: string, rego: string, version: 'v0' | 'v1' = 'v1'): string {
  const parameters = kind === 'K8sRequiredLabels' ? { labels: { type: 'array', items: { type: 'string' } } } : undefined;
  return regoTemplate(kind, rego, { version, parameters });
}

const constraint = constraintOf;

const PODS = { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] };

function expansionTemplate(name: string, spec: Record<string, unknown>): string {
  return stringify({ apiVersion: 'expansion.gatekeeper.sh/v1beta1', kind: 'ExpansionTemplate', metadata: { name }, spec });
}

/** A repository that forbids privileged Pods, plus `files`. */
function repo(files: Record<string, string>): MemorySource {
  return new MemorySource({
    '.securitytower/cluster.yaml': CLUSTER,
    'cluster/policies/preventprivileged-template.yaml': template('PreventPrivileged', PRIVILEGED_REGO),
    'cluster/policies/preventprivileged-constraint.yaml': constraint('PreventPrivileged', 'no-privileged-pods', { match: PODS }),
    ...files,
  });
}

function clean(report: Report): Violation[] {
  expect(report.errors).toEqual([]);
  expect(report.clusters[0]!.errors).toEqual([]);
  return report.clusters[0]!.violations;
}

function lineOf(text: string, needle: string): number {
  const index = text.split('\n').findIndex((line) => line.includes(needle));
  if (index < 0) throw new Error(`${needle} is not in the text`);
  return index + 1;
}

function indent(text: string, spaces: number): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? line : `${' '.repeat(spaces)}${line}`))
    .join('\n');
}

/** A pod template whose one container is privileged, at the given indentation. */
function podTemplate(container: string, spaces: number): string {
  return indent(
    `template:
  metadata:
    labels:
      app: ${container}
  spec:
    containers:
      - name: ${container}
        image: registry.example.com/${container}:1.0.0
        securityContext:
          privileged: true
`,
    spaces,
  );
}

const WORKLOADS: Record<string, string> = {
  'apps/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels:
      app: web
${podTemplate('web', 2)}`,
  'apps/statefulset.yaml': `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  selector:
    matchLabels:
      app: db
${podTemplate('db', 2)}`,
  'apps/daemonset.yaml': `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels:
      app: agent
${podTemplate('agent', 2)}`,
  'apps/replicaset.yaml': `apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: cache
spec:
  selector:
    matchLabels:
      app: cache
${podTemplate('cache', 2)}`,
  'apps/job.yaml': `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  backoffLimit: 2
${podTemplate('migrate', 2)}`,
  'apps/replicationcontroller.yaml': `apiVersion: v1
kind: ReplicationController
metadata:
  name: legacy
spec:
  replicas: 1
${podTemplate('legacy', 2)}`,
  'apps/podtemplate.yaml': `apiVersion: v1
kind: PodTemplate
metadata:
  name: worker
${podTemplate('worker', 0)}`,
  'apps/cronjob.yaml': `apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
spec:
  schedule: "0 2 * * *"
  jobTemplate:
    spec:
${podTemplate('report', 6)}`,
};

describe('expansion', () => {
  it('reviews every standard workload as the Pod it creates, reported on the workload\'s offending line', async () => {
    const found = clean(await check(repo(WORKLOADS)));
    const expected = (file: string, kind: string, container: string, template = 'expand-workloads') => ({
      file,
      line: lineOf(WORKLOADS[file]!, 'privileged: true'),
      kind,
      message: `[Implied by ${template}] container <${container}> is privileged`,
    });
    expect(found.map((v) => ({ file: v.location.file, line: v.location.line, kind: v.object.kind, message: v.message }))).toEqual([
      expected('apps/cronjob.yaml', 'CronJob', 'report', 'expand-cronjobs'),
      expected('apps/daemonset.yaml', 'DaemonSet', 'agent'),
      expected('apps/deployment.yaml', 'Deployment', 'web'),
      expected('apps/job.yaml', 'Job', 'migrate'),
      expected('apps/podtemplate.yaml', 'PodTemplate', 'worker', 'expand-podtemplates'),
      expected('apps/replicaset.yaml', 'ReplicaSet', 'cache'),
      expected('apps/replicationcontroller.yaml', 'ReplicationController', 'legacy'),
      expected('apps/statefulset.yaml', 'StatefulSet', 'db'),
    ]);
  });

  it('expands by default exactly as policies/expansion.yaml, the file `parapet policies enable` installs, does', () => {
    const installed = parseAllDocuments(readFileSync(join(repoRoot, 'policies', 'expansion.yaml'), 'utf8')).map((doc) => {
      const { template, errors } = readExpansionTemplate(doc.toJS() as Record<string, unknown>, { file: 'policies/expansion.yaml', line: 1 });
      expect(errors).toEqual([]);
      const { location: _location, ...rest } = template!;
      return rest;
    });
    expect(defaultExpansionTemplates).toEqual(installed);
  });

  it('does not review a batch/v1beta1 CronJob as its Pod, as the installed expand-cronjobs (batch/v1 only) does not', async () => {
    const cronjob = WORKLOADS['apps/cronjob.yaml']!.replace('batch/v1', 'batch/v1beta1');
    expect(clean(await check(repo({ 'apps/cronjob.yaml': cronjob })))).toEqual([]);
  });

  it('finds the offending field among init containers of a CronJob\'s pod template', async () => {
    const cronjob = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  schedule: "0 2 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          initContainers:
            - name: prepare
              image: busybox:1.36
              securityContext:
                privileged: true
          containers:
            - name: report
              image: ghcr.io/example-org/report:2.3.1
              securityContext:
                privileged: false
`;
    const [violation, ...rest] = clean(await check(repo({ 'apps/cronjob.yaml': cronjob })));
    expect(rest).toEqual([]);
    expect(violation).toMatchObject({
      message: '[Implied by expand-cronjobs] container <prepare> is privileged',
      location: { file: 'apps/cronjob.yaml', line: lineOf(cronjob, 'privileged: true') },
      object: { apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly', namespace: 'default' },
    });
  });

  it('builds the implied Pod as Gatekeeper does: named <workload>-pod, in its namespace, with the pod template\'s metadata and an owner reference', async () => {
    const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
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
      annotations:
        prometheus.io/scrape: "true"
    spec:
      containers:
        - name: web
          image: nginx:1.25.3
`;
    const report = await check(
      new MemorySource({
        '.securitytower/cluster.yaml': CLUSTER,
        'cluster/policies/podprobe-template.yaml': template('PodProbe', POD_PROBE_REGO),
        'cluster/policies/podprobe-constraint.yaml': constraint('PodProbe', 'implied-pods', { match: { ...PODS, source: 'Generated' } }),
        'apps/web.yaml': deployment,
      }),
    );
    expect(clean(report).map((v) => v.message)).toEqual([
      '[Implied by expand-workloads] kind={"group": "", "kind": "Pod", "version": "v1"} name=web-pod namespace=shop ' +
        'metadata={"annotations": {"prometheus.io/scrape": "true"}, "labels": {"app": "web"}, "name": "web-pod", "namespace": "shop", ' +
        '"ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": ""}]}',
    ]);
  });

  it('gives the Pod of a Job with only generateName the name "-pod" and no owner reference, as Gatekeeper does', async () => {
    const job = `apiVersion: batch/v1
kind: Job
metadata:
  generateName: migrate-
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: registry.example.com/migrate:1.0.0
`;
    const report = await check(
      new MemorySource({
        '.securitytower/cluster.yaml': CLUSTER,
        'cluster/policies/podprobe-template.yaml': template('PodProbe', POD_PROBE_REGO),
        'cluster/policies/podprobe-constraint.yaml': constraint('PodProbe', 'implied-pods', { match: { ...PODS, source: 'Generated' } }),
        'apps/job.yaml': job,
      }),
    );
    expect(clean(report).map((v) => v.message)).toEqual([
      '[Implied by expand-workloads] kind={"group": "", "kind": "Pod", "version": "v1"} name=-pod namespace=default metadata={"name": "-pod", "namespace": "default"}',
    ]);
  });

  describe('the repository\'s own ExpansionTemplates', () => {
    const deployments = expansionTemplate('expand-deployments', {
      applyTo: [{ groups: ['apps'], kinds: ['Deployment'], versions: ['v1'] }],
      templateSource: 'spec.template',
      generatedGVK: { kind: 'Pod', group: '', version: 'v1' },
      enforcementAction: 'warn',
    });

    it('replace Parapet\'s defaults: their name is the prefix, their enforcementAction overrides the constraint\'s, and unlisted kinds are not expanded', async () => {
      const found = clean(await check(repo({ ...WORKLOADS, 'cluster/policies/expand-deployments.yaml': deployments })));
      expect(found.map((v) => ({ file: v.location.file, line: v.location.line, action: v.enforcementAction, message: v.message }))).toEqual([
        {
          file: 'apps/deployment.yaml',
          line: lineOf(WORKLOADS['apps/deployment.yaml']!, 'privileged: true'),
          // The constraint says deny; the ExpansionTemplate's override wins for results on the implied Pod.
          action: 'warn',
          message: '[Implied by expand-deployments] container <web> is privileged',
        },
      ]);
    });

    it('do not override the action of a constraint scoped to audit only: its results never block', async () => {
      const auditOnly = constraint('PreventPrivileged', 'no-privileged-pods', {
        match: PODS,
        enforcementAction: 'scoped',
        scopedEnforcementActions: [{ action: 'deny', enforcementPoints: [{ name: 'audit.gatekeeper.sh' }] }],
      });
      const denying = deployments.replace('enforcementAction: warn', 'enforcementAction: deny');
      const found = clean(
        await check(repo({ 'apps/deployment.yaml': WORKLOADS['apps/deployment.yaml']!, 'cluster/policies/expand-deployments.yaml': denying, 'cluster/policies/preventprivileged-constraint.yaml': auditOnly })),
      );
      expect(found.map((v) => [v.enforcementAction, v.message])).toEqual([['dryrun', '[Implied by expand-deployments] container <web> is privileged']]);
    });

    it('expand recursively, each result prefixed with the template that generated its object', async () => {
      const cronjobsToJobs = expansionTemplate('expand-cronjobs-to-jobs', {
        applyTo: [{ groups: ['batch'], kinds: ['CronJob'], versions: ['v1'] }],
        templateSource: 'spec.jobTemplate',
        generatedGVK: { kind: 'Job', group: 'batch', version: 'v1' },
      });
      const jobsToPods = expansionTemplate('expand-jobs', {
        applyTo: [{ groups: ['batch'], kinds: ['Job'], versions: ['v1'] }],
        templateSource: 'spec.template',
        generatedGVK: { kind: 'Pod', group: '', version: 'v1' },
      });
      const found = clean(
        await check(
          repo({
            'apps/cronjob.yaml': WORKLOADS['apps/cronjob.yaml']!,
            'apps/job.yaml': WORKLOADS['apps/job.yaml']!,
            'cluster/policies/expansion.yaml': `${cronjobsToJobs}---\n${jobsToPods}`,
          }),
        ),
      );
      expect(found.map((v) => ({ file: v.location.file, line: v.location.line, message: v.message }))).toEqual([
        // CronJob → Job report-job → Pod report-job-pod: the Pod came from expand-jobs.
        { file: 'apps/cronjob.yaml', line: lineOf(WORKLOADS['apps/cronjob.yaml']!, 'privileged: true'), message: '[Implied by expand-jobs] container <report> is privileged' },
        { file: 'apps/job.yaml', line: lineOf(WORKLOADS['apps/job.yaml']!, 'privileged: true'), message: '[Implied by expand-jobs] container <migrate> is privileged' },
      ]);
    });
  });

  it('reports twice when a constraint matches both the Deployment and its Pod, as Gatekeeper does', async () => {
    const deployment = `apiVersion: apps/v1
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
`;
    const report = await check(
      new MemorySource({
        '.securitytower/cluster.yaml': CLUSTER,
        'cluster/policies/k8srequiredlabels-template.yaml': template('K8sRequiredLabels', REQUIRED_LABELS_REGO, 'v0'),
        'cluster/policies/must-have-owner.yaml': constraint('K8sRequiredLabels', 'must-have-owner', {
          match: { kinds: [{ apiGroups: ['apps'], kinds: ['Deployment'] }, { apiGroups: [''], kinds: ['Pod'] }] },
          parameters: { labels: ['owner'] },
        }),
        'apps/web.yaml': deployment,
      }),
    );
    const lines = deployment.split('\n');
    const podLabelsLine = lines.findIndex((line, i) => i > lineOf(deployment, 'template:') && line.includes('labels:')) + 1;
    expect(clean(report).map((v) => ({ line: v.location.line, message: v.message, object: v.object.kind }))).toEqual([
      // The Deployment's own labels, then its pod template's.
      { line: lineOf(deployment, 'labels:'), message: 'you must provide labels: {"owner"}', object: 'Deployment' },
      { line: podLabelsLine, message: '[Implied by expand-workloads] you must provide labels: {"owner"}', object: 'Deployment' },
    ]);
  });

  describe('a constraint that judges both the workload and its Pod', () => {
    // Security Tower's templates read a Deployment's pod template and a Pod's spec alike.
    const WORKLOAD_OR_POD_REGO = `package workloadprivileged

pod_spec := input.review.object.spec.template.spec if input.review.object.kind != "Pod"

pod_spec := input.review.object.spec if input.review.object.kind == "Pod"

violation contains {"msg": msg} if {
  some c in pod_spec.containers
  c.securityContext.privileged == true
  msg := sprintf("container <%v> is privileged", [c.name])
}
`;
    const twoPrivileged = `apiVersion: apps/v1
kind: Deployment
metadata:
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
          image: registry.example.com/web:1.0.0
          securityContext:
            privileged: true
        - name: sidecar
          image: registry.example.com/sidecar:1.0.0
          securityContext:
            privileged: true
`;
    const judged = (files: Record<string, string> = {}, action = 'deny') =>
      new MemorySource({
        '.securitytower/cluster.yaml': CLUSTER,
        'cluster/policies/workloadprivileged-template.yaml': template('WorkloadPrivileged', WORKLOAD_OR_POD_REGO),
        'cluster/policies/workloadprivileged-constraint.yaml': constraint('WorkloadPrivileged', 'no-privileged-workloads', {
          enforcementAction: action,
          match: { kinds: [{ apiGroups: ['apps'], kinds: ['Deployment'] }, { apiGroups: [''], kinds: ['Pod'] }] },
        }),
        'apps/web.yaml': twoPrivileged,
        ...files,
      });
    const summary = (v: Violation) => ({ line: v.location.line, action: v.enforcementAction, message: v.message });
    const privilegedLines = twoPrivileged.split('\n').flatMap((line, i) => (line.includes('privileged: true') ? [i + 1] : []));

    it('reports each container\'s problem once, the workload\'s own result on its line', async () => {
      expect(clean(await check(judged())).map(summary)).toEqual([
        { line: privilegedLines[0], action: 'deny', message: 'container <web> is privileged' },
        { line: privilegedLines[1], action: 'deny', message: 'container <sidecar> is privileged' },
      ]);
    });

    it('keeps both results, as Gatekeeper and gator report them, when asked for every result', async () => {
      const found = clean(await check(judged(), { everyResult: true })).map((v) => v.message);
      expect(found.sort()).toEqual([
        '[Implied by expand-workloads] container <sidecar> is privileged',
        '[Implied by expand-workloads] container <web> is privileged',
        'container <sidecar> is privileged',
        'container <web> is privileged',
      ]);
    });

    it('keeps the Pod\'s result when it blocks and the workload\'s only warns (an ExpansionTemplate that overrides the action)', async () => {
      const denyPods = expansionTemplate('expand-deployments', {
        applyTo: [{ groups: ['apps'], kinds: ['Deployment'], versions: ['v1'] }],
        templateSource: 'spec.template',
        generatedGVK: { kind: 'Pod', group: '', version: 'v1' },
        enforcementAction: 'deny',
      });
      const found = clean(await check(judged({ 'cluster/policies/expand-deployments.yaml': denyPods }, 'warn'))).map(summary);
      expect(found).toEqual([
        { line: privilegedLines[0], action: 'deny', message: '[Implied by expand-deployments] container <web> is privileged' },
        { line: privilegedLines[0], action: 'warn', message: 'container <web> is privileged' },
        { line: privilegedLines[1], action: 'deny', message: '[Implied by expand-deployments] container <sidecar> is privileged' },
        { line: privilegedLines[1], action: 'warn', message: 'container <sidecar> is privileged' },
      ]);
    });
  });

  it('reports a workload that cannot be expanded as an input error on its kind line', async () => {
    const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
spec:
  replicas: 1
`;
    const report = await check(repo({ 'apps/broken.yaml': deployment }));
    expect(report.clusters[0]!.errors).toEqual([
      {
        location: { file: 'apps/broken.yaml', line: 2 },
        code: 'expansion',
        message: 'cannot expand Deployment with ExpansionTemplate expand-workloads: spec.template is missing',
      },
    ]);
    expect(report.clusters[0]!.violations).toEqual([]);
  });
});
