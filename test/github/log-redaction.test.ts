// What the App writes to its logs holds no credentials: the built App (`npm start`) runs against
// the fake GitHub, an archive download fails on a link that carries a token, and everything the
// process wrote (Probot's log on stdout, stderr) is searched for it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redactSecrets, redactUrl } from '../../src/errors.js';
import { notRecordedOutput, operationalFailureOutput } from '../../src/github/check-run.js';
import { migratedDataDir } from '../helpers/database-template.js';
import { repoRoot } from '../helpers/engine.js';
import { appEnvironment, fixtureFiles, pullRequestPayload, sha, WEBHOOK_SECRET } from '../helpers/fake-github-app.js';
import { deliverWebhook, FakeGitHub } from '../helpers/fake-github.js';
import { freePort } from '../helpers/ports.js';

const main = join(repoRoot, 'dist', 'main.js');
const REPO = 'example-org/private-gitops';
const ARCHIVE_TOKEN = 'ARCHIVE-TOKEN-4f9c2a7e1b';

let fake: FakeGitHub;
let dir: string;
let app: ChildProcess | undefined;

beforeAll(async () => {
  fake = await FakeGitHub.start();
  dir = mkdtempSync(join(tmpdir(), 'parapet-redaction-'));
});
afterEach(async () => {
  if (app && app.exitCode === null) {
    app.kill('SIGTERM');
    await new Promise((resolve) => app!.once('exit', resolve));
  }
  app = undefined;
});
afterAll(async () => {
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('redactSecrets', () => {
  it.each([
    ['an archive link', 'GET https://codeload.github.com/o/r/legacy.tar.gz/abc?token=AABBCC failed', 'GET https://codeload.github.com/o/r/legacy.tar.gz/abc?token=*** failed'],
    ['a link inside a JSON log line', '{"url":"https://codeload.github.com/o/r/legacy.tar.gz/abc?token=AABBCC","status":404}', '{"url":"https://codeload.github.com/o/r/legacy.tar.gz/abc?token=***","status":404}'],
    ['an OAuth callback', 'https://parapet.example/auth/callback?code=0123abcd&state=xyz', 'https://parapet.example/auth/callback?code=***&state=xyz'],
    ['OAuth credentials', 'https://github.com/login/oauth/access_token?client_id=Iv1.x&client_secret=s3cr3t&access_token=gho_abc', 'https://github.com/login/oauth/access_token?client_id=Iv1.x&client_secret=***&access_token=***'],
    ['signed links', 'https://objects.example/a?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abc&sig=zz&jwt=x.y.z', 'https://objects.example/a?X-Amz-Credential=***&X-Amz-Signature=***&sig=***&jwt=***'],
    ['a database URL', 'cannot reach postgresql://parapet:s3cret@db.internal:5432/parapet', 'cannot reach postgresql://parapet:***@db.internal:5432/parapet'],
    ['a Redis URL without a user', 'redis://:queue-secret@127.0.0.1:6379', 'redis://:***@127.0.0.1:6379'],
    ['a token in a clone URL', 'https://x-access-token:ghs_16C7e42F292c6912E7710c838347Ae178B4a@github.com/o/r.git', 'https://x-access-token:***@github.com/o/r.git'],
    ['an Authorization header', 'authorization: token ghs_16C7e42F292c6912E7710c838347Ae178B4a', 'authorization: token ***'],
    ['an Authorization header in JSON', '{"authorization":"Bearer abc.def.ghi","accept":"application/json"}', '{"authorization":"Bearer ***","accept":"application/json"}'],
    ['a bearer token in prose', 'sent Bearer 0123456789abcdef to GitHub', 'sent Bearer *** to GitHub'],
    ['a GitHub token on its own', 'token ghp_16C7e42F292c6912E7710c838347Ae178B4a expired', 'token ghp_*** expired'],
    ['a JSON web token on its own', 'JWT eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjEyMzQ1fQ.c2lnbmF0dXJl rejected', 'JWT *** rejected'],
    ['a private key', '"-----BEGIN RSA PRIVATE KEY-----\\nMIIEow\\n-----END RSA PRIVATE KEY-----"', '"-----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY-----"'],
  ])('hides the credential in %s', (_what, text, expected) => {
    expect(redactSecrets(text)).toBe(expected);
  });

  it('leaves text without credentials as it is', () => {
    const text = 'the token was revoked: GET /repos/o/r/tarball/abc?ref=main&per_page=100 answered 404 (bearer token expected)';
    expect(redactSecrets(text)).toBe(text);
  });

  it('is what redactUrl applies to a URL that parses', () => {
    expect(redactUrl('postgresql://parapet:s3cret@db.internal/parapet?password=again&sslmode=require', 'DATABASE_URL')).toBe('postgresql://parapet:***@db.internal/parapet?password=***&sslmode=require');
    expect(redactUrl('not a url s3cret', 'DATABASE_URL')).toBe('(unparseable DATABASE_URL)');
  });

  it('keeps credentials out of what a check run says about a failure', () => {
    const link = 'https://codeload.github.com/o/r/legacy.tar.gz/abc?token=AABBCC';
    expect(operationalFailureOutput(`cannot download ${link}`).summary).not.toContain('AABBCC');
    const recorded = notRecordedOutput(operationalFailureOutput('x'), 'connect ECONNREFUSED postgresql://parapet:s3cret@db.internal/parapet');
    expect(recorded.summary).not.toContain('s3cret');
  });
});

describe('the App’s logs', () => {
  it('name the archive link of a failed download without its token', async () => {
    const base = sha('private-base');
    const head = sha('private-head');
    fake.addCommit(REPO, base, fixtureFiles('shop-cluster'));
    fake.addCommit(REPO, head, fixtureFiles('shop-cluster'));
    fake.privateArchives(ARCHIVE_TOKEN);
    // The link has expired by the time it is followed (codeload answers 404: not retried).
    fake.failWith(/^GET \/_codeload\//, 404, { message: 'Not Found' });

    const port = await freePort();
    // JSON lines, as in production: every property of a logged error is written.
    const env = appEnvironment(fake, { PORT: String(port), LOG_LEVEL: 'debug', NODE_ENV: 'production', PARAPET_DB_DIR: await migratedDataDir(), PARAPET_CACHE_DIR: '' });
    const child = spawn(process.execPath, [main], { cwd: repoRoot, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: 'pipe' });
    app = child;
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    // The embedded database's first start takes a while on a busy machine.
    await waitFor(() => /listening on/.test(output), () => `the App did not start:\n${output}`, 90_000);

    const delivered = await deliverWebhook(`http://127.0.0.1:${port}/api/github/webhooks`, 'pull_request', pullRequestPayload(fake, REPO, 'opened', base, head), WEBHOOK_SECRET);
    expect(delivered.status).toBe(200);
    // The job's end: the check run says it failed, the log says the job failed.
    await waitFor(() => fake.checkRuns.some((r) => r.conclusion === 'failure') && /could not be checked/.test(output), () => `the job did not fail as expected:\n${output}`);
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));

    // The download was followed to the link and its failure logged with it, token hidden ...
    expect(fake.requests.some((r) => r.path.startsWith('/_codeload/'))).toBe(true);
    expect(output).toContain('pull request check failed');
    expect(output).toMatch(/_codeload\/example-org\/private-gitops\/legacy\.tar\.gz\/[0-9a-f]+\?token=\*\*\*/);
    // ... and nowhere else either.
    expect(output).not.toContain(ARCHIVE_TOKEN);
    expect(output).not.toMatch(/ghs_fake_\w+/);
  });
});

async function waitFor(done: () => boolean, failure: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (app?.exitCode !== null && app?.exitCode !== undefined) throw new Error(`the App exited with ${app.exitCode}: ${failure()}`);
    if (Date.now() > deadline) throw new Error(failure());
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
