// One pull request over five pushes on the shop-cluster repository, end to end: real signed
// deliveries into the real server, the fake GitHub recording every check run, annotation, review
// comment and reply. After each push: the exact check runs, annotations, review comments and
// replies, and that no comment is ever posted twice.
//
//   push 1  adds a privileged Deployment (debug.yaml) and a privileged, unpinned Pod (worker.yaml)
//   push 2  unprivileges the Pod (its unpinned image stays: a warning)
//   push 3  accepts the risk of the privileged Deployment
//   push 4  adds a file that is not YAML
//   push 5  removes it, adds a privileged busybox Pod (probe.yaml), and relaxes preventprivileged
//           to exempt busybox images: the verdict (base policies) fails on the probe, the
//           policy-change impact says the relaxed policy would let it, and two more, through
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../src/config.js';
import { startAppServer, type AppServer } from '../../src/github/server.js';
import { engine, testCacheDir } from '../helpers/engine.js';
import { deliverWebhook, FakeGitHub, type FakeAnnotation, type FakeReviewComment } from '../helpers/fake-github.js';
import { appEnvironment, DEBUG_DEPLOYMENT, fixtureFiles, pullRequestPayload, sha, WEBHOOK_SECRET } from '../helpers/fake-github-app.js';

const REPO = 'example-org/shop-prod';
const PR = 77;
const shop = fixtureFiles('shop-cluster');
const BASE = sha('series-base');

const DEBUG = 'cluster/namespaces/shop/debug.yaml';
const WORKER = 'cluster/namespaces/shop/worker.yaml';
const BROKEN = 'cluster/namespaces/shop/broken.yaml';
const PROBE = 'cluster/namespaces/shop/probe.yaml';
const CONSTRAINT = 'cluster/global/policies/constraints/preventprivileged-constraint.yaml';

