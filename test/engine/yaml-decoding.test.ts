import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseYamlFile, type YamlDocument } from '../../src/engine/repo/yaml-file.js';
import { parseTimestamp } from '../../src/engine/repo/yaml-readings.js';
import { fixturesDir, repoRoot } from '../helpers/engine.js';
import { seededRandom } from '../helpers/seeded-random.js';

// Parapet's two readings of YAML against the Go libraries the appliers use, on the same bytes:
// tools/yamlcheck decodes with sigs.k8s.io/yaml (kubectl, Argo CD) and builds with the pinned
// kustomize API, reading its output back as Flux's kustomize-controller does. Each reading must give
// the same JSON, or fail where the Go one fails.
const yamlcheck = join(repoRoot, 'tools', 'bin', 'yamlcheck');

beforeAll(() => {
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build-go-tool.mjs'), 'yamlcheck'], { stdio: 'inherit' });
}, 15 * 60_000);

interface GoDocument {
  json?: unknown;
  error?: string;
}
interface GoReading {
  documents: GoDocument[];
  error?: string;
}
interface GoResult {
  sigs: GoReading;
  kyaml: GoReading;
  kustomize: GoReading;
}

function goReadings(files: string[]): GoResult[] {
  return JSON.parse(execFileSync(yamlcheck, { input: JSON.stringify(files), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })) as GoResult[];
}

type Outcome = { value: unknown } | { error: true };

/** What Parapet reads from a one-document file, per reading. */
function parapet(text: string): { sigs: Outcome; kyaml: Outcome; doc?: YamlDocument } {
  const parsed = parseYamlFile('f.yaml', text);
  const doc = parsed.documents[0];
  if (!doc) return { sigs: { error: true }, kyaml: { error: true } };
  const kyaml: Outcome = !doc.kyaml ? { value: doc.value } : 'error' in doc.kyaml ? { error: true } : { value: doc.kyaml.value };
  return { sigs: { value: doc.value }, kyaml, doc };
}

function goOutcome(reading: GoReading): Outcome {
  if (reading.error !== undefined) return { error: true };
  const doc = reading.documents.find((d) => d.json !== null);
  if (!doc) return { error: true };
  return doc.error !== undefined ? { error: true } : { value: doc.json };
}

/** JSON as Go prints it and JavaScript reads it back: numbers as doubles, keys in any order. */
function normal(outcome: Outcome): unknown {
  return 'error' in outcome ? 'error' : JSON.parse(JSON.stringify(outcome.value));
}

// A small seeded generator (mulberry32): the same documents on every run.
const SCALARS = [
  'yes', 'Yes', 'YES', 'no', 'No', 'NO', 'on', 'On', 'ON', 'off', 'Off', 'OFF', 'y', 'Y', 'n', 'N', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE', 'tRUE',
  '0777', '0o17', '-0o17', '0x1F', '0X1f', '0x_1F', '0b101', '-0b11', '1_000', '1:30', '190:20:30', '+12', '-0', '08', '09.5', '0.5', '.5', '1.', '1e3', '1E3', '1.0e+3', '-1.5e-3',
  '.inf', '-.Inf', '+.INF', '.nan', '~', 'null', 'Null', 'NULL', 'nUll', '',
  '2001-12-14', '2001-1-1', '2001-12-14T21:59:43.10-05:00', '2001-12-14t21:59:43.10-05:00', '2001-12-14 21:59:43.10', '2002-12-14T01:02:03Z', '2001-2-30',
  'hello', 'nginx:1.25', 'a b', '"quoted yes"', "'0777'", '"on"', '!!str 0777', '!!str yes', '!!str ~', '!!binary aGVsbG8=', '!!binary "aW1hZ2U6MQ=="', '!!int "12"', '!!float 1', '!!bool true',
  '123456789', '9007199254740993', '9223372036854775807', '9223372036854775808', '18446744073709551616', '-9223372036854775808',
];
const KEYS = ['image', 'name', 'privileged', 'value', 'port', 'x', 'data', 'y', 'n', 'yes', 'on', 'off', 'No', '1', '0x10', '1.5', 'true', 'null', '"quoted"'];

