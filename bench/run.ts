// `npm run bench [-- --quick]`: prints throughput, cold and warm times and peak memory of
// `parapet check` on generated repositories of growing size (cost must grow linearly with objects).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchAppPullRequest } from './app-pull-request.js';
import { benchOverview, WARM_UP, type OverviewFigures } from './overview.js';
import { findPostgresBin, postgresUnavailable, startPostgres } from '../test/helpers/postgres.js';
import { generateRepo } from './generate-repo.js';
import { gatorTest, resultKey, type ResultIdentity } from './gator.js';
import { benchLibrary, printLibrary } from './library-bench.js';

const quick = process.argv.includes('--quick');
const sizes = quick ? [1000, 2000] : [2500, 5000, 10000];
// The GitHub App section: a pull request touching `touched` of `manifests` manifests.
const appPullRequest = quick ? { manifests: 1000, touched: 100 } : { manifests: 10000, touched: 1000 };
const CONSTRAINTS = 30;
const templates = fileURLToPath(new URL('../test/fixtures/templates', import.meta.url));
// gator test on the same kind of machine: 480 workloads/s (shared/spec/gatekeeper.md §9).
const GATOR_WORKLOADS_PER_SECOND = 480;
// With GATOR=/path/to/gator (or gator built into tools/bin by the differential tests), the benchmark
// also runs gator on the very same repositories and compares every result.
const builtGator = fileURLToPath(new URL('../tools/bin/gator', import.meta.url));
const gator = [process.env.GATOR, builtGator].find((path) => path && existsSync(path));

async function main(): Promise<void> {
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
  await appSection();
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

function checkOnce(repo: string, cache: string): RunResult {
  const script = fileURLToPath(new URL('./check-once.mjs', import.meta.url));
  return JSON.parse(execFileSync(process.execPath, [script, repo, cache], { encoding: 'utf8', maxBuffer: 1 << 30 })) as RunResult;
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
