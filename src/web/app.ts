// The overview page and its JSON API as one node:http handler: `handle` answers the routes below
// and returns false for any other path, so the App's server can mount it beside its webhooks;
// `listener` answers everything (404 for the rest), for a server of its own.
//
// Every page needs a session (GitHub OAuth web flow); every query is limited to the repositories
// GitHub says the user can read (GET /user/repos with the user's token, cached per user). An
// object outside them is answered 404, exactly like one that does not exist.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { format } from 'node:util';
import type { PrismaClient } from '@prisma/client';
import { GitHubError, QueryError, redactSecrets } from '../errors.js';
import { readLimitedBody, refuseTooLarge } from '../http-body.js';
import { knownRepositories } from './queries/overview.js';
import { apiRoute } from './api/routes.js';
import { COMPLIANCE_API, COMPLIANCE_PAGES, compliancePageOf } from './compliance-routes.js';
import { HISTORY_API, HISTORY_PAGES, historyPageOf } from './history-routes.js';
import { authorizeUrl, currentUser, exchangeCode, RepositoryAccess } from './github-user.js';
import {
  CONTAINERS_PAGE,
  EVALUATIONS_PAGE,
  RISKS_PAGE,
  IMAGES_PAGE,
  clusterView,
  containersView,
  evaluationsView,
  filterChoices,
  imagesView,
  risksView,
  stagesView,
} from './overview-data.js';
import { parseCookies, randomToken, safeEqual, serializeCookie, SessionStore, sign, unsign, type Session } from './session.js';
import { messagePage, signInPage, STYLE } from './views/layout.js';
import { clusterPage, containersPage, evaluationsPage, imagesPage, risksPage, stagesPage, type PageContext } from './views/pages.js';
import type { GitHubEndpoints, WebConfig } from './web-config.js';
import { readFilters, readPage, sendHtml, sendJson } from './http.js';
import { changeRoute } from './policy-change-routes.js';
import { CHANGE_PAGES, CHANGE_POSTS, type PolicyChangeDeps } from './policy-change.js';

export { readFilters, sendHtml, sendJson };

export interface WebAppOptions {
  db: { prisma: PrismaClient };
  config: WebConfig;
  github: GitHubEndpoints;
  /** Where request failures are reported; default stderr, credentials hidden (redactSecrets). */
  logError?: (message: string, error: unknown) => void;
  /** Opening pull requests that change a cluster's policies (the engine previews them); without it the pages say it is off. */
  policyChanges?: PolicyChangeDeps;
}

export interface WebApp {
  /** Answers a route of the overview and returns true; returns false (answering nothing) for other paths. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** A complete request listener: the routes, 404 for anything else. */
  listener(req: IncomingMessage, res: ServerResponse): void;
}

export const SESSION_COOKIE = 'parapet_session';
const STATE_COOKIE = 'parapet_oauth_state';
const PAGES = new Set(['/', '/containers', '/risks', '/evaluations', '/stages']);
const API = new Set(['/api/images', '/api/containers', '/api/risks', '/api/evaluations', '/api/stages', '/api/me']);

/** The user's request: who, and which repositories they may read. */
export interface Viewer {
  session: Session;
  repoIds: bigint[];
  /** `owner/name` of the readable repositories Parapet knows. */
  repos: string[];
}

export function ownsPath(path: string): boolean {
  return PAGES.has(path) || API.has(path) || COMPLIANCE_PAGES.has(path) || CHANGE_PAGES.has(path) || COMPLIANCE_API.has(path) || HISTORY_PAGES.has(path) || HISTORY_API.has(path) || path.startsWith('/clusters/') || path.startsWith('/api/clusters/') || path.startsWith('/auth/') || path === '/assets/style.css';
}

