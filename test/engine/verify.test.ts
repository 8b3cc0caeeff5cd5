import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifySuites, type SuiteResult } from '../../src/engine/index.js';
import { engine, fixturesDir } from '../helpers/engine.js';

const reader = { read: (path: string) => readFile(path, 'utf8').catch(() => undefined) };
const templatesDir = join(fixturesDir, 'templates');
const suiteOf = (name: string) => join(templatesDir, name, 'suite.yaml');

function verify(files: string[]): Promise<SuiteResult[]> {
  return verifySuites(files, { ...engine(), reader });
}

function failures(results: SuiteResult[]): string[] {
  return results.flatMap((suite) => [
    ...(suite.error ? [`${suite.file}: ${suite.error}`] : []),
    ...suite.tests.flatMap((test) => [
      ...(test.error ? [`${test.name}: ${test.error}`] : []),
      ...test.cases.filter((c) => !c.passed).map((c) => `${test.name} / ${c.name}: ${c.error}`),
    ]),
  ]);
}

describe('parapet verify on suites that Gatekeeper’s gator passes', () => {
  // Every suite under test/fixtures/templates was run with gator v3.23.1 (see its README): the same
  // verdicts and messages must come out of Parapet.
  const suites = readdirSync(templatesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name);

  it.each(suites)('passes every case of the %s suite', async (name) => {
    const [result] = await verify([suiteOf(name)]);
    expect(failures([result!])).toEqual([]);
    expect(result!.passed).toBe(true);
  });

  it('skips what the suite marks skip, and runs the rest', async () => {
    const [blocked] = await verify([suiteOf('blockedannotations')]);
    const skippedTests = blocked!.tests.filter((t) => t.skipped);
    expect(skippedTests.length).toBeGreaterThan(0);
    const [labels] = await verify([suiteOf('requiredlabels')]);
    expect(labels!.tests.flatMap((t) => t.cases).some((c) => c.skipped)).toBe(true);
  });
});

describe('parapet verify reports what differed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-verify-'));
  const templateFile = join(templatesDir, 'requiredlabels', 'template.yaml');

  function suite(name: string, body: string): string {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, body);
    return file;
  }

  it('fails a case whose count differs and says what the results were', async () => {
    writeFileSync(
      join(dir, 'namespace.yaml'),
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: payments\n',
    );
    const file = suite(
      'wrong-count',
      `apiVersion: test.gatekeeper.sh/v1alpha1
kind: Suite
tests:
  - name: labels
    template: ${templateFile}
    constraint: ${join(templatesDir, 'requiredlabels', 'samples', firstSample('requiredlabels'), 'constraint.yaml')}
    cases:
      - name: expects three
        object: namespace.yaml
        assertions:
          - violations: 3
`,
    );
    const [result] = await verify([file]);
    expect(result!.passed).toBe(false);
    const [problem] = failures([result!]);
    expect(problem).toMatch(/want 3 violations, got \d+ violation/);
  });

  it('fails a test whose template cannot be read, naming the file', async () => {
    const file = suite(
      'missing-template',
      `apiVersion: test.gatekeeper.sh/v1alpha1
kind: Suite
tests:
  - name: nothing
    template: does-not-exist.yaml
    constraint: also-missing.yaml
    cases: []
`,
    );
    const [result] = await verify([file]);
    expect(result!.passed).toBe(false);
    expect(result!.tests[0]!.error).toContain('does-not-exist.yaml');
  });

  it('requires assertions in every case', async () => {
    const file = suite(
      'no-assertions',
      `apiVersion: test.gatekeeper.sh/v1alpha1
kind: Suite
tests:
  - name: labels
    template: ${templateFile}
    constraint: ${join(templatesDir, 'requiredlabels', 'samples', firstSample('requiredlabels'), 'constraint.yaml')}
    cases:
      - name: empty
        object: namespace.yaml
        assertions: []
`,
    );
    const [result] = await verify([file]);
    expect(failures([result!])).toEqual(['labels / empty: assertions must not be empty']);
  });
});

function firstSample(template: string): string {
  return readdirSync(join(templatesDir, template, 'samples'))
    .filter((name) => {
      try {
        return readFileSync(join(templatesDir, template, 'samples', name, 'constraint.yaml'), 'utf8').length > 0;
      } catch {
        return false;
      }
    })
    .sort()[0]!;
}
