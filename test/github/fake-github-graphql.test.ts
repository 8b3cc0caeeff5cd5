// The fake GitHub's GraphQL endpoint refuses what GitHub's schema refuses, before any data (so a
// wrong query fails the App's tests), and blames from the declared history as git does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha } from '../helpers/fake-github-app.js';
import { FakeGitHub } from '../helpers/fake-github.js';

const REPO = 'acme/gitops';
const BASE = sha('graphql-base');
const FEATURE = sha('graphql-feature');
const HOTFIX = sha('graphql-hotfix');
const MERGE = sha('graphql-merge');

let fake: FakeGitHub;

const ranges = 'ranges { startingLine endingLine commit { oid } }';

beforeAll(async () => {
  fake = await FakeGitHub.start();
  const lines = (...l: string[]) => `${l.join('\n')}\n`;
  fake.addCommit(REPO, BASE, { 'ns.yaml': lines('kind: Namespace', 'metadata:', '  name: shop') }, { author: { name: 'Alice', email: 'alice@example.com', login: 'alice' }, committedDate: '2026-09-01T08:00:00Z' });
  // Two branches from BASE, merged: each side's line keeps its own commit.
  fake.addCommit(REPO, FEATURE, { 'ns.yaml': lines('kind: Namespace', 'metadata:', '  name: shop', '  labels:', '    team: shop') }, { parents: [BASE], committedDate: '2026-09-02T08:00:00Z', pullRequest: 3 });
  fake.addCommit(REPO, HOTFIX, { 'ns.yaml': lines('apiVersion: v1', 'kind: Namespace', 'metadata:', '  name: shop') }, { parents: [BASE], committedDate: '2026-09-03T08:00:00Z' });
  fake.addCommit(REPO, MERGE, { 'ns.yaml': lines('apiVersion: v1', 'kind: Namespace', 'metadata:', '  name: shop', '  labels:', '    team: shop') }, { parents: [HOTFIX, FEATURE], committedDate: '2026-09-04T08:00:00Z' });
  fake.setBranch(REPO, 'main', MERGE);
});

afterAll(() => fake.close());

