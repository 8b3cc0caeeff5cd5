// The overview in a real browser: Debian's chromium driven by playwright-core signs in through the
// fake GitHub's OAuth pages, reads the table, applies a filter, meets an authorization denial and
// saves a screenshot (test/web/__screenshots__/, git-ignored). Without /usr/bin/chromium the file
// is skipped with a visible message, except under CI, which installs it (.ci/run).
import { existsSync, mkdirSync } from 'node:fs';
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

    // The table: images × cluster/namespace, outdated and mutable highlighted.
    const headers = await page.locator('thead th').allTextContents();
    expect(headers).toEqual(['Image', 'prodshop', 'prodtools', 'stagingshop']);
    const nginx = page.locator('tr', { has: page.locator('td.image', { hasText: 'docker.io/library/nginx' }) });
    expect(await nginx.locator('td').nth(1).textContent()).toBe('1.18-alpine → 1.19-alpine');
    expect(await nginx.locator('.tag.outdated').count()).toBe(1);
    expect(await nginx.locator('.badge.drift').count()).toBe(1);
    expect(await page.locator('.tag.mutable', { hasText: 'latest' }).count()).toBe(1);
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'overview.png'), fullPage: true });

    // A filter: the form submits through the query string.
    await page.selectOption('select[name="cluster"]', 'staging');
    await page.click('form.filters button[type="submit"]');
    await page.waitForURL(/cluster=staging/);
    expect(await page.locator('thead th').allTextContents()).toEqual(['Image', 'stagingshop']);
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
});
