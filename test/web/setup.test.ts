// The setup page over plain HTTP: what it asks, the webhook URL it shows, the manifest it posts to
// GitHub (the fake's manifest flow, a real local server), the credentials it writes to .env, and
// what it does with input it cannot use.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { parse } from 'yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readConfig } from '../../src/config.js';
import { EVENT_REASONS, PERMISSION_REASONS, readAppDefinition } from '../../src/web/setup/manifest.js';
import { startSetupServer, type SetupServer } from '../../src/web/setup/setup-server.js';
import { repoRoot } from '../helpers/engine.js';
import { startFakeGitHubManifest, type FakeGitHubManifest } from '../helpers/fake-github-manifest.js';

const appYml = readFileSync(join(repoRoot, 'app.yml'), 'utf8');
const declared = parse(appYml) as { default_permissions: Record<string, string>; default_events: string[] };

let github: FakeGitHubManifest;
let server: SetupServer;
let dir: string;
let envFile: string;

async function startServer(): Promise<void> {
  await server?.close();
  server = await startSetupServer({
    app: readAppDefinition(appYml),
    host: '127.0.0.1',
    port: 0,
    webhookPath: '/api/github/webhooks',
    githubUrl: github.url,
    githubApiUrl: github.url,
    envFile,
    onError: (error) => {
      throw error;
    },
  });
}

beforeAll(async () => {
  github = await startFakeGitHubManifest();
  dir = mkdtempSync(join(tmpdir(), 'parapet-setup-'));
});
afterAll(async () => {
  await server?.close();
  await github?.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  envFile = join(dir, `${Math.random().toString(36).slice(2)}.env`);
  await startServer();
});

const get = (path: string) => fetch(`${server.url}${path}`, { redirect: 'manual' });
const field = (page: string, name: string) => {
  const value = new RegExp(`name="${name}" value="([^"]*)"`).exec(page)?.[1];
  return value === undefined ? undefined : value.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#96;/g, '`').replace(/&amp;/g, '&');
};
const formAction = (page: string, cls: string) => /<form method="post" action="([^"]*)" class="/.exec(page.slice(page.indexOf(`class="${cls}"`) - 200))?.[1]?.replace(/&amp;/g, '&');

