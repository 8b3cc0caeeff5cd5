// The GitHub Action: action.yml and the example workflow pass actionlint (rhysd/actionlint, pinned in
// tools/actionlint/go.mod and built from the Go module proxy), and the action's check step, run as the
// runner runs it (bash, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY), writes the SARIF log, the job summary and
// its outputs, and fails as its inputs say.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, repoRoot, testCacheDir } from '../helpers/engine.js';
import { commitAll } from '../helpers/git-repo.js';

const actionlint = join(repoRoot, 'tools', 'bin', 'actionlint');
const actionYml = readFileSync(join(repoRoot, 'action.yml'), 'utf8');
const example = readFileSync(join(repoRoot, 'docs', 'examples', 'parapet-workflow.yml'), 'utf8');
const made: string[] = [];

beforeAll(() => {
  // A minute the first time on two cores; reused afterwards.
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build-go-tool.mjs'), 'actionlint'], { stdio: 'inherit' });
}, 15 * 60_000);
afterAll(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** actionlint over the workflows of a repository holding this action.yml at its root. */
function lint(workflows: Record<string, string>, action = actionYml): { status: number | null; output: string } {
  const dir = tempDir('parapet-actionlint-');
  writeFileSync(join(dir, 'action.yml'), action);
  mkdirSync(join(dir, '.github', 'workflows'), { recursive: true });
  for (const [name, text] of Object.entries(workflows)) writeFileSync(join(dir, '.github', 'workflows', name), text);
  execFileSync('git', ['init', '--quiet'], { cwd: dir });
  const run = spawnSync(actionlint, ['-color=false', '-shellcheck=', '-pyflakes='], { cwd: dir, encoding: 'utf8' });
  return { status: run.status, output: run.stdout + run.stderr };
}

/**
 * The composite action's steps as a reusable workflow's job, with its inputs as the workflow's:
 * actionlint then checks every expression, step id and popular action's inputs in them.
 */
function actionAsWorkflow(action: string): string {
  const doc = parse(action) as { inputs: Record<string, { description: string; default: string }>; runs: { steps: unknown[] } };
  const inputs = Object.fromEntries(Object.entries(doc.inputs).map(([name, input]) => [name, { description: input.description, type: 'string', default: input.default }]));
  return stringify({ name: 'action.yml as a job', on: { workflow_call: { inputs } }, jobs: { action: { 'runs-on': 'ubuntu-latest', steps: doc.runs.steps } } });
}

describe('actionlint', () => {
  it('passes the example workflow, and with this action in place of the released one checks its inputs against action.yml', () => {
    const local = example.replace('parapet-dev/parapet@v0.1.0', './');
    expect(local).not.toBe(example);
    expect(lint({ 'example.yml': example, 'local.yml': local })).toEqual({ status: 0, output: '' });
    const misspelt = lint({ 'local.yml': local.replace('fail-on: deny', 'fail-level: deny') });
    expect(misspelt.status).toBe(1);
    expect(misspelt.output).toContain('input "fail-level" is not defined in action "Parapet check"');
  });

  it('passes action.yml’s metadata and its composite steps', () => {
    expect(lint({ 'action-steps.yml': actionAsWorkflow(actionYml), 'local.yml': example.replace('parapet-dev/parapet@v0.1.0', './') })).toEqual({ status: 0, output: '' });
    // The same check catches a mistake in a step: a step output that no step writes.
    const broken = lint({ 'action-steps.yml': actionAsWorkflow(actionYml.replace('steps.keys.outputs.templates', 'steps.key.outputs.templates')) });
    expect(broken.status).toBe(1);
    expect(broken.output).toContain('property "key" is not defined');
  });

  it('is the workflow docs/github-action.md shows', () => {
    expect(readFileSync(join(repoRoot, 'docs', 'github-action.md'), 'utf8')).toContain(`\`\`\`yaml\n${example}\`\`\``);
  });
});

describe('the action’s check step, as the runner runs it', () => {
  const step = (parse(actionYml) as { runs: { steps: Array<{ id?: string; run?: string }> } }).runs.steps.find((s) => s.id === 'check')!;
  let workspace: string;
  let bin: string;

  beforeAll(() => {
    // The checkout: shop-cluster at the base commit, and a pull request that adds a privileged Pod.
    workspace = copyFixture('shop-cluster');
    made.push(workspace);
    commitAll(workspace);
    writeFileSync(join(workspace, 'cluster/namespaces/shop/debug-pod.yaml'), ['apiVersion: v1', 'kind: Pod', 'metadata:', '  name: debug', 'spec:', '  containers:', '    - name: shell', '      image: busybox:1.36', '      securityContext:', '        privileged: true', ''].join('\n'));
    // What the install step puts on PATH.
    bin = tempDir('parapet-action-bin-');
    symlinkSync(join(repoRoot, 'bin', 'parapet.js'), join(bin, 'parapet'));
  });

  function runStep(inputs: Record<string, string>) {
    const runner = tempDir('parapet-runner-');
    const files = { output: join(runner, 'output'), summary: join(runner, 'summary') };
    writeFileSync(files.summary, '## an earlier step’s summary\n');
    // As the runner runs a composite step's bash: `bash --noprofile --norc -eo pipefail`.
    const run = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', step.run!], {
      cwd: workspace,
      encoding: 'utf8',
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        HOME: process.env.HOME,
        PARAPET_CACHE_DIR: testCacheDir,
        GITHUB_WORKSPACE: workspace,
        GITHUB_OUTPUT: files.output,
        GITHUB_STEP_SUMMARY: files.summary,
        RUNNER_TEMP: runner,
        CHECK_PATH: '.',
        CLUSTERS: '',
        FORMAT: 'text',
        FAIL_ON: 'deny',
        NEW_ONLY: 'true',
        BASE: 'HEAD',
        SARIF_FILE: 'parapet.sarif',
        ...inputs,
      },
    });
    const written = existsSync(files.output) ? readFileSync(files.output, 'utf8').trim() : '';
    const outputs = Object.fromEntries(written ? written.split('\n').map((line) => line.split('=') as [string, string]) : []);
    return { status: run.status, stdout: run.stdout, stderr: run.stderr, outputs, summary: readFileSync(files.summary, 'utf8') };
  }

  it('fails for the pull request’s new deny, with the SARIF log, the job summary appended and its outputs', () => {
    const run = runStep({});
    expect(run.stderr).toBe('');
    expect(run.status).toBe(1);
    expect(run.outputs).toEqual({ 'sarif-file': 'parapet.sarif', 'exit-code': '1' });
    const sarif = JSON.parse(readFileSync(join(workspace, 'parapet.sarif'), 'utf8'));
    expect(sarif.runs[0].results.find((r: { baselineState?: string }) => r.baselineState === 'new').locations[0].physicalLocation).toEqual({ artifactLocation: { uri: 'cluster/namespaces/shop/debug-pod.yaml', uriBaseId: '%SRCROOT%' }, region: { startLine: 10 } });
    expect(run.summary).toMatch(/^## an earlier step’s summary\n## ❌ Parapet: 1 finding fails the check\n/);
    expect(run.stdout).toContain('[new]');
  });

  it('passes when the base already had every violation (new-only), and fails for the existing ones too without it', () => {
    execFileSync('git', ['add', '--all'], { cwd: workspace });
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--quiet', '-m', 'debug pod'], { cwd: workspace });
    try {
      expect(runStep({}).status).toBe(0);
      expect(runStep({ NEW_ONLY: 'false' }).status).toBe(1);
      expect(runStep({ FAIL_ON: 'never', NEW_ONLY: 'false' })).toMatchObject({ status: 0, outputs: { 'exit-code': '0' } });
    } finally {
      execFileSync('git', ['reset', '--quiet', '--soft', 'HEAD~1'], { cwd: workspace });
    }
  });

  it('checks only the clusters given, and refuses a format it cannot show', () => {
    const other = runStep({ CLUSTERS: 'nowhere' });
    expect(other.status).toBe(2);
    expect(other.stderr).toContain('nowhere');
    const xml = runStep({ FORMAT: 'xml' });
    expect(xml.status).toBe(2);
    expect(xml.stdout).toContain('::error title=Parapet::format must be text or json, not "xml"');
  });
});

