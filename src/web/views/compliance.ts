// The compliance pages: the policies × clusters matrix as a heat map (counts written in every
// cell, so colour is never the only signal), two clusters side by side, the trends as SVG charts
// with their numbers in tables beside them, and the violating objects behind a cell.
import {
  HEAT_LEVELS,
  TREND_DAYS,
  VIOLATIONS_PAGE,
  type ComparisonRow,
  type ComparisonView,
  type ComplianceCell,
  type ComplianceColumn,
  type ComplianceQuery,
  type ComplianceRow,
  type ComplianceView,
  type ParameterChange,
  type TrendSeries,
  type TrendsView,
  type ViolationItem,
} from '../compliance-data.js';
import type { PageInfo } from '../overview-data.js';
import { chartLegend, stepChart, type ChartSeries } from './chart.js';
import { html, safeUrl, type SafeHtml } from './html.js';
import { filterForm, layout, pagerNav } from './layout.js';
import { clusterHref, commitUrl, count, plural, short, table, time, type PageContext } from './pages.js';

const STANDARD_SHORT: Record<string, string> = {
  'k8s/baseline': 'PSS Baseline',
  'k8s/restricted': 'PSS Restricted',
  'cis/kubernetes': 'CIS',
  'nist/SP.800-190': 'NIST 800-190',
  'bsi/containerization': 'BSI SYS.1.6',
  'nsa/kubernetes': 'NSA/CISA',
};
const standardName = (id: string) => STANDARD_SHORT[id] ?? id;

function query(path: string, params: Record<string, string | number | boolean | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === false || value === '') continue;
    search.set(name, value === true ? '1' : String(value));
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

const queryParams = (q: ComplianceQuery) => ({ repo: q.repo, cluster: q.cluster, standard: q.standard, differences: q.differences, production: q.production });

function select(name: string, label: string, choices: readonly { value: string; text: string }[], value: string | undefined, all = 'all'): SafeHtml {
  return html`<label>${label} <select name="${name}">${all ? html`<option value="">${all}</option>` : ''}${choices.map(
    (c) => html`<option value="${c.value}"${c.value === value ? html` selected` : ''}>${c.text}</option>`,
  )}</select></label>`;
}

const check = (name: string, label: string, checked: boolean) => html`<label class="check"><input type="checkbox" name="${name}" value="1"${checked ? html` checked` : ''}> ${label}</label>`;

function complianceForm(ctx: PageContext, action: string, q: ComplianceQuery, view: { standards: { id: string; title: string }[] } | null, extra: SafeHtml | '' = ''): SafeHtml {
  const repos = ctx.choices.repos.map((r) => ({ value: r, text: r }));
  const clusters = ctx.choices.clusters.map((c) => ({ value: c, text: c }));
  return html`<form class="filters" method="get" action="${action}">
${repos.length > 1 ? select('repo', 'Repository', repos, q.repo) : ''}
${select('cluster', 'Cluster', clusters, q.cluster)}
${view ? select('standard', 'Standard', view.standards.map((s) => ({ value: s.id, text: s.title })), q.standard) : ''}
${view ? check('differences', 'only differences between clusters', q.differences) : ''}
${check('production', 'production clusters only', q.production)}
${extra}
<button type="submit">Apply</button> <a href="${action}">Reset</a>
</form>`;
}

function subnav(current: string): SafeHtml {
  const links = [
    ['/compliance', 'Matrix'],
    ['/compliance/compare', 'Compare two clusters'],
    ['/compliance/trends', 'Trends'],
    ['/violations', 'Violating objects'],
  ] as const;
  return html`<nav class="subnav" aria-label="compliance">${links.map(([href, label]) => html`<a href="${href}"${href === current ? html` aria-current="page"` : ''}>${label}</a>`)}</nav>`;
}

/** Why a cluster's column may not show its branch's state. */
function behindText(c: ComplianceColumn): string {
  if (!c.push) return '';
  const pushed = `${short(c.push.sha)} was pushed to the default branch at ${c.push.at.slice(0, 16).replace('T', ' ')} UTC`;
  if (!c.evaluation) return `Not evaluated yet: ${pushed} and its evaluation is not recorded (it failed, or is still running).`;
  return `Behind: the newest evaluation is of ${short(c.evaluation.sha)} (${c.evaluation.observedAt.slice(0, 16).replace('T', ' ')} UTC); ${pushed} and its evaluation is not recorded (it failed, is still running, or no longer includes this cluster).`;
}

