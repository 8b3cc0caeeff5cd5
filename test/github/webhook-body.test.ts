// What the App's server reads of a webhook request before it knows the request is GitHub's: at
// most 25 MiB (GitHub's own cap), its signature computed while it arrives. A larger body is
// answered 413 at once from its Content-Length, or cut where it crosses the cap; a request with a
// malformed signature is answered before its body is read; a forged one changes nothing.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readConfig } from '../../src/config.js';
import { startAppServer, type AppServer } from '../../src/github/server.js';
import { MAX_WEBHOOK_BYTES } from '../../src/github/webhook-guard.js';
import { engine, testCacheDir } from '../helpers/engine.js';
import { appEnvironment, fixtureFiles, pullRequestPayload, sha, WEBHOOK_SECRET } from '../helpers/fake-github-app.js';
import { FakeGitHub } from '../helpers/fake-github.js';
import { slowPost } from '../helpers/slow-post.js';

const MiB = 1024 * 1024;
const REPO = 'example-org/shop-prod';

let fake: FakeGitHub;
let app: AppServer;
let webhooks: string;

beforeAll(async () => {
  fake = await FakeGitHub.start();
  const config = readConfig(appEnvironment(fake, { PARAPET_CACHE_DIR: testCacheDir }));
  const { driver, renderer } = engine();
  app = await startAppServer(
    { ...config, credentials: config.credentials!, server: { ...config.server, port: 0 } },
    { engine: { driver, renderer, close: async () => {} }, octokitOverrides: { throttle: { enabled: false } } },
  );
  webhooks = `${app.url}/api/github/webhooks`;
});
afterAll(async () => {
  await app?.close();
  await fake?.close();
});
beforeEach(() => fake.reset());

function headers(signature: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'content-type': 'application/json', 'x-github-event': 'ping', 'x-github-delivery': crypto.randomUUID(), 'x-hub-signature-256': signature, ...extra };
}

const sign = (body: Buffer | string) => `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`;

/** A ping delivery of exactly `size` bytes (its `zen` padded with spaces). */
function pingOf(size: number): Buffer {
  const start = Buffer.from('{"hook_id":1,"zen":"');
  const end = Buffer.from('"}');
  return Buffer.concat([start, Buffer.alloc(size - start.length - end.length, 0x20), end]);
}

describe('webhook bodies', () => {
  it('answers 413 to a Content-Length over 25 MiB at once, before any of the body is sent', async () => {
    const size = 26 * MiB;
    const result = await slowPost(webhooks, { headers: headers(`sha256=${'0'.repeat(64)}`, { 'content-length': String(size) }), body: Buffer.alloc(0), totalBytes: 0, waitMs: 3000 });

    expect(result.status).toBe(413);
    expect(JSON.parse(result.body!)).toEqual({ error: `the body is larger than ${MAX_WEBHOOK_BYTES} bytes, more than GitHub sends` });
    expect(result.bytesSent).toBe(0);
  });

  it('cuts a chunked body (no Content-Length) where it crosses 25 MiB, even a signed one', async () => {
    const total = 64 * MiB;
    const signature = createHmac('sha256', WEBHOOK_SECRET);
    for (let offset = 0; offset < total; offset += MiB) signature.update(Buffer.alloc(MiB, 0x20));
    const result = await slowPost(webhooks, { headers: headers(`sha256=${signature.digest('hex')}`), body: (_offset, size) => Buffer.alloc(size, 0x20), totalBytes: total });

    // The server stopped reading at the cap: the client could not send the rest (what the
    // sockets' buffers hold in between is all that passed the cap).
    expect(String(result.status ?? result.error)).toMatch(/^(413|ECONNRESET|EPIPE)$/);
    expect(result.bytesSent).toBeGreaterThan(MAX_WEBHOOK_BYTES - 2 * MiB);
    expect(result.bytesSent).toBeLessThan(total);
    expect(fake.requests).toEqual([]);
  });

  it('answers a malformed signature with 400 before reading the body', async () => {
    const result = await slowPost(webhooks, { headers: headers('sha1=0123456789abcdef', { 'content-length': String(MiB) }), body: Buffer.alloc(0), totalBytes: 0, waitMs: 3000 });

    expect(result.status).toBe(400);
    expect(result.body).toContain('signature does not match');
  });

  it('refuses a wrong signature with 400 without parsing the body, and changes nothing', async () => {
    const base = sha('guard-base');
    const head = sha('guard-head');
    fake.addCommit(REPO, base, fixtureFiles('shop-cluster'));
    fake.addCommit(REPO, head, fixtureFiles('shop-cluster'));
    const payload = JSON.stringify(pullRequestPayload(fake, REPO, 'opened', base, head));
    const forged = await fetch(webhooks, { method: 'POST', headers: headers(sign(`${payload} `), { 'x-github-event': 'pull_request' }), body: payload });
    const notJson = await fetch(webhooks, { method: 'POST', headers: headers(sign('{"other": true}')), body: '{ not json' });
    await app.jobs.idle();

    expect(forged.status).toBe(400);
    expect(await forged.json()).toEqual({ error: 'Error: [@octokit/webhooks] signature does not match event payload and secret' });
    expect(notJson.status).toBe(400);
    expect(await notJson.text()).not.toContain('JSON');
    expect(fake.requests).toEqual([]);
  });

  it('accepts a signed delivery of almost 25 MiB, at the webhook path and at /', async () => {
    const body = pingOf(MAX_WEBHOOK_BYTES - 1024);
    for (const url of [webhooks, `${app.url}/`]) {
      const response = await fetch(url, { method: 'POST', headers: headers(sign(body)), body: new Uint8Array(body) });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('ok\n');
    }
  });

  it('guards every spelling of the webhook path that Probot accepts', async () => {
    for (const path of ['/api/github/webhooks/', '/api/github/./webhooks', '/api/github/x/../webhooks?x=1', '/']) {
      const result = await slowPost(`${app.url}${path}`, { headers: headers(`sha256=${'0'.repeat(64)}`, { 'content-length': String(26 * MiB) }), body: Buffer.alloc(0), totalBytes: 0, waitMs: 3000 });
      expect(result.status, path).toBe(413);
    }
  });
});
