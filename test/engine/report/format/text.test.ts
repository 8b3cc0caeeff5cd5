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

  it('ends with a summary per cluster and one overall', () => {
    const text = formatText(twoClusters(), plain);
    expect(text).toContain('  prod-eu: 2 deny (1 accepted), 1 warn, 1 dryrun, 1 error\n');
    expect(text).toContain('  staging: 1 deny, 1 warn, 1 error\n');
    expect(text.endsWith('2 clusters: 3 deny (1 accepted), 2 warn, 1 dryrun, 3 errors\n')).toBe(true);
  });

  it('marks violations new or existing only when asked to', () => {
    expect(formatText(twoClustersWithStatus(), { color: false, withStatus: true })).toMatch(/40  warn    \[new\] +k8scontainerlimits/);
    expect(formatText(twoClustersWithStatus(), { color: false, withStatus: true })).toContain('; 1 new, 5 existing\n');
    expect(formatText(twoClustersWithStatus(), plain)).not.toContain('[new]');
  });

  it('says so when there is nothing to report', () => {
    expect(formatText(cleanCluster(), plain)).toBe('prod-eu  .securitytower/cluster.yaml\n\n  no violations, no errors\n\n1 cluster: no violations, no errors\n');
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
