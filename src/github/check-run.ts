// One check run per cluster: what it concludes, the Markdown summary, the annotations (pure
// functions of the cluster's report), and how they are sent (annotations in batches of 50, the
// most GitHub takes in one request, as updates of the same check run). Every value from the
// repository in the summary is the pull request author's text and goes through markdown.ts;
// annotations are plain text on GitHub, their titles kept on one line. Warnings and notices (what
// the cluster's tools read otherwise, what was not rendered) are said on their lines and in the
// summary, and never change the conclusion.
import { isBlocking, type ClusterReport, type InputError, type InputErrorCode, type Violation } from '../engine/index.js';
import { redactSecrets } from '../errors.js';
import type { GitHubClient, RepoRef } from './github-client.js';
import { markdownCode, markdownText, oneLine, truncateMarkdown } from './markdown.js';
import type { PolicyImpact } from './policy-impact.js';
import type { DiffLines } from './pull-diff.js';

/**
 * `success` and `neutral` satisfy a branch protection rule that requires the check run's name;
 * `failure` and `cancelled` (a run that carries no verdict, interruptedOutput) do not.
 */
export type Conclusion = 'success' | 'neutral' | 'failure' | 'cancelled';
export type AnnotationLevel = 'notice' | 'warning' | 'failure';

export interface Annotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: AnnotationLevel;
  title: string;
  message: string;
}

export interface CheckOutput {
  conclusion: Conclusion;
  title: string;
  summary: string;
  annotations: Annotation[];
}

/** GitHub's limits: annotations per request, characters in a summary, in an annotation message and title. */
export const MAX_ANNOTATIONS_PER_REQUEST = 50;
/**
 * Annotations sent per check run: ten updates at most, so a pull request's API calls stay the same
 * whatever its size. The most severe are sent; the summary says how many are left out.
 */
export const MAX_ANNOTATIONS = 10 * MAX_ANNOTATIONS_PER_REQUEST;
const MAX_SUMMARY = 65_000;
const MAX_MESSAGE = 4_000;
const MAX_TITLE = 255;

/**
 * What a check run's name starts with: `parapet` for a pull request into the repository's default
 * branch, `parapet (into <branch>)` for one into any other branch. A commit's check run speaks for
 * the branch whose policies judged it, so that branch protection, which requires a name, can only
 * be satisfied by a verdict of its own branch's policies: a pull request of the same commit into a
 * branch with weaker policies posts under another name. Git branch names hold no space, so no
 * cluster name can make one prefix look like the other.
 */
export function checkRunPrefix(into?: string): string {
  return into === undefined ? 'parapet' : `parapet (into ${into})`;
}

/** `parapet / <cluster>` (into the default branch), `parapet (into <branch>) / <cluster>` (into another). */
export function checkRunName(cluster: string, into?: string): string {
  return `${checkRunPrefix(into)} / ${cluster}`;
}

/**
 * `failure` for a new unaccepted deny violation or any input error (a file that cannot be read
 * never passes silently); `neutral` when the pull request only adds warnings; else `success`.
 */
export function conclusionOf(cluster: ClusterReport, errors: InputError[]): Conclusion {
  const added = cluster.violations.filter(isNew);
  if (errors.length > 0 || added.some(isBlocking)) return 'failure';
  if (added.some((v) => v.enforcementAction === 'warn' && v.acceptance === null)) return 'neutral';
  return 'success';
}

/** Violations listed by name in each part of the policy-change impact; the rest are counted. */
export const MAX_IMPACT_LISTED = 20;

/**
 * `errors`: the cluster's input errors plus those that belong to no cluster. `impact`: when the
 * pull request changes the cluster's policies, what the head's policies would change; shown in
 * the summary, never part of the conclusion. `changed`: the lines the pull request adds or
 * rewrites (pull-diff.ts `added`); a warning or notice is annotated only there, as only new
 * violations are, and the others are counted in the summary. Without it every one is annotated.
 */
