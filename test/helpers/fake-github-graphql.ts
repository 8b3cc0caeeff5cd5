// The fake GitHub's GraphQL endpoint (`POST /graphql`): graphql-js over GitHub's published schema
// (@octokit/graphql-schema's introspection), so a query GitHub would refuse (an unknown field, a
// missing argument, a variable of the wrong type) is refused here too, before any data, and a field
// that fails nulls its nearest nullable parent as on GitHub. Errors a resolver raises carry GitHub's
// `type` (NOT_FOUND, ...) beside the message, as GitHub's answers do.
//
// Blame is computed from the commit history the test declares (each commit's parents and files),
// line by line as `git blame` does it: a line a parent has unchanged is that parent's, the rest is
// the commit's own.
import { schema as githubSchema } from '@octokit/graphql-schema';
import { diffArrays } from 'diff';
import { buildClientSchema, execute, parse, validate, GraphQLError, type GraphQLSchema, type IntrospectionQuery } from 'graphql';

let schema: GraphQLSchema | undefined;
/** GitHub's schema, built once per process (about 150 ms). */
function githubGraphQLSchema(): GraphQLSchema {
  const json = githubSchema.json as unknown as { data?: IntrospectionQuery } & IntrospectionQuery;
  return (schema ??= buildClientSchema(json.data ?? json));
}

/** An error GitHub reports beside the data, at the field that raised it (`type` as GitHub sets it). */
export class FieldError extends Error {
  constructor(
    message: string,
    readonly type?: string,
  ) {
    super(message);
  }
}

export interface GraphQLErrorJson {
  message: string;
  locations?: Array<{ line: number; column: number }>;
  path?: ReadonlyArray<string | number>;
  type?: string;
}

/** Resolves `field` of an object of type `typeName`; by default, the source's property of that name. */
export type Resolvers = Record<string, Record<string, (source: any, args: Record<string, unknown>) => unknown>>;

function errorJson(error: GraphQLError): GraphQLErrorJson {
  const type = error.originalError instanceof FieldError ? error.originalError.type : undefined;
  return {
    ...(type ? { type } : {}),
    ...(error.path ? { path: error.path } : {}),
    ...(error.locations ? { locations: error.locations.map(({ line, column }) => ({ line, column })) } : {}),
    message: error.message,
  };
}

/**
 * Answers a GraphQL request body as GitHub's `POST /graphql` does (always HTTP 200 once the
 * request is authenticated and is JSON): `{ errors }` for a query GitHub would not run,
 * `{ data, errors? }` otherwise.
 */
export function answerGraphQL(body: unknown, resolvers: Resolvers): { data?: unknown; errors?: GraphQLErrorJson[] } {
  const request = body as { query?: unknown; variables?: unknown } | undefined;
  if (!request || typeof request !== 'object' || typeof request.query !== 'string') return { errors: [{ message: 'A query attribute must be specified and must be a string.' }] };
  const variables = request.variables ?? {};
  if (typeof variables !== 'object' || Array.isArray(variables)) return { errors: [{ message: 'Variables are invalid JSON.' }] };
  let document;
  try {
    document = parse(request.query);
  } catch (error) {
    if (error instanceof GraphQLError) return { errors: [errorJson(error)] };
    throw error;
  }
  const schema = githubGraphQLSchema();
  const invalid = validate(schema, document);
  if (invalid.length > 0) return { errors: invalid.map(errorJson) };
  const result = execute({
    schema,
    document,
    variableValues: variables as Record<string, unknown>,
    rootValue: {},
    fieldResolver: (source, args, _context, info) => {
      const resolve = resolvers[info.parentType.name]?.[info.fieldName];
      return resolve ? resolve(source, args) : (source as Record<string, unknown>)[info.fieldName];
    },
  });
  if (result instanceof Promise) throw new Error('the fake GitHub resolves GraphQL synchronously');
  return result.errors?.length ? { ...(result.data !== undefined ? { data: result.data } : {}), errors: result.errors.map(errorJson) } : { data: result.data };
}

// ---------------------------------------------------------------------------------------------
// Blame over a declared history.

/** A commit as GitHub describes it: who, when, its parents, and the pull request that merged it. */
export interface FakeCommitInfo {
  parents: string[];
  author: { name: string; email: string; login?: string };
  committedDate: string;
  message: string;
  pullRequest?: number;
  /** The logins that opened and merged that pull request (null on GitHub for a deleted account). */
  pullRequestAuthor?: string;
  mergedBy?: string;
}

export interface FakeHistory {
  files(sha: string): Record<string, string | Buffer> | undefined;
  info(sha: string): FakeCommitInfo | undefined;
}

function lines(text: string | Buffer): string[] {
  const all = text.toString().split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all;
}

/**
 * The commit each line of `path` at `sha` comes from: a line a parent has unchanged (by a line
 * diff) is blamed on what that parent's blame says; the others on `sha` itself.
 */
export function blameLines(history: FakeHistory, sha: string, path: string, memo = new Map<string, string[]>()): string[] | undefined {
  const key = `${sha}\0${path}`;
  const known = memo.get(key);
  if (known) return known;
  const text = history.files(sha)?.[path];
  if (text === undefined) return undefined;
  const mine = lines(text);
  const owners = mine.map(() => sha);
  const assigned = mine.map(() => false);
  for (const parent of history.info(sha)?.parents ?? []) {
    const before = history.files(parent)?.[path];
    if (before === undefined) continue;
    const theirs = blameLines(history, parent, path, memo)!;
    let oldIndex = 0;
    let newIndex = 0;
    for (const change of diffArrays(lines(before), mine)) {
      const count = change.count ?? change.value.length;
      if (change.added) newIndex += count;
      else if (change.removed) oldIndex += count;
      else {
        for (let k = 0; k < count; k++) {
          if (!assigned[newIndex + k]) {
            owners[newIndex + k] = theirs[oldIndex + k]!;
            assigned[newIndex + k] = true;
          }
        }
        oldIndex += count;
        newIndex += count;
      }
    }
  }
  memo.set(key, owners);
  return owners;
}

export interface FakeBlameRange {
  startingLine: number;
  endingLine: number;
  age: number;
  commit: string;
}

/** Consecutive lines from the same commit as one range; `age` 1 (newest) to 10, as GitHub scales it. */
export function blameRanges(history: FakeHistory, owners: string[]): FakeBlameRange[] {
  const ranges: FakeBlameRange[] = [];
  owners.forEach((commit, i) => {
    const last = ranges[ranges.length - 1];
    if (last && last.commit === commit && last.endingLine === i) last.endingLine = i + 1;
    else ranges.push({ startingLine: i + 1, endingLine: i + 1, age: 1, commit });
  });
  const dates = [...new Set(owners)].map((c) => Date.parse(history.info(c)?.committedDate ?? '')).sort((a, b) => b - a);
  for (const range of ranges) {
    const rank = dates.indexOf(Date.parse(history.info(range.commit)?.committedDate ?? ''));
    range.age = dates.length <= 1 ? 1 : 1 + Math.round((9 * Math.max(0, rank)) / (dates.length - 1));
  }
  return ranges;
}
