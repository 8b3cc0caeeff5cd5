// Who the App is on GitHub, to tell its own review comments from anyone else's. A review comment
// names its author (`user`) but not the App that wrote it (it has no `performed_via_github_app`,
// unlike an issue comment): the App's comments are those of its bot user, `<slug>[bot]`, a login
// no person or other App can have (`[` is not allowed in logins, and slugs are unique). The slug
// comes from `GET /app`, asked as the App (its JWT: installation tokens cannot), once per process.
import { GitHubError } from '../errors.js';
import type { GitHubClient } from './github-client.js';

/**
 * The App's bot login, asked on the first call and remembered; a failed request is not
 * remembered, so the next call asks again. `asApp`: a client authenticated as the App itself.
 */
export function appLogin(asApp: () => Promise<GitHubClient>): () => Promise<string> {
  let login: Promise<string> | undefined;
  return () => {
    login ??= ask(asApp).catch((error: unknown) => {
      login = undefined;
      throw error;
    });
    return login;
  };
}

async function ask(asApp: () => Promise<GitHubClient>): Promise<string> {
  const { data } = await (await asApp()).request('GET /app');
  if (!data?.slug) throw new GitHubError('GET /app answered without the App’s slug: the App cannot tell its own review comments from others');
  return `${data.slug}[bot]`;
}
