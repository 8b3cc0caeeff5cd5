// `npm run bench [-- --quick] [-- --overview | --library | --render]`: prints throughput, cold and
// warm times and peak memory of `parapet check` on generated repositories of growing size (cost must
// grow linearly with objects). `--overview` runs only the overview's pages section, `--library` only
// the gatekeeper-library section (issue 12's cold and warm targets against gator), `--render` only
// the render cache's 200 overlays.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configDefaults } from '../src/config.js';
import { benchAppLoad, loadUnavailable, type LoadOptions } from './app-load.js';
import { benchAppPullRequest } from './app-pull-request.js';
import { benchOverview, WARM_UP, type OverviewFigures } from './overview.js';
import { findPostgresBin, postgresUnavailable, startPostgres } from '../test/helpers/postgres.js';
import { generateRepo } from './generate-repo.js';
import { gatorTest, resultKey, type ResultIdentity } from './gator.js';
import { benchLibrary, printLibrary } from './library-bench.js';
import { benchRenderCache, printRenderCache } from './render-cache.js';
import { RegoDriver } from '../src/engine/index.js';
import { OpaCompiler } from '../src/opa/opa-compiler.js';

const quick = process.argv.includes('--quick');
const libraryOnly = process.argv.includes('--library');
const sizes = quick ? [1000, 2000] : [2500, 5000, 10000];
// The GitHub App section: a pull request touching `touched` of `manifests` manifests.
const appPullRequest = quick ? { manifests: 1000, touched: 100 } : { manifests: 10000, touched: 1000 };
// The App under load in scale-out mode (README "Scale-out"); --quick: fewer, sooner, still a kill.
// The render cache section: overlays over shared bases (--quick: fewer, the same shape).
const renderCache = quick ? { overlays: 40, bases: 10 } : { overlays: 200, bases: 20 };
const appLoad: LoadOptions = quick ? { pulls: 40, installations: 10, windowSeconds: 10, killAtSeconds: 2 } : { pulls: 200, installations: 20, windowSeconds: 60, killAtSeconds: 30 };
/** Target: webhook → completed check run, 95th percentile under load. */
const LOAD_P95_TARGET_SECONDS = 30;
const CONSTRAINTS = 30;
const templates = fileURLToPath(new URL('../test/fixtures/templates', import.meta.url));
// gator test on the same kind of machine: 480 workloads/s (shared/spec/gatekeeper.md §9).
const GATOR_WORKLOADS_PER_SECOND = 480;
// With GATOR=/path/to/gator (or gator built into tools/bin by the differential tests), the benchmark
// also runs gator on the very same repositories and compares every result.
const builtGator = fileURLToPath(new URL('../tools/bin/gator', import.meta.url));
const gator = [process.env.GATOR, builtGator].find((path) => path && existsSync(path));

