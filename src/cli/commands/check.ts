// `parapet check`: the App's evaluation of a pull request's head, run on a local checkout.
import { stat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkExitCode, checkRepo, FAIL_ON_LEVELS, formatReport, isReportFormat, markStatus, nothingToCheck, REPORT_FORMATS, type CheckProgress, type ExitPolicy, type FailOn, type ReportFormat } from '../../engine/index.js';
import { UsageError } from '../../errors.js';
import { FsSource } from '../fs-source.js';
import { GitSource } from '../git-source.js';
import { howToStart } from '../init-plan.js';
import type { CliIo } from '../io.js';
import { Progress } from '../progress.js';
import { readEngineConfig } from '../../config.js';
import { startEngineRuntime } from '../../runtime.js';
import { version } from '../version.js';

export const checkHelp = `Usage: parapet check [PATH] [options]

Evaluates the GitOps repository at PATH (default: the current directory) the way the Parapet App
evaluates a pull request: every cluster in .securitytower/*.yaml, its Gatekeeper policies, its
Namespace manifests, and every manifest that belongs to it.

Options:
  --cluster NAME        only this cluster (repeatable)
  --format FORMAT       text (default), json, sarif or markdown
  --output FORMAT=FILE  also write the result in FORMAT to FILE (repeatable), e.g. sarif=parapet.sarif
  --base REF            compare with a git revision: each violation is marked new or existing
  --fail-on ACTION      the lowest enforcement action whose unaccepted violations fail the check:
                        deny (default), warn, or never (exit 0 whenever the check ran)
  --new-only            with --base: only violations the base did not have fail the check, as the
                        App judges a pull request
  -q, --quiet           text: print only what fails the check (unaccepted deny violations, input
                        errors) and the summary per cluster and policy
  --no-cache            evaluate every template on every object again: outcomes of earlier checks
                        (kept beside the compiled policies) are neither read nor written
  --offline             fetch no chart from a Helm repository or OCI registry: a HelmRelease or
                        Application that names one gets a notice instead (cached charts unused)
  -h, --help            show this help

Exit codes: 0 no unaccepted deny violation (see --fail-on) and no input error; 1 otherwise; 2 the
check could not run.
Environment: PARAPET_CACHE_DIR (compiled policies, builds and outcomes; empty disables),
PARAPET_DEBUG (say what a cache ignored), PARAPET_WORKERS,
PARAPET_EVAL_TIMEOUT_MS (time limit of one evaluation, default 5000),
PARAPET_PARSE_TIMEOUT_MS (of parsing one file, default 20000),
PARAPET_COMPILE_TIMEOUT_MS (of compiling one template, default 60000),
PARAPET_CHART_FETCH (on or off), PARAPET_CHART_FETCH_TIMEOUT_MS (each chart request, default 20000),
PARAPET_CHART_MAX_BYTES (largest index or chart archive read, default 52428800),
PARAPET_WORKER_MEMORY_MB (memory of each worker and evaluation, default 512).
What a limit stops is an input error (code limit) where it happened.
`;

export async function checkCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      cluster: { type: 'string', multiple: true },
      format: { type: 'string', default: 'text' },
      base: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      output: { type: 'string', multiple: true },
      'fail-on': { type: 'string', default: 'deny' },
      'new-only': { type: 'boolean' },
      offline: { type: 'boolean' },
      'no-cache': { type: 'boolean' },
    },
  });
  const failOn = values['fail-on'] ?? 'deny';
  if (!(FAIL_ON_LEVELS as readonly string[]).includes(failOn)) throw new UsageError(`--fail-on must be one of ${FAIL_ON_LEVELS.join(', ')}, not "${failOn}"`);
  if (values['new-only'] && values.base === undefined) throw new UsageError('--new-only needs --base: without a base no violation is new or existing');
  const exitPolicy: ExitPolicy = { failOn: failOn as FailOn, newOnly: values['new-only'] === true };
  const outputs = (values.output ?? []).map((spec) => {
    const m = /^([a-z]+)=(.+)$/.exec(spec);
    if (!m || !isReportFormat(m[1]!)) throw new UsageError(`--output takes FORMAT=FILE with FORMAT one of ${REPORT_FORMATS.join(', ')}, not "${spec}"`);
    return { format: m[1] as ReportFormat, file: resolve(io.cwd, m[2]!) };
  });
  const format = values.format ?? 'text';
  if (!isReportFormat(format)) throw new UsageError(`--format must be one of ${REPORT_FORMATS.join(', ')}, not "${format}"`);
  // JSON and SARIF are for machines, which filter for themselves; a flag they ignore would mislead.
  if (values.quiet && format !== 'text') throw new UsageError(`--quiet applies to --format text, not ${format}`);
  if (positionals.length > 1) throw new UsageError(`expected at most one PATH, got ${positionals.length}`);
  const root = resolve(io.cwd, positionals[0] ?? '.');
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) throw new UsageError(`${root} is not a readable directory`);

  const engineConfig = readEngineConfig(io.env);
  const runtime = startEngineRuntime(values.offline ? { ...engineConfig, chartFetch: null } : engineConfig, {
    resultCache: values['no-cache'] ? 'off' : 'disk',
    ...(engineConfig.debug ? { debug: (line: string) => io.stderr(`parapet: ${line}\n`) } : {}),
  });
  const progress = new Progress(io);
  try {
    const options = { driver: runtime.driver, renderer: runtime.renderer, clusters: values.cluster, onProgress: (p: CheckProgress) => progress.check(p) };
    progress.update(`checking ${root}`);
    const source = new FsSource(root);
    const baseSource = values.base === undefined ? undefined : new GitSource(root, values.base);
    // An unknown revision is reported before the long part, not after it.
    await baseSource?.listFiles();
    let report = await checkRepo(source, options);
    const nothing = nothingToCheck(report);
    if (nothing) throw new UsageError(report.config?.clusters.length ? nothing : `${nothing}\n${howToStart(positionals[0])}`);
    if (baseSource) {
      progress.update(`comparing with ${values.base}`);
      // The base is judged by the same policies as the working tree, so "existing" means the base
      // already broke the same rule.
      const base = await checkRepo(baseSource, { ...options, policies: source, onProgress: (p: CheckProgress) => progress.check(p, `${values.base}: `) });
      report = markStatus(report, base);
    }
    progress.clear();
    const formatOptions = { color: io.color, withStatus: values.base !== undefined, quiet: values.quiet === true, toolVersion: version, exitPolicy };
    for (const output of outputs) {
      try {
        await writeFile(output.file, formatReport(report, output.format, { ...formatOptions, color: false, quiet: false }));
      } catch (error) {
        throw new UsageError(`cannot write --output ${output.format} to ${output.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
    }
    io.stdout(formatReport(report, format, formatOptions));
    return checkExitCode(report, exitPolicy);
  } finally {
    progress.clear();
    await runtime.close();
  }
}
