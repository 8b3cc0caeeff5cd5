// The overview's pages: functions from view data to HTML.
import {
  CONTAINERS_PAGE,
  EVALUATIONS_PAGE,
  IMAGES_PAGE,
  RISKS_PAGE,
  type ApplicationView,
  type ClusterRow,
  type ContainerRow,
  type EvaluationRow,
  type ImagesView,
  type MatrixColumn,
  type MatrixRow,
  type PageInfo,
  type RiskRow,
  type RisksView,
  type StageDrift,
  type VersionCount,
} from '../overview-data.js';
import { MUTABILITY_TEXT } from '../../engine/index.js';
import { html, safeUrl, type SafeHtml } from './html.js';
import { filterForm, filterHref, layout, pagerNav, type FilterChoices, type Filters, type PageUser } from './layout.js';

export interface PageContext {
  user: PageUser;
  filters: Filters;
  choices: FilterChoices;
  /** GitHub's web site, for links to commits and pull requests. */
  githubUrl: string;
}

export const short = (sha: string | null | undefined) => (sha ? sha.slice(0, 7) : '');
export const commitUrl = (ctx: PageContext, repo: string, sha: string) => safeUrl(`${ctx.githubUrl}/${repo}/commit/${encodeURIComponent(sha)}`);
export const pullUrl = (ctx: PageContext, repo: string, n: number) => safeUrl(`${ctx.githubUrl}/${repo}/pull/${n}`);
export const clusterHref = (repo: string, name: string) => `/clusters/${encodeURIComponent(name)}?repo=${encodeURIComponent(repo)}`;
export const time = (iso: string) => html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')}</time>`;

