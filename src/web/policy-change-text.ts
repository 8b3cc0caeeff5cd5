// The words of a policy change: its title (pull request and commit), the pull request's description
// (what changes, the standards and controls it covers, why warn first, and the violations it would
// cause on the default branch) and the diff the confirmation shows. Pure.
import { createTwoFilesPatch } from 'diff';
import { findPolicy, findStandard, STANDARDS, type Catalog } from '../library/catalog.js';
import type { EnforcementAction } from '../library/plan.js';
import { changedPolicies, type ChangePreview, type PreparedChange } from './policy-change.js';

const STANDARD_TITLE = new Map<string, string>(STANDARDS.map((s) => [s.id, s.title]));

function names(list: string[]): string {
  if (list.length <= 3) return list.join(', ');
  return `${list.length} policies`;
}

export function changeTitle(p: PreparedChange): string {
  const { form } = p;
  const changed = changedPolicies(p.change);
  const action = form.action ?? 'warn';
  const where = `on ${form.cluster}`;
  if (form.op === 'disable') return `Disable ${names(changed)} ${where}`;
  if (form.op === 'action') return `Set ${names(changed)} to ${action} ${where}`;
  if (form.standard !== undefined) return `Enable ${STANDARD_TITLE.get(form.standard) ?? form.standard} (${names(changed)}) in ${action} ${where}`;
  return `Enable ${names(changed)} in ${action} ${where}`;
}

/** The branch a change goes on: `parapet/<verb>-<cluster>-<date>-<random>`, a valid ref whatever the cluster's name. */
export function changeBranch(p: PreparedChange, random: string, now = new Date()): string {
  const cluster = p.form.cluster.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'cluster';
  return `parapet/${p.form.op === 'action' ? 'set-action' : p.form.op}-${cluster}-${now.toISOString().slice(0, 10).replace(/-/g, '')}-${random}`;
}

const cell = (text: string) => text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ').replace(/[<>]/g, (c) => (c === '<' ? '&lt;' : '&gt;'));
const code = (text: string) => `<code>${cell(text).replace(/`/g, '&#96;')}</code>`;

export const WHY_WARN_FIRST =
  'Roll out, then enforce: in `warn` (or `dryrun`) Gatekeeper admits everything and reports what the policy would reject, so teams can fix or accept those objects before `deny` starts rejecting them.';

export interface ChangeText {
  title: string;
  body: string;
  message: string;
}

const BODY_LIMIT = 60_000;
const LISTED = 50;

/** What the pull request says, and the commit message. */
export function changeText(p: PreparedChange, preview: ChangePreview, requestedBy: string, site: string): ChangeText {
  const { change, catalog, form } = p;
  const title = changeTitle(p);
  const changed = new Set(changedPolicies(change));
  const lines: string[] = [];
  const verb = form.op === 'disable' ? 'disables' : form.op === 'action' ? `sets the enforcement action to \`${form.action}\` of` : `enables, in \`${form.action ?? 'warn'}\`,`;
  lines.push(
    `@${requestedBy} asked for this change on [Parapet's compliance page](${site}/compliance?repo=${encodeURIComponent(form.repo)}&cluster=${encodeURIComponent(form.cluster)}). It ${verb} ${names([...changed])} ${form.standard ? `(Parapet's policies for ${STANDARD_TITLE.get(form.standard) ?? form.standard}) ` : ''}in the cluster **${form.cluster}** (policies folder \`${change.folder.path || '/'}\`), with exactly the files \`parapet policies ${form.op === 'disable' ? 'disable' : 'enable'}\` writes.`,
    '',
  );
  lines.push('| Policy | Change | Version | Standards and controls |', '|---|---|---|---|');
  for (const o of change.plan.outcomes) {
    if (o.outcome === 'unchanged' || o.outcome === 'not-enabled') continue;
    const policy = findPolicy(catalog, o.name);
    const refs = policy?.standards.map((s) => `${s.id} ${s.control}`).join(', ') || '—';
    const what = o.outcome === 'upgraded' ? `upgraded from ${o.from}` : o.outcome;
    lines.push(`| ${code(o.name)} ${cell(policy?.title ?? '')} | ${what} | ${o.to ?? o.from ?? ''} | ${cell(refs)} |`);
  }
  const untouched = change.plan.outcomes.filter((o) => o.outcome === 'unchanged' || o.outcome === 'not-enabled').map((o) => o.name);
  if (untouched.length > 0) lines.push('', `Already as asked, left alone: ${untouched.map((n) => `\`${n}\``).join(', ')}.`);
  lines.push('', ...coverageLines(catalog, [...changed], form.op === 'disable'));
  if (form.op !== 'disable' && form.action !== 'deny') lines.push('', `**Why \`${form.action ?? 'warn'}\` first.** ${WHY_WARN_FIRST} Change the action to \`deny\` once the violations below are dealt with (the compliance page opens that pull request too).`);
  if (change.plan.notes.length > 0) lines.push('', ...change.plan.notes.map((n) => `> **Note:** ${cell(n)}`));
  lines.push('', ...previewLines(p, preview));
  lines.push('', '### Files', '');
  for (const path of [...change.plan.writes.keys()].sort()) lines.push(`- \`${path}\` ${change.folder.files.has(path) ? 'changed' : 'added'}`);
  for (const path of change.plan.deletes) lines.push(`- \`${path}\` removed`);
  let body = lines.join('\n');
  if (body.length > BODY_LIMIT) body = `${body.slice(0, BODY_LIMIT)}\n\n… (cut: the description is too long for GitHub)`;
  const message = `${title}\n\nRequested by @${requestedBy} through Parapet's compliance page: the files \`parapet policies ${form.op === 'disable' ? 'disable' : 'enable'}\` writes.`;
  return { title, body, message };
}

