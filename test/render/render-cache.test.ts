import { copyFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RenderOutcome, Renderer, RenderRequest, Report } from '../../src/engine/index.js';
import { defaultRenderPath, HelperRenderer } from '../../src/renderer/helper-renderer.js';
import { CachingRenderer, DiskRenderCache, MemoryRenderCache } from '../../src/renderer/render-cache.js';
import { readEngineConfig } from '../../src/config.js';
import { startEngineRuntime } from '../../src/runtime.js';
import { check, fixtureRepo, testCacheDir } from '../helpers/engine.js';

// The render cache (issue #13): a build is reused only while every file, folder listing and absent
// path it read is as it was. Each case changes one input and proves the next build is run again and
// equals what the helper builds without any cache: a stale output is never served.

const base = {
  'apps/base/kustomization.yaml': 'resources:\n  - deployment.yaml\n',
  'apps/base/deployment.yaml': [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: web',
    'spec:',
    '  template:',
    '    spec:',
    '      containers:',
    '        - name: web',
    '          image: nginx:1.27',
    '',
  ].join('\n'),
  'apps/production/kustomization.yaml': 'resources:\n  - ../base\nnamePrefix: prod-\n',
  'apps/staging/kustomization.yaml': 'resources:\n  - ../base\nnamePrefix: staging-\n',
  'apps/other/kustomization.yaml': 'resources:\n  - config.yaml\n',
  'apps/other/config.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\ndata:\n  a: "1"\n',
  // A Flux path without a kustomization: Flux lists the folder's manifests.
  'infrastructure/namespaces.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n',
  'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 1.0.0\n',
  'charts/web/values.yaml': 'image: nginx:1.27\n',
  'charts/web/templates/deployment.yaml': [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: {{ .Release.Name }}',
    'spec:',
    '  template:',
    '    spec:',
    '      containers:',
    '        - name: web',
    '          image: {{ .Values.image }}',
    '',
  ].join('\n'),
};

const production: RenderRequest = { kind: 'kustomize', path: 'apps/production' };
const infrastructure: RenderRequest = { kind: 'flux', path: 'infrastructure', kustomization: { spec: { path: './infrastructure' } }, substituteFrom: {} };
const chart = (values: string): RenderRequest => ({ kind: 'helm', chart: 'charts/web', releaseName: 'web', namespace: 'shop', values: [{ name: 'values', yaml: values }], includeCRDs: true });

async function build(renderer: Renderer, files: Record<string, string>, request: RenderRequest): Promise<RenderOutcome> {
  const session = await renderer.open(new Map(Object.entries(files)));
  try {
    return await session.render(request);
  } finally {
    await session.close();
  }
}

function without(files: Record<string, string>, path: string): Record<string, string> {
  const copy = { ...files };
  delete copy[path];
  return copy;
}

function names(outcome: RenderOutcome): string[] {
  if (!outcome.ok) return [`error: ${outcome.error}`];
  return outcome.objects.map((o) => `${String(o.object.kind)}/${String((o.object.metadata as { name: string }).name)}`);
}

/** Builds `before`, then `after`: the second must be built again and equal the helper's own build of `after`. */
async function expectRebuilt(before: Record<string, string>, after: Record<string, string>, request: RenderRequest, afterRequest: RenderRequest = request): Promise<RenderOutcome> {
  const cached = new CachingRenderer(new HelperRenderer(), new MemoryRenderCache());
  expect((await build(cached, before, request)).cached).toBeUndefined();
  expect((await build(cached, before, request)).cached).toBe(true);
  const again = await build(cached, after, afterRequest);
  expect(again.cached).toBeUndefined();
  expect(again).toEqual(await build(new HelperRenderer(), after, afterRequest));
  return again;
}

function image(outcome: RenderOutcome): unknown {
  if (!outcome.ok) throw new Error(outcome.error);
  return (outcome.objects[0]!.object as { spec: { template: { spec: { containers: Array<{ image: string }> } } } }).spec.template.spec.containers[0]!.image;
}

