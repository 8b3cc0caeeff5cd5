// `parapet verify`: gator verify's suites, run by Parapet's engine.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { isSuiteFile, verifySuites, type SuiteResult } from '../../engine/index.js';
import { UsageError } from '../../errors.js';
import type { CliIo } from '../io.js';
import { readEngineConfig } from '../../config.js';
import { startEngineRuntime } from '../../runtime.js';

export const verifyHelp = `Usage: parapet verify [--format text|json] PATH...

Runs test suites in the format of Gatekeeper's \`gator verify\` (apiVersion test.gatekeeper.sh/v1alpha1,
kind: Suite). PATH is a suite file or a folder searched recursively for suites. Paths inside a suite
are relative to the suite file.

Options:
  --format FORMAT   text (default) or json
  --enable-k8s-native-validation=false
                    run templates that have both CEL and Rego with their Rego, as gator does with
                    this flag (default true: CEL, as Gatekeeper since 3.18)
  -h, --help        show this help

Exit codes: 0 every case passed; 1 a case failed or a suite could not be read; 2 usage error.
`;

export async function verifyCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: { format: { type: 'string', default: 'text' }, 'enable-k8s-native-validation': { type: 'string', default: 'true' } },
  });
  if (values.format !== 'text' && values.format !== 'json') throw new UsageError(`--format must be text or json, not "${values.format}"`);
  const nativeValidation = values['enable-k8s-native-validation'];
  if (nativeValidation !== 'true' && nativeValidation !== 'false') throw new UsageError(`--enable-k8s-native-validation must be true or false, not "${nativeValidation}"`);
  if (positionals.length === 0) throw new UsageError('give at least one suite file or folder');
  const suites: string[] = [];
  for (const path of positionals) suites.push(...(await findSuites(resolve(io.cwd, path))));
  const runtime = startEngineRuntime(readEngineConfig(io.env));
  try {
    const reader = { read: (path: string) => readFile(path, 'utf8').catch(() => undefined) };
    const results = await verifySuites(suites.map(toPosix), { driver: runtime.driver, reader, k8sNativeValidation: nativeValidation === 'true' });
    for (const result of results) result.file = relative(io.cwd, result.file).split(sep).join('/');
    io.stdout(values.format === 'json' ? formatJson(results) : formatText(results));
    return results.every((r) => r.passed) ? 0 : 1;
  } finally {
    await runtime.close();
  }
}

async function findSuites(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new UsageError(`${path} does not exist`);
  if (info.isFile()) return [path];
  const found: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const child = join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== 'node_modules' && entry.name !== '.git') await walk(child);
      else if (entry.isFile() && /\.ya?ml$/.test(entry.name) && looksLikeSuite(await readFile(child, 'utf8'))) found.push(child);
    }
  };
  await walk(path);
  return found;
}

/**
 * A suite, or a file that would be one but does not parse: that one is run too, so its YAML error fails
 * the run (as in gator) instead of the suite silently dropping out of it.
 */
function looksLikeSuite(text: string): boolean {
  if (isSuiteFile(text)) return true;
  const mentionsSuite = /\btest\.gatekeeper\.sh\//.test(text) && /\bkind:\s*["']?Suite\b/.test(text);
  return mentionsSuite && parseAllDocuments(text).some((doc) => doc.errors.length > 0);
}

function toPosix(path: string): string {
  return path.split(sep).join('/');
}

function formatJson(results: SuiteResult[]): string {
  const suites = results.map((suite) => ({
    file: suite.file,
    ...(suite.error ? { error: suite.error } : {}),
    ...(suite.skipped ? { skipped: true } : {}),
    tests: suite.tests.map((test) => ({
      name: test.name,
      ...(test.error ? { passed: false, error: test.error } : {}),
      ...(test.skipped ? { skipped: true } : {}),
      cases: test.cases.map((c) => ({ name: c.name, passed: c.passed, ...(c.skipped ? { skipped: true } : {}), ...(c.error ? { error: c.error } : {}) })),
    })),
  }));
  return `${JSON.stringify({ suites }, null, 2)}\n`;
}

function formatText(results: SuiteResult[]): string {
  const lines: string[] = [];
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const suite of results) {
    lines.push(`${suite.passed ? 'ok  ' : 'FAIL'}  ${suite.file}${suite.skipped ? '  (skipped)' : ''}`);
    if (suite.error) {
      lines.push(`      ${suite.error}`);
      failed++;
    }
    for (const test of suite.tests) {
      if (test.error) {
        lines.push(`  --- FAIL: ${test.name}`, `        ${test.error}`);
        failed++;
      } else if (test.skipped && test.cases.length === 0) {
        skipped++;
      }
      for (const c of test.cases) {
        if (c.skipped) skipped++;
        else if (c.passed) passed++;
        else {
          failed++;
          lines.push(`  --- FAIL: ${test.name} / ${c.name}`, `        ${c.error ?? ''}`);
        }
      }
      if (!test.error && test.cases.length === 0 && !test.skipped) passed++;
    }
  }
  lines.push('', `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  return `${lines.join('\n')}\n`;
}
