// The real `bin/parapet.js`, built and spawned as a user or CI would run it: what reaches the
// process's stdout, stderr and exit code, with pipes (not a terminal) on every stream.
import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { version } from '../../src/cli/version.js';
import { copyFixture, repoRoot, testCacheDir } from '../helpers/engine.js';

const bin = join(repoRoot, 'bin', 'parapet.js');
const builtMain = join(repoRoot, 'dist', 'cli', 'main.js');


const made: string[] = [];
afterAll(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A temporary copy of the shop-cluster fixture, removed after the tests. */
function shopCluster(): string {
  const dir = copyFixture('shop-cluster');
  made.push(dir);
  return dir;
}

interface Spawned {
  code: number | null;
  stdout: string;
  stderr: string;
}

function parapet(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<Spawned> {
  // The developer's own PARAPET_* settings must not change what the binary does here.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PARAPET_')));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: options.cwd, env: { ...env, PARAPET_CACHE_DIR: testCacheDir, PARAPET_WORKERS: '2', ...options.env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

describe('the built parapet binary', () => {
  beforeAll(expectBuilt);

  it('prints only the JSON document on stdout, exits 1 for the unaccepted denies, and prints no progress when stderr is not a terminal', async () => {
    const run = await parapet(['check', '--format', 'json'], { cwd: shopCluster() });

    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    // Pure JSON: it parses whole, and re-serialising it gives back every byte of stdout.
    const document: unknown = JSON.parse(run.stdout);
    expect(run.stdout).toBe(`${JSON.stringify(document, null, 2)}\n`);
    expect(document).toMatchObject({ clusters: [{ name: 'shop-prod', errors: [] }], errors: [] });
  });

  it('prints a SARIF log as pure JSON too', async () => {
    const run = await parapet(['check', '--format', 'sarif'], { cwd: shopCluster() });

    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ version: '2.1.0', runs: [{ tool: { driver: { name: 'parapet', version } } }] });
  });

  it('exits 2 with a one-line message on stderr, and nothing on stdout, when Parapet itself cannot run (no opa binary)', async () => {
    const run = await parapet(['check', '--format', 'json'], { cwd: shopCluster(), env: { PARAPET_OPA: '/nonexistent/opa' } });

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^parapet check: cannot run the opa CLI at \/nonexistent\/opa [^\n]*\n$/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 with the message on stderr for a usage error', async () => {
    const run = await parapet(['check', '--strict'], { cwd: shopCluster() });

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^parapet check: Unknown option '--strict'/);
  });

  it('prints its version', async () => {
    const run = await parapet(['--version'], { cwd: repoRoot });

    expect(run).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });
});

/** dist/ is built (and kept fresh) by test/global-setup.ts before any test file runs. */
function expectBuilt(): void {
  if (!existsSync(builtMain)) throw new Error(`${builtMain} is missing: the global setup should have built dist/`);
}
