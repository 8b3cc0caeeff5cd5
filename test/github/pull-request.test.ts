// The App end to end: real signed webhook deliveries into the real server, a fake GitHub on a
// loopback port serving the repositories as tarballs and recording the check runs.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readConfig } from '../../src/config.js';
import Bottleneck from 'bottleneck';
import { startAppServer, type AppServer, type OctokitOverrides } from '../../src/github/server.js';
import { MAX_ANNOTATIONS } from '../../src/github/check-run.js';
import type { PolicyDriver, RegoDriver } from '../../src/engine/index.js';
import { engine, fixturesDir, startDriver, testCacheDir } from '../helpers/engine.js';
import { constraintOf, neverEndingRego, regoTemplate } from '../helpers/policy-builders.js';
import { DEBUG_DEPLOYMENT, fixtureFiles, pullRequestPayload as repoPullRequestPayload, sha, webhookExample, withRepository } from '../helpers/fake-github-app.js';
import { deliverWebhook, FAKE_APP_ID, FAKE_BOT_LOGIN, FakeGitHub, type FakeCheckRun } from '../helpers/fake-github.js';
import { elements, markupIn, renderGfm, textOf } from '../helpers/gfm.js';

const SECRET = 'a-webhook-secret';
const REPO = 'example-org/shop-prod';
const { privateKey: PRIVATE_KEY } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

const shop = fixtureFiles('shop-cluster');


let fake: FakeGitHub;
let app: AppServer;

beforeAll(async () => {
  fake = await FakeGitHub.start();
  app = await startApp();
});

afterAll(async () => {
  await app?.close();
  await fake?.close();
});

beforeEach(() => fake.reset());

