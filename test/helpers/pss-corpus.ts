// Generated Pods for comparing Parapet's Pod Security Standards policies with Pod Security Admission:
// every field a PSA check reads, set to the values that sit on either side of each rule (allowed,
// forbidden, the version-gated ones, the user-namespace and Windows exemptions), alone and combined,
// on two bases (a bare Pod and one that meets Restricted), then wrapped in every kind PSA judges.
// Deterministic for a given seed.
import { seededRandom } from './seeded-random.js';

export type Json = Record<string, unknown>;

export interface PodCase {
  /** What was set, for the failure message. */
  label: string;
  metadata: Json;
  spec: Json;
}

type Slot = 'containers' | 'initContainers' | 'ephemeralContainers';
type Mutation = { label: string; apply: (pod: { metadata: Json; spec: Json }) => void };

const SLOTS: Slot[] = ['containers', 'initContainers', 'ephemeralContainers'];

function container(pod: { spec: Json }, slot: Slot): Json {
  const list = (pod.spec[slot] ??= [{ name: slot === 'containers' ? 'app' : slot === 'initContainers' ? 'init' : 'debug', image: 'registry.example.com/app:1.0.0' }]) as Json[];
  return list[0]!;
}

function securityContext(target: Json): Json {
  return (target.securityContext ??= {}) as Json;
}

function setIn(target: Json, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Json;
  node[path.at(-1)!] = value;
}

/** A mutation of the Pod's security context, and of each container slot's. */
function podAndContainers(label: string, path: string[], values: unknown[]): Mutation[] {
  return values.flatMap((value) => [
    { label: `pod ${path.join('.')}=${JSON.stringify(value)}`, apply: (pod: { spec: Json }) => setIn(securityContext(pod.spec), path, value) },
    ...containersOnly(label, path, [value]),
  ]);
}

function containersOnly(_label: string, path: string[], values: unknown[]): Mutation[] {
  return values.flatMap((value) =>
    SLOTS.map((slot) => ({ label: `${slot} ${path.join('.')}=${JSON.stringify(value)}`, apply: (pod: { spec: Json }) => setIn(securityContext(container(pod, slot)), path, value) })),
  );
}

function inContainers(label: string, apply: (c: Json) => void): Mutation[] {
  return SLOTS.map((slot) => ({ label: `${slot} ${label}`, apply: (pod: { spec: Json }) => apply(container(pod, slot)) }));
}

function podSpec(label: string, apply: (spec: Json) => void): Mutation {
  return { label, apply: (pod) => apply(pod.spec) };
}

const SYSCTLS = [
  'kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem', 'net.ipv4.tcp_slow_start_after_idle', 'net.ipv4.tcp_notsent_lowat',
  'net/ipv4/tcp_syncookies', 'kernel.msgmax', 'net.core.somaxconn', 'Kernel.shm_rmid_forced', 'net.ipv4.tcp_syncookies.',
];

