// The overview on a real local server with a seeded embedded database and the fake GitHub, and a
// tiny cookie-keeping client that signs in the way a browser does.
import { openDatabase, type Database, type DatabaseConfig } from '../../src/store/database.js';
import { startWebServer, type WebServer } from '../../src/web/server.js';
import type { PolicyChangeDeps } from '../../src/web/policy-change.js';
import type { WebConfig } from '../../src/web/web-config.js';
import type { FakeGitHub } from '../helpers/fake-github.js';
import { startFakeGitHubOAuth, type FakeGitHubOAuth, type FakeUser } from '../helpers/fake-github-oauth.js';
import { seedOverview, USERS } from './seed.js';

/** The session secret of the harness's overview: a test can sign what only the server should. */
export const SESSION_SECRET = 'test-secret-test-secret-test-secret-0123';

export interface Harness {
  db: Database;
  github: FakeGitHubOAuth;
  web: WebServer;
  close(): Promise<void>;
}

export interface HarnessOptions {
  port?: number;
  /** Default: an embedded in-memory database. */
  database?: DatabaseConfig;
  /** An open database to use instead (left open: its opener closes it). */
  db?: Database;
  /** The fake GitHub's users and the repositories each may read. Default: the seed's USERS. */
  users?: FakeUser[];
  /** What the database holds before the server starts. Default: the seed of the tests (seedOverview). */
  seed?: (db: Database) => Promise<void>;
  /** Where the fake GitHub sends every request that is not sign-in (repositories, installations). */
  api?: FakeGitHub;
  /** Policy changes through pull requests: the engine and the tree reader, as src/main.ts wires them. */
  policyChanges?: PolicyChangeDeps;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const db = options.db ?? (await openDatabase(options.database ?? { dataDir: 'memory://' }));
  await (options.seed ?? seedOverview)(db);
  const github = await startFakeGitHubOAuth(options.users ?? USERS, options.api ? { api: options.api } : {});
  // The callback URL must be known before the port: listen on a fixed free port via port 0 then rebuild.
  const config: WebConfig = {
    oauth: { clientId: github.clientId, clientSecret: github.clientSecret },
    sessionSecret: SESSION_SECRET,
    publicUrl: 'http://127.0.0.1:0',
    repoCacheMs: 60_000,
    sessionMaxAgeMs: 3600_000,
  };
  const web = await startWebServer({ db, config, github: { webUrl: github.url, apiUrl: github.url }, port: options.port ?? 0, logError: () => {}, ...(options.policyChanges ? { policyChanges: options.policyChanges } : {}) });
  config.publicUrl = web.url; // read per request
  return {
    db,
    github,
    web,
    async close() {
      await web.close();
      await github.close();
      if (!options.db) await db.close();
    },
  };
}

export class Client {
  readonly cookies = new Map<string, string>();
  constructor(readonly base: string) {}

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  keep(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === '' || /Max-Age=0/.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const full = url.startsWith('http') ? url : `${this.base}${url}`;
    const sameSite = full.startsWith(this.base);
    const res = await fetch(full, { ...init, redirect: 'manual', headers: { ...(sameSite && this.cookies.size ? { cookie: this.cookieHeader() } : {}), ...init.headers } });
    if (sameSite) this.keep(res);
    return res;
  }

  /** Follows redirects across the site and the fake GitHub, like a browser. */
  async follow(url: string, init: RequestInit = {}): Promise<Response> {
    let res = await this.fetch(url, init);
    for (let i = 0; i < 10 && res.status >= 300 && res.status < 400; i++) res = await this.fetch(res.headers.get('location')!);
    return res;
  }

  async json<T = any>(url: string): Promise<{ status: number; body: T }> {
    const res = await this.fetch(url);
    return { status: res.status, body: (await res.json()) as T };
  }
}

export async function signIn(h: Harness, login: string, next = '/'): Promise<Client> {
  h.github.signInAs(login);
  const client = new Client(h.web.url);
  // login -> GitHub's authorize -> callback, which sets the session and redirects to `next` (not followed).
  const login_ = await client.fetch(`/auth/login?next=${encodeURIComponent(next)}`);
  const authorize = await client.fetch(login_.headers.get('location')!);
  const callback = await client.fetch(authorize.headers.get('location')!);
  if (callback.status !== 302 || !client.cookies.has('parapet_session')) throw new Error(`sign-in of ${login} ended with ${callback.status}`);
  return client;
}
