import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, signIn, startHarness, type Harness } from './harness.js';
import { DIGEST, XSS } from './seed.js';

let h: Harness;
let alice: Client;
let bob: Client;

beforeAll(async () => {
  h = await startHarness();
  alice = await signIn(h, 'alice');
  bob = await signIn(h, 'bob');
});
afterAll(async () => h?.close());

describe('sign-in', () => {
  it('redirects an unauthenticated page request to sign-in, and answers the API with 401', async () => {
    const anonymous = new Client(h.web.url);
    const page = await anonymous.fetch('/risks?cluster=prod');
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/auth/login?next=%2Frisks%3Fcluster%3Dprod');
    const api = await anonymous.fetch('/api/images');
    expect(api.status).toBe(401);
    expect(await api.json()).toEqual({ error: 'sign in first', signIn: '/auth/login' });
  });

  it('signs in through GitHub OAuth with a state parameter and sets a signed HttpOnly SameSite=Lax cookie', async () => {
    h.github.signInAs('alice');
    const client = new Client(h.web.url);
    const login = await client.fetch('/auth/login?next=%2Fevaluations');
    const authorize = new URL(login.headers.get('location')!);
    expect(authorize.origin + authorize.pathname).toBe(`${h.github.url}/login/oauth/authorize`);
    expect(authorize.searchParams.get('client_id')).toBe(h.github.clientId);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${h.web.url}/auth/callback`);
    expect(authorize.searchParams.get('state')).toMatch(/^[\w-]{40,}$/);
    const callback = await client.fetch(login.headers.get('location')!);
    const done = await client.fetch(callback.headers.get('location')!);
    expect(done.status).toBe(302);
    expect(done.headers.get('location')).toBe('/evaluations');
    const session = done.headers.getSetCookie().find((c) => c.startsWith('parapet_session='))!;
    expect(session).toMatch(/; HttpOnly/);
    expect(session).toMatch(/; SameSite=Lax/);
    expect(session).not.toMatch(/Secure/); // the site is http here
    expect(session).not.toMatch(/gho_/); // the GitHub token never leaves the server
    expect((await client.fetch('/evaluations')).status).toBe(200);
  });

  it('refuses a callback whose state does not match', async () => {
    h.github.signInAs('alice');
    const client = new Client(h.web.url);
    const login = await client.fetch('/auth/login');
    const callback = new URL((await client.fetch(login.headers.get('location')!)).headers.get('location')!);
    callback.searchParams.set('state', 'forged');
    expect((await client.fetch(callback.toString())).status).toBe(400);
    expect(client.cookies.has('parapet_session')).toBe(false);
  });

  it('ignores a tampered session cookie', async () => {
    const client = new Client(h.web.url);
    client.cookies.set('parapet_session', `${alice.cookies.get('parapet_session')!.split('.')[0]}.forged`);
    expect((await client.fetch('/')).status).toBe(302);
  });

  it('never redirects off the site after sign-in', async () => {
    const client = await signIn(h, 'alice', '//evil.example/');
    expect(client.cookies.has('parapet_session')).toBe(true);
    const res = await signInRedirect('https://evil.example/');
    expect(res).toBe('/');
  });
});

async function signInRedirect(next: string): Promise<string | null> {
  const client = new Client(h.web.url);
  const login = await client.fetch(`/auth/login?next=${encodeURIComponent(next)}`);
  const callback = await client.fetch(login.headers.get('location')!);
  return (await client.fetch(callback.headers.get('location')!)).headers.get('location');
}

describe('images', () => {
  it('lists the images of readable repositories only, with outdated and mutable references', async () => {
    const { status, body } = await alice.json('/api/images');
    expect(status).toBe(200);
    const rows = body.images.map((r: any) => [r.repo, r.cluster, r.namespace, r.container, r.tag, r.outdated, r.newer, r.mutable]);
    expect(rows).toEqual(
      expect.arrayContaining([
        ['acme/gitops', 'prod', 'shop', 'web', '1.18-alpine', true, '1.19-alpine', 'no-digest'],
        ['acme/gitops', 'staging', 'shop', 'web', '1.19-alpine', false, null, 'no-digest'],
        ['acme/gitops', 'prod', 'shop', 'cache', null, false, null, 'no-tag'],
        ['acme/gitops', 'prod', 'shop', 'api', 'v1.2.3', true, 'v1.3.0', null],
        ['acme/gitops', 'prod', 'tools', 'debug', 'latest', false, null, 'latest'],
      ]),
    );
    expect(body.images.every((r: any) => r.repo === 'acme/gitops')).toBe(true);
    expect(body.images.find((r: any) => r.container === 'x')).toMatchObject({ malformed: expect.stringContaining('invalid'), outdated: false, mutable: null });
    const nginx = body.matrix.rows.find((m: any) => m.image === 'docker.io/library/nginx');
    expect(nginx.drift).toBe(true);
  });

  it("decides outdated among what the user may see: another user's newer version counts only for them", async () => {
    const { body } = await bob.json('/api/images?cluster=prod&image=nginx');
    expect(body.images.map((r: any) => [r.cluster, r.tag, r.newer])).toEqual([['prod', '1.18-alpine', '1.25-alpine']]);
  });

  it.each([
    ['cluster', '/api/images?cluster=staging', [['staging', 'api'], ['staging', 'web']]],
    ['namespace', '/api/images?namespace=tools', [['prod', 'broken'], ['prod', 'debug']]],
    ['image', '/api/images?image=redis', [['prod', 'web']]],
    ['search', '/api/images?q=debug', [['prod', 'debug']]],
    ['policy (accepted risks and violations on the default branch)', '/api/images?policy=k8sallowedrepos', [['prod', 'web'], ['prod', 'web']]],
    ['a policy concerning nothing', '/api/images?policy=k8snothing', []],
  ])('filters by %s', async (_, url, expected) => {
    const { body } = await alice.json(url);
    expect(body.images.map((r: any) => [r.cluster, r.workload.name]).sort()).toEqual(expected);
  });

  it('renders the images × cluster/namespace table with outdated and mutable highlighted', async () => {
    const res = await alice.fetch('/?cluster=prod');
    const page = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page).toContain('<th><a href="/clusters/prod?repo=acme%2Fgitops">prod</a><small>shop</small></th>');
    expect(page).toMatch(/<span class="tag outdated mutable"[^>]*>1\.18-alpine <small>→ 1\.19-alpine<\/small><\/span>/);
    expect(page).not.toContain('staging</a>');
  });
});

describe('authorization', () => {
  it('answers 404 for a cluster of a repository the user cannot read, exactly as for one that does not exist', async () => {
    const hidden = await alice.json('/api/clusters/vault-prod');
    const missing = await alice.json('/api/clusters/no-such-cluster');
    expect(hidden).toEqual({ status: 404, body: { error: 'not found' } });
    expect(missing).toEqual(hidden);
    expect((await alice.fetch('/clusters/vault-prod')).status).toBe(404);
    expect((await alice.fetch('/clusters/%E0%A4%A')).status).toBe(404);
    expect((await bob.json('/api/clusters/vault-prod')).status).toBe(200);
  });

  it('answers 404 for a filter naming an unreadable repository', async () => {
    expect((await alice.json('/api/evaluations?repo=acme/secret-ops')).status).toBe(404);
    expect((await alice.fetch('/risks?repo=acme/secret-ops')).status).toBe(404);
    expect((await bob.json('/api/evaluations?repo=acme/secret-ops')).status).toBe(200);
  });

  it('keeps other repositories out of every list', async () => {
    const text = JSON.stringify([(await alice.json('/api/risks')).body, (await alice.json('/api/evaluations')).body, (await alice.json('/api/images')).body, (await alice.json('/api/stages')).body]);
    expect(text).not.toContain('secret');
    expect(text).not.toContain('vault');
    for (const path of ['/', '/risks', '/evaluations', '/stages']) expect(await (await alice.fetch(path)).text()).not.toMatch(/secret|vault/);
    expect((await bob.json('/api/me')).body).toEqual({ login: 'bob', repositories: ['acme/gitops', 'acme/secret-ops'] });
  });

  it("reads the user's repositories from GitHub (all pages) and caches them per user", async () => {
    const client = await signIn(h, 'alice');
    const before = h.github.requests.filter((r) => r.startsWith('GET /user/repos')).length;
    await client.fetch('/api/images');
    await client.fetch('/api/risks');
    const listed = h.github.requests.filter((r) => r.startsWith('GET /user/repos')).slice(before);
    expect(listed).toEqual(['GET /user/repos?per_page=100', 'GET /user/repos?per_page=100&page=2']);
  });

  it('ends the session when GitHub no longer accepts the token', async () => {
    const again = await signIn(h, 'bob');
    h.github.revoke('bob');
    expect((await again.fetch('/api/me')).status).toBe(401);
    expect(again.cookies.has('parapet_session')).toBe(false);
    expect((await again.fetch('/')).status).toBe(302);
    bob = await signIn(h, 'bob');
  });
});

describe('risk register and evaluations', () => {
  it('lists the register with reason, policy, object, who and when, and a link to the commit', async () => {
    const { body } = await alice.json('/api/risks?policy=k8sallowedrepos');
    expect(body.risks).toEqual([
      expect.objectContaining({
        repo: 'acme/gitops',
        cluster: 'prod',
        policy: 'k8sallowedrepos',
        object: { kind: 'Deployment', namespace: 'shop', name: 'web' },
        reason: `legacy registry until Q3 ${XSS}`,
        introducedBy: 'alice',
        introducedSha: 'abc1234'.padEnd(40, '0'),
        firstSeenAt: '2026-11-20T10:00:00.000Z',
      }),
    ]);
    const page = await (await alice.fetch('/risks')).text();
    expect(page).toContain(`href="${h.github.url}/acme/gitops/commit/${'abc1234'.padEnd(40, '0')}">abc1234</a>`);
  });

  it('lists recent evaluations per repository and pull request with their conclusions', async () => {
    const { body } = await alice.json('/api/evaluations');
    expect(body.evaluations.map((e: any) => [e.repo, e.pullRequest, e.ref, e.conclusion, e.violations])).toEqual([
      ['acme/gitops', null, 'refs/heads/main', 'success', 1],
      ['acme/gitops', 5, null, 'failure', 1],
    ]);
    expect((await alice.json('/api/evaluations?pr=5')).body.evaluations).toHaveLength(1);
    expect((await alice.json('/api/evaluations?policy=k8srequiredlabels')).body.evaluations.map((e: any) => e.sha)).toEqual(['6'.repeat(40)]);
    const page = await (await alice.fetch('/evaluations')).text();
    expect(page).toContain(`<a href="${h.github.url}/acme/gitops/pull/5">#5</a>`);
  });

  it('shows a cluster: where it is declared, its inventory and the policies seen', async () => {
    const { body } = await alice.json('/api/clusters/prod');
    expect(body.clusters).toEqual([
      expect.objectContaining({
        repo: 'acme/gitops',
        name: 'prod',
        images: 5,
        riskAcceptances: 1,
        latestEvaluation: expect.objectContaining({ sha: '6'.repeat(40), conclusion: 'success' }),
        policies: { violated: [{ policy: 'k8srequiredlabels', enforcementAction: 'dryrun', count: 1 }], accepted: [{ policy: 'k8sallowedrepos', count: 1 }] },
      }),
    ]);
    expect((await alice.fetch('/clusters/prod')).status).toBe(200);
  });

  it("shows a cluster's configuration and its enabled policies", async () => {
    const { body } = await alice.json('/api/clusters/prod');
    expect(body.clusters[0]).toMatchObject({
      config: '.securitytower/prod.yaml',
      configSha: 'c0ffee'.padEnd(40, '0'),
      settings: {
        tenant: 'acme-platform',
        contactEmail: 'platform@acme.example',
        contactSlack: 'https://acme.slack.com/archives/C0PROD',
        description: `Production ${XSS}`,
        production: true,
        securityLevel: 'confidential',
        geographicLocation: 'Azure - Germany West Central',
        costCenter: '1000',
      },
      enabledPolicies: [
        { template: 'k8sallowedrepos', kind: 'K8sAllowedRepos', constraint: 'allowed-repos', enforcementAction: 'deny', version: '1.0.2' },
        { template: 'k8srequiredlabels', kind: 'K8sRequiredLabels', constraint: 'must-have-owner', enforcementAction: 'dryrun', version: null },
      ],
    });
    const page = await (await alice.fetch('/clusters/prod')).text();
    expect(page).toContain('<dt>Production</dt><dd><span class="badge production">yes</span></dd>');
    expect(page).toContain('<dt>Security level</dt><dd>confidential</dd>');
    expect(page).toContain('<dt>Contact</dt><dd>platform@acme.example · <a href="https://acme.slack.com/archives/C0PROD">Slack</a></dd>');
    expect(page).toContain('<dt>Cost center</dt><dd>1000</dd>');
    expect(page).toContain('<h3>Enabled policies (2)</h3>');
    expect(page).toContain('<tr><td>k8sallowedrepos</td><td>K8sAllowedRepos</td><td>allowed-repos</td><td class="action-deny">deny</td><td>1.0.2</td></tr>');
    expect(page).not.toContain(XSS);
    // A cluster without a recorded configuration says so.
    const staging = await (await alice.fetch('/clusters/staging')).text();
    expect(staging).toContain('No configuration of the default branch recorded yet.');
    expect(staging).toContain('<dt>Production</dt><dd><span class="empty-value">not declared</span></dd>');
  });
});

