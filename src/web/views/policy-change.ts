// The pages of a policy change: the form, the confirmation (the diff and the violations it would
// cause) and the pull request opened. Plain forms, POSTed with the session's CSRF token.
import { STANDARDS, type Catalog } from '../../library/catalog.js';
import { ENFORCEMENT_ACTIONS } from '../../library/plan.js';
import type { ComplianceColumn, ComplianceCell } from '../compliance-data.js';
import { CHANGE_FORM, CHANGE_OPEN, CHANGE_PREVIEW, changedPolicies, DEFAULT_ACTION, type ChangeForm, type ChangePreview, type PreparedChange } from '../policy-change.js';
import { changeDiff, changeTitle, WHY_WARN_FIRST } from '../policy-change-text.js';
import { html, safeUrl, type SafeHtml } from './html.js';
import { layout } from './layout.js';
import { commitUrl, plural, short, type PageContext } from './pages.js';

const OP_TEXT = { enable: 'Enable policies', action: 'Change the enforcement action', disable: 'Disable policies' } as const;

const ACTION_TEXT: Record<string, string> = {
  warn: 'warn — admitted, with a warning to whoever applies it (recommended first)',
  dryrun: 'dryrun — admitted silently, reported by Gatekeeper\'s audit only',
  deny: 'deny — rejected by the cluster',
};

function hiddenFields(form: ChangeForm, csrf: string, extra: Record<string, string> = {}): SafeHtml {
  const fields: Array<[string, string]> = [['csrf', csrf], ['repo', form.repo], ['cluster', form.cluster], ['op', form.op]];
  if (form.standard) fields.push(['standard', form.standard]);
  for (const p of form.policies) fields.push(['policy', p]);
  if (form.action) fields.push(['action', form.action]);
  for (const [k, v] of Object.entries(form.params)) fields.push([`param.${k}`, v]);
  for (const [k, v] of Object.entries(extra)) fields.push([k, v]);
  return html`${fields.map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}`;
}

export interface PolicyState {
  policy: string;
  title: string;
  cell: ComplianceCell | null;
}

/** The form: what to change in one cluster. */
export function changeFormPage(ctx: PageContext, form: ChangeForm, catalog: Catalog, column: ComplianceColumn | undefined, state: PolicyState[], problems: string[] = []): SafeHtml {
  const csrf = ctx.user!.csrf;
  const enabled = new Map(state.filter((s) => s.cell?.enabled).map((s) => [s.policy, s.cell!.actions.join(', ')]));
  const op = form.op;
  const tabs = html`<nav class="subnav" aria-label="change">${(['enable', 'action', 'disable'] as const).map(
    (o) => html`<a href="${`${CHANGE_FORM}?repo=${encodeURIComponent(form.repo)}&cluster=${encodeURIComponent(form.cluster)}&op=${o}`}"${o === op ? html` aria-current="page"` : ''}>${OP_TEXT[o]}</a>`,
  )}</nav>`;
  const choices = op === 'enable' ? catalog.policies : catalog.policies.filter((p) => enabled.has(p.name));
  const policyList = html`<fieldset class="policy-choice"><legend>${op === 'enable' ? 'Or individual policies' : 'Policies'}</legend>${
    choices.length === 0
      ? html`<p class="empty">No library policy is enabled in ${form.cluster}.</p>`
      : choices.map(
          (p) => html`<label class="check"><input type="checkbox" name="policy" value="${p.name}"${form.policies.includes(p.name) ? html` checked` : ''}> <code>${p.name}</code> ${p.title}${
            enabled.has(p.name) ? html` <small class="state">enabled: ${enabled.get(p.name)}</small>` : ''
          }${p.requiredParameters ? html` <small>needs ${p.requiredParameters.anyOf.join(' or ')} before it can deny</small>` : ''}</label>`,
        )
  }</fieldset>`;
  const standards = html`<label>Standard <select name="standard"><option value="">none: the policies below</option>${STANDARDS.map(
    (s) => html`<option value="${s.id}"${form.standard === s.id ? html` selected` : ''}>${s.title} (${plural(catalog.standards.find((x) => x.id === s.id)?.policies.length ?? 0, 'policy', 'policies')})</option>`,
  )}</select></label>`;
  const action = form.action ?? (op === 'enable' ? DEFAULT_ACTION : undefined);
  const actions = html`<fieldset class="action-choice"><legend>Enforcement action</legend>${ENFORCEMENT_ACTIONS.map(
    (a) => html`<label class="check"><input type="radio" name="action" value="${a}"${a === action ? html` checked` : ''}> ${ACTION_TEXT[a]}</label>`,
  )}<p class="hint">${WHY_WARN_FIRST.replace(/`/g, '')}</p></fieldset>`;
  const withParams = catalog.policies.filter((p) => p.requiredParameters);
  const keys = [...new Set(withParams.flatMap((p) => p.requiredParameters!.anyOf))];
  const params =
    op === 'enable' && keys.length > 0
      ? html`<fieldset class="params"><legend>Parameters</legend>${keys.map((key) => {
          const policy = withParams.find((p) => p.requiredParameters!.anyOf.includes(key))!;
          return html`<label>${key} <small>(${withParams.filter((p) => key in p.parameters).map((p) => p.name).join(', ')}: ${policy.parameters[key]?.description ?? ''})</small> <input type="text" name="${`param.${key}`}" value="${form.params[key] ?? ''}" placeholder="a,b"></label>`;
        })}<p class="hint">A list as a,b. An allow-list left empty is never enabled in deny: it would reject everything it checks.</p></fieldset>`
      : '';
  return layout({
    title: `${OP_TEXT[op]} in ${form.cluster}`,
    path: '/compliance',
    user: ctx.user,
    body: html`<p>Cluster <strong>${form.cluster}</strong> of ${form.repo}${column?.evaluation ? html`, as evaluated at <a href="${commitUrl(ctx, form.repo, column.evaluation.sha)}">${short(column.evaluation.sha)}</a>` : ''}. Parapet opens a pull request with the change on a new branch; nothing is written to the default branch. You confirm the diff first.</p>