/** A generated document: its body under `spec`, with anchors declared before they are used. */
function generate(seed: number): string {
  const rnd = seededRandom(seed);
  const pick = <T,>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
  const anchors: string[] = [];
  const lines: string[] = ['apiVersion: example.com/v1', 'kind: Thing', 'metadata:', `  name: thing-${seed}`, 'spec:'];
  const scalar = () => pick(SCALARS);
  const key = () => (rnd() < 0.8 ? pick(KEYS.slice(0, 6)) : pick(KEYS));
  const block = (indent: string, depth: number): void => {
    const used = new Set<string>();
    const count = 1 + Math.floor(rnd() * 4);
    for (let i = 0; i < count; i++) {
      let k = key();
      // Duplicate keys now and then; otherwise each key once.
      if (used.has(k) && rnd() > 0.1) k = `${k}${i}`;
      used.add(k);
      const r = rnd();
      if (r < 0.1 && anchors.length > 0) {
        lines.push(`${indent}<<: ${rnd() < 0.5 ? `*${pick(anchors)}` : `[${anchors.slice(-2).map((a) => `*${a}`).join(', ')}]`}`);
      } else if (r < 0.18 && depth < 3) {
        const anchor = `a${anchors.length}`;
        lines.push(`${indent}${k}: &${anchor}`);
        block(`${indent}  `, depth + 1);
        anchors.push(anchor);
      } else if (r < 0.28 && depth < 3) {
        lines.push(`${indent}${k}:`);
        block(`${indent}  `, depth + 1);
      } else if (r < 0.36 && depth < 3) {
        lines.push(`${indent}${k}:`);
        const items = 1 + Math.floor(rnd() * 3);
        for (let j = 0; j < items; j++) lines.push(`${indent}- ${scalar()}`);
      } else if (r < 0.42) {
        lines.push(`${indent}${k}: [${[scalar(), scalar()].filter((s) => s !== '').join(', ')}]`);
      } else if (r < 0.46 && anchors.length > 0) {
        lines.push(`${indent}${k}: {<<: *${pick(anchors)}, ${pick(KEYS.slice(0, 6))}: ${scalar() || 'v'}}`);
      } else if (r < 0.5) {
        lines.push(`${indent}${k}: ${pick(['|', '>-', '|+'])}`, `${indent}  ${scalar() || 'text'}`, `${indent}  second line`);
      } else if (r < 0.53) {
        lines.push(`${indent}${k}: "first`, `${indent}  second \\"quoted\\" line"`);
      } else if (r < 0.55 && anchors.length > 0) {
        lines.push(`${indent}${k}: *${pick(anchors)}`);
      } else {
        lines.push(`${indent}${k}: ${scalar()}`);
      }
    }
  };
  block('  ', 1);
  return `${lines.join('\n')}\n`;
}

/** Every case the issue names, written as a manifest would write it. */
const NAMED: Record<string, string> = {
  'privileged: yes': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: nginx\n    securityContext:\n      privileged: yes\n',
  'allowPrivilegeEscalation: off': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: nginx\n    securityContext:\n      allowPrivilegeEscalation: off\n',
  'a merge key': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: nginx\n    securityContext: {<<: {privileged: true}}\n',
  'a merge key written before an override': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nx: &d {privileged: true, runAsUser: 0}\nspec:\n  containers:\n  - name: c\n    image: nginx\n    securityContext:\n      privileged: false\n      <<: *d\n',
  'a list of merges': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nx: &a {runAsUser: 1}\ny: &b {runAsUser: 2, privileged: true}\nspec:\n  containers:\n  - name: c\n    image: nginx\n    securityContext: {<<: [*a, *b]}\n',
  '!!binary image': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: !!binary bmdpbng6MS4yNQ==\n',
  'octal mode': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  volumes:\n  - name: v\n    secret:\n      secretName: s\n      defaultMode: 0777\n',
  'a duplicate key': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  hostNetwork: false\n  hostNetwork: true\n',
  'a multi-line double-quoted string': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\n  annotations:\n    kubernetes.io/ingress.allow-http: "false"\n    note: "first\n      second"\n',
  // gatekeeper-library's httpsonly template: go-yaml reads continuation lines at any indentation.
  'a double-quoted string continued at its key’s indentation': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\n  annotations:\n    note: "first\n    second"\n    other: "x"\n',
  'a double-quoted string continued at column 0, with an escape': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\ndata:\n  a: "first \\"\nsecond\\\n third\n\n  fourth"\n  b: c\n',
  'a single-quoted string continued under its key': "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\ndata:\n  a: 'it''s\n  continued'\n  b: 'x\nand'\n",
  'a y key': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\ndata:\n  x: "1"\n  y: "2"\n',
  'a timestamp in data': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\ndata:\n  date: 2001-12-14\n',
  'an integer label': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\n  labels:\n    version: 2\n',
};

function fixtureFiles(): Array<{ path: string; text: string }> {
  const out: Array<{ path: string; text: string }> = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(name)) out.push({ path: relative(fixturesDir, path), text: readFileSync(path, 'utf8') });
    }
  };
  walk(fixturesDir);
  return out;
}

