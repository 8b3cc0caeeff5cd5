import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultYamlLimits, parseYamlFile, parseYamlFileInFull, type ParsedYamlFile } from '../../src/engine/repo/yaml-file.js';
import { readPlainYaml } from '../../src/engine/repo/yaml-plain.js';
import { fixturesDir, repoRoot } from '../helpers/engine.js';

// The fast reader of plain block YAML (yaml-plain.ts) against the general path (the `yaml` library
// and both readings, which test/engine/yaml-decoding.test.ts holds to the Go libraries): on every
// file it reads, the very same documents, values, lines and key order; every other file is left to
// the general path.

/** What the general path makes of a file the fast reader may read: its documents, else "not plain". */
function general(text: string): string {
  const full = parseYamlFileInFull('f.yaml', text);
  const plain = full.errors.length === 0 && full.documents.every((d) => d.kyaml === undefined && d.warnings === undefined);
  return plain ? JSON.stringify(full.documents) : 'not plain';
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

/** A seeded generator of block YAML: mostly the plain subset, with its edges and what leaves it. */
function generate(seed: number): string {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const plainScalars = ['web', 'a b', "'it''s'", '"quoted: yes"', "''", '""', '-1', '+1', '1e3', '0x1F', '0777', '1_000', '.5', 'true', 'True', 'null', '~', 'http://x/y', 'a#b', 'a #comment', '[]', '{}', '[a, "b", \'c\']', '[ "" ]', 'x:y'];
  const otherScalars = ['yes', 'off', '2024-01-01', '.inf', '"tab\\tescape"', '[a,]', 'a: b', '!tag x', '>', '-', '&a', '&b x', '*a', '*b', '*c', '&a *b'];
  const scalar = () => pick(random() < 0.8 ? plainScalars : otherScalars);
  const keys = ['name', 'kind', 'a b', '"quoted"', "'single'", 'image', 'x-kubernetes', 'spec', 'data', 'y', 'dup', 'dup'];
  const lines: string[] = [];
  const block = (indent: number, depth: number) => {
    const pad = ' '.repeat(indent);
    const entries = 1 + Math.floor(random() * 4);
    const asSequence = random() < 0.3;
    for (let e = 0; e < entries; e++) {
      if (random() < 0.1) lines.push(`${' '.repeat(Math.floor(random() * 8))}# a comment`);
      if (random() < 0.05) lines.push('');
      const lead = asSequence ? `${pad}- ` : pad;
      const key = asSequence && random() < 0.5 ? '' : `${pick(keys)}:`;
      const r = random();
      if (depth < 4 && r < 0.3 && key) {
        lines.push(`${lead}${key}${random() < 0.2 ? ' # comment' : ''}${random() < 0.2 ? ` &${pick(['a', 'b'])}` : ''}`);
        block(indent + (random() < 0.2 && !asSequence ? 0 : 2), depth + 1);
      } else if (r < 0.45) {
        lines.push(`${lead}${key}${key ? ' ' : ''}${pick(['|', '|-', '|', '|-', '| # header', '>', '>-', '|+', '|2'])}`);
        const inner = ' '.repeat(indent + (asSequence ? 4 : 2));
        const count = 1 + Math.floor(random() * 4);
        for (let l = 0; l < count; l++) lines.push(pick([`${inner}package x`, `${inner}  deeper: {x}`, '', `${inner}# not a comment`, ' '.repeat(inner.length + 1), inner.slice(1)]));
      } else {
        lines.push(`${lead}${key}${key ? ' ' : ''}${scalar()}`);
        // A plain scalar continued on the next line, or a line indented into nothing.
        if (random() < 0.05) lines.push(`${pad}    continued`);
      }
    }
  };
  const documents = 1 + Math.floor(random() * 3);
  for (let d = 0; d < documents; d++) {
    if (d > 0 || random() < 0.3) lines.push(pick(['---', '--- # next', '---']));
    if (random() < 0.1) continue;
    block(0, 0);
  }
  return `${lines.join('\n')}${random() < 0.95 ? '\n' : ''}`;
}

describe('reading plain block YAML', () => {
  it("reads every fixture and policy file it takes exactly as the general path does, and takes most of them", () => {
    const files = [...yamlFiles(fixturesDir), ...yamlFiles(join(repoRoot, 'policies'))];
    const differ: string[] = [];
    let read = 0;
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const plain = readPlainYaml('f.yaml', text, defaultYamlLimits);
      if (!plain) continue;
      read++;
      if (JSON.stringify(plain) !== general(text)) differ.push(file);
    }
    expect(differ).toEqual([]);
    expect(read / files.length).toBeGreaterThan(0.8);
  });

  it('reads 5,000 generated files exactly as the general path does, or leaves them to it', () => {
    const differ: string[] = [];
    let read = 0;
    for (let seed = 1; seed <= 5000; seed++) {
      const text = generate(seed);
      const plain = readPlainYaml('f.yaml', text, defaultYamlLimits);
      if (!plain) continue;
      read++;
      const want = general(text);
      if (JSON.stringify(plain) !== want) differ.push(`seed ${seed}:\n${text}\nplain   ${JSON.stringify(plain)}\ngeneral ${want}`);
    }
    expect(differ.slice(0, 3)).toEqual([]);
    // The generator leaves the subset often, on purpose: enough stays in it to mean something.
    expect(read).toBeGreaterThan(600);
  });

  it('reads an anchored mapping and its alias as the general path does: the same labels, the alias on its own line', () => {
    const text = [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: web',
      '  labels: &labels',
      '    app: web',
      'spec:',
      '  template:',
      '    metadata:',
      '      labels: *labels',
      '',
    ].join('\n');
    const plain = readPlainYaml('f.yaml', text, defaultYamlLimits);
    expect(JSON.stringify(plain)).toBe(general(text));
    const lines = plain![0]!.lines;
    expect(lines.keys!.spec!.keys!.template!.keys!.metadata!.keys!.labels).toEqual({ line: 10, keys: { app: { line: 6 } } });
    expect((plain![0]!.value as { spec: { template: { metadata: { labels: unknown } } } }).spec.template.metadata.labels).toEqual({ app: 'web' });
  });

  it("folds a plain scalar continued on the lines under it, as the gatekeeper-library's samples write long messages", () => {
    const text = 'kind: K8sRequiredLabels\nspec:\n  parameters:\n    message: All namespaces must have an `owner` label\n      that points to your company\n      username\n    labels: []\n';
    const plain = readPlainYaml('f.yaml', text, defaultYamlLimits);
    expect(JSON.stringify(plain)).toBe(general(text));
    expect((plain![0]!.value as { spec: { parameters: { message: string } } }).spec.parameters.message).toBe('All namespaces must have an `owner` label that points to your company username');
    expect(plain![0]!.lines.keys!.spec!.keys!.parameters!.keys!.labels!.line).toBe(7);
  });

  it('leaves absurd nesting to the general path, which reports where it gives up, instead of failing itself', () => {
    const nested = (depth: number) => `${Array.from({ length: depth }, (_, i) => `${' '.repeat(i)}k:`).join('\n')}\n${' '.repeat(depth)}v: 1\n`;
    expect(readPlainYaml('f.yaml', nested(150), defaultYamlLimits)).toHaveLength(1);
    expect(readPlainYaml('f.yaml', nested(250), defaultYamlLimits)).toBeUndefined();
    // Deeper than the stack: the general path's error (where it gives up depends on the stack), as
    // before there was a fast reader.
    const parsed = parseYamlFile('deep.yaml', nested(3000));
    expect(parsed.documents).toEqual([]);
    expect(parsed.errors.map((e) => [e.code, e.message])).toEqual([['yaml', 'YAML: Maximum call stack size exceeded']]);
  });

  it('leaves a file to the general path as soon as one document leaves the subset', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  enabled: yes\n';
    expect(readPlainYaml('f.yaml', text, defaultYamlLimits)).toBeUndefined();
    const parsed = parseYamlFile('cluster/apps/config.yaml', text);
    expect(parsed.documents.map((d) => (d.value as { data?: unknown }).data)).toEqual([undefined, { enabled: true }]);
    expect(parsed.documents[1]!.warnings?.map((w) => w.location.line)).toEqual([11]);
  });

  it('parses a 5 MiB CustomResourceDefinition bundle several times faster than the general path, in time linear in its size', () => {
    const bundle = (crds: number) => Array.from({ length: crds }, (_, i) => crd(i)).join('');
    const large = bundle(96);
    expect(large.length).toBeGreaterThan(4.5 * 1024 * 1024);
    expect(large.length).toBeLessThan(defaultYamlLimits.maxFileBytes);
    const small = bundle(48);
    // CPU time (a loaded machine stretches the clock), each the least of three runs taken in turn.
    const cost = (parse: (text: string) => ParsedYamlFile, text: string) => {
      const before = process.cpuUsage();
      const parsed = parse(text);
      const used = process.cpuUsage(before);
      expect(parsed.errors).toEqual([]);
      return used.user + used.system;
    };
    const fast = (text: string) => parseYamlFile('crds.yaml', text);
    const full = (text: string) => parseYamlFileInFull('crds.yaml', text);
    fast(small);
    full(small);
    const costs = { fast: [] as number[], full: [] as number[], small: [] as number[] };
    for (let run = 0; run < 3; run++) {
      costs.fast.push(cost(fast, large));
      costs.full.push(cost(full, large));
      costs.small.push(cost(fast, small));
    }
    expect(JSON.stringify(fast(large).documents)).toBe(JSON.stringify(full(large).documents));
    expect(Math.min(...costs.full) / Math.min(...costs.fast)).toBeGreaterThan(3);
    expect(Math.min(...costs.fast) / Math.min(...costs.small)).toBeLessThan(3);
  });
});

