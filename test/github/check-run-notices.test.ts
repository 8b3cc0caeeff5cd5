// What Parapet could not render (a chart from a Helm repository) and the lines the cluster's tools
// read otherwise (a YAML warning) are said in the check run: an annotation on the line, when the
// pull request writes that line, and a section of the summary, without ever changing the verdict.
import { describe, expect, it } from 'vitest';
import type { ClusterReport, InputError, Violation } from '../../src/engine/index.js';
import { clusterCheckOutput } from '../../src/github/check-run.js';

const notice: InputError = {
  location: { file: 'apps/production/web.yaml', line: 9 },
  code: 'render',
  message: 'HelmRelease shop/web: chart podinfo@6.7.1 from HelmRepository flux-system/podinfo was not rendered: charts from a Helm or OCI repository are not fetched; Parapet renders charts in this repository only',
};

const warning: InputError = {
  location: { file: 'apps/production/debug.yaml', line: 11 },
  code: 'yaml-reading',
  message:
    'YAML: sigs.k8s.io/yaml (kubectl, Argo CD) reads spec.hostNetwork as false, kyaml (Flux, kustomize) as the string "no"; write `false` for the boolean, or quote it ("no") for the string',
};

/** The same warning on a line of a file the pull request does not touch. */
const oldWarning: InputError = { ...warning, location: { file: 'apps/production/legacy.yaml', line: 4 } };

const cluster: ClusterReport = { name: 'production', config: '.securitytower/production.yaml', violations: [], errors: [], notices: [notice], images: [], stats: { objects: 6, constraints: 2, evaluations: 0 } };

function violation(action: Violation['enforcementAction']): Violation {
  return {
    cluster: 'production',
    policy: 'preventprivileged',
    constraint: 'no-privileged',
    enforcementAction: action,
    message: 'Privileged container is not allowed: shell',
    details: {},
    location: { file: 'apps/production/debug.yaml', line: 22 },
    object: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'debug-shell', namespace: 'shop' },
    acceptance: null,
    status: 'new',
  };
}

describe('a chart Parapet could not render', () => {
  it('is a notice annotation on its line and a section of the summary, and the check still succeeds', () => {
    const output = clusterCheckOutput(cluster, []);
    expect(output.conclusion).toBe('success');
    expect(output.annotations).toEqual([
      { path: 'apps/production/web.yaml', start_line: 9, end_line: 9, annotation_level: 'notice', title: 'not rendered', message: notice.message },
    ]);
    expect(output.summary).toContain('### Not rendered (1)');
    expect(output.summary).toMatch(/^- `apps\/production\/web.yaml:9` HelmRelease shop\/web: chart podinfo.*was not rendered/m);
  });

  it('is not annotated on a line the pull request does not change, and the summary says so', () => {
    const output = clusterCheckOutput(cluster, [], undefined, new Map([['apps/production/web.yaml', new Set([8, 10])]]));
    expect(output.annotations).toEqual([]);
    expect(output.summary).toContain('### Not rendered (1)');
    expect(output.summary).toContain('1 is on lines this pull request does not change, so it is listed here only.');
  });
});

describe('a line kubectl and Flux read differently', () => {
  const warned: ClusterReport = { ...cluster, notices: [], warnings: [warning, oldWarning] };
  const changed = new Map([['apps/production/debug.yaml', new Set([1, 2, 3, 11])]]);

  it('is a warning annotation on its line when the pull request writes that line', () => {
    const output = clusterCheckOutput(warned, [], undefined, changed);
    expect(output.annotations).toEqual([
      {
        path: 'apps/production/debug.yaml',
        start_line: 11,
        end_line: 11,
        annotation_level: 'warning',
        title: 'read differently by kubectl and Flux (yaml-reading)',
        message: warning.message,
      },
    ]);
  });

  it('is listed in the summary with its place, and the ones on lines the pull request does not change are counted', () => {
    const { summary } = clusterCheckOutput(warned, [], undefined, changed);
    expect(summary).toContain('### Warnings (2)');
    expect(summary).toContain('1 on lines this pull request changes is annotated; 1 is on lines this pull request does not change, so it is listed here only.');
    expect(summary).toContain('- `apps/production/debug.yaml:11` YAML: sigs.k8s.io/yaml (kubectl, Argo CD) reads spec.hostNetwork as false');
    expect(summary).toContain('- `apps/production/legacy.yaml:4` YAML: sigs.k8s.io/yaml (kubectl, Argo CD) reads spec.hostNetwork as false');
  });

  it('is annotated wherever it is when there is no diff to compare with', () => {
    const output = clusterCheckOutput(warned, []);
    expect(output.annotations.map((a) => [a.path, a.start_line, a.annotation_level])).toEqual([
      ['apps/production/debug.yaml', 11, 'warning'],
      ['apps/production/legacy.yaml', 4, 'warning'],
    ]);
    expect(output.summary).toContain('Each is annotated on its line.');
  });
});

describe('warnings and notices never change the verdict', () => {
  const verdicts: Array<[string, Violation[], InputError[], string]> = [
    ['no finding', [], [], 'success'],
    ['a new warn violation', [violation('warn')], [], 'neutral'],
    ['a new deny violation', [violation('deny')], [], 'failure'],
    ['an input error', [], [{ location: { file: 'apps/production/broken.yaml', line: 3 }, code: 'yaml', message: 'YAML: bad indentation' }], 'failure'],
  ];

  it.each(verdicts)('%s concludes the same with them as without them', (_, violations, errors, conclusion) => {
    const plain: ClusterReport = { ...cluster, notices: [], violations };
    const noisy: ClusterReport = { ...plain, warnings: [warning, oldWarning], notices: [notice] };
    const without = clusterCheckOutput(plain, errors);
    const withThem = clusterCheckOutput(noisy, errors, undefined, new Map([['apps/production/debug.yaml', new Set([11])]]));
    expect(without.conclusion).toBe(conclusion);
    expect(withThem.conclusion).toBe(conclusion);
    expect(withThem.title).toBe(without.title);
  });
});
