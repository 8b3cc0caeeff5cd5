// `parapet check --base REF`: the working tree is checked, REF is checked with the same policies, and
// every violation is marked `new` (the change brings it) or `existing` (REF already had it), as the
// App does for a pull request. Real git repositories, made from the shop-cluster fixture.
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { JsonReport } from '../../src/engine/report/format/index.js';
import { runCli, treeSnapshot, type CliRun } from '../helpers/cli.js';
import { copyFixture, fixturesDir } from '../helpers/engine.js';
import { commitAll, git } from '../helpers/git-repo.js';

const made: string[] = [];
afterAll(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A temporary copy of the shop-cluster fixture, removed after the tests. */
function shopCluster(): string {
  const dir = copyFixture('shop-cluster');
  made.push(dir);
  return dir;
}

/** Rewrites one file of the working tree with `change`, which must alter it. */
function edit(root: string, file: string, change: (text: string) => string): void {
  const path = join(root, file);
  const before = readFileSync(path, 'utf8');
  const after = change(before);
  if (after === before) throw new Error(`the edit of ${file} changed nothing`);
  writeFileSync(path, after);
}

function violationsOf(run: CliRun) {
  const report = JSON.parse(run.stdout) as JsonReport;
  return report.clusters.flatMap((cluster) => cluster.violations);
}

const summary = (v: ReturnType<typeof violationsOf>[number]) => ({ file: v.file, line: v.line, policy: v.policy, message: v.message, status: v.status });

describe('parapet check --base on a change to the shop-cluster repository', () => {
  let root: string;
  let run: CliRun;

  beforeAll(async () => {
    root = shopCluster();
    commitAll(root);
    // Fixes one violation: the storefront's web container is no longer privileged.
    edit(root, 'cluster/namespaces/shop/deployment.yaml', (text) => text.replace('          securityContext:\n            privileged: true\n', ''));
    // Brings one in an existing file: the nightly report's main container becomes privileged.
    edit(root, 'cluster/namespaces/shop/cronjob.yaml', (text) =>
      text.replace('image: ghcr.io/example-org/report:2.3.1\n', 'image: ghcr.io/example-org/report:2.3.1\n              securityContext:\n                privileged: true\n'),
    );
    // And one in a file the base does not have (untracked: the working tree is what is checked).
    writeFileSync(
      join(root, 'cluster/namespaces/shop/debug-pod.yaml'),
      ['apiVersion: v1', 'kind: Pod', 'metadata:', '  name: debug', 'spec:', '  containers:', '    - name: shell', '      image: busybox:1.36', '      securityContext:', '        privileged: true', ''].join('\n'),
    );
    // Moves an existing violation two lines down without changing it.
    edit(root, 'cluster/namespaces/payments/ingress.yaml', (text) => `# Public entry point of the payments API.\n# Owned by team-payments.\n${text}`);

    run = await runCli(['check', '--base', 'HEAD', '--format', 'json'], { cwd: root });
  });

  it('marks the violations the change brings as new and those HEAD already had as existing', () => {
    expect(run.stderr).toBe('');
    expect(violationsOf(run).map(summary)).toEqual([
      {
        file: 'cluster/namespaces/legacy/replicaset.yaml',
        line: 44,
        policy: 'preventprivileged',
        message: '[Implied by expand-workloads] Privileged container is not allowed: gdb, securityContext: {"privileged": true}',
        status: 'existing',
      },
      {
        file: 'cluster/namespaces/legacy/tools.yaml',
        line: 17,
        policy: 'enforceimageversion',
        message: '[Implied by expand-workloads] container <shell> uses image registry.example.com/tools/toolbox without an explicit version',
        status: 'existing',
      },
      { file: 'cluster/namespaces/payments/deployment.yaml', line: 6, policy: 'k8srequiredlabels', message: 'you must provide labels: {"cost-center", "owner"}', status: 'existing' },
      {
        file: 'cluster/namespaces/payments/deployment.yaml',
        line: 28,
        policy: 'preventprivileged',
        message: '[Implied by expand-workloads] Privileged container is not allowed: card-reader, securityContext: {"privileged": true}',
        status: 'existing',
      },
      {
        file: 'cluster/namespaces/payments/ingress.yaml',
        line: 10,
        policy: 'uniqueingresshost',
        message: 'ingress host conflicts with an existing ingress <shop/storefront>: shop.example.com',
        status: 'existing',
      },
      {
        file: 'cluster/namespaces/payments/node-agent.yaml',
        line: 32,
        policy: 'preventprivileged',
        message: '[Implied by expand-workloads] Privileged container is not allowed: agent, securityContext: {"privileged": true}',
        status: 'existing',
      },
      {
        file: 'cluster/namespaces/shop/cronjob.yaml',
        line: 14,
        policy: 'enforceimageversion',
        message: '[Implied by expand-cronjobs] container <prepare> uses image busybox without an explicit version',
        status: 'existing',
      },
      {
        file: 'cluster/namespaces/shop/cronjob.yaml',
        line: 16,
        policy: 'preventprivileged',
        message: '[Implied by expand-cronjobs] Privileged container is not allowed: prepare, securityContext: {"privileged": true}',
        status: 'existing',
      },
      {
        file: 'cluster/namespaces/shop/cronjob.yaml',
        line: 21,
        policy: 'preventprivileged',
        message: '[Implied by expand-cronjobs] Privileged container is not allowed: report, securityContext: {"privileged": true}',
        status: 'new',
      },
      {
        file: 'cluster/namespaces/shop/debug-pod.yaml',
        line: 10,
        policy: 'preventprivileged',
        message: 'Privileged container is not allowed: shell, securityContext: {"privileged": true}',
        status: 'new',
      },
      {
        file: 'cluster/namespaces/shop/deployment.yaml',
        line: 23,
        policy: 'enforceimageversion',
        message: '[Implied by expand-workloads] container <metrics> uses image registry.example.com/tools/exporter:latest without an explicit version',
        status: 'existing',
      },
      {
        file: 'cluster/namespaces/shop/ingress.yaml',
        line: 7,
        policy: 'uniqueingresshost',
        message: 'ingress host conflicts with an existing ingress <payments/payments>: shop.example.com',
        status: 'existing',
      },
    ]);
  });

  it('no longer reports the violation the change fixed', () => {
    const web = violationsOf(run).filter((v) => v.message.includes('Privileged container is not allowed: web,'));
    expect(web).toEqual([]);
  });

  it('exits 1, for the new unaccepted denies', () => {
    expect(run.code).toBe(1);
  });

  it('marks each violation in the text output too, and counts them per cluster and policy', async () => {
    const text = await runCli(['check', '--base', 'HEAD'], { cwd: root });
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^ {4}10 {2}deny {4}\[new\] {7}preventprivileged {2}Privileged container is not allowed: shell,/m);
    expect(text.stdout).toContain('\nFAIL  shop-prod: 8 deny (3 accepted), 3 warn (1 accepted), 1 dryrun; 2 new, 10 existing (4 constraints, 15 objects)\n');
    expect(text.stdout).toContain('\n        preventprivileged    6 deny (3 accepted); 2 new, 4 existing\n');
  });

  it('reads HEAD from git, without touching the working tree or the index', async () => {
    const status = git(root, 'status', '--porcelain');
    const files = treeSnapshot(root);
    await runCli(['check', '--base', 'HEAD', '--format', 'json'], { cwd: root });
    expect(git(root, 'status', '--porcelain')).toBe(status);
    expect(treeSnapshot(root)).toEqual(files);
  });
});

