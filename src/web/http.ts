// Small HTTP helpers shared by the pages and the API: the query string read into filters and a
// page of a list (a value that cannot be meant is a 400 naming the parameter, never ignored or
// cut short), and the response writers.
import type { ServerResponse } from 'node:http';
import { CLUSTER_SCOPED, type Filters } from './views/layout.js';
import { QueryError } from '../errors.js';


const MAX_FILTER_LENGTH = 200;
// Never typed into a form; U+001F also separates the fields of the search text (src/store/inventory.ts).
const CONTROL = /[\u0000-\u001f\u007f]/;

export function readFilters(params: URLSearchParams): Filters {
  const get = (name: string) => {
    const v = params.get(name);
    if (v === null || v === '') return undefined;
    if (v.length > MAX_FILTER_LENGTH) throw new QueryError(`${name} is longer than ${MAX_FILTER_LENGTH} characters`);
    if (CONTROL.test(v)) throw new QueryError(`${name} contains control characters`);
    return v;
  };
  const namespace = get('namespace');
  const filters: Filters = { repo: get('repo'), cluster: get('cluster'), namespace: namespace === CLUSTER_SCOPED ? '' : namespace, image: get('image'), policy: get('policy'), q: get('q') };
  const version = get('version');
  const exact = get('exact');
  if (exact !== undefined && exact !== '1') throw new QueryError('exact must be 1 (or absent)');
  // `exact` qualifies `image` (a form whose image was cleared still sends it: harmless); a version
  // without its image cannot be meant.
  if (version !== undefined && filters.image === undefined) throw new QueryError("version needs image: the image's full name (registry/repository)");
  if (version !== undefined) filters.version = version;
  if (filters.image !== undefined && (exact !== undefined || version !== undefined)) filters.exact = true;
  return filters;
}

export interface PageRequest {
  /** 1-based. */
  page: number;
  limit: number;
}

/** `page` (from 1) and `limit` (1..max), with defaults when absent. */
export function readPage(params: URLSearchParams, defaults: { limit: number; maxLimit: number }): PageRequest {
  const number = (name: string, fallback: number, max: number) => {
    const v = params.get(name);
    if (v === null || v === '') return fallback;
    if (!/^\d{1,7}$/.test(v) || Number(v) < 1 || Number(v) > max) throw new QueryError(`${name} must be a whole number from 1 to ${max}`);
    return Number(v);
  };
  return { page: number('page', 1, 1_000_000), limit: number('limit', defaults.limit, defaults.maxLimit) };
}

export function sendHtml(res: ServerResponse, status: number, body: { toString(): string }): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(body.toString());
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(`${JSON.stringify(body, null, 2)}\n`);
}