function columnHead(ctx: PageContext, c: ComplianceColumn, repos: number): SafeHtml {
  return html`<th scope="col" data-key="${c.key}"><a href="${clusterHref(c.repo, c.cluster)}">${c.cluster}</a>${c.production ? html` <span class="badge production" title="production: true">prod</span>` : ''}<small>${repos > 1 ? html`${c.repo}<br>` : ''}${
    c.evaluation
      ? html`<span class="${`conclusion-${c.evaluation.conclusion}`}">${c.evaluation.conclusion}</span> at <a href="${commitUrl(ctx, c.repo, c.evaluation.sha)}">${short(c.evaluation.sha)}</a>`
      : 'no evaluation'
  }</small>${c.behind ? html`<span class="badge behind" title="${behindText(c)}">behind</span><span class="visually-hidden"> ${behindText(c)}</span>` : ''}<a class="change-link" href="${`/compliance/change?repo=${encodeURIComponent(c.repo)}&cluster=${encodeURIComponent(c.cluster)}`}" aria-label="${`change the policies of ${c.cluster} through a pull request`}">change policies</a></th>`;
}

const actionText = (cell: ComplianceCell) => cell.actions.join(', ');

function cellTitle(row: Pick<ComplianceRow, 'policy'>, column: ComplianceColumn, cell: ComplianceCell): string {
  return [
    `${row.policy} in ${column.cluster}`,
    cell.enabled ? `enabled: ${cell.constraints.map((c) => `${c.constraint} (${c.action})`).join(', ')}` : 'not enabled',
    cell.objects ? `${plural(cell.objects, 'object')} violating it, ${count(cell.accepted)} accepted, ${count(cell.open)} open` : cell.enabled ? 'no violation' : '',
  ]
    .filter(Boolean)
    .join('\n');
}

/** A cell: its action and counts in words, its heat as a class (colour repeats what the text says). */
function matrixCell(row: ComplianceRow, column: ComplianceColumn, cell: ComplianceCell): SafeHtml {
  const heat = cell.heat === null ? 'heat-off' : `heat-${cell.heat}`;
  const found = cell.objectsHref
    ? html`<a href="${cell.objectsHref}">${plural(cell.objects, 'object')}</a>${cell.accepted ? html` <small>(${count(cell.accepted)} accepted)</small>` : ''}`
    : cell.enabled
      ? html`<span class="clean">✓ none</span>`
      : '';
  return html`<td class="${`cell ${heat}`}" title="${cellTitle(row, column, cell)}">${
    cell.enabled ? html`<span class="${`action action-${cell.actions[0]}`}">${actionText(cell)}</span>` : html`<span class="off" aria-label="not enabled">—</span>`
  }${found ? html`<br>${found}` : ''}</td>`;
}

/** The policy: its control in the group's standard first, its other standards and controls below. */
function rowHead(row: ComplianceRow, groupStandard: string): SafeHtml {
  const others = row.standards.filter((s) => s.id !== groupStandard || s.control !== row.control).map((s) => `${standardName(s.id)} ${s.control}`);
  const diff = row.differences.length ? html` <span class="badge differs" title="${`differs between clusters: ${row.differences.join(', ')}`}">≠ ${row.differences.join(', ')}</span>` : '';
  return html`<th scope="row" class="policy">${row.control ? html`<span class="control">${row.control}</span> ` : ''}${row.title}${diff}<small><code>${row.policy}</code>${row.version ? ` ${row.version}` : ''}${
    others.length ? ` · also ${others.join(', ')}` : ''
  }</small></th>`;
}

function coverageRows(view: ComplianceView, standard: string | undefined): SafeHtml[] {
  const standards = view.standards.filter((s) => !standard || s.id === standard);
  return standards.map((s) => {
    const cells = view.columns.map((c) => {
      const cov = c.coverage.find((x) => x.id === s.id)!;
      return html`<td class="coverage" title="${cov.missing.length ? `not enabled: ${cov.missing.join(', ')}` : 'every policy of the standard is enabled'}"><strong>${cov.enabled}/${cov.total}</strong> enabled<br><small>${cov.enforced} in deny</small></td>`;
    });
    return html`<tr class="coverage-row"><th scope="row">${s.title}<small>coverage: library policies enabled / in the standard</small></th>${cells}</tr>`;
  });
}

