// The default branch read for the overview's policy changes with the signed-in user's token, the
// way the App reads a commit: one tarball, parsed in memory (TarballSource). The composition root
// hands it to the overview, which may not reach into this adapter itself.
import { ProbotOctokit } from 'probot';
import type { RepoSource } from '../engine/index.js';
import type { GitHubClient, RepoRef } from './github-client.js';
import { TarballSource } from './tarball-source.js';

export type TreeReader = (token: string, repo: RepoRef, sha: string) => Promise<RepoSource>;

export function userTreeReader(apiUrl: string, maxRepoBytes: number): TreeReader {
  return async (token, repo, sha) => {
    const octokit = new ProbotOctokit({ auth: { token }, baseUrl: apiUrl, throttle: { enabled: false }, retry: { enabled: false } }) as unknown as GitHubClient;
    return TarballSource.fetch(octokit, repo, sha, maxRepoBytes);
  };
}
