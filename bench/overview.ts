// The overview under load: 50,000 image-inventory rows across 20 clusters (quick: 5,000), with
// default-branch and pull-request evaluations, a risk register, Application stages and the
// compliance pages' policies (50 per cluster) and history (bench/compliance.ts), a signed-in
// user, and the p50/p95 latency of each page and API route, unfiltered, filtered and paged.
// On the embedded PGlite by default; on a PostgreSQL server when given its URL.
import type { Violation } from '../src/engine/index.js';
import { replaceApplicationStages } from '../src/store/cluster-config.js';
import type { PrismaClient } from '@prisma/client';
import type { DatabaseConfig } from '../src/store/database.js';
import { recordEvaluation } from '../src/store/evaluations.js';
import { replaceInventory, type ImageUseInput } from '../src/store/inventory.js';
import { upsertInstallation, upsertRepository } from '../src/store/repositories.js';
import { syncRiskAcceptances, type RiskAcceptanceInput } from '../src/store/risk-acceptances.js';
import { signIn, startHarness } from '../test/web/harness.js';
import { complianceRoutes, seedCompliance } from './compliance.js';
import { benchRecording, historyRoutes, seedHistory } from './history.js';

export interface OverviewFigures {
  rows: number;
  clusters: number;
  seedSeconds: number;
  /** Route → [p50, p95] in milliseconds. */
  latencies: Map<string, [number, number]>;
  /** Seconds to record a cluster's first 1,000 objects, then the changes of a push modifying all of them. */
  recording: { first: number; push: number; changes: number };
}

const IMAGES = ['nginx', 'redis', 'postgres', 'ghcr.io/acme/api', 'ghcr.io/acme/web', 'quay.io/prometheus/node-exporter', 'busybox', 'envoyproxy/envoy'];
const NAMESPACES = 40;
const POLICIES = ['k8spspprivilegedcontainer', 'k8srequiredprobes', 'k8sdisallowedtags', 'k8scontainerlimits'];

/**
 * The routes timed, in order: every page and list of the overview, unfiltered and filtered, and the
 * containers list in its middle page (100 containers a page) and deep in a search.
 */
export function overviewRoutes(rows: number): string[] {
  return [
    '/',
    '/api/images',
    '/?cluster=cluster-3',
    '/api/images?image=nginx',
    '/?q=acme',
    `/?policy=${POLICIES[0]}`,
    '/containers',
    `/api/containers?page=${Math.max(1, Math.floor(rows / 200))}`,
    '/containers?q=app-1&page=3',
    '/risks',
    '/evaluations',
    '/stages',
    ...complianceRoutes(),
    ...historyRoutes(),
  ];
}

/** Requests per route before the timed ones: the first ones plan queries and warm the JIT. */
export const WARM_UP = 2;

function violation(cluster: number, i: number, policy: string): Violation {
  const name = `app-${i}`;
  const namespace = `team-${i % NAMESPACES}`;
  return {
    cluster: `cluster-${cluster}`,
    policy,
    constraint: `${policy}-constraint`,
    enforcementAction: 'deny',
    message: `container <main> of ${name} violates ${policy}`,
    details: {},
    location: { file: `clusters/cluster-${cluster}/${namespace}/${name}.yaml`, line: 18 },
    object: { apiVersion: 'apps/v1', kind: i % 3 ? 'Deployment' : 'StatefulSet', name, namespace },
    acceptance: null,
    status: 'existing',
  };
}