function coverageLines(catalog: Catalog, changed: string[], removing: boolean): string[] {
  const byStandard = new Map<string, string[]>();
  for (const name of changed) {
    for (const ref of findPolicy(catalog, name)?.standards ?? []) byStandard.set(ref.id, [...(byStandard.get(ref.id) ?? []), ref.control]);
  }
  if (byStandard.size === 0) return [`**Standards:** none of these policies maps to a security standard.`];
  const out = [`**Standards and controls ${removing ? 'no longer covered by these policies' : 'covered'}:**`, ''];
  for (const s of STANDARDS) {
    const controls = byStandard.get(s.id);
    if (!controls) continue;
    const total = findStandard(catalog, s.id)?.policies.length ?? 0;
    out.push(`- ${s.title} (\`${s.id}\`): ${[...new Set(controls)].map(cell).join(', ')} — ${changed.filter((n) => findPolicy(catalog, n)?.standards.some((r) => r.id === s.id)).length} of the standard's ${total} library policies`);
  }
  return out;
}

function previewLines(p: PreparedChange, preview: ChangePreview): string[] {
  const sha = p.base.sha.slice(0, 7);
  const heading = p.form.op === 'disable' ? `### Violations these policies report today on \`${p.base.branch}\` (${sha})` : `### Violations on \`${p.base.branch}\` (${sha}) with this change`;
  if (preview.failure) return [heading, '', `Parapet could not evaluate the default branch with this change: ${cell(preview.failure)}. Its check on this pull request shows the policy-change impact.`];
  const v = preview.violations;
  const objects = new Set(v.map((x) => `${x.object.kind}/${x.object.namespace ?? ''}/${x.object.name}`)).size;
  const accepted = v.filter((x) => x.acceptance).length;
  const out = [heading, ''];
  if (v.length === 0) out.push(p.form.op === 'disable' ? 'None: these policies find nothing today.' : 'None: the objects on the default branch already pass these policies.');
  else {
    out.push(
      `${v.length} violation${v.length === 1 ? '' : 's'} in ${objects} object${objects === 1 ? '' : 's'}${accepted ? `, ${accepted} of them accepted risks` : ''}${p.form.op === 'disable' ? ' would no longer be reported' : ''}. Parapet's check on this pull request shows them as policy-change impact.`,
      '',
      '| Policy | Action | Object | Where | Message |',
      '|---|---|---|---|---|',
    );
    for (const x of v.slice(0, LISTED)) {
      const object = `${x.object.kind} ${x.object.namespace ? `${x.object.namespace}/` : ''}${x.object.name}`;
      out.push(`| ${code(x.policy)} | ${x.enforcementAction}${x.acceptance ? ' (accepted)' : ''} | ${cell(object)} | ${code(`${x.location.file}:${x.location.line}`)} | ${cell(x.message.slice(0, 300))} |`);
    }
    if (v.length > LISTED) out.push('', `… and ${v.length - LISTED} more.`);
  }
  if (preview.errors.length > 0) out.push('', `**Input errors with this change:**`, '', ...preview.errors.slice(0, 20).map((e) => `- ${code(`${e.location.file}:${e.location.line}`)} ${cell(e.message)}`));
  return out;
}

/** The change as a unified diff per file (the confirmation shows it before anything is written). */
export function changeDiff(p: PreparedChange): Array<{ path: string; status: 'added' | 'changed' | 'removed'; patch: string }> {
  const { plan, folder } = p.change;
  const diff = (path: string, before: string, after: string) =>
    createTwoFilesPatch(before === '' ? '/dev/null' : `a/${path}`, after === '' ? '/dev/null' : `b/${path}`, before, after, '', '', { context: 3 })
      .split('\n')
      .slice(1)
      .join('\n');
  return [
    ...[...plan.writes].map(([path, text]) => ({ path, status: folder.files.has(path) ? ('changed' as const) : ('added' as const), patch: diff(path, folder.files.get(path) ?? '', text) })),
    ...plan.deletes.map((path) => ({ path, status: 'removed' as const, patch: diff(path, folder.files.get(path) ?? '', '') })),
  ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export type { EnforcementAction };