describe('YAML decoding against the Go libraries', () => {
  it('reads every named case as sigs.k8s.io/yaml and as kustomize (Flux) do', () => {
    const names = Object.keys(NAMED);
    const go = goReadings(names.map((n) => NAMED[n]!));
    const disagreements = names.flatMap((name, i) => {
      const ours = parapet(NAMED[name]!);
      const theirs = go[i]!;
      const out: string[] = [];
      if (!deepEqual(normal(ours.sigs), normal(goOutcome(theirs.sigs)))) out.push(`${name} (sigs): ${JSON.stringify(normal(ours.sigs))} vs ${JSON.stringify(normal(goOutcome(theirs.sigs)))}`);
      if (!deepEqual(normal(ours.kyaml), normal(goOutcome(theirs.kustomize)))) out.push(`${name} (kyaml): ${JSON.stringify(normal(ours.kyaml))} vs ${JSON.stringify(normal(goOutcome(theirs.kustomize)))}`);
      return out;
    });
    expect(disagreements).toEqual([]);
  });

  it('keeps every line where a quoted string continues at its key’s indentation, and still refuses one that never closes', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\n  annotations:\n    note: "first\n    second"\n    other: \'x\nand\'\ndata:\n  a: b\n';
    const parsed = parseYamlFile('f.yaml', text);
    expect(parsed.errors).toEqual([]);
    const lines = parsed.documents[0]!.lines;
    expect([lines.keys!.metadata!.keys!.annotations!.keys!.other!.line, lines.keys!.data!.keys!.a!.line]).toEqual([8, 11]);
    expect(parsed.documents[0]!.value).toMatchObject({ metadata: { annotations: { note: 'first second', other: 'x and' } } });
    expect(parseYamlFile('f.yaml', 'a: "first\n  b: c\n').errors).toEqual([{ location: { file: 'f.yaml', line: 1 }, code: 'yaml', message: 'YAML: Missing closing "quote' }]);
  });

  it('reads 400 generated documents as both Go libraries do', () => {
    const texts = Array.from({ length: 400 }, (_, i) => generate(i + 1));
    const go = goReadings(texts);
    const disagreements: string[] = [];
    texts.forEach((text, i) => {
      const ours = parapet(text);
      const sigs = [normal(ours.sigs), normal(goOutcome(go[i]!.sigs))];
      const kyaml = [instants(normal(ours.kyaml)), instants(normal(goOutcome(go[i]!.kustomize)))];
      if (!deepEqual(sigs[0], sigs[1])) disagreements.push(`seed ${i + 1} (sigs):\n${text}\nparapet ${JSON.stringify(sigs[0])}\ngo      ${JSON.stringify(sigs[1])}`);
      if (!deepEqual(kyaml[0], kyaml[1])) disagreements.push(`seed ${i + 1} (kyaml):\n${text}\nparapet ${JSON.stringify(kyaml[0])}\ngo      ${JSON.stringify(kyaml[1])}`);
    });
    expect(disagreements.slice(0, 3)).toEqual([]);
    expect(disagreements.length).toBe(0);
  });

  it("reads the repository's fixtures as sigs.k8s.io/yaml does", () => {
    // Files Parapet refuses for a limit (the alias bomb) would take the Go libraries hours.
    const files = fixtureFiles().filter((f) => !parseYamlFile(f.path, f.text).errors.some((e) => e.code === 'limit'));
    const go = goReadings(files.map((f) => f.text));
    const disagreements: string[] = [];
    files.forEach((file, i) => {
      const parsed = parseYamlFile(file.path, file.text);
      const reading = go[i]!.sigs;
      // Only files both read whole: a broken fixture's errors are the bad-input tests' business.
      if (parsed.errors.length > 0 || reading.error !== undefined || reading.documents.some((d) => d.error !== undefined)) return;
      const theirs = reading.documents.map((d) => d.json).filter((json) => json !== null);
      const ours = parsed.documents.map((d) => JSON.parse(JSON.stringify(d.value)) as unknown);
      if (!deepEqual(ours, theirs)) disagreements.push(file.path);
    });
    expect(disagreements).toEqual([]);
  });
});

/**
 * A date with a time of day as the instant it names: kustomize writes some back as written and
 * some as RFC 3339 (docs/fidelity.md), the same instant either way.
 */
function instants(value: unknown): unknown {
  if (typeof value === 'string' && /^\d{4}-\d{1,2}-\d{1,2}[Tt ]\d/.test(value)) return parseTimestamp(value) ?? value;
  if (Array.isArray(value)) return value.map(instants);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, instants(v)]));
  return value;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
