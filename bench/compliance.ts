// The compliance pages' share of the overview benchmark: every cluster enables 50 policies (the
// library's 35 and 15 of its own, actions and parameters differing between clusters) and has 30
// earlier default-branch evaluations and inventory counts over the last 90 days behind its newest
// one, so the matrix, the comparison and the trends read what a year of pushes leaves.
import type { PrismaClient } from '@prisma/client';
import type { EnabledPolicy } from '../src/engine/index.js';
import { loadCatalog } from '../src/library/catalog.js';
import { replaceClusterConfig } from '../src/store/cluster-config.js';

export const POLICIES_PER_CLUSTER = 50;
const HISTORY = 30;

export function complianceRoutes(): string[] {
  const compare = 'a=acme%2Fgitops%3Acluster-3&b=acme%2Fgitops%3Acluster-4';
  return ['/compliance', '/api/compliance', '/compliance?standard=k8s/restricted&differences=1', `/compliance/compare?${compare}`, `/api/compliance/compare?${compare}`, '/compliance/trends', '/api/compliance/trends', '/violations?cluster=cluster-3'];
}

/** Cluster configurations with their policies, and their history; `at` is the newest evaluation's time. */
export async function seedCompliance(prisma: PrismaClient, clusters: number, at: Date): Promise<void> {
  const library = (await loadCatalog()).policies.map((p) => p.name);
  const custom = Array.from({ length: POLICIES_PER_CLUSTER - library.length }, (_, i) => `acmepolicy${i}`);
  for (let c = 0; c < clusters; c++) {
    const policies: EnabledPolicy[] = [...library, ...custom].map((template, i) => ({
      template,
      kind: template,
      constraint: template,
      enforcementAction: (i + c) % 7 === 0 ? 'warn' : (i + c) % 11 === 0 ? 'dryrun' : 'deny',
      parameters: { exemptImages: c % 3 === 0 ? [] : ['registry.example.com/agent'], limit: i },
      ...(i >= library.length ? { title: `Acme policy ${i - library.length}` } : {}),
    }));
    await replaceClusterConfig(prisma, {
      repositoryId: 1,
      cluster: `cluster-${c}`,
      commitSha: `${c}`.padEnd(40, '0'),
      observedAt: at,
      settings: { tenant: null, contactEmail: null, contactSlack: null, description: null, production: c % 4 === 0, securityLevel: null, geographicLocation: null, costCenter: null },
      // A few policies fewer in odd clusters: the matrix has enabled and missing cells.
      policies: c % 2 ? policies.slice(0, POLICIES_PER_CLUSTER - 5) : policies,
    });
  }
  const ids = await prisma.cluster.findMany({ where: { repositoryId: 1 }, select: { id: true, name: true } });
  const days = (n: number) => new Date(at.getTime() - n * 86_400_000);
  await prisma.evaluation.createMany({
    data: ids.flatMap((cluster) =>
      Array.from({ length: HISTORY }, (_, i) => ({
        repositoryId: 1n,
        sha: `${cluster.id}-${i}`.padEnd(40, 'e'),
        ref: 'main',
        clusterId: cluster.id,
        conclusion: 'failure',
        violationCount: 200 - i * 3,
        acceptedCount: 10 + (i % 5),
        observedAt: days(HISTORY - i + 1),
        startedAt: days(HISTORY - i + 1),
        finishedAt: days(HISTORY - i + 1),
      })),
    ),
  });
  await prisma.inventorySnapshot.createMany({
    data: ids.flatMap((cluster) =>
      Array.from({ length: HISTORY + 1 }, (_, i) => ({ clusterId: cluster.id, commitSha: `${cluster.id}-${i}`.padEnd(40, 'e'), observedAt: days(HISTORY - i), containers: 2500, outdated: 900 - i * 10, mutable: 2500 })),
    ),
  });
}
