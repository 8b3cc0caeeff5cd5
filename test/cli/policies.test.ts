// `parapet policies`: the library's catalog, and what enable, disable and status do to a copy of a
// fixture repository (test/fixtures/repos/policy-library-cluster: one cluster, an empty policies
// folder but for its README, a privileged Deployment and a privileged Pod whose risk is accepted).
import { existsSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadCatalog } from '../../src/library/catalog.js';
import { copyToTemp, runCli, treeSnapshot, type CliRun } from '../helpers/cli.js';
import { fixturesDir } from '../helpers/engine.js';

const catalog = await loadCatalog();
const privileged = catalog.policies.find((p) => p.name === 'preventprivileged')!;
const baseline = catalog.standards.find((s) => s.id === 'k8s/baseline')!;
// Another policy, none of the shop-cluster fixture's hand-written ones.
const other = catalog.policies.find((p) => !['preventprivileged', 'enforceimageversion', 'uniqueingresshost', 'k8srequiredlabels'].includes(p.name))!;

const made: string[] = [];
afterAll(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A fresh copy of a fixture repository, removed after the tests. */
function repo(name = 'policy-library-cluster'): string {
  const dir = copyToTemp(join(fixturesDir, 'repos', name), name);
  made.push(dir);
  return dir;
}

function policies(args: string[], cwd: string): Promise<CliRun> {
  return runCli(['policies', ...args], { cwd });
}

const FOLDER = 'cluster/policies';
const written = (name: string) => [`${FOLDER}/${name}.policy`, `${FOLDER}/constraint-templates/${name}-template.yaml`, `${FOLDER}/constraints/${name}-constraint.yaml`];
const EXPANSION = `${FOLDER}/expansion-templates.yaml`;
const CONFIG = `${FOLDER}/gatekeeper-config.yaml`;

describe('parapet policies list and show', () => {
  const cwd = repo();

  it('lists every library policy with its version, title and standards, then the standards', async () => {
    const run = await policies(['list'], cwd);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const lines = run.stdout.split('\n');
    for (const policy of catalog.policies) expect(lines.find((line) => line.startsWith(`${policy.name} `))).toMatch(new RegExp(`^${policy.name} +${policy.version} +${policy.title}`));
    expect(run.stdout).toMatch(new RegExp(`\\n {2}k8s/baseline +${baseline.policies.length} polic(y|ies) +Kubernetes Pod Security Standards, Baseline\\n`));
  });

  it('lists one standard with each policy\'s control', async () => {
    const run = await policies(['list', '--standard', 'k8s/baseline'], cwd);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^k8s\/baseline: Kubernetes Pod Security Standards, Baseline, \d+ polic/);
    expect(run.stdout).toMatch(new RegExp(`\\npreventprivileged +${privileged.version} +Prevent privileged containers +Privileged Containers\\n`));
    expect(run.stdout.split('\n').filter((line) => /^[a-z0-9]+ +\d+\.\d+\.\d+ /.test(line))).toHaveLength(baseline.policies.length + baseline.stricter.length);
    expect(run.stdout).toMatch(/\npreventadditionalcapabilities +[\d.]+ +Prevent additional capabilities +stricter than Capabilities\n/);
    expect(run.stdout).toContain(`, ${baseline.policies.length} policies (and ${baseline.stricter.length} stricter than its controls, enabled with --strict)\n`);
  });

  it('prints the catalog as JSON', async () => {
    const run = await policies(['list', '--format', 'json'], cwd);
    expect(run.code).toBe(0);
    const json = JSON.parse(run.stdout);
    expect(json.policies.map((p: { name: string }) => p.name)).toEqual(catalog.policies.map((p) => p.name));
    expect(json.policies.find((p: { name: string }) => p.name === 'preventprivileged')).toMatchObject({
      kind: 'PreventPrivileged',
      version: privileged.version,
      standards: expect.arrayContaining([{ id: 'cis/kubernetes', control: '5.2.1' }]),
      riskAcceptanceAnnotation: 'securitytower.io/policy.exclusion.preventprivileged',
    });
    expect(json.standards.map((s: { id: string }) => s.id)).toEqual(['k8s/baseline', 'k8s/restricted', 'cis/kubernetes', 'nist/SP.800-190', 'bsi/containerization', 'nsa/kubernetes']);
  });

  it('shows a policy: description, standards, example and risk-acceptance annotation', async () => {
    const run = await policies(['show', 'preventprivileged'], cwd);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^preventprivileged ${privileged.version}: Prevent privileged containers\\nConstraint kind: PreventPrivileged\\n`));
    expect(run.stdout).toContain('Containers must not run privileged.');
    expect(run.stdout).toMatch(/\n {2}cis\/kubernetes +5\.2\.1\n/);
    expect(run.stdout).toContain('  -        privileged: true\n');
    expect(run.stdout).toContain('the annotation securitytower.io/policy.exclusion.preventprivileged with a reason');
  });

  it.each([
    ['an unknown policy', ['show', 'privileged'], /^parapet policies: unknown policy "privileged"; did you mean preventprivileged\?\n$/],
    ['an unknown standard', ['list', '--standard', 'owasp/top10'], /^parapet policies: unknown standard "owasp\/top10" \(known: k8s\/baseline, /],
    ['an unknown format', ['list', '--format', 'yaml'], /--format must be text or json/],
    ['no command', [], /^parapet policies: name a command: list, show, enable, disable, status/],
    ['an unknown command', ['activate', 'x'], /^parapet policies: unknown command "activate"/],
    ['an unknown flag', ['list', '--all'], /^parapet policies: Unknown option '--all'/],
  ])('refuses %s with exit code 2', async (_name, args, stderr) => {
    const run = await policies(args, cwd);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(stderr);
  });

  it('prints its help', async () => {
    const run = await policies(['--help'], cwd);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: parapet policies COMMAND \[options\]/);
  });
});

describe('parapet policies enable, status and disable', () => {
  it('writes the .policy file, the template, the constraint, the expansion templates and the sync config, marked as its own', async () => {
    const cwd = repo();
    const before = treeSnapshot(cwd);
    const run = await policies(['enable', 'preventprivileged'], cwd);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(
      [
        'Cluster library-demo, policies folder cluster/policies:',
        ...[...written('preventprivileged'), EXPANSION, CONFIG].sort().map((path) => `  wrote     ${path}`),
        `Enabled preventprivileged ${privileged.version}.`,
        `Note: ${CONFIG} makes Gatekeeper sync the workloads that own Pods, where the policies find risk acceptances on a workload's own metadata; if the cluster's Gatekeeper Config (there is one, named config) lives elsewhere, add these kinds to its spec.sync.syncOnly instead`,
        '',
      ].join('\n'),
    );
    const after = treeSnapshot(cwd);
    expect(Object.keys(after).filter((path) => !(path in before)).sort()).toEqual([...written('preventprivileged'), EXPANSION, CONFIG].sort());
    for (const path of [...written('preventprivileged'), EXPANSION, CONFIG]) {
      for (const doc of parseAllDocuments(after[path]!)) expect(doc.toJS().metadata.annotations['parapet.dev/managed-by']).toBe('parapet');
    }
    expect(parse(after[`${FOLDER}/constraints/preventprivileged-constraint.yaml`]!).spec.enforcementAction).toBe('deny');
    expect(after[`${FOLDER}/README.md`]).toBe(before[`${FOLDER}/README.md`]);
  });

  it('changes nothing when enabling twice', async () => {
    const cwd = repo();
    await policies(['enable', 'preventprivileged'], cwd);
    const once = treeSnapshot(cwd);
    const run = await policies(['enable', 'preventprivileged'], cwd);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`  unchanged ${FOLDER}/preventprivileged.policy\n`);
    expect(run.stdout).not.toContain('wrote');
    expect(run.stdout).toContain(`preventprivileged ${privileged.version} is enabled already: nothing changed.`);
    expect(treeSnapshot(cwd)).toEqual(once);
  });

  it("keeps the user's constraint parameters and sets --action", async () => {
    const cwd = repo();
    await policies(['enable', 'preventprivileged'], cwd);
    const constraint = join(cwd, FOLDER, 'constraints', 'preventprivileged-constraint.yaml');
    writeFileSync(constraint, `${readFileSync(constraint, 'utf8')}  parameters:\n    # no exceptions in this cluster\n    ignoreRiskAcceptances: true\n`);
    const run = await policies(['enable', 'preventprivileged', '--action', 'warn'], cwd);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`  wrote     ${FOLDER}/constraints/preventprivileged-constraint.yaml\n`);
    const text = readFileSync(constraint, 'utf8');
    expect(parse(text).spec).toMatchObject({ enforcementAction: 'warn', parameters: { ignoreRiskAcceptances: true } });
    expect(text).toContain('# no exceptions in this cluster');
  });

  it('enables a whole standard', async () => {
    const cwd = repo();
    const run = await policies(['enable', '--standard', 'k8s/baseline', '--action', 'dryrun'], cwd);
    expect(run.code, run.stderr).toBe(0);
    for (const name of baseline.policies) {
      expect(run.stdout).toContain(`Enabled ${name} `);
      expect(parse(readFileSync(join(cwd, FOLDER, 'constraints', `${name}-constraint.yaml`), 'utf8')).spec.enforcementAction).toBe('dryrun');
    }
  });

  it('enables only the policies that implement the standard\'s controls, each as the standard needs it', async () => {
    const cwd = repo();
    const run = await policies(['enable', '--standard', 'k8s/baseline', '--param', 'version=v1.30'], cwd);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).not.toContain('preventadditionalcapabilities');
    expect(run.stdout).not.toContain('preventseccompoverwrite');
    const constraintOf = (name: string) => parse(readFileSync(join(cwd, FOLDER, 'constraints', `${name}-constraint.yaml`), 'utf8')).spec;
    expect(constraintOf('restrictsysctls').parameters).toEqual({ version: 'v1.30' });
    expect(constraintOf('restrictprocmount').parameters).toEqual({ allowInUserNamespaces: true, version: 'v1.30' });

    // Restricted, later: its /proc control exempts no user namespace.
    expect((await policies(['enable', '--standard', 'k8s/restricted'], cwd)).code).toBe(0);
    expect(constraintOf('restrictprocmount').parameters).toEqual({ allowInUserNamespaces: false, version: 'v1.30' });
  });

  it('adds the policies stricter than the standard\'s controls with --strict, and status counts them apart', async () => {
    const cwd = repo();
    const run = await policies(['enable', '--standard', 'k8s/baseline', '--strict'], cwd);
    expect(run.code, run.stderr).toBe(0);
    for (const name of [...baseline.policies, ...baseline.stricter]) expect(run.stdout).toContain(`Enabled ${name} `);
    const status = await policies(['status'], cwd);
    expect(status.stdout).toMatch(new RegExp(`\\n {2}k8s/baseline +${baseline.policies.length}/${baseline.policies.length} +Kubernetes Pod Security Standards, Baseline +stricter: 2/2 \\(preventadditionalcapabilities, preventseccompoverwrite\\)\\n`));
    const json = JSON.parse((await policies(['status', '--format', 'json'], cwd)).stdout);
    expect(json.standards.find((s: { id: string }) => s.id === 'k8s/baseline').stricter).toEqual({ enabled: ['preventadditionalcapabilities', 'preventseccompoverwrite'], total: 2 });

    const alone = await policies(['enable', 'preventprivileged', '--strict'], cwd);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(/--strict adds the policies stricter than a standard's controls: give the standard with --standard ID/);
  });

  it('reports which policies are enabled, at which version, and how far each standard is covered', async () => {
    const cwd = repo();
    await policies(['enable', 'preventprivileged'], cwd);
    const run = await policies(['status'], cwd);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Cluster library-demo, policies folder cluster/policies\n');
    expect(run.stdout).toContain(`Enabled library policies: 1 of ${catalog.policies.length}\n`);
    expect(run.stdout).toMatch(new RegExp(`\\n {2}preventprivileged {2}${privileged.version.replaceAll('.', '\\.')} {2}up to date\\n`));
    expect(run.stdout).toMatch(new RegExp(`\\n {2}k8s/baseline +1/${baseline.policies.length} +Kubernetes Pod Security Standards, Baseline +stricter: 0/${baseline.stricter.length}\\n`));
    expect(run.stdout).toContain(`Files Parapet did not write (left untouched): 1\n  ${FOLDER}/README.md\n`);

    const json = JSON.parse((await policies(['status', '--format', 'json'], cwd)).stdout);
    expect(json).toMatchObject({ cluster: 'library-demo', policiesPath: FOLDER, unmanagedFiles: [`${FOLDER}/README.md`] });
    expect(json.policies.find((p: { name: string }) => p.name === 'preventprivileged')).toEqual({
      name: 'preventprivileged',
      title: 'Prevent privileged containers',
      libraryVersion: privileged.version,
      enabledVersion: privileged.version,
      state: 'up-to-date',
    });
    expect(json.standards.find((s: { id: string }) => s.id === 'k8s/baseline')).toMatchObject({ enabled: 1, total: baseline.policies.length });
  });

  it('reports an outdated policy', async () => {
    const cwd = repo();
    await policies(['enable', 'preventprivileged'], cwd);
    const record = join(cwd, FOLDER, 'preventprivileged.policy');
    writeFileSync(record, readFileSync(record, 'utf8').replace(`version: ${privileged.version}`, 'version: 0.0.1'));
    const run = await policies(['status'], cwd);
    expect(run.stdout).toMatch(new RegExp(`\\n {2}preventprivileged {2}0\\.0\\.1 {2}outdated: the library has ${privileged.version.replaceAll('.', '\\.')}\\n`));
    const upgrade = await policies(['enable', 'preventprivileged'], cwd);
    expect(upgrade.stdout).toContain(`Upgraded preventprivileged from 0.0.1 to ${privileged.version}`);
  });

  it('removes exactly what enable wrote', async () => {
    const cwd = repo();
    const before = treeSnapshot(cwd);
    await policies(['enable', 'preventprivileged', other.name], cwd);
    const run = await policies(['disable', other.name, 'preventprivileged'], cwd);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`  removed   ${FOLDER}/constraints/preventprivileged-constraint.yaml\n`);
    expect(run.stdout).toContain('Disabled preventprivileged.\n');
    expect(treeSnapshot(cwd)).toEqual(before);
    expect(existsSync(join(cwd, FOLDER, 'constraints'))).toBe(false);
    const again = await policies(['disable', 'preventprivileged'], cwd);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('preventprivileged is not enabled: nothing to remove.');
  });
});

