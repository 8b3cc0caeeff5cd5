import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostBuiltins } from '../../../src/engine/rego/builtins.js';
import { SPRINTF_INT_TYPE } from '../../../src/engine/go/fmt.js';
import { goSprintf } from '../../../src/engine/rego/go-sprintf.js';
import type { RegoValue } from '../../../src/engine/rego/rego-value.js';
import { compareRegoValues, parseRegoValue } from '../../../src/engine/rego/rego-value.js';
import { WasmPolicy } from '../../../src/engine/rego/wasm-policy.js';
import { seededRandom } from '../../helpers/seeded-random.js';

const OPA = fileURLToPath(new URL('../../../tools/bin/opa', import.meta.url));

function requireOpa(): string {
  if (!existsSync(OPA)) {
    throw new Error(`the pinned OPA CLI is missing at ${OPA}; run \`npm install\` (scripts/build-go-tool.mjs opa builds it from tools/go.mod)`);
  }
  return OPA;
}

/** sprintf's arguments written as a Rego array literal, as opa_value_dump would print them. */
function sprintfOf(format: string, argsText: string): string {
  const args = parseRegoValue(argsText);
  if (args.type !== 'array') throw new Error('arguments must be an array');
  return goSprintf(format, args.items);
}

describe('goSprintf, specified by example', () => {
  it.each<{ rule: string; format: string; args: string; expected: string }>([
    { rule: 'sets print as Rego literals, sorted', format: '%v', args: '[{"b", "a"}]', expected: '{"a", "b"}' },
    { rule: 'arrays print as Rego literals', format: 'allowed: %v', args: '[["NET_ADMIN", "SYS_TIME"]]', expected: 'allowed: ["NET_ADMIN", "SYS_TIME"]' },
    { rule: 'objects print with sorted keys and ": " separators', format: '%v', args: '[{"b": 1, "a": [true]}]', expected: '{"a": [true], "b": 1}' },
    { rule: 'the empty set prints as set()', format: '%v', args: '[set()]', expected: 'set()' },
    { rule: 'null prints as null', format: '%v', args: '[null]', expected: 'null' },
    { rule: 'strings are passed raw to %v and %s', format: '%v/%s', args: '["a\\"b", "c"]', expected: 'a"b/c' },
    { rule: 'a verb that does not fit the argument reports it Go-style', format: '%d', args: '["x"]', expected: '%!d(string=x)' },
    { rule: 'booleans are strings to Go', format: '%t', args: '[true]', expected: '%!t(string=true)' },
    { rule: 'integers are int, as in the OPA Gatekeeper pins', format: '%s', args: '[5]', expected: '%!s(int=5)' },
    { rule: 'numbers with a "." are float64, printed shortest', format: '%v %v %v', args: '[1.0, 1.50, 1e3]', expected: '1 1.5 1000' },
    { rule: '%v of a float64 switches to exponent form from 1e21 and 1e-5 on', format: '%v %v %v', args: '[1e6, 1e21, 0.00001]', expected: '1e+06 1e+21 1e-05' },
    { rule: 'integers beyond int64 are big.Int', format: '%v %x', args: '[12345678901234567890, 12345678901234567890]', expected: '12345678901234567890 ab54a98ceb1f0ad2' },
    { rule: 'numbers inside composites keep their text', format: '%v', args: '[[1.0, 1e3, 0.10]]', expected: '[1.0, 1e3, 0.10]' },
    { rule: 'missing arguments are reported', format: '%s and %v', args: '["a"]', expected: 'a and %!v(MISSING)' },
    { rule: 'extra arguments are reported with their Go types', format: 'x', args: '[1, "a", 1.5]', expected: 'x%!(EXTRA int=1, string=a, float64=1.5)' },
    { rule: 'a trailing % has no verb', format: '100%', args: '[]', expected: '100%!(NOVERB)' },
    { rule: '%% is a literal percent sign', format: '%d%%', args: '[50]', expected: '50%' },
    { rule: 'width and precision apply to floats', format: '[%8.3f]', args: '[3.14159]', expected: '[   3.142]' },
    { rule: 'floats round half to even on their exact binary value', format: '%.0f %.0f %.2f', args: '[0.5, 2.5, 1.005]', expected: '0 2 1.00' },
    { rule: '%q quotes like strconv.Quote', format: '%q', args: '["tab\\there é \\u2028"]', expected: '"tab\\there é \\u2028"' },
    { rule: 'explicit argument indexes reorder and suppress EXTRA', format: '%[2]v %[1]v', args: '["a", "b", "c"]', expected: 'b a' },
    { rule: '* takes the width from an integer argument', format: '[%*d]', args: '[4, 7]', expected: '[   7]' },
    { rule: 'a non-integer * argument is a bad width', format: '%*d', args: '["w", 7]', expected: '%!(BADWIDTH)7' },
    { rule: 'an overflowing number is passed as its text', format: '%v %d', args: '[1e400, 1e400]', expected: '1e400 %!d(string=1e400)' },
  ])('$rule', ({ format, args, expected }) => {
    expect(sprintfOf(format, args)).toBe(expected);
  });
});