describe('the setup page, without credentials', () => {
  it('asks for the public URL, explains smee.io for trying it locally, and says why it needs each permission and event of app.yml', async () => {
    const response = await get('/');
    expect(response.status).toBe(200);
    const page = await response.text();
    expect(page).toContain('<label for="public_url">Public URL of this server</label>');
    expect(page).toContain('https://smee.io/new');
    expect(page).toContain('npx smee-client --url https://smee.io/YOUR-CHANNEL --target http://localhost:0/api/github/webhooks');
    for (const [name, level] of Object.entries(declared.default_permissions)) {
      expect(page).toContain(`<tr><td><code>${name}</code></td><td>${level}</td><td>${PERMISSION_REASONS[name]}</td></tr>`);
    }
    for (const event of declared.default_events) expect(page).toContain(`<tr><td><code>${event}</code></td><td>${EVENT_REASONS[event]}</td></tr>`);
    expect(page).toContain('href="/setup/existing"');
  });

  it('shows the webhook URL GitHub will call at the public URL, and posts a manifest with it to GitHub', async () => {
    const page = await (await get('/?public_url=https%3A%2F%2Fparapet.example.com%2F&org=')).text();
    expect(page).toContain('<code id="webhook-url">https://parapet.example.com/api/github/webhooks</code>');
    expect(formAction(page, 'register')).toMatch(new RegExp(`^${github.url}/settings/apps/new\\?state=[A-Za-z0-9_-]+$`));
    const manifest = JSON.parse(field(page, 'manifest')!);
    expect(manifest).toEqual({
      name: 'Parapet',
      url: 'https://github.com/parapet-dev/parapet',
      description: expect.stringContaining('Gatekeeper policy feedback'),
      public: false,
      hook_attributes: { url: 'https://parapet.example.com/api/github/webhooks', active: true },
      redirect_url: 'https://parapet.example.com/setup/done',
      callback_urls: ['https://parapet.example.com/auth/callback'],
      default_permissions: declared.default_permissions,
      default_events: declared.default_events,
    });
    expect(JSON.stringify(manifest)).not.toContain('localhost');
  });

  it('with a smee.io channel, registers the channel as the webhook URL, returns to the browser’s address and shows the smee-client command', async () => {
    const page = await (await get('/?public_url=https%3A%2F%2Fsmee.io%2FAbC123xyz')).text();
    expect(page).toContain('<code id="webhook-url">https://smee.io/AbC123xyz</code>');
    const port = new URL(server.url).port;
    expect(page).toContain(`npx smee-client --url https://smee.io/AbC123xyz --target http://localhost:0/api/github/webhooks`);
    const manifest = JSON.parse(field(page, 'manifest')!);
    expect(manifest.hook_attributes.url).toBe('https://smee.io/AbC123xyz');
    expect(manifest.redirect_url).toBe(`http://127.0.0.1:${port}/setup/done`);
  });

  it('registers the App under an organization when one is given', async () => {
    const page = await (await get('/?public_url=https%3A%2F%2Fparapet.example.com&org=my-org')).text();
    expect(formAction(page, 'register')).toMatch(new RegExp(`^${github.url}/organizations/my-org/settings/apps/new\\?state=`));
  });

  it.each([
    ['http://localhost:3000', 'GitHub cannot deliver webhooks to localhost:3000: that is this machine only. To try Parapet on your machine, use a smee.io channel (below)'],
    ['http://127.0.0.1:3000/', 'GitHub cannot deliver webhooks to 127.0.0.1:3000'],
    ['parapet.example.com', '“parapet.example.com” is not a URL: give it with https://, e.g. https://parapet.example.com'],
    ['ftp://parapet.example.com', 'the public URL must start with https:// (or http://), got “ftp:”'],
    ['https://smee.io/', 'a smee.io address is a channel'],
    ['https://parapet.example.com/?x=1', 'the public URL must not have a query'],
  ])('refuses %s as the public URL with a 400 saying why, and posts nothing', async (given, problem) => {
    const response = await get(`/?public_url=${encodeURIComponent(given)}`);
    expect(response.status).toBe(400);
    const page = await response.text();
    expect(page).toContain(`<p class="problem" role="alert">${problem}`);
    expect(page).not.toContain('name="manifest"');
  });

  it('escapes what the request carries', async () => {
    const hostile = '"><script>alert(1)</script>';
    const response = await get(`/?public_url=${encodeURIComponent(hostile)}&org=${encodeURIComponent('<img src=x onerror=alert(2)>')}`);
    expect(response.status).toBe(400);
    const page = await response.text();
    expect(page).not.toContain('<script>');
    expect(page).not.toContain('<img');
    expect(page).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(page).toContain('value="&lt;img src=x onerror=alert(2)&gt;"');
  });

  it('registers through GitHub’s manifest flow: the code becomes credentials in .env that the next start reads, then it says to restart and links the installation', async () => {
    writeFileSync(envFile, 'DATABASE_URL=postgresql://parapet@db.internal/parapet\n');
    const review = await (await get('/?public_url=https%3A%2F%2Fparapet.example.com')).text();
    // The browser posts the form to GitHub, which redirects it back with a code.
    const atGitHub = await fetch(formAction(review, 'register')!, { method: 'POST', body: new URLSearchParams({ manifest: field(review, 'manifest')! }), redirect: 'manual' });
    expect(atGitHub.status).toBe(302);
    const back = new URL(atGitHub.headers.get('location')!);
    expect(`${back.origin}${back.pathname}`).toBe('https://parapet.example.com/setup/done');
    // parapet.example.com is this server.
    const done = await get(`/setup/done${back.search}`);
    expect(done.status).toBe(200);
    const page = await done.text();
    expect(page).toContain('<h1>Parapet is registered</h1>');
    expect(page).toContain('Next: restart Parapet');
    const created = github.created[0]!;
    expect(page).toContain(`<a class="install" href="${created.html_url}/installations/new"`);
    expect(github.registrations[0]!.converted).toBe(true);

    const env = parseEnv(readFileSync(envFile, 'utf8')) as Record<string, string>;
    expect(env).toMatchObject({ DATABASE_URL: 'postgresql://parapet@db.internal/parapet', APP_ID: String(created.id), WEBHOOK_SECRET: created.webhook_secret, GITHUB_CLIENT_ID: created.client_id, GITHUB_CLIENT_SECRET: created.client_secret });
    expect(env.SESSION_SECRET).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(readConfig(env).credentials).toEqual({ appId: created.id, privateKey: created.pem.trim(), webhookSecret: created.webhook_secret });

    // Until the restart, every setup page says so.
    expect(await (await get('/')).text()).toContain('Next: restart Parapet');
  });

  it('refuses a return from GitHub that does not carry this server’s state, without exchanging its code', async () => {
    const response = await get('/setup/done?code=abc123&state=forged');
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('does not belong to a registration started on this server');
    expect(github.requests.filter((r) => r.startsWith('POST /app-manifests/abc123'))).toEqual([]);
  });

  it('says so when GitHub refuses the code (used or expired), and writes nothing', async () => {
    const review = await (await get('/?public_url=https%3A%2F%2Fparapet.example.com')).text();
    const state = new URL(formAction(review, 'register')!).searchParams.get('state')!;
    const response = await get(`/setup/done?code=expired0code&state=${state}`);
    expect(response.status).toBe(502);
    expect(await response.text()).toContain('GitHub did not hand over the new App’s credentials: GitHub answered 404 to the manifest conversion: Not Found');
    expect(() => statSync(envFile)).toThrow();
  });
});