describe('parapet policies: bad input changes nothing and exits 2', () => {
  it('refuses to overwrite a template someone else wrote, naming it', async () => {
    const cwd = repo('shop-cluster');
    const before = treeSnapshot(cwd);
    const run = await policies(['enable', 'preventprivileged', other.name], cwd);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^parapet policies enable: nothing was changed:\n/);
    expect(run.stderr).toContain('  cluster/global/policies/constraint-templates/preventprivileged-template.yaml was not written by Parapet (it has no parapet.dev/managed-by: parapet annotation): left untouched');
    expect(treeSnapshot(cwd)).toEqual(before);
  });

  it('refuses to delete a file someone else wrote', async () => {
    const cwd = repo('shop-cluster');
    const before = treeSnapshot(cwd);
    const run = await policies(['disable', 'preventprivileged'], cwd);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('preventprivileged-template.yaml was not written by Parapet');
    expect(treeSnapshot(cwd)).toEqual(before);
  });

  it('shows the conflict in status', async () => {
    const run = await policies(['status'], repo('shop-cluster'));
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('\nNeeding attention:\n');
    expect(run.stdout).toContain('\n  preventprivileged: conflict\n    cluster/global/policies/constraint-templates/preventprivileged-template.yaml was not written by Parapet');
  });

  it('refuses an unknown policy', async () => {
    const cwd = repo();
    const before = treeSnapshot(cwd);
    const run = await policies(['enable', 'preventprivileged', 'nosuchpolicy'], cwd);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`parapet policies: unknown policy "nosuchpolicy" (see 'parapet policies list'); nothing was changed\n`);
    expect(treeSnapshot(cwd)).toEqual(before);
  });

  it('needs --cluster when the repository declares several clusters', async () => {
    const cwd = repo();
    writeFileSync(join(cwd, '.securitytower', 'staging.yaml'), 'apiVersion: securitytower.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: staging\nspec:\n  policies:\n    path: staging/policies\n');
    const before = treeSnapshot(cwd);
    const run = await policies(['enable', 'preventprivileged'], cwd);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('parapet policies: the repository declares several clusters (library-demo, staging): choose one with --cluster NAME\n');
    expect(treeSnapshot(cwd)).toEqual(before);

    const staging = await policies(['enable', 'preventprivileged', '--cluster', 'staging'], cwd);
    expect(staging.code, staging.stderr).toBe(0);
    expect(existsSync(join(cwd, 'staging', 'policies', 'preventprivileged.policy'))).toBe(true);
    expect(existsSync(join(cwd, FOLDER, 'preventprivileged.policy'))).toBe(false);

    const unknown = await policies(['status', '--cluster', 'prod'], cwd);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('parapet policies: no cluster named prod in .securitytower/*.yaml (clusters: library-demo, staging)\n');
  });

  it('refuses a cluster whose policies path is empty', async () => {
    const cwd = repo();
    writeFileSync(join(cwd, '.securitytower', 'cluster.yaml'), 'apiVersion: securitytower.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: library-demo\nspec:\n  tenant: example-org\n  policies:\n    path: ""\n');
    const before = treeSnapshot(cwd);
    for (const args of [['enable', 'preventprivileged'], ['enable', 'preventprivileged', '--cluster', 'library-demo']]) {
      const run = await policies(args, cwd);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/\.securitytower\/cluster\.yaml:2: Cluster library-demo: spec\.policies\.path must name the folder/);
    }
    expect(treeSnapshot(cwd)).toEqual(before);
  });

  it('refuses a policies path that leads out of the repository', async () => {
    const cwd = repo();
    writeFileSync(join(cwd, '.securitytower', 'cluster.yaml'), 'apiVersion: securitytower.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: library-demo\nspec:\n  policies:\n    path: ../elsewhere\n');
    const run = await policies(['enable', 'preventprivileged'], cwd);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('leads out of the repository');
  });

  it('refuses a policies folder that is a symbolic link out of the repository', async () => {
    const cwd = repo();
    const outside = repo();
    rmSync(join(cwd, FOLDER), { recursive: true });
    symlinkSync(join(outside, FOLDER), join(cwd, FOLDER));
    const before = treeSnapshot(outside);
    const run = await policies(['enable', 'preventprivileged'], cwd);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("parapet policies: the cluster library-demo's policies folder cluster/policies leads out of the repository\n");
    expect(treeSnapshot(outside)).toEqual(before);
  });

  it('refuses an unknown --action', async () => {
    const run = await policies(['enable', 'preventprivileged', '--action', 'block'], repo());
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('parapet policies: --action must be one of deny, warn, dryrun, not "block"\n');
  });
});