// ---------------------------------------------------------------------------------------------
// Differential test against the pinned Go OPA.

const NUMBERS = [
  '0', '1', '-1', '7', '42', '255', '-255', '65', '233', '128512', '55296', '1114112', '-9', '1000000', '1000001', '-1000001',
  '9223372036854775807', '-9223372036854775808', '9223372036854775808', '-9223372036854775809', '12345678901234567890',
  '-123456789012345678901234567890', '340282366920938463463374607431768211456',
  '1.0', '1.5', '-2.5', '0.5', '2.5', '1.005', '0.1', '0.125', '3.14159', '-0.0', '1e3', '1E5', '1e6', '1e21', '1e20', '1e-5',
  '0.0001', '-2.5e-7', '123456789.0', '100000.0', '999999.5', '1.7976931348623157e308', '5e-324', '2.2250738585072014e-308',
  '1e400', '-1e400', '0.30000000000000004', '12345.6789e-3', '6.02214076e23', '1.0e0', '0.000001234', '9.995', '1e100',
];

/** A Rego string literal in pure ASCII (the Rego parser rejects some raw characters, e.g. a BOM). */
function regoString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const STRINGS = [
  '', 'a', 'x', 'hello', 'héllo wörld', 'say "hi"', 'back\\slash', 'line\nbreak', 'tab\there', '\u0001\u007f', 'zero\u0000byte',
  '\u2028\u2029', '\ufeff', '😀 emoji', '日本語', 'back`tick', "it's", '%d', '%', '\u00a0nbsp', '\u200b', 'e\u0301', '\ud83d\ude00\u0300',
  'CAP_SYS_ADMIN', 'nginx:1.25', 'k8s.gcr.io/pause', '\u{10ffff}', '\ue000',
];

function genValue(r: () => number, depth: number): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const roll = r();
  if (depth > 0 && roll < 0.3) {
    const n = Math.floor(r() * 4);
    const items = Array.from({ length: n }, () => genValue(r, depth - 1));
    const kind = r();
    if (kind < 0.35) return `[${items.join(', ')}]`;
    if (kind < 0.65) return items.length === 0 ? 'set()' : `{${items.join(', ')}}`;
    const entries = new Map<string, string>();
    for (let i = 0; i < n; i++) {
      const key = r() < 0.7 ? regoString(pick(STRINGS)) : genValue(r, depth - 1);
      entries.set(key, genValue(r, depth - 1));
    }
    // Keys equal as Rego values (1 and 1.0) would make the literal ambiguous; keep the first.
    const keys: RegoValue[] = [];
    const unique = [...entries].filter(([k]) => {
      const v = parseRegoValue(k);
      if (keys.some((seen) => compareRegoValues(seen, v) === 0)) return false;
      keys.push(v);
      return true;
    });
    return `{${unique.map(([k, v]) => `${k}: ${v}`).join(', ')}}`;
  }
  if (roll < 0.4) return pick(NUMBERS);
  if (roll < 0.75) return regoString(pick(STRINGS));
  return pick(['null', 'true', 'false', 'set()', '{}', '[]']);
}

const VERBS = 'vvvvssddqxXoObeEfFgGtcUTw%yz!'.split('');

function genDirective(r: () => number, argCount: number): string {
  let d = '%';
  const flags = '+-# 0';
  while (r() < 0.35) d += flags[Math.floor(r() * flags.length)];
  if (r() < 0.05) d += `[${Math.floor(r() * (argCount + 2))}]`;
  const w = r();
  if (w < 0.08) d += '*';
  else if (w < 0.35) d += String(Math.floor(r() * 25));
  const p = r();
  if (p < 0.06) d += '.*';
  else if (p < 0.1) d += '.';
  else if (p < 0.35) d += '.' + String(Math.floor(r() * (r() < 0.1 ? 40 : 8)));
  if (r() < 0.03) d += `[${Math.floor(r() * (argCount + 2))}]`;
  if (r() < 0.02) return d; // no verb at all when it ends the format
  return d + VERBS[Math.floor(r() * VERBS.length)];
}

interface Case {
  format: string;
  args: string;
}