function heatLegend(): SafeHtml {
  return html`<p class="legend heat-legend">Cells: the enforcement action and the objects violating the policy on the default branch (accepted risks in brackets; the link lists them). Shade by objects with an open violation:
<span class="swatch heat-off">— not enabled</span> ${HEAT_LEVELS.map((label, i) => html`<span class="${`swatch heat-${i}`}">${label}</span> `)}</p>`;
}

function compareForm(columns: readonly { key: string; repo: string; cluster: string }[], a: string | undefined, b: string | undefined, standard: string | undefined, repos: number, standards: { id: string; title: string }[]): SafeHtml {
  const choices = columns.map((c) => ({ value: c.key, text: repos > 1 ? `${c.cluster} (${c.repo})` : c.cluster }));
  return html`<form class="filters compare-form" method="get" action="/compliance/compare">
${select('a', 'Compare', choices, a, '')}
${select('b', 'with', choices, b, '')}
${select('standard', 'Standard', standards.map((s) => ({ value: s.id, text: s.title })), standard)}
<button type="submit">Compare</button>
</form>`;
}

export function compliancePage(ctx: PageContext, q: ComplianceQuery, view: ComplianceView): SafeHtml {
  const repos = new Set(view.columns.map((c) => c.repo)).size;
  const head = html`<tr><th scope="col">Policy</th>${view.columns.map((c) => columnHead(ctx, c, repos))}</tr>`;
  const body = [
    ...coverageRows(view, q.standard),
    ...view.groups.flatMap((g) => [
      html`<tr class="group"><th scope="rowgroup" colspan="${view.columns.length + 1}">${g.title} <small>${plural(g.rows.length, 'policy', 'policies')}</small></th></tr>`,
      ...g.rows.map((row) => html`<tr data-policy="${row.policy}">${rowHead(row, g.key)}${view.columns.map((c) => matrixCell(row, c, row.cells[c.key]!))}</tr>`),
    ]),
  ];
  const behind = view.columns.filter((c) => c.behind);
  const s = view.summary;
  return layout({
    title: 'Compliance',
    path: '/compliance',
    user: ctx.user,
    body: html`${subnav('/compliance')}
${complianceForm(ctx, '/compliance', q, view)}
<p class="legend summary"><strong>${plural(s.policies, 'policy', 'policies')}</strong> in ${plural(s.clusters, 'cluster')}, from each cluster's newest evaluation of its default branch;
${q.differences ? html`showing only the ${count(s.differing)} whose configuration differs between the clusters (enabled, action or parameters).` : html`${count(s.differing)} ${s.differing === 1 ? 'is' : 'are'} configured differently between them (<a href="${query('/compliance', { ...queryParams(q), differences: true })}">show only those</a>).`}
Coverage per standard is counted as <code>parapet policies status</code> counts it.</p>
${behind.length ? html`<p class="notice behind-notice" role="status">${plural(behind.length, 'cluster')} ${behind.length === 1 ? 'shows' : 'show'} an older commit than the newest push: ${behind.map((c, i) => html`${i ? ', ' : ''}<strong>${c.cluster}</strong>`)}. ${behind.length === 1 ? behindText(behind[0]!) : 'Hover their “behind” badge for the commits.'}</p>` : ''}
${heatLegend()}
${view.columns.length === 0
  ? html`<p class="empty">No cluster matches.</p>`
  : html`<div class="table-wrap"><table class="matrix compliance"><caption class="visually-hidden">Policies by cluster: enforcement action and violating objects</caption><thead>${head}</thead><tbody>${body}</tbody></table></div>`}
${view.columns.length > 1 ? compareForm(view.columns, view.columns[0]!.key, view.columns[1]!.key, q.standard, repos, view.standards) : ''}`,
  });
}

// --- Comparison ------------------------------------------------------------------------------------

const json = (value: unknown) => (value === undefined ? html`<span class="empty-value">not set</span>` : html`<code>${JSON.stringify(value)}</code>`);

