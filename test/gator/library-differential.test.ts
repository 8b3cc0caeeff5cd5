import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatorTestAsync, resultKey } from '../../bench/gator.js';
import { files, libraryRepo } from '../../bench/library-repo.js';
import { FsSource } from '../../src/cli/fs-source.js';
import { verifySuites, type Report } from '../../src/engine/index.js';
import { check, engine, fixturesDir, repoRoot } from '../helpers/engine.js';

// Issue #11's measure: Gatekeeper's gator v3.23.1 against Parapet on the whole gatekeeper-library
// (commit 5c441fb6, all 49 templates): the 16 templates with CEL (test/fixtures/gatekeeper-library)
// and the 33 Rego-only ones (test/fixtures/gatekeeper-library-rego; five of them referential), every
// suite, and every result on a repository of generated workloads, objects for the referential
// templates, and every sample object under every sample constraint,
// compared as (object, constraint, action, message): with gator's defaults (CEL on) and with Rego
// forced (gator --enable-k8s-native-validation=false, the Cluster's k8sNativeValidation: false).
//
// Not compared here, each for its reason (docs/fidelity.md, "Evidence"):
const NOT_COMPARED = {
  // Samples that are AdmissionReviews (UPDATE requests with an oldObject) are not manifests a
  // repository holds: `check` reviews what is applied, as audit does. The suites compare them.
  'samples/*/update.yaml': 'AdmissionReview samples: compared through the suites (gator verify and parapet verify), not as objects',
} as const;

// Templates that can find nothing on manifests, compared through their suites only.
const SILENT = {
  // Its constraint matches the ClusterRole system:aggregate-to-edit by name; samples are renamed so
  // that the library's objects do not collide in one cluster.
  'block-endpoint-edit-default-role': 'matches one object by name',
  // It judges UPDATE requests against their oldObject, which a manifest (audit, gator test) lacks.
  noupdateserviceaccount: 'UPDATE requests only',
} as const;

// What the referential objects (bench/library-repo.ts) give the referential templates in gator: for
// each constraint the objects it finds and some it passes, so that the comparison covers both.
const REFERENTIAL = {
  'uniqueingresshost-unique-ingress-host': { finds: ['Ingress team-1/shared-host-a', 'Ingress team-2/shared-host-b'], passes: ['Ingress team-2/own-host'] },
  'uniqueserviceselector-unique-service-selector': { finds: ['Service team-3/twin-a', 'Service team-3/twin-b', 'Service team-4/twin-elsewhere'], passes: ['Service team-4/single'] },
  'storageclass-storageclass': { finds: ['PersistentVolumeClaim team-5/data-slow', 'PersistentVolumeClaim team-5/data-default'], passes: ['PersistentVolumeClaim team-5/data-fast', 'StatefulSet team-5/store'] },
  'storageclass-storageclass-allowlist': { finds: ['PersistentVolumeClaim team-5/data-fast', 'StatefulSet team-5/store'], passes: [] },
  'poddisruptionbudget-poddisruptionbudget': { finds: ['Deployment team-6/guarded', 'PodDisruptionBudget team-6/guarded'], passes: ['Deployment team-6/relaxed', 'PodDisruptionBudget team-6/relaxed'] },
  'horizontalpodautoscaler-horizontalpodautoscaler': {
    finds: ['HorizontalPodAutoscaler team-6/too-narrow', 'HorizontalPodAutoscaler team-6/too-wide', 'HorizontalPodAutoscaler team-6/no-target'],
    passes: ['HorizontalPodAutoscaler team-6/in-range'],
  },
} as const;

const gator = join(repoRoot, 'tools', 'bin', 'gator');
const libraries = [join(fixturesDir, 'gatekeeper-library'), join(fixturesDir, 'gatekeeper-library-rego')];
const expansion = join(repoRoot, 'policies', 'expansion.yaml');
// Generated objects cycle through the generator's variations (kinds, images, resources, security
// contexts) every few dozen; with every sample object this gives each template hits and misses.
const GENERATED = 120;

let dir: string;

beforeAll(() => {
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build-go-tool.mjs'), 'gator'], { stdio: 'inherit' });
  dir = mkdtempSync(join(tmpdir(), 'parapet-library-differential-'));
}, 15 * 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** What `a` has that `b` lacks, counting repeats (a result reported twice is two results). */
function difference(a: readonly string[], b: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const key of b) left.set(key, (left.get(key) ?? 0) + 1);
  return [...a].sort().filter((key) => {
    const n = left.get(key) ?? 0;
    if (n > 0) left.set(key, n - 1);
    return n === 0;
  });
}

function ours(report: Report): string[] {
  return report.clusters.flatMap((c) => c.violations.map((v) => resultKey({ ...v.object, constraint: v.constraint, message: v.message, action: v.enforcementAction })));
}

const templateFolders = () => libraries.flatMap((library) => files(library, (name) => name === 'template.yaml').map((t) => relative(library, join(t, '..'))));

