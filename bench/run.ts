// `npm run bench [-- --quick]`: prints throughput, cold and warm times and peak memory of
// `parapet check` on generated repositories of growing size (cost must grow linearly with objects).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Report } from '../src/engine/index.js';
import { generateRepo } from './generate-repo.js';

// The product as users run it: the built dist/ (plain JS workers), with the source's types.
const dist = (path: string) => new URL(`../dist/${path}`, import.meta.url).href;
const { FsSource } = (await import(dist('cli/fs-source.js'))) as typeof import('../src/cli/fs-source.js');
const { checkRepo, EvaluationPool, errorCount } = (await import(dist('engine/index.js'))) as typeof import('../src/engine/index.js');
const { OpaCompiler } = (await import(dist('opa/opa-compiler.js'))) as typeof import('../src/opa/opa-compiler.js');

const quick = process.argv.includes('--quick');
const sizes = quick ? [1000, 2000] : [2500, 5000, 10000];
const CONSTRAINTS = 30;
const templates = fileURLToPath(new URL('../test/fixtures/templates', import.meta.url));
// gator test on the same kind of machine: 480 workloads/s (shared/spec/gatekeeper.md §9). With
// GATOR=/path/to/gator, the benchmark also runs gator on the very same repository and compares.
const GATOR_WORKLOADS_PER_SECOND = 480;
const gator = process.env.GATOR && existsSync(process.env.GATOR) ? process.env.GATOR : undefined;

async function main(): Promise<void> {
  console.log(`parapet check benchmark (${quick ? 'quick' : 'full'}): ${CONSTRAINTS} constraints, sizes ${sizes.join(', ')}`);
  const rows: string[][] = [['objects', 'workloads', 'cold s', 'warm s', 'evaluations', 'evals/s', 'objects×constraints/s', 'workloads/s', 'vs gator', 'µs/object']];
  for (const size of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-bench-'));
    const cache = mkdtempSync(join(tmpdir(), 'parapet-bench-cache-'));
    try {
      const repo = generateRepo(join(dir, 'repo'), size, templates, CONSTRAINTS);
      const pool = EvaluationPool.start({ timeoutMs: 10_000 });
      const compiler = new OpaCompiler({ cacheDir: cache });
      try {
        const run = async () => {
          const started = performance.now();
          const report = await checkRepo(new FsSource(join(dir, 'repo')), { compiler, pool });
          return { seconds: (performance.now() - started) / 1000, report };
        };
        const cold = await run();
        const warm = await run();
        check(warm.report, repo.constraints);
        const evaluations = warm.report.clusters.reduce((sum, c) => sum + c.stats.evaluations, 0);
        if (gator) gatorRuns.push(compareWithGator(gator, join(dir, 'repo'), repo.workloads, warm.seconds, warm.report));
        const workloadsPerSecond = repo.workloads / warm.seconds;
        rows.push([
          String(repo.objects),
          String(repo.workloads),
          cold.seconds.toFixed(2),
          warm.seconds.toFixed(2),
          String(evaluations),
          Math.round(evaluations / warm.seconds).toString(),
          Math.round((repo.objects * repo.constraints) / warm.seconds).toString(),
          Math.round(workloadsPerSecond).toString(),
          `${(workloadsPerSecond / GATOR_WORKLOADS_PER_SECOND).toFixed(1)}×`,
          ((warm.seconds * 1e6) / repo.objects).toFixed(0),
        ]);
      } finally {
        await pool.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(cache, { recursive: true, force: true });
    }
  }
  printTable(rows);
  if (gatorRuns.length > 0) {
    console.log('\ngator test on the same repositories (same templates, constraints, manifests and expansion):');
    for (const line of gatorRuns) console.log(`  ${line}`);
  } else {
    console.log(`\n"vs gator" uses gator's ${GATOR_WORKLOADS_PER_SECOND} workloads/s measured on this kind of machine; set GATOR=/path/to/gator to run it here.`);
  }
  console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (whole process: generation, workers and all runs)`);
}

const gatorRuns: string[] = [];

/** Runs gator test on the repository and compares its results with Parapet's, one by one. */
function compareWithGator(binary: string, repo: string, workloads: number, parapetSeconds: number, report: Report): string {
  const expansion = join(repo, '..', 'expansion.yaml');
  writeFileSync(expansion, GATOR_EXPANSION);
  const started = performance.now();
  let output: string;
  try {
    output = execFileSync(binary, ['test', '--enable-k8s-native-validation=false', '-f', join(repo, 'cluster'), '-f', expansion, '-o', 'json'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  } catch (error) {
    output = String((error as { stdout?: string }).stdout ?? ''); // gator exits 1 when it finds violations
  }
  const seconds = (performance.now() - started) / 1000;
  const theirs = (JSON.parse(output) as Array<{ msg: string; constraint: { metadata: { name: string } }; violatingObject: { kind: string; metadata: { name: string; namespace?: string } } }>).map(
    (r) => `${r.constraint.metadata.name}|${r.violatingObject.kind}|${r.violatingObject.metadata.namespace ?? ''}|${r.violatingObject.metadata.name}|${r.msg}`,
  );
  const ours = report.clusters.flatMap((c) => c.violations.map((v) => `${v.constraint}|${v.object.kind}|${v.object.namespace ?? ''}|${v.object.name}|${v.message}`));
  const same = multisetEqual(theirs, ours);
  return `${workloads} workloads: gator ${seconds.toFixed(2)} s (${Math.round(workloads / seconds)} workloads/s), parapet warm ${parapetSeconds.toFixed(2)} s: ${(seconds / parapetSeconds).toFixed(1)}× faster; results ${same ? 'identical' : 'DIFFER'} (${theirs.length} gator, ${ours.length} parapet)`;
}

function multisetEqual(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const x = [...a].sort();
  const y = [...b].sort();
  return x.every((value, i) => value === y[i]);
}

// Parapet's default expansion, written for gator, which expands only with explicit templates.
const GATOR_EXPANSION = `apiVersion: expansion.gatekeeper.sh/v1alpha1
kind: ExpansionTemplate
metadata:
  name: expand-workloads
spec:
  applyTo:
    - groups: ["apps"]
      kinds: ["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"]
      versions: ["v1"]
    - groups: [""]
      kinds: ["ReplicationController"]
      versions: ["v1"]
    - groups: ["batch"]
      kinds: ["Job"]
      versions: ["v1"]
  templateSource: "spec.template"
  generatedGVK: {group: "", version: "v1", kind: Pod}
---
apiVersion: expansion.gatekeeper.sh/v1alpha1
kind: ExpansionTemplate
metadata:
  name: expand-cronjobs
spec:
  applyTo:
    - groups: ["batch"]
      kinds: ["CronJob"]
      versions: ["v1", "v1beta1"]
  templateSource: "spec.jobTemplate.spec.template"
  generatedGVK: {group: "", version: "v1", kind: Pod}
`;

function check(report: Report, constraints: number): void {
  const loaded = report.clusters[0]?.stats.constraints ?? 0;
  if (loaded !== constraints || errorCount(report) > 0) {
    const errors = [...report.errors, ...report.clusters.flatMap((c) => c.errors)].slice(0, 5).map((e) => `${e.location.file}:${e.location.line} ${e.message}`);
    throw new Error(`benchmark repository did not load cleanly (${loaded}/${constraints} constraints): ${errors.join('; ')}`);
  }
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows) console.log(row.map((cell, i) => cell.padStart(widths[i]!)).join('  '));
}

await main();