describe('parapet policies enable: parameters', () => {
  const allowlistConstraint = `${FOLDER}/constraints/imageallowlist-constraint.yaml`;

  it('refuses imageallowlist in deny without an allowlist, naming the parameters and an example, and changes nothing', async () => {
    const cwd = repo();
    const before = treeSnapshot(cwd);
    const run = await policies(['enable', 'imageallowlist'], cwd);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      "parapet policies enable: nothing was changed:\n  imageallowlist needs trustedregistries or trustedimages before it can deny: left empty, it denies everything it checks. Give one, e.g. 'parapet policies enable imageallowlist --param trustedregistries=registry.example.com,ghcr.io/acme', or enable it with --action dryrun first to see what it reports\n",
    );
    expect(treeSnapshot(cwd)).toEqual(before);
  });

  it('enables it in deny with --param, a list given as a,b', async () => {
    const cwd = repo();
    const run = await policies(['enable', 'imageallowlist', '--param', 'trustedregistries=registry.example.com,ghcr.io/acme', '--param', 'trustedimages=nginx'], cwd);
    expect(run.code, run.stderr).toBe(0);
    expect(parse(readFileSync(join(cwd, allowlistConstraint), 'utf8')).spec).toMatchObject({
      enforcementAction: 'deny',
      parameters: { trustedregistries: ['registry.example.com', 'ghcr.io/acme'], trustedimages: ['nginx'] },
    });
  });

  it('enables a standard with imageallowlist in dryrun, and a line saying why', async () => {
    const cwd = repo();
    const run = await policies(['enable', '--standard', 'bsi/containerization'], cwd);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("\nNote: imageallowlist is enabled in dryrun, not deny: it needs trustedregistries or trustedimages before it can deny. With them: 'parapet policies enable imageallowlist --param trustedregistries=registry.example.com,ghcr.io/acme --action deny'\n");
    expect(parse(readFileSync(join(cwd, allowlistConstraint), 'utf8')).spec.enforcementAction).toBe('dryrun');
    expect(parse(readFileSync(join(cwd, FOLDER, 'constraints', 'preventprivileged-constraint.yaml'), 'utf8')).spec.enforcementAction).toBe('deny');
  });

  it.each([
    [['--param', 'trustedregistries'], 'parapet policies: --param takes KEY=VALUE (a list as a,b), not "trustedregistries"\n'],
    [['--param', 'trustedimages=a', '--param', 'trustedimages=b'], 'parapet policies: --param trustedimages is given twice\n'],
    [['--param', 'ignoreRiskAcceptances=yes'], 'parapet policies enable: nothing was changed:\n  --param ignoreRiskAcceptances=yes for imageallowlist: expected true or false, not "yes"\n'],
  ])('refuses %j', async (args, stderr) => {
    const run = await policies(['enable', 'imageallowlist', '--action', 'warn', ...args], repo());
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(stderr);
  });

  it('shows the parameters a policy takes, and the ones it needs before it can deny', async () => {
    const run = await policies(['show', 'imageallowlist'], repo());
    expect(run.stdout).toMatch(/\nParameters \(--param KEY=VALUE\):\n {2}trustedregistries +list of string +Registries, /);
    expect(run.stdout).toContain('  It denies only once trustedregistries or trustedimages is set: empty, it would deny everything it checks.\n');
    expect(run.stdout).toContain('Enable it: parapet policies enable imageallowlist [--cluster NAME] [--action deny|warn|dryrun] --param trustedregistries=registry.example.com,ghcr.io/acme\n');
  });
});