async function graphql(query: unknown, variables?: unknown, token: string | null = 'token ghs_fake_1'): Promise<{ status: number; json: any }> {
  const response = await fetch(`${fake.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: token } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, json: await response.json() };
}

describe("the fake GitHub refuses what GitHub's schema refuses, before any data", () => {
  it('names a field the type does not have, where it is', async () => {
    const query = `query { repository(owner: "acme", name: "gitops") { object(expression: "main") { ... on Commit { blames(path: "ns.yaml") { ${ranges} } } } } }`;
    const { status, json } = await graphql(query);
    expect(status).toBe(200);
    expect(json.data).toBeUndefined();
    expect(json.errors).toEqual([{ message: 'Cannot query field "blames" on type "Commit". Did you mean "blame"?', locations: [{ line: 1, column: query.indexOf('blames') + 1 }] }]);
  });

  it('wants the arguments a field requires, and no others', async () => {
    const { json } = await graphql(`{ repository(owner: "acme", name: "gitops") { object(expression: "main") { ... on Commit { blame(line: 3) { ${ranges} } } } } }`);
    expect(json.errors.map((e: any) => e.message)).toEqual(['Unknown argument "line" on field "Commit.blame".', 'Field "blame" argument "path" of type "String!" is required, but it was not provided.']);
    expect(json.data).toBeUndefined();
  });

  it("checks variables against the arguments' types, and their values against the variables'", async () => {
    const query = `query Blame($owner: String!, $name: String!, $path: String, $first: String!) {
  repository(owner: $owner, name: $name) { object(expression: "main") { ... on Commit { blame(path: $path) { ${ranges} } associatedPullRequests(first: $first) { nodes { number } } } } }
}`;
    const mismatched = await graphql(query, { owner: 'acme', name: 'gitops', path: 'ns.yaml', first: '1' });
    expect(mismatched.json.errors.map((e: any) => e.message)).toEqual([
      'Variable "$path" of type "String" used in position expecting type "String!".',
      'Variable "$first" of type "String!" used in position expecting type "Int".',
    ]);
    const wrongValue = await graphql('query($name: String!) { repository(owner: "acme", name: $name) { nameWithOwner } }', { name: 7 });
    expect(wrongValue.json.errors.map((e: any) => e.message)).toEqual(['Variable "$name" got invalid value 7; String cannot represent a non string value: 7']);
    expect(wrongValue.json.data).toBeUndefined();
  });

  it('refuses variables declared and not used, or used and not declared', async () => {
    const { json } = await graphql(`query Blame($owner: String!, $sha: String!) { repository(owner: $owner, name: $name) { nameWithOwner } }`, { owner: 'acme', sha: MERGE });
    expect(json.errors.map((e: any) => e.message)).toEqual(['Variable "$name" is not defined by operation "Blame".', 'Variable "$sha" is never used in operation "Blame".']);
  });

  it('wants selections on objects and none on scalars, and fragments only where the type can be', async () => {
    const { json } = await graphql(`{ repository(owner: "acme", name: "gitops") { ... on Commit { oid } object(expression: "main") { oid { value } ... on Commit { blame(path: "ns.yaml") } } } }`);
    expect(json.errors.map((e: any) => e.message)).toEqual([
      'Fragment cannot be spread here as objects of type "Repository" can never be of type "Commit".',
      'Field "oid" must not have a selection since type "GitObjectID!" has no subfields.',
      'Field "blame" of type "Blame!" must have a selection of subfields. Did you mean "blame { ... }"?',
    ]);
  });

  it('reports a syntax error where it is', async () => {
    const { json } = await graphql('query {\n  repository(owner: "acme", name: "gitops") {\n    nameWithOwner\n  }\n');
    expect(json).toEqual({ errors: [{ message: 'Syntax Error: Expected Name, found <EOF>.', locations: [{ line: 5, column: 1 }] }] });
  });

  it('wants a query, and a token', async () => {
    expect((await graphql(undefined)).json).toEqual({ errors: [{ message: 'A query attribute must be specified and must be a string.' }] });
    const anonymous = await graphql('{ repository(owner: "acme", name: "gitops") { nameWithOwner } }', undefined, null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.json.message).toBe('This endpoint requires you to be authenticated.');
  });
});

describe('the fake GitHub answers a GraphQL query', () => {
  it('blames each line on the commit that last changed it, through a merge', async () => {
    const { json } = await graphql(
      `query($owner: String!, $name: String!, $sha: String!) { repository(owner: $owner, name: $name) { f0: object(expression: $sha) { ... on Commit { oid blame(path: "ns.yaml") { ranges { startingLine endingLine age commit { oid committedDate associatedPullRequests(first: 1) { nodes { number } } author { name email user { login } } } } } } } } }`,
      { owner: 'acme', name: 'gitops', sha: 'main' },
    );
    expect(json.errors).toBeUndefined();
    const blamed = json.data.repository.f0.blame.ranges.map((r: any) => [r.startingLine, r.endingLine, r.commit.oid, r.commit.associatedPullRequests.nodes.map((n: any) => n.number)]);
    expect(blamed).toEqual([
      [1, 1, HOTFIX, []],
      [2, 4, BASE, []],
      [5, 6, FEATURE, [3]],
    ]);
    expect(json.data.repository.f0.oid).toBe(MERGE);
    expect(json.data.repository.f0.blame.ranges[1].commit.author).toEqual({ name: 'Alice', email: 'alice@example.com', user: { login: 'alice' } });
    expect(json.data.repository.f0.blame.ranges.map((r: any) => r.age)).toEqual([1, 10, 6]);
  });

  it("nulls the nearest nullable parent of a field that fails, and keeps its siblings' data", async () => {
    const query = `{ repository(owner: "acme", name: "gitops") { a: object(expression: "main") { ... on Commit { blame(path: "gone.yaml") { ${ranges} } } } b: object(expression: "main") { ... on Commit { blame(path: "ns.yaml") { ${ranges} } } } } }`;
    const { json } = await graphql(query);
    expect(json.data.repository.a).toBeNull();
    expect(json.data.repository.b.blame.ranges).toHaveLength(3);
    expect(json.errors).toEqual([{ type: 'NOT_FOUND', path: ['repository', 'a', 'blame'], locations: [{ line: 1, column: query.indexOf('blame(') + 1 }], message: "Could not resolve file for path 'gone.yaml'." }]);
  });

  it("answers an unknown repository with null and GitHub's NOT_FOUND, and an unknown commit with null", async () => {
    const missing = await graphql('{ repository(owner: "acme", name: "nope") { nameWithOwner } }');
    expect(missing.json).toEqual({ data: { repository: null }, errors: [{ type: 'NOT_FOUND', path: ['repository'], locations: [{ line: 1, column: 3 }], message: "Could not resolve to a Repository with the name 'acme/nope'." }] });
    const unknownCommit = await graphql(`{ repository(owner: "acme", name: "gitops") { object(expression: "${'f'.repeat(40)}") { oid } } }`);
    expect(unknownCommit.json).toEqual({ data: { repository: { object: null } } });
  });

  it('wants pagination bounds on a connection, as GitHub does', async () => {
    const { json } = await graphql(`{ repository(owner: "acme", name: "gitops") { object(expression: "${FEATURE}") { ... on Commit { associatedPullRequests { totalCount } } } } }`);
    expect(json.data.repository.object.associatedPullRequests).toBeNull();
    expect(json.errors[0]).toMatchObject({ type: 'MISSING_PAGINATION_BOUNDARIES', path: ['repository', 'object', 'associatedPullRequests'] });
  });

  it('records which repository a query asked about', async () => {
    fake.reset();
    await graphql('{ repository(owner: "acme", name: "gitops") { nameWithOwner } }');
    expect(fake.graphqlRequests(REPO)).toHaveLength(1);
  });
});
