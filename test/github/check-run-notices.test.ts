// What Parapet could not render (a chart from a Helm repository) is said in the check run: a notice
// annotation on the line that names it and a section of the summary, without failing the check.
import { describe, expect, it } from 'vitest';
import type { ClusterReport } from '../../src/engine/index.js';
import { clusterCheckOutput } from '../../src/github/check-run.js';

const notice = {
  location: { file: 'apps/production/web.yaml', line: 9 },
  code: 'render' as const,
  message: 'HelmRelease shop/web: chart podinfo@6.7.1 from HelmRepository flux-system/podinfo was not rendered: charts from a Helm or OCI repository are not fetched; Parapet renders charts in this repository only',
};

const cluster: ClusterReport = { name: 'production', config: '.securitytower/production.yaml', violations: [], errors: [], notices: [notice], images: [], stats: { objects: 6, constraints: 2, evaluations: 0 } };

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
});
