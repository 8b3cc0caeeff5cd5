// The compliance pages and API on seeded data (test/web/compliance-seed.ts), on both backends:
// policies × clusters from each cluster's newest default-branch evaluation, coverage counted as
// `parapet policies status` counts it, a cluster behind its newest push, the filters, two
// clusters compared, the violating objects, the trends, and authorization.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadCatalog } from '../../src/library/catalog.js';
import { folderStatus, planEnable } from '../../src/library/plan.js';
import { forEachBackend } from '../helpers/postgres-backends.js';
import { COMPLIANCE_USERS, dayText, daysAgo, NODE_AGENT, seedCompliance, SHA } from './compliance-seed.js';
import { signIn, startHarness, type Client, type Harness } from './harness.js';

const PROD = 'acme/gitops:prod';
const STAGING = 'acme/gitops:staging';
const VAULT = 'acme/secret-ops:vault-prod';

/** A row of /api/compliance by policy name, wherever it is grouped. */
function rowOf(body: any, policy: string): any {
  for (const g of body.groups) for (const r of g.rows) if (r.policy === policy) return r;
  return undefined;
}

forEachBackend((backend) => {
  let h: Harness;
  let alice: Client;
  let bob: Client;
  let mallory: Client;

  beforeAll(async () => {
    const db = await backend.open();
    await seedCompliance(db);
    h = await startHarness({ db, users: COMPLIANCE_USERS, seed: async () => {} });
    // One at a time: the fake GitHub signs in whoever was named last.
    alice = await signIn(h, 'alice');
    bob = await signIn(h, 'bob');
    mallory = await signIn(h, 'mallory');
  });
  afterAll(async () => h?.close());

  it("has a row per policy, grouped by standard (library metadata) then custom ones (template title), and a column per cluster the user may read", async () => {
    const { status, body } = await bob.json('/api/compliance');
    expect(status).toBe(200);
    expect(body.clusters.map((c: any) => c.key)).toEqual([PROD, STAGING, VAULT]);
    expect(body.groups.map((g: any) => g.key)).toEqual(['k8s/baseline', 'k8s/restricted', 'cis/kubernetes', 'nist/SP.800-190', 'bsi/containerization', 'nsa/kubernetes', 'library', 'custom']);
    // Every library policy has a row (35), once, in the group of its first standard, with its control.
    const lib = await loadCatalog();
    const rows = body.groups.flatMap((g: any) => g.rows.map((r: any) => [g.key, r.policy]));
    expect(rows.filter(([, p]: string[]) => p !== 'k8scustomlabels').map(([, p]: string[]) => p).sort()).toEqual(lib.policies.map((p) => p.name));
    expect(rowOf(body, 'preventprivileged')).toMatchObject({ title: 'Prevent privileged containers', source: 'library', control: 'Privileged Containers' });
    expect(rows).toContainEqual(['k8s/baseline', 'preventprivileged']);
    expect(rows).toContainEqual(['k8s/restricted', 'enforceseccompprofile']);
    expect(rows).toContainEqual(['cis/kubernetes', 'imageallowlist']);
    expect(rows).toContainEqual(['library', 'requiredlabels']);
    expect(body.groups.at(-1).rows).toEqual([expect.objectContaining({ policy: 'k8scustomlabels', title: 'Team labels', source: 'custom', standards: [], control: null })]);
    // Within a group, by control.
    const baseline = body.groups[0].rows.map((r: any) => r.control);
    expect(baseline).toEqual([...baseline].sort((a: string, b: string) => a.localeCompare(b, 'en', { numeric: true })));
  });

  it("fills each cell from the cluster's newest default-branch evaluation: action, objects, accepted risks, a link to them", async () => {
    const { body } = await bob.json('/api/compliance');
    const privileged = rowOf(body, 'preventprivileged');
    // prod fixed its api Deployment in B: one object left, accepted.
    expect(privileged.cells[PROD]).toMatchObject({
      enabled: true,
      actions: ['deny'],
      constraints: [{ constraint: 'preventprivileged', kind: 'preventprivileged', action: 'deny', parameters: { exemptImages: [NODE_AGENT] } }],
      violations: 1,
      objects: 1,
      accepted: 1,
      open: 0,
      heat: 0,
      objectsHref: '/violations?repo=acme%2Fgitops&cluster=prod&policy=preventprivileged',
    });
    expect(privileged.cells[STAGING]).toMatchObject({ enabled: true, actions: ['deny'], objects: 0, heat: 0, objectsHref: null });
    expect(privileged.cells[VAULT]).toMatchObject({ enabled: true, objects: 1, accepted: 0, open: 1, heat: 1 });
    // Two violations (two containers) of one object are one object.
    expect(rowOf(body, 'imageallowlist').cells[PROD]).toMatchObject({ actions: ['deny'], violations: 2, objects: 1, accepted: 0, open: 1, heat: 1 });
    expect(rowOf(body, 'imageallowlist').cells[STAGING]).toMatchObject({ actions: ['warn'], violations: 1, objects: 1 });
    expect(rowOf(body, 'enforceseccompprofile').cells[STAGING]).toMatchObject({ enabled: false, actions: [], constraints: [], heat: null });
    expect(rowOf(body, 'k8scustomlabels').cells[PROD].constraints).toEqual([{ constraint: 'must-have-team', kind: 'K8sCustomLabels', action: 'deny', version: null, parameters: { labels: ['team'] } }]);
    expect(body.clusters[0]).toMatchObject({ key: PROD, production: true, totals: { policies: 4, violations: 3, accepted: 1 }, evaluation: { sha: SHA.B, conclusion: 'failure' } });
  });

  it('counts coverage per standard as `parapet policies status` counts the same policies enabled in a folder', async () => {
    const { body } = await bob.json('/api/compliance');
    const lib = await loadCatalog();
    const statusOf = (names: string[]) => {
      // The allow-list needs its registries to be enabled in deny, as the seeded clusters have it.
      const plan = planEnable(lib, { path: 'policies', files: new Map() }, { names, params: { trustedregistries: 'ghcr.io/acme' } });
      expect(plan.problems).toEqual([]);
      return folderStatus(lib, { path: 'policies', files: plan.writes }).standards.map((s) => ({ id: s.id, enabled: s.enabled, total: s.total, missing: s.missing }));
    };
    const coverage = (key: string) => body.clusters.find((c: any) => c.key === key).coverage.map(({ id, enabled, total, missing }: any) => ({ id, enabled, total, missing }));
    expect(coverage(PROD)).toEqual(statusOf(['preventprivileged', 'imageallowlist', 'enforceseccompprofile']));
    expect(coverage(STAGING)).toEqual(statusOf(['preventprivileged', 'imageallowlist', 'enforceimageversion']));
    // Enforced: the enabled ones in deny (staging's imageallowlist warns, its enforceimageversion is a dry run).
    const bsi = (key: string) => body.clusters.find((c: any) => c.key === key).coverage.find((s: any) => s.id === 'bsi/containerization');
    expect([bsi(PROD).enabled, bsi(PROD).enforced]).toEqual([3, 3]);
    expect([bsi(STAGING).enabled, bsi(STAGING).enforced]).toEqual([3, 1]);
  });

  it('says which cluster shows an older commit than the newest push to its default branch', async () => {
    const { body } = await bob.json('/api/compliance');
    const byKey = Object.fromEntries(body.clusters.map((c: any) => [c.key, c]));
    expect(byKey[PROD]).toMatchObject({ behind: true, evaluation: { sha: SHA.B }, push: { sha: SHA.C } });
    expect(byKey[STAGING]).toMatchObject({ behind: false, evaluation: { sha: SHA.C }, push: { sha: SHA.C } });
    expect(byKey[VAULT]).toMatchObject({ behind: false });
    expect(body.summary.behind).toBe(1);
    const page = await (await bob.fetch('/compliance')).text();
    expect(page).toContain(`Behind: the newest evaluation is of ${SHA.B.slice(0, 7)}`);
    expect(page).toContain(`${SHA.C.slice(0, 7)} was pushed to the default branch`);
  });

  it('filters by repository, cluster, standard, production clusters and differences between clusters', async () => {
    const keys = async (query: string) => (await bob.json(`/api/compliance?${query}`)).body.clusters.map((c: any) => c.key);
    expect(await keys('repo=acme/secret-ops')).toEqual([VAULT]);
    expect(await keys('cluster=staging')).toEqual([STAGING]);
    expect(await keys('production=1')).toEqual([PROD, VAULT]);

    const restricted = (await bob.json('/api/compliance?standard=k8s/restricted')).body;
    expect(restricted.groups.map((g: any) => g.key)).toEqual(['k8s/restricted']);
    expect(rowOf(restricted, 'enforceseccompprofile').control).toBe('Seccomp');
    expect(rowOf(restricted, 'k8scustomlabels')).toBeUndefined();

    // Between staging and prod: enabled in one only, another action, other parameters; the custom
    // policy is configured alike and its violations do not count as a configuration difference.
    const diff = (await bob.json('/api/compliance?repo=acme/gitops&differences=1')).body;
    const differing = diff.groups.flatMap((g: any) => g.rows.map((r: any) => [r.policy, r.differences]));
    expect(differing.sort()).toEqual([
      ['enforceimageversion', ['enabled']],
      ['enforceseccompprofile', ['enabled']],
      ['imageallowlist', ['action']],
      ['preventprivileged', ['parameters']],
    ]);
    expect(diff.summary).toMatchObject({ clusters: 2, policies: 4, differing: 4 });
    // One cluster differs from nothing.
    expect((await bob.json('/api/compliance?cluster=prod&differences=1')).body.summary).toMatchObject({ policies: 0, differing: 0 });
  });

  it('compares two clusters side by side: enabled in one only, actions, parameters, violation counts, coverage', async () => {
    const { status, body } = await bob.json(`/api/compliance/compare?a=${encodeURIComponent(STAGING)}&b=${encodeURIComponent(PROD)}`);
    expect(status).toBe(200);
    expect([body.a.key, body.b.key]).toEqual([STAGING, PROD]);
    expect(body.summary).toEqual({
      onlyA: ['enforceimageversion'],
      onlyB: ['enforceseccompprofile'],
      actions: ['imageallowlist'],
      parameters: ['preventprivileged'],
      violations: ['preventprivileged'],
      same: 33,
    });
    const privileged = body.policies.find((r: any) => r.policy === 'preventprivileged');
    expect(privileged.differences).toEqual(['parameters', 'violations']);
    expect(privileged.parameterChanges).toEqual([{ constraint: 'preventprivileged', key: 'exemptImages', a: [], b: [NODE_AGENT] }]);
    expect([privileged.a.objects, privileged.b.objects, privileged.b.accepted]).toEqual([0, 1, 1]);
    expect(body.coverage.find((s: any) => s.id === 'k8s/restricted')).toMatchObject({ a: { enabled: 1, enforced: 1 }, b: { enabled: 2, enforced: 2 } });
    // Across repositories, by their keys.
    const across = await bob.json(`/api/compliance/compare?a=${encodeURIComponent(PROD)}&b=${encodeURIComponent(VAULT)}&standard=k8s/baseline`);
    expect(across.status).toBe(200);
    expect(across.body.policies.every((r: any) => r.standards.some((s: any) => s.id === 'k8s/baseline'))).toBe(true);
    expect(across.body.summary.parameters).toEqual(['preventprivileged']);

    const page = await (await bob.fetch(`/compliance/compare?a=${encodeURIComponent(STAGING)}&b=${encodeURIComponent(PROD)}`)).text();
    expect(page).toContain('<h1>Compare staging and prod</h1>');
    expect(page).toMatch(/<h2 id="only-a">Enabled in staging only <small>1<\/small><\/h2>/);
    expect(page).toContain(`<code>exemptImages</code>: <code>[]</code> → <code>[&quot;${NODE_AGENT}&quot;]</code>`);
  });

  it('lists the violating objects a cell links to, from the newest default-branch evaluation', async () => {
    const { body } = await bob.json('/api/violations?repo=acme/gitops&cluster=prod&policy=imageallowlist');
    expect(body.total).toBe(2);
    expect(body.violations.map((v: any) => [v.cluster, v.sha, v.object.kind, v.object.namespace, v.object.name, v.message, v.accepted])).toEqual([
      ['prod', SHA.B, 'Deployment', 'shop', 'web', 'main of web violates imageallowlist', null],
      ['prod', SHA.B, 'Deployment', 'shop', 'web', 'cache of web violates imageallowlist', null],
    ]);
    expect(body.behind).toEqual([PROD]);
    const accepted = (await bob.json('/api/violations?cluster=prod&policy=preventprivileged')).body;
    expect(accepted.violations.map((v: any) => [v.object.name, v.accepted])).toEqual([['web', 'object']]);
    const page = await (await bob.fetch('/violations?repo=acme/gitops&cluster=prod&policy=imageallowlist')).text();
    expect(page).toContain('Showing 1–2 of 2 violations.');
    expect(page).toContain(`/acme/gitops/blob/${SHA.B}/clusters/prod/web.yaml#L17`);
  });

  it('draws violations, accepted risks and outdated containers over time, per cluster and for all readable clusters', async () => {
    const { body } = await alice.json('/api/compliance/trends?days=30');
    const to = body.to as string;
    const now = Date.parse(`${to}T12:00:00Z`);
    const day = (n: number) => dayText(daysAgo(n, now));
    expect([body.from, body.days]).toEqual([day(29), 30]);
    expect(body.clusters.map((c: any) => c.key)).toEqual([PROD, STAGING]);
    const prod = body.clusters[0].points.map((p: any) => [p.date, p.violations, p.accepted, p.outdated, p.containers]);
    // A: 4 violations (1 accepted), nginx:1.18 and api v1.2.3 older than staging's; B: 3, nginx caught up.
    expect(prod).toEqual([
      [day(29), null, null, null, null],
      [day(20), 4, 1, 2, 2],
      [day(5), 3, 1, 1, 2],
      [day(0), 3, 1, 1, 2],
    ]);
    expect(body.all.points.map((p: any) => [p.date, p.violations, p.accepted, p.outdated, p.containers])).toEqual([
      [day(29), null, null, null, null],
      [day(20), 5, 1, 2, 4],
      [day(5), 4, 1, 1, 4],
      [day(0), 4, 1, 1, 4],
    ]);
    // Before the period, the state it starts from.
    const short = (await alice.json('/api/compliance/trends?days=3&cluster=prod')).body;
    expect(short.all.points.map((p: any) => [p.date, p.violations, p.outdated])).toEqual([
      [day(2), 3, 1],
      [day(0), 3, 1],
    ]);
    // bob also reads secret-ops: its cluster counts in the sum from its first day.
    const both = (await bob.json('/api/compliance/trends?days=30')).body;
    expect(both.all.points.map((p: any) => [p.date, p.violations])).toEqual([
      [day(29), null],
      [day(20), 5],
      [day(5), 4],
      [day(3), 5],
      [day(0), 5],
    ]);
  });

  it('answers an outsider 404 for every repository or cluster it names, and shows it no cluster', async () => {
    expect((await mallory.json('/api/compliance')).body.clusters).toEqual([]);
    expect((await mallory.json('/api/compliance/trends')).body.clusters).toEqual([]);
    expect((await mallory.json('/api/violations')).body.total).toBe(0);
    for (const path of ['/api/compliance?repo=acme/gitops', '/api/compliance/trends?repo=acme/gitops', '/api/violations?repo=acme/gitops', `/api/compliance/compare?a=${encodeURIComponent(STAGING)}&b=${encodeURIComponent(PROD)}`]) {
      expect((await mallory.fetch(path)).status, path).toBe(404);
    }
    for (const path of ['/compliance?repo=acme/gitops', `/compliance/compare?a=${encodeURIComponent(STAGING)}&b=${encodeURIComponent(PROD)}`, '/violations?repo=acme/gitops']) {
      const res = await mallory.fetch(path);
      expect(res.status, path).toBe(404);
      expect(await res.text()).not.toContain('gitops:');
    }
  });

  it('shows a reader only the repositories GitHub says they can read', async () => {
    const matrix = (await alice.json('/api/compliance')).body;
    expect(matrix.clusters.map((c: any) => c.key)).toEqual([PROD, STAGING]);
    expect(JSON.stringify(matrix)).not.toContain('secret-ops');
    expect((await alice.fetch('/api/compliance?repo=acme/secret-ops')).status).toBe(404);
    expect((await alice.fetch(`/api/compliance/compare?a=${encodeURIComponent(PROD)}&b=${encodeURIComponent(VAULT)}`)).status).toBe(404);
    expect((await alice.json('/api/violations?policy=preventprivileged')).body.violations.map((v: any) => v.cluster)).toEqual(['prod']);
    const page = await (await alice.fetch('/compliance')).text();
    expect(page).not.toContain('vault');
    const compare = await (await alice.fetch('/compliance/compare')).text();
    expect(compare).toContain(`<option value="${PROD}">prod</option>`);
    expect(compare).not.toContain('vault');
  });

  it('answers a filter it cannot mean with 400 naming the parameter', async () => {
    const cases: [string, string][] = [
      ['/api/compliance?standard=pci', 'standard must be one of k8s/baseline'],
      ['/api/compliance?differences=yes', 'differences must be 1'],
      ['/api/compliance?production=true', 'production must be 1'],
      ['/api/compliance/trends?days=0', 'days must be a whole number from 1 to 730'],
      ['/api/compliance/compare?a=prod&b=staging', 'a must name a cluster as owner/repository:cluster'],
      [`/api/compliance/compare?a=${encodeURIComponent(PROD)}`, 'a and b name the two clusters to compare'],
      ['/api/compliance/compare', 'a and b name the two clusters to compare'],
      ['/api/violations?limit=501', 'limit must be a whole number from 1 to 500'],
    ];
    for (const [path, error] of cases) {
      const { status, body } = await bob.json(path);
      expect(status, path).toBe(400);
      expect(body.error, path).toContain(error);
    }
    const page = await bob.fetch('/compliance?standard=pci');
    expect(page.status).toBe(400);
    expect(await page.text()).toContain('standard must be one of');
  });

  it('renders the matrix as a heat map whose cells say in words what their shade says, and charts with their numbers in tables', async () => {
    const page = await (await bob.fetch('/compliance')).text();
    // The prod column of preventprivileged: deny, one object, accepted: shaded as clean.
    const row = page.slice(page.indexOf('<tr data-policy="preventprivileged">'), page.indexOf('</tr>', page.indexOf('<tr data-policy="preventprivileged">')));
    expect(row).toMatch(/<td class="cell heat-0"[^>]*><span class="action action-deny">deny<\/span><br><a href="\/violations\?repo=acme%2Fgitops&amp;cluster=prod&amp;policy=preventprivileged">1 object<\/a> <small>\(1 accepted\)<\/small><\/td>/);
    expect(row).toMatch(/<td class="cell heat-1"[^>]*><span class="action action-deny">deny<\/span><br><a href="[^"]*cluster=vault-prod[^"]*">1 object<\/a><\/td>/);
    expect(page).toMatch(/<span class="off" aria-label="not enabled">—<\/span>/);
    expect(page).toContain('<span class="swatch heat-4">50 or more objects</span>');
    expect(page).toContain('PSS');
    expect(page).not.toMatch(/<script/i);

    const trends = await (await bob.fetch('/compliance/trends?days=30')).text();
    expect(trends).toMatch(/<svg class="chart" role="img" aria-labelledby="trend-all-title trend-all-desc"/);
    expect(trends).toContain('<desc id="trend-all-desc">violations from 5 to 5; accepted risks from 1 to 1; outdated containers from 2 to 1.</desc>');
    expect(trends).toMatch(/<caption>All 3 clusters: the days a number changed \(newest first\)<\/caption>/);
    expect((trends.match(/<svg class="chart"/g) ?? []).length).toBe(4); // all, and each of three clusters
    expect(trends).toContain('stroke-dasharray="6 3"'); // accepted risks: a dashed line, not only another colour
  });
});