function genCases(count: number, seed: number): Case[] {
  const r = seededRandom(seed);
  const cases: Case[] = [];
  for (let n = 0; n < count; n++) {
    const directives = 1 + Math.floor(r() * 3);
    const argCount = Math.max(0, directives + Math.floor(r() * 4) - 1);
    const args = Array.from({ length: argCount }, () => genValue(r, 3));
    let format = '';
    for (let i = 0; i < directives; i++) {
      if (r() < 0.5) format += ['x=', ' ', ', ', 'é ', '%%', '\n', 'msg: '][Math.floor(r() * 7)];
      const directive = genDirective(r, argCount);
      // A directive without a verb swallows what follows; only allow it last.
      if (!/[A-Za-z%!]$/.test(directive) && i < directives - 1) format += directive + 'v';
      else format += directive;
    }
    cases.push({ format, args: `[${args.join(', ')}]` });
  }
  return cases;
}

const CASE_COUNT = 1500;
const cases = genCases(CASE_COUNT, 20261107);

function casesModule(all: Case[]): string {
  const lines = all.map((c) => `  [${regoString(c.format)}, ${c.args}],`);
  return ['package cases', '', 'out := [sprintf(c[0], c[1]) | some c in cases]', '', 'cases := [', ...lines, ']', ''].join('\n');
}

describe('goSprintf against Go OPA (differential)', () => {
  let dir: string;
  let expected: string[];

  beforeAll(() => {
    const opa = requireOpa();
    dir = mkdtempSync(join(tmpdir(), 'parapet-sprintf-'));
    writeFileSync(join(dir, 'cases.rego'), casesModule(cases));
    // One process for every case: opa eval evaluates the whole comprehension.
    const out = execFileSync(opa, ['eval', '--format', 'raw', '--data', join(dir, 'cases.rego'), 'data.cases.out'], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    // The one documented difference between the pinned OPA and Gatekeeper's (OPA 1.17.1): Go type
    // name of integers in error verbs. Parapet prints Gatekeeper's `int`.
    expected = (JSON.parse(out) as string[]).map((text) => text.replace(/\bint64=/g, `${SPRINTF_INT_TYPE}=`));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`generates ${CASE_COUNT} cases that exercise sets, non-string keys, big numbers and every verb`, () => {
    const text = cases.map((c) => c.format + c.args).join('\n');
    expect(text).toMatch(/set\(\)/);
    expect(text).toMatch(/\{[^{}":]*\}/); // a non-empty set literal
    expect(text).toMatch(/\{(null|true|false|-?\d)[^,]*: /); // a non-string object key
    expect(text).toContain('12345678901234567890');
    expect(text).toContain('1e400');
    for (const verb of ['v', 's', 'd', 'q', 'x', 'X', 'o', 'b', 'e', 'E', 'f', 'F', 'g', 'G', 't', 'c', 'U', 'T', 'w']) {
      expect(text).toContain(`${verb}`);
    }
    expect(expected).toHaveLength(CASE_COUNT);
  });

  it('formats every case byte for byte like Go OPA', () => {
    const mismatches: string[] = [];
    cases.forEach((c, i) => {
      let actual: string;
      try {
        actual = sprintfOf(c.format, c.args);
      } catch (error) {
        actual = `<threw ${String(error)}>`;
      }
      if (actual !== expected[i]) {
        mismatches.push(`#${i} sprintf(${JSON.stringify(c.format)}, ${c.args})\n  go: ${JSON.stringify(expected[i])}\n  ts: ${JSON.stringify(actual)}`);
      }
    });
    expect(mismatches.slice(0, 20).join('\n')).toBe('');
  });

  it('gives the same messages when the cases run in a Wasm policy with our host builtins', async () => {
    const opa = requireOpa();
    execFileSync(opa, ['build', '-t', 'wasm', '-e', 'cases/out', '-o', join(dir, 'bundle.tar.gz'), join(dir, 'cases.rego')], { cwd: dir });
    execFileSync('tar', ['-xzf', join(dir, 'bundle.tar.gz'), '-C', dir, '/policy.wasm']);
    const policy = await WasmPolicy.load(await WasmPolicy.compile(readFileSync(join(dir, 'policy.wasm'))), hostBuiltins);
    const [messages] = policy.evaluate('{}') as [string[]];
    expect(messages).toHaveLength(CASE_COUNT);
    const mismatches = messages.flatMap((m, i) => (m === expected[i] ? [] : [`#${i} go: ${JSON.stringify(expected[i])} wasm: ${JSON.stringify(m)}`]));
    expect(mismatches.slice(0, 20).join('\n')).toBe('');
  });
});
