// Rendering a large repository takes time; the check run's summary says how long, and how much the
// render cache spared, when it is worth a line (over 2 s).
import { describe, expect, it } from 'vitest';
import type { ClusterReport, RenderStats } from '../../src/engine/index.js';
import { clusterCheckOutput } from '../../src/github/check-run.js';

function cluster(renders?: RenderStats): ClusterReport {
  return { name: 'production', config: '.securitytower/production.yaml', violations: [], errors: [], images: [], stats: { objects: 400, constraints: 2, evaluations: 800, ...(renders ? { renders } : {}) } };
}

describe('the render time in the check run summary', () => {
  it('says how long rendering took, and how many builds ran and were reused, when it took over 2 s', () => {
    const output = clusterCheckOutput(cluster({ builds: 200, cached: 190, ms: 4250 }), []);
    expect(output.summary).toContain('Rendering took 4.3 s: 10 builds run, 190 reused from the render cache.');
  });

  it('says nothing of rendering that took less, or of a cluster that rendered nothing', () => {
    expect(clusterCheckOutput(cluster({ builds: 200, cached: 200, ms: 640 }), []).summary).not.toContain('Rendering');
    expect(clusterCheckOutput(cluster(), []).summary).not.toContain('Rendering');
  });
});
