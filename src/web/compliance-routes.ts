// The compliance pages and their API, under the overview's authorization (the caller has checked
// the session, the readable repositories and a `repo` filter): the matrix, two clusters compared,
// the trends and the violating objects. A cluster the user cannot read is 404 like one that does
// not exist.
import type { PrismaClient } from '@prisma/client';
import { QueryError } from '../errors.js';
import type { Viewer } from './app.js';
import {
  comparableClusters,
  comparisonView,
  complianceView,
  readClusterKey,
  readComplianceQuery,
  readDays,
  trendsView,
  violationsView,
  VIOLATIONS_PAGE,
} from './compliance-data.js';
import { readFilters, readPage } from './http.js';
import { STANDARDS } from '../library/catalog.js';
import { paging } from './api/routes.js';
import { comparePage, compliancePage, trendsPage, violationsPage } from './views/compliance.js';
import type { SafeHtml } from './views/html.js';
import type { PageContext } from './views/pages.js';

export const COMPLIANCE_PAGES = new Set(['/compliance', '/compliance/compare', '/compliance/trends', '/violations']);
export const COMPLIANCE_API = new Set(['/api/compliance', '/api/compliance/compare', '/api/compliance/trends', '/api/violations']);

const standards = STANDARDS.map((s) => ({ id: s.id, title: s.title }));

/** The two clusters of a comparison; both or neither (then null). */
function comparedKeys(params: URLSearchParams): { a: string; b: string } | null {
  const a = readClusterKey(params, 'a');
  const b = readClusterKey(params, 'b');
  if ((a === undefined) !== (b === undefined)) throw new QueryError('a and b name the two clusters to compare, as owner/repository:cluster');
  return a !== undefined && b !== undefined ? { a, b } : null;
}

/** The page's body; null for a comparison naming a cluster the user cannot read (404). */
export async function compliancePageOf(prisma: PrismaClient, url: URL, v: Viewer, ctx: PageContext): Promise<SafeHtml | null> {
  const params = url.searchParams;
  const q = readComplianceQuery(params, ctx.filters);
  switch (url.pathname) {
    case '/compliance':
      return compliancePage(ctx, q, await complianceView(prisma, v.repoIds, q));
    case '/compliance/compare': {
      const keys = comparedKeys(params);
      const clusters = await comparableClusters(prisma, v.repoIds);
      const view = keys ? await comparisonView(prisma, v.repoIds, keys, q.standard) : null;
      if (keys && !view) return null;
      return comparePage(ctx, { ...keys, standard: q.standard }, clusters, standards, view);
    }
    case '/compliance/trends':
      return trendsPage(ctx, q, await trendsView(prisma, v.repoIds, q, readDays(params)));
    default:
      return violationsPage(ctx, await violationsView(prisma, v.repoIds, ctx.filters, readPage(params, VIOLATIONS_PAGE)));
  }
}

/** The API's answer: status and JSON body. */
export async function complianceApi(prisma: PrismaClient, url: URL, v: Viewer): Promise<{ status: number; body: unknown }> {
  const params = url.searchParams;
  const filters = readFilters(params);
  const q = readComplianceQuery(params, filters);
  switch (url.pathname) {
    case '/api/compliance': {
      const view = await complianceView(prisma, v.repoIds, q);
      return { status: 200, body: { summary: view.summary, standards: view.standards, clusters: view.columns, groups: view.groups } };
    }
    case '/api/compliance/compare': {
      const keys = comparedKeys(params);
      if (!keys) throw new QueryError('a and b name the two clusters to compare, as owner/repository:cluster');
      const view = await comparisonView(prisma, v.repoIds, keys, q.standard);
      return view ? { status: 200, body: view } : { status: 404, body: { error: 'not found' } };
    }
    case '/api/compliance/trends':
      return { status: 200, body: await trendsView(prisma, v.repoIds, q, readDays(params)) };
    default: {
      const view = await violationsView(prisma, v.repoIds, filters, readPage(params, VIOLATIONS_PAGE));
      return { status: 200, body: { ...paging(url, view.page), behind: view.behind, violations: view.rows } };
    }
  }
}
