// GitHub on behalf of a signed-in user, for changes to a repository: what the user may do there,
// whether the App's installation lets its user tokens write, the default branch's head, and a pull
// request made of one commit on a new branch through the Git Data API: a tree (the files inline, the
// deletions as `sha: null`, over the base commit's tree), a commit, a ref and the pull request;
// four writes however many files change. Nothing here writes to an existing branch.
import { GitHubError } from '../errors.js';
import type { GitHubEndpoints } from './web-config.js';

export interface RepoName {
  owner: string;
  repo: string;
}

/** A refusal of GitHub's that a page can explain: the status and GitHub's message. */
export class GitHubRefusal extends GitHubError {
  constructor(
    readonly what: string,
    status: number,
    readonly githubMessage: string,
  ) {
    super(`GitHub answered ${status} to ${what}: ${githubMessage}`, status);
  }
}

async function call<T>(github: GitHubEndpoints, token: string, method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${github.apiUrl}${path}`, {
      method,
      headers: {
        accept: 'application/vnd.github+json',
        'user-agent': 'parapet',
        'x-github-api-version': '2022-11-28',
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    throw new GitHubError(`cannot reach GitHub at ${new URL(github.apiUrl).origin}: ${(error as Error).message}`);
  }
  if (!response.ok) {
    const text = await response.text().catch(() => '');
    let message = text.slice(0, 300);
    try {
      message = String((JSON.parse(text) as { message?: unknown }).message ?? message);
    } catch {
      // not JSON: the text as it came
    }
    throw new GitHubRefusal(`${method} ${path.split('?')[0]}`, response.status, message);
  }
  return (response.status === 204 ? undefined : await response.json()) as T;
}

const repoPath = (r: RepoName) => `/repos/${encodeURIComponent(r.owner)}/${encodeURIComponent(r.repo)}`;

export interface RepoAccess {
  /** The user may push (GitHub's `permissions.push` for their token). */
  write: boolean;
  defaultBranch: string;
}

/** What the user may do in the repository; null when GitHub says it does not exist for them. */
export async function repositoryAccess(github: GitHubEndpoints, token: string, repo: RepoName): Promise<RepoAccess | null> {
  try {
    const body = await call<{ default_branch?: unknown; permissions?: { push?: unknown } }>(github, token, 'GET', repoPath(repo));
    return { write: body.permissions?.push === true, defaultBranch: typeof body.default_branch === 'string' ? body.default_branch : 'main' };
  } catch (error) {
    if (error instanceof GitHubRefusal && (error.status === 404 || error.status === 403)) return null;
    throw error;
  }
}

/** The permissions opening a pull request needs from the App (app.yml). */
export const WRITE_PERMISSIONS = { contents: 'write', pull_requests: 'write' } as const;

/**
 * The App's installation permissions on the repository's owner that a change needs and lacks
 * (`contents: write`, `pull_requests: write`): a user's token of a GitHub App can do no more than
 * the installation. Null when the user's installations do not include one on that owner.
 */
export async function missingAppPermissions(github: GitHubEndpoints, token: string, owner: string): Promise<string[] | null> {
  const body = await call<{ installations?: Array<{ account?: { login?: unknown } | null; permissions?: Record<string, unknown> }> }>(github, token, 'GET', '/user/installations?per_page=100');
  const installation = (body.installations ?? []).find((i) => typeof i.account?.login === 'string' && i.account.login.toLowerCase() === owner.toLowerCase());
  if (!installation) return null;
  return Object.entries(WRITE_PERMISSIONS)
    .filter(([name]) => installation.permissions?.[name] !== 'write')
    .map(([name, level]) => `${name}: ${level}`);
}

/** The branch's head commit and its tree. */
export async function branchHead(github: GitHubEndpoints, token: string, repo: RepoName, branch: string): Promise<{ sha: string; tree: string }> {
  const body = await call<{ commit?: { sha?: unknown; commit?: { tree?: { sha?: unknown } } } }>(github, token, 'GET', `${repoPath(repo)}/branches/${encodeURIComponent(branch)}`);
  const sha = body.commit?.sha;
  const tree = body.commit?.commit?.tree?.sha;
  if (typeof sha !== 'string' || typeof tree !== 'string') throw new GitHubError(`GitHub's branch ${branch} of ${repo.owner}/${repo.repo} has no commit`);
  return { sha, tree };
}

/** The tree of a commit (the preview's base when it was read at an earlier head). */
export async function commitTree(github: GitHubEndpoints, token: string, repo: RepoName, sha: string): Promise<string> {
  const body = await call<{ tree?: { sha?: unknown } }>(github, token, 'GET', `${repoPath(repo)}/git/commits/${encodeURIComponent(sha)}`);
  if (typeof body.tree?.sha !== 'string') throw new GitHubError(`GitHub's commit ${sha} of ${repo.owner}/${repo.repo} has no tree`);
  return body.tree.sha;
}

export interface PullRequestInput {
  base: { branch: string; sha: string; tree: string };
  /** The new branch's name (without refs/heads/). */
  branch: string;
  writes: ReadonlyMap<string, string>;
  deletes: readonly string[];
  message: string;
  title: string;
  body: string;
}

/** One commit over `base` on a new branch, and its pull request into `base.branch`. */
export async function openPullRequest(github: GitHubEndpoints, token: string, repo: RepoName, input: PullRequestInput): Promise<{ number: number; url: string }> {
  const path = repoPath(repo);
  const entries = [
    ...[...input.writes].map(([file, content]) => ({ path: file, mode: '100644', type: 'blob', content })),
    ...input.deletes.map((file) => ({ path: file, mode: '100644', type: 'blob', sha: null })),
  ];
  const tree = await call<{ sha: string }>(github, token, 'POST', `${path}/git/trees`, { base_tree: input.base.tree, tree: entries });
  const commit = await call<{ sha: string }>(github, token, 'POST', `${path}/git/commits`, { message: input.message, tree: tree.sha, parents: [input.base.sha] });
  await call(github, token, 'POST', `${path}/git/refs`, { ref: `refs/heads/${input.branch}`, sha: commit.sha });
  try {
    const pull = await call<{ number: number; html_url: string }>(github, token, 'POST', `${path}/pulls`, { title: input.title, head: input.branch, base: input.base.branch, body: input.body });
    return { number: pull.number, url: pull.html_url };
  } catch (error) {
    // A branch without its pull request would only be clutter: it goes again, best effort.
    await call(github, token, 'DELETE', `${path}/git/refs/${encodeURIComponent(`heads/${input.branch}`)}`).catch(() => undefined);
    throw error;
  }
}