describe('the setup page for an App registered before', () => {
  it('shows the webhook URL to set on it, then saves its credentials from the form', async () => {
    const first = await (await get('/setup/existing')).text();
    expect(first).toContain('<label for="public_url">Public URL of this server</label>');
    const page = await (await get('/setup/existing?public_url=https%3A%2F%2Fparapet.example.com')).text();
    expect(page).toContain('<code id="webhook-url">https://parapet.example.com/api/github/webhooks</code>');
    const key = '-----BEGIN RSA PRIVATE KEY-----\r\nMIIBOgIBAAJBAK\r\n-----END RSA PRIVATE KEY-----\r\n';
    const saved = await fetch(`${server.url}/setup/existing`, {
      method: 'POST',
      body: new URLSearchParams({ token: field(page, 'token')!, public_url: field(page, 'public_url')!, app_id: '987', webhook_secret: `it's a "secret"`, private_key: key }),
    });
    expect(saved.status).toBe(200);
    expect(await saved.text()).toContain('Next: restart Parapet');
    const env = parseEnv(readFileSync(envFile, 'utf8')) as Record<string, string>;
    expect(env).toEqual({ APP_ID: '987', WEBHOOK_SECRET: `it's a "secret"`, PRIVATE_KEY: '-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY-----' });
  });

  it.each([
    [{ token: 'forged' }, 'this form does not come from this server’s setup page'],
    [{ app_id: 'abc' }, 'the App ID is the number on the App’s settings page'],
    [{ private_key: 'not a key' }, 'the private key must be the whole .pem file'],
    [{ webhook_secret: '' }, 'the webhook secret is required'],
  ])('refuses %o with a 400 saying why, and writes nothing', async (change, problem) => {
    const page = await (await get('/setup/existing?public_url=https%3A%2F%2Fparapet.example.com')).text();
    const form = { token: field(page, 'token')!, public_url: 'https://parapet.example.com', app_id: '987', webhook_secret: 's3cret', private_key: '-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----', ...change };
    const response = await fetch(`${server.url}/setup/existing`, { method: 'POST', body: new URLSearchParams(form) });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain(problem);
    expect(() => statSync(envFile)).toThrow();
  });
});

describe('app.yml', () => {
  it('asks for nothing without a reason the setup page shows', () => {
    expect(() => readAppDefinition(appYml)).not.toThrow();
    expect(() => readAppDefinition(appYml.replace('metadata: read', 'metadata: read\n  administration: write'))).toThrow('app.yml: permission administration has no reason in src/web/setup/manifest.ts');
    expect(() => readAppDefinition(appYml.replace('  - push\n', '  - push\n  - deployment\n'))).toThrow('app.yml: event deployment has no reason');
  });
});
