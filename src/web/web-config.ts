// The overview page's settings, read from the environment once (like src/config.ts, which stays
// the App's): the OAuth client of the GitHub App, the session secret and the site's public URL.
import { randomBytes } from 'node:crypto';
import { ConfigProblemsError } from '../errors.js';

export interface WebConfig {
  oauth: { clientId: string; clientSecret: string };
  /** HMAC key of session cookies. */
  sessionSecret: string;
  /** The site as users reach it (https://parapet.example.com); decides the OAuth callback and Secure cookies. */
  publicUrl: string;
  /** How long a user's list of readable repositories is reused (ms). */
  repoCacheMs: number;
  /** How long a session lasts (ms). */
  sessionMaxAgeMs: number;
}

/** Where GitHub is: its web site (OAuth pages) and its REST API. */
export interface GitHubEndpoints {
  /** https://github.com, or https://HOST for GitHub Enterprise Server. */
  webUrl: string;
  /** https://api.github.com, or https://HOST/api/v3. */
  apiUrl: string;
}

type Env = Record<string, string | undefined>;

export interface ReadWebConfig {
  config: WebConfig;
  github: GitHubEndpoints;
  /** Things worth a log line (a generated session secret). */
  warnings: string[];
}

export function readWebConfig(env: Env = process.env): ReadWebConfig {
  const problems: string[] = [];
  const warnings: string[] = [];
  const text = (name: string) => (env[name]?.trim() ? env[name]!.trim() : undefined);
  const production = env.NODE_ENV === 'production';

  const clientId = text('GITHUB_CLIENT_ID');
  const clientSecret = text('GITHUB_CLIENT_SECRET');
  if (!clientId) problems.push('GITHUB_CLIENT_ID is required for the overview page (the App\'s OAuth client ID)');
  if (!clientSecret) problems.push('GITHUB_CLIENT_SECRET is required for the overview page (a client secret generated on the App\'s settings page)');

  let sessionSecret = text('SESSION_SECRET');
  if (!sessionSecret) {
    if (production) problems.push('SESSION_SECRET is required when NODE_ENV=production (32 random bytes, e.g. `openssl rand -hex 32`)');
    else {
      sessionSecret = randomBytes(32).toString('hex');
      warnings.push('SESSION_SECRET is not set: generated one for this process; sessions end when it restarts');
    }
  } else if (sessionSecret.length < 32) problems.push('SESSION_SECRET must be at least 32 characters');

  const publicUrl = (text('PARAPET_PUBLIC_URL') ?? `http://localhost:${text('PORT') ?? '3000'}`).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(publicUrl)) problems.push(`PARAPET_PUBLIC_URL must be an http(s) URL, got "${publicUrl}"`);

  const apiUrl = (text('GITHUB_API_URL') ?? 'https://api.github.com').replace(/\/+$/, '');
  const webUrl = (text('GITHUB_URL') ?? (apiUrl === 'https://api.github.com' ? 'https://github.com' : apiUrl.replace(/\/api\/v3$/, ''))).replace(/\/+$/, '');
  for (const [name, url] of [['GITHUB_API_URL', apiUrl], ['GITHUB_URL', webUrl]] as const) {
    if (!/^https?:\/\/[^/]+/.test(url)) problems.push(`${name} must be an http(s) URL, got "${url}"`);
  }

  if (problems.length > 0) throw new ConfigProblemsError(problems);
  return {
    config: { oauth: { clientId: clientId!, clientSecret: clientSecret! }, sessionSecret: sessionSecret!, publicUrl, repoCacheMs: 60_000, sessionMaxAgeMs: 8 * 3600_000 },
    github: { webUrl, apiUrl },
    warnings,
  };
}
