// The page frame: navigation, the signed-in user with a sign-out form (CSRF token), the filters.
import type { OverviewFilters } from '../queries/overview.js';
import { html, type SafeHtml } from './html.js';

export interface PageUser {
  login: string;
  csrf: string;
}

/** What the query string selects: the store's filters, one definition for pages, API and queries. */
export type Filters = OverviewFilters;

const FILTER_PARAMS = ['repo', 'cluster', 'namespace', 'image', 'exact', 'version', 'policy', 'q'] as const;

/**
 * The `namespace` filter's value for cluster-scoped objects (the filters' '' namespace): an empty
 * parameter means no filter, and parentheses never occur in a Kubernetes namespace name.
 */
export const CLUSTER_SCOPED = '(cluster-scoped)';

/** A link to `path` with these filters (and a page), as the filter form would submit them. */
export function filterHref(path: string, filters: Filters, extra: Record<string, string | number | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const name of FILTER_PARAMS) {
    const value = filters[name];
    if (value === undefined || value === false) continue;
    params.set(name, value === true ? '1' : name === 'namespace' && value === '' ? CLUSTER_SCOPED : value);
  }
  for (const [name, value] of Object.entries(extra)) if (value !== undefined) params.set(name, String(value));
  const query = params.toString();
  return query ? `${path}?${query}` : path;
}

export interface Pager {
  /** 1-based. */
  page: number;
  limit: number;
  total: number;
}

/**
 * "Showing 101–200 of 50,000 containers" with previous/next links that keep the filters: a long
 * list is never cut short without saying so. For a list that is not empty.
 */
export function pagerNav(path: string, filters: Filters, pager: Pager, noun: string, defaultLimit: number, extra: Record<string, string | number | undefined> = {}): SafeHtml {
  const from = (pager.page - 1) * pager.limit + 1;
  const to = Math.min(pager.total, pager.page * pager.limit);
  const last = Math.max(1, Math.ceil(pager.total / pager.limit));
  const link = (page: number) => filterHref(path, filters, { ...extra, page: page === 1 ? undefined : page, limit: pager.limit === defaultLimit ? undefined : pager.limit });
  const count = (n: number) => n.toLocaleString('en-US');
  const text =
    from > pager.total
      ? `Page ${count(pager.page)} is past the end: ${count(pager.total)} ${noun} in ${count(last)} ${last === 1 ? 'page' : 'pages'}.`
      : `Showing ${count(from)}–${count(to)} of ${count(pager.total)} ${noun}.`;
  return html`<nav class="pager" aria-label="${`pages of ${noun}`}"><span class="showing">${text}</span>${
    pager.page > 1 ? html` <a rel="prev" href="${link(Math.min(pager.page - 1, last))}">← previous</a>` : ''
  }${pager.page < last ? html` <a rel="next" href="${link(pager.page + 1)}">next →</a>` : ''}${
    last > 1 ? html` <small>page ${count(Math.min(pager.page, last))} of ${count(last)}</small>` : ''
  }</nav>`;
}

export interface FilterChoices {
  repos: string[];
  clusters: string[];
  namespaces: string[];
  policies: string[];
}

const NAV = [
  ['/', 'Images'],
  ['/containers', 'Containers'],
  ['/risks', 'Risk register'],
  ['/evaluations', 'Evaluations'],
  ['/stages', 'Stages'],
  ['/compliance', 'Compliance'],
  ['/changes', 'History'],
] as const;

