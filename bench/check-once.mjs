// One `parapet check` of a repository in a fresh process, as the CLI runs it (the built dist, no
// TypeScript loader), printing its timings and peak memory as JSON. Used by bench/run.ts.
import { FsSource } from '../dist/cli/fs-source.js';
import { checkRepo, errorCount, RegoDriver } from '../dist/engine/index.js';
import { OpaCompiler } from '../dist/opa/opa-compiler.js';
import { HelperRenderer } from '../dist/renderer/helper-renderer.js';

const [repo, cacheDir] = process.argv.slice(2);
const started = performance.now();
const driver = RegoDriver.start({ compiler: new OpaCompiler({ cacheDir }), timeoutMs: 10_000 });
try {
  const report = await checkRepo(new FsSource(repo), { driver, renderer: new HelperRenderer(), everyResult: true });
  const cluster = report.clusters[0];
  console.log(
    JSON.stringify({
      seconds: (performance.now() - started) / 1000,
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
      evaluations: cluster?.stats.evaluations ?? 0,
      constraints: cluster?.stats.constraints ?? 0,
      // Identities as bench/gator.ts compares them (see ResultIdentity there).
      violations: report.clusters.flatMap((c) => c.violations.map((v) => ({ constraint: v.constraint, kind: v.object.kind, namespace: v.object.namespace ?? null, name: v.object.name, message: v.message }))),
      errors: errorCount(report),
      firstErrors: [...report.errors, ...report.clusters.flatMap((c) => c.errors)].slice(0, 5).map((e) => `${e.location.file}:${e.location.line} ${e.message}`),
    }),
  );
} finally {
  await driver.close();
}
