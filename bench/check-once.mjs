// One `parapet check` of a repository in a fresh process, as the CLI runs it (the built dist, no
// TypeScript loader, the engine runtime the CLI starts: opa compiler and cache, Rego and CEL drivers,
// renderer, the result cache on disk unless the third argument is `off`), printing its timings,
// CPU time and peak memory as JSON. Used by bench/run.ts.
import { readFileSync } from 'node:fs';
import { readEngineConfig } from '../dist/config.js';
import { FsSource } from '../dist/cli/fs-source.js';
import { checkRepo, errorCount } from '../dist/engine/index.js';
import { startEngineRuntime } from '../dist/runtime.js';

const [repo, cacheDir, resultCache = 'disk'] = process.argv.slice(2);
const runtime = startEngineRuntime(readEngineConfig({ ...process.env, PARAPET_CACHE_DIR: cacheDir, PARAPET_EVAL_TIMEOUT_MS: '10000' }), { resultCache });
let report;
try {
  report = await checkRepo(new FsSource(repo), { driver: runtime.driver, renderer: runtime.renderer, everyResult: true });
} finally {
  await runtime.close();
}
const cluster = report.clusters[0];
console.log(
  JSON.stringify({
    // From the process's start, as a user (or gator's timing) sees it: loading the code counts.
    seconds: performance.now() / 1000,
    cpuSeconds: cpuSeconds(),
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    objects: cluster?.stats.objects ?? 0,
    evaluations: cluster?.stats.evaluations ?? 0,
    constraints: cluster?.stats.constraints ?? 0,
    cache: runtime.driver.stats,
    // Identities as bench/gator.ts compares them (see ResultIdentity there).
    violations: report.clusters.flatMap((c) => c.violations.map((v) => ({ constraint: v.constraint, kind: v.object.kind, namespace: v.object.namespace ?? null, name: v.object.name, message: v.message }))),
    errors: errorCount(report),
    firstErrors: [...report.errors, ...report.clusters.flatMap((c) => c.errors)].slice(0, 5).map((e) => `${e.location.file}:${e.location.line} ${e.message}`),
  }),
);

/**
 * User and system time of this process (its worker threads included) and of the children it waited
 * for (opa, the CEL helper, the renderer), from /proc: the machine may be shared, CPU time is not.
 */
function cpuSeconds() {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    // utime, stime, cutime, cstime are fields 14 to 17 (from 1), here 11 to 14 after the name; 100 ticks a second.
    return fields.slice(11, 15).reduce((sum, n) => sum + Number(n), 0) / 100;
  } catch {
    return undefined;
  }
}
