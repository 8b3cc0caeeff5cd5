// Policies enabled, disabled and re-actioned through a pull request from the compliance page: the
// overview on a real local server, the fake GitHub (every request checked against GitHub's OpenAPI
// description) holding acme/gitops with two clusters, staging and prod, whose policies folders are
// empty, a privileged Deployment and a privileged debug Pod whose risk is accepted. bob may write to
// acme/gitops, alice only read it, mallory cannot see it. The database holds the compliance seed.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli, treeSnapshot } from '../helpers/cli.js';
import type { FakeGitHub } from '../helpers/fake-github.js';
import { gitopsFiles, MAIN, REPO, startPolicyChangeWorld, writeCheckout, type PolicyChangeWorld } from './policy-change-seed.js';
import { signIn, type Client, type Harness } from './harness.js';

const WITH_PRIVILEGED = '2'.repeat(40);

const made: string[] = [];
/** What `parapet policies ARGS` writes into a checkout of `files`: the files it changed, and those it removed. */
async function cliChange(files: Record<string, string>, args: string[]): Promise<{ writes: Record<string, string>; deletes: string[]; after: Record<string, string> }> {
  const dir = writeCheckout(files);
  made.push(dir);
  const run = await runCli(['policies', ...args], { cwd: dir });
  if (run.code !== 0) throw new Error(run.stderr);
  const after = treeSnapshot(dir);
  return {
    writes: Object.fromEntries(Object.entries(after).filter(([path, text]) => files[path] !== text)),
    deletes: Object.keys(files).filter((path) => !(path in after)).sort(),
    after,
  };
}

const decode = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#96;/g, '`').replace(/&amp;/g, '&');

/** The hidden fields of the page's form posting to `action`, as a browser would send them. */
function formFields(page: string, action: string): URLSearchParams {
  const form = new RegExp(`<form[^>]*action="${action}"[^>]*>([\\s\\S]*?)</form>`).exec(page)?.[1];
  if (form === undefined) throw new Error(`no form posting to ${action} in:\n${page.slice(0, 3000)}`);
  const fields = new URLSearchParams();
  for (const m of form.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) fields.append(decode(m[1]!), decode(m[2]!));
  return fields;
}

async function post(client: Client, path: string, fields: URLSearchParams): Promise<{ status: number; text: string }> {
  const res = await client.fetch(path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: fields.toString() });
  return { status: res.status, text: await res.text() };
}

async function get(client: Client, path: string): Promise<{ status: number; text: string }> {
  const res = await client.fetch(path);
  return { status: res.status, text: await res.text() };
}

const formUrl = (cluster: string, op = 'enable') => `/compliance/change?repo=${encodeURIComponent(REPO)}&cluster=${cluster}&op=${op}`;

/** The first form's hidden fields plus what a user chose. */
async function choose(client: Client, cluster: string, op: string, chosen: Record<string, string | string[]>): Promise<URLSearchParams> {
  const page = await get(client, formUrl(cluster, op));
  expect(page.status).toBe(200);
  const fields = formFields(page.text, '/compliance/change/preview');
  for (const [name, value] of Object.entries(chosen)) for (const v of [value].flat()) fields.append(name, v);
  return fields;
}

const writeRequests = (fake: FakeGitHub) => fake.requests.filter((r) => r.method !== 'GET' && r.path.startsWith(`/repos/${REPO}/`));

