// The JSON API: the pages' data under the same authorization. Unknown or unreadable objects are
// 404 alike; a filter naming a repository the user cannot read is 404 too. Lists are paged
// (`page`, `limit`) and say so: `total`, and `next`/`previous` links (null at either end).
import type { ServerResponse } from 'node:http';
import type { PrismaClient } from '@prisma/client';
import { decodePath, type Viewer } from '../app.js';
import { readFilters, readPage, sendJson, type PageRequest } from '../http.js';
import { CONTAINERS_PAGE, EVALUATIONS_PAGE, IMAGES_PAGE, RISKS_PAGE, clusterView, containersView, evaluationsView, imagesView, risksView, stagesView, type PageInfo } from '../overview-data.js';
import { QueryError } from '../../errors.js';
import { COMPLIANCE_API, complianceApi } from '../compliance-routes.js';
import { HISTORY_API, historyApi } from '../history-routes.js';

/** The paging fields of a list answer: the page asked for, the total, and links to its neighbours. */
export function paging(url: URL, page: PageInfo): { page: number; limit: number; total: number; next: string | null; previous: string | null } {
  const last = Math.max(1, Math.ceil(page.total / page.limit));
  const link = (n: number) => {
    const params = new URLSearchParams(url.searchParams);
    params.set('page', String(n));
    return `${url.pathname}?${params.toString()}`;
  };
  return {
    page: page.page,
    limit: page.limit,
    total: page.total,
    next: page.page < last ? link(page.page + 1) : null,
    previous: page.page > 1 ? link(Math.min(page.page - 1, last)) : null,
  };
}

export async function apiRoute(prisma: PrismaClient, res: ServerResponse, url: URL, v: Viewer): Promise<void> {
  try {
    await answer(prisma, res, url, v);
  } catch (error) {
    if (!(error instanceof QueryError)) throw error;
    sendJson(res, 400, { error: error.message });
  }
}

async function answer(prisma: PrismaClient, res: ServerResponse, url: URL, v: Viewer): Promise<void> {
  const filters = readFilters(url.searchParams);
  const page = (defaults: { limit: number; maxLimit: number }): PageRequest => readPage(url.searchParams, defaults);
  const notFound = () => sendJson(res, 404, { error: 'not found' });
  if (filters.repo && !v.repos.includes(filters.repo)) return notFound();
  switch (url.pathname) {
    case '/api/me':
      return sendJson(res, 200, { login: v.session.login, repositories: v.repos });
    case '/api/images': {
      const view = await imagesView(prisma, v.repoIds, filters, page(IMAGES_PAGE));
      return sendJson(res, 200, { ...paging(url, view.page), summary: view.summary, columnsBy: view.columnsBy, columns: view.columns, images: view.rows });
    }
    case '/api/containers': {
      const view = await containersView(prisma, v.repoIds, filters, page(CONTAINERS_PAGE));
      return sendJson(res, 200, { ...paging(url, view.page), containers: view.rows });
    }
    case '/api/risks': {
      const view = await risksView(prisma, v.repoIds, filters, url.searchParams.get('removed') === '1', page(RISKS_PAGE));
      return sendJson(res, 200, { ...paging(url, view.page), risks: view.rows });
    }
    case '/api/stages':
      return sendJson(res, 200, { applications: await stagesView(prisma, v.repoIds, filters) });
    case '/api/evaluations': {
      const pr = url.searchParams.get('pr');
      if (pr !== null && pr !== '' && !/^\d{1,9}$/.test(pr)) return sendJson(res, 400, { error: 'pr must be a pull request number' });
      const view = await evaluationsView(prisma, v.repoIds, { ...filters, ...(pr ? { pullRequest: Number(pr) } : {}) }, page(EVALUATIONS_PAGE));
      return sendJson(res, 200, { ...paging(url, view.page), evaluations: view.rows });
    }
  }
  if (COMPLIANCE_API.has(url.pathname)) {
    const { status, body } = await complianceApi(prisma, url, v);
    return sendJson(res, status, body);
  }
  if (HISTORY_API.has(url.pathname)) {
    const { status, body } = await historyApi(prisma, url, v);
    return sendJson(res, status, body);
  }
  if (url.pathname.startsWith('/api/clusters/')) {
    const name = decodePath(url.pathname.slice('/api/clusters/'.length));
    const clusters = name ? await clusterView(prisma, v.repoIds, name, filters.repo) : [];
    return clusters.length === 0 ? notFound() : sendJson(res, 200, { clusters });
  }
  return notFound();
}
