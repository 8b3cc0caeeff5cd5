import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { ClusterReport, Report, RepoSource } from '../../src/engine/index.js';
import { HelperRenderer, type ChartFetchOptions } from '../../src/renderer/helper-renderer.js';
import { CachingRenderer, MemoryRenderCache } from '../../src/renderer/render-cache.js';
import { helmBinary, helmRepository, ociRegistry, packageChart, type ChartServer, type PackagedChart } from '../helpers/chart-repos.js';
import { check, fixtureRepo, fixturesDir, repoRoot } from '../helpers/engine.js';
import { readTree } from '../helpers/read-tree.js';

// Charts from a Helm repository or an OCI registry (issue #13): fetched with Helm's own code when a
// HelmRelease or an Application names one, rendered with the release's values exactly as a chart of
// the repository, kept in the chart cache by repository, chart and version; when they cannot be
// fetched, a notice on the line that names the chart says which and why. The repositories are
// loopback servers holding the flux-helm fixture's chart, packaged by the pinned helm CLI.

const chartDir = join(fixturesDir, 'repos', 'flux-helm', 'charts', 'web');
let web030: PackagedChart;
let web031: PackagedChart;
let web100: PackagedChart;
const temporary: string[] = [];
const servers: ChartServer[] = [];

beforeAll(() => {
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build-go-tool.mjs'), 'helm'], { stdio: 'inherit' });
  web030 = packageChart(chartDir, '0.3.0');
  web031 = packageChart(chartDir, '0.3.1');
  web100 = packageChart(chartDir, '1.0.0');
}, 15 * 60_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

function cacheDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-charts-'));
  temporary.push(dir);
  return dir;
}

async function serve<T extends ChartServer>(server: Promise<T>): Promise<T> {
  const started = await server;
  servers.push(started);
  return started;
}

/** The flux-helm fixture without its charts/ folder, its HelmRelease naming `chart` from the HelmRepository `charts`. */
function fluxRepo(repository: string, version: string | undefined): RepoSource {
  const files = readTree(join(fixturesDir, 'repos', 'flux-helm'));
  const overrides: Record<string, string | null> = Object.fromEntries(Object.keys(files).filter((p) => p.startsWith('charts/')).map((p) => [p, null]));
  overrides['apps/production/web.yaml'] = files['apps/production/web.yaml']!
    .replace('chart: ./charts/web', `chart: web${version === undefined ? '' : `\n      version: "${version}"`}`)
    .replace('kind: GitRepository\n        name: flux-system\n        namespace: flux-system', 'kind: HelmRepository\n        name: charts');
  overrides['apps/production/charts.yaml'] = `apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: charts\nspec:\n  interval: 1h\n${repository}`;
  overrides['apps/production/kustomization.yaml'] = files['apps/production/kustomization.yaml']!.replace('  - web.yaml\n', '  - web.yaml\n  - charts.yaml\n');
  return fixtureRepo('flux-helm', overrides);
}

async function checkWith(source: RepoSource, chartFetch: ChartFetchOptions | undefined): Promise<Report> {
  const renderer = new HelperRenderer(chartFetch ? { chartFetch } : {});
  return check(source, { renderer });
}

function production(report: Report): ClusterReport {
  expect(report.errors).toEqual([]);
  return report.clusters.find((c) => c.name === 'production')!;
}

function findings(cluster: ClusterReport): string[] {
  return cluster.violations.map((v) => `${v.location.file}:${v.location.line} ${v.constraint}: ${v.message}`);
}

function notices(cluster: ClusterReport): string[] {
  return (cluster.notices ?? []).map((n) => `${n.location.file}:${n.location.line} ${n.message}`);
}

const localFindings = [
  // worker.securityContext, toYaml'd by the template, comes from the valuesFrom ConfigMap.
  'apps/production/web-values.yaml:10 no-privileged: container worker is privileged',
  // The image's tag from the HelmRelease's values.
  'apps/production/web.yaml:24 pinned-images: container web: image registry.example.com/shop/web:2.4.1 is not pinned by digest',
];

