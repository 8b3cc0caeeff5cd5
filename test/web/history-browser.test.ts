// The history in a real browser: Debian's chromium driven by playwright-core signs in through the
// fake GitHub, narrows the history to one kind and one change type through the filter form, opens a
// field-level diff and follows an entry to its object's whole history. Without /usr/bin/chromium
// the file is skipped with a visible message, except under CI, which installs it (.ci/run).
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migratedDataDir } from '../helpers/database-template.js';
import { HISTORY_USERS, seedHistory } from './history-seed.js';
import { startHarness, type Harness } from './harness.js';

const CHROMIUM = process.env.PARAPET_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), '__screenshots__');

const missing = existsSync(CHROMIUM) ? null : `${CHROMIUM} not found (apt-get install chromium)`;
if (missing && process.env.CI) throw new Error(`the browser test needs chromium under CI: ${missing}`);
if (missing) console.warn(`\n[history browser test] SKIPPING: ${missing}\n`);

(missing ? describe.skip : describe)('the history in chromium', () => {
  let db: Database;
  let h: Harness;
  let browser: Browser;

  beforeAll(async () => {
    db = await openDatabase({ dataDir: await migratedDataDir() });
    await seedHistory(db);
    h = await startHarness({ db, users: HISTORY_USERS, seed: async () => {} });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 60_000 });
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
    await db?.close();
  });

  it('filters the history by kind and change type, shows a diff, and opens the object', async () => {
    h.github.signInAs('bob');
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    mkdirSync(SCREENSHOTS, { recursive: true });

    await page.goto(`${h.web.url}/changes`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('History');
    expect(await page.locator('header nav a[aria-current="page"]').textContent()).toBe('History');
    expect(await page.locator('main > div.table-wrap > table > tbody > tr').count()).toBe(7);

    await page.selectOption('form.filters select[name="kind"]', 'Deployment');
    await page.selectOption('form.filters select[name="change"]', 'modified');
    await page.click('form.filters button[type="submit"]');
    await page.waitForURL(/kind=Deployment/);
    const rows = page.locator('main > div.table-wrap > table > tbody > tr');
    expect(await rows.count()).toBe(4);
    expect(await rows.locator('td:nth-child(5) > a').allTextContents()).toEqual(['Deployment/payments/api', 'Deployment/vault/vault', 'Deployment/payments/api', 'Deployment/shop/web']);
    expect(await page.locator('form.filters select[name="change"]').inputValue()).toBe('modified');

    // The image bump of pull request #12: its diff, open, before and after.
    const bump = rows.filter({ hasText: '#12' }).filter({ hasText: 'Deployment/payments/api' });
    expect(await bump.locator('details.diff summary').textContent()).toBe('2 fields changed');
    expect(await bump.locator('details.diff tbody tr').nth(1).locator('td').allTextContents()).toEqual(['spec.template.spec.containers[main].image', 'nginx:1.18', 'nginx:1.19']);
    await page.screenshot({ path: join(SCREENSHOTS, 'history.png'), fullPage: true });

    await bump.locator('td:nth-child(5) > a').click();
    await page.waitForURL(/\/changes\/object\?/);
    expect(await page.locator('h1').textContent()).toBe('Deployment/payments/api');
    expect(await page.locator('main > div.table-wrap').first().locator('tbody tr td').first().textContent()).toBe('nginx:1.19');
    expect(await page.locator('main > div.table-wrap').last().locator(':scope > table > tbody > tr').count()).toBe(2);
    await page.screenshot({ path: join(SCREENSHOTS, 'history-object.png'), fullPage: true });
  });
});