describe('the render cache', () => {
  it('reuses a build whose inputs are unchanged, equal to the build itself, even when other files changed', async () => {
    const cached = new CachingRenderer(new HelperRenderer(), new MemoryRenderCache());
    const first = await build(cached, base, production);
    expect(names(first)).toEqual(['Deployment/prod-web']);
    const unrelated = { ...base, 'apps/other/config.yaml': base['apps/other/config.yaml'].replace('"1"', '"2"'), 'README.md': '# shop\n' };
    const second = await build(cached, unrelated, production);
    expect(second.cached).toBe(true);
    expect({ ...second, cached: undefined }).toEqual({ ...first, cached: undefined });
  });

  it('builds again when a file the build read is edited (a base the overlay includes)', async () => {
    const edited = { ...base, 'apps/base/deployment.yaml': base['apps/base/deployment.yaml'].replace('nginx:1.27', 'nginx:1.28') };
    expect(image(await expectRebuilt(base, edited, production))).toBe('nginx:1.28');
  });

  it('builds again when a file is added to a folder the build listed (Flux generating a kustomization)', async () => {
    const added = { ...base, 'infrastructure/monitoring.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: monitoring\n' };
    expect(names(await expectRebuilt(base, added, infrastructure))).toEqual(['Namespace/monitoring', 'Namespace/shop']);
  });

  it('builds again when a file the build read is removed', async () => {
    const removed = without(base, 'apps/base/deployment.yaml');
    expect(names(await expectRebuilt(base, removed, production))[0]).toMatch(/^error: .*deployment\.yaml/);
  });

  it('keeps no failed build: the next check builds it again', async () => {
    const cached = new CachingRenderer(new HelperRenderer(), new MemoryRenderCache());
    const broken = without(base, 'apps/base/deployment.yaml');
    expect((await build(cached, broken, production)).ok).toBe(false);
    const again = await build(cached, broken, production);
    expect(again.ok).toBe(false);
    expect(again.cached).toBeUndefined();
  });

  it('builds again when a file appears where the build found none (a kustomization in a folder Flux generated one for)', async () => {
    const added = { ...base, 'infrastructure/kustomization.yaml': 'resources: []\n' };
    expect(names(await expectRebuilt(base, added, infrastructure))).toEqual([]);
  });

  it("builds again when a release's values change, and when the chart's own values file changes", async () => {
    expect(image(await expectRebuilt(base, base, chart('image: nginx:1.27\n'), chart('image: nginx:1.29\n')))).toBe('nginx:1.29');
    const chartValues = { ...base, 'charts/web/values.yaml': 'image: nginx:1.30\n' };
    expect(image(await expectRebuilt(base, chartValues, chart('{}\n')))).toBe('nginx:1.30');
  });

  it("builds again when a chart's template changes", async () => {
    const template = { ...base, 'charts/web/templates/deployment.yaml': base['charts/web/templates/deployment.yaml'].replace('name: web', 'name: app') };
    const outcome = await expectRebuilt(base, template, chart('{}\n'));
    if (!outcome.ok) throw new Error(outcome.error);
    expect((outcome.objects[0]!.object as { spec: { template: { spec: { containers: Array<{ name: string }> } } } }).spec.template.spec.containers[0]!.name).toBe('app');
  });

  it("builds again when the request's parameters change (a Flux Kustomization's namePrefix)", async () => {
    const other = (spec: Record<string, unknown>): RenderRequest => ({ kind: 'flux', path: 'apps/other', kustomization: { spec: { path: './apps/other', ...spec } }, substituteFrom: {} });
    expect(names(await expectRebuilt(base, base, other({}), other({ namePrefix: 'x-' })))).toEqual(['ConfigMap/x-other']);
  });

  it('builds again after the helper is rebuilt, and reuses builds on disk across processes until then', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-render-cache-'));
    const helper = join(dir, 'render');
    copyFileSync(defaultRenderPath, helper);
    writeFileSync(`${helper}.version`, 'v0.21.1 aaaa\n');
    const disk = () => new CachingRenderer(new HelperRenderer({ renderPath: helper }), new DiskRenderCache(join(dir, 'cache')));
    expect((await build(disk(), base, production)).cached).toBeUndefined();
    // A new renderer, as the next `parapet check` makes: the build is read back from disk.
    expect((await build(disk(), base, production)).cached).toBe(true);
    writeFileSync(`${helper}.version`, 'v0.21.1 bbbb\n');
    const upgraded = await build(disk(), base, production);
    expect(upgraded.cached).toBeUndefined();
    expect(names(upgraded)).toEqual(['Deployment/prod-web']);
    expect(readdirSync(join(dir, 'cache')).length).toBeGreaterThan(0);
  });

  it('rebuilds only the overlays that include a touched base', async () => {
    const cached = new CachingRenderer(new HelperRenderer(), new MemoryRenderCache());
    const requests: RenderRequest[] = ['apps/production', 'apps/staging', 'apps/other'].map((path) => ({ kind: 'kustomize', path }));
    const run = async (files: Record<string, string>) => {
      const session = await cached.open(new Map(Object.entries(files)));
      const outcomes = [];
      for (const request of requests) outcomes.push(await session.render(request));
      await session.close();
      return outcomes.map((o) => (o.cached ? 'cached' : 'built'));
    };
    expect(await run(base)).toEqual(['built', 'built', 'built']);
    expect(await run(base)).toEqual(['cached', 'cached', 'cached']);
    const touched = { ...base, 'apps/base/deployment.yaml': `${base['apps/base/deployment.yaml']}# touched\n` };
    expect(await run(touched)).toEqual(['built', 'built', 'cached']);
  });

  it('keeps the memory cache within its bound, dropping the least recently used builds', async () => {
    const paths = ['apps/production', 'apps/staging', 'apps/other'];
    const sizes: number[] = [];
    for (const path of paths) {
      const alone = new MemoryRenderCache();
      await build(new CachingRenderer(new HelperRenderer(), alone), base, { kind: 'kustomize', path });
      sizes.push(alone.size.bytes);
    }
    // Room for the last two builds, not for all three.
    const bound = sizes[1]! + sizes[2]!;
    const store = new MemoryRenderCache(bound);
    const cached = new CachingRenderer(new HelperRenderer(), store);
    for (const path of paths) await build(cached, base, { kind: 'kustomize', path });
    expect(store.size).toEqual({ keys: 2, bytes: bound });
    expect((await build(cached, base, { kind: 'kustomize', path: 'apps/other' })).cached).toBe(true);
    expect((await build(cached, base, production)).cached).toBeUndefined();
  });
});

