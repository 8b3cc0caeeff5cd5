// Who made a state of the default branch: the pull request GitHub associates with its commit
// (the one that merged it), who opened and who merged that pull request, and who pushed it (the
// push event's sender). One GraphQL query per push, whatever its size. Names checked against
// GitHub's published schema (@octokit/graphql-schema): Repository.object(oid: GitObjectID) →
// Commit.associatedPullRequests(first) → PullRequestConnection{nodes{number, author: Actor{login},
// mergedBy: Actor{login}}}.
import { isRecord } from '../engine/index.js';
import type { GitHubClient, RepoRef } from './github-client.js';
import type { CommitAttribution } from './recorder.js';

export const COMMIT_PULL_REQUEST_QUERY = `query ParapetCommitPullRequest($owner: String!, $name: String!, $sha: GitObjectID!) {
  repository(owner: $owner, name: $name) {
    object(oid: $sha) { ... on Commit { associatedPullRequests(first: 1) { nodes { number author { login } mergedBy { login } } } } }
  }
}`;

const login = (actor: unknown): string | null => (isRecord(actor) && typeof actor.login === 'string' && actor.login !== '' ? actor.login : null);

/** The commit's pull request and people; throws when GitHub cannot be asked (the caller records it unattributed). */
export async function commitAttribution(octokit: GitHubClient, repo: RepoRef, sha: string, pushedBy: string | null): Promise<CommitAttribution> {
  const data: unknown = await octokit.graphql(COMMIT_PULL_REQUEST_QUERY, { owner: repo.owner, name: repo.repo, sha });
  const object = isRecord(data) && isRecord(data.repository) ? data.repository.object : undefined;
  const connection = isRecord(object) ? object.associatedPullRequests : undefined;
  const nodes = isRecord(connection) && Array.isArray(connection.nodes) ? connection.nodes : [];
  const pull = nodes.find((n): n is Record<string, unknown> => isRecord(n) && Number.isInteger(n.number));
  return { pullRequest: pull ? (pull.number as number) : null, openedBy: login(pull?.author), mergedBy: login(pull?.mergedBy), pushedBy };
}