async function main(): Promise<void> {
  // The overview's pages and API alone (PGlite, and PostgreSQL when installed): minutes, not the whole run.
  if (process.argv.includes('--overview')) return overviewSection();
  if (process.argv.includes('--render')) return renderCacheSection();
  if (libraryOnly) {
    const runs = quick ? 1 : 3;
    printLibrary(benchLibrary(gator, runs), runs);
    return;
  }
  console.log(`parapet check benchmark (${quick ? 'quick' : 'full'}): ${CONSTRAINTS} constraints, sizes ${sizes.join(', ')}`);
  const rows: string[][] = [['objects', 'workloads', 'cold s', 'warm s', 'warm peak RSS MiB', 'evaluations', 'evals/s', 'objects×constraints/s', 'workloads/s', 'µs/object']];
  for (const size of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-bench-'));
    const cache = mkdtempSync(join(tmpdir(), 'parapet-bench-cache-'));
    try {
      const repo = generateRepo(join(dir, 'repo'), size, templates, CONSTRAINTS);
      // Each run is a fresh process, as the CLI is: cold compiles every template, warm finds them cached.
      const cold = checkOnce(join(dir, 'repo'), cache);
      const warm = checkOnce(join(dir, 'repo'), cache);
      if (warm.constraints !== repo.constraints || warm.errors > 0) {
        throw new Error(`benchmark repository did not load cleanly (${warm.constraints}/${repo.constraints} constraints): ${warm.firstErrors.join('; ')}`);
      }
      const workloadsPerSecond = repo.workloads / warm.seconds;
      rows.push([
        String(repo.objects),
        String(repo.workloads),
        cold.seconds.toFixed(2),
        warm.seconds.toFixed(2),
        warm.maxRssMiB.toFixed(0),
        String(warm.evaluations),
        Math.round(warm.evaluations / warm.seconds).toString(),
        Math.round((repo.objects * repo.constraints) / warm.seconds).toString(),
        Math.round(workloadsPerSecond).toString(),
        ((warm.seconds * 1e6) / repo.objects).toFixed(0),
      ]);
      if (gator) gatorRuns.push(compareWithGator(gator, join(dir, 'repo'), repo.workloads, warm.seconds, warm.violations.map(resultKey)));
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
    const best = Math.max(...rows.slice(1).map((r) => Number(r[8])));
    console.log(`\ngator's figure on this kind of machine is ${GATOR_WORKLOADS_PER_SECOND} workloads/s (43 library templates, no expansion): parapet ${best} workloads/s = ${(best / GATOR_WORKLOADS_PER_SECOND).toFixed(1)}×.`);
    console.log('Set GATOR=/path/to/gator (or build it: node scripts/build-go-tool.mjs gator) to run gator on the very same repositories and compare every result.');
  }
  const runs = quick ? 1 : 3;
  printLibrary(benchLibrary(gator, runs), runs);
  await renderCacheSection();
  await appSection();
  await loadSection();
  await overviewSection();
}

/**
 * The overview page and API over a large inventory (target: p95 under 200 ms), on the embedded
 * PGlite (the default deployment) and, when PostgreSQL's server binaries are installed, on a
 * throwaway PostgreSQL cluster started the way the store tests start theirs.
 */
async function overviewSection(): Promise<void> {
  const rows = quick ? 5_000 : 50_000;
  const requests = quick ? 10 : 40;
  const runs: { backend: string; figures: OverviewFigures }[] = [{ backend: 'embedded PGlite', figures: await benchOverview(rows, 20, requests) }];
  const unavailable = postgresUnavailable();
  if (unavailable) console.log(`\n(PostgreSQL figures skipped: ${unavailable})`);
  else {
    const server = await startPostgres();
    try {
      runs.push({ backend: `PostgreSQL ${basename(dirname(findPostgresBin()!))}`, figures: await benchOverview(rows, 20, requests, { url: await server.createDatabase() }) });
    } finally {
      await server.stop();
    }
  }
  const first = runs[0]!.figures;
  console.log(`\nOverview: ${first.rows} inventory rows across ${first.clusters} clusters, a signed-in user, ${requests} requests per route after ${WARM_UP} to warm up (p50 / p95 ms)`);
  const width = Math.max(...[...first.latencies.keys()].map((route) => route.length)) + 2;
  console.log(`  ${'route'.padEnd(width)}${runs.map((r) => r.backend.padStart(24)).join('')}`);
  for (const route of first.latencies.keys()) {
    const cells = runs.map((r) => {
      const [p50, p95] = r.figures.latencies.get(route)!;
      return `${p50.toFixed(0)} / ${p95.toFixed(0)}`.padStart(24);
    });
    console.log(`  ${route.padEnd(width)}${cells.join('')}`);
  }
  console.log(`  ${'seeding'.padEnd(width)}${runs.map((r) => `${r.figures.seedSeconds.toFixed(1)} s`.padStart(24)).join('')}`);
  console.log(`  ${'history: first 1,000 objects'.padEnd(width)}${runs.map((r) => `${r.figures.recording.first.toFixed(2)} s`.padStart(24)).join('')}`);
  console.log(`  ${'history: 1,000-object push'.padEnd(width)}${runs.map((r) => `${r.figures.recording.push.toFixed(2)} s (${r.figures.recording.changes})`.padStart(24)).join('')}  (target < 2 s)`);
}

/** Rendering a repository of overlays cold, warm and after touching one base, through the CLI's on-disk render cache. */
async function renderCacheSection(): Promise<void> {
  // No policy is evaluated: the driver only parses YAML.
  const driver = RegoDriver.start({ compiler: new OpaCompiler({ cacheDir: null }), workers: 1, timeoutMs: 10_000 });
  try {
    printRenderCache(await benchRenderCache(driver, renderCache.overlays, renderCache.bases));
  } finally {
    await driver.close();
  }
}

/** The built App server against the fake GitHub, in this process: one signed pull_request.opened delivery. */
async function appSection(): Promise<void> {
  const { manifests, touched } = appPullRequest;
  console.log(`
GitHub App: a pull request touching ${touched} of ${manifests} manifests (one object each; built App server, fake GitHub on loopback, write pacing off)`);
  const r = await benchAppPullRequest(manifests, touched, templates);
  const total = [...r.calls.values()].reduce((a, b) => a + b, 0);
  console.log(`  webhook → check runs completed: ${r.secondsToCompleted.toFixed(2)} s; → review posted, job done: ${r.secondsToIdle.toFixed(2)} s; conclusion ${r.conclusion}`);
  console.log(`  annotations sent: ${r.annotations} in ${r.checkRunUpdates} check run updates (50 per update); review comments: ${r.reviewComments}`);
  console.log(`  API calls: ${total} (${r.writes} writes; GitHub's pacing of one write a second would add about ${r.writes} s):`);
  for (const [endpoint, count] of [...r.calls].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))) console.log(`    ${String(count).padStart(5)}  ${endpoint}`);
}

