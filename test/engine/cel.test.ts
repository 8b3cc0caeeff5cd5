// Templates with K8sNativeValidation (CEL) code run in Gatekeeper's own CEL driver (the parapet-cel
// helper) whenever the cluster's Gatekeeper would run CEL: results carry the engine that produced
// them, and CEL that Gatekeeper cannot compile or evaluate is reported as Gatekeeper reports it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { formatReport, type InputError, type Report } from '../../src/engine/index.js';
import { defaultCelHelperPath } from '../../src/cel/cel-helper-process.js';
import { ConfigError } from '../../src/errors.js';
import { startEngineRuntime } from '../../src/runtime.js';
import { check, engine, fixturesDir, testCacheDir } from '../helpers/engine.js';
import { MemorySource } from '../helpers/memory-source.js';
import { constraintOf } from '../helpers/policy-builders.js';

engine();

const library = join(fixturesDir, 'gatekeeper-library');
const requiredLabels = readFileSync(join(library, 'general', 'requiredlabels', 'template.yaml'), 'utf8');

function cluster(gatekeeper?: Record<string, unknown>): string {
  return stringify({
    apiVersion: 'securitytower.io/v1alpha1',
    kind: 'Cluster',
    metadata: { name: 'prod' },
    spec: { policies: { path: 'cluster/policies' }, ...(gatekeeper ? { gatekeeper } : {}) },
  });
}

/** A ConstraintTemplate with only a K8sNativeValidation source. */
function celTemplate(kind: string, source: Record<string, unknown>, parameters?: Record<string, unknown>): string {
  return stringify({
    apiVersion: 'templates.gatekeeper.sh/v1',
    kind: 'ConstraintTemplate',
    metadata: { name: kind.toLowerCase() },
    spec: {
      crd: { spec: { names: { kind }, ...(parameters ? { validation: { openAPIV3Schema: { type: 'object', properties: parameters } } } : {}) } },
      targets: [{ target: 'admission.k8s.gatekeeper.sh', code: [{ engine: 'K8sNativeValidation', source }] }],
    },
  });
}

const ownerConstraint = constraintOf('K8sRequiredLabels', 'must-have-owner', {
  match: { kinds: [{ apiGroups: [''], kinds: ['Namespace'] }] },
  parameters: { labels: [{ key: 'owner' }] },
});

