// The overview's pages: functions from view data to HTML.
import type { ApplicationView, ClusterRow, EvaluationRow, ImageRow, ImagesView, RiskRow, StageDrift } from '../overview-data.js';
import { MUTABILITY_TEXT } from '../versions.js';
import { html, safeUrl, type SafeHtml } from './html.js';
import { filterForm, layout, type FilterChoices, type Filters, type PageUser } from './layout.js';

export interface PageContext {
  user: PageUser;
  filters: Filters;
  choices: FilterChoices;
  /** GitHub's web site, for links to commits and pull requests. */
  githubUrl: string;
}

const short = (sha: string | null | undefined) => (sha ? sha.slice(0, 7) : '');
const commitUrl = (ctx: PageContext, repo: string, sha: string) => safeUrl(`${ctx.githubUrl}/${repo}/commit/${encodeURIComponent(sha)}`);
const pullUrl = (ctx: PageContext, repo: string, n: number) => safeUrl(`${ctx.githubUrl}/${repo}/pull/${n}`);
const clusterHref = (repo: string, name: string) => `/clusters/${encodeURIComponent(name)}?repo=${encodeURIComponent(repo)}`;
const time = (iso: string) => html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')}</time>`;

function table(head: SafeHtml, rows: SafeHtml[], empty: string): SafeHtml {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<div class="table-wrap"><table><thead>${head}</thead><tbody>${rows}</tbody></table></div>`;
}

function tag(row: ImageRow): SafeHtml {
  if (row.malformed) return html`<span class="tag malformed" title="${`malformed: ${row.malformed}`}">${row.reference}</span>`;
  const notes = [
    `${row.workload.kind}/${row.workload.name} (${row.container})`,
    row.outdated ? `outdated: ${row.newer} is deployed elsewhere` : '',
    row.mutable ? MUTABILITY_TEXT[row.mutable] : '',
    row.digest ? row.digest : '',
  ].filter(Boolean);
  const classes = ['tag', row.outdated ? 'outdated' : '', row.mutable ? 'mutable' : ''].filter(Boolean).join(' ');
  const text = `${row.tag ?? '(no tag)'}${row.digest ? `@${row.digest.slice(0, 14)}…` : ''}`;
  return html`<span class="${classes}" title="${notes.join('\n')}" data-outdated="${String(row.outdated)}" data-mutable="${row.mutable ?? ''}">${text}${row.outdated ? html` <small>→ ${row.newer}</small>` : ''}</span>`;
}

export function imagesPage(ctx: PageContext, view: ImagesView): SafeHtml {
  const head = html`<tr><th>Image</th>${view.columns.map(
    (c) => html`<th><a href="${clusterHref(c.repo, c.cluster)}">${c.cluster}</a><small>${c.namespace || '(cluster-scoped)'}</small></th>`,
  )}</tr>`;
  const rows = view.matrix.map(
    (m) => html`<tr><td class="image">${m.image}${m.drift ? html` <span class="badge drift" title="several versions deployed">drift</span>` : ''}</td>${view.columns.map(
      (c) => html`<td>${(m.cells[c.key] ?? []).map(tag)}</td>`,
    )}</tr>`,
  );
  const outdated = view.rows.filter((r) => r.outdated).length;
  const mutable = view.rows.filter((r) => r.mutable).length;
  return layout({
    title: 'Images',
    path: '/',
    user: ctx.user,
    body: html`${filterForm('/', ctx.filters, ctx.choices, ['repo', 'cluster', 'namespace', 'image', 'policy'])}
<p class="legend">${view.rows.length} containers, ${view.matrix.length} images: <span class="tag outdated">outdated</span> ${outdated} (a newer version of the same image and tag family is deployed elsewhere),
<span class="tag mutable">mutable</span> ${mutable} (latest, no tag, or a tag without digest). Hover a tag for its workload.</p>
${table(head, rows, 'No images match.')}`,
  });
}

export function risksPage(ctx: PageContext, rows: RiskRow[]): SafeHtml {
  const head = html`<tr><th>Repository</th><th>Cluster</th><th>Policy</th><th>Object</th><th>Level</th><th>Reason</th><th>Introduced</th><th>Since</th></tr>`;
  const body = rows.map((r) => {
    const sha = r.introducedSha ?? r.firstSeenSha;
    return html`<tr><td>${r.repo}</td><td><a href="${clusterHref(r.repo, r.cluster)}">${r.cluster}</a></td><td>${r.policy}</td>
<td>${r.object.kind}/${r.object.namespace ? `${r.object.namespace}/` : ''}${r.object.name}<br><small>${r.file}${r.line ? `:${r.line}` : ''}</small></td>
<td>${r.level}</td><td>${r.reason}</td>
<td>${r.introducedBy ?? 'unknown'} in <a href="${commitUrl(ctx, r.repo, sha)}">${short(sha)}</a></td><td>${time(r.firstSeenAt)}${r.removedAt ? html`<br>removed ${time(r.removedAt)}` : ''}</td></tr>`;
  });
  return layout({
    title: 'Risk register',
    path: '/risks',
    user: ctx.user,
    body: html`${filterForm('/risks', ctx.filters, ctx.choices, ['repo', 'cluster', 'namespace', 'policy'])}${table(head, body, 'No risk acceptances match.')}`,
  });
}

export function evaluationsPage(ctx: PageContext, rows: EvaluationRow[]): SafeHtml {
  const head = html`<tr><th>Repository</th><th>Pull request / ref</th><th>Commit</th><th>Cluster</th><th>Conclusion</th><th>Violations</th><th>New</th><th>Accepted</th><th>Errors</th><th>Finished</th></tr>`;
  const body = rows.map(
    (e) => html`<tr><td>${e.repo}</td><td>${e.pullRequest !== null ? html`<a href="${pullUrl(ctx, e.repo, e.pullRequest)}">#${e.pullRequest}</a>` : (e.ref ?? '')}</td>
<td><a href="${commitUrl(ctx, e.repo, e.sha)}">${short(e.sha)}</a></td><td>${e.cluster ? html`<a href="${clusterHref(e.repo, e.cluster)}">${e.cluster}</a>` : 'all'}</td>
<td class="${`conclusion-${e.conclusion}`}">${e.conclusion}</td><td>${e.violations}</td><td>${e.newViolations}</td><td>${e.accepted}</td><td>${e.errors}</td><td>${time(e.finishedAt)}</td></tr>`,
  );
  return layout({
    title: 'Evaluations',
    path: '/evaluations',
    user: ctx.user,
    body: html`${filterForm('/evaluations', ctx.filters, ctx.choices, ['repo', 'cluster', 'namespace', 'policy'])}${table(head, body, 'No evaluations match.')}`,
  });
}

const notDeclared = html`<span class="empty-value">not declared</span>`;
const orNot = (value: string | null) => (value === null || value === '' ? notDeclared : value);

function enabledPolicies(c: ClusterRow): SafeHtml {
  if (c.configSha === null) return html`<p class="empty">No configuration of the default branch recorded yet.</p>`;
  const head = html`<tr><th>Template</th><th>Kind</th><th>Constraint</th><th>Enforcement</th><th>Version</th></tr>`;
  const rows = c.enabledPolicies.map(
    (p) => html`<tr><td>${p.template}</td><td>${p.kind}</td><td>${p.constraint}</td><td class="${`action-${p.enforcementAction}`}">${p.enforcementAction}</td><td>${p.version ?? ''}</td></tr>`,
  );
  return table(head, rows, 'No constraints loaded.');
}

export function clusterPage(ctx: PageContext, name: string, clusters: ClusterRow[]): SafeHtml {
  const sections = clusters.map(
    (c) => html`<h2>${c.repo}</h2>
<dl class="cluster-config">
<dt>Declared in</dt><dd>${c.config ?? 'unknown'}${c.configSha ? html` at <a href="${commitUrl(ctx, c.repo, c.configSha)}">${short(c.configSha)}</a>` : ''}</dd>
<dt>Production</dt><dd>${c.settings.production === null ? notDeclared : html`<span class="${c.settings.production ? 'badge production' : 'badge'}">${c.settings.production ? 'yes' : 'no'}</span>`}</dd>
<dt>Security level</dt><dd>${orNot(c.settings.securityLevel)}</dd>
<dt>Tenant</dt><dd>${orNot(c.settings.tenant)}</dd>
<dt>Contact</dt><dd>${c.settings.contactEmail || c.settings.contactSlack
      ? html`${c.settings.contactEmail ?? ''}${c.settings.contactEmail && c.settings.contactSlack ? ' · ' : ''}${c.settings.contactSlack
          ? safeUrl(c.settings.contactSlack) === '#' ? c.settings.contactSlack : html`<a href="${c.settings.contactSlack}">Slack</a>`
          : ''}`
      : notDeclared}</dd>
<dt>Description</dt><dd>${orNot(c.settings.description)}</dd>
<dt>Geographic location</dt><dd>${orNot(c.settings.geographicLocation)}</dd>
<dt>Cost center</dt><dd>${orNot(c.settings.costCenter)}</dd>
<dt>Inventory</dt><dd>${c.images} containers at ${c.inventorySha ? html`<a href="${commitUrl(ctx, c.repo, c.inventorySha)}">${short(c.inventorySha)}</a>` : 'no commit recorded'} of ${c.defaultBranch} · <a href="/?cluster=${encodeURIComponent(c.name)}&amp;repo=${encodeURIComponent(c.repo)}">images</a></dd>
<dt>Risk acceptances</dt><dd><a href="/risks?cluster=${encodeURIComponent(c.name)}&amp;repo=${encodeURIComponent(c.repo)}">${c.riskAcceptances}</a></dd>
<dt>Latest evaluation</dt><dd>${c.latestEvaluation ? html`<span class="${`conclusion-${c.latestEvaluation.conclusion}`}">${c.latestEvaluation.conclusion}</span> at <a href="${commitUrl(ctx, c.repo, c.latestEvaluation.sha)}">${short(c.latestEvaluation.sha)}</a>` : 'none of the default branch'}</dd>
<dt>Policies with violations</dt><dd>${c.policies.violated.length ? c.policies.violated.map((p) => html`<span class="badge">${p.policy} (${p.enforcementAction}) ×${p.count}</span> `) : 'none'}</dd>
<dt>Policies with accepted risks</dt><dd>${c.policies.accepted.length ? c.policies.accepted.map((p) => html`<span class="badge">${p.policy} ×${p.count}</span> `) : 'none'}</dd>
</dl>
<h3>Enabled policies (${c.enabledPolicies.length})</h3>
${enabledPolicies(c)}`,
  );
  return layout({ title: `Cluster ${name}`, path: '', user: ctx.user, body: html`${sections}` });
}

const DRIFT_TEXT: Record<StageDrift['direction'], string> = {
  behind: 'older than the previous stage (not yet promoted)',
  ahead: 'newer than the previous stage',
  different: 'a different version than the previous stage',
};

function stageCell(app: ApplicationView, row: ApplicationView['images'][number], stage: ApplicationView['stages'][number]): SafeHtml {
  const cell = row.cells[stage.name];
  if (!cell) return html`<td class="none">—</td>`;
  const drift = row.drift[stage.name];
  const title = [...cell.workloads, drift ? `drift: ${DRIFT_TEXT[drift.direction]} ${drift.previousStage} (${drift.previous.join(', ')})` : ''].filter(Boolean).join('\n');
  return html`<td${drift ? html` class="${`drift drift-${drift.direction}`}"` : ''} data-stage="${stage.name}" data-app="${app.application}">${cell.versions.map(
    (v) => html`<span class="tag" title="${title}">${v}</span>`,
  )}${drift ? html` <span class="badge drift" title="${title}">drift ${drift.direction === 'behind' ? '↓' : drift.direction === 'ahead' ? '↑' : '≠'} ${drift.previousStage}</span>` : ''}</td>`;
}

export function stagesPage(ctx: PageContext, apps: ApplicationView[]): SafeHtml {
  const sections = apps.map((app) => {
    const head = html`<tr><th>Image</th>${app.stages.map(
      (s) => html`<th>${s.name}<small><a href="${clusterHref(app.repo, s.cluster)}">${s.cluster}</a> / ${s.namespace ?? '?'}${s.previousStage ? ` · after ${s.previousStage}` : ''}</small></th>`,
    )}</tr>`;
    const rows = app.images.map(
      (row) => html`<tr><td class="image">${row.image}${Object.keys(row.drift).length ? html` <span class="badge drift">drift</span>` : ''}</td>${app.stages.map((s) => stageCell(app, row, s))}</tr>`,
    );
    const unknown = app.stages.filter((s) => s.unknown);
    return html`<h2>${app.application} <small>${app.repo} at <a href="${commitUrl(ctx, app.repo, app.commitSha)}">${short(app.commitSha)}</a></small></h2>
<p class="legend">Promotion: ${app.stages.map((s, i) => html`${i > 0 ? ' → ' : ''}${s.name}`)} · ${app.driftCount} drifting ${app.driftCount === 1 ? 'cell' : 'cells'}</p>
${unknown.map((s) => html`<p class="legend">${s.name}: ${s.unknown}</p>`)}
${table(head, rows, 'No images in these stages.')}`;
  });
  return layout({
    title: 'Stages',
    path: '/stages',
    user: ctx.user,
    body: html`${filterForm('/stages', ctx.filters, ctx.choices, ['repo', 'cluster', 'image'])}
<p class="legend">Each Application's stages in promotion order (<code>previousStage</code>). A stage <span class="badge drift">drift</span>s when it runs a different version of an image than its previous stage: ↓ older (same tag family), ↑ newer, ≠ not comparable.</p>
${sections.length ? sections : html`<p class="empty">No Application stages recorded.</p>`}`,
  });
}
