// The JSON API: the pages' data under the same authorization. Unknown or unreadable objects are
// 404 alike; a filter naming a repository the user cannot read is 404 too.
import type { ServerResponse } from 'node:http';
import type { PrismaClient } from '@prisma/client';
import { decodePath, type Viewer } from '../app.js';
import { readFilters, sendJson } from '../http.js';
import { clusterView, evaluationsView, imagesView, risksView, stagesView } from '../overview-data.js';

export async function apiRoute(prisma: PrismaClient, res: ServerResponse, url: URL, v: Viewer): Promise<void> {
  const filters = readFilters(url.searchParams);
  const notFound = () => sendJson(res, 404, { error: 'not found' });
  if (filters.repo && !v.repos.includes(filters.repo)) return notFound();
  switch (url.pathname) {
    case '/api/me':
      return sendJson(res, 200, { login: v.session.login, repositories: v.repos });
    case '/api/images': {
      const view = await imagesView(prisma, v.repoIds, filters);
      return sendJson(res, 200, { images: view.rows, matrix: { columns: view.columns, rows: view.matrix } });
    }
    case '/api/risks':
      return sendJson(res, 200, { risks: await risksView(prisma, v.repoIds, filters, url.searchParams.get('removed') === '1') });
    case '/api/stages':
      return sendJson(res, 200, { applications: await stagesView(prisma, v.repoIds, filters) });
    case '/api/evaluations': {
      const pr = url.searchParams.get('pr');
      if (pr !== null && !/^\d+$/.test(pr)) return sendJson(res, 400, { error: 'pr must be a number' });
      const rows = await evaluationsView(prisma, v.repoIds, { ...filters, ...(pr ? { pullRequest: Number(pr) } : {}) });
      return sendJson(res, 200, { evaluations: rows });
    }
  }
  if (url.pathname.startsWith('/api/clusters/')) {
    const name = decodePath(url.pathname.slice('/api/clusters/'.length));
    const clusters = name ? await clusterView(prisma, v.repoIds, name, filters.repo) : [];
    return clusters.length === 0 ? notFound() : sendJson(res, 200, { clusters });
  }
  return notFound();
}
