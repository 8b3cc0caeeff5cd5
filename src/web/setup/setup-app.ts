// The setup page `npm start` serves while the App has no credentials: it asks where GitHub will
// reach this server, shows the webhook URL and what the App asks for, and registers the App through
// GitHub's manifest flow (the form posts app.yml's manifest to GitHub, GitHub sends the browser back
// with a code, the code is exchanged for the App's credentials). An App registered before gets the
// webhook URL to set and a form for its credentials. Either way the credentials land in .env and
// the next start serves webhooks.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GitHubError, redactSecrets } from '../../errors.js';
import { readLimitedBody } from '../../http-body.js';
import { sendHtml } from '../http.js';
import { githubManifest, type AppDefinition } from './manifest.js';
import { existingAppPage, registeredPage, reviewPage, startPage, type SiteAddresses } from './setup-views.js';

export interface SetupOptions {
  app: AppDefinition;
  /** Where the App receives webhooks once it has credentials (WEBHOOK_PATH). */
  webhookPath: string;
  /** The port this server listens on: the smee.io command forwards to it. */
  port: number;
  /** GitHub's web site (https://github.com, or https://HOST for GitHub Enterprise Server). */
  githubUrl: string;
  /** GitHub's REST API root. */
  githubApiUrl: string;
  /** An organization to register the App under by default (GH_ORG); empty: the person's account. */
  organization?: string;
  /** Writes the credentials (merged into .env); the next start reads them. */
  saveCredentials(values: Record<string, string>): void;
}