describe('a HelmRelease of a chart from a Helm repository', () => {
  it('fetches the chart and judges what it renders with the release’s values, each finding on the values line that set it', async () => {
    const repo = await serve(helmRepository([web030, web031, web100]));
    const cluster = production(await checkWith(fluxRepo(`  url: ${repo.url}`, '0.3.0'), { cacheDir: cacheDir() }));
    expect(cluster.errors).toEqual([]);
    expect(notices(cluster)).toEqual([]);
    expect(findings(cluster)).toEqual(localFindings);
    // The chart's own default (its values.yaml is not in the repository): the line that names the chart.
    expect(cluster.images.map((use) => `${use.workload.name} ${use.location.file}:${use.location.line}`)).toEqual(['web-web apps/production/web.yaml:24', 'web-web-worker apps/production/web.yaml:9']);
    expect(repo.requests).toEqual(['GET /index.yaml', 'GET /charts/web-0.3.0.tgz']);
  });

  it('renders the newest version a semver range allows, and the newest of all without a version, as Flux resolves them', async () => {
    const repo = await serve(helmRepository([web030, web031, web100]));
    production(await checkWith(fluxRepo(`  url: ${repo.url}`, '~0.3.0'), { cacheDir: cacheDir() }));
    production(await checkWith(fluxRepo(`  url: ${repo.url}`, undefined), { cacheDir: cacheDir() }));
    expect(repo.requests).toEqual(['GET /index.yaml', 'GET /charts/web-0.3.1.tgz', 'GET /index.yaml', 'GET /charts/web-1.0.0.tgz']);
  });

  it('renders an exact version from the cache on the next check, without a request', async () => {
    const repo = await serve(helmRepository([web030]));
    const cache = cacheDir();
    const first = findings(production(await checkWith(fluxRepo(`  url: ${repo.url}`, '0.3.0'), { cacheDir: cache })));
    const requests = repo.requests.length;
    const second = findings(production(await checkWith(fluxRepo(`  url: ${repo.url}`, '0.3.0'), { cacheDir: cache })));
    expect(second).toEqual(first);
    expect(repo.requests).toHaveLength(requests);
  });

  it('says on the chart line when the repository is unreachable, needs credentials, lacks the chart or serves another archive, and passes the rest', async () => {
    const closed = await helmRepository([web030]);
    await closed.close();
    const auth = await serve(helmRepository([web030]));
    auth.mode = 'auth';
    const other = await serve(helmRepository([web030]));
    const tampered = await serve(helmRepository([web030], { digest: () => 'f'.repeat(64) }));
    const cases: Array<[string, string | undefined, string]> = [
      [`  url: ${closed.url}`, '0.3.0', `fetching the repository index ${closed.url}/index.yaml: the connection was refused`],
      [
        `  url: ${auth.url}\n  secretRef:\n    name: charts-auth`,
        '0.3.0',
        `fetching the repository index ${auth.url}/index.yaml: the repository requires credentials (HTTP 401); Parapet does not read the source’s secretRef from the repository and fetches charts anonymously`,
      ],
      [`  url: ${other.url}`, '2.0.0', `the repository index ${other.url}/index.yaml has no version of web matching "2.0.0"`],
      [`  url: ${tampered.url}`, '0.3.0', `${tampered.url}/charts/web-0.3.0.tgz has digest sha256:`],
    ];
    for (const [repository, version, why] of cases) {
      const cluster = production(await checkWith(fluxRepo(repository, version), { cacheDir: cacheDir(), timeoutMs: 5000 }));
      const url = /url: (\S+)/.exec(repository)![1]!;
      expect(cluster.errors).toEqual([]);
      expect(cluster.violations).toEqual([]);
      expect(notices(cluster)).toEqual([expect.stringContaining(`apps/production/web.yaml:9 HelmRelease shop/web: chart web@${version} from HelmRepository shop/charts (${url}) was not rendered: ${why}`)]);
    }
  });

  it('gives up on a repository that does not answer within the fetch time limit, with a notice', async () => {
    const repo = await serve(helmRepository([web030]));
    repo.mode = 'hang';
    const started = Date.now();
    const cluster = production(await checkWith(fluxRepo(`  url: ${repo.url}`, '0.3.0'), { cacheDir: cacheDir(), timeoutMs: 1000 }));
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(notices(cluster)).toEqual([`apps/production/web.yaml:9 HelmRelease shop/web: chart web@0.3.0 from HelmRepository shop/charts (${repo.url}) was not rendered: fetching the repository index ${repo.url}/index.yaml: no answer in time`]);
  });

  it('says fetching is off when it is (the CLI’s --offline, the App’s PARAPET_CHART_FETCH=off), and sends no request', async () => {
    const repo = await serve(helmRepository([web030]));
    const cluster = production(await checkWith(fluxRepo(`  url: ${repo.url}`, '0.3.0'), undefined));
    expect(notices(cluster)).toEqual([
      `apps/production/web.yaml:9 HelmRelease shop/web: chart web@0.3.0 from HelmRepository shop/charts (${repo.url}) was not rendered: fetching charts is off (--offline, or PARAPET_CHART_FETCH=off)`,
    ]);
    expect(repo.requests).toEqual([]);
  });
});

