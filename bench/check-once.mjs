// One `parapet check` of a repository in a fresh process, as the CLI runs it (the built dist, no
// TypeScript loader, the engine runtime the CLI starts: opa compiler and cache, Rego and CEL drivers,
// renderer), printing its timings and peak memory as JSON. Used by bench/run.ts.
import { readEngineConfig } from '../dist/config.js';
import { FsSource } from '../dist/cli/fs-source.js';
import { checkRepo, errorCount } from '../dist/engine/index.js';
import { startEngineRuntime } from '../dist/runtime.js';

const [repo, cacheDir] = process.argv.slice(2);
const runtime = startEngineRuntime(readEngineConfig({ ...process.env, PARAPET_CACHE_DIR: cacheDir, PARAPET_EVAL_TIMEOUT_MS: '10000' }));
try {
  const report = await checkRepo(new FsSource(repo), { driver: runtime.driver, renderer: runtime.renderer, everyResult: true });
  const cluster = report.clusters[0];
  console.log(
    JSON.stringify({
      // From the process's start, as a user (or gator's timing) sees it: loading the code counts.
      seconds: performance.now() / 1000,
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
      objects: cluster?.stats.objects ?? 0,
      evaluations: cluster?.stats.evaluations ?? 0,
      constraints: cluster?.stats.constraints ?? 0,
      // Identities as bench/gator.ts compares them (see ResultIdentity there).
      violations: report.clusters.flatMap((c) => c.violations.map((v) => ({ constraint: v.constraint, kind: v.object.kind, namespace: v.object.namespace ?? null, name: v.object.name, message: v.message }))),
      errors: errorCount(report),
      firstErrors: [...report.errors, ...report.clusters.flatMap((c) => c.errors)].slice(0, 5).map((e) => `${e.location.file}:${e.location.line} ${e.message}`),
    }),
  );
} finally {
  await runtime.close();
}
