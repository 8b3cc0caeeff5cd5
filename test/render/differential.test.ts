import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
import { readTree } from '../helpers/read-tree.js';

// The objects Parapet evaluates for a cluster equal, object by object, what the kustomize CLI of
// the same pin (tools/kustomize: kustomize v5.8.1 over sigs.k8s.io/kustomize/api v0.21.1, the
// version Flux's kustomize-controller embeds) prints for the same folders. Where Flux adds a step
// of its own, this test writes it out as Flux documents it: the kustomization it generates for a
// folder that has none (every manifest below, in walk order, sub-folders with a kustomization as
// one entry), the targetNamespace it writes into it, and ${VAR} substitution after the build.
const kustomize = join(repoRoot, 'tools', 'bin', 'kustomize');

beforeAll(() => {
  // A few minutes the first time on two cores; reused afterwards.
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build-go-tool.mjs'), 'kustomize'], { stdio: 'inherit' });
}, 15 * 60_000);

const temporary: string[] = [];
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

/** The objects Parapet's render stage gives the rest of the pipeline for one cluster. */
async function parapetObjects(repo: string, clusterName: string): Promise<unknown[]> {
  const source = fixtureRepo(repo);
  const files = new RepoFiles(source, defaultYamlLimits, { parseYamlFiles: async (list, limits) => list.map((f) => parseYamlFile(f.path, f.text, limits)) });
  const configPaths = (await files.paths()).filter((p) => p.startsWith('.securitytower/'));
  const config = readSecurityTowerConfig((await files.documents(configPaths)).documents);
  const cluster = config.clusters.find((c) => c.name === clusterName)!;
  let session: Promise<RenderSession> | undefined;
  const all = new Map(Object.entries(readTree(join(fixturesDir, 'repos', repo))));
  try {
    const rendered = await renderCluster({ cluster, clusters: config.clusters, applications: config.applications, files, session: () => (session ??= new HelperRenderer().open(all)) });
    expect(rendered.errors).toEqual([]);
    return sorted(rendered.documents.map((doc) => doc.value));
  } finally {
    await (await session)?.close();
  }
}

/** `kustomize build` of each folder in a copy of the fixture, after `prepare` wrote Flux's files into it. */
function kustomizeObjects(repo: string, builds: Array<{ path: string; kustomization?: string; vars?: Record<string, string> }>): unknown[] {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-render-'));
  temporary.push(dir);
  cpSync(join(fixturesDir, 'repos', repo), dir, { recursive: true });
  const objects: unknown[] = [];
  for (const build of builds) {
    if (build.kustomization) writeFileSync(join(dir, build.path, 'kustomization.yaml'), build.kustomization);
    let output = execFileSync(kustomize, ['build', join(dir, build.path)], { encoding: 'utf8' });
    for (const [name, value] of Object.entries(build.vars ?? {})) output = output.replaceAll(`\${${name}}`, value);
    objects.push(...parseAllDocuments(output).map((doc) => doc.toJS()));
    if (build.kustomization) rmSync(join(dir, build.path, 'kustomization.yaml'));
  }
  return sorted(objects);
}

function sorted(objects: unknown[]): unknown[] {
  const key = (o: unknown) => {
    const object = o as { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
    return `${object.apiVersion}/${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
  };
  return [...objects].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

describe('Parapet renders what the pinned kustomize builds', () => {
  it('a kustomize overlay with patches, images:, namespace: and commonAnnotations:', async () => {
    const ours = await parapetObjects('kustomize-overlay', 'shop');
    expect(ours).toHaveLength(2);
    expect(ours).toEqual(kustomizeObjects('kustomize-overlay', [{ path: 'overlays/prod' }]));
  });

  it.each(['production', 'staging'])('the %s environment of a Flux monorepo, through every Kustomization', async (env) => {
    const ours = await parapetObjects('flux-monorepo', env);
    const theirs = kustomizeObjects('flux-monorepo', [
      // flux-system syncs clusters/<env>, which has no kustomization: Flux generates this one.
      { path: `clusters/${env}`, kustomization: 'resources:\n  - ./apps.yaml\n  - ./cluster-vars.yaml\n  - ./flux-system\n  - ./infrastructure.yaml\n' },
      { path: 'infrastructure', kustomization: 'resources:\n  - ./ingress/controller.yaml\n  - ./namespaces.yaml\n' },
      // apps: postBuild.substitute, over the values of its substituteFrom ConfigMap.
      { path: `apps/${env}`, vars: { CLUSTER_NAME: env, DOMAIN: env === 'production' ? 'shop.example.com' : 'staging.shop.example.com' } },
    ]);
    expect(ours).toHaveLength(10);
    expect(ours).toEqual(theirs);
  });
});