describe('a fetched chart and the render cache', () => {
  it('resolves a semver range again on every check: a version published since is rendered, not the build the cache holds', async () => {
    const published = [web030];
    const repo = await serve(helmRepository(published));
    const renderer = new CachingRenderer(new HelperRenderer({ chartFetch: { cacheDir: cacheDir() } }), new MemoryRenderCache());
    production(await check(fluxRepo(`  url: ${repo.url}`, '~0.3.0'), { renderer }));
    published.push(web031);
    production(await check(fluxRepo(`  url: ${repo.url}`, '~0.3.0'), { renderer }));
    expect(repo.requests).toEqual(['GET /index.yaml', 'GET /charts/web-0.3.0.tgz', 'GET /index.yaml', 'GET /charts/web-0.3.1.tgz']);
  });
});

describe('a HelmRelease of a chart from an OCI registry', () => {
  it('pulls the chart (Flux’s type: oci, insecure: true for plain HTTP) and renders it like the same chart from a Helm repository', async () => {
    const registry = await serve(ociRegistry('charts', [web030, web100]));
    const cache = cacheDir();
    const url = registry.url.replace('oci://', 'oci://') + '/charts';
    const cluster = production(await checkWith(fluxRepo(`  type: oci\n  insecure: true\n  url: ${url}`, '0.3.0'), { cacheDir: cache }));
    expect(notices(cluster)).toEqual([]);
    expect(findings(cluster)).toEqual(localFindings);
    expect(registry.requests.some((r) => r.startsWith('GET /v2/charts/web/blobs/'))).toBe(true);
    // Pulled once: the next check reads the cache.
    const requests = registry.requests.length;
    expect(findings(production(await checkWith(fluxRepo(`  type: oci\n  insecure: true\n  url: ${url}`, '0.3.0'), { cacheDir: cache })))).toEqual(localFindings);
    expect(registry.requests).toHaveLength(requests);
  });

  it('pulls the chart of an OCIRepository chartRef at the tag it names', async () => {
    const registry = await serve(ociRegistry('charts', [web030, web100]));
    const files = readTree(join(fixturesDir, 'repos', 'flux-helm'));
    const overrides: Record<string, string | null> = Object.fromEntries(Object.keys(files).filter((p) => p.startsWith('charts/')).map((p) => [p, null]));
    overrides['apps/production/web.yaml'] = files['apps/production/web.yaml']!.replace(/ {2}chart:\n(.*\n)*? {8}namespace: flux-system\n/, '  chartRef:\n    kind: OCIRepository\n    name: web\n');
    overrides['apps/production/charts.yaml'] = `apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: web\nspec:\n  interval: 1h\n  insecure: true\n  url: ${registry.url}/charts/web\n  ref:\n    tag: 0.3.0\n`;
    overrides['apps/production/kustomization.yaml'] = files['apps/production/kustomization.yaml']!.replace('  - web.yaml\n', '  - web.yaml\n  - charts.yaml\n');
    const cluster = production(await checkWith(fixtureRepo('flux-helm', overrides), { cacheDir: cacheDir() }));
    expect(notices(cluster)).toEqual([]);
    expect(findings(cluster)).toEqual([localFindings[0], localFindings[1]!.replace('web.yaml:24', 'web.yaml:20')]);
    expect(registry.requests).toContain('GET /v2/charts/web/manifests/0.3.0');
  });

  it('says so on the chart line when the registry requires credentials', async () => {
    const registry = await serve(ociRegistry('charts', [web030]));
    registry.mode = 'auth';
    const cluster = production(await checkWith(fluxRepo(`  type: oci\n  insecure: true\n  url: ${registry.url}/charts`, '0.3.0'), { cacheDir: cacheDir(), timeoutMs: 5000 }));
    expect(cluster.violations).toEqual([]);
    expect(notices(cluster)).toEqual([expect.stringMatching(/^apps\/production\/web\.yaml:9 HelmRelease shop\/web: chart web@0\.3\.0 from HelmRepository shop\/charts \(oci:\/\/127\.0\.0\.1:\d+\/charts\) was not rendered: .*requires credentials \(HTTP 401\)/)]);
  });
});

