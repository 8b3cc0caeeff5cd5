// The GitHub API client the handlers use: Probot's authenticated Octokit for one installation
// (REST, with retries and rate-limit throttling built in).
import type { Context } from 'probot';

export type GitHubClient = Context['octokit'];

export interface RepoRef {
  owner: string;
  repo: string;
}
