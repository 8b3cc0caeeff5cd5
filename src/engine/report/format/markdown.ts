// `parapet check --format markdown`: the result as a GitHub Actions job summary ($GITHUB_STEP_SUMMARY)
// or a comment: the verdict, a table per cluster and policy, then what fails the check with its
// place, then the warnings and notices, which never fail it. Every text from the repository is escaped (it is rendered as GitHub-flavoured Markdown
// with HTML), and the list is capped so a summary stays under GitHub's 1 MiB limit.
import type { ClusterReport, EnforcementAction, InputError, Report, Violation } from '../../model.js';
import { failsCheck, type ExitPolicy } from '../outcome.js';
import { compareErrors, compareViolations } from '../sort.js';

export interface MarkdownOptions {
  /** Marks violations new or existing (`--base`). */
  withStatus: boolean;
  /** What fails the check (`--fail-on`, `--new-only`); the default: unaccepted deny. */
  exitPolicy?: ExitPolicy;
}

/** At most this many failing findings are listed; the rest are counted. */
export const MARKDOWN_LIST_LIMIT = 100;

const ACTIONS: EnforcementAction[] = ['deny', 'warn', 'dryrun'];

export function formatMarkdown(report: Report, options: MarkdownOptions): string {
  const policy = options.exitPolicy ?? { failOn: 'deny', newOnly: false };
  const failing: Array<{ cluster: string; item: Violation | InputError }> = [
    ...[...report.errors].sort(compareErrors).map((item) => ({ cluster: '', item })),
    ...report.clusters.flatMap((cluster) => [
      ...[...cluster.errors].sort(compareErrors).map((item) => ({ cluster: cluster.name, item })),
      ...cluster.violations.filter((v) => failsCheck(v, policy)).sort(compareViolations).map((item) => ({ cluster: cluster.name, item })),
    ]),
  ];
  const failed = policy.failOn !== 'never' && failing.length > 0;
  const lines: string[] = [];
  lines.push(`## ${failed ? '❌' : '✅'} Parapet: ${failed ? `${failing.length} ${failing.length === 1 ? 'finding fails' : 'findings fail'} the check` : 'nothing fails the check'}`, '');

  const columns = ['Cluster', 'Policy', ...ACTIONS, 'accepted', ...(options.withStatus ? ['new', 'existing'] : [])];
  lines.push(`| ${columns.join(' | ')} |`, `| ${columns.map((c, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`);
  for (const cluster of report.clusters) {
    const rows = policyRows(cluster);
    if (rows.length === 0) lines.push(`| ${escape(cluster.name)} | *no violations* | ${columns.slice(2).map(() => '0').join(' | ')} |`);
    for (const [name, violations] of rows) {
      const count = (test: (v: Violation) => boolean) => String(violations.filter(test).length);
      const cells = [escape(cluster.name), `\`${code(name)}\``, ...ACTIONS.map((action) => count((v) => v.enforcementAction === action)), count((v) => v.acceptance !== null)];
      if (options.withStatus) cells.push(count((v) => v.status === 'new'), count((v) => v.status === 'existing'));
      lines.push(`| ${cells.join(' | ')} |`);
    }
    if (cluster.errors.length > 0) lines.push(`| ${escape(cluster.name)} | input errors: ${cluster.errors.length} | ${columns.slice(2).map(() => '').join(' | ')} |`);
    if (cluster.warnings?.length) lines.push(`| ${escape(cluster.name)} | warnings: ${cluster.warnings.length} | ${columns.slice(2).map(() => '').join(' | ')} |`);
    if (cluster.notices?.length) lines.push(`| ${escape(cluster.name)} | not rendered: ${cluster.notices.length} | ${columns.slice(2).map(() => '').join(' | ')} |`);
  }
  if (report.errors.length > 0) lines.push(`| *not in any cluster* | input errors: ${report.errors.length} | ${columns.slice(2).map(() => '').join(' | ')} |`);

  if (failing.length > 0 && policy.failOn !== 'never') {
    lines.push('', '### What fails the check', '');
    for (const { cluster, item } of failing.slice(0, MARKDOWN_LIST_LIMIT)) {
      const place = `\`${code(item.location.file)}:${item.location.line}\``;
      const where = cluster ? `**${escape(cluster)}** ` : '';
      if ('policy' in item) {
        const status = item.status ? ` *(${item.status})*` : '';
        lines.push(`- ${where}${place} ${item.enforcementAction} \`${code(item.policy)}\` / \`${code(item.constraint)}\`: ${escape(item.message)}${status}`);
      } else lines.push(`- ${where}${place} input error (${item.code}): ${escape(item.message)}`);
    }
    if (failing.length > MARKDOWN_LIST_LIMIT) lines.push('', `…and ${failing.length - MARKDOWN_LIST_LIMIT} more (the step's log and the SARIF results list them all).`);
  }

  // Lines kubectl and Flux read differently, and what was not rendered: said, never failing.
  const remarks = report.clusters.flatMap((cluster) => [
    ...[...(cluster.warnings ?? [])].sort(compareErrors).map((item) => ({ cluster: cluster.name, kind: 'warning', item })),
    ...[...(cluster.notices ?? [])].sort(compareErrors).map((item) => ({ cluster: cluster.name, kind: 'not rendered', item })),
  ]);
  if (remarks.length > 0) {
    lines.push('', `### Warnings and notices (${remarks.length})`, '', 'They do not fail the check: YAML that kubectl and Argo CD read otherwise than Flux, and what Parapet could not render.', '');
    for (const { cluster, kind, item } of remarks.slice(0, MARKDOWN_LIST_LIMIT)) {
      lines.push(`- **${escape(cluster)}** \`${code(item.location.file)}:${item.location.line}\` ${kind} (${item.code}): ${escape(item.message)}`);
    }
    if (remarks.length > MARKDOWN_LIST_LIMIT) lines.push('', `…and ${remarks.length - MARKDOWN_LIST_LIMIT} more (the step's log and the SARIF results list them all).`);
  }
  return `${lines.join('\n')}\n`;
}

function policyRows(cluster: ClusterReport): Array<[string, Violation[]]> {
  const byPolicy = new Map<string, Violation[]>();
  for (const violation of cluster.violations) byPolicy.set(violation.policy, [...(byPolicy.get(violation.policy) ?? []), violation]);
  return [...byPolicy].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Text shown as itself in GitHub-flavoured Markdown, inside a line: HTML's specials as entities,
 * the punctuation that starts emphasis, code, links, strike-through or a table cell backslash-escaped,
 * line breaks as spaces (a list item stays one line), and GFM's autolinks (bare URLs, `www.`,
 * e-mail addresses and mentions) broken by a zero-width space, as the App's summaries have them
 * (src/github/markdown.ts).
 */
export function escape(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|~])/g, '\\$1')
    .replace(/:\/\/|www\.|@/gi, (match) => (match === '@' ? '@&#8203;' : match === '://' ? ':&#8203;//' : `${match.slice(0, 3)}&#8203;.`));
}

/** Text inside a code span: no backquote can close it early, no pipe can split a table cell. */
function code(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/`/g, "'").replace(/\|/g, '\\|');
}
