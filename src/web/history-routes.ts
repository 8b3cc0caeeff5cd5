// The history pages and their API, under the overview's authorization (the caller has checked the
// session and the readable repositories): a repository or object the user cannot read is 404 like
// one that does not exist.
import type { PrismaClient } from '@prisma/client';
import type { Viewer } from './app.js';
import { CHANGES_PAGE, changesView, objectHistory, readHistoryQuery, readObjectKey } from './history-data.js';
import { readPage } from './http.js';
import { paging } from './api/routes.js';
import type { SafeHtml } from './views/html.js';
import { changesPage, objectPage } from './views/history.js';
import type { PageContext } from './views/pages.js';

export const HISTORY_PAGES = new Set(['/changes', '/changes/object']);
export const HISTORY_API = new Set(['/api/changes', '/api/changes/object']);

/** The page's body; null for what the user cannot read or what is not known (404). */
export async function historyPageOf(prisma: PrismaClient, url: URL, v: Viewer, ctx: PageContext): Promise<SafeHtml | null> {
  if (url.pathname === '/changes/object') {
    const view = await objectHistory(prisma, v, readObjectKey(url.searchParams));
    return view && objectPage(ctx, view);
  }
  const q = readHistoryQuery(url.searchParams);
  const view = await changesView(prisma, v, q, readPage(url.searchParams, CHANGES_PAGE));
  return view && changesPage(ctx, q, view);
}

/** The API's answer: status and JSON body. */
export async function historyApi(prisma: PrismaClient, url: URL, v: Viewer): Promise<{ status: number; body: unknown }> {
  const notFound = { status: 404, body: { error: 'not found' } };
  if (url.pathname === '/api/changes/object') {
    const view = await objectHistory(prisma, v, readObjectKey(url.searchParams));
    return view ? { status: 200, body: view } : notFound;
  }
  const view = await changesView(prisma, v, readHistoryQuery(url.searchParams), readPage(url.searchParams, CHANGES_PAGE));
  return view ? { status: 200, body: { ...paging(url, view.page), history: view.horizons, changes: view.rows } } : notFound;
}