describe('stages', () => {
  it('lists each Application in promotion order with the version per stage and drift from the previous stage', async () => {
    const { status, body } = await alice.json('/api/stages');
    expect(status).toBe(200);
    expect(body.applications).toHaveLength(1);
    const [web] = body.applications;
    expect(web).toMatchObject({ repo: 'acme/gitops', application: 'web', commitSha: 'c0ffee'.padEnd(40, '0'), driftCount: 2 });
    expect(web.stages.map((s: any) => [s.name, s.cluster, s.namespace, s.previousStage])).toEqual([
      ['staging', 'staging', 'shop', null],
      ['prod', 'prod', 'shop', 'staging'],
      ['tooling', 'prod', null, 'prod'],
    ]);
    expect(web.stages[2].unknown).toMatch(/no targetNamespace/);
    const rows = Object.fromEntries(web.images.map((r: any) => [r.image, r]));
    expect(Object.keys(rows)).toEqual(['docker.io/library/nginx', 'docker.io/library/redis', 'ghcr.io/acme/api']);
    // nginx: prod runs an older version of the same family than staging, its previous stage.
    expect(rows['docker.io/library/nginx'].cells).toEqual({
      staging: { versions: ['1.19-alpine'], tags: ['1.19-alpine'], workloads: ['Deployment/web (web)'] },
      prod: { versions: ['1.18-alpine'], tags: ['1.18-alpine'], workloads: ['Deployment/web (web)'] },
    });
    expect(rows['docker.io/library/nginx'].drift).toEqual({ prod: { previousStage: 'staging', previous: ['1.19-alpine'], current: ['1.18-alpine'], direction: 'behind' } });
    // api: a digest-pinned reference is another version, not comparable by tag.
    expect(rows['ghcr.io/acme/api'].drift).toEqual({ prod: { previousStage: 'staging', previous: ['v1.3.0'], current: [`v1.2.3@${DIGEST}`], direction: 'different' } });
    // redis only runs in prod: nothing to compare with.
    expect(rows['docker.io/library/redis'].drift).toEqual({});
  });

  it('renders the stages with drift highlighted', async () => {
    const res = await alice.fetch('/stages');
    const page = await res.text();
    expect(res.status).toBe(200);
    expect(page).toContain('<a href="/stages" aria-current="page">Stages</a>');
    expect(page).toMatch(/Promotion: staging → prod → tooling · 2 drifting cells/);
    expect(page).toMatch(/<td class="drift drift-behind" data-stage="prod" data-app="web"><span class="tag"[^>]*>1\.18-alpine<\/span> <span class="badge drift"[^>]*>drift ↓ staging<\/span><\/td>/);
    expect(page).toMatch(/<td class="drift drift-different" data-stage="prod"/);
    expect(page).toContain('tooling: no targetNamespace');
  });

  it('filters, and shows only Applications of readable repositories', async () => {
    expect((await alice.json('/api/stages?image=nginx')).body.applications[0].images.map((r: any) => r.image)).toEqual(['docker.io/library/nginx']);
    expect((await alice.json('/api/stages?cluster=vault-prod')).body.applications).toEqual([]);
    expect((await alice.json('/api/stages?repo=acme/secret-ops')).status).toBe(404);
    expect(await (await alice.fetch('/stages')).text()).not.toMatch(/secret|vault/);
    const bobs = (await bob.json('/api/stages')).body.applications.map((a: any) => [a.repo, a.application, a.stages.length, a.images.map((r: any) => r.image)]);
    expect(bobs).toEqual([
      ['acme/gitops', 'web', 3, ['docker.io/library/nginx', 'docker.io/library/redis', 'ghcr.io/acme/api']],
      ['acme/secret-ops', 'vault', 1, ['docker.io/library/nginx']],
    ]);
  });
});

