import { afterAll, describe, expect, it } from 'vitest';
import { checkRepo, RegoDriver, type InputError, type PolicyDriver, type Report, type Violation } from '../../src/engine/index.js';
import { OpaCompiler } from '../../src/opa/opa-compiler.js';
import { engine, startDriver, testCacheDir } from '../helpers/engine.js';
import { MemorySource } from '../helpers/memory-source.js';
import { stallingOpa } from '../helpers/stalling-opa.js';
import { clusterConfig, constraintOf, neverEndingRego, regoTemplate } from '../helpers/policy-builders.js';

// The work of one check is bounded, because a pull request's own Rego and manifests run on the
// server: a template that runs out of time or memory costs one limit, not one per object; a file
// that takes too long (or too much memory) to parse is an error on that file; a check whose time
// budget runs out says what it did not evaluate. What was cut is always an input error (the check
// fails: no verdict is earned by work not done), and everything else is still checked.
//
// No test waits on the clock for its verdict: the runaway templates never finish, whatever the
// machine's speed, and the limits they hit are small.

const LOOP = neverEndingRego('k8sloop');

/** Doubles a string until it is 128 MiB (256 MiB of Wasm memory along the way). */
const HUNGRY = [
  'package k8shungry',
  '',
  'violation contains {"msg": msg} if {',
  '  s0 := "xxxxxxxxxxxxxxxx"',
  ...Array.from({ length: 23 }, (_, i) => `  s${i + 1} := concat("", [s${i}, s${i}])`),
  '  msg := sprintf("%v characters", [count(s23)])',
  '}',
  '',
].join('\n');

/** A 4 MiB string's 4 million indexes, as a JavaScript array: the worker's heap, not the Wasm memory, runs out. */
const HEAP_HUNGRY = [
  'package k8sheaphungry',
  '',
  'violation contains {"msg": msg} if {',
  '  s0 := "xxxxxxxxxxxxxxxx"',
  ...Array.from({ length: 18 }, (_, i) => `  s${i + 1} := concat("", [s${i}, s${i}])`),
  '  msg := sprintf("%v positions", [count(indexof_n(s18, "x"))])',
  '}',
  '',
].join('\n');

const LEGACY = `package k8slegacy

violation contains {"msg": msg} if {
  name := input.review.object.metadata.name
  startswith(name, "legacy-")
  msg := sprintf("%v has a legacy name", [name])
}
`;

