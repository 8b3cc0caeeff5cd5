// Writes a synthetic Security Tower repository: N objects of mixed workload kinds across namespaces,
// with the test templates and constraints as its policies. Deterministic for a given size.
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

const KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Pod', 'Service', 'Ingress', 'ConfigMap', 'ReplicaSet'] as const;
const NAMESPACES = 40;

export interface GeneratedRepo {
  objects: number;
  workloads: number;
  constraints: number;
}

/** `policiesFrom` holds template folders (template.yaml + samples/<x>/constraint.yaml). */
/** `perFile`: objects per manifest file (4 by default; 1 writes one manifest per object). */
export function generateRepo(dir: string, size: number, policiesFrom: string, constraintCount: number, perFile = 4): GeneratedRepo {
  mkdirSync(join(dir, '.securitytower'), { recursive: true });
  writeFileSync(
    join(dir, '.securitytower', 'cluster.yaml'),
    stringify({
      apiVersion: 'securitytower.io/v1alpha1',
      kind: 'Cluster',
      metadata: { name: 'bench' },
      spec: { policies: { path: 'cluster/policies' }, namespaces: [{ path: 'cluster/namespace-specs' }] },
    }),
  );
  const constraints = copyPolicies(policiesFrom, join(dir, 'cluster', 'policies'), constraintCount);
  for (let n = 0; n < NAMESPACES; n++) {
    const ns = `team-${n}`;
    mkdirSync(join(dir, 'cluster', 'namespace-specs', ns), { recursive: true });
    writeFileSync(
      join(dir, 'cluster', 'namespace-specs', ns, 'namespace.yaml'),
      stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { team: ns, environment: n % 3 === 0 ? 'production' : 'staging' } } }),
    );
  }
  let workloads = 0;
  for (let i = 0; i < size; i += perFile) {
    const ns = `team-${i % NAMESPACES}`;
    const folder = join(dir, 'cluster', 'namespaces', ns);
    mkdirSync(folder, { recursive: true });
    const docs: string[] = [];
    for (let j = i; j < Math.min(size, i + perFile); j++) {
      const kind = KINDS[j % KINDS.length]!;
      if (!['Service', 'Ingress', 'ConfigMap'].includes(kind)) workloads++;
      docs.push(stringify(object(kind, j, ns)));
    }
    writeFileSync(join(folder, `app-${i}.yaml`), docs.join('---\n'));
  }
  return { objects: size + NAMESPACES, workloads, constraints };
}

function object(kind: (typeof KINDS)[number], i: number, namespace: string): Record<string, unknown> {
  const name = `app-${i}`;
  const labels: Record<string, string> = { app: name, tier: i % 2 ? 'web' : 'batch' };
  if (i % 3) labels.owner = `team-${i % 7}`;
  const image = i % 5 === 0 ? `nginx:latest` : i % 5 === 1 ? `registry.example.com/app/${name}:1.${i % 20}.0` : `ghcr.io/example/${name}:2.${i % 9}`;
  const container = {
    name: 'main',
    image,
    ports: [{ containerPort: 8080 }],
    resources: i % 4 ? { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '100m', memory: '128Mi' } } : undefined,
    securityContext: i % 6 === 0 ? { privileged: true } : { runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: i % 2 === 0 },
  };
  const sidecar = { name: 'proxy', image: `envoyproxy/envoy:v1.${28 + (i % 3)}.0`, resources: { limits: { cpu: '100m', memory: '64Mi' } } };
  const pod = { metadata: { labels }, spec: { containers: [container, sidecar], initContainers: i % 4 === 0 ? [{ name: 'init', image: 'busybox:1.36' }] : undefined } };
  const meta = { name, namespace, labels };
  switch (kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
      return { apiVersion: 'apps/v1', kind, metadata: meta, spec: { replicas: kind === 'DaemonSet' ? undefined : 2 + (i % 3), selector: { matchLabels: { app: name } }, template: pod } };
    case 'Job':
      return { apiVersion: 'batch/v1', kind, metadata: meta, spec: { template: { ...pod, spec: { ...pod.spec, restartPolicy: 'Never' } } } };
    case 'CronJob':
      return { apiVersion: 'batch/v1', kind, metadata: meta, spec: { schedule: '0 * * * *', jobTemplate: { spec: { template: { ...pod, spec: { ...pod.spec, restartPolicy: 'OnFailure' } } } } } };
    case 'Pod':
      return { apiVersion: 'v1', kind, metadata: meta, spec: pod.spec };
    case 'Service':
      return { apiVersion: 'v1', kind, metadata: meta, spec: { selector: { app: `app-${i - 1}` }, ports: [{ port: 80, targetPort: 8080 }] } };
    case 'Ingress':
      return {
        apiVersion: 'networking.k8s.io/v1',
        kind,
        metadata: meta,
        spec: { rules: [{ host: `${name}.example.com`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name, port: { number: 80 } } } }] } }] },
      };
    case 'ConfigMap':
      return { apiVersion: 'v1', kind, metadata: meta, data: { 'config.yaml': `replicas: ${i}\n` } };
  }
}

/**
 * Copies every non-referential template and cycles through the valid constraints its gator suite
 * uses (tests not marked `invalid`) until `count` constraints exist.
 */
function copyPolicies(from: string, to: string, count: number): number {
  mkdirSync(join(to, 'constraint-templates'), { recursive: true });
  mkdirSync(join(to, 'constraints'), { recursive: true });
  const constraints: string[] = [];
  for (const name of readdirSync(from).sort()) {
    let suite: { tests?: Array<{ template?: string; constraint?: string; invalid?: boolean; skip?: boolean }> };
    try {
      suite = parse(readFileSync(join(from, name, 'suite.yaml'), 'utf8')) as typeof suite;
    } catch {
      continue;
    }
    const tests = (suite.tests ?? []).filter((t) => !t.invalid && !t.skip && t.template && t.constraint);
    if (tests.length === 0) continue;
    // Referential templates scan the inventory on every evaluation: their cost grows with the square
    // of the repository, in Gatekeeper as here, and would hide whether the engine itself is linear.
    if (readFileSync(join(from, name, tests[0]!.template!), 'utf8').includes('data.inventory')) continue;
    cpSync(join(from, name, tests[0]!.template!), join(to, 'constraint-templates', `${name}-template.yaml`));
    for (const path of new Set(tests.map((t) => t.constraint!))) constraints.push(readFileSync(join(from, name, path), 'utf8'));
  }
  let written = 0;
  for (let i = 0; written < count && constraints.length > 0; i++) {
    const round = Math.floor(i / constraints.length);
    // Each copy gets its own name so several constraints of one kind coexist.
    const renamed = constraints[i % constraints.length]!.replace(/^(  name:\s*)(\S+)\s*$/m, (_m, prefix: string, name: string) => `${prefix}${name}-${round}`);
    writeFileSync(join(to, 'constraints', `constraint-${i}.yaml`), renamed);
    written++;
  }
  return written;
}