export interface SetupApp {
  /** Answers the setup's requests; false for anything else. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

const MAX_FORM_BYTES = 64 * 1024;
const MAX_URL_LENGTH = 500;

export function createSetupApp(options: SetupOptions): SetupApp {
  // The manifest flow's `state` and the existing-App form's token: a page from this process, not
  // a form another site posts, writes the credentials.
  const token = randomBytes(24).toString('base64url');
  let registered: { name: string; htmlUrl: string | null } | null = null;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? '/', 'http://setup.invalid');
    const path = url.pathname;
    if (req.method === 'GET' && (path === '/healthz' || path === '/ping')) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('PONG\n');
      return true;
    }
    if (path !== '/' && path !== '/setup/done' && path !== '/setup/existing') return false;
    if (registered) {
      sendHtml(res, 200, registeredPage(registered, options.app));
      return true;
    }
    const browserUrl = browserOrigin(req, options.port);

    if (req.method === 'GET' && path === '/') {
      const given = url.searchParams.get('public_url');
      const organization = url.searchParams.get('org') ?? options.organization ?? '';
      if (given === null) {
        sendHtml(res, 200, startPage({ app: options.app, port: options.port, webhookPath: options.webhookPath, organization, publicUrl: '' }));
        return true;
      }
      const site = readAddresses(given, options, browserUrl);
      const org = readOrganization(organization);
      if (typeof site === 'string' || typeof org !== 'string' || org === null) {
        const problem = typeof site === 'string' ? site : 'the organization must be a GitHub organization’s login (letters, digits and single hyphens)';
        sendHtml(res, 400, startPage({ app: options.app, port: options.port, webhookPath: options.webhookPath, organization, publicUrl: given, problem }));
        return true;
      }
      const action = new URL(org ? `${options.githubUrl}/organizations/${encodeURIComponent(org)}/settings/apps/new` : `${options.githubUrl}/settings/apps/new`);
      action.searchParams.set('state', token);
      const manifest = JSON.stringify(githubManifest(options.app, { webhookUrl: site.webhookUrl, siteUrl: site.siteUrl }));
      sendHtml(res, 200, reviewPage({ app: options.app, site, port: options.port, webhookPath: options.webhookPath, action: action.toString(), manifest, organization: org }));
      return true;
    }

    if (req.method === 'GET' && path === '/setup/done') {
      const code = url.searchParams.get('code') ?? '';
      if (!sameToken(url.searchParams.get('state') ?? '', token)) {
        sendHtml(res, 400, startPage({ app: options.app, port: options.port, webhookPath: options.webhookPath, organization: '', publicUrl: '', problem: 'this return from GitHub does not belong to a registration started on this server (its state differs): start again below' }));
        return true;
      }
      if (!/^[A-Za-z0-9_-]{1,100}$/.test(code)) {
        sendHtml(res, 400, startPage({ app: options.app, port: options.port, webhookPath: options.webhookPath, organization: '', publicUrl: '', problem: 'GitHub’s return carried no usable code: start again below' }));
        return true;
      }
      let created: ConvertedApp;
      try {
        created = await convertManifest(options.githubApiUrl, code);
      } catch (error) {
        if (!(error instanceof GitHubError)) throw error;
        sendHtml(res, 502, startPage({ app: options.app, port: options.port, webhookPath: options.webhookPath, organization: '', publicUrl: '', problem: `GitHub did not hand over the new App’s credentials: ${redactSecrets(error.message)}` }));
        return true;
      }
      options.saveCredentials({
        APP_ID: String(created.id),
        PRIVATE_KEY: created.pem,
        WEBHOOK_SECRET: created.webhook_secret,
        GITHUB_CLIENT_ID: created.client_id,
        GITHUB_CLIENT_SECRET: created.client_secret,
        // The overview's sessions survive restarts, and NODE_ENV=production finds one.
        SESSION_SECRET: randomBytes(32).toString('hex'),
      });
      registered = { name: created.name, htmlUrl: created.html_url };
      sendHtml(res, 200, registeredPage(registered, options.app));
      return true;
    }

    if (path === '/setup/existing') {
      if (req.method === 'GET') {
        const given = url.searchParams.get('public_url') ?? '';
        const site = given ? readAddresses(given, options, browserUrl) : null;
        sendHtml(res, typeof site === 'string' ? 400 : 200, existingAppPage({ app: options.app, port: options.port, webhookPath: options.webhookPath, githubUrl: options.githubUrl, token, publicUrl: given, site: typeof site === 'string' ? null : site, problem: typeof site === 'string' ? site : undefined }));
        return true;
      }
      if (req.method === 'POST') {
        const body = await readLimitedBody(req, MAX_FORM_BYTES);
        if (body === 'too-large') {
          res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' }).end('The form is larger than 64 KiB.\n');
          return true;
        }
        const form = new URLSearchParams(body.toString('utf8'));
        const given = form.get('public_url') ?? '';
        const site = readAddresses(given, options, browserUrl);
        const problem = !sameToken(form.get('token') ?? '', token)
          ? 'this form does not come from this server’s setup page (reload the page and send it again)'
          : typeof site === 'string'
            ? site
            : existingAppProblem(form);
        if (problem || typeof site === 'string') {
          sendHtml(res, 400, existingAppPage({ app: options.app, port: options.port, webhookPath: options.webhookPath, githubUrl: options.githubUrl, token, publicUrl: given, site: typeof site === 'string' ? null : site, problem: problem ?? undefined }));
          return true;
        }
        options.saveCredentials({ APP_ID: form.get('app_id')!.trim(), PRIVATE_KEY: form.get('private_key')!.trim().replace(/\r\n/g, '\n'), WEBHOOK_SECRET: form.get('webhook_secret')! });
        registered = { name: options.app.name, htmlUrl: null };
        sendHtml(res, 200, registeredPage(registered, options.app));
        return true;
      }
    }
    res.writeHead(405, { 'content-type': 'text/plain', allow: path === '/setup/existing' ? 'GET, POST' : 'GET' }).end('Method not allowed\n');
    return true;
  };
  return { handle };
}

/**
 * The webhook URL and the site's address from what the person typed: an http(s) URL GitHub can
 * reach, or a smee.io channel (then the site is the address the browser uses). A string: why not.
 */
export function readAddresses(given: string, options: Pick<SetupOptions, 'webhookPath'>, browserUrl: string): SiteAddresses | string {
  const text = given.trim();
  if (text === '') return 'enter the address GitHub will reach this server at';
  if (text.length > MAX_URL_LENGTH) return `the public URL is longer than ${MAX_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `“${text}” is not a URL: give it with https://, e.g. https://parapet.example.com`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `the public URL must start with https:// (or http://), got “${url.protocol}”`;
  if (url.username || url.password) return 'the public URL must not hold a user name or password';
  if (url.search || url.hash) return 'the public URL must not have a query (?…) or a fragment (#…)';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost') || /^127\./.test(host) || host === '::1' || host === '0.0.0.0') {
    return `GitHub cannot deliver webhooks to ${url.host}: that is this machine only. To try Parapet on your machine, use a smee.io channel (below)`;
  }
  const base = `${url.origin}${url.pathname}`.replace(/\/+$/, '');
  if (url.hostname === 'smee.io') {
    if (!/^\/[A-Za-z0-9_-]+$/.test(url.pathname)) return 'a smee.io address is a channel: https://smee.io/ followed by its name (open https://smee.io/new to get one)';
    return { publicUrl: base, webhookUrl: base, siteUrl: browserUrl, smee: true };
  }
  return { publicUrl: base, webhookUrl: `${base}${options.webhookPath}`, siteUrl: base, smee: false };
}