describe('parapet check after parapet policies enable', () => {
  it('loads every library policy without an error and reports through them', { timeout: 600_000 }, async () => {
    const cwd = repo();
    // imageallowlist denies only with an allowlist.
    const enable = await policies(['enable', ...catalog.policies.map((p) => p.name), '--param', 'trustedregistries=registry.example.com'], cwd);
    expect(enable.code, enable.stderr).toBe(0);
    const run = await runCli(['check', '--format', 'json'], { cwd });
    expect(run.stderr).toBe('');
    const report = JSON.parse(run.stdout);
    expect(report.errors).toEqual([]);
    const [cluster] = report.clusters;
    // A template that did not compile, a constraint without its template: each would be an error here.
    expect(cluster.errors).toEqual([]);
    const privilegedFindings = cluster.violations.filter((v: { policy: string }) => v.policy === 'preventprivileged');
    expect(privilegedFindings).toEqual([
      expect.objectContaining({ file: 'cluster/namespaces/shop/debug-pod.yaml', line: 14, accepted: true }),
      expect.objectContaining({ file: 'cluster/namespaces/shop/deployment.yaml', line: 20, accepted: false, message: expect.stringContaining('[Implied by expand-workloads] privileged (container "web" must not set securityContext.privileged=true)') }),
    ]);
  });
});
