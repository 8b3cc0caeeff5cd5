// A fake GitHub for the App's registration (the manifest flow), over a real local HTTP server:
// `POST /settings/apps/new` (or an organization's) takes the manifest form field as GitHub's page
// does, refuses a manifest GitHub would refuse, and sends the browser back to the manifest's
// `redirect_url` with a one-time code and the `state`; `POST /app-manifests/{code}/conversions`
// (checked against GitHub's OpenAPI description) hands over the new App's credentials once.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openApiRejection } from './fake-github-openapi.js';

export interface FakeRegistration {
  /** The manifest as GitHub received it. */
  manifest: Record<string, any>;
  /** The organization it was registered under, or null for the user's account. */
  organization: string | null;
  state: string | null;
  /** Set once the code was converted. */
  converted: boolean;
}

export interface FakeCreatedApp {
  id: number;
  name: string;
  slug: string;
  html_url: string;
  pem: string;
  webhook_secret: string;
  client_id: string;
  client_secret: string;
}

export interface FakeGitHubManifest {
  url: string;
  registrations: FakeRegistration[];
  /** The App each conversion handed over, in order. */
  created: FakeCreatedApp[];
  /** Requests seen, `METHOD /path`. */
  requests: string[];
  close(): Promise<void>;
}

const PERMISSION_LEVELS = ['read', 'write'];

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** What GitHub's "Create GitHub App" page says about a manifest it will not take, or null. */
function manifestProblem(manifest: unknown): string | null {
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) return 'the manifest is not a JSON object';
  const m = manifest as Record<string, any>;
  if (typeof m.url !== 'string' || !/^https?:\/\//.test(m.url)) return 'url is required';
  if (typeof m.name !== 'string' || m.name === '' || m.name.length > 34) return 'name is required (at most 34 characters)';
  if (m.hook_attributes !== undefined) {
    if (typeof m.hook_attributes?.url !== 'string' || !/^https?:\/\/[^/]+/.test(m.hook_attributes.url)) return 'hook_attributes.url must be a URL';
  }
  if (typeof m.redirect_url !== 'string' || !/^https?:\/\/[^/]+/.test(m.redirect_url)) return 'redirect_url must be a URL';
  for (const [name, level] of Object.entries(m.default_permissions ?? {})) if (!PERMISSION_LEVELS.includes(level as string)) return `default_permissions.${name} must be read or write`;
  if (m.default_events !== undefined && !Array.isArray(m.default_events)) return 'default_events must be a list';
  const needs: Record<string, string> = { pull_request: 'pull_requests', check_run: 'checks', check_suite: 'checks', push: 'contents' };
  for (const event of m.default_events ?? []) {
    if (needs[event] && !(needs[event]! in (m.default_permissions ?? {}))) return `the ${event} event needs the ${needs[event]} permission`;
  }
  return null;
}

export async function startFakeGitHubManifest(): Promise<FakeGitHubManifest> {
  const registrations: FakeRegistration[] = [];
  const created: FakeCreatedApp[] = [];
  const requests: string[] = [];
  const codes = new Map<string, FakeRegistration>();
  let nextId = 424242;
  let base = '';

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', base);
    requests.push(`${req.method} ${url.pathname}`);
    const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(value));
    const page = /^\/(?:organizations\/([A-Za-z0-9-]+)\/)?settings\/apps\/new$/.exec(url.pathname);
    if (page && req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      let manifest: unknown;
      try {
        manifest = JSON.parse(form.get('manifest') ?? '');
      } catch {
        return res.writeHead(422, { 'content-type': 'text/html' }).end('<h1>Invalid GitHub App Manifest</h1><p>the manifest is not JSON</p>');
      }
      const problem = manifestProblem(manifest);
      if (problem) return res.writeHead(422, { 'content-type': 'text/html' }).end(`<h1>Invalid GitHub App Manifest</h1><p>${problem}</p>`);
      const registration: FakeRegistration = { manifest: manifest as Record<string, any>, organization: page[1] ?? null, state: url.searchParams.get('state'), converted: false };
      registrations.push(registration);
      // GitHub asks the person to confirm the name, creates the App, and sends the browser back.
      const code = randomBytes(10).toString('hex');
      codes.set(code, registration);
      const back = new URL(registration.manifest.redirect_url);
      back.searchParams.set('code', code);
      if (registration.state !== null) back.searchParams.set('state', registration.state);
      return res.writeHead(302, { location: back.toString() }).end();
    }
    const conversion = /^\/app-manifests\/([^/]+)\/conversions$/.exec(url.pathname);
    if (conversion && req.method === 'POST') {
      const raw = await readBody(req);
      const rejection = openApiRejection('POST', url.pathname, url.searchParams, raw ? JSON.parse(raw) : undefined);
      if (rejection) return json(rejection.status, rejection.payload);
      const registration = codes.get(decodeURIComponent(conversion[1]!));
      if (!registration) return json(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/apps/apps#create-a-github-app-from-a-manifest', status: '404' });
      codes.delete(decodeURIComponent(conversion[1]!));
      registration.converted = true;
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
      const name = registration.manifest.name as string;
      const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
      const app: FakeCreatedApp = { id: nextId++, name, slug, html_url: `${base}/apps/${slug}`, pem: privateKey, webhook_secret: randomBytes(20).toString('hex'), client_id: `Iv1.${randomBytes(8).toString('hex')}`, client_secret: randomBytes(20).toString('hex') };
      created.push(app);
      const now = new Date().toISOString();
      return json(201, {
        ...app,
        node_id: 'MDM6QXBwNDI0MjQy',
        owner: { login: registration.organization ?? 'alice', id: 1, type: registration.organization ? 'Organization' : 'User' },
        description: registration.manifest.description ?? null,
        external_url: registration.manifest.url,
        created_at: now,
        updated_at: now,
        permissions: registration.manifest.default_permissions ?? {},
        events: registration.manifest.default_events ?? [],
      });
    }
    json(404, { message: 'Not Found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    registrations,
    created,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