describe('HTML safety', () => {
  it('escapes every value from the repository', async () => {
    const risks = await (await alice.fetch('/risks')).text();
    expect(risks).not.toContain(XSS);
    expect(risks).toContain('legacy registry until Q3 &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    const images = await (await alice.fetch('/')).text();
    expect(images).not.toContain('<img src=x');
    expect(images).toContain('Bad&lt;img src=x onerror=alert(1)&gt;');
  });

  it('escapes filter values echoed into the form', async () => {
    const page = await (await alice.fetch(`/?q=${encodeURIComponent('"><script>alert(1)</script>')}`)).text();
    expect(page).not.toContain('<script>alert(1)');
    expect(page).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
  });
});

describe('sign-out', () => {
  it('requires the CSRF token of the session', async () => {
    const client = await signIn(h, 'alice');
    const page = await (await client.fetch('/')).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
    const post = (body: string) => client.fetch('/auth/logout', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    expect((await post('csrf=wrong')).status).toBe(403);
    expect((await post('')).status).toBe(403);
    expect((await client.fetch('/api/me')).status).toBe(200);
    expect((await client.fetch('/auth/logout')).status).toBe(405);
    expect((await post(`csrf=${encodeURIComponent(csrf)}`)).status).toBe(200);
    expect((await client.fetch('/api/me')).status).toBe(401);
  });
});
