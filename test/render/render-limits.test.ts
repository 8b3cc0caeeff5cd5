import { describe, expect, it } from 'vitest';
import type { RenderSession } from '../../src/engine/index.js';
import { renderCluster } from '../../src/engine/render/render-cluster.js';
import { RepoFiles } from '../../src/engine/repo/repo-files.js';
import { readSecurityTowerConfig } from '../../src/engine/repo/security-tower.js';
import { defaultYamlLimits, parseYamlFile } from '../../src/engine/repo/yaml-file.js';
import { HelperRenderer, type HelperRendererOptions } from '../../src/renderer/helper-renderer.js';
import { MemorySource } from '../helpers/memory-source.js';

// Each build runs under a time and a memory limit (issue #13): a chart whose templates never end,
// or build a string without bound, is an input error on its Chart.yaml, and the rest of the cluster,
// rendered by a fresh helper, is still evaluated.

const cluster = 'apiVersion: securitytower.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: production\nspec:\n  policies:\n    path: policies\n  manifests:\n    - path: charts/runaway\n    - path: charts/fine\n';
const chart = (name: string, template: string) => ({
  [`charts/${name}/Chart.yaml`]: `apiVersion: v2\nname: ${name}\nversion: 0.1.0\n`,
  [`charts/${name}/templates/configmap.yaml`]: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  text: "${template}"\n`,
});

async function render(runaway: string, options: HelperRendererOptions) {
  const source = new MemorySource({ '.securitytower/production.yaml': cluster, ...chart('runaway', runaway), ...chart('fine', 'ok') });
  const files = new RepoFiles(source, defaultYamlLimits, { parseYamlFiles: async (list, limits) => list.map((f) => parseYamlFile(f.path, f.text, limits)) });
  const config = readSecurityTowerConfig((await files.documents(['.securitytower/production.yaml'])).documents);
  const all = await source.readFiles((await source.listFiles()).map((f) => f.path));
  let session: Promise<RenderSession> | undefined;
  try {
    return await renderCluster({ cluster: config.clusters[0]!, clusters: config.clusters, applications: config.applications, files, session: () => (session ??= new HelperRenderer(options).open(all)) });
  } finally {
    await (await session)?.close();
  }
}

describe('a build past its limits', () => {
  it('stops a template that runs past the time limit, reports it on its chart, and renders the next chart', async () => {
    const started = Date.now();
    const rendered = await render('{{ range $i := until 2000000000 }}{{ end }}', { timeoutMs: 1500 });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(rendered.errors).toEqual([{ location: { file: 'charts/runaway/Chart.yaml', line: 1 }, code: 'render', message: 'helm template charts/runaway failed: the build took longer than 2 s and was stopped' }]);
    expect(rendered.documents.map((doc) => `${doc.file} ${(doc.value as { metadata: { name: string } }).metadata.name}`)).toEqual(['charts/fine/templates/configmap.yaml fine']);
  });

  it('stops a template that builds a string past the memory limit, reports it on its chart, and renders the next chart', async () => {
    const rendered = await render('{{ range $i := until 200000000 }}{{ $i }}{{ end }}', { timeoutMs: 60_000, memoryLimitMiB: 128 });
    expect(rendered.errors).toEqual([{ location: { file: 'charts/runaway/Chart.yaml', line: 1 }, code: 'render', message: 'helm template charts/runaway failed: the build used more than 128 MiB of memory and was stopped' }]);
    expect(rendered.documents.map((doc) => `${doc.file} ${(doc.value as { metadata: { name: string } }).metadata.name}`)).toEqual(['charts/fine/templates/configmap.yaml fine']);
  });

  it('reports a template that includes itself without end on its chart (Helm’s own depth limit)', async () => {
    const source = '{{ define `loop` }}{{ include `loop` . }}{{ end }}{{ include `loop` . }}';
    const rendered = await render(source, { timeoutMs: 30_000, memoryLimitMiB: 512 });
    expect(rendered.errors).toHaveLength(1);
    expect(rendered.errors[0]!.location).toEqual({ file: 'charts/runaway/Chart.yaml', line: 1 });
    expect(rendered.errors[0]!.message).toMatch(/^helm template charts\/runaway failed: .*(exceeded max depth|nested reference)/);
    expect(rendered.documents).toHaveLength(1);
  });
});
