// The fake GitHub refuses what GitHub refuses, by GitHub's published OpenAPI description and by
// the endpoints' own rules, in GitHub's words; and takes what GitHub takes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGitHub } from '../helpers/fake-github.js';
import { findOperation } from '../helpers/fake-github-openapi.js';

const REPO = 'acme/gitops';
const BASE = 'a'.repeat(40);
const HEAD = 'b'.repeat(40);

let fake: FakeGitHub;
let runId: number;

beforeAll(async () => {
  fake = await FakeGitHub.start();
  const lines = Array.from({ length: 10 }, (_, i) => `k${i + 1}: v`);
  fake.addCommit(REPO, BASE, { 'app.yaml': `${lines.join('\n')}\n` });
  fake.addCommit(REPO, HEAD, { 'app.yaml': `${[...lines, 'k11: v'].join('\n')}\n` });
  fake.setBranch(REPO, 'main', BASE);
  fake.addPullRequest(REPO, { number: 7, base: { sha: BASE }, head: { sha: HEAD } });
  const created = await call('POST', `/repos/${REPO}/check-runs`, { name: 'parapet', head_sha: HEAD, status: 'in_progress' });
  expect(created.status).toBe(201);
  runId = (created.json as { id: number }).id;
});

afterAll(() => fake.close());

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${fake.url}${path}`, {
    method,
    headers: { authorization: 'token ghs_fake_1', 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

const annotation = (line: number) => ({ path: 'app.yaml', start_line: line, end_line: line, annotation_level: 'failure', message: `line ${line}` });
const updateRun = (body: unknown) => call('PATCH', `/repos/${REPO}/check-runs/${runId}`, body);
const review = (body: unknown) => call('POST', `/repos/${REPO}/pulls/7/reviews`, body);

describe('the fake GitHub, by the OpenAPI description', () => {
  it('refuses a check run update with an annotation missing annotation_level, as GitHub words it', async () => {
    const { annotation_level: _, ...incomplete } = annotation(1);
    const { status, json } = await updateRun({ output: { title: 't', summary: 's', annotations: [incomplete] } });
    expect(status).toBe(422);
    expect(json.message).toBe(`Invalid request.\n\n"annotation_level" wasn't supplied at 'properties/output/annotations/0'.`);
    expect(json.documentation_url).toBe('https://docs.github.com/rest/checks/runs#update-a-check-run');
  });

  it('refuses an unknown conclusion', async () => {
    const { status, json } = await updateRun({ status: 'completed', conclusion: 'passed' });
    expect(status).toBe(422);
    expect(json.message).toMatch(/^Invalid request\.\n\nFor 'properties\/conclusion', "passed" is not a member of \[.*"success".*\]\.$/);
  });

  it('refuses a review with an invalid event', async () => {
    const { status, json } = await review({ commit_id: HEAD, event: 'COMMENTED', body: 'hello' });
    expect(status).toBe(422);
    expect(json.message).toBe(`Invalid request.\n\nFor 'properties/event', "COMMENTED" is not a member of ["APPROVE","REQUEST_CHANGES","COMMENT"].`);
  });

  it('refuses a body field of the wrong type', async () => {
    const line = await review({ commit_id: HEAD, event: 'COMMENT', comments: [{ path: 'app.yaml', line: '2', side: 'RIGHT', body: 'x' }] });
    expect(line.status).toBe(422);
    expect(line.json.message).toBe(`Invalid request.\n\nFor 'properties/comments/0/line', "2" is not an integer.`);
    const name = await updateRun({ name: 42 });
    expect(name.status).toBe(422);
    expect(name.json.message).toBe(`Invalid request.\n\nFor 'properties/name', 42 is not a string.`);
  });

  it('refuses more than 50 annotations in one request (maxItems), and missing required fields', async () => {
    const many = await updateRun({ output: { title: 't', summary: 's', annotations: Array.from({ length: 51 }, (_, i) => annotation(i + 1)) } });
    expect(many.status).toBe(422);
    expect(many.json.message).toBe(`Invalid request.\n\nFor 'properties/output/annotations', an array of 51 items must NOT have more than 50 items.`);
    const create = await call('POST', `/repos/${REPO}/check-runs`, { name: 'parapet' });
    expect(create.status).toBe(422);
    expect(create.json.message).toBe(`Invalid request.\n\n"head_sha" wasn't supplied.`);
    const noBody = await call('POST', `/repos/${REPO}/check-runs`);
    expect(noBody.status).toBe(422);
  });

  it('answers 404 for an endpoint GitHub does not have and for a path parameter of the wrong type', async () => {
    expect((await call('GET', `/repos/${REPO}/check-suites-and-runs`)).status).toBe(404);
    expect((await call('DELETE', `/repos/${REPO}/check-runs/${runId}`)).status).toBe(404);
    expect((await call('GET', `/repos/${REPO}/pulls/seven`)).status).toBe(404);
  });

  it('refuses a query parameter of the wrong type', async () => {
    const { status, json } = await call('GET', `/repos/${REPO}/pulls/7/files?per_page=many`);
    expect(status).toBe(422);
    expect(json.message).toBe(`Invalid request.\n\nFor 'query/per_page', "many" is not an integer.`);
  });

  it('still refuses, by the endpoint’s own rule, a review comment on a line outside the diff', async () => {
    const { status, json } = await review({ commit_id: HEAD, event: 'COMMENT', comments: [{ path: 'app.yaml', line: 1, side: 'RIGHT', body: 'unchanged line' }] });
    expect(status).toBe(422);
    expect(JSON.stringify(json)).toContain('must be part of the diff');
  });

  it('takes what GitHub takes: a full check run update, 50 annotations, a review with a comment in the diff', async () => {
    const started = await updateRun({ status: 'in_progress', started_at: '2024-01-01T00:00:00Z', output: { title: 't', summary: 's', text: 'x', annotations: Array.from({ length: 50 }, (_, i) => annotation(i + 1)) } });
    expect(started.status).toBe(200);
    const done = await updateRun({ conclusion: 'failure', completed_at: '2024-01-01T00:01:00Z', output: { title: 't', summary: 's' } });
    expect(done.status).toBe(200);
    expect(fake.checkRuns.find((r) => r.id === runId)).toMatchObject({ status: 'completed', conclusion: 'failure' });
    const posted = await review({ commit_id: HEAD, event: 'COMMENT', body: '', comments: [{ path: 'app.yaml', line: 11, side: 'RIGHT', body: 'new line' }] });
    expect(posted.status).toBe(200);
    const list = await call('GET', `/repos/${REPO}/commits/${HEAD}/check-runs?check_name=parapet&filter=latest&per_page=100&app_id=12345`);
    expect(list.status).toBe(200);
  });

  it('finds every endpoint the fake serves in the description', () => {
    const served: Array<[string, string, string]> = [
      ['POST', '/app/installations/4242/access_tokens', 'apps/create-installation-access-token'],
      ['GET', `/repos/${REPO}`, 'repos/get'],
      ['GET', `/repos/${REPO}/commits/main`, 'repos/get-commit'],
      ['GET', `/repos/${REPO}/tarball/${HEAD}`, 'repos/download-tarball-archive'],
      ['GET', `/repos/${REPO}/compare/${BASE}...${HEAD}`, 'repos/compare-commits'],
      ['GET', `/repos/${REPO}/commits/${HEAD}/pulls`, 'repos/list-pull-requests-associated-with-commit'],
      ['GET', `/repos/${REPO}/commits/${HEAD}/check-runs`, 'checks/list-for-ref'],
      ['GET', `/repos/${REPO}/pulls/7`, 'pulls/get'],
      ['GET', `/repos/${REPO}/pulls/7/files`, 'pulls/list-files'],
      ['GET', `/repos/${REPO}/pulls/7/comments`, 'pulls/list-review-comments'],
      ['POST', `/repos/${REPO}/pulls/7/reviews`, 'pulls/create-review'],
      ['POST', `/repos/${REPO}/pulls/7/comments/3/replies`, 'pulls/create-reply-for-review-comment'],
      ['POST', `/repos/${REPO}/check-runs`, 'checks/create'],
      ['PATCH', `/repos/${REPO}/check-runs/3`, 'checks/update'],
    ];
    for (const [method, path, operationId] of served) expect(findOperation(method, path)?.operationId, `${method} ${path}`).toBe(operationId);
  });
});
