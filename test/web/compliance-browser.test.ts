// The compliance pages in a real browser: Debian's chromium driven by playwright-core signs in
// through the fake GitHub, reads the heat map, narrows it to the differences, follows a cell to its
// violating objects, compares staging with prod through the form, and reads the trends. Screenshots
// go to test/web/__screenshots__/ (git-ignored). Without /usr/bin/chromium the file is skipped with
// a visible message, except under CI, which installs it (.ci/run).
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migratedDataDir } from '../helpers/database-template.js';
import { COMPLIANCE_USERS, NODE_AGENT, seedCompliance } from './compliance-seed.js';
import { startHarness, type Harness } from './harness.js';

const CHROMIUM = process.env.PARAPET_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), '__screenshots__');

const missing = existsSync(CHROMIUM) ? null : `${CHROMIUM} not found (apt-get install chromium)`;
if (missing && process.env.CI) throw new Error(`the browser test needs chromium under CI: ${missing}`);
if (missing) console.warn(`\n[compliance browser test] SKIPPING: ${missing}\n`);

(missing ? describe.skip : describe)('the compliance pages in chromium', () => {
  let db: Database;
  let h: Harness;
  let browser: Browser;

  beforeAll(async () => {
    db = await openDatabase({ dataDir: await migratedDataDir() });
    await seedCompliance(db);
    h = await startHarness({ db, users: COMPLIANCE_USERS, seed: async () => {} });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 60_000 });
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
    await db?.close();
  });

  it('goes through the matrix, a cell, the differences, a comparison of staging and prod, and the trends', async () => {
    h.github.signInAs('bob');
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    mkdirSync(SCREENSHOTS, { recursive: true });

    // Signed out: through GitHub's authorize page, back to the compliance page.
    await page.goto(`${h.web.url}/compliance`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Compliance');
    expect(new URL(page.url()).pathname).toBe('/compliance');
    expect(await page.locator('header nav a[aria-current="page"]').textContent()).toBe('Compliance');

    // One column per cluster bob may read; prod says it is behind the newest push.
    const columns = page.locator('table.compliance thead th[data-key]');
    expect(await columns.evaluateAll((ths) => ths.map((th) => th.getAttribute('data-key')))).toEqual(['acme/gitops:prod', 'acme/gitops:staging', 'acme/secret-ops:vault-prod']);
    expect(await columns.nth(0).locator('.badge.behind').textContent()).toBe('behind');
    expect(await page.locator('.behind-notice').textContent()).toContain('1 cluster shows an older commit than the newest push: prod.');

    // A heat-map cell says in words what its shade says.
    const privileged = page.locator('tr[data-policy="preventprivileged"] td');
    expect(await privileged.nth(0).textContent()).toBe('deny1 object (1 accepted)');
    expect(await privileged.nth(2).textContent()).toBe('deny1 object');
    const shade = (n: number) => privileged.nth(n).evaluate((td) => getComputedStyle(td).backgroundColor);
    expect(await shade(0)).toBe('rgb(218, 251, 225)'); // no open violation
    expect(await shade(2)).toBe('rgb(255, 248, 197)'); // one open object
    expect(await page.locator('tr[data-policy="enforceseccompprofile"] td').nth(1).evaluate((td) => td.className)).toBe('cell heat-off');
    // The policy column stays in view when the matrix scrolls sideways.
    expect(await page.locator('table.compliance th.policy').first().evaluate((th) => getComputedStyle(th).position)).toBe('sticky');
    await page.screenshot({ path: join(SCREENSHOTS, 'compliance.png'), fullPage: true });

    // Only the differences within acme/gitops, through the filter form.
    await page.selectOption('form.filters select[name="repo"]', 'acme/gitops');
    await page.check('form.filters input[name="differences"]');
    await page.click('form.filters button[type="submit"]');
    await page.waitForURL(/differences=1/);
    expect(await page.locator('tbody tr[data-policy]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-policy')).sort())).toEqual([
      'enforceimageversion',
      'enforceseccompprofile',
      'imageallowlist',
      'preventprivileged',
    ]);
    expect(await page.locator('tr[data-policy="imageallowlist"] .badge.differs').textContent()).toBe('≠ action');
    await page.screenshot({ path: join(SCREENSHOTS, 'compliance-differences.png'), fullPage: true });

    // A cell links to its violating objects.
    await page.locator('tr[data-policy="imageallowlist"] td').nth(0).locator('a').click();
    await page.waitForURL(/\/violations\?/);
    expect(await page.locator('h1').textContent()).toBe('Violating objects');
    expect(await page.locator('tbody tr').count()).toBe(2);
    expect(await page.locator('tbody tr td.message').allTextContents()).toEqual(['main of web violates imageallowlist', 'cache of web violates imageallowlist']);

    // Compare staging with prod: the form on the matrix, then the sections of differences.
    await page.goto(`${h.web.url}/compliance`);
    await page.selectOption('form.compare-form select[name="a"]', 'acme/gitops:staging');
    await page.selectOption('form.compare-form select[name="b"]', 'acme/gitops:prod');
    await page.click('form.compare-form button[type="submit"]');
    await page.waitForURL(/\/compliance\/compare\?/);
    expect(await page.locator('h1').textContent()).toBe('Compare staging and prod');
    expect(await page.locator('h2#only-a').textContent()).toBe('Enabled in staging only 1');
    expect(await page.locator('h2#only-a + .table-wrap tbody tr').getAttribute('data-policy')).toBe('enforceimageversion');
    expect(await page.locator('h2#only-b + .table-wrap tbody tr').getAttribute('data-policy')).toBe('enforceseccompprofile');
    expect(await page.locator('h2#actions + .table-wrap tbody tr td').allTextContents()).toEqual(['warn · 1 object', 'deny · 1 object']);
    expect(await page.locator('.parameter-changes li').textContent()).toBe(`preventprivileged · exemptImages: [] → ["${NODE_AGENT}"]`);
    expect(await page.locator('.compare-heads .behind').textContent()).toContain('Behind: the newest evaluation is of bbbbbbb');
    await page.screenshot({ path: join(SCREENSHOTS, 'compliance-compare.png'), fullPage: true });

    // The trends: a chart for all clusters and one per cluster, each with its numbers beside it.
    await page.click('nav.subnav a[href="/compliance/trends"]');
    await page.waitForURL(/\/compliance\/trends/);
    expect(await page.locator('svg.chart').count()).toBe(4);
    const all = page.locator('section.trend').first();
    expect(await all.locator('h3').textContent()).toMatch(/^All 3 clusters now 5 violations, 1 accepted, 1 outdated containers$/);
    expect(await all.locator('svg.chart path').count()).toBe(3);
    expect(await all.locator('svg.chart').getAttribute('aria-labelledby')).toBe('trend-all-title trend-all-desc');
    const box = await all.locator('svg.chart').boundingBox();
    expect(box!.width).toBeGreaterThan(300);
    expect(await all.locator('.trend-numbers tbody tr').first().locator('td').allTextContents()).toEqual(['5', '1', '1', '5']);
    await page.screenshot({ path: join(SCREENSHOTS, 'compliance-trends.png'), fullPage: true });
    await page.close();
  });
});