${tabs}
${problems.length ? html`<div class="notice problems" role="alert"><p>Nothing was changed:</p><ul>${problems.map((p) => html`<li>${p}</li>`)}</ul></div>` : ''}
<form class="change-form" method="post" action="${CHANGE_PREVIEW}">
${hiddenFields({ repo: form.repo, cluster: form.cluster, op, policies: [], params: {} }, csrf)}
${op === 'enable' ? standards : ''}
${policyList}
${op === 'disable' ? '' : actions}
${params}
<button type="submit">Preview the change</button> <a href="/compliance?repo=${encodeURIComponent(form.repo)}">Cancel</a>
</form>`,
  });
}

function diffBlock(patch: string): SafeHtml {
  return html`<pre class="diff">${patch.split('\n').map((line) => {
    const kind = line.startsWith('+++') || line.startsWith('---') ? 'file' : line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : line.startsWith('@@') ? 'hunk' : 'ctx';
    return html`<span class="${`line ${kind}`}">${line}</span>\n`;
  })}</pre>`;
}

/** The confirmation: what the pull request will hold and what it would cause. */
export function confirmPage(ctx: PageContext, p: PreparedChange, preview: ChangePreview): SafeHtml {
  const { change, form } = p;
  const files = changeDiff(p);
  const changed = changedPolicies(change);
  const v = preview.violations;
  const objects = new Set(v.map((x) => `${x.object.kind}/${x.object.namespace ?? ''}/${x.object.name}`)).size;
  const body =
    files.length === 0
      ? html`<p class="notice" role="status">Nothing to change: ${change.plan.outcomes.map((o) => `${o.name} is ${o.outcome === 'not-enabled' ? 'not enabled' : 'already as asked'}`).join('; ')}.</p>
<p><a href="${`${CHANGE_FORM}?repo=${encodeURIComponent(form.repo)}&cluster=${encodeURIComponent(form.cluster)}&op=${form.op}`}">Back to the form</a></p>`
      : html`<p class="summary">Pull request <strong class="pr-title">${changeTitle(p)}</strong> into <code>${p.base.branch}</code> of ${form.repo}, from its commit <a href="${commitUrl(ctx, form.repo, p.base.sha)}">${short(p.base.sha)}</a>: ${plural(files.length, 'file')} in <code>${change.folder.path || '/'}</code>, exactly what <code>parapet policies ${form.op === 'disable' ? 'disable' : 'enable'}</code> writes.</p>