function securityHeaders(res: ServerResponse, https: boolean): void {
  res.setHeader('content-security-policy', "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'same-origin');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('cache-control', 'no-store');
  if (https) res.setHeader('strict-transport-security', 'max-age=31536000');
}

/** A path segment decoded; '' when it is not valid percent-encoding (answered 404). */
export function decodePath(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return '';
  }
}

function redirect(res: ServerResponse, location: string, status = 302): void {
  res.writeHead(status, { location }).end();
}

/** Longer than a sign-in's cookie should carry; such a `next` is not followed. */
const MAX_NEXT_LENGTH = 2048;

/**
 * Where to send the browser after sign-in: `next` resolved as a browser resolves a Location
 * (WHATWG URL parsing: tabs and newlines dropped, `\` read as `/`, `..` applied), kept only when
 * it stays on `origin`; '/' otherwise. The answer is the canonical path, never starting with `//`,
 * so the browser cannot read it as another host however it was spelt.
 */
function sameOriginPath(next: string | null, origin: string): string {
  if (!next || next.length > MAX_NEXT_LENGTH) return '/';
  let resolved: URL;
  try {
    resolved = new URL(next, `${origin}/`);
  } catch {
    return '/';
  }
  const path = `${resolved.pathname}${resolved.search}${resolved.hash}`;
  return resolved.origin === origin && path.startsWith('/') && !path.startsWith('//') ? path : '/';
}

/** The sign-out form holds one token; anything much larger is not that form. */
const MAX_FORM_BYTES = 16 * 1024;

