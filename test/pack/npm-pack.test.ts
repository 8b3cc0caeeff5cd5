// The CLI outside its checkout, as a user installs it: `npm pack`, the tarball installed globally into
// an empty prefix (dependencies from the npm cache or the registry, nothing else), then `parapet init`
// and `parapet check` on a sample repository from another directory. Slow (a build, an install, a
// cold compile), so it runs on its own: `npm run test:pack` (.ci/run calls it after `npm test`).
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { version } from '../../src/cli/version.js';
import { repoRoot } from '../helpers/engine.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const work = mkdtempSync(join(tmpdir(), 'parapet-pack-'));
const prefix = join(work, 'prefix');
const parapetBin = join(prefix, 'bin', 'parapet');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The environment a user's shell would have: none of npm's run-script variables, none of Parapet's settings. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name, value]) => value !== undefined && !/^(npm_|PARAPET_)/i.test(name))) as Record<string, string>;
  return { ...env, ...extra };
}

function run(command: string, args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: options.cwd, env: options.env ?? cleanEnv(), maxBuffer: 64 * 1024 * 1024, timeout: 15 * 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

let packed: { filename: string; files: Array<{ path: string }> };

beforeAll(async () => {
  // `npm pack` runs `prepare` (the TypeScript build), as publishing would.
  const pack = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: repoRoot });
  expect(pack.code, pack.stderr).toBe(0);
  packed = (JSON.parse(pack.stdout) as Array<typeof packed>)[0]!;
  const install = await run('npm', ['install', '--global', '--prefix', prefix, join(work, packed.filename), '--prefer-offline', '--no-audit', '--no-fund'], { cwd: work });
  expect(install.code, `npm install of the tarball failed:\n${install.stderr}`).toBe(0);
}, 30 * 60_000);

describe('the packed CLI, installed outside its checkout', () => {
  it('ships the built CLI, its policy library and the opa pin, and nothing of the checkout besides', () => {
    const paths = packed.files.map((file) => file.path);
    expect(paths).toEqual(expect.arrayContaining(['bin/parapet.js', 'dist/cli/main.js', 'dist/engine/rego/evaluation-worker.js', 'policies/imageallowlist/template.yaml', 'policies/expansion.yaml', 'tools/go.mod', 'scripts/build-go-tool.mjs']));
    expect(paths.filter((path) => /^(src|test|tools\/bin|\.cache|node_modules)\//.test(path))).toEqual([]);
    // The Go helpers npm's postinstall builds: every source file of theirs, or the build fails.
    for (const dir of ['tools/cel', 'tools/render']) {
      const sources = readdirSync(join(repoRoot, dir)).filter((f) => f.endsWith('.go') || f === 'go.mod' || f === 'go.sum').map((f) => `${dir}/${f}`);
      expect(paths).toEqual(expect.arrayContaining(sources));
    }
  });

  it('built its pinned opa inside the installed package', () => {
    expect(existsSync(join(prefix, 'lib', 'node_modules', 'parapet', 'tools', 'bin', 'opa'))).toBe(true);
  });

  it('answers from any directory', async () => {
    expect(await run(parapetBin, ['--version'], { cwd: tmpdir() })).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('sets up a Flux repository and checks it, compiling the policies with the installed opa', { timeout: 15 * 60_000 }, async () => {
    const repo = join(work, 'fleet');
    cpSync(join(repoRoot, 'test', 'cli', 'fixtures', 'flux-fleet'), repo, { recursive: true });
    // A compile cache of its own: every template is compiled by the installed package's opa.
    const env = cleanEnv({ PARAPET_CACHE_DIR: join(work, 'wasm'), PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}` });
    mkdirSync(join(work, 'wasm'));

    const init = await run('parapet', ['init', '--standard', 'k8s/baseline'], { cwd: repo, env });
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain('  wrote     .securitytower/staging.yaml\n');

    const check = await run('parapet', ['check'], { cwd: repo, env });
    expect(check.code, check.stderr).toBe(0);
    // Flux applies everything under clusters/<env>, the policies init wrote there included.
    expect(check.stdout).toMatch(/\nPASS {2}production: no violations, no errors \(\d+ constraints, \d+ objects\)\nPASS {2}staging: 1 warn \(\d+ constraints, \d+ objects\)\n {8}preventprivileged {2}1 warn\n/);

    const json = await run('parapet', ['check', '--format', 'json', '--cluster', 'staging'], { cwd: repo, env });
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout).clusters[0].violations).toEqual([expect.objectContaining({ file: 'apps/staging/debug.yaml', line: 20, policy: 'preventprivileged', enforcementAction: 'warn' })]);
  });
});
