// The result cache answers an evaluation only with what the same template, constraint, review (and
// inventory, for a template that reads it) under the same engines produced before: a check with the
// cache reports exactly what a check without it reports, whatever the cache was filled with.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CachingDriver, checkRepo, deterministicCode, MemoryResultStore, type PolicyDriver, type Report, type ResultStore, type TemplateCode, type WorkOptions } from '../../src/engine/index.js';
import { startEngineRuntime } from '../../src/runtime.js';
import { engine, fixturesDir, testCacheDir } from '../helpers/engine.js';
import { MemorySource } from '../helpers/memory-source.js';
import { constraintOf, regoTemplate } from '../helpers/policy-builders.js';

const requiredLabels = readFileSync(join(fixturesDir, 'gatekeeper-library', 'general', 'requiredlabels', 'template.yaml'), 'utf8');

/** A referential template: a Namespace may not share its team with another one (data.inventory). */
function uniqueTeam(message = 'team %v is also %v\'s'): string {
  return regoTemplate(
    'K8sUniqueTeam',
    `package k8suniqueteam

violation contains {"msg": msg} if {
  team := input.review.object.metadata.labels.team
  some name
  other := data.inventory.cluster.v1.Namespace[name]
  name != input.review.object.metadata.name
  other.metadata.labels.team == team
  msg := sprintf(${JSON.stringify(message)}, [team, name])
}
`,
  );
}

function namespace(name: string, labels: Record<string, string>): string {
  return stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
}

interface Corpus {
  labels?: string[];
  message?: string;
  shop?: Record<string, string>;
  billingTeam?: string;
  gatekeeper?: Record<string, unknown>;
}

/** Two Namespaces under the library's required labels (CEL and Rego) and the referential template. */
function corpus({ labels = ['owner'], message, shop = { team: 'payments' }, billingTeam = 'payments', gatekeeper }: Corpus = {}): MemorySource {
  return new MemorySource({
    '.securitytower/cluster.yaml': stringify({ apiVersion: 'securitytower.io/v1alpha1', kind: 'Cluster', metadata: { name: 'prod' }, spec: { policies: { path: 'cluster/policies' }, ...(gatekeeper ? { gatekeeper } : {}) } }),
    'cluster/policies/requiredlabels.yaml': requiredLabels,
    'cluster/policies/must-have-labels.yaml': constraintOf('K8sRequiredLabels', 'must-have-labels', { match: { kinds: [{ apiGroups: [''], kinds: ['Namespace'] }] }, parameters: { labels: labels.map((key) => ({ key })) } }),
    'cluster/policies/uniqueteam.yaml': uniqueTeam(message),
    'cluster/policies/unique-team.yaml': constraintOf('K8sUniqueTeam', 'unique-team', { match: { kinds: [{ apiGroups: [''], kinds: ['Namespace'] }] } }),
    'cluster/namespaces/shop.yaml': namespace('shop', shop),
    'cluster/namespaces/billing.yaml': namespace('billing', { team: billingTeam, owner: 'ledger' }),
  });
}

/** What a report says: every finding and error with its place. */
const said = (report: Report) => JSON.stringify({ errors: report.errors, clusters: report.clusters.map((c) => ({ violations: c.violations, errors: c.errors })) });

function cached(store: ResultStore, identity = 'engines-1'): CachingDriver {
  return new CachingDriver(engine().driver, store, async () => identity);
}

async function checkWith(driver: CachingDriver | undefined, source: MemorySource): Promise<Report> {
  return checkRepo(source, { driver: driver ?? engine().driver, renderer: engine().renderer });
}

/** The report of `checked` with a cache filled by a check of `filledBy`, and the report without a cache. */
async function afterFilling(filledBy: MemorySource, checked: () => MemorySource): Promise<{ withCache: string; without: string; driver: CachingDriver }> {
  const store = new MemoryResultStore();
  await checkWith(cached(store), filledBy);
  const driver = cached(store);
  const withCache = said(await checkWith(driver, checked()));
  return { withCache, without: said(await checkWith(undefined, checked())), driver };
}