function cellSummary(cell: ComplianceCell): SafeHtml {
  if (!cell.enabled) return html`<span class="empty-value">not enabled</span>${cell.objectsHref ? html`, <a href="${cell.objectsHref}">${plural(cell.objects, 'object')}</a>` : ''}`;
  return html`<span class="${`action action-${cell.actions[0]}`}">${actionText(cell)}</span> · ${cell.objectsHref ? html`<a href="${cell.objectsHref}">${plural(cell.objects, 'object')}</a>${cell.accepted ? ` (${count(cell.accepted)} accepted)` : ''}` : 'no violation'}`;
}

function comparisonSection(title: string, id: string, rows: ComparisonRow[], v: ComparisonView, extra?: (r: ComparisonRow) => SafeHtml): SafeHtml {
  if (rows.length === 0) return html`<h2 id="${id}">${title} <small>none</small></h2>`;
  const head = html`<tr><th scope="col">Policy</th><th scope="col">${v.a.cluster}</th><th scope="col">${v.b.cluster}</th>${extra ? html`<th scope="col">Differences</th>` : ''}</tr>`;
  const body = rows.map((r) => html`<tr data-policy="${r.policy}"><th scope="row">${r.title}<small><code>${r.policy}</code></small></th><td>${cellSummary(r.a)}</td><td>${cellSummary(r.b)}</td>${extra ? html`<td>${extra(r)}</td>` : ''}</tr>`);
  return html`<h2 id="${id}">${title} <small>${rows.length}</small></h2>${table(head, body, '')}`;
}

function parameterList(changes: ParameterChange[]): SafeHtml {
  return html`<ul class="parameter-changes">${changes.map(
    (c) => html`<li><code>${c.constraint}</code>${c.key !== null ? html` · <code>${c.key}</code>` : ''}: ${json(c.a)} → ${json(c.b)}</li>`,
  )}</ul>`;
}

export function comparePage(
  ctx: PageContext,
  form: { a?: string | undefined; b?: string | undefined; standard?: string | undefined },
  clusters: { key: string; repo: string; cluster: string }[],
  standards: { id: string; title: string }[],
  view: ComparisonView | null,
): SafeHtml {
  const repos = new Set(clusters.map((c) => c.repo)).size;
  let body: SafeHtml | string = html`<p class="empty">Choose two clusters.</p>`;
  if (view) {
    const { a, b } = view;
    const name = (c: ComplianceColumn) => (a.repo !== b.repo ? `${c.cluster} (${c.repo})` : c.cluster);
    const pick = (kind: ComparisonRow['differences'][number]) => view.policies.filter((r) => r.differences.includes(kind));
    const coverage = table(
      html`<tr><th scope="col">Standard</th><th scope="col">${name(a)}</th><th scope="col">${name(b)}</th></tr>`,
      view.coverage.map(
        (s) => html`<tr${s.a.enabled !== s.b.enabled || s.a.enforced !== s.b.enforced ? html` class="differs"` : ''}><th scope="row">${s.title}${
          s.a.enabled !== s.b.enabled || s.a.enforced !== s.b.enforced ? html` <span class="badge differs">≠ differs</span>` : ''
        }</th><td>${s.a.enabled}/${s.total} enabled · ${s.a.enforced} deny</td><td>${s.b.enabled}/${s.total} enabled · ${s.b.enforced} deny</td></tr>`,
      ),
      '',
    );
    const same = view.policies.filter((r) => r.differences.length === 0);
    body = html`<div class="compare-heads">${[a, b].map(
      (c) => html`<dl><dt>Cluster</dt><dd><a href="${clusterHref(c.repo, c.cluster)}">${c.cluster}</a> · ${c.repo}</dd><dt>Production</dt><dd>${c.production === null ? 'not declared' : c.production ? 'yes' : 'no'}</dd>
<dt>Evaluated</dt><dd>${c.evaluation ? html`<span class="${`conclusion-${c.evaluation.conclusion}`}">${c.evaluation.conclusion}</span> at <a href="${commitUrl(ctx, c.repo, c.evaluation.sha)}">${short(c.evaluation.sha)}</a> ${time(c.evaluation.observedAt)}` : 'never'}</dd>
<dt>Violations</dt><dd>${count(c.totals.violations)} (${count(c.totals.accepted)} accepted) · ${plural(c.totals.policies, 'policy', 'policies')} enabled</dd>
${c.behind ? html`<dt>Behind</dt><dd class="behind">${behindText(c)}</dd>` : ''}</dl>`,
    )}</div>
<p class="legend summary">${[
      `${view.summary.onlyA.length} enabled in ${a.cluster} only`,
      `${view.summary.onlyB.length} in ${b.cluster} only`,
      `${view.summary.actions.length} with different actions`,
      `${view.summary.parameters.length} with different parameters`,
      `${view.summary.violations.length} with different violation counts`,
      `${view.summary.same} the same`,
    ].join(', ')}.</p>
<h2>Coverage per standard</h2>
${coverage}
${comparisonSection(`Enabled in ${name(a)} only`, 'only-a', view.policies.filter((r) => r.a.enabled && !r.b.enabled), view)}
${comparisonSection(`Enabled in ${name(b)} only`, 'only-b', view.policies.filter((r) => !r.a.enabled && r.b.enabled), view)}
${comparisonSection('Different enforcement actions', 'actions', pick('action'), view)}
${comparisonSection('Different parameters', 'parameters', pick('parameters'), view, (r) => (r.parameterChanges.length ? parameterList(r.parameterChanges) : html`per constraint`))}
${comparisonSection('Different violation counts', 'violations', pick('violations'), view)}
<details><summary>The same in both: ${plural(same.length, 'policy', 'policies')}</summary>${table(
      html`<tr><th scope="col">Policy</th><th scope="col">Both</th></tr>`,
      same.map((r) => html`<tr><th scope="row">${r.title}<small><code>${r.policy}</code></small></th><td>${cellSummary(r.a)}</td></tr>`),
      'None.',
    )}</details>`;
  }
  return layout({
    title: view ? `Compare ${view.a.cluster} and ${view.b.cluster}` : 'Compare two clusters',
    path: '/compliance',
    user: ctx.user,
    body: html`${subnav('/compliance/compare')}
${compareForm(clusters, form.a, form.b, form.standard, repos, standards)}
${body}`,
  });
}