export function table(head: SafeHtml, rows: SafeHtml[], empty: string): SafeHtml {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<div class="table-wrap"><table><thead>${head}</thead><tbody>${rows}</tbody></table></div>`;
}

export const count = (n: number) => n.toLocaleString('en-US');
export const plural = (n: number, one: string, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`;
/** A version as shown: digests shortened (the full one is in the title and the link). */
const shownVersion = (v: { version: string; digest: string | null }) => (v.digest ? v.version.replace(v.digest, `${v.digest.slice(0, 14)}…`) : v.version);

function versionClasses(v: { outdated: boolean; mutable: unknown; malformed: string | null }): string {
  return ['tag', v.malformed ? 'malformed' : '', v.outdated ? 'outdated' : '', v.mutable ? 'mutable' : ''].filter(Boolean).join(' ');
}

function versionNotes(v: { version: string; digest: string | null; outdated: boolean; newer: string | null; mutable: VersionCount['mutable']; malformed: string | null }): string[] {
  return [
    v.malformed ? `malformed: ${v.malformed}` : '',
    v.outdated ? `outdated: ${v.newer} runs in a cluster you can see` : '',
    v.mutable ? MUTABILITY_TEXT[v.mutable] : '',
    v.digest ? v.digest : '',
  ].filter(Boolean);
}

/** An image name that may wrap after its slashes, not in the middle of a word. */
const breakable = (name: string) => name.split('/').map((part, i) => html`${i > 0 ? html`/<wbr>` : ''}${part}`);

/** The filters narrowed to one column of the matrix (its repository, cluster and namespace). */
function columnFilters(filters: Filters, column: MatrixColumn): Filters {
  return { ...filters, repo: column.repo, cluster: column.cluster, ...(column.namespace !== null ? { namespace: column.namespace } : {}) };
}

function matrixCell(ctx: PageContext, row: MatrixRow, column: MatrixColumn): SafeHtml {
  const cell = row.cells[column.key];
  if (!cell) return html`<td class="none">—</td>`;
  const where = columnFilters(ctx.filters, column);
  const versions = cell.versions.map((v) => {
    const title = [`${v.version}: ${plural(v.containers, 'container')} in ${column.cluster}${column.namespace !== null ? `/${column.namespace || '(cluster-scoped)'}` : ''}`, ...versionNotes(v)].join('\n');
    const href = filterHref('/containers', { ...where, image: row.image, exact: true, version: v.version });
    return html`<a class="${versionClasses(v)}" href="${href}" title="${title}" data-outdated="${String(v.outdated)}" data-mutable="${v.mutable ?? ''}">${shownVersion(v)}${v.containers > 1 ? html` <small>×${count(v.containers)}</small>` : ''}</a>`;
  });
  const more = cell.moreVersions
    ? html`<a class="more" href="${filterHref('/containers', { ...where, image: row.image, exact: true })}" title="${`${plural(cell.moreVersions, 'more version')}; the cell's ${plural(cell.containers, 'container')}: ${count(cell.outdated)} outdated, ${count(cell.mutable)} mutable`}">+${count(cell.moreVersions)} more</a>`
    : '';
  return html`<td class="cell" data-containers="${cell.containers}" data-outdated="${cell.outdated}">${versions}${more}</td>`;
}

export function imagesPage(ctx: PageContext, view: ImagesView): SafeHtml {
  const repos = new Set(view.columns.map((c) => c.repo)).size;
  const clusters = new Set(view.columns.map((c) => `${c.repo}:${c.cluster}`)).size;
  const head = html`<tr><th>Image</th>${view.columns.map((c) =>
    c.namespace === null
      ? html`<th><a href="${clusterHref(c.repo, c.cluster)}">${c.cluster}</a><small>${repos > 1 ? `${c.repo} · ` : ''}<a href="${filterHref('/containers', columnFilters(ctx.filters, c))}">${count(c.containers)}</a></small></th>`
      : html`<th>${c.namespace || '(cluster-scoped)'}<small>${clusters > 1 ? html`<a href="${clusterHref(c.repo, c.cluster)}">${c.cluster}</a>${repos > 1 ? ` · ${c.repo}` : ''} · ` : ''}<a href="${filterHref('/containers', columnFilters(ctx.filters, c))}">${count(c.containers)}</a></small></th>`,
  )}</tr>`;
  const rows = view.rows.map(
    (m) => html`<tr><td class="image">${breakable(m.image)}${m.drift ? html` <span class="badge drift" title="several versions run">${plural(m.versions, 'version')}</span>` : ''}<small><a href="${filterHref('/containers', { ...ctx.filters, image: m.image, exact: true })}">${plural(m.containers, 'container')}</a>${
      m.outdated ? ` · ${count(m.outdated)} outdated` : ''
    }${m.mutable ? ` · ${count(m.mutable)} mutable` : ''}${m.newest.length ? ` · newest ${m.newest.join(', ')}` : ''}</small></td>${view.columns.map((c) => matrixCell(ctx, m, c))}</tr>`,
  );
  const s = view.summary;
  return layout({
    title: 'Images',
    path: '/',
    user: ctx.user,
    body: html`${filterForm('/', ctx.filters, ctx.choices, ['repo', 'cluster', 'namespace', 'image', 'policy'])}
<p class="legend summary"><strong>${plural(s.containers, 'container')}</strong> in ${plural(s.clusters, 'cluster')} run ${plural(s.images, 'image')} (<a href="${filterHref('/containers', ctx.filters)}">list them</a>):
<span class="tag outdated">outdated</span> ${count(s.outdated)} (a newer version of the same image and tag family runs in a cluster you can see),
<span class="tag mutable">mutable</span> ${count(s.mutable)} (latest, no tag, or a tag without digest).
${view.columnsBy === 'namespace' ? 'Columns are the namespaces of the chosen cluster' : 'Columns are clusters (choose one for its namespaces)'}; each cell lists the most used versions with their container counts; hover for details, click for the containers.</p>
${view.page.total ? pagerNav('/', ctx.filters, view.page, 'images', IMAGES_PAGE.limit) : ''}
${view.rows.length ? html`<div class="table-wrap"><table class="matrix"><thead>${head}</thead><tbody>${rows}</tbody></table></div>` : html`<p class="empty">No images match.</p>`}
${view.page.total > view.page.limit ? pagerNav('/', ctx.filters, view.page, 'images', IMAGES_PAGE.limit) : ''}`,
  });
}

const blobUrl = (ctx: PageContext, r: ContainerRow) =>
  safeUrl(`${ctx.githubUrl}/${r.repo}/blob/${encodeURIComponent(r.commitSha)}/${r.file!.split('/').map(encodeURIComponent).join('/')}${r.line ? `#L${r.line}` : ''}`);

export function containersPage(ctx: PageContext, view: { page: PageInfo; rows: ContainerRow[] }): SafeHtml {
  const repos = new Set(ctx.choices.repos).size;
  const head = html`<tr><th>Cluster</th><th>Namespace</th><th>Workload</th><th>Container</th><th>Reference</th><th>Version</th><th>Flags</th><th>Manifest</th></tr>`;
  const body = view.rows.map(
    (r) => html`<tr><td><a href="${clusterHref(r.repo, r.cluster)}">${r.cluster}</a>${repos > 1 ? html`<br><small>${r.repo}</small>` : ''}</td><td>${r.namespace || '(cluster-scoped)'}</td>
<td>${r.workload.kind}/${r.workload.name}</td><td>${r.container}</td><td><code>${r.reference}</code></td>
<td><span class="${versionClasses(r)}" title="${[r.image, ...versionNotes(r)].join('\n')}">${shownVersion(r)}</span></td>
<td class="flags">${r.malformed ? html`malformed: ${r.malformed}` : ''}${r.outdated ? html`<span class="tag outdated">outdated</span> ${r.newer} runs elsewhere` : ''}${
      r.mutable ? html`${r.outdated ? html`<br>` : ''}<span class="tag mutable">mutable</span> ${MUTABILITY_TEXT[r.mutable].replace(/^mutable: /, '')}` : ''
    }</td>
<td>${r.file ? html`<a href="${blobUrl(ctx, r)}">${r.file}${r.line ? `:${r.line}` : ''}</a>` : html`<a href="${commitUrl(ctx, r.repo, r.commitSha)}">${short(r.commitSha)}</a>`}</td></tr>`,
  );
  return layout({
    title: 'Containers',
    path: '/containers',
    user: ctx.user,
    body: html`${filterForm('/containers', ctx.filters, ctx.choices, ['repo', 'cluster', 'namespace', 'image', 'policy'])}
${view.page.total ? pagerNav('/containers', ctx.filters, view.page, 'containers', CONTAINERS_PAGE.limit) : ''}
${table(head, body, view.page.total ? 'No containers on this page.' : 'No containers match.')}
${view.page.total > view.page.limit ? pagerNav('/containers', ctx.filters, view.page, 'containers', CONTAINERS_PAGE.limit) : ''}`,
  });
}

/**
 * Who introduced an acceptance, as GitHub says: who pushed its commit to the default branch, who
 * merged (and opened) the pull request that brought it, linked. Then the commit, with its author
 * and date as the commit states them, labelled unverified: whoever makes a commit writes any
 * author and date into it, so they never stand for who introduced the acceptance.
 */
function introduction(ctx: PageContext, r: RiskRow): SafeHtml {
  if (r.introducedSha === null) {
    return html`<span class="empty-value">unknown</span><br><small>first seen in <a href="${commitUrl(ctx, r.repo, r.firstSeenSha)}">${short(r.firstSeenSha)}</a></small>`;
  }
  const lines: SafeHtml[] = [];
  if (r.introducedPushedBy !== null) lines.push(html`pushed by ${r.introducedPushedBy}`);
  if (r.introducedPullRequest !== null) {
    const pr = html`<a href="${pullUrl(ctx, r.repo, r.introducedPullRequest)}">#${r.introducedPullRequest}</a>`;
    const opened = r.introducedOpenedBy !== null ? html` <small>(opened by ${r.introducedOpenedBy})</small>` : '';
    lines.push(r.introducedMergedBy !== null ? html`merged by ${r.introducedMergedBy} in ${pr}${opened}` : html`in ${pr}${opened}`);
  }
  if (lines.length === 0) lines.push(html`<span class="empty-value">pushed by unknown</span>`);
  const commit = html`<a href="${commitUrl(ctx, r.repo, r.introducedSha)}">${short(r.introducedSha)}</a>`;
  const author = r.introducedCommitAuthor ?? html`<span class="empty-value">none</span>`;
  const dated = r.introducedAt ? html`, dated ${time(r.introducedAt)}` : '';
  lines.push(html`<small>commit ${commit}; commit author (unverified): ${author}${dated}</small>`);
  return html`${lines.map((line, i) => (i === 0 ? line : html`<br>${line}`))}`;
}

export function risksPage(ctx: PageContext, view: RisksView): SafeHtml {
  const head = html`<tr><th>Repository</th><th>Cluster</th><th>Policy</th><th>Object</th><th>Level</th><th>Reason</th><th>Introduced</th><th>Since</th></tr>`;
  const removed = view.includeRemoved ? 1 : undefined;
  const body = view.rows.map(
    (r) => html`<tr><td>${r.repo}</td><td><a href="${clusterHref(r.repo, r.cluster)}">${r.cluster}</a></td><td>${r.policy}</td>
<td>${r.object.kind}/${r.object.namespace ? `${r.object.namespace}/` : ''}${r.object.name}<br><small>${r.file}${r.line ? `:${r.line}` : ''}</small></td>
<td>${r.level}</td><td>${r.reason}</td>
<td>${introduction(ctx, r)}</td><td>${time(r.firstSeenAt)}${r.removedAt ? html`<br>removed ${time(r.removedAt)}` : ''}</td></tr>`,
  );
  return layout({
    title: 'Risk register',
    path: '/risks',
    user: ctx.user,
    body: html`${filterForm('/risks', ctx.filters, ctx.choices, ['repo', 'cluster', 'namespace', 'policy'], { removed })}
<p class="legend">${view.includeRemoved
      ? html`Present and removed acceptances. <a href="${filterHref('/risks', ctx.filters)}">Present only</a>`
      : html`Acceptances present on the default branch. <a href="${filterHref('/risks', ctx.filters, { removed: 1 })}">Include removed ones</a>`}</p>
${view.page.total ? pagerNav('/risks', ctx.filters, view.page, view.includeRemoved ? 'acceptances' : 'present acceptances', RISKS_PAGE.limit, { removed }) : ''}
${table(head, body, view.page.total ? 'No risk acceptances on this page.' : 'No risk acceptances match.')}`,
  });
}

export function evaluationsPage(ctx: PageContext, view: { page: PageInfo; rows: EvaluationRow[]; pullRequest?: number | undefined }): SafeHtml {
  const head = html`<tr><th>Repository</th><th>Pull request / ref</th><th>Commit</th><th>Cluster</th><th>Conclusion</th><th>Violations</th><th>New</th><th>Accepted</th><th>Errors</th><th>Finished</th></tr>`;
  const body = view.rows.map(
    (e) => html`<tr><td>${e.repo}</td><td>${e.pullRequest !== null ? html`<a href="${pullUrl(ctx, e.repo, e.pullRequest)}">#${e.pullRequest}</a>` : (e.ref ?? '')}</td>
<td><a href="${commitUrl(ctx, e.repo, e.sha)}">${short(e.sha)}</a></td><td>${e.cluster ? html`<a href="${clusterHref(e.repo, e.cluster)}">${e.cluster}</a>` : 'all'}</td>
<td class="${`conclusion-${e.conclusion}`}">${e.conclusion}</td><td>${e.violations}</td><td>${e.newViolations}</td><td>${e.accepted}</td><td>${e.errors}</td><td>${time(e.finishedAt)}</td></tr>`,
  );
  return layout({
    title: 'Evaluations',
    path: '/evaluations',
    user: ctx.user,
    body: html`${filterForm('/evaluations', ctx.filters, ctx.choices, ['repo', 'cluster', 'namespace', 'policy'], { pr: view.pullRequest })}
${view.page.total ? pagerNav('/evaluations', ctx.filters, view.page, 'evaluations', EVALUATIONS_PAGE.limit, { pr: view.pullRequest }) : ''}
${table(head, body, view.page.total ? 'No evaluations on this page.' : 'No evaluations match.')}`,
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
  const unnamed = cell.containers - cell.workloads.length;
  const title = [
    ...cell.workloads,
    unnamed > 0 ? `and ${plural(unnamed, 'more container')}` : '',
    drift ? `drift: ${DRIFT_TEXT[drift.direction]} ${drift.previousStage} (${drift.previous.join(', ')})` : '',
  ]
    .filter(Boolean)
    .join('\n');
  return html`<td${drift ? html` class="${`drift drift-${drift.direction}`}"` : ''} data-stage="${stage.name}" data-app="${app.application}">${cell.versions.map(
    (v) => html`<span class="tag" title="${title}">${v}</span>`,
  )}${drift ? html` <span class="badge drift" title="${title}">drift ${drift.direction === 'behind' ? '↓' : drift.direction === 'ahead' ? '↑' : '≠'} ${drift.previousStage}</span>` : ''}</td>`;
}

export function stagesPage(ctx: PageContext, apps: ApplicationView[]): SafeHtml {
  const sections = apps.map((app) => {
    const head = html`<tr><th>Image</th>${app.stages.map(
      (s) => html`<th>${s.name}<small><a href="${clusterHref(app.repo, s.cluster)}">${s.cluster}</a> / ${s.attributedBy === 'targetNamespace' ? s.namespace : html`<span title="no targetNamespace: the containers declared under this path">${s.resourcesPath || '(repository root)'}/</span>`}${s.previousStage ? ` · after ${s.previousStage}` : ''}</small></th>`,
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
<p class="legend">Each Application's stages in promotion order (<code>previousStage</code>). A stage's images are its cluster's in its <code>targetNamespace</code>, or, without one, those declared in manifests under its resources path. A stage <span class="badge drift">drift</span>s when it runs a different version of an image than its previous stage: ↓ older (same tag family), ↑ newer, ≠ not comparable.</p>
${sections.length ? sections : html`<p class="empty">No Application stages recorded.</p>`}`,
  });
}
