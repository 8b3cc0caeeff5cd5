// `parapet init` on copies of real layouts, and what `parapet check` then makes of them: a first
// useful result in a repository that had no .securitytower configuration.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { copyToTemp, runCli, treeSnapshot } from '../helpers/cli.js';
import { repoRoot } from '../helpers/engine.js';

const fleet = join(repoRoot, 'test', 'cli', 'fixtures', 'flux-fleet');
const plain = join(repoRoot, 'test', 'cli', 'scenarios', 'init-plain', 'repo');

const made: string[] = [];
afterAll(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function copy(dir: string, label: string): string {
  const path = copyToTemp(dir, label);
  made.push(path);
  return path;
}

interface JsonReport {
  clusters: Array<{ name: string; violations: Array<{ policy: string; file: string; line: number; enforcementAction: string }>; errors: unknown[] }>;
}

describe('parapet init, then parapet check', () => {
  it("checks each Flux cluster's own folders: staging's privileged debug shell is staging's alone", { timeout: 300_000 }, async () => {
    const cwd = copy(fleet, 'fleet');
    const init = await runCli(['init', '--standard', 'k8s/baseline'], { cwd });
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain('Cluster production, policies folder clusters/production/policies:\n');
    expect(init.stdout).toMatch(/\nNext:\n {2}parapet check\n {2}git add \.securitytower clusters\/production\/policies clusters\/staging\/policies && /);

    const check = await runCli(['check', '--format', 'json'], { cwd });
    expect(check.code, check.stderr).toBe(0);
    const report = JSON.parse(check.stdout) as JsonReport;
    expect(report.clusters.map((c) => ({ name: c.name, errors: c.errors }))).toEqual([
      { name: 'production', errors: [] },
      { name: 'staging', errors: [] },
    ]);
    const [production, staging] = report.clusters;
    expect(production!.violations).toEqual([]);
    // Enabled as warnings: the first run reports, it does not block.
    expect(staging!.violations.map((v) => `${v.file}:${v.line} ${v.enforcementAction} ${v.policy}`)).toEqual(['apps/staging/debug.yaml:20 warn preventprivileged']);
  });

  it('passes right after init, with no policy enabled, and says how to enable a standard', async () => {
    const cwd = copy(fleet, 'fleet');
    expect((await runCli(['init'], { cwd })).code).toBe(0);
    const check = await runCli(['check'], { cwd });
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain("PASS  staging: no violations, no errors (0 constraints, 9 objects)\n        no policies are enabled (clusters/staging/policies holds none): 'parapet policies enable --cluster staging --standard k8s/baseline --action warn' enables a standard\n");
  });
});

describe('parapet init writes once, and never over a change', () => {
  it('changes nothing when run again, and says so', async () => {
    const cwd = copy(fleet, 'fleet');
    await runCli(['init'], { cwd });
    const once = treeSnapshot(cwd);
    const again = await runCli(['init'], { cwd });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('  unchanged .securitytower/production.yaml\n  unchanged .securitytower/staging.yaml\nSet up already: nothing was changed.\n');
    expect(treeSnapshot(cwd)).toEqual(once);
  });

  it('refuses to overwrite a Cluster file that was changed since, writing nothing; --force replaces it', async () => {
    const cwd = copy(fleet, 'fleet');
    await runCli(['init'], { cwd });
    const file = join(cwd, '.securitytower', 'staging.yaml');
    const changed = readFileSync(file, 'utf8').replace('path: clusters/staging/policies', 'path: policies/staging');
    expect(changed).not.toBe(readFileSync(file, 'utf8'));
    writeFileSync(file, changed);
    rmSync(join(cwd, '.securitytower', 'production.yaml'));
    const before = treeSnapshot(cwd);

    const refused = await runCli(['init'], { cwd });
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe("parapet init: .securitytower/staging.yaml exists and differs from what init writes; nothing was written ('parapet init --force' replaces it)\n");
    expect(treeSnapshot(cwd)).toEqual(before);

    const forced = await runCli(['init', '--force'], { cwd });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('  wrote     .securitytower/production.yaml\n  replaced  .securitytower/staging.yaml\n');
    expect(readFileSync(file, 'utf8')).toContain('    path: clusters/staging/policies\n');
  });

  it('refuses to write through a symbolic link that leads out of the repository', async () => {
    const cwd = copy(fleet, 'fleet');
    const outside = mkdtempSync(join(tmpdir(), 'parapet-outside-'));
    made.push(outside);
    symlinkSync(outside, join(cwd, 'clusters', 'staging', 'policies'));
    const run = await runCli(['init'], { cwd });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('parapet init: clusters/staging/policies/README.md leads out of the repository through a symbolic link; nothing was written\n');
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(cwd, '.securitytower'))).toBe(false);
  });

  it('refuses an unknown standard before writing anything', async () => {
    const cwd = copy(fleet, 'fleet');
    const before = treeSnapshot(cwd);
    const run = await runCli(['init', '--standard', 'k8s/basline'], { cwd });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^parapet init: unknown standard "k8s\/basline" \(known: k8s\/baseline, /);
    expect(treeSnapshot(cwd)).toEqual(before);
  });

  it('refuses --name for a repository with several clusters', async () => {
    const cwd = copy(fleet, 'fleet');
    const run = await runCli(['init', '--name', 'prod'], { cwd });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('parapet init: --name names the cluster of a repository with one cluster; this one has 2 (production, staging)\n');
  });

  it('refuses a --name Kubernetes would not accept', async () => {
    const run = await runCli(['init', '--name', 'Prod EU'], { cwd: copy(plain, 'plain') });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--name "Prod EU" is not a usable cluster name');
  });
});

