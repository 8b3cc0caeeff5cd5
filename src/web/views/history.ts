// The history pages: who changed what and when, and one object's whole history.
import { CHANGES_PAGE, CLUSTER_SCOPED, type ChangeRow, type ChangesView, type HistoryHorizon, type HistoryQuery, type ObjectHistory } from '../history-data.js';
import { html, type SafeHtml } from './html.js';
import { layout, pagerNav, type Filters } from './layout.js';
import { clusterHref, commitUrl, plural, pullUrl, short, table, time, type PageContext } from './pages.js';

const CHANGE_LABELS: Record<string, string> = { added: 'added', modified: 'modified', removed: 'removed', renamed: 'renamed' };
const FIELD_LABELS: Record<string, string> = { image: 'image', replicas: 'replicas', securityContext: 'security context', resources: 'resources', other: 'other' };

/** The query string of the history with these filters (and extra parameters such as the page). */
export function historyHref(path: string, q: HistoryQuery, extra: Record<string, string | number | undefined> = {}): string {
  const params = new URLSearchParams();
  const day = (d: Date) => d.toISOString();
  const values: Record<string, string | undefined> = {
    repo: q.repo,
    cluster: q.cluster,
    namespace: q.namespace === '' ? CLUSTER_SCOPED : q.namespace,
    application: q.application,
    change: q.change,
    kind: q.kind,
    field: q.field,
    person: q.person,
    from: q.from && day(q.from),
    to: q.to && day(q.to),
  };
  for (const [name, value] of Object.entries({ ...values, ...extra })) if (value !== undefined) params.set(name, String(value));
  const query = params.toString();
  return query ? `${path}?${query}` : path;
}

export function objectHref(r: { repo: string; cluster: string; kind: string; namespace: string | null; name: string }): string {
  return historyHref('/changes/object', {}, { repo: r.repo, cluster: r.cluster, kind: r.kind, namespace: r.namespace ?? '', name: r.name });
}

function select(name: string, label: string, choices: readonly (readonly [string, string])[], value: string | undefined): SafeHtml {
  return html`<label>${label} <select name="${name}"><option value="">all</option>${choices.map(([v, text]) => html`<option value="${v}"${v === value ? html` selected` : ''}>${text}</option>`)}</select></label>`;
}

const pairs = (values: readonly string[]) => values.map((v) => [v, v] as const);

function historyForm(ctx: PageContext, q: HistoryQuery, view: ChangesView): SafeHtml {
  const date = (d: Date | undefined) => (d ? d.toISOString().slice(0, 10) : '');
  return html`<form class="filters" method="get" action="/changes">
${ctx.choices.repos.length > 1 ? select('repo', 'Repository', pairs(ctx.choices.repos), q.repo) : ''}
${select('cluster', 'Cluster', pairs(ctx.choices.clusters), q.cluster)}
<label>Namespace <input type="text" name="namespace" value="${q.namespace === '' ? CLUSTER_SCOPED : (q.namespace ?? '')}" placeholder="payments"></label>
${select('application', 'Application', pairs(view.choices.applications), q.application)}
${select('change', 'Change', Object.entries(CHANGE_LABELS), q.change)}
${select('kind', 'Kind', pairs(view.choices.kinds), q.kind)}
${select('field', 'Field changed', Object.entries(FIELD_LABELS), q.field)}
<label>Person <input type="text" name="person" value="${q.person ?? ''}" placeholder="GitHub login"></label>
<label>From <input type="date" name="from" value="${date(q.from)}"></label>
<label>To <input type="date" name="to" value="${date(q.to)}"></label>
<button type="submit">Apply</button> <a href="/changes">Reset</a>
</form>`;
}

function value(v: unknown): SafeHtml {
  if (v === undefined) return html`<span class="empty-value">absent</span>`;
  return html`<code>${typeof v === 'string' ? v : JSON.stringify(v)}</code>`;
}

/** The field-level diff: one row per field, before → after. */
export function diffTable(r: ChangeRow): SafeHtml {
  if (r.diff.length === 0) return html``;
  const rows = r.diff.map((d) => html`<tr><td><code>${d.path}</code></td><td class="before">${value(d.before)}</td><td class="after">${value(d.after)}</td></tr>`);
  return html`<details class="diff"${r.diff.length <= 3 ? html` open` : ''}><summary>${plural(r.diff.length + r.omitted, 'field')} changed</summary>
<table><thead><tr><th>Field</th><th>Before</th><th>After</th></tr></thead><tbody>${rows}</tbody></table>${
    r.omitted > 0 ? html`<p class="legend">${plural(r.omitted, 'more field')} not shown.</p>` : ''
  }</details>`;
}

/** A commit read from the history came with no push: its author is who made it. */
function authored(r: { authorLogin: string | null; authorName: string | null }): SafeHtml | null {
  const author = r.authorLogin ?? r.authorName;
  return author === null ? null : html`authored by ${author}${r.authorLogin === null ? html` <small>(no GitHub user)</small>` : ''}`;
}

