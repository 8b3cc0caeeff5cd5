// Who made a state of the default branch: the pull request GitHub associates with its commit
// (the one that merged it), who opened and who merged that pull request, and who pushed it (the
// push event's sender). One GraphQL query per push, whatever its size, shared with the risk
// register's blame when the register asks one (blame.ts adds COMMIT_PULL_REQUEST_SELECTION to its
// first query); a backfill asks it for a whole list of commits at once (history-backfill.ts).
// Names checked against GitHub's published schema (@octokit/graphql-schema):
// Repository.object(oid: GitObjectID | expression: String) → Commit.associatedPullRequests(first) →
// PullRequestConnection{nodes{number, author: Actor{login}, mergedBy: Actor{login}}}.
import { isRecord } from '../engine/index.js';
import type { GitHubClient, RepoRef } from './github-client.js';
import type { CommitAttribution } from './recorder.js';

/** The selection, on a Commit, of the pull request that merged it and its people. */
export const COMMIT_PULL_REQUEST_SELECTION = 'associatedPullRequests(first: 1) { nodes { number author { login } mergedBy { login } } }';

export const COMMIT_PULL_REQUEST_QUERY = `query ParapetCommitPullRequest($owner: String!, $name: String!, $sha: GitObjectID!) {
  repository(owner: $owner, name: $name) {
    object(oid: $sha) { ... on Commit { ${COMMIT_PULL_REQUEST_SELECTION} } }
  }
}`;

const login = (actor: unknown): string | null => (isRecord(actor) && typeof actor.login === 'string' && actor.login !== '' ? actor.login : null);

/**
 * The attribution in a Commit answered with COMMIT_PULL_REQUEST_SELECTION; undefined when the
 * answer is not that shape (GitHub failed at that field): the caller records it as unknown.
 */
export function attributionOfCommit(commit: unknown, pushedBy: string | null): CommitAttribution | undefined {
  const connection = isRecord(commit) ? commit.associatedPullRequests : undefined;
  if (!isRecord(connection) || !Array.isArray(connection.nodes)) return undefined;
  const pull = connection.nodes.find((n): n is Record<string, unknown> => isRecord(n) && Number.isInteger(n.number));
  return { pullRequest: pull ? (pull.number as number) : null, openedBy: login(pull?.author), mergedBy: login(pull?.mergedBy), pushedBy };
}

/** The commit's pull request and people; throws when GitHub cannot be asked (the caller records it unattributed). */
export async function commitAttribution(octokit: GitHubClient, repo: RepoRef, sha: string, pushedBy: string | null): Promise<CommitAttribution> {
  const data: unknown = await octokit.graphql(COMMIT_PULL_REQUEST_QUERY, { owner: repo.owner, name: repo.repo, sha });
  const object = isRecord(data) && isRecord(data.repository) ? data.repository.object : undefined;
  return attributionOfCommit(object, pushedBy) ?? { pullRequest: null, openedBy: null, mergedBy: null, pushedBy };
}
