import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadCatalog, type Catalog } from '../../src/library/catalog.js';
import { checkRepo, markStatus, type Report } from '../../src/engine/index.js';
import { HelperRenderer } from '../../src/renderer/helper-renderer.js';
import { repoRoot, startDrivers } from '../helpers/engine.js';
import { MemorySource } from '../helpers/memory-source.js';
import { asObject, podCases, WORKLOAD_KINDS, type Json } from '../helpers/pss-corpus.js';

// Kubernetes' own Pod Security Admission (k8s.io/pod-security-admission, pinned in tools/psa/go.mod)
// and the library's Pod Security Standards policies, enabled as `parapet policies enable --standard`
// enables them, judge the same generated objects at every version from v1.25 to latest: for each
// object, version and level, both must fail the same controls (and so give the same verdict), each
// failed control in Pod Security Admission's words for its check: `reason (detail)`.
const psa = join(repoRoot, 'tools', 'bin', 'parapet-psa');
const NEWEST_MINOR = 37;
const VERSIONS = [...Array.from({ length: NEWEST_MINOR - 24 }, (_, i) => `v1.${25 + i}`), 'latest'];
const LEVELS = ['baseline', 'restricted'] as const;
type Level = (typeof LEVELS)[number];

// The Pod Security Standards' controls as Pod Security Admission names its checks. Restricted's own
// checks replace Baseline's for capabilities, seccomp and (from 1.35) /proc mounts, and its volume
// types replace HostPath Volumes; the suffix is dropped so that a control has one name at both levels.
const CONTROL_CHECKS: Record<string, string> = {
  HostProcess: 'windowsHostProcess',
  'Host Namespaces': 'hostNamespaces',
  'Privileged Containers': 'privileged',
  Capabilities: 'capabilities',
  'HostPath Volumes': 'hostPathVolumes',
  'Host Ports': 'hostPorts',
  'Host Probes / Lifecycle Hooks': 'hostProbesAndHostLifecycle',
  AppArmor: 'appArmorProfile',
  SELinux: 'seLinuxOptions',
  '/proc Mount Type': 'procMount',
  Seccomp: 'seccompProfile',
  Sysctls: 'sysctls',
  'Volume Types': 'restrictedVolumes',
  'Privilege Escalation': 'allowPrivilegeEscalation',
  'Running as Non-root': 'runAsNonRoot',
  'Running as Non-root user': 'runAsUser',
};
const checkName = (id: string) => id.replace(/_(baseline|restricted)$/, '');

interface PsaAnswer {
  kind?: string;
  name?: string;
  error?: string;
  versions?: Record<string, Record<Level, Array<{ id: string; reason: string; detail: string }>>>;
}

// Its own drivers, with a time limit per file that a busy CI machine cannot reach by accident.
const drivers = startDrivers({ timeoutMs: 120_000 });
afterAll(() => drivers.close());

beforeAll(() => {
  // A few minutes the first time on two cores; reused afterwards.
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build-go-tool.mjs'), 'psa'], { stdio: 'inherit' });
}, 15 * 60_000);