/** Who made the change, as GitHub reported it. */
function who(ctx: PageContext, r: ChangeRow): SafeHtml {
  const lines: SafeHtml[] = [];
  if (r.pullRequest !== null) {
    const pr = html`<a href="${pullUrl(ctx, r.repo, r.pullRequest)}">#${r.pullRequest}</a>`;
    const opened = r.openedBy !== null ? html` <small>(opened by ${r.openedBy})</small>` : '';
    lines.push(r.mergedBy !== null ? html`merged by ${r.mergedBy} in ${pr}${opened}` : html`in ${pr}${opened}`);
  }
  if (r.pushedBy !== null) lines.push(html`pushed by ${r.pushedBy}`);
  const author = authored(r);
  if (author) lines.push(author);
  if (lines.length === 0) lines.push(html`<span class="empty-value">${r.backfilled ? 'read from the history: author unknown' : 'no pull request; pusher unknown'}</span>`);
  lines.push(html`<small>commit <a href="${commitUrl(ctx, r.repo, r.commitSha)}">${short(r.commitSha)}</a></small>`);
  return html`${lines.map((l, i) => (i === 0 ? l : html`<br>${l}`))}`;
}

function objectCell(r: ChangeRow, link: boolean): SafeHtml {
  const label = html`${r.kind}/${r.namespace ? `${r.namespace}/` : ''}${r.name}`;
  return html`${link ? html`<a href="${objectHref(r)}">${label}</a>` : label}${r.previousName !== null ? html`<br><small>renamed from ${r.previousName}</small>` : ''}${
    r.file ? html`<br><small>${r.file}</small>` : ''
  }`;
}

function changeCell(r: ChangeRow): SafeHtml {
  return html`<span class="${`change change-${r.change}`}">${CHANGE_LABELS[r.change] ?? r.change}</span>${
    r.fields.length > 0 ? html`<br><small>${r.fields.map((f) => FIELD_LABELS[f] ?? f).join(', ')}</small>` : ''
  }`;
}

function horizonText(h: HistoryHorizon, ctx: PageContext): SafeHtml {
  return h.sinceSha && h.since
    ? html`<li>${h.repo} · <a href="${clusterHref(h.repo, h.cluster)}">${h.cluster}</a>: history since commit <a href="${commitUrl(ctx, h.repo, h.sinceSha)}">${short(h.sinceSha)}</a> ${time(h.since)}; ${backfillText(h)}</li>`
    : html`<li>${h.repo} · ${h.cluster}: no objects recorded yet; history begins with the next push to the default branch</li>`;
}

/** How the history's beginning came about: read back from the branch after installation, or recorded since. */
function backfillText(h: HistoryHorizon): string {
  if (!h.backfill) return 'recorded since installation';
  const commits = `${h.backfill.commits} commit${h.backfill.commits === 1 ? '' : 's'}`;
  const unread = h.backfill.unread.length > 0 ? ` (${plural(h.backfill.unread.length, 'commit')} could not be read)` : '';
  return `${h.backfill.finished ? `backfilled ${commits}` : `backfilling: ${commits} so far`}${unread}`;
}

/**
 * The commits of each repository's backfill whose changes could not be read: the history has a gap
 * there, said where it shows rather than in the logs only.
 */
function unreadNotice(ctx: PageContext, horizons: readonly HistoryHorizon[]): SafeHtml {
  const byRepo = new Map<string, NonNullable<HistoryHorizon['backfill']>['unread']>();
  for (const h of horizons) if (h.backfill && h.backfill.unread.length > 0) byRepo.set(h.repo, h.backfill.unread);
  return html`${[...byRepo].map(
    ([repo, unread]) =>
      html`<p class="notice unread-commits" role="status">${repo}: ${plural(unread.length, 'commit')} could not be read: ${unread.map(
        (u, i) => html`${i ? '; ' : ''}<a href="${commitUrl(ctx, repo, u.sha)}">${short(u.sha)}</a> ${u.error}`,
      )}. The history has no changes of ${unread.length === 1 ? 'it' : 'them'}.</p>`,
  )}`;
}

export function changesPage(ctx: PageContext, q: HistoryQuery, view: ChangesView): SafeHtml {
  const head = html`<tr><th>When</th><th>Repository</th><th>Cluster</th><th>Application</th><th>Object</th><th>Change</th><th>Who</th><th>Diff</th></tr>`;
  const body = view.rows.map(
    (r) => html`<tr><td>${time(r.changedAt)}</td><td>${r.repo}</td><td><a href="${clusterHref(r.repo, r.cluster)}">${r.cluster}</a></td>
<td>${r.application ? html`${r.application}${r.stage ? html`<br><small>${r.stage}</small>` : ''}` : html`<span class="empty-value">none</span>`}</td>
<td>${objectCell(r, true)}</td><td>${changeCell(r)}</td><td>${who(ctx, r)}</td><td>${diffTable(r)}</td></tr>`,
  );
  const pagerFilters = {} as Filters;
  const extra = Object.fromEntries(new URLSearchParams(historyHref('', q).slice(1)));
  return layout({
    title: 'History',
    path: '/changes',
    user: ctx.user,
    body: html`${historyForm(ctx, q, view)}
${unreadNotice(ctx, view.horizons)}
<details class="legend horizon"><summary>How far back history goes</summary><ul>${view.horizons.map((h) => horizonText(h, ctx))}</ul></details>
${view.page.total ? pagerNav('/changes', pagerFilters, view.page, 'changes', CHANGES_PAGE.limit, extra) : ''}
${table(head, body, view.page.total ? 'No changes on this page.' : 'No changes match.')}`,
  });
}