const VOLUMES: Array<[string, Json]> = [
  ['configMap', { name: 'cm' }], ['secret', { secretName: 's' }], ['emptyDir', {}], ['projected', { sources: [] }], ['downwardAPI', { items: [] }],
  ['csi', { driver: 'csi.example.com' }], ['persistentVolumeClaim', { claimName: 'data' }], ['ephemeral', { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'] } } }],
  ['image', { reference: 'registry.example.com/data:1' }], ['hostPath', { path: '/var/log' }], ['hostPath', { path: '' }], ['nfs', { server: 'nfs.example.com', path: '/' }],
  ['gitRepo', { repository: 'https://example.com/r.git' }], ['iscsi', { targetPortal: '10.0.0.1', iqn: 'iqn.x', lun: 0 }], ['awsElasticBlockStore', { volumeID: 'vol-1' }],
  ['cephfs', { monitors: ['10.0.0.1'] }], ['azureDisk', { diskName: 'd', diskURI: 'u' }], ['fc', { lun: 1 }], ['rbd', { monitors: ['m'], image: 'i' }],
];

const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'];

const MUTATIONS: Mutation[] = [
  // Host namespaces, HostProcess
  ...['hostNetwork', 'hostPID', 'hostIPC'].flatMap((key) => [true, false].map((value) => podSpec(`${key}=${value}`, (spec) => void (spec[key] = value)))),
  ...podAndContainers('hostProcess', ['windowsOptions', 'hostProcess'], [true, false]),
  // Privileged, privilege escalation, capabilities
  ...containersOnly('privileged', ['privileged'], [true, false]),
  ...containersOnly('allowPrivilegeEscalation', ['allowPrivilegeEscalation'], [true, false]),
  ...containersOnly('capabilities', ['capabilities'], [
    { add: ['NET_BIND_SERVICE'] }, { add: ['CHOWN', 'KILL'] }, { add: ['SYS_ADMIN'] }, { add: ['NET_RAW'] }, { add: ['ALL'] }, { add: ['net_bind_service'] },
    { drop: ['ALL'] }, { drop: ['all'] }, { drop: ['NET_RAW'] }, { drop: ['ALL'], add: ['NET_BIND_SERVICE'] }, { drop: ['ALL'], add: ['SYS_TIME'] }, {},
  ]),
  // Volumes
  ...VOLUMES.map(([type, source]) => podSpec(`volume ${type}`, (spec) => void ((spec.volumes ??= []) as Json[]).push({ name: `v-${type}-${((spec.volumes as Json[]) ?? []).length}`, [type]: source }))),
  podSpec('volume configMap+hostPath', (spec) => void ((spec.volumes ??= []) as Json[]).push({ name: 'both', configMap: { name: 'c' }, hostPath: { path: '/etc' } })),
  // Host ports
  ...[0, 80, 8080].flatMap((hostPort) => inContainers(`hostPort=${hostPort}`, (c) => void (c.ports = [{ containerPort: 8080, hostPort }]))),
  // Two host ports that sort differently as text and as numbers, and a repeated one
  ...inContainers('hostPorts 9000, 10000, 9000', (c) => void (c.ports = [9000, 10000, 9000].map((hostPort, i) => ({ containerPort: 8080 + i, hostPort })))),
  // A second container in the same list, which sets nothing: messages name containers in list order
  podSpec('a second container', (spec) => void ((spec.containers ??= []) as Json[]).push({ name: 'sidecar', image: 'registry.example.com/sidecar:1.0.0' })),
  // Probe and lifecycle hosts
  ...PROBES.flatMap((probe) =>
    ['httpGet', 'tcpSocket'].flatMap((action) =>
      ['', 'evil.example.com'].flatMap((host) => inContainers(`${probe}.${action}.host=${JSON.stringify(host)}`, (c) => void (c[probe] = { [action]: { host, port: 8080 } }))),
    ),
  ),
  ...['postStart', 'preStop'].flatMap((hook) =>
    ['httpGet', 'tcpSocket'].flatMap((action) => inContainers(`lifecycle.${hook}.${action}.host=10.0.0.1`, (c) => void (c.lifecycle = { [hook]: { [action]: { host: '10.0.0.1', port: 80 } } }))),
  ),
  // AppArmor
  ...podAndContainers('appArmorProfile', ['appArmorProfile'], [{ type: 'RuntimeDefault' }, { type: 'Localhost', localhostProfile: 'p' }, { type: 'Unconfined' }, {}]),
  ...['runtime/default', 'localhost/p', 'unconfined', ''].map((value) => ({
    label: `apparmor annotation ${value}`,
    apply: (pod: { metadata: Json }) => setIn(pod.metadata, ['annotations', 'container.apparmor.security.beta.kubernetes.io/app'], value),
  })),
  // SELinux
  ...podAndContainers('seLinuxOptions', ['seLinuxOptions'], [
    { type: 'container_t' }, { type: 'container_engine_t' }, { type: 'spc_t' }, { user: 'system_u' }, { role: 'object_r' }, { level: 's0:c123,c456' }, { type: '' },
  ]),
  // /proc mount, user namespaces
  ...containersOnly('procMount', ['procMount'], ['Default', 'Unmasked']),
  ...[true, false].map((value) => podSpec(`hostUsers=${value}`, (spec) => void (spec.hostUsers = value))),
  // Seccomp
  ...podAndContainers('seccompProfile', ['seccompProfile'], [{ type: 'RuntimeDefault' }, { type: 'Localhost', localhostProfile: 'p.json' }, { type: 'Unconfined' }, { localhostProfile: 'p.json' }]),
  // Sysctls
  ...SYSCTLS.map((name) => podSpec(`sysctl ${name}`, (spec) => void ((securityContext(spec).sysctls ??= []) as Json[]).push({ name, value: '1' }))),
  // Non-root
  ...podAndContainers('runAsNonRoot', ['runAsNonRoot'], [true, false]),
  ...podAndContainers('runAsUser', ['runAsUser'], [0, 1000]),
  // Windows
  podSpec('os=windows', (spec) => void (spec.os = { name: 'windows' })),
  podSpec('os=linux', (spec) => void (spec.os = { name: 'linux' })),
  // Seccomp annotations that PSA stopped reading in 1.19
  { label: 'seccomp pod annotation unconfined', apply: (pod) => setIn(pod.metadata, ['annotations', 'seccomp.security.alpha.kubernetes.io/pod'], 'unconfined') },
];

/** A Pod that meets Restricted at every version. */
function restrictedBase(): { metadata: Json; spec: Json } {
  const locked = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } };
  return {
    metadata: {},
    spec: {
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{ name: 'app', image: 'registry.example.com/app:1.0.0', securityContext: structuredClone(locked) }],
      initContainers: [{ name: 'init', image: 'registry.example.com/init:1.0.0', securityContext: structuredClone(locked) }],
    },
  };
}