const configMaps = ['legacy-a', 'b', 'c', 'legacy-d']
  .map((name) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: shop\ndata:\n  mode: fast\n`)
  .join('---\n');

const onConfigMaps = { match: { kinds: [{ apiGroups: [''], kinds: ['ConfigMap'] }] } };

/** One cluster: the legacy-name policy, `runaway` (a template's kind and Rego) when given, and four ConfigMaps. */
function repo(runaway?: { kind: string; rego: string }, files: Record<string, string> = {}): MemorySource {
  return new MemorySource({
    '.securitytower/cluster.yaml': clusterConfig(),
    'cluster/policies/legacy.yaml': regoTemplate('K8sLegacy', LEGACY),
    'cluster/policies/legacy-constraint.yaml': constraintOf('K8sLegacy', 'no-legacy-names', onConfigMaps),
    ...(runaway
      ? {
          'cluster/policies/runaway.yaml': regoTemplate(runaway.kind, runaway.rego),
          'cluster/policies/runaway-constraint.yaml': constraintOf(runaway.kind, 'runaway', onConfigMaps),
        }
      : {}),
    'cluster/apps/shop/settings.yaml': configMaps,
    ...files,
  });
}

const found = (v: Violation) => ({ file: v.location.file, line: v.location.line, constraint: v.constraint, message: v.message });

/** The results that stand for "the rest of the repository was still checked". */
const legacyNames = [
  { file: 'cluster/apps/shop/settings.yaml', line: 2, constraint: 'no-legacy-names', message: 'legacy-a has a legacy name' },
  { file: 'cluster/apps/shop/settings.yaml', line: 26, constraint: 'no-legacy-names', message: 'legacy-d has a legacy name' },
];

function violationsOf(report: Report, constraint: string) {
  return report.clusters.flatMap((c) => c.violations).filter((v) => v.constraint === constraint).map(found);
}

function errors(report: Report): Array<Omit<InputError, 'location'> & { at: string }> {
  return [...report.errors, ...report.clusters.flatMap((c) => c.errors)].map(({ location, code, message }) => ({ at: `${location.file}:${location.line}`, code, message }));
}

const drivers: RegoDriver[] = [];
afterAll(async () => {
  await Promise.all(drivers.map((driver) => driver.close()));
});

function driverWith(options: Parameters<typeof RegoDriver.start>[0] | NonNullable<Parameters<typeof startDriver>[0]>): RegoDriver {
  const driver = 'compiler' in options ? RegoDriver.start(options) : startDriver(options);
  drivers.push(driver);
  return driver;
}

describe('the work of a check is bounded, and what was cut is reported', () => {
  it('stops a template after its first evaluation runs out of time, and reports the objects it skipped once, at the template', async () => {
    const driver = driverWith({ workers: 2, timeoutMs: 1000 });
    const report = await checkRepo(repo({ kind: 'K8sLoop', rego: LOOP }), { driver, renderer: engine().renderer });
    // One evaluation ran into the limit; the template was not run again on the three other objects.
    expect(violationsOf(report, 'runaway')).toEqual([
      { file: 'cluster/apps/shop/settings.yaml', line: 2, constraint: 'runaway', message: 'evaluation exceeded the time limit of 1000 ms and was stopped' },
    ]);
    expect(errors(report)).toEqual([
      {
        at: 'cluster/apps/shop/settings.yaml:2',
        code: 'evaluation',
        message: 'K8sLoop runaway could not be evaluated on ConfigMap legacy-a: evaluation exceeded the time limit of 1000 ms and was stopped',
      },
      {
        at: 'cluster/policies/runaway.yaml:2',
        code: 'limit',
        message:
          'ConstraintTemplate k8sloop was stopped for the rest of the check after an evaluation of it failed (evaluation exceeded the time limit of 1000 ms and was stopped); 3 more objects were not evaluated against it',
      },
    ]);
    expect(violationsOf(report, 'no-legacy-names')).toEqual(legacyNames);
  });

  it('reports a template whose compilation runs past the time limit as an error at the template, and checks the rest', async () => {
    const driver = driverWith({ workers: 1, timeoutMs: 60_000, compiler: new OpaCompiler({ cacheDir: testCacheDir, opaPath: stallingOpa(), timeoutMs: 300 }) });
    const report = await checkRepo(repo({ kind: 'K8sLoop', rego: `${LOOP}# never-compiles\n` }), { driver, renderer: engine().renderer });
    expect(errors(report)).toEqual([
      { at: 'cluster/policies/runaway.yaml:2', code: 'limit', message: 'ConstraintTemplate k8sloop: compiling its Rego took longer than 0.3 s and was stopped' },
    ]);
    expect(violationsOf(report, 'no-legacy-names')).toEqual(legacyNames);
  });

  it('stops a template whose evaluation outgrows the memory limit, and reports the objects it skipped once', async () => {
    const driver = driverWith({ workers: 1, timeoutMs: 60_000, memoryMb: 64 });
    const report = await checkRepo(repo({ kind: 'K8sHungry', rego: HUNGRY }), { driver, renderer: engine().renderer });
    expect(violationsOf(report, 'runaway')).toEqual([
      { file: 'cluster/apps/shop/settings.yaml', line: 2, constraint: 'runaway', message: 'evaluation exceeded the memory limit of 64 MiB and was stopped' },
    ]);
    expect(errors(report).filter((e) => e.code === 'limit')).toEqual([
      {
        at: 'cluster/policies/runaway.yaml:2',
        code: 'limit',
        message:
          'ConstraintTemplate k8shungry was stopped for the rest of the check after an evaluation of it failed (evaluation exceeded the memory limit of 64 MiB and was stopped); 3 more objects were not evaluated against it',
      },
    ]);
    expect(violationsOf(report, 'no-legacy-names')).toEqual(legacyNames);
  });

  it('replaces a worker whose heap runs out during an evaluation, and stops that template', async () => {
    const driver = driverWith({ workers: 1, timeoutMs: 60_000, memoryMb: 64 });
    const report = await checkRepo(repo({ kind: 'K8sHeapHungry', rego: HEAP_HUNGRY }), { driver, renderer: engine().renderer });
    expect(violationsOf(report, 'runaway')).toEqual([
      { file: 'cluster/apps/shop/settings.yaml', line: 2, constraint: 'runaway', message: 'evaluation exceeded the memory limit of 64 MiB and was stopped' },
    ]);
    expect(errors(report).filter((e) => e.code === 'limit').map((e) => e.message)).toEqual([
      'ConstraintTemplate k8sheaphungry was stopped for the rest of the check after an evaluation of it failed (evaluation exceeded the memory limit of 64 MiB and was stopped); 3 more objects were not evaluated against it',
    ]);
    // The worker that took its place evaluated the rest.
    expect(violationsOf(report, 'no-legacy-names')).toEqual(legacyNames);
  });

  it('reports a file that takes longer to parse than the limit as an error on it, and checks the other files', async () => {
    // 1.3 million sequence items in 5 MiB, the largest file allowed: seconds of parsing on any machine.
    const items = `apiVersion: v1\nkind: List\nitems:\n${'- a\n'.repeat(1_300_000)}`;
    const driver = driverWith({ workers: 2, timeoutMs: 60_000, parseTimeoutMs: 500 });
    const report = await checkRepo(repo(undefined, { 'cluster/apps/shop/items.yaml': items }), { driver, renderer: engine().renderer });
    expect(errors(report)).toEqual([
      { at: 'cluster/apps/shop/items.yaml:1', code: 'limit', message: 'YAML: parsing took longer than the time limit of 500 ms and was stopped; the file was not read' },
    ]);
    expect(violationsOf(report, 'no-legacy-names')).toEqual(legacyNames);
  });

  it('reports a file whose parsing outgrows the memory limit as an error on it, and checks the other files', async () => {
    const keys = ['apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: catalog', '  namespace: shop', 'data:'];
    for (let i = 0; i < 200_000; i++) keys.push(`  key-${i}: value-${i}`);
    const driver = driverWith({ workers: 1, timeoutMs: 60_000, parseTimeoutMs: 600_000, memoryMb: 64 });
    const report = await checkRepo(repo(undefined, { 'cluster/apps/shop/catalog.yaml': `${keys.join('\n')}\n` }), { driver, renderer: engine().renderer });
    expect(errors(report)).toEqual([
      { at: 'cluster/apps/shop/catalog.yaml:1', code: 'limit', message: 'YAML: parsing exceeded the memory limit of 64 MiB and was stopped; the file was not read' },
    ]);
    expect(violationsOf(report, 'no-legacy-names')).toEqual(legacyNames);
  });

  describe('a check that is stopped (the App’s time budget per job)', () => {
    const outOfTime = () => new Error("the check's time limit of 1 s ran out");

    it('keeps what it evaluated and says how many objects it did not evaluate, on the cluster', async () => {
      const driver = driverWith({ workers: 2, timeoutMs: 60_000 });
      const stop = new AbortController();
      // Stops the check once the first chunk of objects is evaluated, as the budget's timer would.
      let first: Promise<unknown> | undefined;
      const stopping: PolicyDriver = Object.assign(Object.create(driver) as RegoDriver, {
        evaluate: async (...args: Parameters<PolicyDriver['evaluate']>) => {
          if (!first) return (first = driver.evaluate(...args));
          await first;
          stop.abort(outOfTime());
          return driver.evaluate(...args);
        },
      });
      const report = await checkRepo(repo(), { driver: stopping, chunkSize: 2, signal: stop.signal, renderer: engine().renderer });
      expect(errors(report)).toEqual([
        { at: '.securitytower/cluster.yaml:2', code: 'limit', message: "Cluster prod was not fully checked: the check's time limit of 1 s ran out; 2 of 4 objects were not evaluated" },
      ]);
      expect(violationsOf(report, 'no-legacy-names')).toEqual([legacyNames[0]]);
    });

    it('stops an evaluation that would never end, however long the limit of one evaluation', async () => {
      const driver = driverWith({ workers: 1, timeoutMs: 600_000 });
      const stop = new AbortController();
      const stopping: PolicyDriver = Object.assign(Object.create(driver) as RegoDriver, {
        evaluate: (...args: Parameters<PolicyDriver['evaluate']>) => {
          const evaluating = driver.evaluate(...args);
          // The loop is evaluating (or queued): it never finishes by itself.
          setImmediate(() => stop.abort(outOfTime()));
          return evaluating;
        },
      });
      const report = await checkRepo(repo({ kind: 'K8sLoop', rego: LOOP }), { driver: stopping, signal: stop.signal, renderer: engine().renderer });
      expect(errors(report)).toEqual([
        { at: '.securitytower/cluster.yaml:2', code: 'limit', message: "Cluster prod was not fully checked: the check's time limit of 1 s ran out; 4 of 4 objects were not evaluated" },
      ]);
      // The pool is free again: the stopped worker was replaced.
      expect(violationsOf(await checkRepo(repo(), { driver, renderer: engine().renderer }), 'no-legacy-names')).toEqual(legacyNames);
    });

    it('reports a cluster it did not reach as not checked', async () => {
      const driver = driverWith({ workers: 1, timeoutMs: 60_000, compiler: new OpaCompiler({ cacheDir: testCacheDir }) });
      const stop = new AbortController();
      stop.abort(outOfTime());
      const report = await checkRepo(repo(), { driver, signal: stop.signal, renderer: engine().renderer });
      expect(errors(report)).toEqual([{ at: '.securitytower/cluster.yaml:2', code: 'limit', message: "Cluster prod was not checked: the check's time limit of 1 s ran out" }]);
      expect(report.clusters.map((c) => c.violations)).toEqual([[]]);
    });
  });
});
