// Small HTTP helpers shared by the pages and the API.
import type { ServerResponse } from 'node:http';
import type { Filters } from './views/layout.js';

export function readFilters(params: URLSearchParams): Filters {
  const get = (name: string) => {
    const v = params.get(name);
    return v === null || v === '' ? undefined : v.slice(0, 200);
  };
  return { repo: get('repo'), cluster: get('cluster'), namespace: get('namespace'), image: get('image'), policy: get('policy'), q: get('q') };
}

export function sendHtml(res: ServerResponse, status: number, body: { toString(): string }): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(body.toString());
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(`${JSON.stringify(body, null, 2)}\n`);
}