describe('the result cache', () => {
  it('answers a second check of the same tree without evaluating, and reports what an uncached check reports', async () => {
    const store = new MemoryResultStore();
    const first = cached(store);
    const uncached = said(await checkWith(undefined, corpus()));
    expect(said(await checkWith(first, corpus()))).toBe(uncached);
    expect(first.stats).toMatchObject({ hits: 0 });
    expect(first.stats.misses).toBeGreaterThan(0);
    const second = cached(store);
    const report = await checkWith(second, corpus());
    expect(said(report)).toBe(uncached);
    expect(second.stats).toEqual({ hits: first.stats.misses, misses: 0 });
    // The corpus is not vacuous: each template reports something the others do not.
    expect(report.clusters[0]!.violations.map((v) => `${v.constraint} ${v.object.name}: ${v.message}`)).toEqual(
      expect.arrayContaining(['must-have-labels shop: missing required label, requires all of: owner', "unique-team shop: team payments is also billing's", "unique-team billing: team payments is also shop's"]),
    );
  });

  it("does not answer with another constraint's outcome: the parameters are part of the key", async () => {
    const { withCache, without } = await afterFilling(corpus({ labels: ['team'] }), () => corpus({ labels: ['owner'] }));
    expect(without).toContain('requires all of: owner');
    expect(withCache).toBe(without);
  });

  it("does not answer with another version of the template's outcome: its code is part of the key", async () => {
    const { withCache, without } = await afterFilling(corpus({ message: 'team %v is also %v\'s' }), () => corpus({ message: 'team %v is taken by %v' }));
    expect(without).toContain('team payments is taken by billing');
    expect(withCache).toBe(without);
  });

  it('does not answer a referential template with an outcome under another inventory, though the object is the same', async () => {
    const { withCache, without } = await afterFilling(corpus({ billingTeam: 'payments' }), () => corpus({ billingTeam: 'ledger' }));
    expect(without).not.toContain('unique-team');
    expect(withCache).toBe(without);
  });

  it('does not answer with the outcome of another object', async () => {
    const { withCache, without } = await afterFilling(corpus({ shop: { team: 'payments' } }), () => corpus({ shop: { team: 'payments', owner: 'web' } }));
    expect(without).not.toContain('requires all of: owner');
    expect(withCache).toBe(without);
  });

  it("does not answer the template's Rego with what its CEL said (the cluster's k8sNativeValidation setting)", async () => {
    const { withCache, without } = await afterFilling(corpus(), () => corpus({ gatekeeper: { k8sNativeValidation: false } }));
    expect(without).toContain('"engine":"Rego"');
    expect(withCache).toBe(without);
  });

  it('does not answer under other engines (another opa, CEL helper or Parapet)', async () => {
    const store = new MemoryResultStore();
    await checkWith(cached(store, 'engines-1'), corpus());
    const other = cached(store, 'engines-2');
    await checkWith(other, corpus());
    expect(other.stats.hits).toBe(0);
  });

  it('hands the driver no template when the cache answers every evaluation, and the one an edited object needs', async () => {
    const store = new MemoryResultStore();
    await checkWith(cached(store), corpus());
    const loads: string[] = [];
    // The real driver, noting which templates it is asked to load.
    const real = engine().driver;
    const counting: PolicyDriver = {
      loadTemplate: (code: TemplateCode, options?: WorkOptions) => (loads.push(code.engine), real.loadTemplate(code, options)),
      addText: (json) => real.addText(json),
      evaluate: (tasks, options) => real.evaluate(tasks, options),
      release: (templates, texts) => real.release(templates, texts),
      parseYamlFiles: (files, limits, options) => real.parseYamlFiles(files, limits, options),
    };
    const warm = new CachingDriver(counting, store, async () => 'engines-1');
    expect(said(await checkWith(warm, corpus()))).toBe(said(await checkWith(undefined, corpus())));
    expect(loads).toEqual([]);
    const edited = new CachingDriver(counting, store, async () => 'engines-1');
    const changed = () => corpus({ shop: { team: 'payments', owner: 'web' } });
    expect(said(await checkWith(edited, changed()))).toBe(said(await checkWith(undefined, changed())));
    // The shop Namespace changed: both templates evaluate it again, and the referential one billing
    // too (the inventory changed with shop); billing's required labels are the cache's.
    expect(loads.sort()).toEqual(['K8sNativeValidation', 'Rego']);
    expect(edited.stats).toEqual({ hits: 1, misses: 3 });
  });

  it('never caches a template that reads the clock: each check evaluates it again', async () => {
    const clock = new MemorySource({
      '.securitytower/cluster.yaml': stringify({ apiVersion: 'securitytower.io/v1alpha1', kind: 'Cluster', metadata: { name: 'prod' }, spec: { policies: { path: 'cluster/policies' } } }),
      'cluster/policies/clock.yaml': regoTemplate('K8sClock', 'package k8sclock\n\nviolation contains {"msg": sprintf("checked at %d", [time.now_ns()])} if input.review.object.kind == "Namespace"\n'),
      'cluster/policies/clock-constraint.yaml': constraintOf('K8sClock', 'clock', { match: { kinds: [{ apiGroups: [''], kinds: ['Namespace'] }] } }),
      'cluster/namespaces/shop.yaml': namespace('shop', {}),
    });
    const store = new MemoryResultStore();
    const messages = async () => {
      const driver = cached(store);
      const report = await checkWith(driver, clock);
      expect(driver.stats.hits).toBe(0);
      return report.clusters[0]!.violations.map((v) => v.message);
    };
    const first = await messages();
    expect(first).toEqual([expect.stringMatching(/^checked at \d+$/)]);
    expect(await messages()).not.toEqual(first);
    expect(store.size.entries).toBe(0);
  });

  it('never caches an evaluation error: it is evaluated again', async () => {
    const failing = new MemorySource({
      '.securitytower/cluster.yaml': stringify({ apiVersion: 'securitytower.io/v1alpha1', kind: 'Cluster', metadata: { name: 'prod' }, spec: { policies: { path: 'cluster/policies' } } }),
      'cluster/policies/divide.yaml': regoTemplate('K8sDivide', 'package k8sdivide\n\nmode := "a" if input.review.object.kind == "Namespace"\n\nmode := "b" if input.review.object.kind == "Namespace"\n\nviolation contains {"msg": mode} if true\n'),
      'cluster/policies/divide-constraint.yaml': constraintOf('K8sDivide', 'divide', { match: { kinds: [{ apiGroups: [''], kinds: ['Namespace'] }] } }),
      'cluster/namespaces/shop.yaml': namespace('shop', {}),
    });
    const store = new MemoryResultStore();
    const uncached = said(await checkWith(undefined, failing));
    expect(uncached).toContain('eval_conflict_error');
    expect(said(await checkWith(cached(store), failing))).toBe(uncached);
    const second = cached(store);
    expect(said(await checkWith(second, failing))).toBe(uncached);
    expect(second.stats).toEqual({ hits: 0, misses: 1 });
    // Only the template's load is kept, no outcome.
    expect(store.size.entries).toBe(1);
  });
});