export function objectPage(ctx: PageContext, view: ObjectHistory): SafeHtml {
  const o = view.object;
  const title = `${o.kind}/${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
  const arrived = new Set(view.images.map((a) => a.image));
  const before = (view.current?.images ?? []).filter((image) => !arrived.has(image));
  const imageRows = [
    ...view.images.map(
      (a) => html`<tr><td><code>${a.image}</code></td><td>${time(a.changedAt)}</td><td>${
        a.pullRequest !== null ? html`<a href="${pullUrl(ctx, o.repo, a.pullRequest)}">#${a.pullRequest}</a>${a.mergedBy ? html` merged by ${a.mergedBy}` : ''}` : ''
      }${a.pushedBy ? html`<br>pushed by ${a.pushedBy}` : ''}${authored(a) ? html`<br>${authored(a)}` : ''}<br><small>commit <a href="${commitUrl(ctx, o.repo, a.commitSha)}">${short(a.commitSha)}</a></small></td><td>${a.current ? 'running now' : 'replaced or removed'}</td></tr>`,
    ),
    ...before.map((image) => html`<tr><td><code>${image}</code></td><td>before the history begins</td><td></td><td>running now</td></tr>`),
  ];
  const acceptanceRows = view.acceptances.map(
    (a) => html`<tr><td>${a.policy}</td><td>${a.level}</td><td>${a.reason}</td><td>${
      a.introducedSha === null
        ? html`<span class="empty-value">unknown</span>`
        : html`${a.introducedPushedBy ? html`pushed by ${a.introducedPushedBy}<br>` : ''}${
            a.introducedPullRequest !== null ? html`${a.introducedMergedBy ? html`merged by ${a.introducedMergedBy} in ` : 'in '}<a href="${pullUrl(ctx, o.repo, a.introducedPullRequest)}">#${a.introducedPullRequest}</a><br>` : ''
          }<small>commit <a href="${commitUrl(ctx, o.repo, a.introducedSha)}">${short(a.introducedSha)}</a>${a.introducedAt ? html`, dated ${time(a.introducedAt)} (unverified)` : ''}</small>`
    }</td><td>${time(a.firstSeenAt)}${a.removedAt ? html`<br>removed ${time(a.removedAt)}` : ''}</td></tr>`,
  );
  const changeRows = view.changes.map((r) => html`<tr><td>${time(r.changedAt)}</td><td>${changeCell(r)}${r.previousName ? html`<br><small>from ${r.previousName}</small>` : ''}</td><td>${who(ctx, r)}</td><td>${diffTable(r)}</td></tr>`);
  return layout({
    title,
    path: '/changes',
    user: ctx.user,
    body: html`<p class="legend">${o.repo} · <a href="${clusterHref(o.repo, o.cluster)}">${o.cluster}</a>${
      view.current
        ? html` · ${view.current.apiVersion}${view.current.application ? html` · ${view.current.application}${view.current.stage ? ` / ${view.current.stage}` : ''}` : ''}${view.current.file ? html` · <small>${view.current.file}</small>` : ''}`
        : html` · <strong>not on the default branch now</strong>`
    } · <a href="${historyHref('/changes', { repo: o.repo, cluster: o.cluster, kind: o.kind, namespace: o.namespace })}">all ${o.kind} changes in ${o.namespace || CLUSTER_SCOPED}</a></p>
${unreadNotice(ctx, [view.horizon])}
<p class="legend">${view.horizon.since && view.horizon.sinceSha ? html`History since commit <a href="${commitUrl(ctx, o.repo, view.horizon.sinceSha)}">${short(view.horizon.sinceSha)}</a> ${time(view.horizon.since)}; ${backfillText(view.horizon)}.` : 'No history recorded yet.'}</p>
<h2>Images</h2>
${table(html`<tr><th>Image</th><th>Arrived</th><th>Who</th><th>Now</th></tr>`, imageRows, 'This object runs no images.')}
<h2>Risk acceptances</h2>
${table(html`<tr><th>Policy</th><th>Level</th><th>Reason</th><th>Accepted by</th><th>Since</th></tr>`, acceptanceRows, 'No risk accepted on this object.')}
<h2>Changes</h2>
${table(html`<tr><th>When</th><th>Change</th><th>Who</th><th>Diff</th></tr>`, changeRows, 'No changes recorded since the history begins.')}`,
  });
}