describe('parapet check --base --new-only, as a pull request’s CI job judges it', () => {
  let root: string;
  beforeAll(() => {
    root = shopCluster();
    commitAll(root);
  });

  it('passes a change that brings no new violation though the base already breaks policies, and fails one that brings a new deny', async () => {
    // Nothing changed: every violation is existing.
    const all = await runCli(['check', '--base', 'HEAD'], { cwd: root });
    expect(all.code).toBe(1);
    const unchanged = await runCli(['check', '--base', 'HEAD', '--new-only'], { cwd: root });
    expect(unchanged.code).toBe(0);
    expect(unchanged.stdout).toContain('\nPASS  shop-prod: ');

    writeFileSync(join(root, 'cluster/namespaces/shop/debug-pod.yaml'), ['apiVersion: v1', 'kind: Pod', 'metadata:', '  name: debug', 'spec:', '  containers:', '    - name: shell', '      image: busybox:1.36', '      securityContext:', '        privileged: true', ''].join('\n'));
    const added = await runCli(['check', '--base', 'HEAD', '--new-only', '--quiet'], { cwd: root });
    expect(added.code).toBe(1);
    // --quiet lists what fails: the new deny only.
    expect(added.stdout).toMatch(/^ {4}10 {2}deny {4}\[new\] {7}preventprivileged {2}Privileged container is not allowed: shell,/m);
    expect(added.stdout).not.toContain('[existing]');
  });

  it('writes the SARIF log and the Markdown summary of the same check beside the text (--output)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'parapet-output-'));
    made.push(out);
    const run = await runCli(['check', '--base', 'HEAD', '--new-only', '--output', `sarif=${join(out, 'parapet.sarif')}`, '--output', `markdown=${join(out, 'summary.md')}`], { cwd: root });
    expect(run.code).toBe(1);
    const sarif = JSON.parse(readFileSync(join(out, 'parapet.sarif'), 'utf8'));
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0].results.filter((r: { baselineState?: string }) => r.baselineState === 'new')).toHaveLength(1);
    const summary = readFileSync(join(out, 'summary.md'), 'utf8');
    expect(summary).toMatch(/^## ❌ Parapet: 1 finding fails the check\n/);
    expect(summary).toContain('| shop-prod | `preventprivileged` | 6 | 0 | 0 | 3 | 1 | 5 |');
    expect(summary).toContain('- **shop-prod** `cluster/namespaces/shop/debug-pod.yaml:10` deny `preventprivileged` / `');
    expect(summary).toContain('*(new)*');
  });
});