describe('which templates are cached', () => {
  const rego = (text: string, libs: string[] = []) => ({ engine: 'Rego' as const, source: { rego: text, libs, version: 'v1' as const } });

  it("finds the clock, randomness, UUIDs, DNS and the runtime however they are called, in the template's libraries too", () => {
    expect(deterministicCode(rego('package a\nx := time.now_ns()'))).toBe(false);
    expect(deterministicCode(rego('package a\nx := time["now_ns"]()'))).toBe(false);
    expect(deterministicCode(rego('package a\nx := rand.intn("k", 10)'))).toBe(false);
    expect(deterministicCode(rego('package a\nx := uuid.rfc4122("k")'))).toBe(false);
    expect(deterministicCode(rego('package a\nx := net.lookup_ip_addr("example.com")'))).toBe(false);
    expect(deterministicCode(rego('package a\nx := opa.runtime()'))).toBe(false);
    expect(deterministicCode(rego('package a\nx := io.jwt.decode_verify(t, {})'))).toBe(false);
    expect(deterministicCode(rego('package a\nx := crypto.x509.parse_and_verify_certificates(c)'))).toBe(false);
    expect(deterministicCode(rego('package a\nx := 1', ['package lib\nnow := time.now_ns()']))).toBe(false);
  });

  it('caches templates whose builtins are functions of their arguments, and CEL', () => {
    expect(deterministicCode(rego('package a\nx := time.parse_rfc3339_ns("2020-01-01T00:00:00Z")\ny := "runtime/default"'))).toBe(true);
    expect(deterministicCode({ engine: 'K8sNativeValidation', source: { template: {} } })).toBe(true);
  });
});

