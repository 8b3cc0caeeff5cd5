// Loopback chart sources for the remote-chart tests: a Helm repository (index.yaml and archives over
// HTTP, as `helm repo index` lays it out) and an OCI registry (the part of the distribution API Helm's
// registry client calls: tags, manifests, blobs), both on 127.0.0.1 and counting every request, so a
// test sees what reached them. No network beyond loopback.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './engine.js';

export const helmBinary = join(repoRoot, 'tools', 'bin', 'helm');

export interface PackagedChart {
  name: string;
  version: string;
  archive: Buffer;
  /** The archive's file, for `helm template`. */
  file: string;
}

/** `helm package` of a chart folder, with its Chart.yaml's version set to `version` (and `extra` files added). */
export function packageChart(chartDir: string, version: string, extra: Record<string, string> = {}): PackagedChart {
  const work = mkdtempSync(join(tmpdir(), 'parapet-chart-'));
  const copy = join(work, 'src');
  cpSync(chartDir, copy, { recursive: true });
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(copy, name), text);
  const chartYaml = readFileSync(join(copy, 'Chart.yaml'), 'utf8').replace(/^version: .*$/m, `version: ${version}`);
  writeFileSync(join(copy, 'Chart.yaml'), chartYaml);
  execFileSync(helmBinary, ['package', copy, '--destination', work], { env: { HOME: work, PATH: '' }, stdio: 'pipe' });
  const file = readdirSync(work).find((f) => f.endsWith('.tgz'))!;
  const name = /^name: (.*)$/m.exec(chartYaml)![1]!.trim();
  return { name, version, archive: readFileSync(join(work, file)), file: join(work, file) };
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface ChartServer {
  url: string;
  /** Every request's method and path, in order. */
  requests: string[];
  /** `ok`: serve; `auth`: 401 on everything; `gone`: 404 on everything; `hang`: never answer. */
  mode: 'ok' | 'auth' | 'gone' | 'hang';
  close(): Promise<void>;
}

async function listen(handle: (req: IncomingMessage, res: ServerResponse, server: ChartServer) => void, scheme: string): Promise<ChartServer> {
  const state: ChartServer = { url: '', requests: [], mode: 'ok', close: async () => undefined };
  const hanging: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    state.requests.push(`${req.method} ${req.url}`);
    if (state.mode === 'auth') {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="charts"', 'content-type': 'application/json' });
      return void res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    }
    if (state.mode === 'hang') {
      hanging.push(res);
      return;
    }
    if (state.mode === 'gone') {
      res.writeHead(404, { 'content-type': 'application/json' });
      return void res.end('{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}');
    }
    handle(req, res, state);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  state.url = `${scheme}://127.0.0.1:${port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const res of hanging) res.destroy();
      server.close(() => resolve());
    });
  return state;
}

/** A Helm repository serving `charts` (index.yaml with each archive's digest, archives under charts/). */
export async function helmRepository(charts: PackagedChart[], options: { digest?: (chart: PackagedChart) => string } = {}): Promise<ChartServer> {
  return listen((req, res, state) => {
    if (req.url === '/index.yaml') {
      const entries: Record<string, string[]> = {};
      for (const chart of charts) {
        (entries[chart.name] ??= []).push(
          [
            `  - apiVersion: v2`,
            `    name: ${chart.name}`,
            `    version: ${chart.version}`,
            `    digest: ${options.digest ? options.digest(chart) : sha256(chart.archive)}`,
            `    created: "2026-01-01T00:00:00Z"`,
            `    urls:`,
            `      - charts/${chart.name}-${chart.version}.tgz`,
          ].join('\n'),
        );
      }
      const body = `apiVersion: v1\nentries:\n${Object.entries(entries)
        .map(([name, versions]) => `  ${name}:\n${versions.join('\n')}`)
        .join('\n')}\ngenerated: "2026-01-01T00:00:00Z"\n`;
      res.writeHead(200, { 'content-type': 'text/yaml' });
      return void res.end(body);
    }
    const chart = charts.find((c) => req.url === `/charts/${c.name}-${c.version}.tgz`);
    if (!chart) {
      res.writeHead(404);
      return void res.end('not found');
    }
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': chart.archive.length });
    res.end(chart.archive);
    void state;
  }, 'http');
}

/** An OCI registry holding each chart at `<prefix>/<name>:<version>`, as `helm push` stores it. */
export async function ociRegistry(prefix: string, charts: PackagedChart[]): Promise<ChartServer> {
  const blobs = new Map<string, { type: string; data: Buffer }>();
  const manifests = new Map<string, { digest: string; data: Buffer }>();
  const blob = (type: string, data: Buffer) => {
    const digest = `sha256:${sha256(data)}`;
    blobs.set(digest, { type, data });
    return { mediaType: type, digest, size: data.length };
  };
  for (const chart of charts) {
    const config = blob('application/vnd.cncf.helm.config.v1+json', Buffer.from(JSON.stringify({ name: chart.name, version: chart.version, apiVersion: 'v2' })));
    const layer = blob('application/vnd.cncf.helm.chart.content.v1.tar+gzip', chart.archive);
    const data = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layer] }));
    const entry = { digest: `sha256:${sha256(data)}`, data };
    manifests.set(`${prefix}/${chart.name}:${chart.version}`, entry);
    manifests.set(`${prefix}/${chart.name}:${entry.digest}`, entry);
  }
  return listen((req, res) => {
    const url = req.url ?? '';
    if (url === '/v2/' || url === '/v2') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end('{}');
    }
    const tags = /^\/v2\/(.+)\/tags\/list(?:\?.*)?$/.exec(url);
    if (tags) {
      const name = tags[1]!;
      const list = charts.filter((c) => `${prefix}/${c.name}` === name).map((c) => c.version);
      if (list.length === 0) {
        res.writeHead(404, { 'content-type': 'application/json' });
        return void res.end('{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}');
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ name, tags: list }));
    }
    const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url);
    if (manifest) {
      const entry = manifests.get(`${manifest[1]}:${decodeURIComponent(manifest[2]!)}`);
      if (!entry) {
        res.writeHead(404, { 'content-type': 'application/json' });
        return void res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
      }
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': entry.digest, 'content-length': entry.data.length });
      return void res.end(req.method === 'HEAD' ? undefined : entry.data);
    }
    const blobMatch = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(url);
    const found = blobMatch ? blobs.get(decodeURIComponent(blobMatch[2]!)) : undefined;
    if (found) {
      res.writeHead(200, { 'content-type': found.type, 'docker-content-digest': decodeURIComponent(blobMatch![2]!), 'content-length': found.data.length });
      return void res.end(req.method === 'HEAD' ? undefined : found.data);
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}');
  }, 'oci');
}
