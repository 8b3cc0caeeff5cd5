// Who last changed which lines of a file at one commit: GitHub's GraphQL `Commit.blame(path)`,
// several files per query through aliases, a bounded number of queries per push. Names checked
// against GitHub's published schema (@octokit/graphql-schema 15.26.1): Repository.object(expression)
// → Commit.blame(path: String!): Blame!, Blame.ranges: [BlameRange!]!, BlameRange{startingLine,
// endingLine, commit}, Commit{oid, committedDate, author: GitActor{name, email, user{login}},
// associatedPullRequests(first) → PullRequestConnection{nodes{number, author: Actor{login},
// mergedBy: Actor{login}}}}.
//
// Each file is blamed under its own `object` alias: `blame` is non-null, so by GraphQL's null
// propagation an error in one file's blame (a timeout, a path GitHub cannot resolve) nulls its
// nearest nullable parent: with one alias per file that is that file's `object`, not the others'.
import type { GitHubClient, RepoRef } from './github-client.js';
import { isRecord } from '../engine/index.js';
import { COMMIT_PULL_REQUEST_SELECTION } from './commit-attribution.js';

export interface BlameCommit {
  oid: string;
  committedDate: string;
  author: { name: string | null; email: string | null; user: { login: string } | null } | null;
  /** The pull request that merged the commit, with who opened and who merged it (GitHub's accounts, unlike the commit's author). */
  associatedPullRequests: { nodes: Array<{ number: number; author?: { login: string } | null; mergedBy?: { login: string } | null } | null> | null } | null;
}

/** Lines `startingLine`..`endingLine` (1-based, inclusive) were last changed by `commit`. */
export interface BlameRange {
  startingLine: number;
  endingLine: number;
  commit: BlameCommit;
}

export interface BlameLimits {
  /** Files blamed in one GraphQL query: each blame is work for GitHub, and a query has 10 s. */
  filesPerQuery: number;
  /** GraphQL queries one push may make, so its API calls do not grow with its size. */
  queriesPerPush: number;
}

export const BLAME_LIMITS: BlameLimits = { filesPerQuery: 10, queriesPerPush: 3 };

export interface BlameAnswer {
  /** The blame of each file GitHub answered for. */
  ranges: Map<string, BlameRange[]>;
  /** Files asked for that GitHub did not answer, with why. */
  failed: Map<string, string>;
  /** Files not asked for: over the limits. */
  skipped: string[];
  /** GraphQL queries made. */
  queries: number;
  /**
   * With `commit`: the blamed commit itself as answered with COMMIT_PULL_REQUEST_SELECTION (the
   * change history's attribution, asked in the first query); undefined when no query got an answer.
   */
  commit?: unknown;
}

const RANGE_FIELDS = 'ranges { startingLine endingLine commit { oid committedDate author { name email user { login } } associatedPullRequests(first: 1) { nodes { number author { login } mergedBy { login } } } } }';

/**
 * The query blaming `files` paths, passed as variables `$path0`.. (never spliced into the text);
 * with `commit`, it also asks for the commit's pull request (alias `commit`), so that a push's
 * register and change history share one query.
 */
export function blameQuery(files: number, options: { commit?: boolean } = {}): string {
  if (!Number.isInteger(files) || files < 1) throw new RangeError(`a blame query needs at least one file, not ${files}`);
  const variables = Array.from({ length: files }, (_, i) => `$path${i}: String!`).join(', ');
  const blames = Array.from({ length: files }, (_, i) => `file${i}: object(expression: $sha) { ... on Commit { blame(path: $path${i}) { ${RANGE_FIELDS} } } }`);
  // Its own alias: an error in a file's blame nulls that file's `object`, not this one.
  if (options.commit) blames.push(`commit: object(expression: $sha) { ... on Commit { ${COMMIT_PULL_REQUEST_SELECTION} } }`);
  const aliases = blames.join('\n    ');
  return `query ParapetBlame($owner: String!, $name: String!, $sha: String!, ${variables}) {
  repository(owner: $owner, name: $name) {
    ${aliases}
  }
}`;
}

