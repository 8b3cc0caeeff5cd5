import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CelHelperProcess } from '../../src/cel/cel-helper-process.js';
import type { RegoSource } from '../../src/engine/ports.js';
import { readTemplate } from '../../src/engine/policy/template.js';
import { parseYamlFile } from '../../src/engine/repo/yaml-file.js';
import type { ParsedModule } from '../../src/opa/gatekeeper-checks.js';
import { OpaCompiler, defaultOpaPath } from '../../src/opa/opa-compiler.js';
import { fixturesDir, repoRoot } from '../helpers/engine.js';

// A cold compile parses each module in the CEL helper, which is already running and links
// Gatekeeper's OPA, instead of starting `opa parse` for each (about thirty for the
// gatekeeper-library, opa's start-up most of each). What the compiler reads of a parse (packages,
// imports, rules, every ref) must be what `opa parse` prints, for every template Parapet knows.

const helper = new CelHelperProcess();
afterAll(() => helper.close());

const parseInHelper = async (name: string, text: string, version: RegoSource['version']): Promise<ParsedModule | undefined> => {
  const answer = (await helper.request(JSON.stringify({ op: 'parse', name, text, regoVersion: version }))) as { module?: ParsedModule };
  return answer.module;
};

function templateFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return templateFiles(path);
    return entry === 'template.yaml' ? [path] : [];
  });
}

/** Every Rego module of the library, fixture and Parapet policy templates, with its language version. */
function modules(): Array<{ file: string; name: string; text: string; version: RegoSource['version'] }> {
  const found = new Map<string, { file: string; name: string; text: string; version: RegoSource['version'] }>();
  for (const file of [...templateFiles(fixturesDir), ...templateFiles(join(repoRoot, 'policies'))]) {
    for (const doc of parseYamlFile(file, readFileSync(file, 'utf8')).documents) {
      const value = doc.value as Record<string, unknown>;
      if (value?.kind !== 'ConstraintTemplate') continue;
      const rego = readTemplate(value, { file, line: doc.line }, doc.lines).template?.rego;
      if (!rego) continue;
      for (const [i, text] of [rego.rego, ...rego.libs].entries()) {
        const name = i === 0 ? 'template.rego' : `lib-${i}.rego`;
        found.set(JSON.stringify([name, text, rego.version]), { file, name, text, version: rego.version });
      }
    }
  }
  return [...found.values()];
}

// opa 1.22 marks the expressions it writes itself (the `true` body of a rule written without one)
// `generated`; Gatekeeper's OPA 1.17 does not record it, and the compiler reads neither.
const withoutGenerated = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(withoutGenerated)
    : typeof value === 'object' && value !== null
      ? Object.fromEntries(Object.entries(value).filter(([key]) => key !== 'generated').map(([key, v]) => [key, withoutGenerated(v)]))
      : value;

function opaParse(name: string, text: string, version: RegoSource['version']): unknown {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-parse-'));
  writeFileSync(join(dir, name), text);
  const flag = version === 'v1' ? '--v1-compatible' : '--v0-compatible';
  return withoutGenerated(JSON.parse(execFileSync(defaultOpaPath, ['parse', '--format', 'json', '--json-include', 'locations,-comments', flag, name], { cwd: dir, encoding: 'utf8' })));
}

describe('parsing Rego modules in the running CEL helper', () => {
  it('gives what opa parse prints for every module of the gatekeeper-library, the fixtures and Parapet’s policies', async () => {
    const all = modules();
    expect(all.length).toBeGreaterThan(100);
    const differing: string[] = [];
    for (const module of all) {
      const ours = await parseInHelper(module.name, module.text, module.version);
      if (JSON.stringify(ours) !== JSON.stringify(opaParse(module.name, module.text, module.version))) differing.push(`${module.file} ${module.name}`);
    }
    expect(differing).toEqual([]);
  });

  it('answers no module for Rego that does not parse, so that opa parse words the problem', async () => {
    expect(await parseInHelper('template.rego', 'package broken\n\nviolation[{"msg": msg}] {\n  msg := \n}\n', 'v0')).toBeUndefined();
    expect(await parseInHelper('template.rego', 'package v0only\n\nviolation[{"msg": "x"}] { true }\n', 'v1')).toBeUndefined();
  });

  it('lets a cold compile start no opa parse at all, with the same outcome, and still words a parse error as opa does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-opa-log-'));
    const log = join(dir, 'calls.log');
    writeFileSync(log, '');
    const opa = join(dir, 'opa');
    writeFileSync(opa, `#!/bin/sh\necho "$1" >> "${log}"\nexec "${defaultOpaPath}" "$@"\n`);
    chmodSync(opa, 0o755);
    const template = {
      version: 'v0' as const,
      libs: ['package lib.names\n\nname(c) = n { n := c.name }\n'],
      rego: 'package k8sprivileged\n\nimport data.lib.names\n\nviolation[{"msg": msg}] {\n  c := input.review.object.spec.containers[_]\n  c.securityContext.privileged\n  msg := sprintf("privileged container %v", [names.name(c)])\n}\n',
    };
    const withHelper = await new OpaCompiler({ cacheDir: null, opaPath: opa, parseModule: parseInHelper }).compile(template);
    const calls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    expect(calls).not.toContain('parse');
    expect(calls).toContain('build');
    const alone = await new OpaCompiler({ cacheDir: null }).compile(template);
    expect(withHelper.ok && alone.ok && withHelper.entrypoint === alone.entrypoint && withHelper.usesInventory === alone.usesInventory).toBe(true);

    const broken = { ...template, rego: 'package broken\n\nviolation[{"msg": msg}] {\n  msg := \n}\n' };
    expect(await new OpaCompiler({ cacheDir: null, parseModule: parseInHelper }).compile(broken)).toEqual(await new OpaCompiler({ cacheDir: null }).compile(broken));
  });
});
