import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkExitCode, type Violation } from '../../src/engine/index.js';
import { check, repoRoot } from '../helpers/engine.js';
import { clusterConfig } from '../helpers/policy-builders.js';
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
        message:
          '[Implied by expand-workloads] container <driver> runs privileged (spec.containers[0].securityContext.privileged is true): set it to false, and grant only the capabilities it needs',
        line: 21,
        accepted: 'podTemplate: Needs the host block devices.',
      },
    ]);
    expect(checkExitCode(report)).toBe(0);
  });

  it('does not accept through the Deployment\'s own metadata, which the implied Pod (and so the cluster) never sees', async () => {
    const onWorkload = deployment('        team: storage').replace(
      '  namespace: shop\n',
      '  namespace: shop\n  annotations:\n    securitytower.io/policy.exclusion.preventprivileged: Needs the host block devices.\n',
    );
    const report = await check(
      repo({ 'policies/constraints/preventprivileged-constraint.yaml': library('constraint.yaml'), 'apps/storage.yaml': onWorkload }),
    );
    expect(report.clusters[0]!.violations.map((v) => v.acceptance)).toEqual([null]);
    expect(checkExitCode(report)).toBe(1);
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
