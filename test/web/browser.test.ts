// The overview in a real browser: Debian's chromium driven by playwright-core signs in through the
// fake GitHub's OAuth pages, reads the table, applies a filter, meets an authorization denial and
// saves a screenshot (test/web/__screenshots__/, git-ignored); it also follows sign-in links whose
// `next` a browser would read as another host, and stays on the site. Without /usr/bin/chromium the file
// is skipped with a visible message, except under CI, which installs it (.ci/run).
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

const CHROMIUM = process.env.PARAPET_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), '__screenshots__');

const missing = existsSync(CHROMIUM) ? null : `${CHROMIUM} not found (apt-get install chromium)`;
if (missing && process.env.CI) throw new Error(`the browser test needs chromium under CI: ${missing}`);
if (missing) console.warn(`\n[browser test] SKIPPING: ${missing}\n`);

(missing ? describe.skip : describe)('the overview in chromium', () => {
  let h: Harness;
  let browser: Browser;

  beforeAll(async () => {
    h = await startHarness();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 60_000 });
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('signs in with GitHub, shows the table, filters it, hides what the user cannot read', async () => {
    h.github.signInAs('alice');
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });

    // Unauthenticated: to sign-in, through GitHub's authorize page, back to the overview.
    await page.goto(`${h.web.url}/`);
    expect(new URL(page.url()).pathname).toBe('/');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Images');
    expect(await page.locator('header .signout span').textContent()).toBe('alice');

    // The matrix: images × clusters, each cell's versions with outdated and mutable highlighted.
    const headers = await page.locator('table.matrix thead th').allTextContents();
    expect(headers).toEqual(['Image', 'prod5', 'staging2']);
    expect(await page.locator('.summary strong').textContent()).toBe('7 containers');
    const nginx = page.locator('tr', { has: page.locator('td.image', { hasText: 'docker.io/library/nginx' }) });
    expect(await nginx.locator('td').nth(1).textContent()).toBe('1.18-alpine');
    expect(await nginx.locator('td').nth(2).textContent()).toBe('1.19-alpine');
    expect(await nginx.locator('.tag.outdated').count()).toBe(1);
    expect(await nginx.locator('.badge.drift').textContent()).toBe('2 versions');
    expect(await page.locator('.tag.mutable', { hasText: 'latest' }).count()).toBe(1);
    // The first column stays in view when the matrix scrolls sideways.
    expect(await page.locator('table.matrix td.image').first().evaluate((td) => getComputedStyle(td).position)).toBe('sticky');
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'overview.png'), fullPage: true });

    // A version in a cell links to exactly its containers, each with its manifest.
    await nginx.locator('a.tag.outdated').click();
    await page.waitForURL(/\/containers\?/);
    expect(await page.locator('h1').textContent()).toBe('Containers');
    expect(await page.locator('.pager .showing').first().textContent()).toBe('Showing 1–1 of 1 containers.');
    expect(await page.locator('tbody tr td').allTextContents()).toEqual(['prod', 'shop', 'Deployment/web', 'web', 'nginx:1.18-alpine', '1.18-alpine', 'outdated 1.19-alpine runs elsewheremutable tag without digest', 'apps/web/prod/web.yaml:24']);
    await page.screenshot({ path: join(SCREENSHOTS, 'containers.png'), fullPage: true });

    // A filter: the form submits through the query string; a chosen cluster shows its namespaces.
    await page.goto(`${h.web.url}/`);
    await page.selectOption('select[name="cluster"]', 'staging');
    await page.click('form.filters button[type="submit"]');
    await page.waitForURL(/cluster=staging/);
    expect(await page.locator('table.matrix thead th').allTextContents()).toEqual(['Image', 'shop2']);
    await page.screenshot({ path: join(SCREENSHOTS, 'overview-staging.png'), fullPage: true });

    // A cluster of a repository alice cannot read: 404, nothing about it shown.
    const denied = await page.goto(`${h.web.url}/clusters/vault-prod`);
    expect(denied?.status()).toBe(404);
    expect(await page.locator('h1').textContent()).toBe('Not found');
    expect(await page.content()).not.toContain('secret-ops');

    // The risk register, then sign out through the CSRF-protected form.
    await page.goto(`${h.web.url}/risks`);
    expect(await page.locator('tbody tr').count()).toBe(2);
    await page.click('header .signout button');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Sign in');
    const after = await page.goto(`${h.web.url}/api/me`);
    expect(after?.status()).toBe(401);
    await page.close();
  });

  describe('after sign-in with a `next` a browser reads as another host', () => {
    // The "other host" is a server on loopback: where the browser would land without the check.
    let evil: Server;
    let evilHost: string;
    const evilRequests: string[] = [];
    beforeAll(async () => {
      evil = createServer((req, res) => {
        evilRequests.push(req.url ?? '');
        res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Evil</h1>');
      });
      await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
      evilHost = `127.0.0.1:${(evil.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      evil?.closeAllConnections();
      await new Promise((resolve) => evil?.close(resolve));
    });

    it.each([
      ['a tab', (host: string) => `/%09/${host}/`],
      ['a newline', (host: string) => `/%0A/${host}/`],
      ['a backslash', (host: string) => `/%5C${host}/`],
      ['encoded slashes', (host: string) => `%2F%2F${host}%2F`],
      ['a dot segment', (host: string) => `/..//${host}/`],
    ])('with %s, ends on the overview', async (_quirk, next) => {
      h.github.signInAs('alice');
      evilRequests.length = 0;
      const context = await browser.newContext();
      const page = await context.newPage();
      try {
        await page.goto(`${h.web.url}/auth/login?next=${next(evilHost)}`);
        await page.waitForLoadState('load');
        expect(new URL(page.url()).origin).toBe(h.web.url);
        expect(await page.locator('h1').textContent()).toBe('Images');
        expect(evilRequests).toEqual([]);
      } finally {
        await context.close();
      }
    });
  });
});
