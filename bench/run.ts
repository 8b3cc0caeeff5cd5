// `npm run bench [-- --quick]`: prints throughput, cold and warm times and peak memory of
// `parapet check` on generated repositories of growing size (cost must grow linearly with objects).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FsSource } from '../src/cli/fs-source.js';
import { checkRepo, EvaluationPool, errorCount, type Report } from '../src/engine/index.js';
import { OpaCompiler } from '../src/opa/opa-compiler.js';
import { generateRepo } from './generate-repo.js';

const quick = process.argv.includes('--quick');
const sizes = quick ? [1000, 2000] : [2500, 5000, 10000];
const CONSTRAINTS = 30;
const templates = fileURLToPath(new URL('../test/fixtures/templates', import.meta.url));
// gator test on the same kind of machine: 480 workloads/s (shared/spec/gatekeeper.md §9).
const GATOR_WORKLOADS_PER_SECOND = 480;

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
  console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (whole process: generation, workers and all runs)`);
}

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
