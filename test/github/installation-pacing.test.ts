// Throughput of one App process: GitHub paces writes per token, so Parapet paces them per
// installation, and runs several jobs at once (PARAPET_JOB_CONCURRENCY): a job waiting out its own
// installation's pacing holds no other installation's job. Proven by the order in which the fake
// GitHub receives the writes, not by the clock.
import Bottleneck from 'bottleneck';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../src/config.js';
import { startAppServer, type AppServer } from '../../src/github/server.js';
import { engine, testCacheDir } from '../helpers/engine.js';
import { appEnvironment, DEBUG_DEPLOYMENT, fixtureFiles, pullRequestPayload, sha, WEBHOOK_SECRET } from '../helpers/fake-github-app.js';
import { deliverWebhook, FakeGitHub, type RecordedRequest } from '../helpers/fake-github.js';

/**
 * plugin-throttling's spacing of one installation's writes, lengthened from GitHub's second so that
 * the other installation's job has ample time to reach its first write meanwhile.
 */
const PACE_MS = 3_000;

const shop = fixtureFiles('shop-cluster');
/** A second cluster in the same repository: its check run is created right after the first one's. */
const STAGING = fixtureFiles('shop-cluster')['.securitytower/cluster.yaml']!.replace('name: shop-prod', 'name: shop-staging');

describe('one App process serving two installations', () => {
  let fake: FakeGitHub;
  let app: AppServer;
  // Production's write queue (one write at a time per id), only slower; notifications unspaced.
  const write = new Bottleneck.Group({ maxConcurrent: 1, minTime: PACE_MS });
  const notifications = new Bottleneck.Group({ maxConcurrent: 1, minTime: 0 });

  beforeAll(async () => {
    fake = await FakeGitHub.start();
    const config = readConfig({ ...appEnvironment(fake), PARAPET_CACHE_DIR: testCacheDir, PARAPET_JOB_CONCURRENCY: '2' });
    const { driver, renderer } = engine();
    app = await startAppServer(
      { ...config, credentials: config.credentials!, server: { ...config.server, port: 0 } },
      { engine: { driver, renderer, close: async () => {} }, octokitOverrides: { throttle: { write, notifications } } },
    );
  });

  afterAll(async () => {
    await app?.close();
    await fake?.close();
  });

  /** A pull request of installation `installation` adding a privileged Deployment to `repo`. */
  function pullRequest(installation: number, repo: string, files: Record<string, string>) {
    const base = sha(`${repo}-base`);
    const head = sha(`${repo}-head`);
    fake.addCommit(repo, base, files);
    fake.addCommit(repo, head, { ...files, 'cluster/namespaces/shop/debug.yaml': DEBUG_DEPLOYMENT });
    const payload = pullRequestPayload(fake, repo, 'opened', base, head, 7);
    payload.installation.id = installation;
    return { head, deliver: () => deliverWebhook(`${app.url}/api/github/webhooks`, 'pull_request', payload, WEBHOOK_SECRET) };
  }

  const isWrite = (r: RecordedRequest) => r.method !== 'GET' && !r.path.startsWith('/app/');
  const writes = () => fake.requests.filter(isWrite).map((r) => `${r.installation} ${r.method} ${r.path}`);

  it("lets an installation's job write while another installation's next write waits out its pacing", async () => {
    const one = pullRequest(1001, 'org-one/gitops', { ...shop, '.securitytower/staging.yaml': STAGING });
    const two = pullRequest(1002, 'org-two/gitops', shop);

    expect((await one.deliver()).status).toBe(200);
    // Installation 1001 created its first check run and asks at once for its second: that one
    // waits PACE_MS. Only now does installation 1002's pull request arrive.
    await until(() => writes().length === 1);
    expect((await two.deliver()).status).toBe(200);
    await until(() => writes().length === 3);

    // Installation 1002 did not queue behind 1001's second write, although it asked after it.
    expect(writes()).toEqual([
      '1001 POST /repos/org-one/gitops/check-runs',
      '1002 POST /repos/org-two/gitops/check-runs',
      '1001 POST /repos/org-one/gitops/check-runs',
    ]);
    // And 1001's own writes stay paced. The fake notes when a request arrives, not when it was
    // sent: on a loaded machine the first one arrives late by tens of milliseconds (unpaced, the
    // two would be milliseconds apart).
    const [first, , second] = fake.requests.filter(isWrite);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(PACE_MS - 500);

    // The rest need not wait for the test.
    write.updateSettings({ minTime: 0 });
    for (const { limiter } of write.limiters()) limiter.updateSettings({ minTime: 0 });
    await app.jobs.idle();
    const verdicts = fake.checkRuns.map((r) => [r.head_sha === one.head ? 'one' : 'two', r.name, r.conclusion]);
    expect(verdicts.sort()).toEqual([
      ['one', 'parapet / shop-prod', 'failure'],
      // No Application deploys to it.
      ['one', 'parapet / shop-staging', 'success'],
      ['two', 'parapet / shop-prod', 'failure'],
    ]);
    expect(fake.reviews.map((r) => r.commit_id).sort()).toEqual([one.head, two.head].sort());
  });
});

/** Resolves once `done()` holds, looking every few milliseconds. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
}