async function seed(prisma: PrismaClient, rows: number, clusters: number): Promise<number> {
  await upsertInstallation(prisma, { id: 1, accountLogin: 'acme', accountType: 'Organization' });
  await upsertRepository(prisma, { id: 1, installationId: 1, owner: 'acme', name: 'gitops' });
  const perCluster = Math.ceil(rows / clusters);
  const at = new Date('2026-11-20T10:00:00Z');
  const acceptances: RiskAcceptanceInput[] = [];
  for (let c = 0; c < clusters; c++) {
    const images: ImageUseInput[] = Array.from({ length: perCluster }, (_, i) => ({
      namespace: `team-${i % NAMESPACES}`,
      workloadKind: i % 3 ? 'Deployment' : 'StatefulSet',
      workloadName: `app-${i}`,
      container: i % 2 ? 'main' : 'sidecar',
      image: `${IMAGES[i % IMAGES.length]}:1.${(i + c) % 30}.${c % 5}${i % 7 === 0 ? '-alpine' : ''}`,
      file: `clusters/cluster-${c}/team-${i % NAMESPACES}/app-${i}.yaml`,
      line: 20 + (i % 2) * 12,
    }));
    const sha = `${c}`.padEnd(40, '0');
    await replaceInventory(prisma, { repositoryId: 1, cluster: `cluster-${c}`, commitSha: sha, observedAt: at, images });
    // The cluster's default-branch evaluation: 100 violations, a quarter of each policy.
    const violations = Array.from({ length: 100 }, (_, i) => violation(c, i * 7, POLICIES[i % POLICIES.length]!));
    await recordEvaluation(prisma, { repositoryId: 1, sha, ref: 'main', cluster: `cluster-${c}`, conclusion: 'failure', observedAt: at, startedAt: at, violations });
    // Five pull requests per cluster, five violations each.
    for (let pr = 0; pr < 5; pr++) {
      const number = c * 5 + pr + 1;
      const prViolations = Array.from({ length: 5 }, (_, i) => ({ ...violation(c, i * 11 + pr, POLICIES[(i + pr) % POLICIES.length]!), status: 'new' as const }));
      await recordEvaluation(prisma, { repositoryId: 1, sha: `${number}`.padStart(40, 'f'), pullRequestNumber: number, cluster: `cluster-${c}`, conclusion: 'failure', observedAt: at, startedAt: at, violations: prViolations });
    }
    for (let i = 0; i < 25; i++) {
      const v = violation(c, i * 13, POLICIES[i % POLICIES.length]!);
      acceptances.push({ cluster: v.cluster, policy: v.policy, object: v.object, level: 'object', reason: `accepted for ${v.object.name}: vendor image, ticket SEC-${c * 100 + i}`, file: v.location.file, line: 4 });
    }
  }
  await syncRiskAcceptances(prisma, { repositoryId: 1, commitSha: 'a'.repeat(40), seenAt: at, acceptances });
  // Five Applications promoted across four clusters each, a namespace per stage.
  const stages = Array.from({ length: 5 }, (_, a) =>
    Array.from({ length: 4 }, (_, s) => ({
      application: `app-${a}`,
      stage: ['dev', 'test', 'staging', 'prod'][s]!,
      cluster: `cluster-${(a + s * 5) % clusters}`,
      resourcesPath: `clusters/cluster-${(a + s * 5) % clusters}/team-${a}`,
      targetNamespace: `team-${a}`,
      previousStage: s > 0 ? ['dev', 'test', 'staging'][s - 1]! : null,
    })),
  ).flat();
  await replaceApplicationStages(prisma, { repositoryId: 1, commitSha: 'a'.repeat(40), observedAt: at, stages });
  await seedCompliance(prisma, clusters, at);
  await seedHistory(prisma, clusters, at);
  return perCluster * clusters;
}

export async function benchOverview(rows: number, clusters: number, requests: number, database: DatabaseConfig = { dataDir: 'memory://' }): Promise<OverviewFigures> {
  let seededRows = 0;
  let seedSeconds = 0;
  let recording = { first: 0, push: 0, changes: 0 };
  const h = await startHarness({
    database,
    users: [{ login: 'ops', repos: [1] }],
    seed: async (db) => {
      const seeded = performance.now();
      seededRows = await seed(db.prisma, rows, clusters);
      seedSeconds = (performance.now() - seeded) / 1000;
      recording = await benchRecording(db.prisma, new Date('2026-11-20T10:00:00Z'));
    },
  });
  try {
    const client = await signIn(h, 'ops');
    const latencies = new Map<string, [number, number]>();
    for (const route of overviewRoutes(rows)) {
      const times: number[] = [];
      for (let i = 0; i < WARM_UP + requests; i++) {
        const started = performance.now();
        const res = await client.fetch(route);
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`${route} answered ${res.status}`);
        if (i >= WARM_UP) times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      latencies.set(route, [times[Math.floor(times.length * 0.5)]!, times[Math.min(times.length - 1, Math.ceil(times.length * 0.95) - 1)]!]);
    }
    return { rows: seededRows, clusters, seedSeconds, latencies, recording };
  } finally {
    await h.close();
  }
}
