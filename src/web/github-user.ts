// GitHub on behalf of a signed-in user: the OAuth web flow's token exchange, who the user is, and
// which repositories the user can read (GET /user/repos, every page), cached per user briefly.
import { GitHubError } from '../errors.js';
import type { GitHubEndpoints, WebConfig } from './web-config.js';

async function getJson(url: string, init: RequestInit): Promise<{ body: unknown; headers: Headers }> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, headers: { accept: 'application/json', 'user-agent': 'parapet', ...init.headers } });
  } catch (error) {
    throw new GitHubError(`cannot reach GitHub at ${new URL(url).origin}: ${(error as Error).message}`);
  }
  if (!response.ok) throw new GitHubError(`GitHub answered ${response.status} to ${init.method ?? 'GET'} ${new URL(url).pathname}`, response.status);
  return { body: await response.json(), headers: response.headers };
}

export function authorizeUrl(github: GitHubEndpoints, config: WebConfig, state: string): string {
  const url = new URL(`${github.webUrl}/login/oauth/authorize`);
  url.searchParams.set('client_id', config.oauth.clientId);
  url.searchParams.set('redirect_uri', `${config.publicUrl}/auth/callback`);
  url.searchParams.set('state', state);
  url.searchParams.set('allow_signup', 'false');
  return url.toString();
}

/** Exchanges the callback's code for the user's access token. */
export async function exchangeCode(github: GitHubEndpoints, config: WebConfig, code: string): Promise<string> {
  const { body } = await getJson(`${github.webUrl}/login/oauth/access_token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: config.oauth.clientId, client_secret: config.oauth.clientSecret, code, redirect_uri: `${config.publicUrl}/auth/callback` }),
  });
  const token = (body as { access_token?: unknown }).access_token;
  if (typeof token !== 'string' || token === '') {
    const error = (body as { error_description?: unknown; error?: unknown }).error_description ?? (body as { error?: unknown }).error ?? 'no access_token';
    throw new GitHubError(`GitHub refused the sign-in code: ${String(error)}`, 401);
  }
  return token;
}

export async function currentUser(github: GitHubEndpoints, token: string): Promise<{ login: string }> {
  const { body } = await getJson(`${github.apiUrl}/user`, { headers: { authorization: `Bearer ${token}` } });
  const login = (body as { login?: unknown }).login;
  if (typeof login !== 'string') throw new GitHubError('GitHub /user has no login');
  return { login };
}

const MAX_PAGES = 50;

/** Ids of every repository the token's user can read (pull permission), all pages. */
export async function readableRepositoryIds(github: GitHubEndpoints, token: string): Promise<bigint[]> {
  const ids: bigint[] = [];
  let url: string | null = `${github.apiUrl}/user/repos?per_page=100`;
  for (let page = 0; url && page < MAX_PAGES; page++) {
    const { body, headers }: { body: unknown; headers: Headers } = await getJson(url, { headers: { authorization: `Bearer ${token}` } });
    if (!Array.isArray(body)) throw new GitHubError('GitHub /user/repos did not answer a list');
    for (const repo of body as { id?: unknown; permissions?: { pull?: unknown } }[]) {
      if ((typeof repo.id === 'number' || typeof repo.id === 'string') && repo.permissions?.pull !== false) ids.push(BigInt(repo.id));
    }
    url = /<([^>]+)>;\s*rel="next"/.exec(headers.get('link') ?? '')?.[1] ?? null;
  }
  return ids;
}

/** Per-user cache of readable repositories: GitHub is asked again after `ttlMs`. */
export class RepositoryAccess {
  private readonly cache = new Map<string, { ids: bigint[]; until: number }>();

  constructor(
    private readonly github: GitHubEndpoints,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async readable(login: string, token: string): Promise<bigint[]> {
    const key = `${login}\u0000${token}`;
    const hit = this.cache.get(key);
    if (hit && hit.until > this.now()) return hit.ids;
    const ids = await readableRepositoryIds(this.github, token);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { ids, until: this.now() + this.ttlMs });
    return ids;
  }

  forget(login: string, token: string): void {
    this.cache.delete(`${login}\u0000${token}`);
  }
}