export function clusterCheckOutput(cluster: ClusterReport, errors: InputError[], impact?: PolicyImpact, changed?: DiffLines): CheckOutput {
  const added = cluster.violations.filter(isNew);
  const existing = cluster.violations.filter((v) => !isNew(v));
  const blocking = added.filter(isBlocking);
  const onChangedLine = (e: InputError) => changed === undefined || changed.get(e.location.file)?.has(e.location.line) === true;
  const all = [
    ...errors.map(errorAnnotation),
    ...added.map(violationAnnotation),
    ...(cluster.warnings ?? []).filter(onChangedLine).map(warningAnnotation),
    ...(cluster.notices ?? []).filter(onChangedLine).map(noticeAnnotation),
  ];
  // Over the cap, the most severe are kept (within a level, the first in the report), and sent in
  // the report's order (input errors, then by file and line) like the rest.
  const annotations = all.length <= MAX_ANNOTATIONS
    ? all
    : all.map((a, i) => [a, i] as const).sort(([a, i], [b, j]) => SEVERITY[a.annotation_level] - SEVERITY[b.annotation_level] || i - j).slice(0, MAX_ANNOTATIONS).sort(([, i], [, j]) => i - j).map(([a]) => a);
  const omitted = all.length - annotations.length;
  const note = omitted > 0
    ? `> **${omitted} more ${omitted === 1 ? 'finding is' : 'findings are'} not annotated.** A check run gets the ${MAX_ANNOTATIONS} most severe annotations (input errors, then blocking, warning and other findings), so a pull request costs the same number of GitHub API calls whatever its size. \`parapet check\` lists them all.\n\n`
    : '';
  return {
    conclusion: conclusionOf(cluster, errors),
    title: (errors.some(isCut) ? 'Not fully checked: ' : '') + title(blocking.length, added.length, errors.length),
    summary: truncateMarkdown(note + summary(cluster, added, existing, errors, impact, onChangedLine), MAX_SUMMARY),
    annotations,
  };
}

/** The check run of a cluster when Parapet itself failed: says what happened and what to do. */
export function operationalFailureOutput(message: string): CheckOutput {
  return {
    conclusion: 'failure',
    title: 'Parapet could not check this commit',
    summary: truncateMarkdown(
      [
        `Parapet could not evaluate this commit: ${markdownText(redactSecrets(message))}`,
        '',
        'This is a problem of Parapet or of its access to GitHub, not a verdict on your changes. ' +
          'Use **Re-run** on this check to try again; if it fails again, ask the administrators of the Parapet App to look at its logs.',
      ].join('\n'),
      MAX_SUMMARY,
    ),
    annotations: [],
  };
}

/**
 * `output` of an evaluation the database could not store: the verdict stands (it is the
 * evaluation's, not the database's); the summary starts with what is missing and how to repair it.
 */
export function notRecordedOutput(output: CheckOutput, reason: string): CheckOutput {
  // Client errors (Prisma's) open with the call site in Parapet's source; the database's reason is the last line.
  const why = reason.split('\n').map((line) => line.trim()).filter(Boolean).pop() ?? 'unknown error';
  const note =
    `> **Not recorded.** Parapet could not store this evaluation in its database: ${markdownText(redactSecrets(why), 500)}\n>\n` +
    '> The verdict below stands, but the overview and the history of this pull request do not show this commit. ' +
    'Use **Re-run** on this check once the database is back to record it; if it fails again, ask the administrators of the Parapet App to look at its database.';
  return {
    ...output,
    title: truncate(`${output.title} (not recorded)`, MAX_TITLE),
    summary: `${note}\n\n${truncateMarkdown(output.summary, MAX_SUMMARY - note.length - 2)}`,
  };
}

/**
 * A run left in progress by an earlier, interrupted evaluation, now replaced by a new one. It
 * carries no verdict, so it must not pass branch protection: `neutral` would, were it the run of
 * its name that GitHub reads (a name the base branch no longer declares, say).
 */
export function interruptedOutput(): CheckOutput {
  return {
    conclusion: 'cancelled',
    title: 'Interrupted',
    summary: 'Parapet was interrupted (restarted) while evaluating this commit. It has been evaluated again; see the other `parapet` check runs of this commit.',
    annotations: [],
  };
}