const unlabelledNamespace = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
`;

function repo(files: Record<string, string>, gatekeeper?: Record<string, unknown>): MemorySource {
  return new MemorySource({ '.securitytower/cluster.yaml': cluster(gatekeeper), ...files });
}

const findings = (report: Report) =>
  report.clusters.flatMap((c) => c.violations.map((v) => ({ constraint: v.constraint, object: v.object.name, line: v.location.line, message: v.message, engine: v.engine })));
const errors = (report: Report): Array<Pick<InputError, 'code' | 'message'> & { file: string; line: number }> =>
  report.clusters.flatMap((c) => c.errors.map((e) => ({ file: e.location.file, line: e.location.line, code: e.code, message: e.message })));

describe('a template with both CEL and Rego', () => {
  const files = {
    'cluster/policies/requiredlabels.yaml': requiredLabels,
    'cluster/policies/must-have-owner.yaml': ownerConstraint,
    'cluster/namespaces/shop.yaml': unlabelledNamespace,
  };

  it('is judged by its CEL, as Gatekeeper since 3.18 does, and the result says so', async () => {
    const report = await check(repo(files));
    expect(errors(report)).toEqual([]);
    // One result per failed validation: the library's CEL has two where its Rego reports one.
    expect(findings(report)).toEqual([
      { constraint: 'must-have-owner', object: 'shop', line: 2, message: 'missing required label, requires all of: owner', engine: 'K8sNativeValidation' },
      { constraint: 'must-have-owner', object: 'shop', line: 2, message: 'regex mismatch', engine: 'K8sNativeValidation' },
    ]);
  });

  it('is judged by its Rego in a cluster whose Gatekeeper runs Rego only (spec.gatekeeper.k8sNativeValidation: false)', async () => {
    const report = await check(repo(files, { k8sNativeValidation: false }));
    expect(errors(report)).toEqual([]);
    expect(findings(report)).toEqual([{ constraint: 'must-have-owner', object: 'shop', line: 2, message: 'you must provide labels: {"owner"}', engine: 'Rego' }]);
  });

  it('shows the engine in the JSON report', async () => {
    const json = JSON.parse(formatReport(await check(repo(files)), 'json', { color: false, withStatus: false, toolVersion: 'test' })) as { clusters: Array<{ violations: Array<{ engine: string | null }> }> };
    expect(json.clusters[0]!.violations.map((v) => v.engine)).toEqual(['K8sNativeValidation', 'K8sNativeValidation']);
  });
});

describe('a CEL-only template', () => {
  const template = celTemplate(
    'ReplicaLimit',
    {
      variables: [
        { name: 'replicas', expression: "has(variables.anyObject.spec.replicas) ? variables.anyObject.spec.replicas : 1" },
        { name: 'max', expression: "variables.params == null ? 3 : variables.params.max" },
      ],
      matchCondition: [{ name: 'not-paused', expression: "!has(object.spec.paused) || !object.spec.paused" }],
      validations: [
        {
          expression: 'variables.replicas <= variables.max',
          messageExpression: "'%s wants %d replicas, at most %d are allowed'.format([object.metadata.name, variables.replicas, variables.max])",
        },
        { expression: "quantity(variables.anyObject.metadata.annotations['memory']).compareTo(quantity('1Gi')) <= 0", message: 'too much memory' },
      ],
    },
    { max: { type: 'integer' } },
  );
  const deployment = (name: string, replicas: number, extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: shop
  annotations:
    memory: 2Gi
spec:
  replicas: ${replicas}${extra}
  template:
    spec:
      containers:
        - name: app
          image: nginx:1.27
`;
  const files = (constraintSpec: Record<string, unknown>) => ({
    'cluster/policies/replicalimit.yaml': template,
    'cluster/policies/limit.yaml': constraintOf('ReplicaLimit', 'limit', { match: { kinds: [{ apiGroups: ['apps'], kinds: ['Deployment'] }] }, ...constraintSpec }),
    'cluster/apps/web.yaml': deployment('web', 5),
    'cluster/apps/paused.yaml': deployment('paused', 9, '\n  paused: true'),
  });

  it('runs variables, matchConditions, messageExpression, parameters and the Kubernetes libraries as Gatekeeper does', async () => {
    const report = await check(repo(files({ parameters: { max: 4 } })));
    expect(errors(report)).toEqual([]);
    // The paused Deployment fails matchConditions; each message is on the field it names.
    expect(findings(report)).toEqual([
      { constraint: 'limit', object: 'web', line: 7, message: 'too much memory', engine: 'K8sNativeValidation' },
      { constraint: 'limit', object: 'web', line: 9, message: 'web wants 5 replicas, at most 4 are allowed', engine: 'K8sNativeValidation' },
    ]);
  });

  it('sees no parameters (null) when the constraint has no spec.parameters', async () => {
    const report = await check(repo(files({})));
    expect(findings(report).map((f) => f.message)).toContain('web wants 5 replicas, at most 3 are allowed');
  });

  it('reads the object’s Namespace as namespaceObject, as at Gatekeeper’s webhook', async () => {
    const report = await check(
      repo({
        'cluster/policies/tier.yaml': celTemplate('NamespaceTier', {
          validations: [{ expression: "namespaceObject.metadata.labels['tier'] == 'gold'", messageExpression: "'namespace tier is ' + namespaceObject.metadata.labels['tier']" }],
        }),
        'cluster/policies/gold.yaml': constraintOf('NamespaceTier', 'gold', { match: { kinds: [{ apiGroups: [''], kinds: ['ConfigMap'] }] } }),
        'cluster/namespaces/shop.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    tier: bronze\n',
        'cluster/apps/settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\n',
      }),
    );
    expect(errors(report)).toEqual([]);
    expect(findings(report).map((f) => f.message)).toEqual(['namespace tier is bronze']);
  });

  it('cannot run in a cluster whose Gatekeeper runs Rego only: an error on the template', async () => {
    const report = await check(repo(files({}), { k8sNativeValidation: false }));
    expect(findings(report)).toEqual([]);
    expect(errors(report)).toEqual([
      {
        file: 'cluster/policies/replicalimit.yaml',
        line: 2,
        code: 'template',
        message: expect.stringContaining('ConstraintTemplate replicalimit has only a K8sNativeValidation (CEL) source') as unknown as string,
      },
    ]);
  });
});