export function layout(options: { title: string; path: string; user: PageUser | null; body: SafeHtml }): SafeHtml {
  const { title, path, user, body } = options;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Parapet</title>
<link rel="stylesheet" href="/assets/style.css">
</head>
<body>
<header>
<strong class="brand">Parapet</strong>
<nav>${NAV.map(([href, label]) => html`<a href="${href}"${path === href ? html` aria-current="page"` : ''}>${label}</a>`)}</nav>
${user
  ? html`<form class="signout" method="post" action="/auth/logout"><span>${user.login}</span><input type="hidden" name="csrf" value="${user.csrf}"><button type="submit">Sign out</button></form>`
  : ''}
</header>
<main>
<h1>${title}</h1>
${body}
</main>
</body>
</html>
`;
}

function select(name: string, label: string, choices: string[], value: string | undefined): SafeHtml {
  return html`<label>${label} <select name="${name}"><option value="">all</option>${choices.map(
    (c) => html`<option value="${name === 'namespace' && c === '' ? CLUSTER_SCOPED : c}"${c === value ? html` selected` : ''}>${c === '' ? CLUSTER_SCOPED : c}</option>`,
  )}</select></label>`;
}

/**
 * A GET form: filters travel in the query string, so every view is a link. `keep`: parameters of
 * the page that are not filters (kept when applying).
 */
export function filterForm(action: string, filters: Filters, choices: FilterChoices, fields: readonly (keyof Filters)[], keep: Record<string, string | number | undefined> = {}): SafeHtml {
  const has = (f: keyof Filters) => fields.includes(f);
  const kept = Object.entries(keep).filter(([, value]) => value !== undefined);
  return html`<form class="filters" method="get" action="${action}">${kept.map(([name, value]) => html`<input type="hidden" name="${name}" value="${String(value)}">`)}
${has('repo') && choices.repos.length > 1 ? select('repo', 'Repository', choices.repos, filters.repo) : ''}
${has('cluster') ? select('cluster', 'Cluster', choices.clusters, filters.cluster) : ''}
${has('namespace') ? select('namespace', 'Namespace', choices.namespaces, filters.namespace) : ''}
${has('image')
  ? html`<label>Image <input type="text" name="image" value="${filters.image ?? ''}" placeholder="nginx"></label>
<label class="check"><input type="checkbox" name="exact" value="1"${filters.exact ? html` checked` : ''}> exact name</label>${
      filters.version !== undefined ? html`<label>Version <input type="text" name="version" value="${filters.version}"></label>` : ''
    }`
  : ''}
${has('policy') ? select('policy', 'Policy', choices.policies, filters.policy) : ''}
<label>Search <input type="search" name="q" value="${filters.q ?? ''}" placeholder="search"></label>
<button type="submit">Apply</button> <a href="${action}">Reset</a>
</form>`;
}

export function signInPage(next: string): SafeHtml {
  return layout({
    title: 'Sign in',
    path: '',
    user: null,
    body: html`<p>Parapet shows the repositories GitHub says you can read.</p><p><a class="button" href="/auth/login?next=${encodeURIComponent(next)}">Sign in with GitHub</a></p>`,
  });
}

export function messagePage(title: string, message: string, user: PageUser | null): SafeHtml {
  return layout({ title, path: '', user, body: html`<p>${message}</p><p><a href="/">Back to the overview</a></p>` });
}

export const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#f6f8fa}
header{display:flex;align-items:center;gap:1.5rem;padding:.6rem 1.2rem;background:#24292f;color:#fff}
header a{color:#d0d7de;text-decoration:none;margin-right:1rem}
header a[aria-current]{color:#fff;font-weight:600;border-bottom:2px solid #fd8c73}
.brand{font-size:1.1rem}
.signout{margin-left:auto;display:flex;gap:.6rem;align-items:center}
main{padding:1rem 1.2rem;max-width:1600px}
h1{font-size:1.3rem;margin:.2rem 0 .8rem}
h2{font-size:1.1rem;margin:1.2rem 0 .5rem}
.filters{display:flex;flex-wrap:wrap;gap:.6rem 1rem;align-items:center;margin-bottom:1rem;padding:.6rem;background:#fff;border:1px solid #d0d7de;border-radius:6px}
input,select,button{font:inherit;padding:.2rem .4rem}
.table-wrap{overflow-x:auto;background:#fff;border:1px solid #d0d7de;border-radius:6px}
table{border-collapse:collapse;width:100%}
th,td{padding:.35rem .6rem;border-bottom:1px solid #eaeef2;text-align:left;vertical-align:top}
thead th{position:sticky;top:0;background:#f6f8fa;font-weight:600;white-space:nowrap}
th small{display:block;font-weight:normal;color:#57606a}
td.image{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;white-space:nowrap}
table.matrix th:first-child,table.matrix td.image{position:sticky;left:0;background:#fff;z-index:1;box-shadow:1px 0 0 #eaeef2}
table.matrix thead th:first-child{background:#f6f8fa;z-index:2}
table.matrix td.image{white-space:normal;min-width:13rem;max-width:20rem;overflow-wrap:break-word}
table.matrix td.image small{display:block;font-family:system-ui,sans-serif;color:#57606a}
table.matrix td.cell{white-space:nowrap;min-width:7rem}
td.cell a.tag{display:block;width:max-content;text-decoration:none;color:inherit}
td.cell .more{font-size:.8rem}
.tag small{color:#57606a;font-weight:normal}
.tag.outdated small{color:#82071e}
th a small,th small a{color:inherit}
.pager{display:flex;gap:1rem;align-items:baseline;margin:.5rem 0}
.pager .showing{font-weight:600}
.check{display:flex;gap:.3rem;align-items:center}
td.flags .tag{margin-right:.3rem}
.tag{display:inline-block;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;padding:0 .3rem;border-radius:4px;background:#ddf4ff;margin:0 .2rem .2rem 0}
.tag.outdated{background:#ffebe9;color:#82071e;font-weight:600}
.tag.mutable{outline:2px dashed #bf8700}
.tag.malformed{background:#fff8c5;color:#7d4e00}
.badge{display:inline-block;padding:0 .4rem;border-radius:1rem;font-size:.8rem;background:#eaeef2}
.badge.drift{background:#fff8c5;color:#7d4e00}
.badge.production{background:#ffebe9;color:#82071e;font-weight:600}
td.drift{background:#fff8c5}
td.drift-behind .tag{background:#ffebe9;color:#82071e;font-weight:600}
td.none{color:#8c959f}
.empty-value{color:#8c959f}
h2 small{font-weight:normal;color:#57606a}
h3{font-size:1rem;margin:1rem 0 .4rem}
.conclusion-success{color:#1a7f37;font-weight:600}
.conclusion-failure{color:#cf222e;font-weight:600}
.legend{color:#57606a;margin:.5rem 0}
.empty{color:#57606a;padding:1rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:.8rem}
dt{color:#57606a}
dd{margin:0}
.button{display:inline-block;padding:.4rem .8rem;background:#1f883d;color:#fff;border-radius:6px;text-decoration:none}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.subnav{display:flex;gap:1rem;margin:0 0 .8rem}
.subnav a[aria-current]{font-weight:600;color:#1f2328;text-decoration:none;border-bottom:2px solid #fd8c73}
.notice{padding:.5rem .7rem;background:#fff8c5;border:1px solid #d4a72c;border-radius:6px}
table.compliance th.policy{position:sticky;left:0;background:#fff;z-index:1;box-shadow:1px 0 0 #eaeef2;min-width:16rem;max-width:24rem;font-weight:normal}
table.compliance th.policy small{display:block;color:#57606a}
table.compliance .control{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;color:#57606a}
table.compliance tr.group th{background:#eaeef2;font-weight:600;position:sticky;left:0}
table.compliance tr.coverage-row th{font-weight:normal}
td.cell{white-space:nowrap;min-width:7rem}
td.coverage{white-space:nowrap;background:#f6f8fa}
.heat-off{background:#f6f8fa;color:#57606a}
.heat-0{background:#dafbe1}
.heat-1{background:#fff8c5}
.heat-2{background:#ffe6b0}
.heat-3{background:#ffc9a8}
.heat-4{background:#ffaba8}
.swatch{display:inline-block;padding:0 .4rem;border:1px solid #d0d7de;border-radius:4px;margin-right:.2rem}
.action{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-weight:600}
.action-deny{color:#82071e}
.action-warn{color:#7d4e00}
.action-dryrun,.action-none{color:#57606a}
.clean{color:#1a7f37}
.badge.behind{background:#ffebe9;color:#82071e;font-weight:600;display:inline-block;margin-top:.2rem}
.badge.differs{background:#ddf4ff;color:#0550ae}
.badge.accepted{background:#fff8c5;color:#7d4e00}
tr.differs td{background:#ddf4ff}
.compare-heads{display:grid;grid-template-columns:1fr 1fr;gap:1rem;align-items:start}
.parameter-changes{margin:0;padding-left:1rem}
.trend{margin-bottom:1.2rem}
.trend-row{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}
.trend-row figure{margin:0;background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:.4rem}
.trend-numbers{max-height:14rem;overflow-y:auto;background:#fff;border:1px solid #d0d7de;border-radius:6px}
.trend-numbers table{width:auto}
.trend-numbers caption{text-align:left;padding:.3rem .6rem;color:#57606a}
.chart-legend{list-style:none;display:flex;gap:1rem;padding:0;margin:.3rem 0 0;font-size:.85rem}
td.message{max-width:32rem}
.change-link{display:block;font-weight:400;font-size:.8rem}
.change-form fieldset{border:1px solid #d0d7de;border-radius:6px;background:#fff;margin:0 0 .8rem;padding:.5rem .8rem}
.change-form label{display:block;margin:.2rem 0}
.change-form .params input{width:100%;max-width:40rem}
.hint,.state{color:#57606a}
.problems{background:#ffebe9;border-color:#ff8182}
details.file{margin:.5rem 0;background:#fff;border:1px solid #d0d7de;border-radius:6px}
details.file summary{padding:.3rem .6rem;cursor:pointer}
.status.added{color:#1a7f37}.status.removed{color:#cf222e}
pre.diff{margin:0;padding:.4rem 0;overflow-x:auto;font-size:12px;line-height:1.4}
pre.diff .line{display:inline-block;min-width:100%;padding:0 .6rem}
pre.diff .add{background:#e6ffec}pre.diff .del{background:#ffebe9}pre.diff .hunk{background:#ddf4ff;color:#57606a}pre.diff .file{color:#57606a}
form.confirm{margin:1rem 0}
`;
