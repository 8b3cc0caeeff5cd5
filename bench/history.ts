// The history's share of the overview benchmark: 10,000 objects of history (20 clusters × 500
// objects, each modified once after its cluster's first state: image, replicas or resources), and
// the time to record the changes of one 1,000-object push (every object modified) through the
// store, as the App records a push (target: under 2 s).
import type { PrismaClient } from '@prisma/client';
import type { AppliedObject } from '../src/engine/index.js';
import { recordObjectChanges, UNATTRIBUTED } from '../src/store/changes.js';

const PER_CLUSTER = 500;

export function historyRoutes(): string[] {
  return [
    '/changes',
    '/api/changes',
    '/changes?field=image',
    '/api/changes?kind=Deployment&change=modified&cluster=cluster-3',
    '/changes?person=dana&page=20',
    '/changes/object?repo=acme%2Fgitops&cluster=cluster-3&kind=Deployment&namespace=team-1&name=app-1',
  ];
}

function objects(count: number, version: number): AppliedObject[] {
  return Array.from({ length: count }, (_, i) => {
    const changed = version > 0 ? i % 3 : -1;
    return {
      object: {
        apiVersion: 'apps/v1',
        kind: i % 4 ? 'Deployment' : 'StatefulSet',
        metadata: { name: `app-${i}`, namespace: `team-${i % 40}`, labels: { app: `app-${i}`, owner: `team-${i % 40}` } },
        spec: {
          replicas: changed === 1 ? 3 : 2,
          selector: { matchLabels: { app: `app-${i}` } },
          template: {
            metadata: { labels: { app: `app-${i}` } },
            spec: {
              containers: [
                { name: 'main', image: `ghcr.io/acme/app-${i % 50}:1.${changed === 0 ? version + 1 : 0}.0`, resources: { limits: { cpu: changed === 2 ? '750m' : '500m', memory: '256Mi' } }, env: [{ name: 'MODE', value: 'production' }] },
                { name: 'proxy', image: 'envoyproxy/envoy:v1.30.1', securityContext: { runAsNonRoot: true } },
              ],
            },
          },
        },
      },
      location: { file: `clusters/team-${i % 40}/app-${i}.yaml`, line: 2 },
    } as AppliedObject;
  });
}

/** 10,000 changes of history across `clusters` clusters of repository 1. */
export async function seedHistory(prisma: PrismaClient, clusters: number, at: Date): Promise<void> {
  const perCluster = Math.ceil(10_000 / clusters);
  for (let c = 0; c < clusters; c++) {
    const input = { repositoryId: 1, cluster: `cluster-${c}`, applications: [], attribution: UNATTRIBUTED };
    await recordObjectChanges(prisma, { ...input, commitSha: `${c}`.padEnd(40, '1'), at: new Date(at.getTime() - 10 * 86_400_000), objects: objects(perCluster, 0) });
    await recordObjectChanges(prisma, {
      ...input,
      commitSha: `${c}`.padEnd(40, '2'),
      at: new Date(at.getTime() - (c + 1) * 3_600_000),
      objects: objects(perCluster, 1),
      attribution: { pullRequest: 100 + c, openedBy: c % 2 ? 'dana' : 'erin', mergedBy: 'erin', pushedBy: 'erin' },
    });
  }
}

/** Seconds to record a push modifying every one of 1,000 objects of a cluster, and to record its first state. */
export async function benchRecording(prisma: PrismaClient, at: Date): Promise<{ first: number; push: number; changes: number }> {
  const input = { repositoryId: 1, cluster: 'cluster-recorded', applications: [], attribution: UNATTRIBUTED };
  let started = performance.now();
  await recordObjectChanges(prisma, { ...input, commitSha: 'f'.repeat(40), at: new Date(at.getTime() - 60_000), objects: objects(1000, 0) });
  const first = (performance.now() - started) / 1000;
  started = performance.now();
  const result = await recordObjectChanges(prisma, { ...input, commitSha: 'e'.repeat(40), at, objects: objects(1000, 1) });
  return { first, push: (performance.now() - started) / 1000, changes: result.changes };
}

export { PER_CLUSTER };