export function createWebApp(options: WebAppOptions): WebApp {
  const { db, config, github } = options;
  const logError = options.logError ?? ((message, error) => process.stderr.write(`${redactSecrets(format(message, error))}\n`));
  const https = config.publicUrl.startsWith('https:');
  const sessions = new SessionStore(db.prisma, config.sessionSecret, config.sessionMaxAgeMs);
  const access = new RepositoryAccess(github, config.repoCacheMs);
  const cookie = (name: string, value: string, maxAgeSeconds?: number) =>
    serializeCookie(name, value, { secure: https, ...(maxAgeSeconds !== undefined ? { maxAgeSeconds } : {}) });

  async function sessionOf(req: IncomingMessage): Promise<Session | null> {
    const signed = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
    const id = signed ? unsign(signed, config.sessionSecret) : null;
    return id ? sessions.get(id) : null;
  }

  async function viewer(session: Session): Promise<Viewer> {
    const readable = await access.readable(session.login, session.token);
    const known = await knownRepositories(db.prisma, readable);
    return { session, repoIds: known.map((r) => r.id), repos: known.map((r) => `${r.owner}/${r.name}`) };
  }

  async function auth(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (url.pathname === '/auth/login' && req.method === 'GET') {
      const state = randomToken();
      const next = sameOriginPath(url.searchParams.get('next'), new URL(config.publicUrl).origin);
      res.setHeader('set-cookie', cookie(STATE_COOKIE, sign(`${state}|${next}`, config.sessionSecret), 600));
      return redirect(res, authorizeUrl(github, config, state));
    }
    if (url.pathname === '/auth/callback' && req.method === 'GET') {
      const signed = parseCookies(req.headers.cookie).get(STATE_COOKIE);
      const saved = signed ? unsign(signed, config.sessionSecret) : null;
      const [state, next] = saved ? [saved.slice(0, saved.indexOf('|')), saved.slice(saved.indexOf('|') + 1)] : ['', '/'];
      const given = url.searchParams.get('state') ?? '';
      const code = url.searchParams.get('code');
      res.setHeader('set-cookie', cookie(STATE_COOKIE, '', 0));
      if (!state || !safeEqual(state, given)) return sendHtml(res, 400, messagePage('Sign-in failed', 'The sign-in state did not match (expired, or started in another browser). Please sign in again.', null));
      if (!code) return sendHtml(res, 403, messagePage('Sign-in cancelled', `GitHub did not sign you in: ${url.searchParams.get('error_description') ?? url.searchParams.get('error') ?? 'no code'}.`, null));
      let token: string;
      let login: string;
      try {
        token = await exchangeCode(github, config, code);
        ({ login } = await currentUser(github, token));
      } catch (error) {
        if (error instanceof GitHubError && error.status === 401) return sendHtml(res, 403, messagePage('Sign-in failed', error.message, null));
        throw error;
      }
      const session = await sessions.create(login, token);
      res.setHeader('set-cookie', [cookie(STATE_COOKIE, '', 0), cookie(SESSION_COOKIE, sign(session.id, config.sessionSecret), Math.floor(config.sessionMaxAgeMs / 1000))]);
      // Checked again: the cookie is signed, but a rule tightened since it was set still applies.
      return redirect(res, sameOriginPath(next, new URL(config.publicUrl).origin));
    }
    if (url.pathname === '/auth/logout' && req.method === 'POST') {
      const body = await readLimitedBody(req, MAX_FORM_BYTES);
      if (body === 'too-large') return refuseTooLarge(res, 'text/html; charset=utf-8', messagePage('Too large', `A sign-out form is smaller than ${MAX_FORM_BYTES} bytes.`, null).toString());
      const session = await sessionOf(req);
      if (!session) return redirect(res, '/', 303);
      const form = new URLSearchParams(body.toString('utf8'));
      if (!safeEqual(form.get('csrf') ?? '', session.csrf)) {
        return sendHtml(res, 403, messagePage('Forbidden', 'The form had no valid CSRF token. Reload the page and try again.', null));
      }
      await sessions.delete(session.id);
      access.forget(session.login, session.token);
      res.setHeader('set-cookie', cookie(SESSION_COOKIE, '', 0));
      return sendHtml(res, 200, signInPage('/'));
    }
    res.setHeader('allow', url.pathname === '/auth/logout' ? 'POST' : 'GET');
    // A body sent along is not read: the connection closes rather than wait for its end.
    if (req.method !== 'GET' && req.method !== 'HEAD') res.setHeader('connection', 'close');
    return sendHtml(res, url.pathname.match(/^\/auth\/(login|callback|logout)$/) ? 405 : 404, messagePage('Not found', 'There is no such page.', null));
  }

  async function page(res: ServerResponse, url: URL, v: Viewer): Promise<void> {
    const user = { login: v.session.login, csrf: v.session.csrf };
    try {
      await renderPage(res, url, v, user);
    } catch (error) {
      if (!(error instanceof QueryError)) throw error;
      sendHtml(res, 400, messagePage('Bad request', `This address cannot be shown: ${error.message}.`, user));
    }
  }

  async function renderPage(res: ServerResponse, url: URL, v: Viewer, user: PageContext['user']): Promise<void> {
    const filters = readFilters(url.searchParams);
    const notFound = () => sendHtml(res, 404, messagePage('Not found', 'There is no such page, or you cannot see it.', user));
    if (filters.repo && !v.repos.includes(filters.repo)) return notFound();
    const choices = { repos: v.repos, ...(await filterChoices(db.prisma, v.repoIds)) };
    const ctx: PageContext = { user, filters, choices, githubUrl: github.webUrl };
    const paged = (defaults: { limit: number; maxLimit: number }) => readPage(url.searchParams, defaults);
    if (url.pathname === '/') return sendHtml(res, 200, imagesPage(ctx, await imagesView(db.prisma, v.repoIds, filters, paged(IMAGES_PAGE))));
    if (url.pathname === '/containers') return sendHtml(res, 200, containersPage(ctx, await containersView(db.prisma, v.repoIds, filters, paged(CONTAINERS_PAGE))));
    if (url.pathname === '/risks') return sendHtml(res, 200, risksPage(ctx, await risksView(db.prisma, v.repoIds, filters, url.searchParams.get('removed') === '1', paged(RISKS_PAGE))));
    if (url.pathname === '/stages') return sendHtml(res, 200, stagesPage(ctx, await stagesView(db.prisma, v.repoIds, filters)));
    if (COMPLIANCE_PAGES.has(url.pathname)) {
      const body = await compliancePageOf(db.prisma, url, v, ctx);
      return body ? sendHtml(res, 200, body) : notFound();
    }
    if (HISTORY_PAGES.has(url.pathname)) {
      const body = await historyPageOf(db.prisma, url, v, ctx);
      return body ? sendHtml(res, 200, body) : notFound();
    }
    if (url.pathname === '/evaluations') {
      const pr = url.searchParams.get('pr');
      if (pr !== null && pr !== '' && !/^\d{1,9}$/.test(pr)) throw new QueryError('pr must be a pull request number');
      const pullRequest = pr ? Number(pr) : undefined;
      const view = await evaluationsView(db.prisma, v.repoIds, { ...filters, ...(pullRequest !== undefined ? { pullRequest } : {}) }, paged(EVALUATIONS_PAGE));
      return sendHtml(res, 200, evaluationsPage(ctx, { ...view, pullRequest }));
    }
    const name = decodePath(url.pathname.slice('/clusters/'.length));
    const clusters = name ? await clusterView(db.prisma, v.repoIds, name, filters.repo) : [];
    if (clusters.length === 0) return notFound();
    return sendHtml(res, 200, clusterPage(ctx, name, clusters));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return false;
    }
    if (!ownsPath(url.pathname)) return false;
    securityHeaders(res, https);
    const isApi = url.pathname.startsWith('/api/');
    try {
      if (url.pathname === '/assets/style.css') {
        res.writeHead(200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'max-age=3600' }).end(STYLE);
        return true;
      }
      if (url.pathname.startsWith('/auth/')) {
        await auth(req, res, url);
        return true;
      }
      const post = CHANGE_POSTS.has(url.pathname);
      if (post ? req.method !== 'POST' : req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', post ? 'POST' : 'GET, HEAD');
        res.setHeader('connection', 'close');
        isApi ? sendJson(res, 405, { error: 'method not allowed' }) : sendHtml(res, 405, messagePage('Method not allowed', post ? 'Only the form posts here.' : 'Only GET here.', null));
        return true;
      }
      const session = await sessionOf(req);
      if (!session) {
        if (isApi) sendJson(res, 401, { error: 'sign in first', signIn: '/auth/login' });
        else redirect(res, `/auth/login?next=${encodeURIComponent(url.pathname + url.search)}`);
        return true;
      }
      let v: Viewer;
      try {
        v = await viewer(session);
      } catch (error) {
        if (error instanceof GitHubError && error.status === 401) {
          // The token was revoked on GitHub: the session is over.
          await sessions.delete(session.id);
          res.setHeader('set-cookie', cookie(SESSION_COOKIE, '', 0));
          if (isApi) sendJson(res, 401, { error: 'sign in again', signIn: '/auth/login' });
          else redirect(res, `/auth/login?next=${encodeURIComponent(url.pathname + url.search)}`);
          return true;
        }
        throw error;
      }
      if (isApi) await apiRoute(db.prisma, res, url, v);
      else if (CHANGE_PAGES.has(url.pathname)) await changeRoute({ prisma: db.prisma, github, publicUrl: config.publicUrl, deps: options.policyChanges }, req, res, url, v);
      else await page(res, url, v);
    } catch (error) {
      logError(`overview: ${req.method} ${url.pathname} failed`, error);
      if (!res.headersSent) {
        const message = error instanceof GitHubError ? 'GitHub could not be reached or refused the request; try again shortly.' : 'Something went wrong on our side.';
        isApi ? sendJson(res, 502, { error: message }) : sendHtml(res, 502, messagePage('Error', message, null));
      } else res.end();
    }
    return true;
  }

  return {
    handle,
    listener(req, res) {
      void handle(req, res).then((handled) => {
        if (!handled) res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
      });
    },
  };
}