const acceptedDebugDeployment = DEBUG_DEPLOYMENT.replace(
  '  labels:\n    owner',
  '  annotations:\n    securitytower.io/policy.exclusion.preventprivileged: Debugging the payment outage INC-42.\n  labels:\n    owner',
);
const workerPod = `apiVersion: v1
kind: Pod
metadata:
  name: worker
  namespace: shop
spec:
  containers:
    - name: main
      image: busybox
      securityContext:
        privileged: true
`;
const unprivilegedWorkerPod = workerPod.replace('      securityContext:\n        privileged: true\n', '');
const probePod = workerPod.replace('name: worker', 'name: probe').replace('image: busybox', 'image: busybox:1.36.1');
const notYaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [broken\n';
const relaxedConstraint = shop[CONSTRAINT]!.replace('exemptImages: ["registry.example.com/node-agent"]', 'exemptImages: ["registry.example.com/node-agent", "busybox"]');

const PRIVILEGED_SHELL = '[Implied by expand-workloads] Privileged container is not allowed: shell, securityContext: {"privileged": true}';
/** As a review comment writes it: Markdown, its brackets escaped (they render as brackets). */
const PRIVILEGED_SHELL_MARKDOWN = PRIVILEGED_SHELL.replace('[', '\\[').replace(']', '\\]');
const PRIVILEGED_MAIN = 'Privileged container is not allowed: main, securityContext: {"privileged": true}';
const UNPINNED_WORKER = 'container <main> uses image busybox without an explicit version';
const HOW_TO = 'This new violation blocks merging. Fix it, or accept the risk with a `securitytower.io/policy.exclusion.preventprivileged` annotation that says why.';

const annotation = (path: string, line: number, level: FakeAnnotation['annotation_level'], title: string, message: string): FakeAnnotation => ({
  path,
  start_line: line,
  end_line: line,
  annotation_level: level,
  title,
  message,
});
const debugDenied = annotation(DEBUG, 22, 'failure', 'preventprivileged (deny): Deployment shop/debug-shell', PRIVILEGED_SHELL);
const debugAccepted = annotation(DEBUG, 24, 'notice', 'preventprivileged (deny, accepted): Deployment shop/debug-shell', `${PRIVILEGED_SHELL}\n\nRisk accepted (object): Debugging the payment outage INC-42.`);
const workerDenied = annotation(WORKER, 11, 'failure', 'preventprivileged (deny): Pod shop/worker', PRIVILEGED_MAIN);
const workerUnpinned = annotation(WORKER, 9, 'warning', 'enforceimageversion (warn): Pod shop/worker', UNPINNED_WORKER);

let fake: FakeGitHub;
let app: AppServer;
let pushes = 0;

beforeAll(async () => {
  fake = await FakeGitHub.start();
  fake.addCommit(REPO, BASE, shop);
  const config = readConfig(appEnvironment(fake, { PARAPET_CACHE_DIR: testCacheDir }));
  const { driver, renderer } = engine();
  app = await startAppServer(
    { ...config, credentials: config.credentials!, server: { ...config.server, port: 0 } },
    { engine: { driver, renderer, close: async () => {} }, octokitOverrides: { throttle: { enabled: false } } },
  );
});

afterAll(async () => {
  await app?.close();
  await fake?.close();
});

/** Pushes the shop repository with `files` changed (null: removed) as the pull request's new head; waits for the App. */
async function push(files: Record<string, string | null>): Promise<{ head: string; calls: string[] }> {
  const n = ++pushes;
  const head = sha(`series-push-${n}`);
  const tree: Record<string, string> = { ...shop };
  for (const [path, text] of Object.entries(files)) {
    if (text === null) delete tree[path];
    else tree[path] = text;
  }
  fake.addCommit(REPO, head, tree);
  const before = fake.requests.length;
  const payload = pullRequestPayload(fake, REPO, n === 1 ? 'opened' : 'synchronize', BASE, head, PR);
  const response = await deliverWebhook(`${app.url}/api/github/webhooks`, 'pull_request', payload, WEBHOOK_SECRET);
  expect(response.status).toBe(200);
  await app.jobs.idle();
  expect(fake.requests.slice(before).filter((r) => r.status >= 400)).toEqual([]);
  // One tarball per commit: the base (also the merge base) and the head, once each.
  expect(fake.requests.slice(before).filter((r) => r.path.includes('/tarball/')).map((r) => r.path.split('/').pop())).toEqual([BASE, head]);
  const calls = fake.requests
    .slice(before)
    .filter((r) => r.path.startsWith(`/repos/${REPO}/`))
    .map((r) => `${r.method} ${r.path.slice(`/repos/${REPO}`.length).replace(/[0-9a-f]{40}/g, '{sha}').replace(/\/\d+/g, '/{n}')}`);
  return { head, calls };
}

function runsOf(head: string) {
  return fake.checkRuns.filter((r) => r.head_sha === head).map((r) => ({ name: r.name, status: r.status, conclusion: r.conclusion, title: r.output.title }));
}

function annotationsOf(head: string): FakeAnnotation[] {
  return fake.checkRuns.filter((r) => r.head_sha === head).flatMap((r) => r.annotations);
}

function summaryOf(head: string): string {
  return fake.checkRuns.find((r) => r.head_sha === head)!.output.summary!;
}

const threads = () => fake.reviewComments.filter((c) => c.in_reply_to_id === undefined);
const replies = () => fake.reviewComments.filter((c) => c.in_reply_to_id !== undefined);
const where = (c: FakeReviewComment) => [c.path, c.line, c.body.match(/<!-- (parapet[a-z-]*:[0-9a-f]+) -->/)?.[1] ?? c.body];

describe('a pull request over five pushes', () => {
  let debugThread: FakeReviewComment;
  let workerThread: FakeReviewComment;
  let acceptThread: FakeReviewComment;
  const heads: string[] = [];

  it('push 1: two privileged containers and an unpinned image: failure, three annotations, two review comments', async () => {
    const { head } = await push({ [DEBUG]: DEBUG_DEPLOYMENT, [WORKER]: workerPod });
    heads.push(head);

    expect(runsOf(head)).toEqual([{ name: 'parapet / shop-prod', status: 'completed', conclusion: 'failure', title: '2 new violations that block merging' }]);
    expect(annotationsOf(head)).toEqual([debugDenied, workerUnpinned, workerDenied]);
    expect(fake.reviews).toHaveLength(1);
    expect(fake.reviews[0]).toMatchObject({ pull_number: PR, commit_id: head, event: 'COMMENT', body: `Parapet: 2 new findings on the changed lines of ${head.slice(0, 7)}. The check runs \`parapet / <cluster>\` have the verdict and every finding.` });
    [debugThread, workerThread] = threads() as [FakeReviewComment, FakeReviewComment];
    expect(threads().map((c) => [c.path, c.line])).toEqual([
      [DEBUG, 22],
      [WORKER, 11],
    ]);
    expect(debugThread.body).toMatch(new RegExp(`^\\*\\*preventprivileged\\*\\* \\(deny\\) on Deployment shop/debug-shell, cluster \`shop-prod\`: ${escape(PRIVILEGED_SHELL_MARKDOWN)}\\n\\n${escape(HOW_TO)}\\n\\n<!-- parapet:[0-9a-f]{24} -->$`));
    expect(workerThread.body).toMatch(new RegExp(`^\\*\\*preventprivileged\\*\\* \\(deny\\) on Pod shop/worker, cluster \`shop-prod\`: ${escape(PRIVILEGED_MAIN)}\\n\\n${escape(HOW_TO)}\\n\\n<!-- parapet:[0-9a-f]{24} -->$`));
    // The warning is for the check run only: reviews speak of blocking findings and acceptances.
    expect(replies()).toEqual([]);
    expect(summaryOf(head)).not.toContain('Policy-change impact');
  });

  it('push 2: the Pod is no longer privileged: still failure on the Deployment, its thread says "Fixed in", nothing reposted', async () => {
    const { head } = await push({ [DEBUG]: DEBUG_DEPLOYMENT, [WORKER]: unprivilegedWorkerPod });
    heads.push(head);

    expect(runsOf(head)).toEqual([{ name: 'parapet / shop-prod', status: 'completed', conclusion: 'failure', title: '1 new violation that blocks merging' }]);
    expect(annotationsOf(head)).toEqual([debugDenied, workerUnpinned]);
    expect(fake.reviews).toHaveLength(1);
    expect(threads()).toHaveLength(2);
    expect(replies().map((c) => [c.in_reply_to_id, c.path, c.line, c.body])).toEqual([[workerThread.id, WORKER, 11, `Fixed in ${head}.\n\n<!-- parapet-fixed -->`]]);
    // Answered and folded away: its review thread is resolved (GraphQL), the other stays open.
    expect([...fake.resolvedThreads]).toEqual([workerThread.id]);
  });

  it('push 3: the Deployment’s risk is accepted: neutral (the warning remains), an acceptance comment, its deny thread answered once', async () => {
    const { head } = await push({ [DEBUG]: acceptedDebugDeployment, [WORKER]: unprivilegedWorkerPod });
    heads.push(head);

    expect(runsOf(head)).toEqual([{ name: 'parapet / shop-prod', status: 'completed', conclusion: 'neutral', title: '2 new findings, none blocking' }]);
    expect(annotationsOf(head)).toEqual([debugAccepted, workerUnpinned]);
    expect(fake.reviews).toHaveLength(2);
    expect(fake.reviews[1]).toMatchObject({ commit_id: head, body: `Parapet: 1 new finding on the changed lines of ${head.slice(0, 7)}. The check runs \`parapet / <cluster>\` have the verdict and every finding.` });
    acceptThread = fake.reviews[1]!.comments[0]!;
    expect([acceptThread.path, acceptThread.line]).toEqual([DEBUG, 7]);
    expect(acceptThread.body).toMatch(
      /^\*\*Risk accepted\*\* for \*\*preventprivileged\*\* on Deployment shop\/debug-shell, cluster `shop-prod` \(object level\):\n\n> Debugging the payment outage INC-42\.\n\nReviewers: this pull request asks to accept this risk\.\n\n<!-- parapet-accept:[0-9a-f]{24} -->$/,
    );
    expect(replies().map((c) => [c.in_reply_to_id, c.body])).toEqual([
      [workerThread.id, `Fixed in ${heads[1]}.\n\n<!-- parapet-fixed -->`],
      [debugThread.id, `Risk accepted in ${head}: no longer blocking (see the risk acceptance comment for the reason).\n\n<!-- parapet-fixed -->`],
    ]);
    expect([...fake.resolvedThreads]).toEqual([workerThread.id, debugThread.id]);
    expect(summaryOf(head)).toContain('### Risks accepted by this pull request (1)\n\n- **preventprivileged** on Deployment shop/debug-shell (`cluster/namespaces/shop/debug.yaml:7`, object): Debugging the payment outage INC-42.');
  });

  it('push 4: a file that is not YAML fails the check with a failure annotation on it; no review comment', async () => {
    const { head } = await push({ [DEBUG]: acceptedDebugDeployment, [WORKER]: unprivilegedWorkerPod, [BROKEN]: notYaml });
    heads.push(head);

    expect(runsOf(head)).toEqual([{ name: 'parapet / shop-prod', status: 'completed', conclusion: 'failure', title: '1 input error, 2 new findings, none blocking' }]);
    expect(annotationsOf(head)).toEqual([
      annotation(BROKEN, 4, 'failure', 'input error (yaml)', 'YAML: Flow sequence in block collection must be sufficiently indented and end with a ]'),
      debugAccepted,
      workerUnpinned,
    ]);
    expect(fake.reviews).toHaveLength(2);
    expect(fake.reviewComments).toHaveLength(5);
    expect(summaryOf(head)).toContain('### Input errors (1)');
  });

  it('push 5: a relaxed policy: the verdict still uses the base’s policies, the summary shows the policy-change impact', async () => {
    const { head, calls } = await push({ [DEBUG]: acceptedDebugDeployment, [WORKER]: unprivilegedWorkerPod, [PROBE]: probePod, [CONSTRAINT]: relaxedConstraint });
    heads.push(head);

    // The base's preventprivileged does not exempt busybox: the new privileged probe fails the check.
    expect(runsOf(head)).toEqual([{ name: 'parapet / shop-prod', status: 'completed', conclusion: 'failure', title: '1 new violation that blocks merging' }]);
    expect(annotationsOf(head)).toEqual([debugAccepted, annotation(PROBE, 11, 'failure', 'preventprivileged (deny): Pod shop/probe', PRIVILEGED_MAIN), workerUnpinned]);
    expect(fake.reviews).toHaveLength(3);
    expect(fake.reviews[2]!.comments.map((c) => [c.path, c.line])).toEqual([[PROBE, 11]]);
    expect(fake.reviews[2]!.comments[0]!.body).toContain('**preventprivileged** (deny) on Pod shop/probe');

    const summary = summaryOf(head);
    const impact = summary.slice(summary.indexOf('### Policy-change impact'), summary.indexOf('<details>'));
    expect(impact).toBe(
      [
        '### Policy-change impact',
        '',
        'This pull request changes the policies of this cluster (`cluster/global/policies/constraints/preventprivileged-constraint.yaml`). ' +
          'The conclusion above judges this pull request with the base branch’s policies. ' +
          'With the policies of this pull request, on the same manifests, 0 violations would appear and 3 would disappear. ' +
          'This is for information only: it does not change the conclusion.',
        '',
        '| Policy | Action | Appear | Disappear |',
        '| --- | --- | ---: | ---: |',
        '| preventprivileged | deny | 0 | 3 |',
        '',
        '**Would disappear with the new policies (3)**',
        '',
        '- `cluster/namespaces/shop/cronjob.yaml:16` **preventprivileged** (deny) \\[Implied by expand-cronjobs\\] Privileged container is not allowed: prepare, securityContext: {"privileged": true}',
        '- `cluster/namespaces/shop/debug.yaml:24` **preventprivileged** (deny) \\[Implied by expand-workloads\\] Privileged container is not allowed: shell, securityContext: {"privileged": true} — accepted',
        '- `cluster/namespaces/shop/probe.yaml:11` **preventprivileged** (deny) Privileged container is not allowed: main, securityContext: {"privileged": true}',
        '',
        '',
      ].join('\n'),
    );
    // The same API calls as any push with a new finding: the impact reads the trees already downloaded.
    expect(calls).toEqual([
      'GET /commits/{sha}/check-runs',
      'GET /compare/{sha}...{sha}',
      'GET /tarball/{sha}',
      'POST /check-runs',
      'GET /tarball/{sha}',
      'GET /pulls/{n}',
      'PATCH /check-runs/{n}',
      'GET /pulls/{n}/comments',
      'POST /pulls/{n}/reviews',
    ]);
  });

  it('never posted a comment twice: one thread per (file, line, finding), at most one reply per thread', () => {
    expect(threads().map(where)).toEqual([
      [DEBUG, 22, expect.stringMatching(/^parapet:/)],
      [WORKER, 11, expect.stringMatching(/^parapet:/)],
      [DEBUG, 7, expect.stringMatching(/^parapet-accept:/)],
      [PROBE, 11, expect.stringMatching(/^parapet:/)],
    ]);
    expect(new Set(threads().map((c) => JSON.stringify(where(c)))).size).toBe(threads().length);
    expect(replies().map((c) => c.in_reply_to_id)).toEqual([workerThread.id, debugThread.id]);
    expect(fake.reviews.map((r) => r.commit_id)).toEqual([heads[0], heads[2], heads[4]]);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
