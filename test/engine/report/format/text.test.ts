import { describe, expect, it } from 'vitest';
import { formatText } from '../../../../src/engine/report/format/text.js';
import type { Report } from '../../../../src/engine/model.js';
import { expectGolden } from './golden.js';
import { cleanCluster, twoClusters, twoClustersWithStatus } from './report-fixtures.js';

const plain = { color: false, withStatus: false };

describe('formatText', () => {
  it.each([
    ['two clusters', 'two-clusters.txt', twoClusters, plain],
    ['two clusters compared with a base', 'two-clusters.status.txt', twoClustersWithStatus, { color: false, withStatus: true }],
    ['a clean cluster', 'clean-cluster.txt', cleanCluster, plain],
    ['two clusters in colour', 'two-clusters.color.txt', twoClusters, { color: true, withStatus: false }],
  ])('renders %s as in its golden file', (_name, golden, report, options) => {
    expectGolden(golden, formatText(report(), options));
  });

  it('puts each finding on one line: line, action, policy, message', () => {
    expect(formatText(twoClusters(), plain)).toContain(
      '    24  deny    k8spspprivilegedcontainer (psp-privileged-container)  [Implied by expand-workloads] Privileged container is not allowed: nginx, securityContext: {"privileged": true}',
    );
  });

  it('names the constraint only where it differs from the policy', () => {
    const text = formatText(twoClusters(), plain);
    expect(text).toContain('k8srequiredlabels (require-team-label)');
    expect(text).toMatch(/ k8spspallowprivilegeescalationcontainer +\[Implied by/);
  });

  it('marks an accepted risk with its level and reason under the finding', () => {
    expect(formatText(twoClusters(), plain)).toMatch(/\n +accepted \(namespace\): The legacy database image needs root until the 2025 migration \(SEC-1423\)\n/);
  });

  it('lists input errors under their file, with their code', () => {
    expect(formatText(twoClusters(), plain)).toContain('  apps/api/broken.yaml\n     7  error   yaml  YAML: Nested mappings');
  });

  it('lists errors that belong to no cluster before the clusters', () => {
    const text = formatText(twoClusters(), plain);
    expect(text.indexOf('.securitytower/old-cluster.yaml')).toBeLessThan(text.indexOf('prod-eu'));
  });

  it('indents the further lines of a multi-line message under its first', () => {
    const lines = formatText(twoClusters(), plain).split('\n');
    const first = lines.findIndex((line) => line.includes('container <api> has no resource limits'));
    expect(lines[first + 1]!.trimStart()).toBe('container <log-shipper> has no resource limits');
    expect(lines[first + 1]!.indexOf('container')).toBe(lines[first]!.indexOf('[Implied by'));
  });

  it('ends with a verdict and a summary per cluster and policy, then one overall', () => {
    const text = formatText(twoClusters(), plain);
    const summary = text.slice(text.indexOf('\nFAIL  Not in any cluster: 1 error\n') + 1);
    expect(summary).toBe(
      [
        'FAIL  Not in any cluster: 1 error',
        'FAIL  prod-eu: 2 deny (1 accepted), 1 warn, 1 dryrun, 1 error (6 constraints, 14 objects)',
        '        k8spspallowprivilegeescalationcontainer  1 deny (1 accepted)',
        '        k8spspprivilegedcontainer                1 deny',
        '        k8srequiredlabels                        1 warn',
        '        k8srestrictrbacwildcards                 1 dryrun',
        'FAIL  staging: 1 deny, 1 warn, 1 error (5 constraints, 12 objects)',
        '        k8scontainerlimits         1 warn',
        '        k8spspprivilegedcontainer  1 deny',
        '',
        'FAIL  2 clusters: 3 deny (1 accepted), 2 warn, 1 dryrun, 3 errors',
        '',
      ].join('\n'),
    );
  });

  it('passes a cluster whose denies are all accepted, and fails one with an input error alone', () => {
    const report = twoClusters();
    report.errors = [];
    const [prodEu, staging] = report.clusters;
    prodEu!.errors = [];
    prodEu!.violations = prodEu!.violations.filter((v) => v.enforcementAction !== 'deny' || v.acceptance !== null);
    staging!.violations = [];
    const text = formatText(report, plain);
    expect(text).toContain('\nPASS  prod-eu: 1 deny (1 accepted), 1 warn, 1 dryrun (6 constraints, 14 objects)\n');
    expect(text).toContain('\nFAIL  staging: 1 error (5 constraints, 12 objects)\n');
    expect(text).toMatch(/\nFAIL  2 clusters: [^\n]*\n$/);
  });

  it('counts new and existing per cluster and policy when compared with a base', () => {
    const text = formatText(twoClustersWithStatus(), { color: false, withStatus: true });
    expect(text).toContain('\nFAIL  staging: 1 deny, 1 warn, 1 error; 1 new, 1 existing (5 constraints, 12 objects)\n');
    expect(text).toContain('\n        k8scontainerlimits         1 warn; 1 new, 0 existing\n');
  });

  it('counts accepted warnings as accepted, like accepted denies', () => {
    const report = cleanCluster();
    const [prodEu] = twoClusters().clusters;
    report.clusters[0]!.violations = prodEu!.violations.filter((v) => v.enforcementAction === 'warn').map((v) => ({ ...v, acceptance: prodEu!.violations[1]!.acceptance }));
    expect(formatText(report, plain)).toMatch(/\nPASS  prod-eu: 1 warn \(1 accepted\) \(6 constraints, 9 objects\)\n {8}k8srequiredlabels {2}1 warn \(1 accepted\)\n$/);
  });

  it('marks violations new or existing only when asked to', () => {
    expect(formatText(twoClustersWithStatus(), { color: false, withStatus: true })).toMatch(/40  warn    \[new\] +k8scontainerlimits/);
    expect(formatText(twoClustersWithStatus(), { color: false, withStatus: true })).toMatch(/; 1 new, 5 existing\n$/);
    expect(formatText(twoClustersWithStatus(), plain)).not.toContain('[new]');
  });

  it('says in one line that there is nothing to report, and what was checked', () => {
    expect(formatText(cleanCluster(), plain)).toBe('PASS  prod-eu: no violations, no errors (6 constraints, 9 objects)\n');
  });

  it('leaves out a cluster with nothing to show, keeping its summary', () => {
    const report = twoClusters();
    report.clusters[1] = { ...report.clusters[1]!, violations: [], errors: [] };
    const text = formatText(report, plain);
    expect(text).not.toContain('staging  .securitytower/staging.yaml');
    expect(text).toContain('\nPASS  staging: no violations, no errors (5 constraints, 12 objects)\n');
  });

  it('says when a cluster has no policy enabled, and how to enable a standard', () => {
    const report = cleanCluster();
    report.clusters[0]!.stats = { objects: 9, constraints: 0, evaluations: 0 };
    report.config = { clusters: [{ name: 'prod-eu', location: { file: '.securitytower/cluster.yaml', line: 2 }, configuration: {}, policiesPath: 'policies/prod-eu', namespacePaths: [], k8sNativeValidation: true }], applications: [] };
    expect(formatText(report, plain)).toBe(
      'PASS  prod-eu: no violations, no errors (0 constraints, 9 objects)\n' +
        "        no policies are enabled (policies/prod-eu holds none): 'parapet policies enable --standard k8s/baseline --action warn' enables a standard\n",
    );
  });

  describe('quiet', () => {
    const quiet = { ...plain, quiet: true };

    it('lists only the unaccepted denies and the input errors, then the same summary', () => {
      const text = formatText(twoClusters(), quiet);
      expect(text).toContain('24  deny    k8spspprivilegedcontainer (psp-privileged-container)');
      expect(text).toContain('7  error   yaml  YAML: Nested mappings');
      expect(text).toContain('12  error   rego  Rego: rego_parse_error');
      expect(text).not.toContain('you must provide labels');
      expect(text).not.toContain('grants the wildcard verb');
      expect(text).not.toContain('has no resource limits');
      expect(text).not.toContain('accepted (namespace)');
      const full = formatText(twoClusters(), plain);
      expect(text.slice(text.indexOf('\nFAIL  Not in any cluster: 1 error\n'))).toBe(full.slice(full.indexOf('\nFAIL  Not in any cluster: 1 error\n')));
    });

    it('prints only the summary when nothing fails', () => {
      const report = twoClusters();
      report.errors = [];
      for (const cluster of report.clusters) {
        cluster.errors = [];
        cluster.violations = cluster.violations.filter((v) => v.enforcementAction !== 'deny' || v.acceptance !== null);
      }
      expect(formatText(report, quiet)).toBe(
        [
          'PASS  prod-eu: 1 deny (1 accepted), 1 warn, 1 dryrun (6 constraints, 14 objects)',
          '        k8spspallowprivilegeescalationcontainer  1 deny (1 accepted)',
          '        k8srequiredlabels                        1 warn',
          '        k8srestrictrbacwildcards                 1 dryrun',
          'PASS  staging: 1 warn (5 constraints, 12 objects)',
          '        k8scontainerlimits  1 warn',
          '',
          'PASS  2 clusters: 1 deny (1 accepted), 2 warn, 1 dryrun',
          '',
        ].join('\n'),
      );
    });
  });

  it('writes ANSI colours only when asked to', () => {
    expect(formatText(twoClusters(), plain)).not.toContain('\u001b[');
    expect(formatText(twoClusters(), { color: true, withStatus: false })).toContain('\u001b[31mdeny  \u001b[39m');
  });

  it('never sends control characters from the repository to the terminal', () => {
    const report: Report = twoClusters();
    report.clusters[0]!.violations[0]!.message = 'evil \u001b]0;owned\u0007 title\rhidden';
    const text = formatText(report, plain);
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    expect(text).toContain('evil \\x1b]0;owned\\x07 title\\x0dhidden');
  });

  it('does not reorder the Report it is given', () => {
    const report = twoClusters();
    const before = JSON.stringify(report);
    formatText(report, plain);
    expect(JSON.stringify(report)).toBe(before);
  });
});