${change.plan.notes.length ? html`<ul class="notes">${change.plan.notes.map((n) => html`<li>${n}</li>`)}</ul>` : ''}
<h2 id="violations">${form.op === 'disable' ? 'Violations these policies report today' : 'Violations on the default branch with this change'}</h2>
${preview.failure
  ? html`<p class="notice">The default branch could not be evaluated with this change: ${preview.failure}. The pull request's own check will show it.</p>`
  : v.length === 0
    ? html`<p class="clean">None: ${form.op === 'disable' ? 'these policies find nothing today' : 'the objects on the default branch pass these policies'}.</p>`
    : html`<p class="violation-summary">${plural(v.length, 'violation')} in ${plural(objects, 'object')} (${plural(v.filter((x) => x.acceptance).length, 'accepted risk')})${form.op === 'disable' ? ' would no longer be reported' : ''}.</p>
<div class="table-wrap"><table class="preview"><thead><tr><th scope="col">Policy</th><th scope="col">Action</th><th scope="col">Object</th><th scope="col">Where</th><th scope="col">Message</th></tr></thead><tbody>${v.slice(0, 200).map(
        (x) => html`<tr data-policy="${x.policy}"><td><code>${x.policy}</code></td><td><span class="${`action action-${x.enforcementAction}`}">${x.enforcementAction}</span>${x.acceptance ? ' (accepted)' : ''}</td><td>${x.object.kind} ${x.object.namespace ? `${x.object.namespace}/` : ''}${x.object.name}</td><td><a href="${safeUrl(`${ctx.githubUrl}/${form.repo}/blob/${p.base.sha}/${x.location.file}#L${x.location.line}`)}">${x.location.file}:${x.location.line}</a></td><td>${x.message}</td></tr>`,
      )}</tbody></table></div>${v.length > 200 ? html`<p>… and ${v.length - 200} more.</p>` : ''}`}
${preview.errors.length ? html`<h2>Input errors with this change</h2><ul class="errors">${preview.errors.slice(0, 20).map((e) => html`<li><code>${e.location.file}:${e.location.line}</code> ${e.message}</li>`)}</ul>` : ''}
<h2 id="diff">The change <small>${changed.join(', ')}</small></h2>
${files.map((f) => html`<details open class="file"><summary><code>${f.path}</code> <span class="${`status ${f.status}`}">${f.status}</span></summary>${diffBlock(f.patch)}</details>`)}
<form class="confirm" method="post" action="${CHANGE_OPEN}">
${hiddenFields(form, ctx.user!.csrf, { base: p.base.sha })}
<button type="submit">Open the pull request</button> <a href="${`${CHANGE_FORM}?repo=${encodeURIComponent(form.repo)}&cluster=${encodeURIComponent(form.cluster)}&op=${form.op}`}">Change the selection</a>
</form>`;
  return layout({ title: `Confirm: ${OP_TEXT[form.op].toLowerCase()} in ${form.cluster}`, path: '/compliance', user: ctx.user, body });
}

export function openedPage(ctx: PageContext, form: ChangeForm, pull: { number: number; url: string }, title: string, branch: string): SafeHtml {
  return layout({
    title: 'Pull request opened',
    path: '/compliance',
    user: ctx.user,
    body: html`<p class="notice" role="status">Opened <a class="pull-link" href="${safeUrl(pull.url)}">${form.repo}#${pull.number}</a>: ${title}, on the branch <code>${branch}</code>. Its check shows the policy-change impact; the change takes effect once it is reviewed and merged.</p>
<p><a href="/compliance?repo=${encodeURIComponent(form.repo)}">Back to the compliance matrix</a></p>`,
  });
}

export function problemsPage(ctx: PageContext, form: ChangeForm, problems: string[]): SafeHtml {
  return layout({
    title: 'Nothing was changed',
    path: '/compliance',
    user: ctx.user,
    body: html`<div class="notice problems" role="alert"><ul>${problems.map((p) => html`<li>${p}</li>`)}</ul></div>
<p><a href="${`${CHANGE_FORM}?repo=${encodeURIComponent(form.repo)}&cluster=${encodeURIComponent(form.cluster)}&op=${form.op}`}">Back to the form</a></p>`,
  });
}
