// CLI golden scenarios: each folder under scenarios/ is one run of `parapet` (scenario.yaml: argv,
// exit code, stderr pattern) with its expected stdout in a golden file beside it. The run happens
// in-process through main(), with the working directory at a fresh copy of the scenario's repository.
// `UPDATE_GOLDEN=1 npx vitest run test/cli/scenarios.test.ts` rewrites the goldens; review the diff.
//
// scenario.yaml:
//   description  what the scenario shows (the test's name)
//   repo         a fixture repository by name (test/fixtures/repos/<repo>), or
//   fixture      any folder by its path under test/ (e.g. fixtures/templates/uniqueingresshost);
//                with neither, the scenario's own repo/ folder, else an empty directory
//   argv         the arguments after `parapet`
//   exit         the expected exit code
//   stdout       the golden file of stdout (default stdout.txt), or `empty` for no output at all
//   stderr       a regular expression stderr must match; without it stderr must be empty
//   env          extra environment variables (PARAPET_CACHE_DIR is set to the test cache)
//   tty          stderr is a terminal (progress is printed only then)
//   writes       a folder beside scenario.yaml holding every file the run writes, as it must write
//                it (`parapet init`, `parapet policies enable`); without it the run writes nothing
//
// Before comparing, the repository copy's absolute path in the output becomes `<repo>` and Parapet's
// version becomes `<version>`, so goldens hold neither temporary paths nor release numbers.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parse } from 'yaml';
import { version } from '../../src/cli/version.js';
import { copyToTemp, runCli, treeSnapshot } from '../helpers/cli.js';
import { fixturesDir, repoRoot } from '../helpers/engine.js';
import { expectGoldenFile, updatingGoldens } from '../helpers/golden-file.js';

const scenariosDir = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');

interface Scenario {
  name: string;
  dir: string;
  description: string;
  repo?: string;
  fixture?: string;
  argv: string[];
  exit: number;
  stdout: string;
  stderr?: string;
  env: Record<string, string>;
  tty: boolean;
  writes?: string;
}

const KEYS = new Set(['description', 'repo', 'fixture', 'argv', 'exit', 'stdout', 'stderr', 'env', 'tty', 'writes']);