describe('CEL that Gatekeeper cannot compile or evaluate', () => {
  it('is an error on the line of the expression, and fails each evaluation with Gatekeeper’s message as gator reports it', async () => {
    const template = celTemplate('NamedPods', { validations: [{ expression: "object.metadata.name.startsWith('app-'" }] });
    const report = await check(
      repo({
        'cluster/policies/namedpods.yaml': template,
        'cluster/policies/named.yaml': constraintOf('NamedPods', 'named', { match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] } }),
        'cluster/apps/pod.yaml': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  containers: []\n',
      }),
    );
    const gatekeeperMessage = [
      "compilation failed: ERROR: <input>:1:39: Syntax error: missing ')' at '<EOF>'",
      " | object.metadata.name.startsWith('app-'",
      ' | ......................................^',
    ].join('\n');
    const expressionLine = template.split('\n').findIndex((line) => line.includes('startsWith')) + 1;
    expect(errors(report)).toEqual([
      { file: 'cluster/policies/namedpods.yaml', line: expressionLine, code: 'cel', message: `ConstraintTemplate namedpods: validations[0].expression: ${gatekeeperMessage}` },
    ]);
    expect(findings(report)).toEqual([{ constraint: 'named', object: 'web', line: 2, message: `compilation error: ${gatekeeperMessage}`, engine: 'K8sNativeValidation' }]);
  });

  it('that fails at run time is a violation with Gatekeeper’s text and an evaluation error', async () => {
    const template = celTemplate('TeamLabel', { validations: [{ expression: "object.metadata.labels['team'] != ''" }] });
    const report = await check(
      repo({
        'cluster/policies/teamlabel.yaml': template,
        'cluster/policies/team.yaml': constraintOf('TeamLabel', 'team', { enforcementAction: 'warn', match: { kinds: [{ apiGroups: [''], kinds: ['ConfigMap'] }] } }),
        'cluster/apps/settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\n  labels:\n    app: shop\n',
      }),
    );
    const text = "expression 'object.metadata.labels['team'] != ''' resulted in error: no such key: team";
    // On the labels the message names, as for any result.
    expect(findings(report)).toEqual([{ constraint: 'team', object: 'settings', line: 6, message: text, engine: 'K8sNativeValidation' }]);
    expect(errors(report)).toEqual([{ file: 'cluster/apps/settings.yaml', line: 2, code: 'evaluation', message: `TeamLabel team could not be evaluated on ConfigMap settings: ${text}` }]);
  });

  it('that Gatekeeper’s driver refuses (a reserved variable name) is an error on the template', async () => {
    const template = celTemplate('Reserved', { variables: [{ name: 'params', expression: '1' }], validations: [{ expression: 'true' }] });
    const report = await check(
      repo({
        'cluster/policies/reserved.yaml': template,
        'cluster/policies/r.yaml': constraintOf('Reserved', 'r', {}),
      }),
    );
    expect(errors(report)).toEqual([
      {
        file: 'cluster/policies/reserved.yaml',
        line: 2,
        code: 'cel',
        message: 'ConstraintTemplate reserved: invalid variable definition: params an invalid variable name, "params" is a reserved keyword',
      },
    ]);
  });
});

describe('checks that run at once (as in the App)', () => {
  it('each judge by their own template when templates of one name differ', async () => {
    const repoWith = (prefix: string) =>
      repo({
        'cluster/policies/prefix.yaml': celTemplate('PodPrefix', { validations: [{ expression: `object.metadata.name.startsWith('${prefix}')`, message: `must start with ${prefix}` }] }),
        'cluster/policies/prefixed.yaml': constraintOf('PodPrefix', 'prefixed', { match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] } }),
        'cluster/apps/pod.yaml': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  containers: []\n',
      });
    const [app, db] = await Promise.all([check(repoWith('app-')), check(repoWith('db-'))]);
    expect(findings(app).map((f) => f.message)).toEqual(['must start with app-']);
    expect(findings(db).map((f) => f.message)).toEqual(['must start with db-']);
  });
});

describe('the Cluster file’s spec.gatekeeper', () => {
  it('accepts only k8sNativeValidation: true or false', async () => {
    const report = await check(repo({ 'cluster/policies/requiredlabels.yaml': requiredLabels }, { k8sNativeValidation: 'maybe', engine: 'cel' }));
    expect(report.errors.map((e) => e.message)).toEqual([
      'Cluster prod: spec.gatekeeper.engine: unknown field (Parapet knows k8sNativeValidation)',
      'Cluster prod: spec.gatekeeper.k8sNativeValidation must be true or false (Gatekeeper\'s --enable-k8s-native-validation), not "maybe"',
    ]);
  });
});