// --- Trends ----------------------------------------------------------------------------------------

const SERIES = [
  { metric: 'violations', label: 'violations', stroke: '#cf222e', dash: null },
  { metric: 'accepted', label: 'accepted risks', stroke: '#9a6700', dash: '6 3' },
  { metric: 'outdated', label: 'outdated containers', stroke: '#0969da', dash: '2 2' },
] as const;

const DAY_MS = 86_400_000;

function trendFigure(view: TrendsView, series: TrendSeries, title: string, id: string): SafeHtml {
  const start = Date.parse(`${view.from}T00:00:00Z`);
  const positions = series.points.map((p) => (Date.parse(`${p.date}T00:00:00Z`) - start) / DAY_MS);
  const last = series.points[series.points.length - 1];
  const describe = (m: (typeof SERIES)[number]) => {
    const values = series.points.map((p) => p[m.metric]).filter((v): v is number => v !== null);
    return values.length ? `${m.label} from ${values[0]!.toLocaleString('en-US')} to ${values[values.length - 1]!.toLocaleString('en-US')}` : `${m.label} not recorded`;
  };
  const chartSeries: ChartSeries[] = SERIES.map((m) => ({ label: m.label, stroke: m.stroke, dash: m.dash, values: series.points.map((p) => p[m.metric]) }));
  const rows = [...series.points].reverse().map(
    (p) => html`<tr><th scope="row"><time datetime="${p.date}">${p.date}</time></th>${SERIES.map((m) => html`<td>${p[m.metric] === null ? '–' : count(p[m.metric]!)}</td>`)}<td>${p.containers === null ? '–' : count(p.containers)}</td></tr>`,
  );
  return html`<section class="trend" aria-labelledby="${`${id}-heading`}"><h3 id="${`${id}-heading`}">${title}${last && last.violations !== null ? html` <small>now ${plural(last.violations, 'violation')}, ${count(last.accepted ?? 0)} accepted${last.outdated !== null ? `, ${count(last.outdated)} outdated containers` : ''}</small>` : ''}</h3>
<div class="trend-row"><figure>${stepChart({ id, title: `${title}: violations, accepted risks and outdated containers, ${view.from} to ${view.to}`, description: `${SERIES.map(describe).join('; ')}.`, positions, span: view.days - 1, from: view.from, to: view.to, series: chartSeries })}
${chartLegend(SERIES)}</figure>
<div class="trend-numbers"><table><caption>${title}: the days a number changed (newest first)</caption><thead><tr><th scope="col">Day</th>${SERIES.map((m) => html`<th scope="col">${m.label}</th>`)}<th scope="col">containers</th></tr></thead><tbody>${rows}</tbody></table></div></div></section>`;
}

