import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign } from '../../src/web/session.js';
import { slowPost } from '../helpers/slow-post.js';
import { Client, SESSION_SECRET, signIn, startHarness, type Harness } from './harness.js';
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

  // `next` as an attacker puts it in a link (raw query text): each is a spelling a browser reads
  // as another host, once it drops tabs and newlines, turns `\` into `/` and applies `..`.
  it.each([
    '//evil.example/',
    '///evil.example/',
    '%2F%2Fevil.example%2F',
    '/%09/evil.example/',
    '/%0A/evil.example/',
    '/%0D%0A/evil.example/',
    '%09//evil.example/',
    '%20//evil.example/',
    '/%5Cevil.example/',
    '%5C%5Cevil.example/',
    '%5C/evil.example/',
    '/%09%5Cevil.example/',
    '/..//evil.example/',
    '/.//evil.example/',
    '/%252e%252e//evil.example/',
    'https://evil.example/',
    'HTTPS:%2F%2Fevil.example/',
    'https:evil.example/',
    'javascript:alert(document.domain)',
    'data:text/html,%3Cscript%3Ealert(1)%3C/script%3E',
    `http://127.0.0.1@evil.example/`,
  ])('sends the browser home, on its own origin, after sign-in with next=%s', async (rawNext) => {
    const location = await signInRedirect(rawNext, { raw: true });
    expect(location).toBe('/');
    expect(new URL(location!, h.web.url).origin).toBe(h.web.url);
  });

  it('checks the next carried through GitHub in the state cookie again at the callback', async () => {
    h.github.signInAs('alice');
    const client = new Client(h.web.url);
    const login = await client.fetch('/auth/login?next=%2Frisks');
    const callback = (await client.fetch(login.headers.get('location')!)).headers.get('location')!;
    // A cookie set under a looser rule: signed by the server, its next a tab away from another host.
    const state = new URL(callback).searchParams.get('state')!;
    client.cookies.set('parapet_oauth_state', encodeURIComponent(sign(`${state}|/\t/evil.example/`, SESSION_SECRET)));
    const done = await client.fetch(callback);
    expect(done.status).toBe(302);
    expect(done.headers.get('location')).toBe('/');
  });

  it.each([
    ['/risks?cluster=prod#top', '/risks?cluster=prod#top'],
    ['/containers/../risks', '/risks'],
    ['SELF/containers?cluster=prod', '/containers?cluster=prod'],
  ])('keeps a next on the site (%s), in its canonical form', async (next, expected) => {
    expect(await signInRedirect(next.replace('SELF', h.web.url))).toBe(expected);
  });
});

async function signInRedirect(next: string, options: { raw?: boolean } = {}): Promise<string | null> {
  const client = new Client(h.web.url);
  const login = await client.fetch(`/auth/login?next=${options.raw ? next : encodeURIComponent(next)}`);
  const callback = await client.fetch(login.headers.get('location')!);
  return (await client.fetch(callback.headers.get('location')!)).headers.get('location');
}