describe('a check through the render cache', () => {
  function comparable(report: Report): unknown {
    return { ...report, clusters: report.clusters.map((c) => ({ ...c, stats: { ...c.stats, renders: undefined } })) };
  }

  for (const repo of ['flux-monorepo', 'flux-helm', 'kustomize-overlay']) {
    it(`reports the same findings on the same lines with and without the cache (${repo})`, async () => {
      const renderer = new CachingRenderer(new HelperRenderer(), new MemoryRenderCache());
      const plain = await check(fixtureRepo(repo));
      const cold = await check(fixtureRepo(repo), { renderer });
      const warm = await check(fixtureRepo(repo), { renderer });
      expect(plain.clusters.some((c) => c.violations.length > 0)).toBe(true);
      expect(comparable(cold)).toEqual(comparable(plain));
      expect(comparable(warm)).toEqual(comparable(plain));
      for (const cluster of warm.clusters) {
        expect(cluster.stats.renders!.builds).toBeGreaterThan(0);
        expect(cluster.stats.renders!.cached).toBe(cluster.stats.renders!.builds);
      }
      expect(cold.clusters[0]!.stats.renders!.cached).toBe(0);
    });
  }
});

describe("the App's render cache", () => {
  it('is shared by every check of the process, in memory: the second check of a tree builds nothing, and none is written to disk', async () => {
    const diskDir = mkdtempSync(join(tmpdir(), 'parapet-app-render-cache-'));
    const config = { ...readEngineConfig({ PARAPET_CACHE_DIR: diskDir, PARAPET_WORKERS: '1' }), cacheDir: testCacheDir };
    const runtime = startEngineRuntime(config, { renderCache: 'memory' });
    try {
      const first = await check(fixtureRepo('kustomize-overlay'), { driver: runtime.driver, renderer: runtime.renderer });
      const second = await check(fixtureRepo('kustomize-overlay'), { driver: runtime.driver, renderer: runtime.renderer });
      expect(first.clusters[0]!.stats.renders).toMatchObject({ builds: 1, cached: 0 });
      expect(second.clusters[0]!.stats.renders).toMatchObject({ builds: 1, cached: 1 });
      expect(readdirSync(diskDir)).toEqual([]);
    } finally {
      await runtime.close();
    }
  });
});
