// A RepoSource over a GitHub repository at one commit, read with ONE API call: the tarball
// (`GET /repos/{owner}/{repo}/tarball/{ref}`), gunzipped and parsed in memory. However many files
// the repository has, reading it costs the same.
import type { RepoFile, RepoSource } from '../engine/index.js';
import { GitHubError } from '../errors.js';
import type { GitHubClient, RepoRef } from './github-client.js';
import { readTarball, tooLarge } from './read-tarball.js';

export class TarballSource implements RepoSource {
  constructor(private readonly files: Map<string, Buffer>) {}

  static async fetch(octokit: GitHubClient, repo: RepoRef, sha: string, maxBytes: number): Promise<TarballSource> {
    const gzipped = await download(octokit, repo, sha, maxBytes);
    return new TarballSource(readTarball(gzipped, maxBytes));
  }

  async listFiles(): Promise<RepoFile[]> {
    return [...this.files.entries()].map(([path, bytes]) => ({ path, size: bytes.length })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async readFiles(paths: string[]): Promise<Map<string, string>> {
    const texts = new Map<string, string>();
    for (const path of paths) {
      const bytes = this.files.get(path);
      if (bytes) texts.set(path, bytes.toString('utf8'));
    }
    return texts;
  }
}

/** Trees of one repository by commit, each downloaded at most once in a run (base and merge base are often the same commit). */
export class TarballCache {
  private readonly trees = new Map<string, Promise<TarballSource>>();

  constructor(
    private readonly octokit: GitHubClient,
    private readonly repo: RepoRef,
    private readonly maxBytes: number,
  ) {}

  at(sha: string): Promise<TarballSource> {
    let tree = this.trees.get(sha);
    if (!tree) {
      tree = TarballSource.fetch(this.octokit, this.repo, sha, this.maxBytes);
      this.trees.set(sha, tree);
    }
    return tree;
  }
}

async function download(octokit: GitHubClient, repo: RepoRef, sha: string, maxBytes: number): Promise<Uint8Array> {
  // Octokit hands on the body stream without its Response, and undici cancels the body of a
  // Response it garbage-collects before anyone reads it (nodejs/undici#3199): a collection between
  // the two, frequent while several jobs run, made the archive arrive empty. The Response is held
  // here (`held` lives as long as this call) and its body read from it.
  let held: Response | undefined;
  const fetchAndHold = async (url: string | URL | Request, init?: RequestInit) => (held = await fetch(url, init));
  const response = await octokit.request('GET /repos/{owner}/{repo}/tarball/{ref}', {
    ...repo,
    ref: sha,
    // The body as a stream, so a huge archive is refused while it arrives instead of after.
    request: { parseSuccessResponseBody: false, fetch: fetchAndHold },
  });
  const length = Number(response.headers['content-length'] ?? Number.NaN);
  if (length > maxBytes) throw tooLarge(maxBytes);
  const body = (held?.body ?? response.data) as unknown;
  if (!(body instanceof ReadableStream)) {
    if (body instanceof ArrayBuffer) return new Uint8Array(body);
    throw new GitHubError(`GitHub answered the tarball of ${repo.owner}/${repo.repo}@${sha} with no body`, response.status);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = (body as ReadableStream<Uint8Array>).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