describe('parapet check --base judges both revisions by the working tree’s policies', () => {
  it('calls the findings of a newly added constraint in unchanged files existing', async () => {
    const root = shopCluster();
    commitAll(root);
    writeFileSync(
      join(root, 'cluster/global/policies/constraints/ingresses-must-have-owner.yaml'),
      [
        'apiVersion: constraints.gatekeeper.sh/v1beta1',
        'kind: K8sRequiredLabels',
        'metadata:',
        '  name: ingresses-must-have-owner',
        'spec:',
        '  match:',
        '    kinds:',
        '      - apiGroups: ["networking.k8s.io"]',
        '        kinds: ["Ingress"]',
        '  parameters:',
        '    labels:',
        '      - key: owner',
        '',
      ].join('\n'),
    );

    const run = await runCli(['check', '--base', 'HEAD', '--format', 'json'], { cwd: root });

    const owner = violationsOf(run).filter((v) => v.constraint === 'ingresses-must-have-owner');
    expect(owner.map((v) => [v.file, v.status])).toEqual([
      ['cluster/namespaces/payments/ingress.yaml', 'existing'],
      ['cluster/namespaces/shop/ingress.yaml', 'existing'],
    ]);
  });
});

describe('parapet check --base on a pull request that bumps an image tag', () => {
  it('keeps the findings whose message names the image existing, and calls a renamed container\'s new', async () => {
    const root = shopCluster();
    // gatekeeper-library's k8sallowedrepos, which names the whole image reference in its message.
    writeFileSync(
      join(root, 'cluster/global/policies/constraint-templates/k8sallowedrepos-template.yaml'),
      [
        'apiVersion: templates.gatekeeper.sh/v1',
        'kind: ConstraintTemplate',
        'metadata:',
        '  name: k8sallowedrepos',
        'spec:',
        '  crd:',
        '    spec:',
        '      names:',
        '        kind: K8sAllowedRepos',
        '      validation:',
        '        openAPIV3Schema:',
        '          type: object',
        '          properties:',
        '            repos:',
        '              type: array',
        '              items:',
        '                type: string',
        '  targets:',
        '    - target: admission.k8s.gatekeeper.sh',
        '      rego: |',
        '        package k8sallowedrepos',
        '',
        '        violation[{"msg": msg}] {',
        '          container := input.review.object.spec.containers[_]',
        '          not strings.any_prefix_match(container.image, input.parameters.repos)',
        '          msg := sprintf("container <%v> has an invalid image repo <%v>, allowed repos are %v", [container.name, container.image, input.parameters.repos])',
        '        }',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(root, 'cluster/global/policies/constraints/allowed-repos.yaml'),
      ['apiVersion: constraints.gatekeeper.sh/v1beta1', 'kind: K8sAllowedRepos', 'metadata:', '  name: allowed-repos', 'spec:', '  match:', '    kinds:', '      - apiGroups: [""]', '        kinds: ["Pod"]', '  parameters:', '    repos: ["ghcr.io/"]', ''].join('\n'),
    );
    commitAll(root);
    // Renovate's change: nginx 1.25.3 -> 1.25.4; and someone renames the metrics container.
    edit(root, 'cluster/namespaces/shop/deployment.yaml', (text) => text.replace('image: nginx:1.25.3', 'image: nginx:1.25.4').replace('- name: metrics', '- name: exporter'));

    const run = await runCli(['check', '--base', 'HEAD', '--format', 'json'], { cwd: root });

    expect(run.stderr).toBe('');
    const violations = violationsOf(run);
    const storefront = violations.filter((v) => v.file === 'cluster/namespaces/shop/deployment.yaml' && v.policy === 'k8sallowedrepos');
    expect(storefront.map((v) => [v.message, v.status])).toEqual([
      ['[Implied by expand-workloads] container <web> has an invalid image repo <nginx:1.25.4>, allowed repos are ["ghcr.io/"]', 'existing'],
      ['[Implied by expand-workloads] container <exporter> has an invalid image repo <registry.example.com/tools/exporter:latest>, allowed repos are ["ghcr.io/"]', 'new'],
    ]);
    // Whatever else is new is about the renamed container too (its image has no explicit version).
    expect(violations.filter((v) => v.status === 'new').map((v) => [v.policy, v.message.match(/container <([^>]+)>/)?.[1]])).toEqual([
      ['enforceimageversion', 'exporter'],
      ['k8sallowedrepos', 'exporter'],
    ]);
  });
});

describe('parapet check --base on a GitOps tree in a subfolder of the git repository', () => {
  // The repository holds the GitOps tree under gitops/; the base must be read from the same subfolder.
  it.each([
    { where: 'from the repository root, with PATH', cwd: '.', argv: ['check', 'gitops'] },
    { where: 'from inside the tree', cwd: 'gitops', argv: ['check'] },
    { where: 'from below the tree, with PATH', cwd: 'gitops/cluster', argv: ['check', '..'] },
  ])('compares with the same subfolder at the base, run $where', async ({ cwd, argv }) => {
    const root = mkdtempSync(join(tmpdir(), 'parapet-monorepo-'));
    made.push(root);
    cpSync(join(fixturesDir, 'repos', 'shop-cluster'), join(root, 'gitops'), { recursive: true });
    commitAll(root);

    const run = await runCli([...argv, '--base', 'HEAD', '--format', 'json'], { cwd: join(root, cwd) });

    expect(run.stderr).toBe('');
    // Nothing changed since HEAD: every one of the fixture's 11 violations is existing.
    expect(violationsOf(run).map((v) => v.status)).toEqual(Array(11).fill('existing'));
  });
});

describe('parapet check --base that cannot be compared', () => {
  it('stops with exit 2 and names a ref that does not exist', async () => {
    const root = shopCluster();
    commitAll(root);

    const run = await runCli(['check', '--base', 'no-such-branch', '--format', 'json'], { cwd: root });

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('parapet check: --base no-such-branch: no such commit in the git repository\n');
  });

  it('stops with exit 2 outside a git repository', async () => {
    // git looks for a repository in parent folders; the ceiling keeps it from finding one above tmpdir.
    vi.stubEnv('GIT_CEILING_DIRECTORIES', realpathSync(tmpdir()));
    const root = shopCluster();

    const run = await runCli(['check', '--base', 'HEAD'], { cwd: root }).finally(() => vi.unstubAllEnvs());

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^parapet check: --base needs a git repository: fatal: not a git repository[^\n]*\n$/);
  });
});