/**
 * `output` of a commit that is no longer the pull request's head: the verdict stands (it is this
 * commit's, judged with the base branch's policies, whichever pull request has the commit), and
 * the summary starts with where the pull request went.
 */
export function supersededOutput(output: CheckOutput, pullRequest: number, newHeadSha: string): CheckOutput {
  const note =
    `> **Superseded.** Pull request #${pullRequest} moved on to ${newHeadSha} while this commit was being evaluated; its review and its current verdict are on the check runs of ${newHeadSha.slice(0, 7)}. ` +
    'This verdict remains the one of this commit.';
  return {
    ...output,
    title: truncate(`${output.title} (superseded by ${newHeadSha.slice(0, 7)})`, MAX_TITLE),
    summary: `${note}\n\n${truncate(output.summary, MAX_SUMMARY - note.length - 2)}`,
  };
}

function isNew(violation: Violation): boolean {
  // Without a base to compare with, every violation is the pull request's.
  return violation.status !== 'existing';
}

function title(blocking: number, added: number, errors: number): string {
  const parts: string[] = [];
  if (errors > 0) parts.push(plural(errors, 'input error'));
  if (blocking > 0) parts.push(`${plural(blocking, 'new violation')} that ${blocking === 1 ? 'blocks' : 'block'} merging`);
  else if (added > 0) parts.push(`${plural(added, 'new finding')}, none blocking`);
  return parts.length > 0 ? parts.join(', ') : 'No new violations';
}

/** Render time below this is not worth a line of the summary. */
const SIGNIFICANT_RENDER_MS = 2000;

function summary(cluster: ClusterReport, added: Violation[], existing: Violation[], errors: InputError[], impact: PolicyImpact | undefined, annotated: (e: InputError) => boolean): string {
  const lines: string[] = [];
  lines.push(
    `Cluster **${markdownText(cluster.name)}** (${markdownCode(cluster.config)}): ${plural(cluster.stats.objects, 'object')}, ${plural(cluster.stats.constraints, 'constraint')}. ` +
      `${plural(added.length, 'new violation')}, ${plural(existing.length, 'existing violation')}, ${plural(errors.length, 'input error')}.`,
    '',
  );
  const renders = cluster.stats.renders;
  if (renders && renders.ms > SIGNIFICANT_RENDER_MS) {
    lines.push(`Rendering took ${(renders.ms / 1000).toFixed(1)} s: ${plural(renders.builds - renders.cached, 'build')} run, ${renders.cached} reused from the render cache.`, '');
  }

  const rows = new Map<string, { policy: string; action: string; added: number; existing: number; accepted: number }>();
  for (const v of cluster.violations) {
    const key = `${v.policy}\0${v.enforcementAction}`;
    const row = rows.get(key) ?? { policy: v.policy, action: v.enforcementAction, added: 0, existing: 0, accepted: 0 };
    if (isNew(v)) row.added++;
    else row.existing++;
    if (v.acceptance) row.accepted++;
    rows.set(key, row);
  }
  if (rows.size > 0) {
    lines.push('| Policy | Action | New | Existing | Accepted |', '| --- | --- | ---: | ---: | ---: |');
    for (const row of [...rows.values()].sort((a, b) => compareText(a.policy, b.policy) || compareText(a.action, b.action))) {
      lines.push(`| ${markdownText(row.policy)} | ${row.action} | ${row.added} | ${row.existing} | ${row.accepted} |`);
    }
    lines.push('');
  }

  const cut = errors.filter(isCut);
  if (cut.length > 0) {
    lines.push(
      `### Not fully checked (${cut.length})`,
      '',
      'Parapet bounds the work of every check (the time and memory of each evaluation, of each file and of each template, and the time of each pull request), ' +
        'so that no pull request holds up the checks of the others. What is listed here was stopped or not read; each is annotated and fails the check, ' +
        'since what was not checked cannot pass.',
      '',
    );
    listErrors(lines, cut);
  }
  const unreadable = errors.filter((e) => !isCut(e));
  if (unreadable.length > 0) {
    lines.push(`### Input errors (${unreadable.length})`, '', 'Files Parapet could not read or understand; each is annotated on its line and fails the check.', '');
    listErrors(lines, unreadable);
  }

  const warnings = cluster.warnings ?? [];
  if (warnings.length > 0) {
    lines.push(
      `### Warnings (${warnings.length})`,
      '',
      'Lines the cluster takes that the tools between this repository and the cluster read differently (YAML that kubectl and Argo CD decode otherwise than Flux), ' +
        `so the cluster gets what its own tool reads. They do not fail the check. ${whereAnnotated(warnings, annotated)}`,
      '',
    );
    listErrors(lines, warnings);
  }

  const notices = cluster.notices ?? [];
  if (notices.length > 0) {
    lines.push(`### Not rendered (${notices.length})`, '', `What this cluster applies that Parapet could not render, so it was not judged. ${whereAnnotated(notices, annotated)}`, '');
    listErrors(lines, notices);
  }

  const accepted = added.filter((v) => v.acceptance !== null);
  if (accepted.length > 0) {
    lines.push(`### Risks accepted by this pull request (${accepted.length})`, '');
    for (const v of accepted) {
      const a = v.acceptance!;
      lines.push(`- **${markdownText(v.policy)}** on ${markdownText(objectName(v))} (${markdownCode(place(a.location.file, a.location.line))}, ${a.level}): ${markdownText(a.reason)}`);
    }
    lines.push('');
  }

  if (impact) lines.push(...impactSection(impact), '');

  if (existing.length > 0) {
    lines.push(`<details><summary>Existing violations, already on the base branch (${existing.length})</summary>`, '');
    for (const v of existing.slice(0, 500)) {
      const acceptedNote = v.acceptance ? ` — accepted: ${markdownText(v.acceptance.reason)}` : '';
      lines.push(`- ${markdownCode(place(v.location.file, v.location.line))} **${markdownText(v.policy)}** (${v.enforcementAction}) ${markdownText(v.message)}${acceptedNote}`);
    }
    if (existing.length > 500) lines.push(`- … and ${existing.length - 500} more`);
    lines.push('', '</details>', '');
  }
  if (cluster.violations.length === 0 && errors.length === 0) lines.push('No violations and no input errors.');
  return lines.join('\n').trimEnd();
}