describe('a pull request on a repository with a cluster', () => {
  it('fails the cluster check run on the privileged container the pull request adds, annotated on its `privileged: true` line', async () => {
    const [run] = await pullRequest({ 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT });


    expect(run!.name).toBe('parapet / shop-prod');
    expect(run!.statuses[0]).toBe('in_progress');
    expect(run!.status).toBe('completed');
    expect(run!.conclusion).toBe('failure');
    expect(run!.annotations).toEqual([
      {
        path: 'cluster/namespaces/shop/debug.yaml',
        start_line: 22,
        end_line: 22,
        annotation_level: 'failure',
        title: 'preventprivileged (deny): Deployment shop/debug-shell',
        message: '[Implied by expand-workloads] Privileged container is not allowed: shell, securityContext: {"privileged": true}',
      },
    ]);
  });

  it('annotates only the new violations and lists the existing ones as a collapsed baseline', async () => {
    const [run] = await pullRequest({ 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT });

    // The base already has privileged containers (shop/deployment.yaml:23, among others): none is annotated.
    expect(new Set(run!.annotations.map((a) => a.path))).toEqual(new Set(['cluster/namespaces/shop/debug.yaml']));
    const summary = run!.output.summary!;
    expect(summary).toContain('<details><summary>Existing violations, already on the base branch (11)</summary>');
    expect(summary).toContain('`cluster/namespaces/shop/deployment.yaml:23` **preventprivileged** (deny)');
    expect(summary).toMatch(/\| preventprivileged \| deny \| 1 \| 5 \| 3 \|/);
    expect(run!.output.title).toBe('1 new violation that blocks merging');
  });

  it('passes a pull request that accepts the risk it introduces, and names the reason in the summary', async () => {
    const accepted = DEBUG_DEPLOYMENT.replace('  labels:\n    owner', '  annotations:\n    securitytower.io/policy.exclusion.preventprivileged: Debugging the payment outage INC-42.\n  labels:\n    owner');
    const [run] = await pullRequest({ 'cluster/namespaces/shop/debug.yaml': accepted });

    expect(run!.conclusion).toBe('success');
    expect(run!.output.summary).toContain('### Risks accepted by this pull request (1)');
    expect(run!.output.summary).toContain('Debugging the payment outage INC-42.');
    expect(run!.annotations).toMatchObject([{ path: 'cluster/namespaces/shop/debug.yaml', annotation_level: 'notice', start_line: 24 }]);
  });

  it('concludes neutral when the pull request only adds warnings', async () => {
    const unpinned = DEBUG_DEPLOYMENT.replace('busybox:1.36.1', 'busybox').replace(/\n\s+securityContext:\n\s+privileged: true/, '');
    const [run] = await pullRequest({ 'cluster/namespaces/shop/debug.yaml': unpinned });

    expect(run!.conclusion).toBe('neutral');
    expect(run!.annotations).toMatchObject([{ path: 'cluster/namespaces/shop/debug.yaml', annotation_level: 'warning', start_line: 20 }]);
  });

  it('concludes success with no annotation when the pull request adds no violation', async () => {
    const [run] = await pullRequest({ 'cluster/namespaces/shop/config.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\ndata:\n  a: b\n' });

    expect(run!.conclusion).toBe('success');
    expect(run!.annotations).toEqual([]);
    expect(run!.output.title).toBe('No new violations');
  });

  it('fails on a file that cannot be parsed, with a failure annotation on it', async () => {
    const [run] = await pullRequest({ 'cluster/namespaces/shop/broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [broken\n' });

    expect(run!.conclusion).toBe('failure');
    expect(run!.annotations).toHaveLength(1);
    expect(run!.annotations[0]).toMatchObject({ path: 'cluster/namespaces/shop/broken.yaml', annotation_level: 'failure', title: 'input error (yaml)' });
  });

  it('sends 120 new violations as annotations in three updates of the same check run', async () => {
    const pods: Record<string, string> = {};
    for (let i = 0; i < 120; i++) pods[`cluster/namespaces/shop/pods/pod-${String(i).padStart(3, '0')}.yaml`] = privilegedPod(`pod-${i}`);
    const [run] = await pullRequest(pods);

    expect(run!.conclusion).toBe('failure');
    expect(run!.annotations).toHaveLength(120);
    expect(run!.updates).toBe(3);
    expect(fake.checkRuns).toHaveLength(1);
    // The fake refuses a request with more than 50 annotations, as GitHub does: none was refused.
    expect(fake.requests.filter((r) => r.status >= 400)).toEqual([]);
  });

  it('annotates at most 500 findings, the most severe first, and says how many it left out', async () => {
    const files: Record<string, string> = { 'cluster/namespaces/shop/zz-broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [broken\n' };
    for (let i = 0; i < 505; i++) files[`cluster/namespaces/shop/pods/pod-${String(i).padStart(3, '0')}.yaml`] = privilegedPod(`pod-${i}`);
    const [run] = await pullRequest(files);

    expect(run!.conclusion).toBe('failure');
    expect(run!.annotations).toHaveLength(MAX_ANNOTATIONS);
    // The input error comes first although its file sorts last.
    expect(run!.annotations[0]).toMatchObject({ path: 'cluster/namespaces/shop/zz-broken.yaml', title: 'input error (yaml)' });
    expect(run!.updates).toBe(MAX_ANNOTATIONS / 50);
    expect(run!.output.summary).toMatch(/^> \*\*6 more findings are not annotated\.\*\* A check run gets the 500 most severe annotations/);
    expect(run!.output.title).toBe('1 input error, 505 new violations that block merging');
  });

  it('makes as many API calls for a pull request of 120 files as for one of a single file, but for the annotation updates', async () => {
    await pullRequest({ 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT });
    const small = readCalls();
    fake.reset();
    const pods: Record<string, string> = {};
    for (let i = 0; i < 120; i++) pods[`cluster/namespaces/shop/pods/pod-${i}.yaml`] = privilegedPod(`pod-${i}`);
    await pullRequest(pods);
    const large = readCalls();

    // Unfinished runs on the head + compare + the base tarball + the head tarball (the base is the
    // merge base: read once) + the pull request's head (stale?) + the review comments. The diff is
    // computed locally from the two tarballs: no call for the changed files, however many.
    const reads = ['GET commits', 'GET compare', 'GET tarball', 'GET tarball', 'GET pulls', 'GET pulls'];
    expect(small.reads).toEqual(reads);
    expect(large.reads).toEqual(reads);
    expect(fake.requests.filter((r) => r.path.includes('/files'))).toEqual([]);
    // Per cluster one create and one update per 50 annotations (at least one); one review.
    expect(small.writes).toBe(1 + 1 + 1);
    expect(large.writes).toBe(1 + 3 + 1);
  });

  it('annotates the line the pull request adds that kubectl and Flux read differently, counts the older one, and still succeeds at no extra API call', async () => {
    const configMap = (name: string, key: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: shop\ndata:\n  mode: fast\n  ${key}: enabled\n`;
    const base = sha('base-warned');
    const head = sha('head-warned');
    fake.addCommit(REPO, base, { ...shop, 'cluster/namespaces/shop/legacy.yaml': configMap('legacy', 'on') });
    fake.addCommit(REPO, head, { ...shop, 'cluster/namespaces/shop/legacy.yaml': configMap('legacy', 'on'), 'cluster/namespaces/shop/flags.yaml': configMap('flags', 'yes') });
    await deliver('pull_request', pullRequestPayload('opened', base, head));

    const [run] = fake.checkRuns;
    expect(run!.conclusion).toBe('success');
    expect(run!.annotations).toEqual([
      {
        path: 'cluster/namespaces/shop/flags.yaml',
        start_line: 8,
        end_line: 8,
        annotation_level: 'warning',
        title: 'read differently by kubectl and Flux (yaml-reading)',
        message:
          'YAML: sigs.k8s.io/yaml (kubectl, Argo CD) reads the keys of data as "true", kyaml (Flux, kustomize) as "yes"; quote such keys ("y", "no", "on"...) so both read them as written',
      },
    ]);
    const summary = run!.output.summary!;
    expect(summary).toContain('### Warnings (2)');
    expect(summary).toContain('1 on lines this pull request changes is annotated; 1 is on lines this pull request does not change, so it is listed here only.');
    expect(summary).toContain('- `cluster/namespaces/shop/legacy.yaml:8` YAML: sigs.k8s.io/yaml (kubectl, Argo CD) reads the keys of data as "true", kyaml (Flux, kustomize) as "on"');
    // One create, one update carrying the annotation with the conclusion; no review for a warning.
    expect(readCalls()).toEqual({ reads: ['GET commits', 'GET compare', 'GET tarball', 'GET tarball', 'GET pulls', 'GET pulls'], writes: 2 });
  });

  it('reads the merge base when the base branch has moved on, so violations the base branch added since are not the pull request’s', async () => {
    const oldBase = sha('old-base');
    const newBase = sha('new-base');
    const head = sha('head-on-old');
    // The base branch gained a privileged Pod after the pull request forked off.
    fake.addCommit(REPO, oldBase, shop);
    fake.addCommit(REPO, newBase, { ...shop, 'cluster/namespaces/shop/later.yaml': privilegedPod('later') });
    fake.addCommit(REPO, head, { ...shop, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT });
    fake.setMergeBase(REPO, newBase, head, oldBase);
    await deliver('pull_request', pullRequestPayload('synchronize', newBase, head));

    const [run] = fake.checkRuns;
    expect(run!.annotations.map((a) => a.path)).toEqual(['cluster/namespaces/shop/debug.yaml']);
    expect(fake.apiRequests(REPO).filter((r) => r.path.includes('/tarball/'))).toHaveLength(3);
  });
});

describe('a pull request that changes policies', () => {
  const OWNERS = 'cluster/global/policies/constraints/workloads-must-have-owner.yaml';

  it('shows the policy-change impact in the summary, while the conclusion stays the base policies’ verdict', async () => {
    // dryrun → deny: with the head's policies, the payments Deployment without owner labels would block.
    const [run] = await pullRequest({ [OWNERS]: shop[OWNERS]!.replace('enforcementAction: dryrun', 'enforcementAction: deny') });

    expect(run!.conclusion).toBe('success');
    expect(run!.annotations).toEqual([]);
    const summary = run!.output.summary!;
    expect(summary).toContain('### Policy-change impact\n\nThis pull request changes the policies of this cluster (`cluster/global/policies/constraints/workloads-must-have-owner.yaml`).');
    expect(summary).toContain('1 violation would appear and 1 would disappear');
    expect(summary).toContain('| k8srequiredlabels | deny | 1 | 0 |\n| k8srequiredlabels | dryrun | 0 | 1 |');
    expect(summary).toContain('**Would appear with the new policies (1)**\n\n- `cluster/namespaces/payments/deployment.yaml:6` **k8srequiredlabels** (deny) you must provide labels: {"cost-center", "owner"}');
    expect(summary).toContain('**Would disappear with the new policies (1)**\n\n- `cluster/namespaces/payments/deployment.yaml:6` **k8srequiredlabels** (dryrun)');
  });

  it('lists the input errors of the head’s policies without failing on them', async () => {
    const [run] = await pullRequest({ 'cluster/global/policies/constraints/broken.yaml': 'apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: [Broken\n' });

    expect(run!.conclusion).toBe('success');
    expect(run!.output.summary).toContain('**Input errors with the new policies (1)**\n\n- `cluster/global/policies/constraints/broken.yaml:');
    expect(run!.output.summary).toContain('0 violations would appear and 0 would disappear');
  });

  it('treats a change of the .securitytower/ configuration as a policy change', async () => {
    const [run] = await pullRequest({ '.securitytower/cluster.yaml': shop['.securitytower/cluster.yaml']!.replace('securityLevel: confidential', 'securityLevel: restricted') });

    expect(run!.conclusion).toBe('success');
    expect(run!.output.summary).toContain('### Policy-change impact\n\nThis pull request changes the policies of this cluster (`.securitytower/cluster.yaml`).');
    expect(run!.output.summary).toContain('No violation appears or disappears.');
  });

  it('costs nothing and shows nothing when no policy file changes', async () => {
    const [run] = await pullRequest({ 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT });

    expect(run!.output.summary).not.toContain('Policy-change impact');
  });

  it('does not count a policy change made on the base branch after the pull request forked as the pull request’s', async () => {
    const oldBase = sha('policy-old-base');
    const newBase = sha('policy-new-base');
    const head = sha('policy-head-on-old');
    fake.addCommit(REPO, oldBase, shop);
    fake.addCommit(REPO, newBase, { ...shop, [OWNERS]: shop[OWNERS]!.replace('enforcementAction: dryrun', 'enforcementAction: deny') });
    fake.addCommit(REPO, head, { ...shop, 'cluster/namespaces/shop/notes.yaml': CONFIG_MAP });
    fake.setMergeBase(REPO, newBase, head, oldBase);
    await deliver('pull_request', pullRequestPayload('synchronize', newBase, head));

    expect(fake.checkRuns[0]!.output.summary).not.toContain('Policy-change impact');
  });
});

describe('pull requests of one commit into branches with other policies', () => {
  // `main`, the default branch, has the shop's policies; `weak` declares the same cluster without
  // a single constraint. The pull requests' head adds a privileged Deployment: main's policies
  // fail it, weak's let it pass. Branch protection on main requires `parapet / shop-prod`.
  const weak = Object.fromEntries(Object.entries(shop).filter(([path]) => !path.startsWith('cluster/global/policies/constraints/')));
  const into = (ref: string) => ({ ref, defaultBranch: 'main' });
  const MAIN_RUN = 'parapet / shop-prod';
  const WEAK_RUN = 'parapet (into weak) / shop-prod';

  function commits(name: string): { main: string; weak: string; head: string } {
    const commit = { main: sha(`${name}-main`), weak: sha(`${name}-weak`), head: sha(`${name}-head`) };
    fake.addCommit(REPO, commit.main, shop);
    fake.addCommit(REPO, commit.weak, weak);
    fake.addCommit(REPO, commit.head, { ...shop, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT });
    return commit;
  }

  /** The head's check runs, by name, each with every conclusion it was given, in the order they were made. */
  function verdicts(head: string): Record<string, Array<string | null>> {
    const byName: Record<string, Array<string | null>> = {};
    for (const run of fake.checkRuns.filter((r) => r.head_sha === head)) (byName[run.name] ??= []).push(run.conclusion);
    return byName;
  }

  /** What main's branch protection, requiring `parapet / shop-prod`, reads on the head. */
  const mainProtection = (head: string) => fake.requiredCheck(REPO, head, MAIN_RUN);

  it.each([
    ['into main first', ['main', 'weak']],
    ['into weak first', ['weak', 'main']],
  ] as const)('never shows a passing `parapet / shop-prod` that main’s policies fail, the pull request %s', async (name, order) => {
    const commit = commits(`two-prs-${name}`);
    const payloads = {
      main: pullRequestPayload('opened', commit.main, commit.head, 61, into('main')),
      weak: pullRequestPayload('opened', commit.weak, commit.head, 62, into('weak')),
    };
    for (const branch of order) {
      await deliver('pull_request', payloads[branch]);
      expect(mainProtection(commit.head)).toBe(branch === 'main' || order[0] === 'main' ? 'failure' : 'expected');
    }

    // Only main's policies post `parapet / shop-prod`; weak's verdict has its own name, which a
    // protection rule on weak would require.
    expect(verdicts(commit.head)).toEqual({ [MAIN_RUN]: ['failure'], [WEAK_RUN]: ['success'] });
    expect(fake.checkRuns.find((r) => r.name === WEAK_RUN)!.annotations).toEqual([]);

    // Re-runs judge each check run with its own branch's policies: the suite's with both, the
    // main run's with main's even when the event lists the pull request into weak first.
    const suite = structuredClone(webhookExample('check_suite', 'rerequested')) as Record<string, any>;
    suite.check_suite.head_sha = commit.head;
    suite.check_suite.pull_requests = [];
    suite.repository.default_branch = 'main';
    await deliver('check_suite', withRepository(suite, REPO));
    await deliver('check_run', checkRunRerequested(MAIN_RUN, commit, [62, 61]));
    expect(verdicts(commit.head)).toEqual({ [MAIN_RUN]: ['failure', 'failure', 'failure'], [WEAK_RUN]: ['success', 'success'] });
    expect(mainProtection(commit.head)).toBe('failure');
  });

  it('re-runs `parapet / shop-prod` with main’s policies when the event lists only the pull request into weak (the one into main is from a fork)', async () => {
    const commit = commits('fork-rerun');
    await deliver('pull_request', pullRequestPayload('opened', commit.weak, commit.head, 66, into('weak')));
    await deliver('pull_request', pullRequestPayload('opened', commit.main, commit.head, 67, into('main')));
    fake.reset();

    // GitHub leaves pull requests from forks out of a check run's `pull_requests`: it asks.
    await deliver('check_run', checkRunRerequested(MAIN_RUN, commit, [66]));
    expect(verdicts(commit.head)).toEqual({ [MAIN_RUN]: ['failure'] });
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toContain(`GET /repos/${REPO}/commits/${commit.head}/pulls`);
  });

  it('judges a pull request again with the policies of the base branch it is moved to', async () => {
    const commit = commits('retargeted');
    await deliver('pull_request', pullRequestPayload('opened', commit.weak, commit.head, 63, into('weak')));
    expect(verdicts(commit.head)).toEqual({ [WEAK_RUN]: ['success'] });
    expect(mainProtection(commit.head)).toBe('expected');

    // An edit that changes nothing Parapet judges is not judged again.
    await deliver('pull_request', pullRequestPayload('edited', commit.weak, commit.head, 63, into('weak')));
    expect(verdicts(commit.head)).toEqual({ [WEAK_RUN]: ['success'] });

    await deliver('pull_request', pullRequestPayload('edited', commit.main, commit.head, 63, { ...into('main'), from: { ref: 'weak', sha: commit.weak } }));
    expect(verdicts(commit.head)).toEqual({ [WEAK_RUN]: ['success'], [MAIN_RUN]: ['failure'] });
    expect(fake.checkRuns.find((r) => r.name === MAIN_RUN)!.annotations).toMatchObject([{ path: 'cluster/namespaces/shop/debug.yaml', start_line: 22, annotation_level: 'failure' }]);
    expect(mainProtection(commit.head)).toBe('failure');
  });

  it('keeps the verdict on a commit that another pull request into the same branch still has as its head', async () => {
    const commit = commits('shared-head');
    const moved = sha('shared-head-moved');
    fake.addCommit(REPO, moved, { ...shop, 'cluster/namespaces/shop/notes.yaml': CONFIG_MAP });
    await deliver('pull_request', pullRequestPayload('opened', commit.main, commit.head, 64, into('main')));
    const payload = pullRequestPayload('opened', commit.main, commit.head, 65, into('main'));
    // Pull request #65 moves on before its first head is judged; #64 still has that head.
    fake.addPullRequest(REPO, { number: 65, base: { sha: commit.main, ref: 'main' }, head: { sha: moved } });
    await deliver('pull_request', payload);

    expect(verdicts(commit.head)).toEqual({ [MAIN_RUN]: ['failure', 'failure'] });
    expect(mainProtection(commit.head)).toBe('failure');
  });

  it('names the runs of a job queued by an older version of Parapet, which did not carry the base branch, after the branch GitHub says', async () => {
    const commit = commits('queued-before-upgrade');
    pullRequestPayload('opened', commit.main, commit.head, 68, into('main'));
    // As queued in Redis before the upgrade: no baseRef, no defaultBranch; and a base commit of
    // weak's, the pull request having been moved to main since.
    const job = { kind: 'pull-request', installationId: 1, repo: { owner: 'example-org', repo: 'shop-prod' }, number: 68, headSha: commit.head, baseSha: commit.weak, observedAt: new Date().toISOString() };
    expect(await app.jobs.add({ deliveryId: 'queued-before-upgrade', event: 'pull_request.opened', job: job as never })).toBe(true);
    await app.jobs.idle();

    expect(verdicts(commit.head)).toEqual({ [MAIN_RUN]: ['failure'] });
  });

  /** The `check_run.rerequested` event of run `name` on the head, listing pull requests `numbers` (61, 66, 67: into main; others: weak). */
  function checkRunRerequested(name: string, commit: { main: string; weak: string; head: string }, numbers: number[]): Record<string, any> {
    const rerun = structuredClone(webhookExample('check_run', 'rerequested')) as Record<string, any>;
    const intoMain = (n: number) => [61, 67].includes(n);
    rerun.check_run.name = name;
    rerun.check_run.head_sha = commit.head;
    rerun.check_run.pull_requests = numbers.map((number) => ({ number, head: { ref: 'feature', sha: commit.head }, base: { ref: intoMain(number) ? 'main' : 'weak', sha: intoMain(number) ? commit.main : commit.weak } }));
    rerun.repository.default_branch = 'main';
    return withRepository(rerun, REPO);
  }
});

describe('a pull request whose checks would run away', () => {
  const LOOP_TEMPLATE = 'cluster/global/policies/constraint-templates/k8sloop-template.yaml';
  const runaway = {
    [LOOP_TEMPLATE]: regoTemplate('K8sLoop', neverEndingRego('k8sloop')),
    'cluster/global/policies/constraints/k8sloop-constraint.yaml': constraintOf('K8sLoop', 'runaway', { match: { kinds: [{ apiGroups: ['apps'], kinds: ['Deployment'] }] } }),
  };

  /** An App with its own driver (limits) and settings; `run` gets a way to deliver to it. */
  async function withApp(driver: RegoDriver, env: Record<string, string>, run: (deliverTo: (base: string, head: string) => Promise<void>) => Promise<void>): Promise<void> {
    const own = await startApp(env, undefined, driver);
    try {
      await run(async (base, head) => {
        const response = await deliverWebhook(`${own.url}/api/github/webhooks`, 'pull_request', pullRequestPayload('opened', base, head), SECRET);
        expect(response.status).toBe(200);
        await own.jobs.idle();
      });
    } finally {
      await own.close();
      await driver.close();
    }
  }

  it('stops the job at its time budget, fails the check run and says what was not checked', async () => {
    // One evaluation may run for ten minutes: only the job's budget (3 s) can end this one.
    await withApp(startDriver({ timeoutMs: 600_000 }), { PARAPET_JOB_TIMEOUT_MS: '3000' }, async (deliverTo) => {
      const base = sha('budget-base');
      const head = sha('budget-head');
      fake.addCommit(REPO, base, { ...shop, ...runaway });
      fake.addCommit(REPO, head, { ...shop, ...runaway, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT });
      await deliverTo(base, head);

      const [run] = fake.checkRuns;
      expect(run!.conclusion).toBe('failure');
      expect(run!.output.title).toMatch(/^Not fully checked: 1 input error/);
      const cut = run!.annotations.filter((a) => a.title === 'input error (limit)');
      expect(cut).toHaveLength(1);
      expect(cut[0]).toMatchObject({ path: '.securitytower/cluster.yaml', start_line: 2, annotation_level: 'failure' });
      // Where the budget ran out depends on the machine (compiling, parsing or evaluating); that it did, does not.
      expect(cut[0]!.message).toMatch(/^Cluster shop-prod was not (fully )?checked: the check's time limit of 3 s ran out/);
      expect(run!.output.summary).toContain('### Not fully checked (1)\n\nParapet bounds the work of every check');
    });
  });

  it('stops a template of the pull request’s own policies after its first timeout, and says so in the policy-change impact', async () => {
    await withApp(startDriver({ timeoutMs: 1000 }), {}, async (deliverTo) => {
      const base = sha('impact-loop-base');
      const head = sha('impact-loop-head');
      fake.addCommit(REPO, base, shop);
      fake.addCommit(REPO, head, { ...shop, ...runaway });
      await deliverTo(base, head);

      const [run] = fake.checkRuns;
      // The verdict is the base's policies': the head's runaway template cannot fail (or pass) it.
      expect(run!.conclusion).toBe('success');
      const summary = run!.output.summary!;
      expect(summary).toContain('**Input errors with the new policies (2)**');
      expect(summary).toContain(
        `- \`${LOOP_TEMPLATE}:2\` ConstraintTemplate k8sloop was stopped for the rest of the check after an evaluation of it failed (evaluation exceeded the time limit of 1000 ms and was stopped); 3 more objects were not evaluated against it`,
      );
    });
  });
});

describe('what gets no check run', () => {
  it('posts nothing on a repository without a Cluster configuration', async () => {
    const base = sha('plain-base');
    const head = sha('plain-head');
    fake.addCommit(REPO, base, { 'README.md': '# not a GitOps repository\n' });
    fake.addCommit(REPO, head, { 'README.md': '# still not\n', 'deploy.yaml': DEBUG_DEPLOYMENT });
    await deliver('pull_request', pullRequestPayload('opened', base, head));

    expect(fake.checkRuns).toEqual([]);
    expect(fake.requests.filter((r) => r.method !== 'GET' && !r.path.startsWith('/app/'))).toEqual([]);
  });

  it.each([
    ['a forged signature', `sha256=${'0'.repeat(64)}`],
    ['a signature made with another secret', 'other-secret'],
    ['no signature', null],
  ])('refuses a delivery with %s (4xx) and changes nothing', async (_name, signature) => {
    const base = sha('forged-base');
    fake.addCommit(REPO, base, shop);
    fake.addCommit(REPO, sha('forged-head'), { ...shop, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT });
    const payload = pullRequestPayload('opened', base, sha('forged-head'));
    const forged =
      signature === 'other-secret'
        ? await deliverWebhook(`${app.url}/api/github/webhooks`, 'pull_request', payload, 'other-secret')
        : await deliverWebhook(`${app.url}/api/github/webhooks`, 'pull_request', payload, SECRET, { signature });
    await app.jobs.idle();

    expect(forged.status).toBeGreaterThanOrEqual(400);
    expect(forged.status).toBeLessThan(500);
    expect(fake.requests).toEqual([]);
  });

  it('runs a delivery that arrives twice only once', async () => {
    const base = sha('twice-base');
    const head = sha('twice-head');
    fake.addCommit(REPO, base, shop);
    fake.addCommit(REPO, head, { ...shop, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT });
    const payload = pullRequestPayload('opened', base, head);
    await deliver('pull_request', payload, 'same-delivery');
    await deliver('pull_request', payload, 'same-delivery');

    expect(fake.checkRuns).toHaveLength(1);
  });
});

describe('the server', () => {
  it('answers GET / with a status page and accepts deliveries at / too (the URL the manifest flow registers)', async () => {
    const page = await fetch(`${app.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Parapet');
    const ping = await deliverWebhook(`${app.url}/`, 'ping', { zen: 'Keep it logically awesome.', hook_id: 1 }, SECRET);
    expect(ping.status).toBe(200);
    const forged = await deliverWebhook(`${app.url}/`, 'ping', { zen: 'x', hook_id: 1 }, 'wrong-secret');
    expect(forged.status).toBeGreaterThanOrEqual(400);
    expect(forged.status).toBeLessThan(500);
  });
});

describe('re-runs and failures', () => {
  it('re-evaluates the commit of a check suite when a re-run is requested', async () => {
    const base = sha('rerun-base');
    const head = sha('rerun-head');
    fake.addCommit(REPO, base, shop);
    fake.addCommit(REPO, head, { ...shop, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT });
    fake.addPullRequest(REPO, { number: 7, base: { sha: base, ref: 'master' }, head: { sha: head } });
    const suite = structuredClone(webhookExample('check_suite', 'rerequested')) as Record<string, any>;
    suite.check_suite.head_sha = head;
    suite.check_suite.pull_requests = [];
    await deliver('check_suite', withRepository(suite, REPO));

    expect(fake.checkRuns.map((r) => [r.name, r.head_sha, r.conclusion])).toEqual([['parapet / shop-prod', head, 'failure']]);
  });

  it('ends the check run with failure and what to do when the repository exceeds the size limit', async () => {
    const limited = await startApp({ PARAPET_MAX_REPO_BYTES: String(256 * 1024) });
    try {
      const base = sha('big-base');
      const head = sha('big-head');
      fake.addCommit(REPO, base, shop);
      // Incompressible, so even the download is over the limit.
      fake.addCommit(REPO, head, { ...shop, 'cluster/namespaces/shop/blob.bin': Buffer.from(Array.from({ length: 300 * 1024 }, (_, i) => (i * 7919 + (i >> 3) * 104729) % 251)) });
      const delivered = await deliverWebhook(`${limited.url}/api/github/webhooks`, 'pull_request', pullRequestPayload('opened', base, head), SECRET);
      expect(delivered.status).toBe(200);
      await limited.jobs.idle();
    } finally {
      await limited.close();
    }

    const [run] = fake.checkRuns;
    expect(run).toMatchObject({ name: 'parapet / shop-prod', status: 'completed', conclusion: 'failure' });
    expect(run!.output.summary).toContain('PARAPET_MAX_REPO_BYTES');
    expect(run!.output.summary).toContain('Re-run');
  });

  it('ends a check run started before GitHub failed with failure, never leaving it in progress', async () => {
    const base = sha('flaky-base');
    const head = sha('flaky-head');
    fake.addCommit(REPO, base, shop);
    fake.addCommit(REPO, head, { ...shop, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT });
    fake.failWith(new RegExp(`GET /repos/${REPO}/tarball/${head}`), 404);
    await deliver('pull_request', pullRequestPayload('opened', base, head));

    expect(fake.checkRuns).toHaveLength(1);
    expect(fake.checkRuns[0]).toMatchObject({ name: 'parapet / shop-prod', status: 'completed', conclusion: 'failure' });
    expect(fake.checkRuns[0]!.output.title).toBe('Parapet could not check this commit');
  });
});

describe('the review', () => {
  const ACCEPTED = DEBUG_DEPLOYMENT.replace('debug-shell', 'approved-shell').replace(
    '  labels:\n    owner',
    '  annotations:\n    securitytower.io/policy.exclusion.preventprivileged: Debugging the payment outage INC-42.\n  labels:\n    owner',
  );

  it('comments once per push on the new deny violation and the new risk acceptance, never twice, and says when the violation is fixed', async () => {
    const base = sha('review-base');
    fake.addCommit(REPO, base, shop);
    const push = async (n: number, files: Record<string, string>) => {
      const head = sha(`review-head-${n}`);
      fake.addCommit(REPO, head, { ...shop, ...files });
      await deliver('pull_request', pullRequestPayload(n === 1 ? 'opened' : 'synchronize', base, head, 21));
      return head;
    };

    // Push 1: a privileged Deployment, and one whose risk is accepted.
    const first = await push(1, { 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT, 'cluster/namespaces/shop/approved.yaml': ACCEPTED });
    expect(fake.reviews).toHaveLength(1);
    const [review] = fake.reviews;
    expect(review).toMatchObject({ pull_number: 21, commit_id: first, event: 'COMMENT' });
    const comments = [...review!.comments].sort((a, b) => (a.path < b.path ? -1 : 1));
    expect(comments.map((c) => [c.path, c.line])).toEqual([
      ['cluster/namespaces/shop/approved.yaml', 7],
      ['cluster/namespaces/shop/debug.yaml', 22],
    ]);
    expect(comments[0]!.body).toContain('> Debugging the payment outage INC-42.');
    expect(comments[0]!.body).toMatch(/<!-- parapet-accept:[0-9a-f]+ -->/);
    expect(comments[1]!.body).toContain('**preventprivileged** (deny) on Deployment shop/debug-shell');
    expect(comments[1]!.body).toMatch(/<!-- parapet:[0-9a-f]+ -->/);

    // Push 2: an unrelated change; both findings are already commented.
    await push(2, { 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT, 'cluster/namespaces/shop/approved.yaml': ACCEPTED, 'cluster/namespaces/shop/notes.yaml': CONFIG_MAP });
    expect(fake.reviews).toHaveLength(1);
    expect(fake.reviewComments).toHaveLength(2);

    // Push 3: the privileged container is gone: its thread says so, once. GitHub's GraphQL is
    // down (through the client's retries): the thread is not folded away, nothing else suffers.
    const unprivileged = DEBUG_DEPLOYMENT.replace(/\n\s+securityContext:\n\s+privileged: true/, '');
    fake.failGraphQL('Something went wrong while executing your query.', { times: 10 });
    const third = await push(3, { 'cluster/namespaces/shop/debug.yaml': unprivileged, 'cluster/namespaces/shop/approved.yaml': ACCEPTED });
    expect(fake.resolvedThreads.size).toBe(0);
    expect(fake.checkRuns.filter((r) => r.head_sha === third).map((r) => r.conclusion)).toEqual(['success']);
    await push(4, { 'cluster/namespaces/shop/debug.yaml': unprivileged, 'cluster/namespaces/shop/approved.yaml': ACCEPTED, 'cluster/namespaces/shop/notes.yaml': CONFIG_MAP });
    expect(fake.reviews).toHaveLength(1);
    const replies = fake.reviewComments.filter((c) => c.in_reply_to_id !== undefined);
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ in_reply_to_id: comments[1]!.id });
    expect(replies[0]!.body).toContain(`Fixed in ${third}`);
    expect(fake.requests.filter((r) => r.status >= 400)).toEqual([]);
  });

  it('is not kept from commenting by the markers the pull request’s author copies into a comment of their own', async () => {
    const base = sha('forged-base');
    fake.addCommit(REPO, base, shop);
    const files = { 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT, 'cluster/namespaces/shop/approved.yaml': ACCEPTED };
    // The markers are public: any pull request with the same findings shows them.
    fake.addCommit(REPO, sha('forged-other'), { ...shop, ...files });
    await deliver('pull_request', pullRequestPayload('opened', base, sha('forged-other'), 61));
    const markers = fake.reviewComments.map((c) => c.body.match(/<!-- parapet(?:-accept)?:[0-9a-f]+ -->/)![0]);
    expect(markers).toHaveLength(2);

    const head = sha('forged-head');
    fake.addCommit(REPO, head, { ...shop, ...files });
    const payload = pullRequestPayload('opened', base, head, 62);
    const author = fake.addReviewComment(REPO, 62, { author: 'dana-dev', path: 'cluster/namespaces/shop/debug.yaml', line: 22, body: `Nothing to see here.\n\n${markers.join('\n')}` });
    await deliver('pull_request', payload);

    const parapet = fake.reviewComments.filter((c) => c.pull_number === 62 && c.user.login === FAKE_BOT_LOGIN);
    expect(parapet.map((c) => [c.path, c.line]).sort()).toEqual([
      ['cluster/namespaces/shop/approved.yaml', 7],
      ['cluster/namespaces/shop/debug.yaml', 22],
    ]);
    expect(parapet.find((c) => c.line === 7)!.body).toContain('Reviewers: this pull request asks to accept this risk.');
    expect(fake.reviewComments.filter((c) => c.in_reply_to_id === author.id)).toEqual([]);
    expect(fake.requests.filter((r) => r.status >= 400)).toEqual([]);
  });

  it('answers and resolves only the threads it opened, whatever others write in them', async () => {
    const base = sha('threads-base');
    fake.addCommit(REPO, base, shop);
    const first = sha('threads-head-1');
    fake.addCommit(REPO, first, { ...shop, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT });
    await deliver('pull_request', pullRequestPayload('opened', base, first, 63));
    const [thread] = fake.reviewComments;
    expect(thread).toMatchObject({ path: 'cluster/namespaces/shop/debug.yaml', line: 22, user: { login: FAKE_BOT_LOGIN } });

    // A thread made to look like one of Parapet's, for a finding that is gone, and a reply that
    // makes Parapet's own thread look answered.
    const lookalike = fake.addReviewComment(REPO, 63, { author: 'dana-dev', path: 'cluster/namespaces/shop/debug.yaml', line: 22, body: 'Please resolve.\n\n<!-- parapet:0123456789abcdef01234567 -->' });
    fake.addReviewComment(REPO, 63, { author: 'dana-dev', inReplyTo: thread!.id, body: 'Fixed in a commit of mine.\n\n<!-- parapet-fixed -->' });
    const second = sha('threads-head-2');
    fake.addCommit(REPO, second, { ...shop, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT.replace(/\n\s+securityContext:\n\s+privileged: true/, '') });
    await deliver('pull_request', pullRequestPayload('synchronize', base, second, 63));

    const answers = fake.reviewComments.filter((c) => c.user.login === FAKE_BOT_LOGIN && c.in_reply_to_id !== undefined);
    expect(answers.map((c) => [c.in_reply_to_id, c.body])).toEqual([[thread!.id, `Fixed in ${second}.\n\n<!-- parapet-fixed -->`]]);
    expect([...fake.resolvedThreads]).toEqual([thread!.id]);
    expect(fake.resolvedThreads.has(lookalike.id)).toBe(false);
    expect(fake.requests.filter((r) => r.status >= 400)).toEqual([]);
  });

  it('passes a Renovate pull request that only bumps the image tag a blocking finding names: the finding is existing', async () => {
    // gatekeeper-library's k8sallowedrepos names the whole image reference in its message.
    const allowedRepos = {
      'cluster/global/policies/constraint-templates/k8sallowedrepos-template.yaml': regoTemplate(
        'K8sAllowedRepos',
        `package k8sallowedrepos

violation[{"msg": msg}] {
  container := input.review.object.spec.containers[_]
  not strings.any_prefix_match(container.image, input.parameters.repos)
  msg := sprintf("container <%v> has an invalid image repo <%v>, allowed repos are %v", [container.name, container.image, input.parameters.repos])
}
`,
        { version: 'v0', parameters: { repos: { type: 'array', items: { type: 'string' } } } },
      ),
      'cluster/global/policies/constraints/allowed-repos.yaml': constraintOf('K8sAllowedRepos', 'allowed-repos', {
        match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] },
        parameters: { repos: ['ghcr.io/'] },
      }),
    };
    const base = sha('renovate-base');
    const head = sha('renovate-head');
    fake.addCommit(REPO, base, { ...shop, ...allowedRepos, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT });
    fake.addCommit(REPO, head, { ...shop, ...allowedRepos, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT.replace('busybox:1.36.1', 'busybox:1.37.0') });
    await deliver('pull_request', pullRequestPayload('opened', base, head, 23));

    const [run] = fake.checkRuns;
    expect(run!.output.summary).toContain('container &lt;shell&gt; has an invalid image repo &lt;busybox:1.37.0&gt;');
    expect(run!.conclusion).toBe('success');
    expect(run!.annotations).toEqual([]);
    expect(fake.reviews).toEqual([]);
    expect(fake.requests.filter((r) => r.status >= 400)).toEqual([]);
  });

  it('recognises its comments posted with the markers of earlier versions: no second comment, and the thread is answered when fixed', async () => {
    const base = sha('legacy-base');
    fake.addCommit(REPO, base, shop);
    const first = sha('legacy-head-1');
    fake.addCommit(REPO, first, { ...shop, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT });
    const payload = pullRequestPayload('opened', base, first, 64);
    // Earlier versions hashed the finding with its message as written: cluster, policy, constraint, group, kind, namespace, name, message.
    const message = '[Implied by expand-workloads] Privileged container is not allowed: shell, securityContext: {"privileged": true}';
    const legacy = createHash('sha256').update(JSON.stringify(['shop-prod', 'preventprivileged', 'preventprivileged', 'apps', 'Deployment', 'shop', 'debug-shell', message])).digest('hex').slice(0, 24);
    const posted = fake.addReviewComment(REPO, 64, { author: FAKE_BOT_LOGIN, path: 'cluster/namespaces/shop/debug.yaml', line: 22, body: `**preventprivileged** (deny) on Deployment shop/debug-shell\n\n<!-- parapet:${legacy} -->` });
    await deliver('pull_request', payload);
    expect(fake.reviews).toEqual([]);

    const second = sha('legacy-head-2');
    fake.addCommit(REPO, second, { ...shop, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT.replace(/\n\s+securityContext:\n\s+privileged: true/, '') });
    await deliver('pull_request', pullRequestPayload('synchronize', base, second, 64));
    const answers = fake.reviewComments.filter((c) => c.user.login === FAKE_BOT_LOGIN && c.in_reply_to_id !== undefined);
    expect(answers.map((c) => [c.in_reply_to_id, c.body])).toEqual([[posted.id, `Fixed in ${second}.\n\n<!-- parapet-fixed -->`]]);
    expect(fake.requests.filter((r) => r.status >= 400)).toEqual([]);
  });

  it('leaves a new violation on a line outside the diff to the check run', async () => {
    const base = sha('outside-base');
    const head = sha('outside-head');
    // Renaming the Deployment (line 4) makes its privileged container (line 22, unchanged, far from the hunk) a new violation.
    fake.addCommit(REPO, base, { ...shop, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT });
    fake.addCommit(REPO, head, { ...shop, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT.replace('name: debug-shell', 'name: debug-shell-2') });
    await deliver('pull_request', pullRequestPayload('opened', base, head, 22));

    expect(fake.checkRuns[0]!.annotations).toMatchObject([{ path: 'cluster/namespaces/shop/debug.yaml', start_line: 22 }]);
    expect(fake.reviews).toEqual([]);
    expect(fake.requests.filter((r) => r.status >= 400)).toEqual([]);
  });

  it('is refused by the fake GitHub, as by GitHub, on a line outside the diff', async () => {
    const base = sha('refuse-base');
    const head = sha('refuse-head');
    fake.addCommit(REPO, base, shop);
    fake.addCommit(REPO, head, { ...shop, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT });
    pullRequestPayload('opened', base, head, 23);
    const post = (comments: unknown[]) =>
      fetch(`${fake.url}/repos/${REPO}/pulls/23/reviews`, { method: 'POST', headers: { authorization: 'token ghs_fake_1' }, body: JSON.stringify({ commit_id: head, event: 'COMMENT', comments }) });
    expect((await post([{ path: 'cluster/namespaces/shop/debug.yaml', line: 22, side: 'RIGHT', body: 'in the diff' }])).status).toBe(200);
    expect((await post([{ path: 'cluster/namespaces/shop/deployment.yaml', line: 23, side: 'RIGHT', body: 'unchanged file' }])).status).toBe(422);
    expect((await post([{ path: 'cluster/namespaces/shop/debug.yaml', line: 22 }])).status).toBe(422);
  });
});

describe('text from the pull request', () => {
  it('stays text in the summary and the review: a file name that opens an HTML comment, a mention, an image and HTML in a manifest', async () => {
    const base = sha('hostile-base');
    const head = sha('hostile-head');
    const path = 'cluster/namespaces/shop/x\n\n<!--\n.yaml';
    const hostile = DEBUG_DEPLOYMENT.replace('name: debug-shell', 'name: "![x](http://evil.example/i.png)"')
      .replace('namespace: shop', 'namespace: "@example-org/security"')
      .replace('- name: shell', '- name: "<img src=x> `` ](http://evil.example/) |"')
      .replace('  labels:\n    owner', '  annotations:\n    securitytower.io/policy.exclusion.preventprivileged: "@example-org/security approved it, see #1\\n\\n<!--"\n  labels:\n    owner');
    fake.addCommit(REPO, base, shop);
    fake.addCommit(REPO, head, { ...shop, [path]: hostile, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT });
    await deliver('pull_request', pullRequestPayload('opened', base, head, 71));

    const [run] = fake.checkRuns;
    const summary = renderGfm(run!.output.summary!);
    expect(markupIn(summary, ['details', 'summary']), run!.output.summary).toEqual([]);
    // The sections after the hostile lines are all there, the baseline collapsed as always.
    expect(elements(summary, 'h3').map(textOf)).toEqual(['Risks accepted by this pull request (1)']);
    expect(summary.match(/<details>/g)).toHaveLength(1);
    expect(textOf(summary)).toContain('on Deployment @example-org/security/![x](http://evil.example/i.png) (`cluster/namespaces/shop/x⏎⏎<!--⏎.yaml:7`, object): @example-org/security approved it, see #1 <!--'.replace(/`/g, ''));
    expect(run!.annotations.find((a) => a.path === path && a.title?.startsWith('preventprivileged'))).toMatchObject({
      path,
      title: 'preventprivileged (deny, accepted): Deployment @example-org/security/![x](http://evil.example/i.png)',
    });

    const comments = fake.reviewComments.filter((c) => c.pull_number === 71);
    expect(comments.map((c) => [c.path, c.line]).sort()).toEqual([
      ['cluster/namespaces/shop/debug.yaml', 22],
      [path, 7],
    ]);
    for (const comment of comments) {
      const html = renderGfm(comment.body.replace(/\n\n<!-- parapet(?:-accept)?:[0-9a-f]+ -->$/, ''));
      expect(markupIn(html), comment.body).toEqual([]);
    }
    expect(textOf(renderGfm(comments.find((c) => c.path === path)!.body))).toContain('@example-org/security approved it, see #1 <!--');
  });
});

describe('a stale head, a restart, a flaky GitHub', () => {
  it('gives a head the pull request has moved on from its verdict, says it was superseded, and posts no review', async () => {
    const base = sha('stale-base');
    const old = sha('stale-old');
    const newer = sha('stale-new');
    fake.addCommit(REPO, base, shop);
    fake.addCommit(REPO, old, { ...shop, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT });
    fake.addCommit(REPO, newer, { ...shop, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT.replace('1.36.1', '1.36.2') });
    const payload = pullRequestPayload('synchronize', base, old, 31);
    // The next push landed while the old one waited in the queue.
    fake.addPullRequest(REPO, { number: 31, base: { sha: base, ref: 'master' }, head: { sha: newer } });
    await deliver('pull_request', payload);

    // A neutral run would pass the branch protection of any other pull request whose head is this commit.
    expect(fake.checkRuns.map((r) => [r.head_sha, r.status, r.conclusion, r.output.title])).toEqual([[old, 'completed', 'failure', `1 new violation that blocks merging (superseded by ${newer.slice(0, 7)})`]]);
    expect(fake.checkRuns[0]!.output.summary).toMatch(new RegExp(`^> \\*\\*Superseded\\.\\*\\* Pull request #31 moved on to ${newer}`));
    expect(fake.checkRuns[0]!.annotations).toMatchObject([{ path: 'cluster/namespaces/shop/debug.yaml', start_line: 22, annotation_level: 'failure' }]);
    expect(fake.reviews).toEqual([]);

    await deliver('pull_request', pullRequestPayload('synchronize', base, newer, 31));
    expect(fake.checkRuns.filter((r) => r.head_sha === newer).map((r) => r.conclusion)).toEqual(['failure']);
    expect(fake.reviews.map((r) => r.commit_id)).toEqual([newer]);
  });

  it('takes over the check run a crashed process left in progress, and ends its other leftovers without a verdict that would pass', async () => {
    const base = sha('crash-base');
    const head = sha('crash-head');
    fake.addCommit(REPO, base, shop);
    fake.addCommit(REPO, head, { ...shop, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT });
    // Two processes crashed on this commit: the newer run of a name is taken over, the older ended.
    const older = fake.addCheckRun(REPO, { name: 'parapet / shop-prod', head_sha: head, status: 'in_progress' });
    const left = fake.addCheckRun(REPO, { name: 'parapet / shop-prod', head_sha: head, status: 'in_progress' });
    const fallback = fake.addCheckRun(REPO, { name: 'parapet', head_sha: head, status: 'in_progress' });
    const otherApp = fake.addCheckRun(REPO, { name: 'parapet / shop-prod', head_sha: head, status: 'in_progress', appId: FAKE_APP_ID + 1 });
    const otherBranch = fake.addCheckRun(REPO, { name: 'parapet (into release) / shop-prod', head_sha: head, status: 'in_progress' });
    await deliver('pull_request', pullRequestPayload('synchronize', base, head, 41));

    expect(fake.checkRuns).toHaveLength(5); // none created
    expect(left).toMatchObject({ status: 'completed', conclusion: 'failure' });
    expect(left.annotations).toHaveLength(1);
    // Neither carries a verdict: `neutral` would satisfy a branch protection that reads them.
    expect(older).toMatchObject({ status: 'completed', conclusion: 'cancelled', output: { title: 'Interrupted' } });
    expect(fallback).toMatchObject({ status: 'completed', conclusion: 'cancelled', output: { title: 'Interrupted' } });
    expect(fake.requiredCheck(REPO, head, 'parapet / shop-prod')).toBe('failure');
    // Another App's run, and the run of a pull request of this commit into another branch, are not this job's.
    expect(otherApp.status).toBe('in_progress');
    expect(otherBranch.status).toBe('in_progress');
  });

  describe('with retries and throttling as in production (waits shortened)', () => {
    let flaky: AppServer;
    beforeAll(async () => {
      flaky = await startApp({}, { retry: { retryAfterBaseValue: 5 }, throttle: { retryAfterBaseValue: 5, ...unspaced() } });
    });
    afterAll(() => flaky?.close());

    async function deliverTo(payload: unknown): Promise<void> {
      expect((await deliverWebhook(`${flaky.url}/api/github/webhooks`, 'pull_request', payload, SECRET)).status).toBe(200);
      await flaky.jobs.idle();
    }

    it('retries a request GitHub answers with 500', async () => {
      const base = sha('500-base');
      const head = sha('500-head');
      fake.addCommit(REPO, base, shop);
      fake.addCommit(REPO, head, { ...shop, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT });
      fake.failWith(new RegExp(`^POST /repos/${REPO}/check-runs$`), 500, { times: 1 });
      fake.failWith(new RegExp(`^GET /repos/${REPO}/compare/`), 502, { times: 2 });
      await deliverTo(pullRequestPayload('opened', base, head, 51));

      expect(fake.requests.filter((r) => r.status >= 500).map((r) => `${r.method} ${r.status}`)).toEqual(['GET 502', 'GET 502', 'POST 500']);
      expect(fake.checkRuns.map((r) => [r.status, r.conclusion])).toEqual([['completed', 'failure']]);
    });

    it('waits out a secondary rate limit (403 with retry-after) and tries again', async () => {
      const base = sha('403-base');
      const head = sha('403-head');
      fake.addCommit(REPO, base, shop);
      fake.addCommit(REPO, head, { ...shop, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT });
      fake.failWith(new RegExp(`^POST /repos/${REPO}/pulls/52/reviews$`), 403, {
        times: 1,
        message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
        headers: { 'retry-after': '2' },
      });
      await deliverTo(pullRequestPayload('opened', base, head, 52));

      const attempts = fake.requests.filter((r) => r.path.endsWith('/pulls/52/reviews'));
      expect(attempts.map((r) => r.status)).toEqual([403, 200]);
      // retry-after 2 × 5 ms (the shortened second).
      expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(9);
      expect(fake.reviews).toHaveLength(1);
    });
  });
});

// ---- helpers ----

/** plugin-throttling's write queues without their spacing (a second between writes, three between notifying ones). */
function unspaced(): Record<string, Bottleneck.Group> {
  return { write: new Bottleneck.Group({ maxConcurrent: 1, minTime: 0 }), notifications: new Bottleneck.Group({ maxConcurrent: 1, minTime: 0 }) };
}

const CONFIG_MAP = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\n  namespace: shop\ndata:\n  a: b\n';


async function startApp(
  env: Record<string, string> = {},
  octokitOverrides: OctokitOverrides = { throttle: { enabled: false } },
  driver: PolicyDriver = engine().driver,
): Promise<AppServer> {
  const config = readConfig({
    APP_ID: '12345',
    PRIVATE_KEY: PRIVATE_KEY,
    WEBHOOK_SECRET: SECRET,
    GITHUB_API_URL: fake.url,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    PARAPET_CACHE_DIR: testCacheDir,
    ...env,
  });
  const { renderer } = engine();
  return startAppServer(
    { ...config, credentials: config.credentials!, server: { ...config.server, port: 0 } },
    // Throttling spaces writes a second apart against secondary rate limits; the fake has none.
    { engine: { driver, renderer, close: async () => {} }, octokitOverrides },
  );
}

let pullRequests = 0;

/** Opens a pull request on the shop-cluster repository that adds `added`; returns the check runs. */
async function pullRequest(added: Record<string, string>): Promise<FakeCheckRun[]> {
  const n = ++pullRequests;
  const base = sha(`base-${n}`);
  const head = sha(`head-${n}`);
  fake.addCommit(REPO, base, shop);
  fake.addCommit(REPO, head, { ...shop, ...added });
  await deliver('pull_request', pullRequestPayload('opened', base, head));
  return fake.checkRuns;
}

async function deliver(event: string, payload: unknown, deliveryId?: string): Promise<void> {
  const response = await deliverWebhook(`${app.url}/api/github/webhooks`, event, payload, SECRET, { deliveryId });
  expect(response.status).toBe(200);
  await app.jobs.idle();
}

function readCalls(): { reads: string[]; writes: number } {
  const calls = fake.apiRequests(REPO);
  return {
    reads: calls.filter((r) => r.method === 'GET').map((r) => `GET ${r.path.split('/')[4]}`),
    writes: calls.filter((r) => r.method !== 'GET').length,
  };
}

/** The event of pull request `number` (1 by default) at `headSha`, which the fake GitHub then answers as the pull request's head. */
function pullRequestPayload(action: string, baseSha: string, headSha: string, number = 1, base: Parameters<typeof repoPullRequestPayload>[6] = {}): Record<string, any> {
  return repoPullRequestPayload(fake, REPO, action, baseSha, headSha, number, base);
}

function privilegedPod(name: string): string {
  return `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  namespace: shop\nspec:\n  containers:\n    - name: main\n      image: busybox:1.36.1\n      securityContext:\n        privileged: true\n`;
}


