// The setup page in a real browser (Debian's chromium, driven by playwright-core): a person types the
// public URL, reviews the webhook URL and what the App asks for, registers it on GitHub (the fake's
// manifest flow) and lands on the restart step; an App registered before gets its webhook URL and a
// credentials form. Requests to the public URL (https://parapet.example.com) are served by the
// setup server, as they would be behind its ingress. Skipped with a message without /usr/bin/chromium,
// except under CI (.ci/run installs it).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readAppDefinition } from '../../src/web/setup/manifest.js';
import { startSetupServer, type SetupServer } from '../../src/web/setup/setup-server.js';
import { repoRoot } from '../helpers/engine.js';
import { startFakeGitHubManifest, type FakeGitHubManifest } from '../helpers/fake-github-manifest.js';

const CHROMIUM = process.env.PARAPET_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), '__screenshots__');
const PUBLIC_URL = 'https://parapet.example.com';

const missing = existsSync(CHROMIUM) ? null : `${CHROMIUM} not found (apt-get install chromium)`;
if (missing && process.env.CI) throw new Error(`the setup page's browser test needs chromium under CI: ${missing}`);
if (missing) console.warn(`\n[setup browser test] SKIPPING: ${missing}\n`);

(missing ? describe.skip : describe)('the setup page in chromium', () => {
  let browser: Browser;
  let github: FakeGitHubManifest;
  let server: SetupServer;
  let dir: string;
  let envFile: string;
  let page: Page;
  const dialogs: string[] = [];

  beforeAll(async () => {
    github = await startFakeGitHubManifest();
    dir = mkdtempSync(join(tmpdir(), 'parapet-setup-browser-'));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 60_000 });
  });
  afterAll(async () => {
    await browser?.close();
    await github?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    envFile = join(dir, `${Math.random().toString(36).slice(2)}.env`);
    server = await startSetupServer({ app: readAppDefinition(readFileSync(join(repoRoot, 'app.yml'), 'utf8')), host: '127.0.0.1', port: 0, webhookPath: '/api/github/webhooks', githubUrl: github.url, githubApiUrl: github.url, envFile, onError: () => {} });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    // The public URL is this server behind its ingress.
    await page.route(`${PUBLIC_URL}/**`, async (route) => {
      const url = new URL(route.request().url());
      await route.fulfill({ response: await route.fetch({ url: `${server.url}${url.pathname}${url.search}` }) });
    });
  });
  afterEach(async () => {
    await page?.close();
    await server?.close();
  });

  it('registers the App: public URL, the webhook URL and permissions reviewed, GitHub, then the restart step', async () => {
    await page.goto(`${server.url}/`);
    expect(await page.locator('h1').textContent()).toBe('Register Parapet on GitHub');
    expect(await page.locator('table.permissions tbody tr').count()).toBe(4);
    expect(await page.locator('table.events tbody tr').count()).toBe(6);
    await page.locator('details.smee summary').click();
    await expect.poll(() => page.locator('details.smee pre').isVisible()).toBe(true);
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'setup-start.png'), fullPage: true });

    await page.fill('#public_url', `${PUBLIC_URL}/`);
    await page.click('form.public-url button[type="submit"]');
    await expect.poll(() => page.locator('#webhook-url').textContent()).toBe(`${PUBLIC_URL}/api/github/webhooks`);
    await page.screenshot({ path: join(SCREENSHOTS, 'setup-review.png'), fullPage: true });

    await page.click('form.register button[type="submit"]');
    await page.waitForURL(`${PUBLIC_URL}/setup/done?**`);
    expect(await page.locator('h1').textContent()).toBe('Parapet is registered');
    expect(await page.locator('section.restart h2').first().textContent()).toBe('Next: restart Parapet');
    expect(await page.locator('a.install').getAttribute('href')).toBe(`${github.created[0]!.html_url}/installations/new`);
    await page.screenshot({ path: join(SCREENSHOTS, 'setup-done.png'), fullPage: true });

    expect(github.registrations.at(-1)!.manifest.hook_attributes).toEqual({ url: `${PUBLIC_URL}/api/github/webhooks`, active: true });
    expect(parseEnv(readFileSync(envFile, 'utf8'))).toMatchObject({ APP_ID: String(github.created[0]!.id), WEBHOOK_SECRET: github.created[0]!.webhook_secret });
  });

  it('uses an existing App: its webhook URL shown, its credentials saved from the form', async () => {
    await page.goto(`${server.url}/`);
    await page.click('a[href="/setup/existing"]');
    await page.fill('#public_url', PUBLIC_URL);
    await page.click('form.public-url button[type="submit"]');
    await expect.poll(() => page.locator('#webhook-url').textContent()).toBe(`${PUBLIC_URL}/api/github/webhooks`);
    await page.fill('#app_id', '31337');
    await page.fill('#webhook_secret', 'hook-secret');
    await page.fill('#private_key', '-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY-----\n');
    await page.click('form.credentials button[type="submit"]');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Parapet is registered');
    expect(parseEnv(readFileSync(envFile, 'utf8'))).toEqual({ APP_ID: '31337', WEBHOOK_SECRET: 'hook-secret', PRIVATE_KEY: '-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY-----' });
  });

  it('shows input it cannot use as text, never as markup', async () => {
    dialogs.length = 0;
    await page.goto(`${server.url}/?public_url=${encodeURIComponent('"><script>alert(1)</script>')}&org=${encodeURIComponent('"><img src=x onerror=alert(2)>')}`);
    expect(await page.locator('.problem').textContent()).toContain('is not a URL');
    expect(await page.inputValue('#public_url')).toBe('"><script>alert(1)</script>');
    expect(await page.locator('script, img').count()).toBe(0);
    expect(dialogs).toEqual([]);
  });
});
