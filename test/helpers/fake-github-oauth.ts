// A fake GitHub for the overview's sign-in: the OAuth web flow (authorize page, code exchange),
// GET /user and a paginated GET /user/repos, over a real local HTTP server. `authorize` picks the
// user who "approves" next; a real browser follows the same redirects. With `api`, every other
// request (a repository, the user's installations) goes on to that FakeGitHub, which knows the
// tokens this one issues and checks each request against GitHub's OpenAPI description.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FakeGitHub } from './fake-github.js';

export interface FakeUser {
  login: string;
  /** Ids of the repositories the user can read. */
  repos: number[];
}

export interface FakeGitHubOAuth {
  url: string;
  clientId: string;
  clientSecret: string;
  /** The user the next authorization signs in. */
  signInAs(login: string): void;
  users: Map<string, FakeUser>;
  /** Requests seen, `METHOD /path?query`. */
  requests: string[];
  /** Revoke a user's tokens: the API then answers 401. */
  revoke(login: string): void;
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeGitHubOAuth(users: FakeUser[], options: { pageSize?: number; api?: FakeGitHub } = {}): Promise<FakeGitHubOAuth> {
  const pageSize = options.pageSize ?? 2;
  const clientId = 'Iv1.fakeclient';
  const clientSecret = 'fake-secret';
  const byLogin = new Map(users.map((u) => [u.login, u]));
  const codes = new Map<string, string>();
  const tokens = new Map<string, string>();
  const requests: string[] = [];
  let next = users[0]?.login ?? '';
  let base = '';

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', base);
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));

    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      if (url.searchParams.get('client_id') !== clientId) return json(400, { error: 'unknown client' });
      const code = randomBytes(8).toString('hex');
      codes.set(code, next);
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      return res.writeHead(302, { location: back.toString() }).end();
    }
    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      const form = JSON.parse(await body(req)) as { client_id?: string; client_secret?: string; code?: string };
      const login = form.code ? codes.get(form.code) : undefined;
      if (form.client_id !== clientId || form.client_secret !== clientSecret || !login) return json(200, { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' });
      codes.delete(form.code!);
      const token = `gho_${randomBytes(8).toString('hex')}`;
      tokens.set(token, login);
      options.api?.addUserToken(token, login);
      return json(200, { access_token: token, token_type: 'bearer', scope: '' });
    }
    const login = tokens.get((req.headers.authorization ?? '').replace(/^(Bearer|token) /i, ''));
    if (!login) return json(401, { message: 'Bad credentials' });
    if (options.api && !['/user', '/user/repos'].includes(url.pathname)) {
      const forwarded = await fetch(`${options.api.url}${req.url ?? '/'}`, {
        method: req.method ?? 'GET',
        headers: { authorization: req.headers.authorization ?? '', ...(req.headers['content-type'] ? { 'content-type': req.headers['content-type'] } : {}) },
        ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body: await body(req) }),
        redirect: 'manual',
      });
      const headers: Record<string, string> = {};
      for (const name of ['content-type', 'location', 'content-length']) if (forwarded.headers.has(name)) headers[name] = forwarded.headers.get(name)!;
      return res.writeHead(forwarded.status, headers).end(Buffer.from(await forwarded.arrayBuffer()));
    }
    if (req.method === 'GET' && url.pathname === '/user') return json(200, { login, id: 1000 + [...byLogin.keys()].indexOf(login) });
    if (req.method === 'GET' && url.pathname === '/user/repos') {
      const all = byLogin.get(login)?.repos ?? [];
      const page = Number(url.searchParams.get('page') ?? '1');
      const slice = all.slice((page - 1) * pageSize, page * pageSize);
      const headers: Record<string, string> = {};
      if (page * pageSize < all.length) headers.link = `<${base}/user/repos?per_page=100&page=${page + 1}>; rel="next"`;
      return json(200, slice.map((id) => ({ id, full_name: `repo/${id}`, permissions: { pull: true } })), headers);
    }
    return json(404, { message: 'Not Found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    clientId,
    clientSecret,
    users: byLogin,
    requests,
    signInAs(login) {
      next = login;
    },
    revoke(login) {
      for (const [t, l] of tokens) if (l === login) tokens.delete(t);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
