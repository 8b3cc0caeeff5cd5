// The render cache's share of the benchmark (issue #13): a repository of kustomize overlays over
// shared bases, checked as the CLI checks it (each run a new renderer over the on-disk cache, as
// each `parapet check` is a new process): cold, warm and unchanged (target: rendering under 1 s),
// and after one base is touched (only the overlays that include it are built again).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRepo, type PolicyDriver, type Report } from '../src/engine/index.js';
import { HelperRenderer } from '../src/renderer/helper-renderer.js';
import { CachingRenderer, DiskRenderCache } from '../src/renderer/render-cache.js';
import { MemorySource } from '../test/helpers/memory-source.js';

export interface RenderCacheRun {
  label: string;
  seconds: number;
  renderSeconds: number;
  builds: number;
  cached: number;
}

export interface RenderCacheFigures {
  overlays: number;
  bases: number;
  /** Overlays that include the touched base. */
  including: number;
  runs: RenderCacheRun[];
}

/** `overlays` overlays, each over one of `bases` shared bases (a Deployment and a Service) with a patch and images:. */
export function overlayRepository(overlays: number, bases: number): Record<string, string> {
  const files: Record<string, string> = {
    '.securitytower/cluster.yaml': 'apiVersion: securitytower.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: fleet\nspec:\n  policies:\n    path: policies\n',
    'policies/README.md': 'Rendering only: no policy is enabled.\n',
  };
  for (let b = 0; b < bases; b++) {
    files[`bases/app-${b}/kustomization.yaml`] = 'resources:\n  - deployment.yaml\n  - service.yaml\n';
    files[`bases/app-${b}/deployment.yaml`] = [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      `  name: app-${b}`,
      'spec:',
      '  replicas: 2',
      `  selector: {matchLabels: {app: app-${b}}}`,
      '  template:',
      `    metadata: {labels: {app: app-${b}}}`,
      '    spec:',
      '      containers:',
      '        - name: main',
      `          image: ghcr.io/acme/app-${b}:1.0.0`,
      '          resources: {limits: {cpu: 500m, memory: 256Mi}}',
      '',
    ].join('\n');
    files[`bases/app-${b}/service.yaml`] = `apiVersion: v1\nkind: Service\nmetadata:\n  name: app-${b}\nspec:\n  selector: {app: app-${b}}\n  ports: [{port: 80}]\n`;
  }
  for (let o = 0; o < overlays; o++) {
    const b = o % bases;
    files[`overlays/env-${o}/kustomization.yaml`] = [
      `namespace: env-${o}`,
      'resources:',
      `  - ../../bases/app-${b}`,
      'patches:',
      '  - path: replicas.yaml',
      'images:',
      `  - name: ghcr.io/acme/app-${b}`,
      `    newTag: 1.${o}.0`,
      '',
    ].join('\n');
    files[`overlays/env-${o}/replicas.yaml`] = `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-${b}\nspec:\n  replicas: ${1 + (o % 5)}\n`;
  }
  return files;
}

export async function benchRenderCache(driver: PolicyDriver, overlays: number, bases: number): Promise<RenderCacheFigures> {
  const cacheDir = mkdtempSync(join(tmpdir(), 'parapet-bench-render-cache-'));
  const files = overlayRepository(overlays, bases);
  const runs: RenderCacheRun[] = [];
  const run = async (label: string, tree: Record<string, string>) => {
    // A new renderer per run: what one `parapet check` process finds is the cache on disk.
    const renderer = new CachingRenderer(new HelperRenderer(), new DiskRenderCache(cacheDir));
    const start = performance.now();
    const report = await checkRepo(new MemorySource(tree), { driver, renderer });
    const seconds = (performance.now() - start) / 1000;
    const renders = onlyCluster(report).stats.renders ?? { builds: 0, cached: 0, ms: 0 };
    if (renders.builds !== overlays) throw new Error(`${label}: ${renders.builds} builds for ${overlays} overlays`);
    runs.push({ label, seconds, renderSeconds: renders.ms / 1000, builds: renders.builds, cached: renders.cached });
  };
  try {
    await run('cold (empty cache)', files);
    await run('warm, unchanged', files);
    const touched = { ...files, 'bases/app-0/deployment.yaml': files['bases/app-0/deployment.yaml']!.replace('1.0.0', '1.0.1') };
    await run('one base touched', touched);
    return { overlays, bases, including: Math.ceil(overlays / bases), runs };
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

function onlyCluster(report: Report) {
  const cluster = report.clusters[0];
  const errors = [...report.errors, ...(cluster?.errors ?? [])];
  if (!cluster || errors.length > 0) throw new Error(`the overlay repository did not render cleanly: ${errors.map((e) => e.message).slice(0, 3).join('; ')}`);
  return cluster;
}

export function printRenderCache(figures: RenderCacheFigures): void {
  console.log(`\nRender cache: ${figures.overlays} kustomize overlays over ${figures.bases} shared bases, each run a new renderer over the on-disk cache (as each parapet check)`);
  for (const r of figures.runs) {
    console.log(`  ${r.label.padEnd(20)} check ${r.seconds.toFixed(2)} s, rendering ${r.renderSeconds.toFixed(2)} s: ${r.builds - r.cached} of ${r.builds} builds run, ${r.cached} from the cache`);
  }
  const warm = figures.runs[1]!;
  const touched = figures.runs[2]!;
  console.log(`  warm rendering of the unchanged repository: ${warm.renderSeconds.toFixed(2)} s (target < 1 s: ${warm.renderSeconds < 1 ? 'met' : 'MISSED'})`);
  console.log(`  one base touched: ${touched.builds - touched.cached} builds run, the ${figures.including} overlays that include it (${touched.builds - touched.cached === figures.including ? 'as expected' : 'UNEXPECTED'})`);
}
