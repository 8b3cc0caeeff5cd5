// The overview under load: 50,000 image-inventory rows across 20 clusters (quick: 5,000), a signed-in
// user, and the p95 latency of the page and of the JSON API, unfiltered and filtered.
import { openDatabase } from '../src/store/database.js';
import { replaceInventory, type ImageUseInput } from '../src/store/inventory.js';
import { upsertInstallation, upsertRepository } from '../src/store/repositories.js';
import { startWebServer } from '../src/web/server.js';
import type { WebConfig } from '../src/web/web-config.js';
import { startFakeGitHubOAuth } from '../test/helpers/fake-github-oauth.js';
import { Client } from '../test/web/harness.js';

export interface OverviewFigures {
  rows: number;
  clusters: number;
  seedSeconds: number;
  /** Route → [p50, p95] in milliseconds. */
  latencies: Map<string, [number, number]>;
}

const IMAGES = ['nginx', 'redis', 'postgres', 'ghcr.io/acme/api', 'ghcr.io/acme/web', 'quay.io/prometheus/node-exporter', 'busybox', 'envoyproxy/envoy'];

export async function benchOverview(rows: number, clusters: number, requests: number): Promise<OverviewFigures> {
  const db = await openDatabase({ dataDir: 'memory://' });
  const github = await startFakeGitHubOAuth([{ login: 'ops', repos: [1] }]);
  const config: WebConfig = {
    oauth: { clientId: github.clientId, clientSecret: github.clientSecret },
    sessionSecret: 'bench-secret-bench-secret-bench-secret-0',
    publicUrl: 'http://127.0.0.1:0',
    repoCacheMs: 60_000,
    sessionMaxAgeMs: 3600_000,
  };
  const web = await startWebServer({ db, config, github: { webUrl: github.url, apiUrl: github.url }, logError: () => {} });
  config.publicUrl = web.url;
  try {
    const seeded = performance.now();
    await upsertInstallation(db.prisma, { id: 1, accountLogin: 'acme', accountType: 'Organization' });
    await upsertRepository(db.prisma, { id: 1, installationId: 1, owner: 'acme', name: 'gitops' });
    const perCluster = Math.ceil(rows / clusters);
    for (let c = 0; c < clusters; c++) {
      const images: ImageUseInput[] = Array.from({ length: perCluster }, (_, i) => ({
        namespace: `team-${i % 40}`,
        workloadKind: i % 3 ? 'Deployment' : 'StatefulSet',
        workloadName: `app-${i}`,
        container: i % 2 ? 'main' : 'sidecar',
        image: `${IMAGES[i % IMAGES.length]}:1.${(i + c) % 30}.${c % 5}${i % 7 === 0 ? '-alpine' : ''}`,
      }));
      await replaceInventory(db.prisma, { repositoryId: 1, cluster: `cluster-${c}`, commitSha: `${c}`.padEnd(40, '0'), observedAt: new Date(), images });
    }
    const seedSeconds = (performance.now() - seeded) / 1000;

    github.signInAs('ops');
    const client = new Client(web.url);
    const login = await client.fetch('/auth/login?next=/');
    const authorize = await client.fetch(login.headers.get('location')!);
    await client.fetch(authorize.headers.get('location')!);

    const routes = ['/', '/api/images', '/?cluster=cluster-3', '/api/images?image=nginx', '/?q=acme'];
    const latencies = new Map<string, [number, number]>();
    for (const route of routes) {
      const times: number[] = [];
      for (let i = 0; i < requests; i++) {
        const started = performance.now();
        const res = await client.fetch(route);
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`${route} answered ${res.status}`);
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      latencies.set(route, [times[Math.floor(times.length * 0.5)]!, times[Math.min(times.length - 1, Math.ceil(times.length * 0.95) - 1)]!]);
    }
    return { rows: perCluster * clusters, clusters, seedSeconds, latencies };
  } finally {
    await web.close();
    await github.close();
    await db.close();
  }
}
