import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { RenderSession } from '../../src/engine/index.js';
import { renderCluster } from '../../src/engine/render/render-cluster.js';
import { RepoFiles } from '../../src/engine/repo/repo-files.js';
import { readSecurityTowerConfig } from '../../src/engine/repo/security-tower.js';
import { defaultYamlLimits, parseYamlFile } from '../../src/engine/repo/yaml-file.js';
import { HelperRenderer } from '../../src/renderer/helper-renderer.js';
import { fixtureRepo, fixturesDir, repoRoot } from '../helpers/engine.js';
import { MemorySource } from '../helpers/memory-source.js';
import { readTree } from '../helpers/read-tree.js';

// The objects Parapet evaluates from a chart equal, object by object, what the helm CLI of the same
// pin (tools/helm: helm.sh/helm/v3 v3.21.4, the module the renderer links) prints with
// `helm template --include-crds --skip-tests` for the same release name, namespace and values. The
// renderer calls the library the CLI calls (an install in client-only dry-run mode), so this test
// guards what lies around that call: loading the chart from the in-memory repository (.helmignore,
// crds/), the order values are merged in, hooks, and the splitting into objects. Where Flux or Helm's
// client adds a step after rendering, this test writes it out: the namespace Helm's client gives
// namespaced objects that name none when it applies them, and Flux's origin labels on the manifests.
const helm = join(repoRoot, 'tools', 'bin', 'helm');
const chartDir = join(fixturesDir, 'repos', 'flux-helm', 'charts', 'web');

beforeAll(() => {
  // A few minutes the first time on two cores; reused afterwards.
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build-go-tool.mjs'), 'helm'], { stdio: 'inherit' });
}, 15 * 60_000);

const temporary: string[] = [];
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

/** The objects Parapet's render stage gives the pipeline for the cluster, those of the chart only. */
async function parapetChartObjects(source: MemorySource): Promise<unknown[]> {
  const files = new RepoFiles(source, defaultYamlLimits, { parseYamlFiles: async (list, limits) => list.map((f) => parseYamlFile(f.path, f.text, limits)) });
  const configPaths = (await files.paths()).filter((p) => p.startsWith('.securitytower/'));
  const config = readSecurityTowerConfig((await files.documents(configPaths)).documents);
  const cluster = config.clusters[0]!;
  const all = await source.readFiles((await source.listFiles()).map((f) => f.path));
  let session: Promise<RenderSession> | undefined;
  try {
    const rendered = await renderCluster({ cluster, clusters: config.clusters, applications: config.applications, files, session: () => (session ??= new HelperRenderer().open(all)) });
    expect(rendered.errors).toEqual([]);
    return sorted(rendered.documents.filter((doc) => doc.file.startsWith('charts/web/')).map((doc) => doc.value));
  } finally {
    await (await session)?.close();
  }
}

function helmTemplate(args: string[], values: Record<string, string> = {}): Array<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-helm-'));
  temporary.push(dir);
  const files: string[] = [];
  for (const [name, text] of Object.entries(values)) {
    writeFileSync(join(dir, name), text);
    files.push('-f', join(dir, name));
  }
  const output = execFileSync(helm, ['template', ...args, chartDir, '--include-crds', '--skip-tests', ...files], { encoding: 'utf8', env: { HOME: dir, PATH: '' } });
  return parseAllDocuments(output)
    .map((doc) => doc.toJS() as Record<string, unknown> | null)
    .filter((o): o is Record<string, unknown> => o !== null);
}

/** What Helm's client does when it applies: a namespaced object that names no namespace gets the release's. */
function applied(objects: Array<Record<string, unknown>>, namespace: string, labels: Record<string, string> = {}): unknown[] {
  return sorted(
    objects.map((object) => {
      const metadata = { ...(object.metadata as Record<string, unknown>) };
      if (object.kind === 'CustomResourceDefinition') return object;
      metadata.namespace ??= namespace;
      if (Object.keys(labels).length > 0) metadata.labels = { ...(metadata.labels as Record<string, string>), ...labels };
      return { ...object, metadata };
    }),
  );
}

function sorted(objects: unknown[]): unknown[] {
  const key = (o: unknown) => {
    const object = o as { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
    return `${object.apiVersion}/${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
  };
  return [...objects].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

describe('Parapet renders what the pinned helm template prints', () => {
  it('a HelmRelease with valuesFrom (a values key and a targetPath) and values, with Flux’s origin labels', async () => {
    const ours = await parapetChartObjects(fixtureRepo('flux-helm'));
    const theirs = applied(
      // valuesFrom's values.yaml, then spec.values; the targetPath key as --set.
      helmTemplate(['web', '--namespace', 'shop', '--set', 'image.registry=registry.example.com'], {
        'from-configmap.yaml': 'replicaCount: 3\nworker:\n  securityContext:\n    privileged: true\n',
        'spec-values.yaml': 'image:\n  repository: shop/web\n  tag: "2.4.1"\n',
      }),
      'shop',
      { 'helm.toolkit.fluxcd.io/name': 'web', 'helm.toolkit.fluxcd.io/namespace': 'shop' },
    );
    expect(ours).toHaveLength(4);
    expect(ours).toEqual(theirs);
  });

  it('a chart folder listed in spec.manifests, with its own values', async () => {
    const chart = Object.fromEntries(Object.entries(readTree(join(fixturesDir, 'repos', 'flux-helm'))).filter(([p]) => p.startsWith('charts/')));
    const source = new MemorySource({
      ...chart,
      '.securitytower/production.yaml': 'apiVersion: securitytower.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: production\nspec:\n  policies:\n    path: policies\n  manifests:\n    - path: charts/web\n',
    });
    const ours = await parapetChartObjects(source);
    expect(ours).toHaveLength(4);
    expect(ours).toEqual(applied(helmTemplate([]), 'default'));
  });
});
