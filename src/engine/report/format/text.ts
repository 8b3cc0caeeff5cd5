// `parapet check` for a person at a terminal: findings grouped by cluster, then by file, each on one
// line with its line number first, so the eye runs down a column of places, and a summary to end.
import type { ClusterReport, EnforcementAction, InputError, Report, Violation } from '../../model.js';
import { compareErrors, compareViolations } from '../sort.js';

export interface TextOptions {
  /** ANSI colours; the CLI sets it only when stdout is a terminal and NO_COLOR is unset. */
  color: boolean;
  /** The check compared against a base (`--base`): mark each violation `[new]` or `[existing]`. */
  withStatus: boolean;
}

/** Renders the Report for reading, with a final newline. */
export function formatText(report: Report, options: TextOptions): string {
  const paint = painter(options.color);
  const lines: string[] = [];
  const several = report.clusters.length > 1;
  // One width for line numbers in the whole output, so the column of places runs straight down.
  const items = [...report.errors, ...report.clusters.flatMap((cluster) => [...cluster.errors, ...cluster.violations])];
  const layout: Layout = { ...options, lineWidth: widest(items.map((item) => String(item.location.line))) };

  // Errors outside any cluster first: a `.securitytower/` file that does not parse is often why a
  // cluster is missing from what follows.
  if (report.errors.length > 0) {
    lines.push(paint.bold('Not in any cluster'), '');
    writeFileGroups(lines, [], report.errors, layout, paint);
  }
  for (const cluster of report.clusters) {
    lines.push(`${paint.bold(clean(cluster.name))}  ${paint.dim(clean(cluster.config))}`, '');
    if (cluster.violations.length === 0 && cluster.errors.length === 0) lines.push('  no violations, no errors', '');
    else writeFileGroups(lines, cluster.violations, cluster.errors, layout, paint);
    // With one cluster its summary would only repeat the overall one.
    if (several) lines.push(`  ${clean(cluster.name)}: ${summary(tally([cluster], []), options, paint)}`, '');
  }
  const notApplied = report.notApplied?.length ?? 0;
  if (notApplied > 0) {
    lines.push(paint.dim(`${notApplied} YAML ${notApplied === 1 ? 'file is' : 'files are'} applied by no cluster and ${notApplied === 1 ? 'was' : 'were'} not evaluated (--format json lists them)`), '');
  }
  const clusters = `${report.clusters.length} ${report.clusters.length === 1 ? 'cluster' : 'clusters'}`;
  lines.push(`${paint.bold(clusters)}: ${summary(tally(report.clusters, report.errors), options, paint)}`);
  return `${lines.join('\n')}\n`;
}

type Row = { line: number; violation: Violation; error?: never } | { line: number; error: InputError; violation?: never };

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
function writeFileGroups(lines: string[], violations: Violation[], errors: InputError[], layout: Layout, paint: Painter): void {
  const byFile = new Map<string, Row[]>();
  const add = (file: string, row: Row) => {
    const rows = byFile.get(file) ?? [];
    rows.push(row);
    byFile.set(file, rows);
  };
  for (const error of [...errors].sort(compareErrors)) add(error.location.file, { line: error.location.line, error });
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
  if (row.error) return paint.red('error'.padEnd(ACTION_WIDTH));
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
  deny: number;
  accepted: number;
  warn: number;
  dryrun: number;
  errors: number;
  new: number;
  existing: number;
}

function tally(clusters: ClusterReport[], errors: InputError[]): Tally {
  const counts: Tally = { deny: 0, accepted: 0, warn: 0, dryrun: 0, errors: errors.length, new: 0, existing: 0 };
  for (const cluster of clusters) {
    counts.errors += cluster.errors.length;
    for (const violation of cluster.violations) {
      counts[violation.enforcementAction] += 1;
      if (violation.enforcementAction === 'deny' && violation.acceptance) counts.accepted += 1;
      if (violation.status) counts[violation.status] += 1;
    }
  }
  return counts;
}

/** `3 deny (1 accepted), 1 warn, 2 errors`, naming only what occurred. */
function summary(counts: Tally, options: TextOptions, paint: Painter): string {
  const parts: string[] = [];
  if (counts.deny > 0) {
    const text = `${counts.deny} deny${counts.accepted > 0 ? ` (${counts.accepted} accepted)` : ''}`;
    parts.push(counts.deny > counts.accepted ? paint.red(text) : text);
  }
  if (counts.warn > 0) parts.push(paint.yellow(`${counts.warn} warn`));
  if (counts.dryrun > 0) parts.push(paint.cyan(`${counts.dryrun} dryrun`));
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