function bareBase(): { metadata: Json; spec: Json } {
  return { metadata: {}, spec: { containers: [{ name: 'app', image: 'registry.example.com/app:1.0.0' }] } };
}

/** Every mutation alone on each base, then `combined` Pods with two to four mutations each. */
export function podCases(combined: number, seed = 11): PodCase[] {
  const cases: PodCase[] = [];
  const build = (base: () => { metadata: Json; spec: Json }, baseName: string, mutations: Mutation[]) => {
    const pod = base();
    for (const mutation of mutations) mutation.apply(pod);
    cases.push({ label: `${baseName}: ${mutations.map((m) => m.label).join('; ') || 'nothing'}`, ...pod });
  };
  for (const base of [bareBase, restrictedBase]) {
    build(base, base === bareBase ? 'bare' : 'restricted', []);
    for (const mutation of MUTATIONS) build(base, base === bareBase ? 'bare' : 'restricted', [mutation]);
  }
  const next = seededRandom(seed);
  for (let i = 0; i < combined; i++) {
    const count = 2 + Math.floor(next() * 3);
    const picked = Array.from({ length: count }, () => MUTATIONS[Math.floor(next() * MUTATIONS.length)]!);
    build(next() < 0.6 ? restrictedBase : bareBase, 'combined', picked);
  }
  return cases;
}

export const WORKLOAD_KINDS = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'ReplicationController', 'PodTemplate'] as const;

/** The case as an object of `kind` whose Pod (template) is the case's Pod. */
export function asObject(kind: (typeof WORKLOAD_KINDS)[number], name: string, namespace: string, pod: PodCase): Json {
  const metadata = { name, namespace };
  const template = { metadata: { ...structuredClone(pod.metadata), labels: { app: name } }, spec: structuredClone(pod.spec) };
  const selector = { matchLabels: { app: name } };
  switch (kind) {
    case 'Pod':
      return { apiVersion: 'v1', kind, metadata: { ...metadata, ...structuredClone(pod.metadata) }, spec: structuredClone(pod.spec) };
    case 'PodTemplate':
      return { apiVersion: 'v1', kind, metadata, template };
    case 'ReplicationController':
      return { apiVersion: 'v1', kind, metadata, spec: { selector: { app: name }, template } };
    case 'Job':
      return { apiVersion: 'batch/v1', kind, metadata, spec: { template: withRestartPolicy(template) } };
    case 'CronJob':
      return { apiVersion: 'batch/v1', kind, metadata, spec: { schedule: '0 * * * *', jobTemplate: { spec: { template: withRestartPolicy(template) } } } };
    default:
      return { apiVersion: 'apps/v1', kind, metadata, spec: { selector, template, ...(kind === 'StatefulSet' ? { serviceName: name } : {}) } };
  }
}

function withRestartPolicy(template: { metadata: Json; spec: Json }): Json {
  return { ...template, spec: { ...template.spec, restartPolicy: 'Never' } };
}
