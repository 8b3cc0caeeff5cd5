// A repository judged by gatekeeper-library templates (test/fixtures/gatekeeper-library): generated
// workloads plus every sample object, with every sample constraint. The CEL differential test and
// the CEL timing compare gator and Parapet on it.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { gvkOf, ScopeTable } from '../src/engine/repo/kubernetes.js';
import { generateRepo } from './generate-repo.js';

export function files(dir: string, match: (name: string) => boolean): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? files(path, match) : match(entry.name) ? [path] : [];
  });
}

/** Samples hold their constraints in constraint.yaml, and some also in constraint2.yaml and so on. */
const isConstraintFile = (name: string) => /^constraint\d*\.yaml$/.test(name);

/**
 * A repository of `size` generated objects judged by the library's templates (in `library`, one
 * folder or several) and all their sample constraints, plus, unless `samples` is false, each
 * template's sample objects (renamed so that none collide).
 */
export function libraryRepo(dir: string, size: number, library: string | readonly string[], options: { samples?: boolean } = {}): void {
  // The generator's own policies come from an empty folder: these are the library's.
  generateRepo(dir, size, mkdtempSync(join(tmpdir(), 'parapet-no-policies-')), 0);
  const named = { count: 0 };
  for (const folder of typeof library === 'string' ? [library] : library) addLibrary(dir, folder, options.samples ?? true, named);
  writeFileSync(join(dir, 'cluster', 'namespaces', 'referential.yaml'), referentialObjects().map((o) => stringify(o)).join('---\n'));
}

/**
 * Objects that give the library's referential templates (their Rego reads data.inventory) hits and
 * misses the generated workloads do not: a host two Ingresses share across namespaces, Services
 * with one selector (in any namespace) and one with its own, a StorageClass that PVCs and a StatefulSet
 * name or miss, a PodDisruptionBudget that allows no disruption, and HorizontalPodAutoscalers in,
 * out of and without a target.
 */
function referentialObjects(): Array<Record<string, unknown>> {
  const meta = (name: string, namespace?: string, labels?: Record<string, string>) => ({ name, ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}) });
  const ingress = (name: string, namespace: string, host: string) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: meta(name, namespace),
    spec: { rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name, port: { number: 80 } } } }] } }] },
  });
  const service = (name: string, namespace: string, selector: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Service', metadata: meta(name, namespace), spec: { selector, ports: [{ port: 80 }] } });
  const pvc = (name: string, storageClassName?: string) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: meta(name, 'team-5'),
    spec: { ...(storageClassName ? { storageClassName } : {}), accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  const deployment = (name: string, replicas: number) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(name, 'team-6', { app: name }),
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: `registry.example.com/app/${name}:1.0.0` }] } } },
  });
  const pdb = (name: string, app: string, budget: Record<string, number>) => ({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: meta(name, 'team-6'), spec: { ...budget, selector: { matchLabels: { app } } } });
  const hpa = (name: string, target: string, minReplicas: number, maxReplicas: number) => ({
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: meta(name, 'team-6'),
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target }, minReplicas, maxReplicas },
  });
  return [
    ingress('shared-host-a', 'team-1', 'shared.example.com'),
    ingress('shared-host-b', 'team-2', 'shared.example.com'),
    ingress('own-host', 'team-2', 'own.example.com'),
    service('twin-a', 'team-3', { app: 'twin' }),
    service('twin-b', 'team-3', { app: 'twin' }),
    service('twin-elsewhere', 'team-4', { app: 'twin' }),
    service('single', 'team-4', { app: 'single' }),
    { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: meta('fast'), provisioner: 'example.com/disk' },
    pvc('data-fast', 'fast'),
    pvc('data-slow', 'slow'),
    pvc('data-default'),
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: meta('store', 'team-5', { app: 'store' }),
      spec: {
        serviceName: 'store',
        selector: { matchLabels: { app: 'store' } },
        template: { metadata: { labels: { app: 'store' } }, spec: { containers: [{ name: 'main', image: 'registry.example.com/app/store:1.0.0' }] } },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { storageClassName: 'fast', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      },
    },
    deployment('guarded', 3),
    pdb('guarded', 'guarded', { maxUnavailable: 0 }),
    deployment('relaxed', 3),
    pdb('relaxed', 'relaxed', { minAvailable: 1 }),
    hpa('in-range', 'relaxed', 3, 6),
    hpa('too-narrow', 'relaxed', 4, 4),
    hpa('too-wide', 'guarded', 1, 10),
    hpa('no-target', 'missing', 3, 6),
  ];
}

function addLibrary(dir: string, library: string, withSamples: boolean, named: { count: number }): void {
  const policies = join(dir, 'cluster', 'policies');
  // Every namespaced sample object in `default`, where the library's samples live and several of its
  // sample constraints look (`namespaces: ["default"]`), declared so that gator knows it as Parapet
  // does; named by its order so none collide. Cluster-scoped ones get none: the API server would
  // drop it before Gatekeeper (and Parapet, which warns) sees the object, while gator would keep it.
  const scopes = new ScopeTable();
  const samples = join(dir, 'cluster', 'namespaces', 'samples');
  if (withSamples) {
    mkdirSync(samples, { recursive: true });
    writeFileSync(join(samples, 'namespace.yaml'), stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }));
  }
  for (const template of files(library, (name) => name === 'template.yaml')) {
    const folder = join(template, '..');
    const name = relative(library, folder).replaceAll('/', '-');
    cpSync(template, join(policies, 'constraint-templates', `${name}-template.yaml`));
    for (const constraint of files(join(folder, 'samples'), isConstraintFile)) {
      // Samples of one template reuse constraint names; in one cluster each needs its own.
      const sample = relative(join(folder, 'samples'), constraint).replace(/\/constraint\.yaml$/, '').replace(/\.yaml$/, '').replaceAll('/', '-');
      const value = parseAllDocuments(readFileSync(constraint, 'utf8'))[0]!.toJS() as { metadata: { name: string } };
      value.metadata.name = `${relative(library, folder).split('/').pop()}-${sample}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, 63).replace(/-+$/, '');
      writeFileSync(join(policies, 'constraints', `${name}-${sample}.yaml`), stringify(value));
    }
    if (!withSamples) continue;
    for (const sample of files(join(folder, 'samples'), (file) => !isConstraintFile(file) && /\.ya?ml$/.test(file))) {
      const objects = parseAllDocuments(readFileSync(sample, 'utf8')).map((doc) => doc.toJS() as Record<string, unknown>);
      const tag = relative(library, sample).replace(/\.ya?ml$/, '').replace(/[^a-z0-9]+/gi, '-').toLowerCase();
      const renamed = objects
        .filter((o) => o && o.kind !== 'AdmissionReview')
        .map((o) => {
          const metadata: Record<string, unknown> = { ...(o.metadata as Record<string, unknown>), name: `sample-${++named.count}` };
          if (scopes.isClusterScoped(gvkOf(o as { apiVersion: string; kind: string }))) delete metadata.namespace;
          else metadata.namespace = 'default';
          return { ...o, metadata };
        });
      if (renamed.length > 0) writeFileSync(join(samples, `${tag}.yaml`), renamed.map((o) => stringify(o)).join('---\n'));
    }
  }
}