describe("the App's result cache", () => {
  const config = { cacheDir: testCacheDir, resultCacheDir: 'unused: the App keeps it in memory', opaPath: undefined, celPath: undefined, workers: 1, evalTimeoutMs: 5000, parseTimeoutMs: 20_000, compileTimeoutMs: 60_000, workerMemoryMb: 512 };

  it("is one store in memory for the process: a pull request's base reuses its head's outcomes for every unchanged object", async () => {
    const runtime = startEngineRuntime(config, { resultCache: 'memory' });
    try {
      const driver = runtime.driver as CachingDriver;
      expect(driver).toBeInstanceOf(CachingDriver);
      const head = corpus({ shop: { team: 'payments', owner: 'web' }, billingTeam: 'ledger' });
      const base = corpus({ billingTeam: 'ledger' });
      // As the pull-request handler does: the head, then the base with the head's policies.
      const headReport = await checkRepo(head, { driver, renderer: engine().renderer });
      expect(driver.stats).toEqual({ hits: 0, misses: 4 });
      const baseReport = await checkRepo(base, { driver, renderer: engine().renderer, policies: head });
      // billing is the same in both: its required labels are the head's outcome; unique-team reads
      // the inventory, which shop's new label changed, so it is evaluated again.
      expect(driver.stats).toEqual({ hits: 1, misses: 7 });
      expect(said(headReport)).toBe(said(await checkWith(undefined, head)));
      expect(said(baseReport)).toBe(said(await checkRepo(base, { ...engine(), policies: head })));
    } finally {
      await runtime.close();
    }
  });

  it('is off when PARAPET_CACHE_DIR is empty, as every other cache', async () => {
    const runtime = startEngineRuntime({ ...config, resultCacheDir: null }, { resultCache: 'memory' });
    try {
      expect(runtime.driver).not.toBeInstanceOf(CachingDriver);
    } finally {
      await runtime.close();
    }
  });
});

describe("the App's store in memory", () => {
  it('drops the least recently used outcomes beyond its size, a lookup renewing one', () => {
    const entry = (n: number) => `entry-${n}`;
    // Each entry: group, tab, entry and outcome, 27 characters; room for three.
    const store = new MemoryResultStore(81);
    for (const n of [1, 2, 3]) store.set('group', entry(n), '{"results":[]}');
    expect(store.size).toEqual({ entries: 3, bytes: 81 });
    expect(store.get('group', entry(1))).toBe('{"results":[]}');
    store.set('group', entry(4), '{"results":[]}');
    expect(store.get('group', entry(2))).toBeUndefined();
    expect([1, 3, 4].map((n) => store.get('group', entry(n)))).toEqual(['{"results":[]}', '{"results":[]}', '{"results":[]}']);
    expect(store.size).toEqual({ entries: 3, bytes: 81 });
  });
});
