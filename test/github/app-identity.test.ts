// The App's own login, which tells its review comments from everyone else's: asked of GitHub as
// the App (GET /app with its JWT), once per process.
import { generateKeyPairSync } from 'node:crypto';
import { ProbotOctokit } from 'probot';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { appLogin } from '../../src/github/app-identity.js';
import type { GitHubClient } from '../../src/github/github-client.js';
import { FAKE_APP_ID, FAKE_BOT_LOGIN, FakeGitHub } from '../helpers/fake-github.js';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });

let fake: FakeGitHub;
beforeAll(async () => {
  fake = await FakeGitHub.start();
});
afterAll(() => fake?.close());
beforeEach(() => fake.reset());

/** A client authenticated as the App itself (a JWT), as `probot.auth()` gives it; no retries, so a failure shows. */
function asApp(): Promise<GitHubClient> {
  return Promise.resolve(new ProbotOctokit({ auth: { appId: FAKE_APP_ID, privateKey }, baseUrl: fake.url, retry: { enabled: false }, throttle: { enabled: false } }) as unknown as GitHubClient);
}

describe('the App’s login', () => {
  it('is its bot user’s, `<slug>[bot]`, asked once as the App however often it is needed', async () => {
    const login = appLogin(asApp);

    expect(await Promise.all([login(), login()])).toEqual([FAKE_BOT_LOGIN, FAKE_BOT_LOGIN]);
    expect(await login()).toBe('parapet[bot]');
    expect(fake.requests.map((r) => [r.method, r.path, r.status])).toEqual([['GET', '/app', 200]]);
  });

  it('is asked again after GitHub failed to answer, rather than remembered as a failure', async () => {
    fake.failWith(/^GET \/app$/, 502, { times: 1 });
    const login = appLogin(asApp);

    await expect(login()).rejects.toThrow(/fake failure 502/);
    expect(await login()).toBe(FAKE_BOT_LOGIN);
    expect(fake.requests.map((r) => r.status)).toEqual([502, 200]);
  });
});