/**
 * Blames `paths` at commit `sha`: up to `filesPerQuery` files per query and `queriesPerPush`
 * queries, one after the other (GitHub asks integrations not to run queries concurrently). A query
 * GitHub answers without any data (down, timed out, refused) ends the look-ups: the next would
 * most likely fare the same.
 */
export async function blameFiles(
  octokit: GitHubClient,
  repo: RepoRef,
  sha: string,
  paths: readonly string[],
  limits: BlameLimits = BLAME_LIMITS,
  options: { commit?: boolean } = {},
): Promise<BlameAnswer> {
  const unique = [...new Set(paths)];
  const capacity = limits.filesPerQuery * limits.queriesPerPush;
  const answer: BlameAnswer = { ranges: new Map(), failed: new Map(), skipped: unique.slice(capacity), queries: 0 };
  const asked = unique.slice(0, capacity);
  for (let start = 0; start < asked.length; start += limits.filesPerQuery) {
    const batch = asked.slice(start, start + limits.filesPerQuery);
    answer.queries++;
    const stop = await blameBatch(octokit, repo, sha, batch, answer, options.commit === true && start === 0);
    if (stop) {
      for (const path of asked.slice(start + limits.filesPerQuery)) answer.failed.set(path, `not asked: ${stop}`);
      break;
    }
  }
  return answer;
}

/** One query; returns why GitHub gave no data at all (so no more queries are sent), else undefined. */
async function blameBatch(octokit: GitHubClient, repo: RepoRef, sha: string, batch: string[], answer: BlameAnswer, commit: boolean): Promise<string | undefined> {
  const variables: Record<string, string> = { owner: repo.owner, name: repo.repo, sha };
  batch.forEach((path, i) => (variables[`path${i}`] = path));
  let data: unknown;
  let errors: GraphQLError[] = [];
  try {
    data = await octokit.graphql(blameQuery(batch.length, { commit }), variables);
  } catch (error) {
    // @octokit/graphql throws on any `errors` in the answer, with the partial `data` beside them.
    if (!isGraphQLResponseError(error)) {
      const why = `GitHub's GraphQL API failed: ${error instanceof Error ? error.message : String(error)}`;
      for (const path of batch) answer.failed.set(path, why);
      return why;
    }
    data = error.data;
    errors = error.errors;
  }
  const repository = isRecord(data) ? data.repository : undefined;
  if (!isRecord(repository)) {
    const why = errors.length > 0 ? errors.map((e) => e.message).join('; ') : 'GitHub answered without the repository';
    for (const path of batch) answer.failed.set(path, why);
    return why;
  }
  if (commit) answer.commit = repository.commit;
  batch.forEach((path, i) => {
    const alias = `file${i}`;
    const ranges = parseRanges(repository[alias]);
    if (ranges) {
      answer.ranges.set(path, ranges);
      return;
    }
    const own = errors.filter((e) => e.path?.[1] === alias).map((e) => e.message);
    answer.failed.set(path, own.length > 0 ? own.join('; ') : repository[alias] === null ? `commit ${sha} not found` : 'GitHub answered with an unexpected blame');
  });
  return undefined;
}

interface GraphQLError {
  message: string;
  path?: Array<string | number>;
}

function isGraphQLResponseError(error: unknown): error is { data: unknown; errors: GraphQLError[] } {
  return error instanceof Error && error.name === 'GraphqlResponseError' && Array.isArray((error as { errors?: unknown }).errors);
}


/** A file's blame as answered, or undefined when it is not the shape the query asked for. */
function parseRanges(object: unknown): BlameRange[] | undefined {
  if (!isRecord(object) || !isRecord(object.blame) || !Array.isArray(object.blame.ranges)) return undefined;
  const ranges: BlameRange[] = [];
  for (const range of object.blame.ranges as unknown[]) {
    if (!isRecord(range) || !Number.isInteger(range.startingLine) || !Number.isInteger(range.endingLine) || !isRecord(range.commit)) return undefined;
    const commit = range.commit;
    if (typeof commit.oid !== 'string' || typeof commit.committedDate !== 'string') return undefined;
    ranges.push({ startingLine: range.startingLine as number, endingLine: range.endingLine as number, commit: commit as unknown as BlameCommit });
  }
  return ranges;
}