describe('images', () => {
  const nginxProd = { version: '1.18-alpine', tag: '1.18-alpine', digest: null, malformed: null, containers: 1, outdated: true, newer: '1.19-alpine', mutable: 'no-digest' };

  it('shows images × clusters: per cell the versions run there with their container counts, outdated and mutable', async () => {
    const { status, body } = await alice.json('/api/images');
    expect(status).toBe(200);
    expect(body).toMatchObject({ page: 1, limit: 50, total: 5, next: null, previous: null, columnsBy: 'cluster' });
    expect(body.summary).toEqual({ images: 5, containers: 7, outdated: 2, mutable: 5, clusters: 2 });
    expect(body.columns).toEqual([
      { key: 'acme/gitops:prod', repo: 'acme/gitops', cluster: 'prod', namespace: null, containers: 5 },
      { key: 'acme/gitops:staging', repo: 'acme/gitops', cluster: 'staging', namespace: null, containers: 2 },
    ]);
    expect(body.images.map((r: any) => r.image)).toEqual(['Bad<img src=x onerror=alert(1)>', 'docker.io/library/busybox', 'docker.io/library/nginx', 'docker.io/library/redis', 'ghcr.io/acme/api']);
    const rows = Object.fromEntries(body.images.map((r: any) => [r.image, r]));
    expect(rows['docker.io/library/nginx']).toEqual({
      image: 'docker.io/library/nginx',
      containers: 2,
      versions: 2,
      drift: true,
      outdated: 1,
      mutable: 2,
      newest: ['1.19-alpine'],
      cells: {
        'acme/gitops:prod': { containers: 1, outdated: 1, mutable: 1, versions: [nginxProd], moreVersions: 0 },
        'acme/gitops:staging': {
          containers: 1,
          outdated: 0,
          mutable: 1,
          versions: [{ version: '1.19-alpine', tag: '1.19-alpine', digest: null, malformed: null, containers: 1, outdated: false, newer: null, mutable: 'no-digest' }],
          moreVersions: 0,
        },
      },
    });
    // A digest pins the reference (not mutable), yet a newer tag makes it outdated.
    expect(rows['ghcr.io/acme/api'].cells['acme/gitops:prod'].versions).toEqual([
      { version: `v1.2.3@${DIGEST}`, tag: 'v1.2.3', digest: DIGEST, malformed: null, containers: 1, outdated: true, newer: 'v1.3.0', mutable: null },
    ]);
    expect(rows['docker.io/library/redis'].cells['acme/gitops:prod'].versions[0]).toMatchObject({ version: '(no tag)', mutable: 'no-tag', outdated: false });
    expect(rows['Bad<img src=x onerror=alert(1)>'].cells['acme/gitops:prod'].versions[0]).toMatchObject({ version: '(malformed)', malformed: expect.stringContaining('invalid'), outdated: false, mutable: null });
    expect(rows['docker.io/library/busybox']).toMatchObject({ drift: false, newest: [] });
  });

  it("decides outdated among what the user may see: another user's newer version counts only for them", async () => {
    const { body } = await bob.json('/api/images?cluster=prod&image=nginx');
    expect(body.columnsBy).toBe('namespace');
    expect(body.columns.map((c: any) => c.key)).toEqual(['acme/gitops:prod:shop']);
    expect(body.images[0].cells['acme/gitops:prod:shop'].versions.map((v: any) => [v.tag, v.newer])).toEqual([['1.18-alpine', '1.25-alpine']]);
    expect(body.images[0].newest).toEqual(['1.25-alpine']);
  });

  it.each([
    ['cluster', '?cluster=staging', [['staging', 'api'], ['staging', 'web']]],
    ['namespace', '?namespace=tools', [['prod', 'broken'], ['prod', 'debug']]],
    ['image (a substring)', '?image=redis', [['prod', 'web']]],
    ['image and version (a cell: that image exactly)', `?image=ghcr.io/acme/api&exact=1&version=${encodeURIComponent(`v1.2.3@${DIGEST}`)}`, [['prod', 'api']]],
    ['search', '?q=debug', [['prod', 'debug']]],
    ['search (case-insensitive, any field: kind/name)', '?q=DEPLOYMENT/API', [['prod', 'api'], ['staging', 'api']]],
    ['policy (accepted risks and violations on the default branch)', '?policy=k8sallowedrepos', [['prod', 'web'], ['prod', 'web']]],
    ['a policy concerning nothing', '?policy=k8snothing', []],
  ])('filters the containers by %s, and the matrix counts the same', async (_, query, expected) => {
    const { body } = await alice.json(`/api/containers${query}`);
    expect(body.containers.map((r: any) => [r.cluster, r.workload.name]).sort()).toEqual(expected);
    expect(body.total).toBe(expected.length);
    expect((await alice.json(`/api/images${query}`)).body.summary.containers).toBe(expected.length);
  });

  it('lists each container with its manifest, and pages with total, next and previous', async () => {
    const first = await alice.json('/api/containers?limit=3');
    expect(first.body).toMatchObject({ page: 1, limit: 3, total: 7, previous: null, next: '/api/containers?limit=3&page=2' });
    expect(first.body.containers[0]).toEqual({
      repo: 'acme/gitops',
      cluster: 'prod',
      namespace: 'shop',
      workload: { kind: 'Deployment', name: 'api' },
      container: 'api',
      reference: `ghcr.io/acme/api:v1.2.3@${DIGEST}`,
      image: 'ghcr.io/acme/api',
      version: `v1.2.3@${DIGEST}`,
      registry: 'ghcr.io',
      repository: 'acme/api',
      tag: 'v1.2.3',
      digest: DIGEST,
      malformed: null,
      file: 'apps/web/prod/api.yaml',
      line: 19,
      commitSha: 'c0ffee'.padEnd(40, '0'),
      outdated: true,
      newer: 'v1.3.0',
      mutable: null,
    });
    const pages = [first.body];
    while (pages.at(-1).next) pages.push((await alice.json(pages.at(-1).next)).body);
    expect(pages.map((p) => p.containers.length)).toEqual([3, 3, 1]);
    expect(pages[2]).toMatchObject({ page: 3, next: null, previous: '/api/containers?limit=3&page=2' });
    const all = (await alice.json('/api/containers')).body.containers;
    expect(pages.flatMap((p) => p.containers)).toEqual(all);
    expect(all.map((r: any) => `${r.cluster}/${r.namespace}/${r.workload.name}/${r.container}`)).toEqual([
      'prod/shop/api/api',
      'prod/shop/web/cache',
      'prod/shop/web/web',
      'prod/tools/broken/x',
      'prod/tools/debug/debug',
      'staging/shop/api/api',
      'staging/shop/web/web',
    ]);
    // Past the end: an empty page that still says how many there are.
    expect((await alice.json('/api/containers?page=9')).body).toMatchObject({ page: 9, total: 7, containers: [], next: null, previous: '/api/containers?page=1' });
    expect((await alice.json('/api/images?limit=2&page=2')).body).toMatchObject({ total: 5, next: '/api/images?limit=2&page=3', previous: '/api/images?limit=2&page=1' });
  });

  it.each([
    ['/api/containers?page=0', 'page must be a whole number from 1 to 1000000'],
    ['/api/containers?limit=501', 'limit must be a whole number from 1 to 500'],
    ['/api/images?limit=ten', 'limit must be a whole number from 1 to 200'],
    ['/api/containers?version=1.18-alpine', "version needs image: the image's full name (registry/repository)"],
    ['/api/images?image=nginx&exact=yes', 'exact must be 1 (or absent)'],
    ['/api/containers?exact=1&version=1.18-alpine', "version needs image: the image's full name (registry/repository)"],
    [`/api/containers?q=${'x'.repeat(201)}`, 'q is longer than 200 characters'],
    ['/api/containers?q=a%1Fb', 'q contains control characters'],
    ['/api/evaluations?pr=five', 'pr must be a pull request number'],
  ])('refuses %s with a 400 that names the parameter', async (url, error) => {
    expect(await alice.json(url)).toEqual({ status: 400, body: { error } });
    const page = await alice.fetch(url.replace('/api/', '/').replace('/images', '/'));
    expect(page.status).toBe(400);
    expect(await page.text()).toContain(error.replace("'", '&#39;'));
  });

  it('renders the matrix: clusters as columns, or the chosen cluster\'s namespaces; versions linked to their containers', async () => {
    const res = await alice.fetch('/?cluster=prod');
    const page = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page).toContain('<strong>5 containers</strong> in 1 cluster run 5 images');
    expect(page).toContain('Showing 1–5 of 5 images.');
    expect(page).toContain('<th>shop<small><a href="/containers?repo=acme%2Fgitops&amp;cluster=prod&amp;namespace=shop">3</a></small></th>');
    const link = '/containers?repo=acme%2Fgitops&amp;cluster=prod&amp;namespace=shop&amp;image=docker.io%2Flibrary%2Fnginx&amp;exact=1&amp;version=1.18-alpine';
    expect(page).toMatch(new RegExp(`<a class="tag outdated mutable" href="${link.replace(/[?.]/g, '\\$&')}" title="1\\.18-alpine: 1 container in prod/shop\noutdated: 1\\.19-alpine runs in a cluster you can see\nmutable: tag without digest"[^>]*>1\\.18-alpine</a>`));
    expect(page).not.toContain('staging</a>');
    // The link lists exactly that cell's container.
    const cell = await (await alice.fetch(link.replaceAll('&amp;', '&'))).text();
    expect(cell).toContain('Showing 1–1 of 1 containers.');
    expect(cell).toContain(`<a href="${h.github.url}/acme/gitops/blob/${'c0ffee'.padEnd(40, '0')}/apps/web/prod/web.yaml#L24">apps/web/prod/web.yaml:24</a>`);
    expect(cell).toContain('<input type="checkbox" name="exact" value="1" checked>');
    expect(cell).toContain('<input type="text" name="version" value="1.18-alpine">');
    // Without a cluster chosen, the columns are clusters.
    const all = await (await alice.fetch('/')).text();
    expect(all).toContain('<th><a href="/clusters/staging?repo=acme%2Fgitops">staging</a><small><a href="/containers?repo=acme%2Fgitops&amp;cluster=staging">2</a></small></th>');
  });

  it('pages the containers page with a notice and links that keep the filters', async () => {
    const page = await (await alice.fetch('/containers?cluster=prod&limit=2&page=2')).text();
    expect(page).toContain('Showing 3–4 of 5 containers.');
    expect(page).toContain('<a rel="prev" href="/containers?cluster=prod&amp;limit=2">← previous</a>');
    expect(page).toContain('<a rel="next" href="/containers?cluster=prod&amp;page=3&amp;limit=2">next →</a>');
    expect(page).toContain('<a href="/containers" aria-current="page">Containers</a>');
    const past = await (await alice.fetch('/containers?page=9')).text();
    expect(past).toContain('Page 9 is past the end: 7 containers in 1 page.');
    expect(past).toContain('<a rel="prev" href="/containers">← previous</a>');
    expect(await (await alice.fetch('/?image=no-such-image')).text()).toContain('<p class="empty">No images match.</p>');
    // The form after a cell's link, its image cleared: exact alone filters nothing.
    expect((await alice.json('/api/containers?exact=1')).body.total).toBe(7);
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
    const lists = ['/api/risks', '/api/evaluations', '/api/images', '/api/containers', '/api/stages'];
    const text = JSON.stringify(await Promise.all(lists.map(async (url) => (await alice.json(url)).body)));
    expect(text).not.toContain('secret');
    expect(text).not.toContain('vault');
    for (const path of ['/', '/containers', '/risks', '/evaluations', '/stages']) expect(await (await alice.fetch(path)).text()).not.toMatch(/secret|vault/);
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
        introducedCommitAuthor: 'alice',
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
    expect(body).toMatchObject({ page: 1, limit: 100, total: 2, next: null, previous: null });
    expect((await alice.json('/api/evaluations?pr=5')).body.evaluations).toHaveLength(1);
    expect((await alice.json('/api/evaluations?limit=1')).body).toMatchObject({ total: 2, next: '/api/evaluations?limit=1&page=2' });
    expect(await (await alice.fetch('/evaluations?pr=5&limit=1')).text()).toContain('Showing 1–1 of 1 evaluations.');
    expect(await (await alice.fetch('/evaluations?limit=1')).text()).toContain('<a rel="next" href="/evaluations?page=2&amp;limit=1">next →</a>');
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
    expect(web.stages.map((s: any) => [s.attributedBy, s.unknown])).toEqual([
      ['targetNamespace', null],
      ['targetNamespace', null],
      ['resourcesPath', null],
    ]);
    const rows = Object.fromEntries(web.images.map((r: any) => [r.image, r]));
    expect(Object.keys(rows)).toEqual(['Bad<img src=x onerror=alert(1)>', 'docker.io/library/busybox', 'docker.io/library/nginx', 'docker.io/library/redis', 'ghcr.io/acme/api']);
    // tooling, without a targetNamespace, runs what the manifests under apps/web/tooling declare.
    expect(rows['docker.io/library/busybox'].cells).toEqual({ tooling: { versions: ['latest'], tags: ['latest'], containers: 1, workloads: ['Deployment/debug (debug)'] } });
    expect(rows['Bad<img src=x onerror=alert(1)>'].cells).toEqual({ tooling: { versions: ['(malformed)'], tags: [null], containers: 1, workloads: ['Deployment/broken (x)'] } });
    // nginx: prod runs an older version of the same family than staging, its previous stage.
    expect(rows['docker.io/library/nginx'].cells).toEqual({
      staging: { versions: ['1.19-alpine'], tags: ['1.19-alpine'], containers: 1, workloads: ['Deployment/web (web)'] },
      prod: { versions: ['1.18-alpine'], tags: ['1.18-alpine'], containers: 1, workloads: ['Deployment/web (web)'] },
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
    expect(page).toContain('<span title="no targetNamespace: the containers declared under this path">apps/web/tooling/</span>');
  });

  it('filters, and shows only Applications of readable repositories', async () => {
    expect((await alice.json('/api/stages?image=nginx')).body.applications[0].images.map((r: any) => r.image)).toEqual(['docker.io/library/nginx']);
    expect((await alice.json('/api/stages?cluster=vault-prod')).body.applications).toEqual([]);
    expect((await alice.json('/api/stages?repo=acme/secret-ops')).status).toBe(404);
    expect(await (await alice.fetch('/stages')).text()).not.toMatch(/secret|vault/);
    const bobs = (await bob.json('/api/stages')).body.applications.map((a: any) => [a.repo, a.application, a.stages.length, a.images.map((r: any) => r.image)]);
    expect(bobs).toEqual([
      ['acme/gitops', 'web', 3, ['Bad<img src=x onerror=alert(1)>', 'docker.io/library/busybox', 'docker.io/library/nginx', 'docker.io/library/redis', 'ghcr.io/acme/api']],
      ['acme/secret-ops', 'vault', 1, ['docker.io/library/nginx']],
    ]);
  });
});

describe('HTML safety', () => {
  it('escapes every value from the repository', async () => {
    const risks = await (await alice.fetch('/risks')).text();
    expect(risks).not.toContain(XSS);
    expect(risks).toContain('legacy registry until Q3 &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    for (const path of ['/', '/containers', '/stages']) {
      const page = await (await alice.fetch(path)).text();
      expect(page).not.toContain('<img src=x');
      expect(page).toContain('Bad&lt;img src=x onerror=alert(1)&gt;');
    }
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

  it('answers 413 to a sign-out form over 16 KiB, from its Content-Length before the body is sent', async () => {
    const client = await signIn(h, 'alice');
    const result = await slowPost(`${h.web.url}/auth/logout`, {
      headers: { cookie: client.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(1024 * 1024) },
      body: Buffer.alloc(0),
      totalBytes: 0,
      waitMs: 3000,
    });
    expect(result.status).toBe(413);
    expect(result.bytesSent).toBe(0);
    expect((await client.fetch('/api/me')).status).toBe(200);
  });

  it('cuts a chunked sign-out body where it crosses 16 KiB, with 413', async () => {
    const client = await signIn(h, 'alice');
    const total = 8 * 1024 * 1024;
    const result = await slowPost(`${h.web.url}/auth/logout`, {
      headers: { cookie: client.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
      body: (_offset, size) => Buffer.alloc(size, 'a'),
      totalBytes: total,
      chunkBytes: 64 * 1024,
    });
    expect(result.status).toBe(413);
    expect(result.bytesSent).toBeLessThan(total);
    expect((await client.fetch('/api/me')).status).toBe(200);
  });
});
