// Who introduced a risk acceptance: the annotation's lines, blame at the pushed commit (batched
// and bounded, against the fake GitHub's GraphQL endpoint, which blames from a declared history),
// and the push's own commits when blame cannot answer.
import { ProbotOctokit } from 'probot';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { annotationLines, attributeAnnotations, introductionFromBlame, introductionFromPush, type PushCommit } from '../../src/github/attribution.js';
import { blameFiles, blameQuery, type BlameRange } from '../../src/github/blame.js';
import type { GitHubClient } from '../../src/github/github-client.js';
import { FakeGitHub } from '../helpers/fake-github.js';
import { sha } from '../helpers/fake-github-app.js';
import { MemorySource } from '../helpers/memory-source.js';

const REPO = 'acme/payments-gitops';
const repo = { owner: 'acme', repo: 'payments-gitops' };
const FILE = 'clusters/prod/payments/checkout.yaml';

/** The checkout Deployment as each commit of the history below leaves it. */
function checkout(options: { accepted?: boolean; image?: string; due?: string } = {}): string {
  const annotation = options.accepted
    ? `      annotations:
        securitytower.io/policy.exclusion.preventprivileged: |-
          The card-reader sidecar needs device access; vendor ticket VEND-1234
          tracks an unprivileged build${options.due ? `, due ${options.due}` : ''}.
`
    : '';
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
  namespace: payments
spec:
  selector:
    matchLabels:
      app: checkout
  template:
    metadata:
      labels:
        app: checkout
${annotation}    spec:
      containers:
        - name: web
          image: ${options.image ?? 'nginx:1.25.3'}
        - name: card-reader
          image: registry.example.com/vendor/card-reader:4.1.0
          securityContext:
            privileged: true
`;
}
/** The annotation's key line in `checkout({ accepted: true })`. */
const KEY_LINE = 15;

const alice = { name: 'Alice Platform', email: 'alice@example.com', login: 'alice-platform' };
const bob = { name: 'Bob Payments', email: 'bob@payments.example.com', login: 'bob-payments' };
const carol = { name: 'Carol Ops', email: 'carol@laptop.local' };

const C1 = sha('attribution-c1');
const C2 = sha('attribution-c2');
const C3 = sha('attribution-c3');
const C4 = sha('attribution-c4');

let fake: FakeGitHub;
let octokit: GitHubClient;

beforeAll(async () => {
  fake = await FakeGitHub.start();
  octokit = new ProbotOctokit({ auth: { token: 'ghs_fake_1' }, baseUrl: fake.url, throttle: { enabled: false }, retry: { enabled: false } }) as unknown as GitHubClient;
  // Alice adds the workload (PR #11); Bob accepts its privileged sidecar (PR #12); Carol bumps an
  // image in the same file, then rewords the reason's second line, both pushed without a PR.
  fake.addCommit(REPO, C1, { [FILE]: checkout() }, { author: alice, committedDate: '2026-10-01T09:00:00Z', pullRequest: 11 });
  fake.addCommit(REPO, C2, { [FILE]: checkout({ accepted: true }) }, { parents: [C1], author: bob, committedDate: '2026-10-08T14:30:00Z', pullRequest: 12, pullRequestAuthor: 'bob-payments', mergedBy: 'dana-lead' });
  fake.addCommit(REPO, C3, { [FILE]: checkout({ accepted: true, image: 'nginx:1.25.4' }) }, { parents: [C2], author: carol, committedDate: '2026-10-15T08:00:00Z' });
  fake.addCommit(REPO, C4, { [FILE]: checkout({ accepted: true, image: 'nginx:1.25.4', due: '2027-03' }) }, { parents: [C3], author: carol, committedDate: '2026-10-20T17:45:00Z' });
});

afterAll(() => fake.close());

beforeEach(() => fake.reset());

describe('annotationLines', () => {
  it('is the key line alone for a one-line value', () => {
    const text = 'metadata:\n  annotations:\n    securitytower.io/policy.exclusion.preventprivileged: Reads host devices.\n    owner: team-payments\n';
    expect(annotationLines(text, 3)).toEqual({ line: 3, endLine: 3 });
  });

  it('takes in the lines of a block scalar, and not the next key or the blank lines after it', () => {
    expect(annotationLines(checkout({ accepted: true }), KEY_LINE)).toEqual({ line: KEY_LINE, endLine: KEY_LINE + 2 });
    const text = 'annotations:\n  a: >-\n    first\n\n    second\n\n  b: c\n';
    expect(annotationLines(text, 2)).toEqual({ line: 2, endLine: 5 });
  });

  it('takes in a plain scalar continued on deeper lines, up to the end of the file', () => {
    const text = 'annotations:\n  a: the reason\n    goes on here\n    and here';
    expect(annotationLines(text, 2)).toEqual({ line: 2, endLine: 4 });
  });

  it('is the line asked for when the file has no such line', () => {
    expect(annotationLines('a: b\n', 9)).toEqual({ line: 9, endLine: 9 });
  });
});

const range = (startingLine: number, endingLine: number, oid: string, committedDate: string, author: BlameRange['commit']['author'], pr?: number, openedBy?: string, mergedBy?: string): BlameRange => ({
  startingLine,
  endingLine,
  commit: {
    oid,
    committedDate,
    author,
    associatedPullRequests: { nodes: pr === undefined ? [] : [{ number: pr, author: openedBy ? { login: openedBy } : null, mergedBy: mergedBy ? { login: mergedBy } : null }] },
  },
});
/** Nobody GitHub vouches for: no pusher, no pull request's author or merger. */
const unvouched = { pushedBy: null, openedBy: null, mergedBy: null };

describe('introductionFromBlame', () => {
  const ranges = [
    range(1, 13, C1, '2026-10-01T09:00:00Z', { name: 'Alice Platform', email: 'alice@example.com', user: { login: 'alice-platform' } }, 11),
    range(14, 16, C2, '2026-10-08T14:30:00Z', { name: 'Bob Payments', email: 'bob@payments.example.com', user: { login: 'bob-payments' } }, 12, 'bob-payments', 'dana-lead'),
    range(17, 17, C4, '2026-10-20T17:45:00Z', { name: 'Carol Ops', email: 'carol@laptop.local', user: null }),
    range(18, 25, C1, '2026-10-01T09:00:00Z', { name: 'Alice Platform', email: 'alice@example.com', user: { login: 'alice-platform' } }, 11),
  ];

  it("names the commit of the range covering the key line, its author's login, and its pull request with who opened and merged it", () => {
    expect(introductionFromBlame(ranges, { line: 15, endLine: 16 })).toEqual({ sha: C2, commitAuthor: 'bob-payments', at: new Date('2026-10-08T14:30:00Z'), pullRequest: 12, pushedBy: null, openedBy: 'bob-payments', mergedBy: 'dana-lead' });
  });

  it("takes the newest commit among the annotation's lines, and the author's name when GitHub knows no account", () => {
    expect(introductionFromBlame(ranges, { line: 15, endLine: 17 })).toEqual({ sha: C4, commitAuthor: 'Carol Ops', at: new Date('2026-10-20T17:45:00Z'), pullRequest: null, ...unvouched });
  });

  it('finds nothing when no range covers the lines', () => {
    expect(introductionFromBlame(ranges, { line: 30, endLine: 31 })).toBeUndefined();
    expect(introductionFromBlame([], { line: 1, endLine: 1 })).toBeUndefined();
  });

  it('has no author when the commit has none', () => {
    expect(introductionFromBlame([range(1, 3, C3, '2026-10-15T08:00:00Z', null)], { line: 2, endLine: 2 })).toEqual({ sha: C3, commitAuthor: null, at: new Date('2026-10-15T08:00:00Z'), pullRequest: null, ...unvouched });
  });
});

describe('introductionFromPush', () => {
  const commits: PushCommit[] = [
    { id: C2, timestamp: '2026-10-08T14:30:00Z', author: { name: 'Bob Payments', username: 'bob-payments' }, added: [FILE], modified: [] },
    { id: C3, timestamp: '2026-10-15T08:00:00Z', author: { name: 'Carol Ops' }, added: [], modified: [FILE, 'clusters/prod/payments/ingress.yaml'] },
    { id: C4, timestamp: '2026-10-20T17:45:00Z', author: { name: 'Carol Ops' }, added: [], modified: ['README.md'] },
  ];

  it("is the push's last commit that added or modified the file, by username else name", () => {
    expect(introductionFromPush(commits, FILE)).toEqual({ sha: C3, commitAuthor: 'Carol Ops', at: new Date('2026-10-15T08:00:00Z'), pullRequest: null, ...unvouched });
    expect(introductionFromPush(commits.slice(0, 1), FILE)).toEqual({ sha: C2, commitAuthor: 'bob-payments', at: new Date('2026-10-08T14:30:00Z'), pullRequest: null, ...unvouched });
  });

  it('is nothing when the push did not touch the file', () => {
    expect(introductionFromPush(commits, 'clusters/prod/payments/node-agent.yaml')).toBeUndefined();
    expect(introductionFromPush([], FILE)).toBeUndefined();
  });
});

describe('blameFiles against GitHub', () => {
  it('asks for at least one file', () => {
    expect(() => blameQuery(0)).toThrow(/at least one file/);
  });

  it("answers each file's ranges from one query, as GitHub blames the history", async () => {
    const answer = await blameFiles(octokit, repo, C4, [FILE]);
    expect(answer.queries).toBe(1);
    expect(answer.failed).toEqual(new Map());
    const ranges = answer.ranges.get(FILE)!;
    expect(ranges.map((r) => [r.startingLine, r.endingLine, r.commit.oid])).toEqual([
      [1, 13, C1],
      [14, 16, C2],
      [17, 17, C4],
      [18, 20, C1],
      [21, 21, C3],
      [22, 25, C1],
    ]);
    expect(ranges[1]!.commit).toEqual({
      oid: C2,
      committedDate: '2026-10-08T14:30:00Z',
      author: { name: 'Bob Payments', email: 'bob@payments.example.com', user: { login: 'bob-payments' } },
      associatedPullRequests: { nodes: [{ number: 12, author: { login: 'bob-payments' }, mergedBy: { login: 'dana-lead' } }] },
    });
  });

  it('batches files per query and stops at the queries a push may make', async () => {
    const files = Array.from({ length: 25 }, (_, i) => `clusters/prod/ns-${String(i).padStart(2, '0')}/namespace.yaml`);
    const big = sha('attribution-many-files');
    fake.addCommit(REPO, big, Object.fromEntries(files.map((f, i) => [f, `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns-${i}\n`])));

    const all = await blameFiles(octokit, repo, big, files, { filesPerQuery: 10, queriesPerPush: 3 });
    expect(all.queries).toBe(3);
    expect(fake.graphqlRequests(REPO).map((r) => Object.keys((r.body as { variables: object }).variables).filter((k) => k.startsWith('path')).length)).toEqual([10, 10, 5]);
    expect([...all.ranges.keys()]).toEqual(files);
    expect(all.skipped).toEqual([]);

    fake.reset();
    const capped = await blameFiles(octokit, repo, big, files, { filesPerQuery: 10, queriesPerPush: 2 });
    expect(capped.queries).toBe(2);
    expect(fake.graphqlRequests(REPO)).toHaveLength(2);
    expect(capped.ranges.size).toBe(20);
    expect(capped.skipped).toEqual(files.slice(20));
  });

  it("keeps the other files' blame when one file cannot be blamed", async () => {
    const answer = await blameFiles(octokit, repo, C4, ['clusters/prod/payments/gone.yaml', FILE]);
    expect(answer.failed).toEqual(new Map([['clusters/prod/payments/gone.yaml', "Could not resolve file for path 'clusters/prod/payments/gone.yaml'."]]));
    expect(answer.ranges.get(FILE)).toHaveLength(6);
  });

  it('sends no further query once GitHub answers one without data', async () => {
    const files = Array.from({ length: 12 }, (_, i) => `f${i}.yaml`);
    const commit = sha('attribution-timeout');
    fake.addCommit(REPO, commit, Object.fromEntries(files.map((f) => [f, 'a: b\n'])));
    fake.failGraphQL('Something went wrong while executing your query. This may be the result of a timeout, or it could be a GitHub bug.', { times: 1 });
    const answer = await blameFiles(octokit, repo, commit, files, { filesPerQuery: 10, queriesPerPush: 3 });
    expect(answer.queries).toBe(1);
    expect(fake.requests.filter((r) => r.path === '/graphql')).toHaveLength(1);
    expect(answer.ranges.size).toBe(0);
    expect(answer.failed.get('f0.yaml')).toMatch(/^Something went wrong while executing your query/);
    expect(answer.failed.get('f11.yaml')).toMatch(/^not asked: Something went wrong/);
  });

  it('reports an unknown repository as the reason for every file', async () => {
    const answer = await blameFiles(octokit, { owner: 'acme', repo: 'deleted' }, C4, [FILE]);
    expect(answer.failed).toEqual(new Map([[FILE, "Could not resolve to a Repository with the name 'acme/deleted'."]]));
  });
});

describe('attributeAnnotations', () => {
  const source = (commit: string) => new MemorySource({ [FILE]: { [C2]: checkout({ accepted: true }), [C3]: checkout({ accepted: true, image: 'nginx:1.25.4' }), [C4]: checkout({ accepted: true, image: 'nginx:1.25.4', due: '2027-03' }) }[commit]! });

  it('attributes an annotation to the commit that last changed its lines, not to the last commit of its file', async () => {
    const found = await attributeAnnotations(octokit, { repo, sha: C3, locations: [{ file: FILE, line: KEY_LINE, changed: true }], tree: source(C3), push: fake.pushCommits(REPO, C1, C3) });
    expect(found.introductions).toEqual([{ file: FILE, line: KEY_LINE, sha: C2, commitAuthor: 'bob-payments', at: new Date('2026-10-08T14:30:00Z'), pullRequest: 12, pushedBy: null, openedBy: 'bob-payments', mergedBy: 'dana-lead' }]);
    expect(found.counts).toEqual({ blame: 1, push: 0, unknown: 0 });
    expect(found.queries).toBe(1);
  });

  it("names the push's sender as the pusher of a commit the push brought, and nobody for an older commit", async () => {
    // Erin pushes C3 and C4 on top of C2: the reworded reason (C4) is hers to have pushed, whoever C4 names as its author.
    const push = fake.pushCommits(REPO, C2, C4);
    const found = await attributeAnnotations(octokit, { repo, sha: C4, locations: [{ file: FILE, line: KEY_LINE, changed: true }], tree: source(C4), push, pushedBy: 'erin-sre' });
    expect(found.introductions).toEqual([{ file: FILE, line: KEY_LINE, sha: C4, commitAuthor: 'Carol Ops', at: new Date('2026-10-20T17:45:00Z'), pullRequest: null, pushedBy: 'erin-sre', openedBy: null, mergedBy: null }]);
    // Bob's acceptance (C2) came with an earlier push, which this one does not tell about.
    const older = await attributeAnnotations(octokit, { repo, sha: C3, locations: [{ file: FILE, line: KEY_LINE, changed: true }], tree: source(C3), push: fake.pushCommits(REPO, C2, C3), pushedBy: 'erin-sre' });
    expect(older.introductions).toMatchObject([{ sha: C2, pushedBy: null, openedBy: 'bob-payments', mergedBy: 'dana-lead' }]);
  });

  it('attributes a reason reworded on its second line to the rewording', async () => {
    const found = await attributeAnnotations(octokit, { repo, sha: C4, locations: [{ file: FILE, line: KEY_LINE, changed: true }], tree: source(C4) });
    expect(found.introductions).toEqual([{ file: FILE, line: KEY_LINE, sha: C4, commitAuthor: 'Carol Ops', at: new Date('2026-10-20T17:45:00Z'), pullRequest: null, ...unvouched }]);
  });

  it("falls back to the push's commits when GitHub fails, and leaves unknown what the push did not touch", async () => {
    fake.failGraphQL('Something went wrong while executing your query. This may be the result of a timeout, or it could be a GitHub bug.');
    const other = 'clusters/prod/payments/node-agent.yaml';
    const tree = new MemorySource({ [FILE]: checkout({ accepted: true, image: 'nginx:1.25.4' }), [other]: 'metadata:\n  annotations:\n    securitytower.io/policy.exclusion.preventprivileged: Reads host devices.\n' });
    const found = await attributeAnnotations(octokit, { repo, sha: C3, locations: [{ file: FILE, line: KEY_LINE, changed: true }, { file: other, line: 3, changed: true }], tree, push: fake.pushCommits(REPO, C1, C3) });
    // The push's last commit touching the file is Carol's image bump: less precise than blame.
    expect(found.introductions).toEqual([{ file: FILE, line: KEY_LINE, sha: C3, commitAuthor: 'Carol Ops', at: new Date('2026-10-15T08:00:00Z'), pullRequest: null, ...unvouched }]);
    expect(found.counts).toEqual({ blame: 0, push: 1, unknown: 1 });
    expect([...found.problems.keys()]).toEqual([FILE, other]);
  });

  it('credits no commit of the push with an annotation the register already had, when blame fails', async () => {
    fake.failGraphQL('Something went wrong while executing your query. This may be the result of a timeout, or it could be a GitHub bug.');
    // The register has the acceptance as it reads at C3, its introducer unknown: Carol's image bump touched the file, not the annotation.
    const found = await attributeAnnotations(octokit, { repo, sha: C3, locations: [{ file: FILE, line: KEY_LINE, changed: false }], tree: source(C3), push: fake.pushCommits(REPO, C2, C3) });
    expect(found.introductions).toEqual([]);
    expect(found.counts).toEqual({ blame: 0, push: 0, unknown: 1 });
  });

  it('leaves the files over the limit to the push, and unknown without one (an installation)', async () => {
    const files = ['a.yaml', 'b.yaml', 'c.yaml'];
    const commit = sha('attribution-over-limit');
    fake.addCommit(REPO, commit, Object.fromEntries(files.map((f) => [f, 'metadata:\n  annotations:\n    securitytower.io/policy.exclusion.preventprivileged: Reads host devices.\n'])), { author: alice, committedDate: '2026-11-02T10:00:00Z' });
    const tree = new MemorySource(Object.fromEntries(files.map((f) => [f, 'x\n'])));
    const locations = files.map((file) => ({ file, line: 3, changed: true }));
    const limits = { filesPerQuery: 1, queriesPerPush: 2 };
    const pushed: PushCommit[] = [{ id: commit, timestamp: '2026-11-02T10:00:00Z', author: { name: 'Alice Platform', username: 'alice-platform' }, added: files, modified: [] }];

    const withPush = await attributeAnnotations(octokit, { repo, sha: commit, locations, tree, push: pushed, limits });
    expect(withPush.counts).toEqual({ blame: 2, push: 1, unknown: 0 });
    expect(withPush.queries).toBe(2);
    expect(withPush.problems).toEqual(new Map([['c.yaml', 'over the limit of 2 files blamed per push']]));
    expect(withPush.introductions.map((i) => [i.file, i.sha, i.commitAuthor])).toEqual([
      ['a.yaml', commit, 'alice-platform'],
      ['b.yaml', commit, 'alice-platform'],
      ['c.yaml', commit, 'alice-platform'],
    ]);

    const installation = await attributeAnnotations(octokit, { repo, sha: commit, locations, tree, limits });
    expect(installation.counts).toEqual({ blame: 2, push: 0, unknown: 1 });
    expect(installation.introductions.map((i) => i.file)).toEqual(['a.yaml', 'b.yaml']);
  });
});