export function trendsPage(ctx: PageContext, q: ComplianceQuery, view: TrendsView): SafeHtml {
  const dayChoices = [30, 90, 180, 365, TREND_DAYS.max].map((d) => ({ value: String(d), text: `${d} days` }));
  const repos = new Set(view.clusters.map((c) => c.repo)).size;
  return layout({
    title: 'Compliance trends',
    path: '/compliance',
    user: ctx.user,
    body: html`${subnav('/compliance/trends')}
${complianceForm(ctx, '/compliance/trends', q, null, select('days', 'Period', dayChoices, String(view.days), ''))}
<p class="legend">From ${view.from} to ${view.to} (UTC days): each day's last evaluation of the default branch (violations, and the accepted ones among them) and the image inventory of that commit (containers running a version older than the newest of the same image and tag family in a cluster of the same repository). A value holds until the next day it changed.</p>
${view.clusters.length === 0
  ? html`<p class="empty">No cluster matches.</p>`
  : html`${trendFigure(view, view.all, view.clusters.length === 1 ? `${view.clusters[0]!.cluster}` : `All ${plural(view.clusters.length, 'cluster')}`, 'trend-all')}
${view.clusters.length > 1 ? html`<h2>Per cluster</h2>${view.clusters.map((c, i) => trendFigure(view, c, repos > 1 ? `${c.cluster} (${c.repo})` : c.cluster!, `trend-${i}`))}` : ''}`}`,
  });
}

// --- Violating objects -----------------------------------------------------------------------------

const blobUrl = (ctx: PageContext, v: ViolationItem) => safeUrl(`${ctx.githubUrl}/${v.repo}/blob/${encodeURIComponent(v.sha)}/${v.file.split('/').map(encodeURIComponent).join('/')}#L${v.line}`);

export function violationsPage(ctx: PageContext, view: { page: PageInfo; rows: ViolationItem[]; behind: string[] }): SafeHtml {
  const repos = new Set(ctx.choices.repos).size;
  const head = html`<tr><th scope="col">Cluster</th><th scope="col">Policy</th><th scope="col">Object</th><th scope="col">Message</th><th scope="col">Action</th><th scope="col">Accepted</th><th scope="col">Manifest</th></tr>`;
  const body = view.rows.map(
    (v) => html`<tr><td><a href="${clusterHref(v.repo, v.cluster)}">${v.cluster}</a>${repos > 1 ? html`<br><small>${v.repo}</small>` : ''}</td><td>${v.policy}<br><small>${v.constraint}</small></td>
<td>${v.object.kind}/${v.object.namespace ? `${v.object.namespace}/` : ''}${v.object.name}</td><td class="message">${v.message}</td>
<td class="${`action action-${v.enforcementAction}`}">${v.enforcementAction}</td><td>${v.accepted ? html`<span class="badge accepted">${v.accepted}</span>` : html`<span class="empty-value">no</span>`}</td>
<td><a href="${blobUrl(ctx, v)}">${v.file}:${v.line}</a><br><small>at ${short(v.sha)}</small></td></tr>`,
  );
  return layout({
    title: 'Violating objects',
    path: '/compliance',
    user: ctx.user,
    body: html`${subnav('/violations')}
${filterForm('/violations', ctx.filters, ctx.choices, ['repo', 'cluster', 'namespace', 'policy'])}
<p class="legend">What each cluster's newest evaluation of its default branch found.${view.behind.length ? ` Behind the newest push: ${view.behind.join(', ')}.` : ''}</p>
${view.page.total ? pagerNav('/violations', ctx.filters, view.page, 'violations', VIOLATIONS_PAGE.limit) : ''}
${table(head, body, view.page.total ? 'No violations on this page.' : 'No violations match.')}
${view.page.total > view.page.limit ? pagerNav('/violations', ctx.filters, view.page, 'violations', VIOLATIONS_PAGE.limit) : ''}`,
  });
}