describe('Gatekeeper’s gator and Parapet agree on the whole gatekeeper-library the tests carry', () => {
  engine();

  it('holds all 49 templates, and names every one it leaves out', () => {
    expect(templateFolders()).toHaveLength(49);
    expect(Object.keys(NOT_COMPARED).filter((name) => templateFolders().includes(name))).toEqual([]);
  });

  // The 16 CEL templates' suites are cel-differential.test.ts's, in both engines; these have Rego only
  // (the referential ones' cases put their `inventory:` objects in data.inventory, as gator does).
  it('gator passes every suite of the Rego-only templates, and so does parapet verify', async () => {
    const rego = libraries[1]!;
    const run = execFileSync(gator, ['verify', `${rego}/...`], { encoding: 'utf8' });
    expect(run).toMatch(/ok/);
    const suites = files(rego, (name) => name === 'suite.yaml');
    expect(suites).toHaveLength(33);
    const reader = { read: async (path: string) => readFileSync(path, 'utf8') };
    const results = await verifySuites(suites, { ...engine(), reader });
    const failures = results.flatMap((s) => [
      ...(s.error ? [`${s.file}: ${s.error}`] : []),
      ...s.tests.flatMap((t) => [...(t.error ? [`${s.file} ${t.name}: ${t.error}`] : []), ...t.cases.filter((c) => !c.passed).map((c) => `${s.file} ${t.name} / ${c.name}: ${c.error}`)]),
    ]);
    expect(failures).toEqual([]);
  }, 300_000);

  it('gives the same (object, constraint, action, message) as gator test on generated objects and every sample, CEL on and Rego forced', async () => {
    const cel = join(dir, 'cel');
    libraryRepo(cel, GENERATED, libraries);
    // The same repository for a cluster that runs Rego only.
    const rego = join(dir, 'rego');
    cpSync(cel, rego, { recursive: true });
    const config = join(rego, '.securitytower', 'cluster.yaml');
    const cluster = parseAllDocuments(readFileSync(config, 'utf8'))[0]!.toJS() as { spec: Record<string, unknown> };
    cluster.spec.gatekeeper = { k8sNativeValidation: false };
    writeFileSync(config, stringify(cluster));

    // gator runs in its own processes while Parapet checks.
    const theirs = {
      cel: gatorTestAsync(gator, [join(cel, 'cluster'), expansion], { k8sNativeValidation: true, withAction: true }),
      rego: gatorTestAsync(gator, [join(rego, 'cluster'), expansion], { k8sNativeValidation: false, withAction: true }),
    };
    const mine = { cel: await check(new FsSource(cel), { everyResult: true }), rego: await check(new FsSource(rego), { everyResult: true }) };
    const folders = templateFolders().map((folder) => folder.split('/').pop()!);
    for (const mode of ['cel', 'rego'] as const) {
      const report = mine[mode];
      const { results: gatorResults } = await theirs[mode];
      expect(report.errors).toEqual([]);
      // The library's own Rego fails on a few sample objects (eval_conflict_error), in gator too:
      // those are results compared below, and input errors of Parapet's; nothing else is.
      expect(report.clusters[0]!.errors.filter((e) => e.code !== 'evaluation')).toEqual([]);
      // The repository is what a cluster receives: nothing the API server would drop.
      expect(report.clusters[0]!.warnings ?? []).toEqual([]);
      // Every sample constraint of every template.
      expect(report.clusters[0]!.stats.constraints).toBe(libraries.flatMap((library) => files(library, (name) => /^constraint\d*\.yaml$/.test(name))).length);
      // Every template of the library finds something, so none takes part by doing nothing.
      expect(folders.filter((folder) => !gatorResults.some((key) => key.startsWith(`${folder}-`)))).toEqual(Object.keys(SILENT));
      const finds = (constraint: string, object: string) => gatorResults.some((key) => key.startsWith(`${constraint} | ${object} | `));
      expect(
        Object.entries(REFERENTIAL).flatMap(([constraint, { finds: found, passes }]) => [
          ...found.filter((object) => !finds(constraint, object)).map((object) => `${constraint} does not find ${object}`),
          ...passes.filter((object) => finds(constraint, object)).map((object) => `${constraint} finds ${object}`),
        ]),
      ).toEqual([]);
      const parapetResults = ours(report);
      const onlyGator = difference(gatorResults, parapetResults);
      const onlyParapet = difference(parapetResults, gatorResults);
      console.info(`library differential (${mode}): gator ${gatorResults.length} results, Parapet ${parapetResults.length}; only in gator ${onlyGator.length}, only in Parapet ${onlyParapet.length}`);
      // Lists too are compared as they are: a comprehension over an object or a set (storageclass
      // lists the cluster's StorageClasses so) gives Go OPA's sorted order in Parapet as well.
      expect({ mode, onlyGator: onlyGator.slice(0, 40), onlyParapet: onlyParapet.slice(0, 40) }).toEqual({ mode, onlyGator: [], onlyParapet: [] });
    }
  }, 300_000);
});
