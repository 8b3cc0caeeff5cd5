// What drives the App against the fake GitHub, shared by the tests and the benchmark (which runs
// it under tsx against the built dist): the App's credentials, pull_request deliveries shaped like
// GitHub's (from @octokit/webhooks-examples), fixture repositories as file maps. No vitest, no src/
// import here, so bench/ can use it.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import examples from '@octokit/webhooks-examples';
import { FAKE_APP_ID, type FakeGitHub } from './fake-github.js';
import { readTree } from './read-tree.js';

export const WEBHOOK_SECRET = 'a-webhook-secret';
export const INSTALLATION_ID = 4242;
export const fixtureReposDir = fileURLToPath(new URL('../fixtures/repos', import.meta.url));

let privateKey: string | undefined;

/**
 * The environment `readConfig` turns into an App talking to `fake` (a fresh RSA key per process).
 * The history backfill is off unless `env` sets it: an installation then makes exactly the calls
 * the tests of other behaviours count (test/github/history-backfill.test.ts turns it on).
 */
export function appEnvironment(fake: FakeGitHub, env: Record<string, string> = {}): Record<string, string> {
  privateKey ??= generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;
  return { APP_ID: String(FAKE_APP_ID), PRIVATE_KEY: privateKey, WEBHOOK_SECRET, GITHUB_API_URL: fake.url, HOST: '127.0.0.1', LOG_LEVEL: 'silent', PARAPET_HISTORY_BACKFILL: '0', ...env };
}

/**
 * The `pull_request` event `action` of pull request `number` of `fullName` at `headSha`; the fake
 * then answers `headSha` as the pull request's head (as GitHub does once the push landed). Into
 * the example's default branch (`master`) unless `base` names another branch; `edited` is the
 * event of a pull request whose base branch changed from `base.from`.
 */
export function pullRequestPayload(
  fake: FakeGitHub,
  fullName: string,
  action: string,
  baseSha: string,
  headSha: string,
  number = 1,
  base: { ref?: string; defaultBranch?: string; from?: { ref: string; sha: string } } = {},
): Record<string, any> {
  const payload = structuredClone(webhookExample('pull_request', action === 'edited' ? 'opened' : action)) as Record<string, any>;
  if (action === 'edited') {
    payload.action = 'edited';
    payload.changes = base.from ? { base: { ref: { from: base.from.ref }, sha: { from: base.from.sha } } } : { title: { from: 'An older title' } };
  }
  payload.number = number;
  payload.pull_request.number = number;
  payload.pull_request.base.sha = baseSha;
  payload.pull_request.head.sha = headSha;
  if (base.ref !== undefined) payload.pull_request.base.ref = base.ref;
  if (base.defaultBranch !== undefined) payload.repository.default_branch = base.defaultBranch;
  fake.addPullRequest(fullName, { number, base: { sha: baseSha, ref: payload.pull_request.base.ref }, head: { sha: headSha } });
  return withRepository(payload, fullName);
}

/** The payload, about repository `fullName` of installation INSTALLATION_ID. */
export function withRepository(payload: Record<string, any>, fullName: string): Record<string, any> {
  const [owner, name] = fullName.split('/') as [string, string];
  payload.repository = { ...payload.repository, name, full_name: fullName, owner: { ...payload.repository.owner, login: owner } };
  payload.installation = { id: INSTALLATION_ID, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg==' };
  return payload;
}

export function webhookExample(event: string, action: string): unknown {
  const definition = (examples as unknown as Array<{ name: string; examples: Array<{ action?: string }> }>).find((d) => d.name === event);
  const found = definition?.examples.find((e) => e.action === action);
  if (!found) throw new Error(`no ${event}.${action} example in @octokit/webhooks-examples`);
  return found;
}

/** A fixture repository under test/fixtures/repos as a file map. */
export function fixtureFiles(name: string): Record<string, string> {
  return readTree(join(fixtureReposDir, name));
}

/** A commit id derived from `seed`. */
export function sha(seed: string): string {
  return createHash('sha1').update(seed).digest('hex');
}

/** A Deployment with a privileged container, the pull request tests' usual addition (line 22: `privileged: true`). */
export const DEBUG_DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: debug-shell
  namespace: shop
  labels:
    owner: team-shop
    cost-center: "4711"
spec:
  selector:
    matchLabels:
      app: debug-shell
  template:
    metadata:
      labels:
        app: debug-shell
    spec:
      containers:
        - name: shell
          image: busybox:1.36.1
          securityContext:
            privileged: true
`;
