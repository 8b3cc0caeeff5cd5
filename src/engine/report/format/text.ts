// `parapet check` for a person at a terminal or a CI log: findings grouped by cluster, then by file,
// each on one line with its line number first, so the eye runs down a column of places; a cluster
// with nothing to show takes no space, and a summary per cluster and policy ends the output.
import type { ClusterReport, EnforcementAction, InputError, Report, Violation } from '../../model.js';
import { failsCheck, type ExitPolicy } from '../outcome.js';
import { compareErrors, compareViolations } from '../sort.js';

export interface TextOptions {
  /** ANSI colours; the CLI sets it only when stdout is a terminal and NO_COLOR is unset. */
  color: boolean;
  /** The check compared against a base (`--base`): mark each violation `[new]` or `[existing]`. */
  withStatus: boolean;
  /** Only what fails the check (unaccepted deny violations, input errors) and the summary (`--quiet`). */
  quiet?: boolean;
  /** What fails the check (`--fail-on`, `--new-only`): the verdicts and `--quiet` follow it. */
  exitPolicy?: ExitPolicy;
}

/** Renders the Report for reading, with a final newline. */
export function formatText(report: Report, options: TextOptions): string {
  const paint = painter(options.color);
  const lines: string[] = [];
  const shown = (violation: Violation) => !options.quiet || failsCheck(violation, options.exitPolicy);
  const listed = report.clusters.map((cluster) => ({ cluster, violations: cluster.violations.filter(shown) }));
  // One width for line numbers in the whole output, so the column of places runs straight down.
  const items = [...report.errors, ...listed.flatMap(({ cluster, violations }) => [...cluster.errors, ...violations])];
  const layout: Layout = { ...options, lineWidth: widest(items.map((item) => String(item.location.line))) };

  // Errors outside any cluster first: a `.securitytower/` file that does not parse is often why a
  // cluster is missing from what follows.
  if (report.errors.length > 0) {
    lines.push(paint.bold('Not in any cluster'), '');
    writeFileGroups(lines, [], report.errors, layout, paint);
  }
  for (const { cluster, violations } of listed) {
    const warnings = options.quiet ? [] : (cluster.warnings ?? []);
    const notices = options.quiet ? [] : (cluster.notices ?? []);
    if (violations.length === 0 && cluster.errors.length === 0 && warnings.length === 0 && notices.length === 0) continue;
    lines.push(`${paint.bold(clean(cluster.name))}  ${paint.dim(clean(cluster.config))}`, '');
    writeFileGroups(lines, violations, cluster.errors, layout, paint, warnings);
    // Not a failure, but never silent: what Parapet could not render was not judged.
    for (const notice of notices) lines.push(`${paint.dim('notice')}  ${clean(notice.location.file)}:${notice.location.line}  ${clean(notice.message)}`);
    if (notices.length > 0) lines.push('');
  }
  const notApplied = report.notApplied?.length ?? 0;
  if (notApplied > 0) {
    lines.push(paint.dim(`${notApplied} YAML ${notApplied === 1 ? 'file is' : 'files are'} applied by no cluster and ${notApplied === 1 ? 'was' : 'were'} not evaluated (--format json lists them)`), '');
  }
  const several = report.clusters.length > 1;
  if (report.errors.length > 0) lines.push(`${verdict(true, paint)}  ${paint.bold('Not in any cluster')}: ${summary(tally([], report.errors), options, paint)}`);
  for (const cluster of report.clusters) writeClusterSummary(lines, cluster, report, several, options, paint);
  // With one cluster, an overall line would only repeat its summary.
  if (report.clusters.length !== 1) {
    const clusters = `${report.clusters.length} ${report.clusters.length === 1 ? 'cluster' : 'clusters'}`;
    const fails = (report.errors.length > 0 && options.exitPolicy?.failOn !== 'never') || report.clusters.some((cluster) => clusterFails(cluster, options.exitPolicy));
    lines.push(...(lines.length > 0 ? [''] : []), `${verdict(fails, paint)}  ${paint.bold(clusters)}: ${summary(tally(report.clusters, report.errors), options, paint)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** What the exit code says, per cluster: an unaccepted deny or an input error fails it. */
function clusterFails(cluster: ClusterReport, policy: ExitPolicy | undefined): boolean {
  if (policy?.failOn === 'never') return false;
  return cluster.errors.length > 0 || cluster.violations.some((violation) => failsCheck(violation, policy));
}

/** `FAIL` or `PASS` first on a summary line, as test runners put it, so the eye finds the verdict at once. */
function verdict(fails: boolean, paint: Painter): string {
  return fails ? paint.bold(paint.red('FAIL')) : paint.bold(paint.green('PASS'));
}

/** Per-policy lines and hints sit under the cluster's name, past the verdict. */
const UNDER_NAME = ' '.repeat('FAIL  '.length + 2);

/**
 * `FAIL  prod-eu: 2 deny (1 accepted), 1 warn (6 constraints, 14 objects)`, then one line per policy that
 * reported anything, so a long list of findings ends with where they come from.
 */
function writeClusterSummary(lines: string[], cluster: ClusterReport, report: Report, several: boolean, options: TextOptions, paint: Painter): void {
  const { constraints, objects } = cluster.stats;
  const checked = `${constraints} ${constraints === 1 ? 'constraint' : 'constraints'}, ${objects} ${objects === 1 ? 'object' : 'objects'}`;
  lines.push(`${verdict(clusterFails(cluster, options.exitPolicy), paint)}  ${paint.bold(clean(cluster.name))}: ${summary(tally([cluster], []), options, paint)} ${paint.dim(`(${checked})`)}`);
  const byPolicy = new Map<string, Violation[]>();
  for (const violation of cluster.violations) byPolicy.set(violation.policy, [...(byPolicy.get(violation.policy) ?? []), violation]);
  const names = [...byPolicy.keys()].sort(compareText);
  const width = widest(names.map(clean));
  for (const name of names) {
    const counts = tally([{ ...cluster, violations: byPolicy.get(name)!, errors: [] }], []);
    lines.push(`${UNDER_NAME}${clean(name).padEnd(width)}  ${summary(counts, options, paint)}`);
  }
  // A policies folder that is missing is reported as an error on the Cluster file: fixing the path
  // comes before enabling anything there.
  if (constraints === 0 && !cluster.errors.some((error) => error.code === 'cluster-config')) {
    // A cluster nobody has enabled a policy for yet (a fresh `parapet init`): passing means nothing.
    const path = report.config?.clusters.find((c) => c.name === cluster.name)?.policiesPath;
    const folder = path === undefined ? '' : ` (${path === '' ? 'the repository root' : clean(path)} holds none)`;
    const choose = several ? ` --cluster ${clean(cluster.name)}` : '';
    lines.push(`${UNDER_NAME}no policies are enabled${folder}: 'parapet policies enable${choose} --standard k8s/baseline --action warn' enables a standard`);
  }
}

type Row = { line: number; violation: Violation; error?: never } | { line: number; error: InputError; violation?: never; warning?: true };

interface Layout extends TextOptions {
  lineWidth: number;
}

const ACTION_WIDTH = 'dryrun'.length;
const STATUS_WIDTH = '[existing]'.length;

/**
 * Appends one block per file, in path order; in a block, findings and errors by line, errors first
 * on a tie. It appends to `lines` rather than returning an array to spread, which overflows the
 * stack on a report with a few hundred thousand findings.
 */
function writeFileGroups(lines: string[], violations: Violation[], errors: InputError[], layout: Layout, paint: Painter, warnings: InputError[] = []): void {
  const byFile = new Map<string, Row[]>();
  const add = (file: string, row: Row) => {
    const rows = byFile.get(file) ?? [];
    rows.push(row);
    byFile.set(file, rows);
  };
  for (const error of [...errors].sort(compareErrors)) add(error.location.file, { line: error.location.line, error });
  for (const warning of [...warnings].sort(compareErrors)) add(warning.location.file, { line: warning.location.line, error: warning, warning: true });
  for (const violation of [...violations].sort(compareViolations)) add(violation.location.file, { line: violation.location.line, violation });

  for (const file of [...byFile.keys()].sort(compareText)) {
    // Array.prototype.sort is stable, so rows keep their sorted order within a line.
    const rows = byFile.get(file)!.sort((a, b) => a.line - b.line || Number(b.error !== undefined) - Number(a.error !== undefined));
    const nameWidth = widest(rows.map(rowName));
    // Columns: line, action, [status], name, message; continuation lines start under the message.
    const indent = ' '.repeat(4 + layout.lineWidth + 2 + ACTION_WIDTH + 2 + (layout.withStatus ? STATUS_WIDTH + 2 : 0) + nameWidth + 2);

    lines.push(`  ${paint.bold(clean(file))}`);
    for (const row of rows) {
      const [first = '', ...rest] = messageLines(row.violation?.message ?? row.error!.message);
      const cells = [String(row.line).padStart(layout.lineWidth), actionCell(row, paint)];
      if (layout.withStatus) cells.push(statusCell(row, paint));
      cells.push(rowName(row).padEnd(nameWidth), first);
      lines.push(`    ${cells.join('  ')}`.trimEnd());
      for (const line of rest) lines.push(`${indent}${line}`.trimEnd());
      const acceptance = row.violation?.acceptance;
      if (acceptance) lines.push(`${indent}${paint.green(`accepted (${acceptance.level})`)}: ${messageLines(acceptance.reason).join(' ')}`);
    }
    lines.push('');
  }
}

/** The policy, and the constraint when its name says something the policy's does not. */
function rowName(row: Row): string {
  if (row.error) return clean(row.error.code);
  const { policy, constraint } = row.violation;
  return clean(constraint === policy ? policy : `${policy} (${constraint})`);
}

function actionCell(row: Row, paint: Painter): string {
  if (row.error) return row.warning ? paint.yellow('warn'.padEnd(ACTION_WIDTH)) : paint.red('error'.padEnd(ACTION_WIDTH));
  const { enforcementAction, acceptance } = row.violation;
  const text = enforcementAction.padEnd(ACTION_WIDTH);
  // An accepted deny no longer blocks; colouring it like one would cry wolf.
  if (acceptance) return paint.dim(text);
  return ACTION_PAINT[enforcementAction](paint, text);
}

const ACTION_PAINT: Record<EnforcementAction, (paint: Painter, text: string) => string> = {
  deny: (paint, text) => paint.red(text),
  warn: (paint, text) => paint.yellow(text),
  dryrun: (paint, text) => paint.cyan(text),
};

function statusCell(row: Row, paint: Painter): string {
  const status = row.violation?.status;
  if (status === undefined) return ' '.repeat(STATUS_WIDTH);
  const text = `[${status}]`.padEnd(STATUS_WIDTH);
  return status === 'new' ? paint.magenta(text) : paint.dim(text);
}

interface Tally {
  /** Violations by action, and how many of those a risk acceptance covers. */
  actions: Record<EnforcementAction, { all: number; accepted: number }>;
  errors: number;
  new: number;
  existing: number;
}

function tally(clusters: ClusterReport[], errors: InputError[]): Tally {
  const counts: Tally = {
    actions: { deny: { all: 0, accepted: 0 }, warn: { all: 0, accepted: 0 }, dryrun: { all: 0, accepted: 0 } },
    errors: errors.length,
    new: 0,
    existing: 0,
  };
  for (const cluster of clusters) {
    counts.errors += cluster.errors.length;
    for (const violation of cluster.violations) {
      const action = counts.actions[violation.enforcementAction];
      action.all += 1;
      if (violation.acceptance) action.accepted += 1;
      if (violation.status) counts[violation.status] += 1;
    }
  }
  return counts;
}

const ACTIONS: EnforcementAction[] = ['deny', 'warn', 'dryrun'];

/** `3 deny (1 accepted), 1 warn, 2 errors`, naming only what occurred. */
function summary(counts: Tally, options: TextOptions, paint: Painter): string {
  const parts: string[] = [];
  for (const action of ACTIONS) {
    const { all, accepted } = counts.actions[action];
    if (all === 0) continue;
    const text = `${all} ${action}${accepted > 0 ? ` (${accepted} accepted)` : ''}`;
    // Only unaccepted findings draw the eye; an accepted deny no longer blocks.
    parts.push(all > accepted ? ACTION_PAINT[action](paint, text) : text);
  }
  if (counts.errors > 0) parts.push(paint.red(`${counts.errors} ${counts.errors === 1 ? 'error' : 'errors'}`));
  let text = parts.length > 0 ? parts.join(', ') : paint.green('no violations, no errors');
  if (options.withStatus && counts.new + counts.existing > 0) text += `; ${counts.new} new, ${counts.existing} existing`;
  return text;
}

/** A message's lines, without trailing blank ones, each made safe for a terminal. */
function messageLines(message: string): string[] {
  const lines = message.split(/\r?\n/).map((line) => clean(line).trimEnd());
  while (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * Messages, paths and reasons come from the repository under check, and Rego messages can quote any
 * field of an object. Control characters (an escape sequence that rewrites the terminal, a carriage
 * return that hides a line) are shown as `\xNN` instead of being sent to the terminal.
 */
function clean(text: string): string {
  return text.replace(/\t/g, ' ').replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

interface Painter {
  bold: (text: string) => string;
  dim: (text: string) => string;
  red: (text: string) => string;
  green: (text: string) => string;
  yellow: (text: string) => string;
  magenta: (text: string) => string;
  cyan: (text: string) => string;
}

function painter(color: boolean): Painter {
  const sgr = (open: number, close: number) => (color ? (text: string) => `\u001b[${open}m${text}\u001b[${close}m` : (text: string) => text);
  return { bold: sgr(1, 22), dim: sgr(2, 22), red: sgr(31, 39), green: sgr(32, 39), yellow: sgr(33, 39), magenta: sgr(35, 39), cyan: sgr(36, 39) };
}

/** The longest length; a loop rather than Math.max(...), which overflows the stack on a big report. */
function widest(texts: string[]): number {
  return texts.reduce((width, text) => Math.max(width, text.length), 1);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