describe('an Argo CD Application of a chart from a Helm repository', () => {
  it('renders the chart targetRevision names with the Application’s values, on the Application’s lines', async () => {
    const repo = await serve(helmRepository([web030, web031]));
    const monitoring = [
      'apiVersion: argoproj.io/v1alpha1',
      'kind: Application',
      'metadata:',
      '  name: monitoring',
      '  namespace: argocd',
      'spec:',
      '  project: default',
      '  source:',
      `    repoURL: ${repo.url}`,
      '    chart: web',
      '    targetRevision: 0.3.*',
      '    helm:',
      '      valuesObject:',
      '        worker:',
      '          securityContext:',
      '            privileged: true',
      '  destination:',
      '    server: https://kubernetes.default.svc',
      '    namespace: monitoring',
      '',
    ].join('\n');
    const cluster = production(await checkWith(fixtureRepo('argo-apps', { 'argocd/apps/monitoring.yaml': monitoring }), { cacheDir: cacheDir() }));
    expect(notices(cluster)).toEqual([]);
    expect(findings(cluster).filter((f) => f.startsWith('argocd/apps/monitoring.yaml'))).toEqual([
      'argocd/apps/monitoring.yaml:10 pinned-images: container web: image docker.io/shop/web:2.4.0 is not pinned by digest',
      'argocd/apps/monitoring.yaml:16 no-privileged: container worker is privileged',
    ]);
    expect(cluster.images.filter((use) => use.namespace === 'monitoring').map((use) => use.image)).toEqual(['docker.io/shop/web:2.4.0', expect.stringMatching(/^busybox@sha256:/)]);
    expect(repo.requests).toEqual(['GET /index.yaml', 'GET /charts/web-0.3.1.tgz']);
  });
});

describe('an Argo CD Application of a chart from a Helm repository, with valueFiles', () => {
  it('reads its valueFiles from the fetched chart, and says so when one is in another source', async () => {
    const withProd = packageChart(chartDir, '0.3.0', { 'values-prod.yaml': 'worker:\n  securityContext:\n    privileged: true\n' });
    const repo = await serve(helmRepository([withProd]));
    const app = (valueFile: string) =>
      ['apiVersion: argoproj.io/v1alpha1', 'kind: Application', 'metadata:', '  name: monitoring', '  namespace: argocd', 'spec:', '  project: default', '  source:', `    repoURL: ${repo.url}`, '    chart: web', '    targetRevision: 0.3.0', '    helm:', '      valueFiles:', `        - ${valueFile}`, '  destination:', '    server: https://kubernetes.default.svc', '    namespace: monitoring', ''].join('\n');
    const cluster = production(await checkWith(fixtureRepo('argo-apps', { 'argocd/apps/monitoring.yaml': app('values-prod.yaml') }), { cacheDir: cacheDir() }));
    expect(notices(cluster)).toEqual([]);
    // The file is the chart's, not the repository's: the line that names the chart.
    expect(findings(cluster).filter((f) => f.startsWith('argocd/apps/monitoring.yaml'))).toContain('argocd/apps/monitoring.yaml:10 no-privileged: container worker is privileged');
    const elsewhere = production(await checkWith(fixtureRepo('argo-apps', { 'argocd/apps/monitoring.yaml': app('$values/prod.yaml') }), { cacheDir: cacheDir() }));
    expect(notices(elsewhere)).toEqual([`argocd/apps/monitoring.yaml:10 Application argocd/monitoring: chart web@0.3.0 from ${repo.url} was not rendered: its values file $values/prod.yaml is in another source, which Parapet does not read`]);
  });
});

