// Enabling a standard through a pull request in a real browser: Debian's chromium driven by
// playwright-core signs bob in through the fake GitHub, follows the compliance matrix's link of the
// staging cluster, chooses PSS Baseline (warn stays chosen), reads the confirmation (the diff and
// the violations on the default branch) and opens the pull request, which then exists at the fake
// GitHub with exactly the files `parapet policies enable` writes. alice, who may only read the
// repository, gets the reason instead of the form. Screenshots go to test/web/__screenshots__/.
// Without /usr/bin/chromium the file is skipped with a visible message, except under CI.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, treeSnapshot } from '../helpers/cli.js';
import type { FakeGitHub } from '../helpers/fake-github.js';
import type { Harness } from './harness.js';
import { gitopsFiles, MAIN, REPO, startPolicyChangeWorld, writeCheckout, type PolicyChangeWorld } from './policy-change-seed.js';

const CHROMIUM = process.env.PARAPET_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), '__screenshots__');

const missing = existsSync(CHROMIUM) ? null : `${CHROMIUM} not found (apt-get install chromium)`;
if (missing && process.env.CI) throw new Error(`the browser test needs chromium under CI: ${missing}`);
if (missing) console.warn(`\n[policy change browser test] SKIPPING: ${missing}\n`);

(missing ? describe.skip : describe)('enabling a standard through a pull request, in chromium', () => {
  let world: PolicyChangeWorld;
  let fake: FakeGitHub;
  let h: Harness;
  let browser: Browser;
  let checkout: string;
  const files = gitopsFiles();

  beforeAll(async () => {
    world = await startPolicyChangeWorld(files);
    ({ fake, h } = world);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 60_000 });
    checkout = writeCheckout(files);
  });
  afterAll(async () => {
    await browser?.close();
    await world?.close();
    if (checkout) rmSync(checkout, { recursive: true, force: true });
  });

  it('goes from the matrix through the form and the confirmation to a pull request holding what the CLI writes', async () => {
    h.github.signInAs('bob');
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.goto(`${h.web.url}/compliance`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Compliance');

    await page.locator('th[data-key="acme/gitops:staging"] a.change-link').click();
    await page.waitForURL(/\/compliance\/change\?/);
    expect(await page.locator('h1').textContent()).toBe('Enable policies in staging');
    expect(await page.locator('input[name="action"]:checked').getAttribute('value')).toBe('warn');
    await page.selectOption('select[name="standard"]', 'k8s/baseline');
    await page.screenshot({ path: join(SCREENSHOTS, 'policy-change-form.png'), fullPage: true });
    await page.click('form.change-form button[type="submit"]');

    await page.waitForURL(/\/compliance\/change\/preview$/);
    expect(await page.locator('h1').textContent()).toBe('Confirm: enable policies in staging');
    expect(await page.locator('.pr-title').textContent()).toMatch(/^Enable Kubernetes Pod Security Standards, Baseline \(\d+ policies\) in warn on staging$/);
    expect(await page.locator('table.preview tbody tr[data-policy="preventprivileged"] td:nth-child(3)').allTextContents()).toEqual(['Pod shop/node-debugger', 'Deployment shop/storefront']);
    expect(await page.locator('details.file summary code').allTextContents()).toContain('clusters/staging/policies/constraints/preventprivileged-constraint.yaml');
    expect(await page.locator('pre.diff .line.add', { hasText: 'enforcementAction: warn' }).count()).toBeGreaterThan(3);
    await page.screenshot({ path: join(SCREENSHOTS, 'policy-change-confirm.png'), fullPage: false });
    expect(fake.createdPulls).toEqual([]);
    await page.click('form.confirm button[type="submit"]');

    await page.waitForURL(/\/compliance\/change\/open$/);
    expect(await page.locator('h1').textContent()).toBe('Pull request opened');
    expect(await page.locator('a.pull-link').textContent()).toBe('acme/gitops#1001');
    await page.screenshot({ path: join(SCREENSHOTS, 'policy-change-opened.png') });

    const before = treeSnapshot(checkout);
    const run = await runCli(['policies', 'enable', '--cluster', 'staging', '--standard', 'k8s/baseline', '--action', 'warn'], { cwd: checkout });
    expect(run.code).toBe(0);
    const after = treeSnapshot(checkout);
    const cliWrites = Object.fromEntries(Object.entries(after).filter(([path, text]) => before[path] !== text));
    expect(fake.createdPulls).toHaveLength(1);
    expect(fake.createdPulls[0]).toMatchObject({ repo: REPO, base: 'main', baseSha: MAIN, user: 'bob', writes: cliWrites, deletes: [] });
    expect(fake.requests.filter((r) => r.path.startsWith(`/repos/${REPO}/`) && r.method !== 'GET').map((r) => r.path.slice(`/repos/${REPO}`.length))).toEqual(['/git/trees', '/git/commits', '/git/refs', '/pulls']);
    await page.close();
  });

  it('tells a reader why she cannot change the policies instead of showing the form', async () => {
    h.github.signInAs('alice');
    const context = await browser.newContext();
    const page = await context.newPage();
    const response = await page.goto(`${h.web.url}/compliance/change?repo=${encodeURIComponent(REPO)}&cluster=staging`);
    expect(new URL(page.url()).pathname).toBe('/compliance/change');
    expect(response!.status()).toBe(403);
    expect(await page.locator('main').textContent()).toContain('You may read acme/gitops but not write to it');
    expect(await page.locator('form.change-form').count()).toBe(0);
    await context.close();
  });
});