function readOrganization(text: string): string | null {
  const org = text.trim();
  if (org === '') return '';
  return /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/.test(org) ? org : null;
}

function existingAppProblem(form: URLSearchParams): string | null {
  const appId = form.get('app_id')?.trim() ?? '';
  if (!/^[1-9]\d{0,11}$/.test(appId)) return 'the App ID is the number on the App’s settings page (About: App ID)';
  const key = form.get('private_key')?.trim() ?? '';
  if (!/-----BEGIN ([A-Z]+ )?PRIVATE KEY-----[\s\S]+-----END ([A-Z]+ )?PRIVATE KEY-----/.test(key)) return 'the private key must be the whole .pem file generated on the App’s settings page';
  const secret = form.get('webhook_secret') ?? '';
  if (secret.trim() === '') return 'the webhook secret is required: Parapet never accepts unsigned webhooks (set one on the App’s settings page)';
  if (/[\r\n]/.test(secret)) return 'the webhook secret must be one line';
  if (["'", '"', '`'].every((quote) => secret.includes(quote))) return 'the webhook secret cannot hold all three of \' " ` (.env could not quote it): generate another';
  return null;
}

/**
 * The address the person's browser reached this server at (GitHub sends the browser back there):
 * the Host header when it is a plain host[:port], else localhost on this server's port.
 */
function browserOrigin(req: IncomingMessage, port: number): string {
  const host = req.headers.host ?? '';
  const proto = req.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http';
  if (/^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/.test(host)) return `${proto}://${host}`;
  return `http://localhost:${port}`;
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

interface ConvertedApp {
  id: number;
  name: string;
  html_url: string;
  pem: string;
  webhook_secret: string;
  client_id: string;
  client_secret: string;
}

/** POST /app-manifests/{code}/conversions: the new App's credentials, handed over once. */
async function convertManifest(apiUrl: string, code: string): Promise<ConvertedApp> {
  const url = `${apiUrl}/app-manifests/${encodeURIComponent(code)}/conversions`;
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { accept: 'application/vnd.github+json', 'user-agent': 'parapet' } });
  } catch (error) {
    throw new GitHubError(`cannot reach GitHub at ${new URL(url).origin}: ${(error as Error).message}`);
  }
  if (!response.ok) {
    const message = await response.json().then((b: { message?: unknown }) => (typeof b.message === 'string' ? `: ${b.message}` : ''), () => '');
    throw new GitHubError(`GitHub answered ${response.status} to the manifest conversion${message} (a code is good for one hour and one use)`, response.status);
  }
  const body = (await response.json()) as Partial<ConvertedApp>;
  for (const field of ['pem', 'webhook_secret', 'client_id', 'client_secret', 'name', 'html_url'] as const) {
    if (typeof body[field] !== 'string' || body[field] === '') throw new GitHubError(`GitHub's manifest conversion carried no ${field}`);
  }
  if (typeof body.id !== 'number') throw new GitHubError("GitHub's manifest conversion carried no App id");
  return body as ConvertedApp;
}
