import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ClusterReport, Report } from '../../src/engine/index.js';
import { check, fixtureRepo, fixturesDir } from '../helpers/engine.js';

// Cyclic Flux references (issue #13, bad input): a dependsOn cycle, a Kustomization that syncs the
// folder of one that applies it, and a Kustomization applied again from below. Each is an input
// error on the line that names it; rendering does not follow the cycle, and the rest of the cluster
// (the flux-helm fixture: a HelmRelease of a chart in the repository) is still evaluated.

function fixtureFile(path: string): string {
  return readFileSync(join(fixturesDir, 'repos', 'flux-helm', path), 'utf8');
}

function production(report: Report): ClusterReport {
  expect(report.errors).toEqual([]);
  return report.clusters.find((c) => c.name === 'production')!;
}

function errors(cluster: ClusterReport): string[] {
  return cluster.errors.map((e) => `${e.location.file}:${e.location.line} ${e.message}`);
}

const findings = [
  'apps/production/web-values.yaml:10 no-privileged: container worker is privileged',
  'apps/production/web.yaml:24 pinned-images: container web: image registry.example.com/shop/web:2.4.1 is not pinned by digest',
];

const infra = (extra: string) =>
  `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: infra\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./infra/shared\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n${extra}`;

describe('cyclic Flux references', () => {
  it('reports each dependsOn of a dependency cycle on its line, and evaluates the rest', async () => {
    const report = await check(
      fixtureRepo('flux-helm', {
        'clusters/production/apps.yaml': `${fixtureFile('clusters/production/apps.yaml')}  dependsOn:\n    - name: infra\n`,
        'clusters/production/infra.yaml': infra('  dependsOn:\n    - name: apps\n'),
        'infra/shared/namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: infra\n',
      }),
    );
    const cluster = production(report);
    expect(errors(cluster)).toEqual([
      'clusters/production/apps.yaml:14 Kustomization flux-system/apps: dependsOn flux-system/infra is a dependency cycle (flux-system/apps, flux-system/infra wait for one another), so Flux applies none of them',
      'clusters/production/infra.yaml:14 Kustomization flux-system/infra: dependsOn flux-system/apps is a dependency cycle (flux-system/apps, flux-system/infra wait for one another), so Flux applies none of them',
    ]);
    expect(cluster.violations.map((v) => `${v.location.file}:${v.location.line} ${v.constraint}: ${v.message}`)).toEqual(findings);
  });

  it('reports a Kustomization whose path is the folder of one that applies it on its spec.path line, and does not follow it', async () => {
    const report = await check(
      fixtureRepo('flux-helm', {
        'clusters/production/infra.yaml': infra(''),
        'infra/shared/again.yaml': fixtureFile('clusters/production/apps.yaml').replace('name: apps', 'name: again').replace('./apps/production', './infra/shared'),
      }),
    );
    const cluster = production(report);
    expect(errors(cluster)).toEqual([
      'infra/shared/again.yaml:8 Kustomization flux-system/again: spec.path ./infra/shared is the path of Kustomization flux-system/infra, which applies this Kustomization: a cycle (flux-system/infra → flux-system/again → flux-system/infra); it is not followed',
    ]);
    expect(cluster.violations).toHaveLength(2);
  });

  it('reports an ancestor Kustomization applied again from below on that copy’s line', async () => {
    const report = await check(
      fixtureRepo('flux-helm', {
        'clusters/production/infra.yaml': infra(''),
        'infra/shared/flux-system.yaml': fixtureFile('clusters/production/flux-system/gotk-sync.yaml').split('---\n')[1]!,
      }),
    );
    const cluster = production(report);
    expect(errors(cluster)).toEqual([
      // The copy is an object infra applies, beside the one flux bootstrap wrote.
      'infra/shared/flux-system.yaml:2 Kustomization flux-system in namespace flux-system is declared twice (also at clusters/production/flux-system/gotk-sync.yaml:13); the cluster would keep only one of them',
      'infra/shared/flux-system.yaml:2 Kustomization flux-system/flux-system is applied again by Kustomization flux-system/infra, which it applies: a cycle (flux-system/flux-system → flux-system/infra → flux-system/flux-system); it is not followed again',
    ]);
    expect(cluster.violations).toHaveLength(2);
  });

  it('leaves the Kustomization that applies itself (flux bootstrap) alone', async () => {
    const cluster = production(await check(fixtureRepo('flux-helm')));
    expect(cluster.errors).toEqual([]);
  });
});