describe('the CEL helper', () => {
  const files = {
    'cluster/policies/requiredlabels.yaml': requiredLabels,
    'cluster/policies/must-have-owner.yaml': ownerConstraint,
    'cluster/namespaces/shop.yaml': unlabelledNamespace,
  };
  const runtimeWith = (celPath: string) => startEngineRuntime({ cacheDir: testCacheDir, opaPath: undefined, celPath, workers: 1, evalTimeoutMs: 5000, parseTimeoutMs: 20_000, compileTimeoutMs: 60_000, workerMemoryMb: 512 });

  it('when missing, stops the check with an operational error that says how to build it', async () => {
    const runtime = runtimeWith('/nonexistent/parapet-cel');
    try {
      const failure = await check(repo(files), { driver: runtime.driver }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ConfigError);
      expect((failure as Error).message).toBe(
        "the CEL helper (Gatekeeper's CEL driver) is missing at /nonexistent/parapet-cel; run `npm ci` (or `node scripts/build-go-tool.mjs cel`) to build it",
      );
    } finally {
      await runtime.close();
    }
  });

  it('when it crashes, stops the check with an operational error naming it', async () => {
    const runtime = runtimeWith('/bin/false');
    try {
      const failure = await check(repo(files), { driver: runtime.driver }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ConfigError);
      expect((failure as Error).message).toMatch(/^the CEL helper \/bin\/false stopped \(exit code 1\) before answering/);
    } finally {
      await runtime.close();
    }
  });

  it('keeps what compiling each template found in the cache folder, and a later check reads it there instead of compiling it again', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'parapet-cel-cache-'));
    const source = repo({
      'cluster/policies/namedpods.yaml': celTemplate('NamedPods', { validations: [{ expression: "object.metadata.name.startsWith('app-'" }] }),
      'cluster/policies/named.yaml': constraintOf('NamedPods', 'named', { match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] } }),
      'cluster/apps/pod.yaml': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  containers: []\n',
    });
    const checkOnce = async () => {
      const runtime = startEngineRuntime({ cacheDir, opaPath: undefined, celPath: undefined, workers: 1, evalTimeoutMs: 5000, parseTimeoutMs: 20_000, compileTimeoutMs: 60_000, workerMemoryMb: 512 });
      try {
        return await check(source, { driver: runtime.driver });
      } finally {
        await runtime.close();
      }
    };
    try {
      const first = await checkOnce();
      const entries = readdirSync(join(cacheDir, 'cel'));
      expect(entries).toHaveLength(1);
      const second = await checkOnce();
      expect(errors(second)).toEqual(errors(first));
      expect(findings(second)).toEqual(findings(first));
      // What the entry says is what the next check reports: it was read, not compiled again.
      const entry = join(cacheDir, 'cel', entries[0]!);
      writeFileSync(entry, readFileSync(entry, 'utf8').replace('Syntax error', 'Remembered syntax error'));
      const third = await checkOnce();
      expect(errors(third).map((e) => e.message)).toEqual(errors(first).map((e) => e.message.replace('Syntax error', 'Remembered syntax error')));
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it('writes a CPU profile of its whole session for `go tool pprof` when PARAPET_CEL_CPUPROFILE names a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-cel-profile-'));
    try {
      const profile = join(dir, 'cel.pprof');
      const run = spawnSync(defaultCelHelperPath, [], {
        input: `${JSON.stringify({ op: 'load', id: 1, template: parse(requiredLabels) })}\n`,
        env: { ...process.env, PARAPET_CEL_CPUPROFILE: profile },
        encoding: 'utf8',
      });
      expect(run.status).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({ problems: [] });
      // pprof's format: a gzipped protocol buffer.
      expect([...readFileSync(profile).subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves a whole check from one process, whatever the number of objects', async () => {
    const started = (await import('../helpers/engine.js')).startDrivers({ workers: 1 });
    try {
      const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`cluster/namespaces/ns-${i}.yaml`, `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns-${i}\n`]));
      const report = await check(repo({ ...files, ...many }), { driver: started.driver });
      expect(findings(report)).toHaveLength(2 * 41);
      expect(started.helper.generation).toBe(1);
    } finally {
      await started.close();
    }
  });
});