/** A CustomResourceDefinition as controller-gen writes them: a deep openAPIV3Schema, about 100 KiB. */
function crd(n: number): string {
  const lines = [
    '---',
    'apiVersion: apiextensions.k8s.io/v1',
    'kind: CustomResourceDefinition',
    'metadata:',
    '  annotations:',
    '    controller-gen.kubebuilder.io/version: v0.16.1',
    `  name: things${n}.monitoring.example.com`,
    'spec:',
    '  group: monitoring.example.com',
    '  names:',
    `    kind: Thing${n}`,
    `    plural: things${n}`,
    '  scope: Namespaced',
    '  versions:',
    '  - name: v1',
    '    schema:',
    '      openAPIV3Schema:',
    '        properties:',
  ];
  const properties = (depth: number, indent: string) => {
    for (let i = 0; i < 4; i++) {
      lines.push(`${indent}field${depth}x${i}:`);
      lines.push(`${indent}  description: |-`, `${indent}    The field${i} at depth ${depth}: how the operator handles it.`, '', `${indent}    Optional; "empty" when it is not set.`);
      if (depth < 4 && i < 2) {
        lines.push(`${indent}  properties:`);
        properties(depth + 1, `${indent}    `);
        lines.push(`${indent}  required: ["field${depth + 1}x0"]`, `${indent}  type: object`);
      } else if (i === 2) {
        lines.push(`${indent}  items:`, `${indent}    type: string`, `${indent}  maxItems: 16`, `${indent}  type: array`, `${indent}  x-kubernetes-list-type: atomic`);
      } else {
        lines.push(`${indent}  anyOf:`, `${indent}  - type: integer`, `${indent}  - type: string`, `${indent}  pattern: ^(\\+|-)?[0-9]+$`, `${indent}  x-kubernetes-int-or-string: true`);
      }
    }
  };
  properties(0, '          ');
  lines.push('        type: object', '    served: true', '    storage: true', '');
  return lines.join('\n');
}

describe('loading the yaml library', () => {
  it('is left to the first file that needs it: a thread parsing plain manifests never loads it', () => {
    // A fresh process, as each evaluation worker is: which modules the parsing loaded.
    const script = `
      import { createRequire } from 'node:module';
      import { parseYamlFile } from ${JSON.stringify(join(repoRoot, 'src/engine/repo/yaml-file.ts'))};
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes('/node_modules/yaml/'));
      const plain = parseYamlFile('a.yaml', 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: a\\n');
      const before = loaded();
      const other = parseYamlFile('b.yaml', 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: b}\\n');
      console.log(JSON.stringify({ before, after: loaded(), names: [plain, other].map((p) => p.documents[0].value.metadata.name) }));
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ before: false, after: true, names: ['a', 'b'] });
  });
});