describe('what Parapet renders from a fetched chart', () => {
  it('equals what the pinned helm template prints for the same archive and values', async () => {
    const repo = await serve(helmRepository([web030]));
    const report = await checkWith(fluxRepo(`  url: ${repo.url}`, '0.3.0'), { cacheDir: cacheDir() });
    const cluster = production(report);
    expect(notices(cluster)).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), 'parapet-helm-'));
    temporary.push(dir);
    writeFileSync(join(dir, 'a.yaml'), 'replicaCount: 3\nworker:\n  securityContext:\n    privileged: true\n');
    writeFileSync(join(dir, 'b.yaml'), 'image:\n  repository: shop/web\n  tag: "2.4.1"\n');
    const output = execFileSync(helmBinary, ['template', 'web', web030.file, '--namespace', 'shop', '--set', 'image.registry=registry.example.com', '-f', join(dir, 'a.yaml'), '-f', join(dir, 'b.yaml'), '--include-crds', '--skip-tests'], {
      encoding: 'utf8',
      env: { HOME: dir, PATH: '' },
    });
    const theirs = parseAllDocuments(output)
      .map((doc) => doc.toJS() as Record<string, unknown> | null)
      .filter((o): o is Record<string, unknown> => o !== null)
      .map((object) => {
        if (object.kind === 'CustomResourceDefinition') return object;
        const metadata = object.metadata as Record<string, unknown>;
        return { ...object, metadata: { ...metadata, namespace: metadata.namespace ?? 'shop', labels: { ...(metadata.labels as object), 'helm.toolkit.fluxcd.io/name': 'web', 'helm.toolkit.fluxcd.io/namespace': 'shop' } } };
      });
    const ours = await renderedFromChart(fluxRepo(`  url: ${repo.url}`, '0.3.0'), { cacheDir: cacheDir() });
    expect(ours).toHaveLength(4);
    expect(sorted(ours)).toEqual(sorted(theirs));
  });
});

async function renderedFromChart(source: RepoSource, chartFetch: ChartFetchOptions): Promise<unknown[]> {
  const { renderCluster } = await import('../../src/engine/render/render-cluster.js');
  const { RepoFiles } = await import('../../src/engine/repo/repo-files.js');
  const { readSecurityTowerConfig } = await import('../../src/engine/repo/security-tower.js');
  const { defaultYamlLimits, parseYamlFile } = await import('../../src/engine/repo/yaml-file.js');
  const files = new RepoFiles(source, defaultYamlLimits, { parseYamlFiles: async (list, limits) => list.map((f) => parseYamlFile(f.path, f.text, limits)) });
  const config = readSecurityTowerConfig((await files.documents((await files.paths()).filter((p) => p.startsWith('.securitytower/')))).documents);
  const all = await source.readFiles((await source.listFiles()).map((f) => f.path));
  const renderer = new HelperRenderer({ chartFetch });
  const session = renderer.open(all);
  try {
    const rendered = await renderCluster({ cluster: config.clusters[0]!, clusters: config.clusters, applications: config.applications, files, session: () => session });
    expect(rendered.errors).toEqual([]);
    expect(rendered.notices).toEqual([]);
    // The chart's objects are reported on the HelmRelease's file: all but the ones the repository holds.
    return rendered.documents.filter((doc) => doc.file === 'apps/production/web.yaml' && (doc.value as { kind: string }).kind !== 'HelmRelease').map((doc) => doc.value);
  } finally {
    await (await session).close();
  }
}

function sorted(objects: unknown[]): unknown[] {
  const key = (o: unknown) => {
    const object = o as { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
    return `${object.apiVersion}/${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
  };
  return [...objects].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