/** Which of `items` are annotated: all, or those on lines the pull request changes, the others counted. */
function whereAnnotated(items: InputError[], annotated: (e: InputError) => boolean): string {
  const count = items.filter(annotated).length;
  if (count === items.length) return items.length === 1 ? 'It is annotated on its line.' : 'Each is annotated on its line.';
  const others = items.length - count;
  const onOthers = `${others} ${others === 1 ? 'is' : 'are'} on lines this pull request does not change, so ${others === 1 ? 'it is' : 'they are'} listed here only`;
  return count === 0 ? `${onOthers}.` : `${count} on lines this pull request changes ${count === 1 ? 'is' : 'are'} annotated; ${onOthers}.`;
}

/** Work a limit cut short (`limit` errors): a file not read, a template stopped, a cluster not fully evaluated. */
function isCut(error: InputError): boolean {
  return error.code === 'limit';
}

function listErrors(lines: string[], errors: InputError[]): void {
  for (const e of errors.slice(0, 100)) lines.push(`- ${markdownCode(place(e.location.file, e.location.line))} ${markdownText(e.message)}`);
  if (errors.length > 100) lines.push(`- … and ${errors.length - 100} more (see the annotations)`);
  lines.push('');
}

/** The "Policy-change impact" section: counts by policy, then the first violations that appear and disappear. */
export function impactSection(impact: PolicyImpact): string[] {
  const lines: string[] = ['### Policy-change impact', ''];
  const files = impact.changedFiles.slice(0, 10).map((f) => markdownCode(f));
  if (impact.changedFiles.length > 10) files.push(`… and ${impact.changedFiles.length - 10} more`);
  lines.push(
    `This pull request changes the policies of this cluster (${files.join(', ')}). ` +
      'The conclusion above judges this pull request with the base branch’s policies. ' +
      `With the policies of this pull request, on the same manifests, ${impact.appeared.length} ${impact.appeared.length === 1 ? 'violation' : 'violations'} would appear and ${impact.disappeared.length} would disappear. ` +
      'This is for information only: it does not change the conclusion.',
    '',
  );
  if (impact.failure) lines.push(`The policies of this pull request could not be evaluated: ${markdownText(impact.failure)}`, '');

  const rows = new Map<string, { policy: string; action: string; appear: number; disappear: number }>();
  const count = (v: Violation, field: 'appear' | 'disappear') => {
    const key = `${v.policy}\0${v.enforcementAction}`;
    const row = rows.get(key) ?? { policy: v.policy, action: v.enforcementAction, appear: 0, disappear: 0 };
    row[field]++;
    rows.set(key, row);
  };
  for (const v of impact.appeared) count(v, 'appear');
  for (const v of impact.disappeared) count(v, 'disappear');
  if (rows.size > 0) {
    lines.push('| Policy | Action | Appear | Disappear |', '| --- | --- | ---: | ---: |');
    for (const row of [...rows.values()].sort((a, b) => compareText(a.policy, b.policy) || compareText(a.action, b.action))) {
      lines.push(`| ${markdownText(row.policy)} | ${row.action} | ${row.appear} | ${row.disappear} |`);
    }
    lines.push('');
  }
  const list = (heading: string, violations: Violation[]) => {
    if (violations.length === 0) return;
    lines.push(`**${heading} (${violations.length})**`, '');
    for (const v of violations.slice(0, MAX_IMPACT_LISTED)) {
      const accepted = v.acceptance ? ' — accepted' : '';
      lines.push(`- ${markdownCode(place(v.location.file, v.location.line))} **${markdownText(v.policy)}** (${v.enforcementAction}) ${markdownText(v.message)}${accepted}`);
    }
    if (violations.length > MAX_IMPACT_LISTED) lines.push(`- … and ${violations.length - MAX_IMPACT_LISTED} more`);
    lines.push('');
  };
  list('Would appear with the new policies', impact.appeared);
  list('Would disappear with the new policies', impact.disappeared);
  if (impact.errors.length > 0) {
    lines.push(`**Input errors with the new policies (${impact.errors.length})**`, '');
    for (const e of impact.errors.slice(0, MAX_IMPACT_LISTED)) lines.push(`- ${markdownCode(place(e.location.file, e.location.line))} ${markdownText(e.message)}`);
    if (impact.errors.length > MAX_IMPACT_LISTED) lines.push(`- … and ${impact.errors.length - MAX_IMPACT_LISTED} more`);
    lines.push('');
  }
  if (rows.size === 0 && impact.errors.length === 0 && !impact.failure) lines.push('No violation appears or disappears.', '');
  return trimEnd(lines);
}

