import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { repoRoot } from '../helpers/engine.js';

// A risk acceptance on a workload's own metadata, as Gatekeeper's gator judges the library's
// templates with the referential data a Config syncing the workloads gives them: the Pods the
// controllers create, found through their owners, are admitted, and so is the workload once the
// inventory holds it. Parapet's verify must agree on every case.
const gator = join(repoRoot, 'tools', 'bin', 'gator');

beforeAll(() => {
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build-go-tool.mjs'), 'gator'], { stdio: 'inherit' });
}, 15 * 60_000);

const owner = (apiVersion: string, kind: string, name: string) => `  ownerReferences:
    - apiVersion: ${apiVersion}
      kind: ${kind}
      name: ${name}
      uid: 6f1d2c3b-0a9e-4b8d-9c7f-1e2d3c4b5a69
      controller: true
`;

/** The library policy, how a Pod breaks it, and the suite that puts owners in the inventory. */
function suiteFolder(policy: string, podSpec: string): string {
  const dir = mkdtempSync(join(tmpdir(), `parapet-owners-${policy}-`));
  mkdirSync(join(dir, 'samples'));
  copyFileSync(join(repoRoot, 'policies', policy, 'template.yaml'), join(dir, 'template.yaml'));
  copyFileSync(join(repoRoot, 'policies', policy, 'constraint.yaml'), join(dir, 'constraint.yaml'));
  copyFileSync(join(repoRoot, 'policies', 'expansion.yaml'), join(dir, 'expansion.yaml'));
  const indent = (text: string, by: number) => text.replace(/^(?=.)/gm, ' '.repeat(by));
  const accept = (reason: string) => `  annotations:\n    securitytower.io/policy.exclusion.${policy}: ${reason}\n`;
  const pod = (name: string, owners: string) => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  namespace: shop\n${owners}spec:\n${indent(podSpec, 2)}`;
  const deployment = (name: string, annotations: string, owners = '') =>
    `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n  namespace: shop\n${annotations}${owners}spec:\n  selector:\n    matchLabels:\n      app: ${name}\n  template:\n    metadata:\n      labels:\n        app: ${name}\n    spec:\n${indent(podSpec, 6)}`;
  const replicaSet = (name: string, deploymentName: string) =>
    `apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: ${name}\n  namespace: shop\n${owner('apps/v1', 'Deployment', deploymentName)}spec:\n  selector:\n    matchLabels:\n      app: ${deploymentName}\n  template:\n    metadata:\n      labels:\n        app: ${deploymentName}\n    spec:\n${indent(podSpec, 6)}`;
  const files: Record<string, string> = {
    'samples/web-pod.yaml': pod('web-7c9d-x2x7q', owner('apps/v1', 'ReplicaSet', 'web-7c9d')),
    'samples/batch-pod.yaml': pod('nightly-29405160-7wq4m', owner('batch/v1', 'Job', 'nightly-29405160')),
    'samples/other-pod.yaml': pod('api-5c8d-qm2lp', owner('apps/v1', 'ReplicaSet', 'api-5c8d')),
    'samples/web-deployment.yaml': deployment('web', accept('The vendor requires it; ticket OPS-1234.')),
    'samples/inventory.yaml': [
      replicaSet('web-7c9d', 'web'),
      deployment('web', accept('The vendor requires it; ticket OPS-1234.')),
      `apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: nightly-29405160\n  namespace: shop\n${owner('batch/v1', 'CronJob', 'nightly')}spec:\n  template:\n    spec:\n${indent(podSpec, 6)}`,
      `apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: nightly\n  namespace: shop\n${accept('Runs once a night on the storage nodes.')}spec:\n  schedule: "0 2 * * *"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n${indent(podSpec, 10)}`,
      replicaSet('api-5c8d', 'api'),
      deployment('api', accept('""')),
    ].join('---\n'),
    'suite.yaml': `apiVersion: test.gatekeeper.sh/v1alpha1
kind: Suite
metadata:
  name: ${policy}-owners
tests:
  - name: acceptances on the owners
    template: template.yaml
    constraint: constraint.yaml
    expansion: expansion.yaml
    cases:
      - name: the Pod of a Deployment carrying the acceptance is admitted
        object: samples/web-pod.yaml
        inventory: [samples/inventory.yaml]
        assertions:
          - violations: no
      - name: the Pod of a CronJob carrying the acceptance is admitted
        object: samples/batch-pod.yaml
        inventory: [samples/inventory.yaml]
        assertions:
          - violations: no
      - name: the same Pod without its owners synced is refused
        object: samples/web-pod.yaml
        assertions:
          - violations: yes
      - name: the Pod of a Deployment whose acceptance is blank is refused
        object: samples/other-pod.yaml
        inventory: [samples/inventory.yaml]
        assertions:
          - violations: yes
      - name: the Deployment is admitted when the inventory holds it with the acceptance
        object: samples/web-deployment.yaml
        inventory: [samples/inventory.yaml]
        assertions:
          - violations: no
      - name: the Deployment is refused while the inventory does not hold it
        object: samples/web-deployment.yaml
        assertions:
          - violations: yes
`,
  };
  for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text);
  return dir;
}

describe('a risk acceptance on the workload that owns a Pod, in gator and in Parapet', () => {
  it.each([
    ['preventprivileged', 'containers:\n  - name: driver\n    image: registry.example.com/storage/driver:4.1.0\n    securityContext:\n      privileged: true\n'],
    ['preventhostnamespaces', 'hostNetwork: true\ncontainers:\n  - name: agent\n    image: registry.example.com/net/agent:2.0.0\n'],
  ])('%s: gator admits the Pod whose owner carries the acceptance, and parapet verify agrees case by case', async (policy, podSpec) => {
    const dir = suiteFolder(policy, podSpec);
    const theirs = spawnSync(gator, ['verify', '--enable-k8s-native-validation=false', '-v', `${dir}/...`], { encoding: 'utf8' });
    expect(theirs.stdout + theirs.stderr).not.toMatch(/FAIL/);
    expect(theirs.stdout).toMatch(/--- PASS: the Pod of a Deployment carrying the acceptance is admitted/);
    expect(theirs.status).toBe(0);
    const ours = await runCli(['verify', dir], { cwd: dir });
    expect(ours.stdout + ours.stderr).toMatch(/6 passed, 0 failed/);
    expect(ours.code).toBe(0);
  });
});