describe('parapet init names and places', () => {
  it("names a repository's one cluster after its folder, cleaned to a Kubernetes name", async () => {
    const parent = mkdtempSync(join(tmpdir(), 'parapet-init-name-'));
    made.push(parent);
    const cwd = join(parent, 'Shop_Platform.GitOps');
    cpSync(plain, cwd, { recursive: true });
    const run = await runCli(['init'], { cwd });
    expect(run.code, run.stderr).toBe(0);
    expect(parse(readFileSync(join(cwd, '.securitytower', 'shop-platform-gitops.yaml'), 'utf8')).metadata.name).toBe('shop-platform-gitops');
  });

  it('sets up the repository at PATH, and its next commands name that PATH', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'parapet-init-path-'));
    made.push(parent);
    cpSync(fleet, join(parent, 'fleet'), { recursive: true });
    const run = await runCli(['init', 'fleet'], { cwd: parent });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('  parapet policies enable --path fleet --cluster staging --standard k8s/baseline --action warn\n  parapet check fleet\n  git -C fleet add ');
    expect(treeSnapshot(join(parent, 'fleet'))['.securitytower/staging.yaml']).toContain('name: staging');
  });

  it('gives a plain repository without policies an empty policies/ folder', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'parapet-init-bare-'));
    made.push(cwd);
    mkdirSync(join(cwd, 'apps'));
    writeFileSync(join(cwd, 'apps', 'web.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n');
    const run = await runCli(['init', '--name', 'web'], { cwd });
    expect(run.code, run.stderr).toBe(0);
    expect(Object.keys(treeSnapshot(cwd)).sort()).toEqual(['.securitytower/web.yaml', 'apps/web.yaml', 'policies/README.md']);
    expect((await runCli(['check'], { cwd })).stdout).toMatch(/^PASS {2}web: no violations, no errors \(0 constraints, 1 object\)\n/);
  });
});

describe('commands that need a Cluster file point to parapet init', () => {
  it('parapet policies enable, in a repository without one', async () => {
    const run = await runCli(['policies', 'enable', 'preventprivileged'], { cwd: copy(plain, 'plain') });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/no `kind: Cluster` configuration found in [^\n]*\n'parapet init' writes one for this repository [^\n]*\n\n {2}apiVersion: securitytower\.io\/v1alpha1\n {2}kind: Cluster\n/);
  });
});