describe('changing policies through a pull request', () => {
  let fake: FakeGitHub;
  let h: Harness;
  const files = gitopsFiles();

  let world: PolicyChangeWorld;

  beforeAll(async () => {
    world = await startPolicyChangeWorld(files);
    ({ fake, h } = world);
  });
  afterAll(async () => {
    await world?.close();
    made.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  });
  beforeEach(() => {
    fake.reset();
    fake.setBranch(REPO, 'main', MAIN);
    fake.setInstallationPermissions('acme', { checks: 'write', contents: 'write', pull_requests: 'write', metadata: 'read' });
  });

  it('opens a pull request enabling PSS Baseline in warn on staging with exactly the files parapet policies enable writes', async () => {
    const bob = await signIn(h, 'bob');
    const form = await get(bob, formUrl('staging'));
    expect(form.status).toBe(200);
    // warn is chosen unless the user chooses otherwise, and the form says why.
    expect(form.text).toMatch(/<input type="radio" name="action" value="warn" checked>/);
    expect(form.text).toContain('Roll out, then enforce');

    const preview = await post(bob, '/compliance/change/preview', await choose(bob, 'staging', 'enable', { standard: 'k8s/baseline', action: 'warn' }));
    expect(preview.status).toBe(200);
    // The confirmation shows the diff and what the default branch's objects would get.
    expect(preview.text).toContain('<code>clusters/staging/policies/constraints/preventprivileged-constraint.yaml</code> <span class="status added">added</span>');
    expect(preview.text).toContain('<span class="line add">+  enforcementAction: warn</span>');
    expect(preview.text).toMatch(/<tr data-policy="preventprivileged"><td><code>preventprivileged<\/code><\/td><td><span class="action action-warn">warn<\/span><\/td><td>Deployment shop\/storefront<\/td>/);
    expect(preview.text).toMatch(/<tr data-policy="preventprivileged"><td><code>preventprivileged<\/code><\/td><td><span class="action action-warn">warn<\/span> \(accepted\)<\/td><td>Pod shop\/node-debugger<\/td>/);
    expect(writeRequests(fake)).toEqual([]);

    const opened = await post(bob, '/compliance/change/open', formFields(preview.text, '/compliance/change/open'));
    expect(opened.status).toBe(200);
    expect(opened.text).toContain(`<a class="pull-link" href="https://github.com/${REPO}/pull/1001">${REPO}#1001</a>`);

    const cli = await cliChange(files, ['enable', '--cluster', 'staging', '--standard', 'k8s/baseline', '--action', 'warn']);
    expect(fake.createdPulls).toHaveLength(1);
    const pull = fake.createdPulls[0]!;
    expect({ writes: pull.writes, deletes: pull.deletes }).toEqual({ writes: cli.writes, deletes: cli.deletes });
    expect(Object.keys(pull.writes).every((path) => path.startsWith('clusters/staging/policies/'))).toBe(true);
    expect(pull).toMatchObject({ repo: REPO, base: 'main', baseSha: MAIN, user: 'bob', title: expect.stringMatching(/^Enable Kubernetes Pod Security Standards, Baseline \(\d+ policies\) in warn on staging$/) });
    expect(pull.head).toMatch(/^parapet\/enable-staging-\d{8}-[0-9a-f]{6}$/);
    expect(pull.body).toContain('@bob asked for this change');
    expect(pull.body).toContain('Kubernetes Pod Security Standards, Baseline (`k8s/baseline`): ');
    expect(pull.body).toMatch(/\| <code>preventprivileged<\/code> Prevent privileged containers \| enabled \| [\d.]+ \| k8s\/baseline Privileged Containers/);
    expect(pull.body).toMatch(/### Violations on `main` \(1111111\) with this change\n\n\d+ violations? in 2 objects, 1 of them accepted risks/);
    expect(pull.body).toMatch(/\| <code>preventprivileged<\/code> \| warn \| Deployment shop\/storefront \| <code>cluster\/namespaces\/shop\/deployment.yaml:\d+<\/code> \|/);
    expect(pull.body).toContain('**Why `warn` first.**');
    // One commit on a new branch, in four writes; the default branch is where it was.
    expect(writeRequests(fake).map((r) => `${r.method} ${r.path}`)).toEqual([`POST /repos/${REPO}/git/trees`, `POST /repos/${REPO}/git/commits`, `POST /repos/${REPO}/git/refs`, `POST /repos/${REPO}/pulls`]);
    expect(pull.commit).toEqual({ message: expect.stringMatching(/^Enable Kubernetes Pod Security Standards, Baseline .* on staging\n\nRequested by @bob/), author: 'bob' });
    expect(fake.requests.find((r) => r.path === `/repos/${REPO}/git/refs`)!.body).toEqual({ ref: `refs/heads/${pull.head}`, sha: pull.headSha });
    const main = await get(bob, '/compliance'); // the overview is untouched by the pull request
    expect(main.status).toBe(200);
  });

  it('refuses imageallowlist in deny without an allowlist, with the CLI\'s reason, and writes nothing', async () => {
    const bob = await signIn(h, 'bob');
    const refused = await post(bob, '/compliance/change/preview', await choose(bob, 'prod', 'enable', { policy: 'imageallowlist', action: 'deny' }));
    expect(refused.status).toBe(422);
    expect(refused.text).toMatch(/<li>imageallowlist needs trustedregistries or trustedimages before it can deny: left empty, it denies everything it checks/);
    expect(writeRequests(fake)).toEqual([]);

    const given = await post(bob, '/compliance/change/preview', await choose(bob, 'prod', 'enable', { policy: 'imageallowlist', action: 'deny', 'param.trustedregistries': 'ghcr.io/acme/,registry.example.com' }));
    expect(given.status).toBe(200);
    expect(given.text).toContain('<span class="line add">+    trustedregistries:</span>');
    expect(given.text).toContain('<span class="line add">+      - ghcr.io/acme/</span>');
    const opened = await post(bob, '/compliance/change/open', formFields(given.text, '/compliance/change/open'));
    expect(opened.status).toBe(200);
    const cli = await cliChange(files, ['enable', '--cluster', 'prod', 'imageallowlist', '--action', 'deny', '--param', 'trustedregistries=ghcr.io/acme/,registry.example.com']);
    expect(fake.createdPulls[0]!.writes).toEqual(cli.writes);
  });

  it('disables a policy and changes another\'s action the same way, each in a pull request of its own', async () => {
    const enabled = await cliChange(files, ['enable', '--cluster', 'prod', 'preventprivileged', 'preventhostnamespaces', '--action', 'warn']);
    fake.addCommit(REPO, WITH_PRIVILEGED, enabled.after, { parents: [MAIN] });
    fake.setBranch(REPO, 'main', WITH_PRIVILEGED);
    const bob = await signIn(h, 'bob');

    const toDeny = await post(bob, '/compliance/change/preview', await choose(bob, 'prod', 'action', { policy: 'preventprivileged', action: 'deny' }));
    expect(toDeny.status).toBe(200);
    expect(toDeny.text).toContain('<span class="line del">-  enforcementAction: warn</span>');
    expect(toDeny.text).toContain('<span class="line add">+  enforcementAction: deny</span>');
    expect((await post(bob, '/compliance/change/open', formFields(toDeny.text, '/compliance/change/open'))).status).toBe(200);
    const cliDeny = await cliChange(enabled.after, ['enable', '--cluster', 'prod', 'preventprivileged', '--action', 'deny']);
    expect(fake.createdPulls[0]).toMatchObject({ title: 'Set preventprivileged to deny on prod', writes: cliDeny.writes, deletes: [], baseSha: WITH_PRIVILEGED });

    const disable = await post(bob, '/compliance/change/preview', await choose(bob, 'prod', 'disable', { policy: 'preventhostnamespaces' }));
    expect(disable.status).toBe(200);
    expect(disable.text).toContain('<span class="status removed">removed</span>');
    expect((await post(bob, '/compliance/change/open', formFields(disable.text, '/compliance/change/open'))).status).toBe(200);
    const cliDisable = await cliChange(enabled.after, ['disable', '--cluster', 'prod', 'preventhostnamespaces']);
    expect(fake.createdPulls[1]).toMatchObject({ title: 'Disable preventhostnamespaces on prod', writes: {}, deletes: cliDisable.deletes });
    expect(cliDisable.deletes).toHaveLength(3);
    expect(fake.requests.filter((r) => r.path === `/repos/${REPO}/git/trees`).map((r) => (r.body as { tree: unknown[] }).tree.length)).toEqual([1, 3]);

    // Changing the action of a policy that is not enabled is enabling it: said, and nothing written.
    const notEnabled = await post(bob, '/compliance/change/preview', await choose(bob, 'staging', 'action', { policy: 'preventprivileged', action: 'deny' }));
    expect(notEnabled.status).toBe(422);
    expect(notEnabled.text).toContain('preventprivileged is not enabled in staging: enable it instead of changing its action');
  });

  it('lets a reader see why not (403 with a message) and never the form, for any step', async () => {
    const alice = await signIn(h, 'alice');
    const form = await get(alice, formUrl('staging'));
    expect(form.status).toBe(403);
    expect(form.text).toContain('You may read acme/gitops but not write to it, so Parapet cannot open a pull request for you there.');
    expect(form.text).not.toContain('action="/compliance/change/preview"');
    const fields = new URLSearchParams({ csrf: csrfOf(await get(alice, '/compliance')), repo: REPO, cluster: 'staging', op: 'enable', standard: 'k8s/baseline', action: 'warn' });
    for (const path of ['/compliance/change/preview', '/compliance/change/open']) {
      const refused = await post(alice, path, path.endsWith('open') ? new URLSearchParams([...fields, ['base', MAIN]]) : fields);
      expect(refused.status).toBe(403);
      expect(refused.text).toContain('You may read acme/gitops but not write to it');
    }
    expect(writeRequests(fake)).toEqual([]);
  });

  it('shows an outsider nothing: 404 as for a repository that does not exist', async () => {
    const mallory = await signIn(h, 'mallory');
    const csrf = csrfOf(await get(mallory, '/compliance'));
    expect((await get(mallory, formUrl('staging'))).status).toBe(404);
    const refused = await post(mallory, '/compliance/change/preview', new URLSearchParams({ csrf, repo: REPO, cluster: 'staging', op: 'enable', standard: 'k8s/baseline' }));
    expect(refused.status).toBe(404);
    expect(refused.text).toContain('There is no such page, or you cannot see it.');
    // The same address shows bob, who may write, the form; but no cluster that does not exist.
    const bob = await signIn(h, 'bob');
    expect((await get(bob, formUrl('staging'))).status).toBe(200);
    fake.reset();
    expect((await get(bob, `/compliance/change?repo=${encodeURIComponent(REPO)}&cluster=nowhere`)).status).toBe(404);
    expect(fake.requests.filter((r) => r.path.startsWith(`/repos/${REPO}`) && r.method === 'GET' && r.path !== `/repos/${REPO}`)).toEqual([]);
  });

  it('refuses a form without the session\'s CSRF token, and writes nothing', async () => {
    const bob = await signIn(h, 'bob');
    const fields = await choose(bob, 'staging', 'enable', { standard: 'k8s/baseline', action: 'warn' });
    fields.delete('csrf');
    const missing = await post(bob, '/compliance/change/preview', fields);
    expect(missing.status).toBe(403);
    expect(missing.text).toContain('The form had no valid CSRF token');
    fields.set('csrf', 'x'.repeat(43));
    fields.set('base', MAIN);
    expect((await post(bob, '/compliance/change/open', fields)).status).toBe(403);
    expect(writeRequests(fake)).toEqual([]);
    expect(fake.createdPulls).toEqual([]);
  });

  it('says the feature is off until the installation accepts contents: write, and writes nothing', async () => {
    fake.setInstallationPermissions('acme', { checks: 'write', contents: 'read', pull_requests: 'write', metadata: 'read' });
    const bob = await signIn(h, 'bob');
    const form = await get(bob, formUrl('staging'));
    expect(form.status).toBe(403);
    expect(form.text).toContain("Parapet&#39;s GitHub App on acme lacks contents: write: enabling policies through a pull request is off until an owner of the installation accepts the App&#39;s new permissions");
    expect(writeRequests(fake)).toEqual([]);
  });

  it('answers a form value that cannot be meant with 400 naming it', async () => {
    const bob = await signIn(h, 'bob');
    const csrf = csrfOf(await get(bob, '/compliance'));
    const cases: Array<[Record<string, string>, string]> = [
      [{ op: 'enable', action: 'block', standard: 'k8s/baseline' }, 'action must be one of deny, warn, dryrun'],
      [{ op: 'enable', standard: 'k8s/nope' }, 'standard must be one of'],
      [{ op: 'enable' }, 'choose a standard or at least one policy to enable'],
      [{ op: 'drop', policy: 'preventprivileged' }, 'op must be one of enable, action, disable'],
    ];
    for (const [fields, message] of cases) {
      const res = await post(bob, '/compliance/change/preview', new URLSearchParams({ csrf, repo: REPO, cluster: 'staging', ...fields }));
      expect(res.status, message).toBe(400);
      expect(res.text).toContain(message);
    }
    expect((await bob.fetch('/compliance/change/preview')).status).toBe(405);
  });
});

function csrfOf(page: { text: string }): string {
  return /name="csrf" value="([^"]+)"/.exec(page.text)![1]!;
}
