// The GitHub App on a large pull request: the built App server (dist/) in this process against the
// fake GitHub of the tests (test/helpers/fake-github.ts, a real HTTP server on a loopback port), one
// signed `pull_request.opened` delivery of a pull request that touches `touched` of the `size`
// manifests of a generated repository (one object per manifest). Measures the API calls by
// endpoint, the time from the delivery to the completed check runs, and the annotations sent.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deliverWebhook, FakeGitHub } from '../test/helpers/fake-github.js';
import { appEnvironment, pullRequestPayload, sha, WEBHOOK_SECRET } from '../test/helpers/fake-github-app.js';
import { readTree } from '../test/helpers/read-tree.js';
import { generateRepo } from './generate-repo.js';

type ServerModule = typeof import('../src/github/server.js');
type ConfigModule = typeof import('../src/config.js');
type RuntimeModule = typeof import('../src/runtime.js');

const REPO = 'bench-org/gitops';
const CONSTRAINTS = 30;

export interface AppBenchResult {
  manifests: number;
  touched: number;
  /** Delivery sent → every check run completed. */
  secondsToCompleted: number;
  /** Delivery sent → the job finished (review posted too). */
  secondsToIdle: number;
  annotations: number;
  checkRunUpdates: number;
  reviewComments: number;
  calls: Map<string, number>;
  writes: number;
  conclusion: string | null;
}

/** Loads the built App (dist/, as `npm start` runs it). */
async function dist<T>(path: string): Promise<T> {
  return (await import(new URL(`../dist/${path}`, import.meta.url).href)) as T;
}

export async function benchAppPullRequest(size: number, touched: number, templates: string): Promise<AppBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-bench-app-'));
  const fake = await FakeGitHub.start();
  const { startAppServer } = await dist<ServerModule>('github/server.js');
  const { readConfig } = await dist<ConfigModule>('config.js');
  const { startEngineRuntime } = await dist<RuntimeModule>('runtime.js');
  const config = readConfig(appEnvironment(fake, { PARAPET_CACHE_DIR: join(dir, 'cache') }));
  // No write pacing: plugin-throttling spaces writes a second apart against GitHub's secondary rate
  // limits, which the fake does not have; the writes are counted instead.
  const engine = startEngineRuntime(config.engine);
  const app = await startAppServer({ ...config, credentials: config.credentials!, server: { ...config.server, port: 0 } }, { engine, octokitOverrides: { throttle: { enabled: false } } });
  try {
    // Warm-up on a small repository with the same policies: the compile cache, as a running App has it.
    generateRepo(join(dir, 'warm'), 40, templates, CONSTRAINTS, 1);
    const warm = readTree(join(dir, 'warm'));
    fake.addCommit(REPO, sha('warm-base'), warm);
    fake.addCommit(REPO, sha('warm-head'), touch(warm, 4));
    await deliver(app.url, pullRequestPayload(fake, REPO, 'opened', sha('warm-base'), sha('warm-head'), 1));
    await app.jobs.idle();

    generateRepo(join(dir, 'repo'), size, templates, CONSTRAINTS, 1);
    const base = readTree(join(dir, 'repo'));
    const manifests = Object.keys(base).filter((p) => p.startsWith('cluster/namespaces/')).length;
    const head = touch(base, touched);
    const baseSha = sha(`base-${size}`);
    const headSha = sha(`head-${size}-${touched}`);
    fake.addCommit(REPO, baseSha, base);
    fake.addCommit(REPO, headSha, head);
    fake.reset();
    const payload = pullRequestPayload(fake, REPO, 'opened', baseSha, headSha, 2);

    const started = performance.now();
    await deliver(app.url, payload);
    let secondsToCompleted = Number.NaN;
    for (;;) {
      const runs = fake.checkRuns.filter((r) => r.head_sha === headSha);
      if (runs.length > 0 && runs.every((r) => r.status === 'completed')) {
        secondsToCompleted = (performance.now() - started) / 1000;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await app.jobs.idle();
    const secondsToIdle = (performance.now() - started) / 1000;

    const calls = new Map<string, number>();
    for (const r of fake.requests) {
      const endpoint = `${r.method} ${r.path.replace(`/repos/${REPO}`, '/repos/{owner}/{repo}').replace(/[0-9a-f]{40}/g, '{sha}').replace(/\/\d+(?=\/|$)/g, '/{n}').replace(/^\/_codeload\/.*/, '(codeload redirect target)')}`;
      calls.set(endpoint, (calls.get(endpoint) ?? 0) + 1);
    }
    const runs = fake.checkRuns.filter((r) => r.head_sha === headSha);
    return {
      manifests,
      touched,
      secondsToCompleted,
      secondsToIdle,
      annotations: runs.reduce((n, r) => n + r.annotations.length, 0),
      checkRunUpdates: runs.reduce((n, r) => n + r.updates, 0),
      reviewComments: fake.reviewComments.length,
      calls,
      writes: fake.requests.filter((r) => r.method !== 'GET' && r.path.startsWith('/repos/')).length,
      conclusion: runs[0]?.conclusion ?? null,
    };
  } finally {
    await app.close();
    await engine.close();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function deliver(url: string, payload: unknown): Promise<void> {
  const response = await deliverWebhook(`${url}/api/github/webhooks`, 'pull_request', payload, WEBHOOK_SECRET);
  if (response.status !== 200) throw new Error(`the App answered the delivery with ${response.status}: ${response.text}`);
}

/**
 * The tree with `count` manifests, spread evenly, changed: each gets a comment line, and its
 * containers (if any) may now escalate privileges and use the `latest` tag.
 */
function touch(tree: Record<string, string>, count: number): Record<string, string> {
  const manifests = Object.keys(tree)
    .filter((p) => p.startsWith('cluster/namespaces/'))
    .sort();
  const step = manifests.length / count;
  const changed = { ...tree };
  for (let i = 0; i < count; i++) {
    const path = manifests[Math.floor(i * step)]!;
    changed[path] = `${tree[path]!.replace(/allowPrivilegeEscalation: false/g, 'allowPrivilegeEscalation: true').replace(/(image: [^\s:]+):\S+/, '$1:latest')}# changed by the benchmark's pull request\n`;
  }
  return changed;
}