/**
 * Two App processes (`node dist/main.js`) on one PostgreSQL and one Redis against the fake GitHub,
 * with GitHub's write pacing on; one is killed mid-run. Latency, throughput, takeover, and that every
 * pull request got exactly its one verdict (anything else fails the benchmark).
 */
async function loadSection(): Promise<void> {
  const { pulls, installations, windowSeconds, killAtSeconds } = appLoad;
  const concurrency = process.env.PARAPET_JOB_CONCURRENCY ?? `${configDefaults.jobConcurrency} (the default)`;
  console.log(`
GitHub App under load: ${pulls} pull requests from ${installations} installations over ${windowSeconds} s to two App processes (scale-out: PostgreSQL + Redis, PARAPET_JOB_CONCURRENCY ${concurrency}, writes paced per installation as on GitHub); one process killed with SIGKILL at ${killAtSeconds} s`);
  const unavailable = loadUnavailable();
  if (unavailable) {
    console.log(`  (skipped: ${unavailable})`);
    return;
  }
  const r = await benchAppLoad(appLoad);
  const p95 = percentile(r.undisturbedLatencies, 95);
  const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const seconds = (values: number[]) => values.map((v) => v.toFixed(1)).join(', ');
  const lastStart = Math.max(...r.takeovers.map((t) => t.started));
  const interrupted = r.takeovers.length;
  console.log(`  webhook → check run completed: p50 ${percentile(r.latencies, 50).toFixed(1)} s, p95 ${percentile(r.latencies, 95).toFixed(1)} s, max ${Math.max(...r.latencies).toFixed(1)} s`);
  console.log(`    of the ${r.undisturbedLatencies.length} the kill did not interrupt: p50 ${percentile(r.undisturbedLatencies, 50).toFixed(1)} s, p95 ${p95.toFixed(1)} s (target p95 < ${LOAD_P95_TARGET_SECONDS} s: ${met(p95 < LOAD_P95_TARGET_SECONDS)})`);
  console.log(`  throughput: ${r.throughput.toFixed(2)} pull requests/s, from the first delivery to the last verdict of those the kill did not interrupt`);
  console.log(`  a job, from its start to done: p50 ${percentile(r.jobSeconds, 50).toFixed(1)} s, p95 ${percentile(r.jobSeconds, 95).toFixed(1)} s (three writes of its installation, paced a second apart, are two of them)`);
  console.log(`  the ${interrupted} job(s) the killed process was running: back in the queue ${seconds(r.takeovers.map((t) => t.requeued))} s after the kill, started by the other process ${seconds(r.takeovers.map((t) => t.started))} s after (README: within ${r.takeoverBound} s: ${met(lastStart <= r.takeoverBound)}), verdicts ${seconds(r.takeoverCompletions)} s after`);
  console.log(`  verdicts: ${pulls - r.lost - r.wrong} of ${pulls} right, ${r.lost} lost, ${r.wrong} wrong, ${r.duplicated} duplicated; ${r.reviews} reviewed (${r.unreviewed.length} not); ${r.rateLimited} rate-limited writes; ${r.appErrors.length} errors logged by the App`);
  if (r.reposted > 0) console.log(`  ${r.reposted} of the interrupted pull requests got their (same) verdict on a second check run: the killed process had completed the first one, and the job is run again whole`);
  if (r.appCpuSeconds !== null) console.log(`  CPU: App processes ${r.appCpuSeconds.toFixed(0)} s, this process (fake GitHub, load balancer) ${r.benchCpuSeconds.toFixed(0)} s; load average ${loadavg().map((n) => n.toFixed(1)).join(' ')}`);
  if (r.lost > 0 || r.wrong > 0 || r.duplicated > 0 || r.unreviewed.length > 0) {
    const details = [...r.problems, ...r.unreviewed.map((id) => `${id}: no review`), ...r.appErrors.slice(0, 10)];
    throw new Error(`the App under load lost ${r.lost}, misjudged ${r.wrong}, duplicated ${r.duplicated} and left ${r.unreviewed.length} pull requests unreviewed:\n${details.join('\n')}`);
  }
}

