import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkExitCode, markStatus, type Violation } from '../../src/engine/index.js';
import { check, engine, repoRoot } from '../helpers/engine.js';
import { clusterConfig, constraintOf, regoTemplate } from '../helpers/policy-builders.js';
import { MemorySource } from '../helpers/memory-source.js';

// Templates that honour risk acceptances in their own Rego (Security Tower's and Parapet's library)
// would simply not report an accepted violation. Parapet evaluates them with ignoreRiskAcceptances
// and applies the acceptance itself, so the accepted risk is shown, with its reason and level.
const library = (file: string) => readFileSync(join(repoRoot, 'policies', 'preventprivileged', file), 'utf8');

const deployment = (podAnnotations: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: storage-driver
  namespace: shop
spec:
  selector:
    matchLabels:
      app: storage-driver
  template:
    metadata:
      labels:
        app: storage-driver
      annotations:
${podAnnotations}
    spec:
      containers:
        - name: driver
          image: registry.example.com/storage/driver:4.1.0
          securityContext:
            privileged: true
`;

function repo(files: Record<string, string>): MemorySource {
  return new MemorySource({
    '.securitytower/cluster.yaml': clusterConfig({ policies: 'policies' }),
    'policies/constraint-templates/preventprivileged-template.yaml': library('template.yaml'),
    ...files,
  });
}

const lineOf = (text: string, needle: string) => text.split('\n').findIndex((line) => line.includes(needle)) + 1;

const summary = (v: Violation) => ({ message: v.message, line: v.location.line, accepted: v.acceptance && `${v.acceptance.level}: ${v.acceptance.reason}` });

describe('risk acceptances that the template also implements in Rego', () => {
  it('shows the accepted violation instead of losing it, and does not block', async () => {
    const report = await check(
      repo({
        'policies/constraints/preventprivileged-constraint.yaml': library('constraint.yaml'),
        'apps/storage.yaml': deployment('        securitytower.io/policy.exclusion.preventprivileged: Needs the host block devices.'),
      }),
    );
    expect(report.clusters[0]!.errors).toEqual([]);
    expect(report.clusters[0]!.violations.map(summary)).toEqual([
      {
        message: '[Implied by expand-workloads] privileged (container "driver" must not set securityContext.privileged=true)',
        line: 21,
        accepted: 'podTemplate: Needs the host block devices.',
      },
    ]);
    expect(checkExitCode(report)).toBe(0);
  });

  it('accepts through the Deployment\'s own metadata, which the library finds through the implied Pod\'s owner in the inventory', async () => {
    const onWorkload = deployment('        team: storage').replace(
      '  namespace: shop\n',
      '  namespace: shop\n  annotations:\n    securitytower.io/policy.exclusion.preventprivileged: Needs the host block devices.\n',
    );
    const report = await check(
      repo({ 'policies/constraints/preventprivileged-constraint.yaml': library('constraint.yaml'), 'apps/storage.yaml': onWorkload }),
    );
    expect(report.clusters[0]!.errors).toEqual([]);
    expect(report.clusters[0]!.violations.map(summary)).toEqual([
      { message: expect.stringMatching(/^\[Implied by expand-workloads\] privileged \(container "driver" /), line: lineOf(onWorkload, 'privileged: true'), accepted: 'object: Needs the host block devices.' },
    ]);
    expect(report.clusters[0]!.violations[0]!.acceptance!.location).toEqual({ file: 'apps/storage.yaml', line: lineOf(onWorkload, 'policy.exclusion') });
    expect(checkExitCode(report)).toBe(0);
  });

  it('accepts through the Deployment\'s own metadata only if the policies\' Gatekeeper Config syncs Deployments into the inventory', async () => {
    const onWorkload = deployment('        team: storage').replace(
      '  namespace: shop\n',
      '  namespace: shop\n  annotations:\n    securitytower.io/policy.exclusion.preventprivileged: Needs the host block devices.\n',
    );
    const config = (kinds: string) => `apiVersion: config.gatekeeper.sh/v1alpha1
kind: Config
metadata:
  name: config
  namespace: gatekeeper-system
spec:
  sync:
    syncOnly:
${kinds}`;
    const judged = async (kinds: string) => {
      const report = await check(
        repo({
          'policies/constraints/preventprivileged-constraint.yaml': library('constraint.yaml'),
          'policies/config.yaml': config(kinds),
          'apps/storage.yaml': onWorkload,
        }),
      );
      expect(report.clusters[0]!.errors).toEqual([]);
      return report.clusters[0]!.violations.map((v) => v.acceptance?.reason ?? null);
    };
    expect(await judged('      - version: v1\n        kind: ConfigMap\n')).toEqual([null]);
    expect(await judged('      - group: apps\n        version: v1\n        kind: Deployment\n')).toEqual(['Needs the host block devices.']);
  });

  it('accepts a CronJob\'s Pods through the annotation on the CronJob', async () => {
    const cronJob = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: disk-report
  namespace: shop
  annotations:
    securitytower.io/policy.exclusion.preventprivileged: Reads SMART data from the host disks.
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: report
              image: registry.example.com/storage/smart:1.2.0
              securityContext:
                privileged: true
`;
    const report = await check(repo({ 'policies/constraints/preventprivileged-constraint.yaml': library('constraint.yaml'), 'apps/disk-report.yaml': cronJob }));
    expect(report.clusters[0]!.errors).toEqual([]);
    expect(report.clusters[0]!.violations.map(summary)).toEqual([
      { message: expect.stringMatching(/^\[Implied by expand-cronjobs\] privileged \(container "report" /), line: lineOf(cronJob, 'privileged: true'), accepted: 'object: Reads SMART data from the host disks.' },
    ]);
    expect(checkExitCode(report)).toBe(0);
  });

  it('accepts nothing with a blank reason on the Deployment, and reports the annotation as an error on its line', async () => {
    const blank = deployment('        team: storage').replace('  namespace: shop\n', '  namespace: shop\n  annotations:\n    securitytower.io/policy.exclusion.preventprivileged: " "\n');
    const report = await check(repo({ 'policies/constraints/preventprivileged-constraint.yaml': library('constraint.yaml'), 'apps/storage.yaml': blank }));
    expect(report.clusters[0]!.violations.map((v) => v.acceptance)).toEqual([null]);
    expect(report.clusters[0]!.errors).toEqual([
      {
        location: { file: 'apps/storage.yaml', line: lineOf(blank, 'policy.exclusion') },
        code: 'acceptance',
        message: 'risk acceptance securitytower.io/policy.exclusion.preventprivileged has no reason; write why the risk is accepted (it accepts nothing until then)',
      },
    ]);
    expect(checkExitCode(report)).toBe(1);
  });

  it('does not let another Deployment\'s annotation accept this one\'s Pods', async () => {
    const other = deployment('        team: storage')
      .replaceAll('storage-driver', 'backup-agent')
      .replace('  namespace: shop\n', '  namespace: shop\n  annotations:\n    securitytower.io/policy.exclusion.preventprivileged: Needs the host block devices.\n')
      .replace('privileged: true', 'privileged: false');
    const report = await check(
      repo({
        'policies/constraints/preventprivileged-constraint.yaml': library('constraint.yaml'),
        'apps/storage.yaml': deployment('        team: storage'),
        'apps/backup.yaml': other,
      }),
    );
    expect(report.clusters[0]!.violations.map((v) => [v.location.file, v.acceptance])).toEqual([['apps/storage.yaml', null]]);
    expect(checkExitCode(report)).toBe(1);
  });

  it('evaluates the library\'s templates without the inventory, which only its acceptances read and Parapet turns those off', async () => {
    const { driver } = engine();
    const inventories: string[] = [];
    const recording = new Proxy(driver, {
      get(target, property, receiver) {
        if (property === 'addText') {
          return (json: string) => {
            if (json.startsWith('{"inventory"')) inventories.push(json);
            return target.addText(json);
          };
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const manifest = deployment('        team: storage').replace('  namespace: shop\n', '  namespace: shop\n  annotations:\n    securitytower.io/policy.exclusion.preventprivileged: Needs the host block devices.\n');
    const report = await check(repo({ 'policies/constraints/preventprivileged-constraint.yaml': library('constraint.yaml'), 'apps/storage.yaml': manifest }), { driver: recording });
    expect(report.clusters[0]!.violations.map((v) => v.acceptance?.level)).toEqual(['object']);
    expect(inventories).toEqual([]);
  });

  it('enforces it when the constraint asks to ignore risk acceptances', async () => {
    const strict = library('constraint.yaml').replace('spec:\n', 'spec:\n  parameters:\n    ignoreRiskAcceptances: true\n');
    const report = await check(
      repo({
        'policies/constraints/preventprivileged-constraint.yaml': strict,
        'apps/storage.yaml': deployment('        securitytower.io/policy.exclusion.preventprivileged: Needs the host block devices.'),
      }),
    );
    expect(report.clusters[0]!.violations.map((v) => v.acceptance)).toEqual([null]);
    expect(checkExitCode(report)).toBe(1);
  });
});

describe('an acceptance the library reads from Gatekeeper\'s inventory, judged against the base a pull request changes', () => {
  // Gatekeeper's inventory holds the cluster as it was before the change: the Pod it expands from a
  // workload names the workload, whose annotation it finds only if the cluster had it already.
  const constraint = { 'policies/constraints/preventprivileged-constraint.yaml': library('constraint.yaml') };
  const annotated = (image: string) =>
    deployment('        team: storage')
      .replace('  namespace: shop\n', '  namespace: shop\n  annotations:\n    securitytower.io/policy.exclusion.preventprivileged: Needs the host block devices.\n')
      .replace('driver:4.1.0', `driver:${image}`);
  const pullRequest = async (base: Record<string, string>, head: Record<string, string>) => markStatus(await check(repo({ ...constraint, ...head })), await check(repo({ ...constraint, ...base })));

  it('does not accept the Pods of a new Deployment through its own annotation, and says so on the annotation\'s line: the cluster refuses it', async () => {
    const head = annotated('4.1.0');
    const report = await pullRequest({}, { 'apps/storage.yaml': head });
    const cluster = report.clusters[0]!;
    expect(cluster.violations.map((v) => ({ ...summary(v), status: v.status }))).toEqual([
      { message: expect.stringMatching(/^\[Implied by expand-workloads\] privileged \(container "driver" /), line: lineOf(head, 'privileged: true'), accepted: null, status: 'new' },
    ]);
    expect(cluster.warnings).toEqual([
      {
        location: { file: 'apps/storage.yaml', line: lineOf(head, 'policy.exclusion') },
        code: 'acceptance-pending',
        message: expect.stringMatching(/^securitytower\.io\/policy\.exclusion\.preventprivileged does not accept Deployment storage-driver's violation of .* \(not yet there\), so the cluster refuses it; write the annotation on the pod template/),
      },
    ]);
    expect(checkExitCode(report)).toBe(1);
  });

  it('does not accept them in the change that adds the annotation to a Deployment the cluster has without it', async () => {
    const without = deployment('        team: storage');
    const report = await pullRequest({ 'apps/storage.yaml': without }, { 'apps/storage.yaml': annotated('4.1.0') });
    expect(report.clusters[0]!.violations.map((v) => [v.status, v.acceptance])).toEqual([['existing', null]]);
    expect(report.clusters[0]!.warnings?.map((w) => w.message)).toEqual([expect.stringContaining('(without this annotation)')]);
  });

  it('accepts them once the cluster\'s Deployment carries the annotation: a later change (an image bump) keeps the acceptance', async () => {
    const report = await pullRequest({ 'apps/storage.yaml': annotated('4.1.0') }, { 'apps/storage.yaml': annotated('4.2.0') });
    expect(report.clusters[0]!.violations.map((v) => [v.status, v.acceptance?.level])).toEqual([['existing', 'object']]);
    expect(report.clusters[0]!.warnings ?? []).toEqual([]);
    expect(checkExitCode(report)).toBe(0);
  });

  it('accepts a new Deployment\'s Pods through its pod template\'s annotation, which the cluster reads from the change itself', async () => {
    const report = await pullRequest({}, { 'apps/storage.yaml': deployment('        securitytower.io/policy.exclusion.preventprivileged: Needs the host block devices.') });
    expect(report.clusters[0]!.violations.map((v) => [v.status, v.acceptance?.level])).toEqual([['new', 'podTemplate']]);
    expect(report.clusters[0]!.warnings ?? []).toEqual([]);
  });
});

describe('risk acceptances that the template looks up on the owners too, as Security Tower\'s did', () => {
  // Security Tower's templates read the exclusion on the reviewed object, its Namespace, and its
  // owners in the inventory: a Pod of a Deployment (through its ReplicaSet) is accepted by the
  // annotation on the Deployment's own metadata.
  const SECURITY_TOWER_REGO = `package stpreventprivileged

violation contains {"msg": msg} if {
  not accepted("stpreventprivileged")
  some c in input.review.object.spec.containers
  c.securityContext.privileged == true
  msg := sprintf("container <%v> is privileged", [c.name])
}

prefixes := ["securitytower.io/policy.exclusion.", "phylake.io/policy.exclusion."]

accepted(policy) if {
  not object.get(input.parameters, "ignoreRiskAcceptances", false)
  some annotations in acceptance_annotations
  some prefix in prefixes
  annotations[concat("", [prefix, policy])]
}

acceptance_annotations contains object.get(input.review.object, ["metadata", "annotations"], {})

acceptance_annotations contains object.get(input.review, ["namespaceObject", "metadata", "annotations"], {})

acceptance_annotations contains owner.metadata.annotations if {
  some ref in input.review.object.metadata.ownerReferences
  some owner in data.inventory.namespace[input.review.namespace][_][ref.kind]
  owner.metadata.name == ref.name
}
`;
  const template = regoTemplate('STPreventPrivileged', SECURITY_TOWER_REGO, { parameters: { ignoreRiskAcceptances: { type: 'boolean' } } });
  const constraint = constraintOf('STPreventPrivileged', 'stpreventprivileged', { match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] } });
  const onWorkload = (reason: string) =>
    deployment('        team: storage').replace('  namespace: shop\n', `  namespace: shop\n  annotations:\n    securitytower.io/policy.exclusion.stpreventprivileged: ${reason}\n`);
  const securityTowerRepo = (manifest: string) =>
    new MemorySource({
      '.securitytower/cluster.yaml': clusterConfig({ policies: 'policies' }),
      'policies/stpreventprivileged-template.yaml': template,
      'policies/stpreventprivileged-constraint.yaml': constraint,
      'apps/storage.yaml': manifest,
    });

  it('accepts the implied Pod\'s violation through the annotation on the Deployment\'s own metadata', async () => {
    const manifest = onWorkload('Needs the host block devices.');
    const report = await check(securityTowerRepo(manifest));
    expect(report.clusters[0]!.errors).toEqual([]);
    expect(report.clusters[0]!.violations.map(summary)).toEqual([
      { message: '[Implied by expand-workloads] container <driver> is privileged', line: lineOf(manifest, 'privileged: true'), accepted: 'object: Needs the host block devices.' },
    ]);
    expect(report.clusters[0]!.violations[0]!.acceptance!.location).toEqual({ file: 'apps/storage.yaml', line: lineOf(manifest, 'policy.exclusion') });
    expect(checkExitCode(report)).toBe(0);
  });

  it('accepts nothing with a blank reason on the Deployment, and reports the annotation as an error on its line', async () => {
    const manifest = onWorkload('""');
    const report = await check(securityTowerRepo(manifest));
    expect(report.clusters[0]!.violations.map((v) => v.acceptance)).toEqual([null]);
    expect(report.clusters[0]!.errors).toEqual([
      {
        location: { file: 'apps/storage.yaml', line: lineOf(manifest, 'policy.exclusion') },
        code: 'acceptance',
        message: 'risk acceptance securitytower.io/policy.exclusion.stpreventprivileged has no reason; write why the risk is accepted (it accepts nothing until then)',
      },
    ]);
    expect(checkExitCode(report)).toBe(1);
  });
});
