// The App with its database: the default branch's inventory and risk register are recorded on a
// push and on installation, pull request evaluations are recorded, and a redelivered webhook is
// processed once, even by a restarted App.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../src/config.js';
import { startAppServer, type AppServer, type AppServerOptions } from '../../src/github/server.js';
import { createWebApp } from '../../src/web/app.js';
import { readWebConfig } from '../../src/web/web-config.js';
import { databaseRecorder } from '../../src/github/database-recorder.js';
import {
  clusterInventory,
  closeDatabase,
  openDatabase,
  riskRegister,
  type Database,
} from '../../src/store/index.js';
import { engine, testCacheDir } from '../helpers/engine.js';
import { appEnvironment, fixtureFiles, pullRequestPayload, sha, webhookExample, withRepository, WEBHOOK_SECRET } from '../helpers/fake-github-app.js';
import { deliverWebhook, FakeGitHub } from '../helpers/fake-github.js';

const REPO = 'example-org/shop-prod';

let fake: FakeGitHub;
let db: Database;

beforeAll(async () => {
  fake = await FakeGitHub.start();
  db = await openDatabase({ dataDir: 'memory://' });
}, 60_000);

afterAll(async () => {
  await fake?.close();
  if (db) await closeDatabase(db);
});


async function startApp(pages?: AppServerOptions['pages']): Promise<AppServer> {
  const config = readConfig({ ...appEnvironment(fake), PARAPET_CACHE_DIR: testCacheDir });
  const { compiler, pool } = engine();
  return startAppServer(
    { ...config, credentials: config.credentials!, server: { ...config.server, port: 0 } },
    { engine: { compiler, pool, close: async () => {} }, octokitOverrides: { throttle: { enabled: false } }, recorder: databaseRecorder(db), pages },
  );
}

function pushPayload(after: string): Record<string, any> {
  const payload = withRepository(structuredClone(webhookExample('push', undefined as unknown as string)) as Record<string, any>, REPO);
  payload.ref = 'refs/heads/main';
  payload.after = after;
  payload.deleted = false;
  payload.repository.default_branch = 'main';
  payload.head_commit = { ...(payload.head_commit ?? {}), id: after, timestamp: new Date().toISOString() };
  return payload;
}

async function repositoryId(): Promise<bigint> {
  const repository = await db.prisma.repository.findFirstOrThrow({ where: { owner: 'example-org', name: 'shop-prod' } });
  return repository.id;
}

describe('the App with its database', () => {
  it('records the default branch on a push: image inventory, risk register and evaluation', async () => {
    const app = await startApp();
    try {
      const commit = sha('main-1');
      fake.addCommit(REPO, commit, fixtureFiles('shop-cluster'));
      expect((await deliverWebhook(`${app.url}/api/github/webhooks`, 'push', pushPayload(commit), WEBHOOK_SECRET)).status).toBeLessThan(300);
      await app.jobs.idle();

      const id = await repositoryId();
      const images = await clusterInventory(db.prisma, id, 'shop-prod');
      expect(images.map((i) => `${i.namespace}/${i.workloadKind}/${i.workloadName}/${i.container} ${i.reference}`)).toContain(
        'shop/Deployment/storefront/metrics registry.example.com/tools/exporter:latest',
      );
      const register = await riskRegister(db.prisma, id);
      expect(register.map((r) => `${r.policy} ${r.level} ${r.reason.split('\n')[0]}`).sort()).toEqual([
        'enforceimageversion namespace Legacy tools are pinned by digest in the mirror; tags are not used here.',
        'preventprivileged object Reads host devices to attest the node.',
        'preventprivileged owner Attaches to other processes for incident response.',
        'preventprivileged podTemplate The card-reader sidecar needs device access; vendor ticket VEND-1234',
      ]);
      const evaluations = await db.prisma.evaluation.findMany({ where: { repositoryId: id, sha: commit } });
      expect(evaluations.map((e) => e.conclusion)).toEqual(['failure']);
    } finally {
      await app.close();
    }
  });

  it('processes a redelivered webhook once, even after a restart', async () => {
    const commit = sha('main-2');
    fake.addCommit(REPO, commit, fixtureFiles('shop-cluster'));
    const deliveryId = 'a-delivery-redelivered-after-a-restart';
    for (let attempt = 0; attempt < 2; attempt++) {
      const app = await startApp();
      try {
        await deliverWebhook(`${app.url}/api/github/webhooks`, 'push', pushPayload(commit), WEBHOOK_SECRET, { deliveryId });
        await app.jobs.idle();
      } finally {
        await app.close();
      }
    }
    expect(await db.prisma.evaluation.count({ where: { sha: commit } })).toBe(1);
  });

  it('records the default branch of every repository the App is installed on', async () => {
    const commit = sha('main-3');
    fake.addCommit(REPO, commit, fixtureFiles('shop-cluster'));
    fake.setBranch(REPO, 'main', commit);
    const payload = structuredClone(webhookExample('installation_repositories', 'added')) as Record<string, any>;
    payload.installation = { ...payload.installation, id: 4242, account: { ...payload.installation.account, login: 'example-org', type: 'Organization' } };
    // The same repository as the push deliveries above (its id is the example payload's).
    const { id } = (webhookExample('push', undefined as unknown as string) as { repository: { id: number } }).repository;
    payload.repositories_added = [{ id, name: 'shop-prod', full_name: REPO, private: false }];
    const app = await startApp();
    try {
      await deliverWebhook(`${app.url}/api/github/webhooks`, 'installation_repositories', payload, WEBHOOK_SECRET);
      await app.jobs.idle();
    } finally {
      await app.close();
    }
    expect(await db.prisma.evaluation.count({ where: { sha: commit, ref: 'main' } })).toBe(1);
  });

  it('records a pull request evaluation with its conclusion per cluster', async () => {
    const base = sha('pr-base');
    const head = sha('pr-head');
    fake.addCommit(REPO, base, fixtureFiles('shop-cluster'));
    fake.addCommit(REPO, head, { ...fixtureFiles('shop-cluster'), 'cluster/namespaces/shop/extra.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: shop\n' });
    const app = await startApp();
    try {
      await deliverWebhook(`${app.url}/api/github/webhooks`, 'pull_request', pullRequestPayload(fake, REPO, 'opened', base, head, 7), WEBHOOK_SECRET);
      await app.jobs.idle();
    } finally {
      await app.close();
    }
    const evaluations = await db.prisma.evaluation.findMany({ where: { sha: head } });
    expect(evaluations.map((e) => [e.pullRequestNumber, e.conclusion])).toEqual([[7, 'success']]);
  });

  it('serves the overview beside the webhooks, behind sign-in', async () => {
    const { config, github } = readWebConfig({ GITHUB_CLIENT_ID: 'client', GITHUB_CLIENT_SECRET: 'secret', SESSION_SECRET: 'a-session-secret-of-at-least-32-characters', GITHUB_API_URL: fake.url, GITHUB_URL: fake.url });
    const app = await startApp(createWebApp({ db, config, github }).handle);
    try {
      const api = await fetch(`${app.url}/api/images`);
      expect(api.status).toBe(401);
      const page = await fetch(`${app.url}/`, { redirect: 'manual' });
      expect(page.status).toBe(302);
      expect(page.headers.get('location')).toContain('/auth/login');
      // The webhooks are still answered on their path.
      expect((await deliverWebhook(`${app.url}/api/github/webhooks`, 'push', pushPayload(sha('main-1')), WEBHOOK_SECRET)).status).toBeLessThan(300);
      await app.jobs.idle();
    } finally {
      await app.close();
    }
  });
});