function trimEnd(lines: string[]): string[] {
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

const SEVERITY: Record<AnnotationLevel, number> = { failure: 0, warning: 1, notice: 2 };

function violationAnnotation(v: Violation): Annotation {
  const level: AnnotationLevel = v.acceptance ? 'notice' : v.enforcementAction === 'deny' ? 'failure' : v.enforcementAction === 'warn' ? 'warning' : 'notice';
  const accepted = v.acceptance ? `\n\nRisk accepted (${v.acceptance.level}): ${v.acceptance.reason}` : '';
  return {
    path: v.location.file,
    start_line: Math.max(1, v.location.line),
    end_line: Math.max(1, v.location.line),
    annotation_level: level,
    // Plain text on GitHub, but one line: a title is a heading of the annotation.
    title: truncate(oneLine(`${v.policy} (${v.enforcementAction}${v.acceptance ? ', accepted' : ''}): ${objectName(v)}`), MAX_TITLE),
    message: truncate(`${v.message}${accepted}`, MAX_MESSAGE),
  };
}

/** The title of a warning's annotation, by its kind. */
const WARNING_TITLES: Partial<Record<InputErrorCode, string>> = {
  'yaml-reading': 'read differently by kubectl and Flux (yaml-reading)',
};

/** A line the cluster's tools read otherwise: a warning on its line, never a failure. Its message quotes the file, as plain text. */
function warningAnnotation(e: InputError): Annotation {
  return { ...errorAnnotation(e), annotation_level: 'warning', title: WARNING_TITLES[e.code] ?? `warning (${e.code})` };
}

/** What Parapet could not render (a chart it does not fetch): said on its line, never a failure. */
function noticeAnnotation(e: InputError): Annotation {
  return { ...errorAnnotation(e), annotation_level: 'notice', title: 'not rendered' };
}

function errorAnnotation(e: InputError): Annotation {
  return {
    path: e.location.file,
    start_line: Math.max(1, e.location.line),
    end_line: Math.max(1, e.location.line),
    annotation_level: 'failure',
    title: `input error (${e.code})`,
    message: truncate(e.message, MAX_MESSAGE),
  };
}

function objectName(v: Violation): string {
  return `${v.object.kind} ${v.object.namespace ? `${v.object.namespace}/` : ''}${v.object.name}`;
}

function place(file: string, line: number): string {
  return `${file}:${line}`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A check run on GitHub, created `in_progress` and later completed, never left open. */
export class CheckRun {
  private constructor(
    private readonly octokit: GitHubClient,
    private readonly repo: RepoRef,
    readonly id: number,
    readonly name: string,
  ) {}

  /** A run this App left unfinished (a crash, a restart), taken over rather than duplicated. */
  static resume(octokit: GitHubClient, repo: RepoRef, id: number, name: string): CheckRun {
    return new CheckRun(octokit, repo, id, name);
  }

  /**
   * Parapet's check runs on `headSha` that never completed (the process died mid-run): one call,
   * the runs of this App (`app_id`) whose name is Parapet's. 100 runs on one commit are plenty.
   */
  static async unfinished(octokit: GitHubClient, repo: RepoRef, headSha: string, appId: number | undefined, isOurs: (name: string) => boolean): Promise<CheckRun[]> {
    const { data } = await octokit.request('GET /repos/{owner}/{repo}/commits/{ref}/check-runs', {
      ...repo,
      ref: headSha,
      filter: 'all',
      per_page: 100,
      ...(appId !== undefined ? { app_id: appId } : {}),
    });
    // Newest first: of several runs of one name, the newest is taken over, so that the run which
    // carries the verdict is both the last created and the last completed of its name, the one
    // branch protection reads whichever of the two it goes by.
    return data.check_runs
      .filter((run) => run.status !== 'completed' && isOurs(run.name) && (appId === undefined || run.app?.id === appId))
      .sort((a, b) => Number(b.id) - Number(a.id))
      .map((run) => new CheckRun(octokit, repo, Number(run.id), run.name));
  }

  static async start(octokit: GitHubClient, repo: RepoRef, headSha: string, name: string): Promise<CheckRun> {
    const { data } = await octokit.request('POST /repos/{owner}/{repo}/check-runs', {
      ...repo,
      name,
      head_sha: headSha,
      status: 'in_progress',
      started_at: new Date().toISOString(),
      output: { title: 'Evaluating…', summary: 'Parapet is evaluating the manifests of this commit against the base branch’s policies.' },
    });
    return new CheckRun(octokit, repo, Number(data.id), name);
  }

  /**
   * Sends the annotations 50 per update; the last update carries the conclusion, so a run with
   * 120 annotations takes three updates, and one with none a single update.
   */
  async complete(output: CheckOutput): Promise<void> {
    const batches: Annotation[][] = [];
    for (let i = 0; i < output.annotations.length; i += MAX_ANNOTATIONS_PER_REQUEST) batches.push(output.annotations.slice(i, i + MAX_ANNOTATIONS_PER_REQUEST));
    const last = batches.pop() ?? [];
    const text = { title: output.title, summary: output.summary };
    for (const annotations of batches) {
      await this.octokit.request('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', { ...this.repo, check_run_id: this.id, output: { ...text, annotations } });
    }
    await this.octokit.request('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
      ...this.repo,
      check_run_id: this.id,
      status: 'completed',
      conclusion: output.conclusion,
      completed_at: new Date().toISOString(),
      output: { ...text, ...(last.length > 0 ? { annotations: last } : {}) },
    });
  }
}
