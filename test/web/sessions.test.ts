// Sessions of the overview as a user lives them: signed in once, still signed in after the App
// restarted on the same database; signed out, or with a token GitHub revoked, the session is gone
// from the database; an expired one is refused.
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/store/database.js';
import { upsertInstallation, upsertRepository } from '../../src/store/repositories.js';
import { startWebServer, type WebServer } from '../../src/web/server.js';
import type { WebConfig } from '../../src/web/web-config.js';
import { startFakeGitHubOAuth, type FakeGitHubOAuth } from '../helpers/fake-github-oauth.js';
import { migratedDataDir } from '../helpers/database-template.js';
import { Client } from './harness.js';

const SESSION_SECRET = '9b1e4c7a2d5f8e0b3c6a9d2f5e8b1c4a7d0e3f6b';
const GITOPS = 5_501_234;

let github: FakeGitHubOAuth;

beforeAll(async () => {
  github = await startFakeGitHubOAuth([
    { login: 'alice', repos: [GITOPS] },
    { login: 'bob', repos: [GITOPS] },
  ]);
});

afterAll(async () => {
  await github?.close();
  for (const dataDir of Object.values(databases)) rmSync(dirname(dataDir), { recursive: true, force: true });
});

const databases: Record<string, string> = {};

/** The overview on its own server over the embedded database `name`, as one run of the App. */
async function startOverview(name: string): Promise<{ db: Database; web: WebServer; close(): Promise<void> }> {
  // The same name is the same database (a restart); a new name starts from a migrated copy.
  const dataDir = (databases[name] ??= await migratedDataDir());
  const db = await openDatabase({ dataDir });
  await upsertInstallation(db.prisma, { id: 7, accountLogin: 'acme', accountType: 'Organization' });
  await upsertRepository(db.prisma, { id: GITOPS, installationId: 7, owner: 'acme', name: 'gitops' });
  const config: WebConfig = {
    oauth: { clientId: github.clientId, clientSecret: github.clientSecret },
    sessionSecret: SESSION_SECRET,
    publicUrl: 'http://127.0.0.1:0',
    repoCacheMs: 60_000,
    sessionMaxAgeMs: 8 * 3600_000,
  };
  const web = await startWebServer({ db, config, github: { webUrl: github.url, apiUrl: github.url }, logError: () => {} });
  config.publicUrl = web.url; // read per request
  return {
    db,
    web,
    async close() {
      await web.close();
      await db.close();
    },
  };
}

async function signIn(base: string, login: string): Promise<Client> {
  github.signInAs(login);
  const client = new Client(base);
  const start = await client.fetch('/auth/login');
  const authorize = await client.fetch(start.headers.get('location')!);
  const callback = await client.fetch(authorize.headers.get('location')!);
  expect(callback.status).toBe(302);
  return client;
}

/** The same browser (its cookies) against another server. */
function sameBrowser(client: Client, base: string): Client {
  const moved = new Client(base);
  for (const [name, value] of client.cookies) moved.cookies.set(name, value);
  return moved;
}

describe('sessions of the overview', () => {
  it('survive a restart of the App on the same database', async () => {
    const first = await startOverview('restarted');
    let alice: Client;
    try {
      alice = await signIn(first.web.url, 'alice');
      expect(await alice.json('/api/me')).toEqual({ status: 200, body: { login: 'alice', repositories: ['acme/gitops'] } });
    } finally {
      await first.close();
    }

    const second = await startOverview('restarted');
    try {
      const again = sameBrowser(alice, second.web.url);
      expect(await again.json('/api/me')).toEqual({ status: 200, body: { login: 'alice', repositories: ['acme/gitops'] } });
    } finally {
      await second.close();
    }
  });

  it('end on sign-out and when GitHub revokes the token: the row is deleted', async () => {
    const overview = await startOverview('signed-out');
    try {
      const alice = await signIn(overview.web.url, 'alice');
      const bob = await signIn(overview.web.url, 'bob');
      const logins = async () => (await overview.db.prisma.session.findMany({ select: { login: true }, orderBy: { login: 'asc' } })).map((s) => s.login);
      expect(await logins()).toEqual(['alice', 'bob']);

      const page = await (await alice.fetch('/')).text();
      const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
      const out = await alice.fetch('/auth/logout', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `csrf=${encodeURIComponent(csrf)}` });
      expect(out.status).toBe(200);
      expect(await logins()).toEqual(['bob']);

      github.revoke('bob');
      expect((await bob.json('/api/me')).status).toBe(401);
      expect(await logins()).toEqual([]);
    } finally {
      await overview.close();
    }
  });

  it('refuse a session past its expiry', async () => {
    const overview = await startOverview('expired');
    try {
      const alice = await signIn(overview.web.url, 'alice');
      expect((await alice.json('/api/me')).status).toBe(200);
      // Eight hours later (as the database sees it).
      await overview.db.prisma.session.updateMany({ where: { login: 'alice' }, data: { expiresAt: new Date(Date.now() - 1000) } });
      expect(await alice.json('/api/me')).toEqual({ status: 401, body: { error: 'sign in first', signIn: '/auth/login' } });
      expect(await overview.db.prisma.session.count({ where: { login: 'alice' } })).toBe(0);
    } finally {
      await overview.close();
    }
  });
});