/** Reads a scenario.yaml strictly: a misspelt key would otherwise silently test nothing. */
function readScenario(name: string): Scenario {
  const dir = join(scenariosDir, name);
  const raw: unknown = parse(readFileSync(join(dir, 'scenario.yaml'), 'utf8'));
  const fail = (problem: string): never => {
    throw new Error(`scenarios/${name}/scenario.yaml: ${problem}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('expected a mapping');
  const spec = raw as Record<string, unknown>;
  for (const key of Object.keys(spec)) if (!KEYS.has(key)) fail(`unknown key "${key}" (known: ${[...KEYS].join(', ')})`);
  const optionalString = (key: string) => {
    const value = spec[key];
    if (value !== undefined && typeof value !== 'string') fail(`${key} must be a string`);
    return value as string | undefined;
  };
  if (typeof spec.description !== 'string' || spec.description === '') fail('description is required');
  if (!Array.isArray(spec.argv) || !spec.argv.every((arg) => typeof arg === 'string')) fail('argv must be a list of strings');
  if (typeof spec.exit !== 'number' || !Number.isInteger(spec.exit)) fail('exit must be an integer');
  if ([spec.repo !== undefined, spec.fixture !== undefined, existsSync(join(dir, 'repo'))].filter(Boolean).length > 1) {
    fail('give one of repo, fixture or a repo/ folder');
  }
  const env = spec.env ?? {};
  if (typeof env !== 'object' || env === null || Object.values(env).some((value) => typeof value !== 'string')) fail('env must map names to strings');
  if (spec.tty !== undefined && typeof spec.tty !== 'boolean') fail('tty must be true or false');
  return {
    name,
    dir,
    description: spec.description as string,
    repo: optionalString('repo'),
    fixture: optionalString('fixture'),
    argv: spec.argv as string[],
    exit: spec.exit as number,
    stdout: optionalString('stdout') ?? 'stdout.txt',
    stderr: optionalString('stderr'),
    env: env as Record<string, string>,
    tty: spec.tty === true,
    writes: optionalString('writes'),
  };
}

/** A fresh copy of the scenario's repository: runs may not see each other, nor touch the sources. */
function workingCopy(scenario: Scenario): string {
  let source: string | undefined;
  if (scenario.repo !== undefined) source = join(fixturesDir, 'repos', scenario.repo);
  else if (scenario.fixture !== undefined) source = join(repoRoot, 'test', scenario.fixture);
  else if (existsSync(join(scenario.dir, 'repo'))) source = join(scenario.dir, 'repo');
  if (source === undefined) return mkdtempSync(join(tmpdir(), `parapet-${scenario.name}-`));
  if (!existsSync(source)) throw new Error(`scenarios/${scenario.name}: ${source} does not exist`);
  return copyToTemp(source, scenario.name);
}

function normalize(text: string, cwd: string): string {
  // How long rendering took, and how much of it an earlier run left in the render cache, vary
  // from run to run; the rest of the document does not.
  return text
    .replaceAll(cwd, '<repo>')
    .replaceAll(version, '<version>')
    .replace(/("render": \{\s*"builds": \d+,\s*"cached": )\d+(,\s*"seconds": )[\d.e-]+/g, '$1"<cached>"$2"<seconds>"');
}

const scenarios = readdirSync(scenariosDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => readScenario(entry.name));

describe('parapet CLI scenarios', () => {
  it('has scenarios to run', () => {
    expect(scenarios.length).toBeGreaterThan(0);
  });

  it('keeps in each scenario folder only its scenario.yaml, its golden and its repo/', () => {
    // A golden left behind when a scenario changed would look like a specification and test nothing.
    const strays = scenarios.flatMap((scenario) => {
      const expected = new Set(['scenario.yaml', 'repo', ...(scenario.stdout === 'empty' ? [] : [scenario.stdout]), ...(scenario.writes ? [scenario.writes] : [])]);
      return readdirSync(scenario.dir)
        .filter((entry) => !expected.has(entry))
        .map((entry) => `scenarios/${scenario.name}/${entry}`);
    });
    expect(strays).toEqual([]);
  });

  for (const scenario of scenarios) {
    it(`${scenario.name}: ${scenario.description}`, () => runScenario(scenario));
  }
});

async function runScenario(scenario: Scenario): Promise<void> {
  const cwd = workingCopy(scenario);
  onTestFinished(() => rmSync(cwd, { recursive: true, force: true }));
  const before = treeSnapshot(cwd);

  const run = await runCli(scenario.argv, { cwd, env: scenario.env, interactive: scenario.tty });
  const stdout = normalize(run.stdout, cwd);
  const stderr = normalize(run.stderr, cwd);

  expect(run.code, `exit code of parapet ${scenario.argv.join(' ')}; stderr:\n${stderr}`).toBe(scenario.exit);
  if (scenario.stdout === 'empty') expect(stdout, 'stdout').toBe('');
  else expectGoldenFile(join(scenario.dir, scenario.stdout), stdout, `scenarios/${scenario.name}/${scenario.stdout}`);
  if (scenario.stderr === undefined) expect(stderr, 'stderr').toBe('');
  else expect(stderr, 'stderr').toMatch(new RegExp(scenario.stderr));
  const after = treeSnapshot(cwd);
  if (scenario.writes === undefined) {
    // cli.md: Parapet reads files, never writes to the repository being checked.
    expect(after, 'the repository after the run').toEqual(before);
    return;
  }
  expect(Object.keys(before).filter((path) => !(path in after)), 'files the run removed').toEqual([]);
  const written = Object.fromEntries(Object.entries(after).filter(([path, text]) => before[path] !== text));
  expectWrittenFiles(join(scenario.dir, scenario.writes), written, `scenarios/${scenario.name}/${scenario.writes}`);
}

/** The files a run wrote, against the scenario's folder of them (rewritten with UPDATE_GOLDEN=1). */
function expectWrittenFiles(dir: string, written: Record<string, string>, label: string): void {
  if (updatingGoldens) {
    rmSync(dir, { recursive: true, force: true });
    for (const [path, text] of Object.entries(written)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return;
  }
  if (!existsSync(dir)) throw new Error(`${label} is missing: run the test with UPDATE_GOLDEN=1 to write it, then review it`);
  expect(written, `the files written, against ${label} (UPDATE_GOLDEN=1 rewrites it)`).toEqual(treeSnapshot(dir));
}