/** The `p`th percentile (nearest rank) of `values`. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const gatorRuns: string[] = [];

interface RunResult {
  seconds: number;
  maxRssMiB: number;
  evaluations: number;
  constraints: number;
  violations: ResultIdentity[];
  errors: number;
  firstErrors: string[];
}

/** A check in a fresh process; the result cache off: this table measures evaluating, not the cache (see the library section). */
function checkOnce(repo: string, cache: string): RunResult {
  const script = fileURLToPath(new URL('./check-once.mjs', import.meta.url));
  return JSON.parse(execFileSync(process.execPath, [script, repo, cache, 'off'], { encoding: 'utf8', maxBuffer: 1 << 30 })) as RunResult;
}

/** Runs gator test on the repository and compares its results with Parapet's, one by one. */
function compareWithGator(binary: string, repo: string, workloads: number, parapetSeconds: number, ours: string[]): string {
  // The library's ExpansionTemplates are Parapet's defaults, written for Gatekeeper.
  const expansion = fileURLToPath(new URL('../policies/expansion.yaml', import.meta.url));
  const { seconds, results: theirs } = gatorTest(binary, [join(repo, 'cluster'), expansion]);
  const same = multisetEqual(theirs, ours);
  return `${workloads} workloads: gator ${seconds.toFixed(2)} s (${Math.round(workloads / seconds)} workloads/s), parapet warm ${parapetSeconds.toFixed(2)} s: ${(seconds / parapetSeconds).toFixed(1)}× faster; results ${same ? 'identical' : 'DIFFER'} (${theirs.length} gator, ${ours.length} parapet)`;
}

function multisetEqual(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const x = [...a].sort();
  const y = [...b].sort();
  return x.every((value, i) => value === y[i]);
}


function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows) console.log(row.map((cell, i) => cell.padStart(widths[i]!)).join('  '));
}

await main();