function runPsa(objects: Json[]): PsaAnswer[] {
  const run = spawnSync(psa, [], { input: JSON.stringify({ versions: VERSIONS, objects }), encoding: 'utf8', maxBuffer: 1 << 30 });
  if (run.status !== 0) throw new Error(`parapet-psa failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as PsaAnswer[];
}

/** One constraint per policy, version and distinct parameters, named so that a result says which. */
interface Enabled {
  constraint: string;
  policy: string;
  version: string;
  levels: Level[];
  control: string;
}

function enabledConstraints(catalog: Catalog): Enabled[] {
  const byName = new Map<string, Enabled>();
  for (const level of LEVELS) {
    for (const policy of catalog.policies) {
      const ref = policy.standards.find((s) => s.id === `k8s/${level}` && !s.stricter);
      if (!ref) continue;
      for (const version of VERSIONS) {
        const parameters = { ...ref.parameters, version };
        const constraint = `${policy.name}-${version.replace('.', '-')}${ref.parameters ? `-${level}` : ''}`;
        const entry = byName.get(constraint) ?? { constraint, policy: policy.name, version, levels: [], control: ref.control };
        entry.levels.push(level);
        byName.set(constraint, { ...entry, ...{ parameters } });
      }
    }
  }
  return [...byName.values()];
}

function repository(catalog: Catalog, enabled: Array<Enabled & { parameters?: Json }>, objects: Json[], written: Record<string, string> = {}): MemorySource {
  const files: Record<string, string> = {
    '.securitytower/cluster.yaml': stringify({ apiVersion: 'securitytower.io/v1alpha1', kind: 'Cluster', metadata: { name: 'psa' }, spec: { policies: { path: 'cluster/policies' } } }),
    'cluster/policies/expansion.yaml': catalog.expansionText,
    ...written,
  };
  objects.forEach((object, i) => void (files[`cluster/workloads/${i}.yaml`] = stringify(object)));
  for (const policy of new Set(enabled.map((e) => e.policy))) files[`cluster/policies/${policy}-template.yaml`] = catalog.policies.find((p) => p.name === policy)!.templateText;
  files['cluster/policies/constraints.yaml'] = enabled
    .map((e) =>
      stringify({
        apiVersion: 'constraints.gatekeeper.sh/v1beta1',
        kind: catalog.policies.find((p) => p.name === e.policy)!.kind,
        metadata: { name: e.constraint },
        spec: { match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] }, parameters: e.parameters },
      }),
    )
    .join('---\n');
  return new MemorySource(files);
}

describe('Parapet’s Pod Security Standards and Kubernetes’ Pod Security Admission agree', () => {
  it('on which controls every generated Pod and workload fails, and in the words of each check, at each level and every version from v1.25 to latest', async () => {
    const catalog = await loadCatalog();
    // Each case as one object, the kinds in turn, so that every kind sees every kind of field.
    const objects = podCases(100).map((pod, i) => {
      const kind = WORKLOAD_KINDS[i % WORKLOAD_KINDS.length]!;
      return { label: pod.label, object: asObject(kind, `case-${i}-${kind.toLowerCase()}`, 'psa', pod) };
    });
    const theirs = runPsa(objects.map((o) => o.object));
    const enabled = enabledConstraints(catalog) as Array<Enabled & { parameters?: Json }>;
    const report = await checkRepo(repository(catalog, enabled, objects.map((o) => o.object)), { driver: drivers.driver, renderer: new HelperRenderer() });
    const cluster = report.clusters[0]!;
    expect(report.errors).toEqual([]);
    expect(cluster.errors).toEqual([]);

    const constraints = new Map(enabled.map((e) => [e.constraint, e]));
    // Each failed check as `check: message`, the message as Pod Security Admission prints the check in
    // "violates PodSecurity": `reason (detail)`. A workload's Pod is judged `[Implied by ...]`, the
    // prefix Gatekeeper gives every result on an expanded object; PSA's warning for the workload
    // carries the same reason and detail.
    const ours = new Map<string, string[]>();
    for (const violation of cluster.violations) {
      const e = constraints.get(violation.constraint)!;
      const message = violation.message.replace(/^\[Implied by [^\]]+\] /, '');
      for (const level of e.levels) {
        const key = `${violation.object.name} ${e.version} ${level}`;
        ours.set(key, [...(ours.get(key) ?? []), `${CONTROL_CHECKS[e.control]!}: ${message}`]);
      }
    }

    const disagreements: string[] = [];
    let verdicts = 0;
    objects.forEach(({ label, object }, i) => {
      const answer = theirs[i]!;
      expect(answer.error, `${(object.metadata as Json).name}: ${answer.error}`).toBeUndefined();
      for (const version of VERSIONS) {
        for (const level of LEVELS) {
          verdicts++;
          const name = (object.metadata as Json).name as string;
          const expected = answer.versions![version]![level].map((f) => `${checkName(f.id)}: ${f.reason} (${f.detail})`).sort();
          const actual = [...(ours.get(`${name} ${version} ${level}`) ?? [])].sort();
          if (expected.join('\n') !== actual.join('\n')) {
            disagreements.push(`${name} ${level}:${version} (${label}):\n  PSA     ${expected.join('\n          ')}\n  Parapet ${actual.join('\n          ')}`);
          }
        }
      }
    });
    // Not vacuous: thousands of verdicts, most of them denials at Restricted, some at Baseline.
    expect(verdicts).toBeGreaterThan(15_000);
    expect(cluster.violations.length).toBeGreaterThan(5_000);
    expect(disagreements.slice(0, 30)).toEqual([]);
  }, 300_000);
});

describe('the Pod Security Standards version a constraint names', () => {
  const privilegedPod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'psa' }, spec: { containers: [{ name: 'web', image: 'nginx:1.27.0', securityContext: { privileged: true } }] } };
  const sysctlPod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'tuned', namespace: 'psa' }, spec: { securityContext: { sysctls: [{ name: 'net.ipv4.tcp_notsent_lowat', value: '131072' }] }, containers: [{ name: 'web', image: 'nginx:1.27.0' }] } };

  async function judge(policy: string, version: string, object: Json) {
    const catalog = await loadCatalog();
    const enabled = [{ constraint: policy, policy, version, levels: [], control: '', parameters: { version } }];
    const report = await checkRepo(repository(catalog, enabled, [object]), { driver: drivers.driver, renderer: new HelperRenderer() });
    return report.clusters[0]!;
  }

  it('is refused before v1.25, naming the parameter and the pattern, as the cluster refuses the constraint', async () => {
    const cluster = await judge('preventprivileged', 'v1.24', privilegedPod);
    expect(cluster.violations).toEqual([]);
    expect(cluster.errors.map((e) => e.message).join('\n')).toMatch(/spec\.parameters\.version.*should match '\^\(latest\|v1/);
  });

  it('is judged as latest when newer than the newest the library knows, as Pod Security Admission judges it', async () => {
    expect((await judge('restrictsysctls', 'v1.36', sysctlPod)).violations).toHaveLength(1);
    expect((await judge('restrictsysctls', 'v1.40', sysctlPod)).violations).toEqual([]);
  });
});

describe('a Pod Security Standards finding', () => {
  const deployment = (containers: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: psa
spec:
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
${containers}`;
  const web = deployment(`      initContainers:
        - name: init
          image: registry.example.com/init:1.0.0
      containers:
        - name: web
          image: registry.example.com/web:1.0.0
          securityContext:
            privileged: true
        - name: app
          image: registry.example.com/app:1.0.0
          securityContext:
            allowPrivilegeEscalation: true
            privileged: true
`);
  const lineOf = (text: string, needle: string, after = '') => {
    const lines = text.split('\n');
    return lines.findIndex((line, i) => line.includes(needle) && i > lines.findIndex((l) => l.includes(after))) + 1;
  };

  async function judge(manifest: string) {
    const catalog = await loadCatalog();
    const enabled = ['enforcenoprivilegeescalation', 'preventprivileged'].map((policy) => ({ constraint: policy, policy, version: 'latest', levels: [], control: '', parameters: {} }));
    const report = await checkRepo(repository(catalog, enabled, [], { 'cluster/workloads/web.yaml': manifest }), { driver: drivers.driver, renderer: new HelperRenderer() });
    expect(report.clusters[0]!.errors).toEqual([]);
    return report;
  }

  const findings = (report: Report) =>
    report.clusters[0]!.violations
      .map((v) => ({ policy: v.policy, message: v.message, line: v.location.line, subject: v.subject, status: v.status }))
      .sort((a, b) => a.policy.localeCompare(b.policy));

  it('is one per failed check, in Pod Security Admission’s words, on the line of the container first by name, and the check is its identity', async () => {
    expect(findings(await judge(web))).toEqual([
      {
        policy: 'enforcenoprivilegeescalation',
        message: '[Implied by expand-workloads] allowPrivilegeEscalation != false (containers "init", "web", "app" must set securityContext.allowPrivilegeEscalation=false)',
        line: lineOf(web, 'allowPrivilegeEscalation: true'),
        subject: { name: 'allowPrivilegeEscalation' },
        status: undefined,
      },
      {
        policy: 'preventprivileged',
        message: '[Implied by expand-workloads] privileged (containers "web", "app" must not set securityContext.privileged=true)',
        line: lineOf(web, 'privileged: true', 'allowPrivilegeEscalation: true'),
        subject: { name: 'privileged' },
        status: undefined,
      },
    ]);
  });

  it('stays existing when a pull request reorders the containers, though the message follows the new order', async () => {
    const reordered = deployment(`      containers:
        - name: app
          image: registry.example.com/app:1.0.0
          securityContext:
            allowPrivilegeEscalation: true
            privileged: true
        - name: web
          image: registry.example.com/web:1.0.0
          securityContext:
            privileged: true
      initContainers:
        - name: init
          image: registry.example.com/init:1.0.0
`);
    const report = markStatus(await judge(reordered), await judge(web));
    expect(findings(report).map((f) => [f.policy, f.message, f.status])).toEqual([
      ['enforcenoprivilegeescalation', '[Implied by expand-workloads] allowPrivilegeEscalation != false (containers "init", "app", "web" must set securityContext.allowPrivilegeEscalation=false)', 'existing'],
      ['preventprivileged', '[Implied by expand-workloads] privileged (containers "app", "web" must not set securityContext.privileged=true)', 'existing'],
    ]);
  });

  it('stays existing when a pull request fixes the container it was placed on while another still fails, or adds one', async () => {
    const fixedApp = deployment(`      initContainers:
        - name: init
          image: registry.example.com/init:1.0.0
      containers:
        - name: web
          image: registry.example.com/web:1.0.0
          securityContext:
            privileged: true
        - name: app
          image: registry.example.com/app:1.0.0
          securityContext:
            allowPrivilegeEscalation: false
        - name: sidecar
          image: registry.example.com/sidecar:1.0.0
          securityContext:
            allowPrivilegeEscalation: false
            privileged: true
`);
    const report = markStatus(await judge(fixedApp), await judge(web));
    expect(findings(report).map((f) => [f.policy, f.message, f.line, f.status])).toEqual([
      ['enforcenoprivilegeescalation', '[Implied by expand-workloads] allowPrivilegeEscalation != false (containers "init", "web" must set securityContext.allowPrivilegeEscalation=false)', lineOf(fixedApp, '- name: init'), 'existing'],
      ['preventprivileged', '[Implied by expand-workloads] privileged (containers "web", "sidecar" must not set securityContext.privileged=true)', lineOf(fixedApp, 'privileged: true', 'name: sidecar'), 'existing'],
    ]);
  });

  it('is new when the pull request makes an object fail a check it passed, and gone when it fixes the last offender', async () => {
    const clean = deployment(`      containers:
        - name: web
          image: registry.example.com/web:1.0.0
          securityContext:
            allowPrivilegeEscalation: false
`);
    const introduced = markStatus(await judge(web), await judge(clean));
    expect(findings(introduced).map((f) => [f.policy, f.status])).toEqual([
      ['enforcenoprivilegeescalation', 'new'],
      ['preventprivileged', 'new'],
    ]);
    expect(findings(markStatus(await judge(clean), await judge(web)))).toEqual([]);
  });
});
