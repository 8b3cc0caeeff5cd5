import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RegoValue } from '../../../src/engine/rego/rego-value.js';
import {
  RegoParseError,
  compareRegoValues,
  formatRegoValue,
  jsonToRegoValue,
  parseRegoValue,
  regoValueToJson,
  regoValueToText,
} from '../../../src/engine/rego/rego-value.js';

const OPA = fileURLToPath(new URL('../../../tools/bin/opa', import.meta.url));

function requireOpa(): string {
  if (!existsSync(OPA)) {
    throw new Error(`the pinned OPA CLI is missing at ${OPA}; run \`npm install\` (scripts/build-go-tool.mjs opa builds it from tools/go.mod)`);
  }
  return OPA;
}

const num = (text: string): RegoValue => ({ type: 'number', text });
const str = (value: string): RegoValue => ({ type: 'string', value });

describe('parseRegoValue reads opa_value_dump text', () => {
  it('reads scalars', () => {
    expect(parseRegoValue('null')).toEqual({ type: 'null' });
    expect(parseRegoValue('true')).toEqual({ type: 'boolean', value: true });
    expect(parseRegoValue(' false ')).toEqual({ type: 'boolean', value: false });
    expect(parseRegoValue('"x"')).toEqual(str('x'));
  });

  it('keeps the text of numbers, because sprintf and composites print it', () => {
    for (const text of ['0', '-7', '1.0', '1e3', '1E3', '-2.5e-7', '12345678901234567890', '0.0010000000', '1.5e+310', '-0.0']) {
      expect(parseRegoValue(text)).toEqual(num(text));
    }
  });

  it('reads numbers of any length', () => {
    const digits = '9'.repeat(100_000);
    expect(parseRegoValue(`[${digits}, 1]`)).toEqual({ type: 'array', items: [num(digits), num('1')] });
  });

  it('decodes JSON string escapes and leaves raw UTF-8 alone', () => {
    expect(parseRegoValue('"q\\"\\\\\\/\\b\\f\\n\\r\\t\\u0001"')).toEqual(str('q"\\/\b\f\n\r\t\u0001'));
    expect(parseRegoValue('"\\u00e9\\ud83d\\ude00"')).toEqual(str('é😀'));
    expect(parseRegoValue('"é 😀 \u2028"')).toEqual(str('é 😀 \u2028'));
  });

  it('reads arrays, sets and objects, including the empty set', () => {
    expect(parseRegoValue('[1, "a", []]')).toEqual({ type: 'array', items: [num('1'), str('a'), { type: 'array', items: [] }] });
    expect(parseRegoValue('{3, 1, "a"}')).toEqual({ type: 'set', items: [num('3'), num('1'), str('a')] });
    expect(parseRegoValue('set()')).toEqual({ type: 'set', items: [] });
    expect(parseRegoValue('{}')).toEqual({ type: 'object', entries: [] });
    expect(parseRegoValue('{"b": 1, "a": set()}')).toEqual({
      type: 'object',
      entries: [
        [str('b'), num('1')],
        [str('a'), { type: 'set', items: [] }],
      ],
    });
  });

  it('reads objects with non-string keys in the order the Wasm dumped them', () => {
    const value = parseRegoValue('{[1]: 1, 3: "x", "b": 1, {1, 2}: 0, null: true}');
    expect(value.type === 'object' && value.entries.map(([k]) => k.type)).toEqual(['array', 'number', 'string', 'set', 'null']);
  });

  it('merges duplicate set members and object keys the way Go OPA builds a literal', () => {
    expect(parseRegoValue('{1.0, 1, 2}')).toEqual({ type: 'set', items: [num('1.0'), num('2')] });
    expect(parseRegoValue('{1: "a", 1.0: "b"}')).toEqual({ type: 'object', entries: [[num('1'), str('b')]] });
  });

  it.each(['', '[1,', '{"a" 1}', '"unterminated', '[1] 2', 'nul', '1.2.3', '"\\x41"', '{1: 2, 3}'])('rejects malformed text %j', (text) => {
    expect(() => parseRegoValue(text)).toThrow(RegoParseError);
  });
});

describe('formatRegoValue prints like Go OPA Value.String()', () => {
  it.each<[string, string]>([
    ['{"b", "a"}', '{"a", "b"}'],
    ['set()', 'set()'],
    ['{}', '{}'],
    ['{"b": 1, "a": [true, null]}', '{"a": [true, null], "b": 1}'],
    ['{[1]: 1, 3: "x", "b": 1, {1, 2}: 0}', '{3: "x", "b": 1, [1]: 1, {1, 2}: 0}'],
    ['[1.0, 1e3, 0.10, -0.0]', '[1.0, 1e3, 0.10, -0.0]'],
    ['{3, 1.5, -2, 10}', '{-2, 1.5, 3, 10}'],
    ['"tab\\t nl\\n bell\\u0007 del\\u007f"', '"tab\\t nl\\n bell\\a del\\x7f"'],
    ['"\\u00e9 \\u2028 \\ufeff \\u00a0 \\ue000"', '"é \\u2028 \\ufeff \\u00a0 \\ue000"'],
    ['"😀 \\ud83d"', '"😀 �"'],
    ['"quote \\" backslash \\\\"', '"quote \\" backslash \\\\"'],
  ])('%s prints as %s', (dumped, printed) => {
    expect(formatRegoValue(parseRegoValue(dumped))).toBe(printed);
  });
});

describe('compareRegoValues is Go OPA ast.Compare', () => {
  const sorted = (texts: string[]) => texts.map(parseRegoValue).sort(compareRegoValues).map(formatRegoValue);

  it('orders types null < boolean < number < string < array < object < set', () => {
    expect(sorted(['{1}', '{"a": 1}', '[1]', '"a"', '1', 'true', 'null', 'false'])).toEqual([
      'null',
      'false',
      'true',
      '1',
      '"a"',
      '[1]',
      '{"a": 1}',
      '{1}',
    ]);
  });

  it('compares numbers by exact value, whatever their text', () => {
    const cmp = (a: string, b: string) => compareRegoValues(num(a), num(b));
    expect(cmp('1', '1.0')).toBe(0);
    expect(cmp('1e3', '1000')).toBe(0);
    expect(cmp('-0.0', '0')).toBe(0);
    expect(cmp('10.0', '1')).toBe(1);
    expect(cmp('9007199254740993', '9007199254740992')).toBe(1);
    expect(cmp('0.1', '0.10000000000000001')).toBe(-1);
    expect(cmp('-1e400', '-1e399')).toBe(-1);
    expect(cmp('12345678901234567890', '1.2345678901234567891e19')).toBe(-1);
  });

  it('compares strings by UTF-8 bytes, not UTF-16 units', () => {
    expect(compareRegoValues(str('\uffff'), str('😀'))).toBe(-1);
    expect(compareRegoValues(str('a'), str('ab'))).toBe(-1);
    expect(compareRegoValues(str('B'), str('a'))).toBe(-1);
  });

  it('compares arrays element by element, then by length', () => {
    expect(sorted(['[2]', '[1, 5]', '[1]', '[]'])).toEqual(['[]', '[1]', '[1, 5]', '[2]']);
  });

  it('compares objects by sorted keys and values, and sets by sorted members', () => {
    expect(sorted(['{"b": 1}', '{"a": 2}', '{"a": 1, "b": 1}', '{"a": 1}'])).toEqual(['{"a": 1}', '{"a": 1, "b": 1}', '{"a": 2}', '{"b": 1}']);
    expect(sorted(['{3}', '{2, 1}', '{1}', 'set()'])).toEqual(['set()', '{1}', '{1, 2}', '{3}']);
  });

  it('sorts a generated mix of values exactly as Go OPA does', () => {
    const opa = requireOpa();
    const pool = [
      'null', 'true', 'false', '0', '-1', '1.5', '1e3', '-2.5e-7', '12345678901234567890', '-12345678901234567890', '0.1', '1e400', '3',
      '""', '"a"', '"B"', '"é"', '"\\uffff"', '"\\ud83d\\ude00"', '"a\\u0000"', '[]', 'set()', '{}',
    ];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const gen = (depth: number): string => {
      if (depth === 0 || next() < 0.5) return pool[Math.floor(next() * pool.length)]!;
      const items = Array.from({ length: Math.floor(next() * 3) + 1 }, () => gen(depth - 1));
      const kind = next();
      if (kind < 0.33) return `[${items.join(', ')}]`;
      if (kind < 0.66) return `{${items.join(', ')}}`;
      return `{${items.map((k, i) => `${k}: ${pool[i]}`).join(', ')}}`;
    };
    // Values that compare equal but print differently (1 and 1.0) would make Go's unstable sort
    // ambiguous, so keep one of each.
    const values: RegoValue[] = [];
    for (let i = 0; i < 400; i++) {
      const value = parseRegoValue(gen(3));
      if (!values.some((v) => compareRegoValues(v, value) === 0)) values.push(value);
    }
    const dir = mkdtempSync(join(tmpdir(), 'parapet-compare-'));
    try {
      const module = `package order\n\nout := [sprintf("%v", [sort(values)])]\n\nvalues := [\n${values.map((v) => `  ${regoValueToText(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)},`).join('\n')}\n]\n`;
      writeFileSync(join(dir, 'order.rego'), module);
      const [goText] = JSON.parse(execFileSync(opa, ['eval', '--format', 'raw', '--data', join(dir, 'order.rego'), 'data.order.out'], { encoding: 'utf8' }));
      const ours = formatRegoValue({ type: 'array', items: [...values].sort(compareRegoValues) });
      expect(ours).toBe(goText);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('regoValueToJson converts like Go OPA ast.JSON', () => {
  it('turns sets into sorted arrays', () => {
    expect(regoValueToJson(parseRegoValue('{"b", "a", 1}'))).toEqual([1, 'a', 'b']);
  });

  it('turns non-string object keys into their JSON text', () => {
    expect(regoValueToJson(parseRegoValue('{1: "x", [1, "a"]: 2, "k": null}'))).toEqual({ '1': 'x', '[1,"a"]': 2, k: null });
  });

  it('turns numbers into JS numbers, and numbers beyond float64 into their text', () => {
    expect(regoValueToJson(parseRegoValue('[1.0, 1e3, 0.0010000000, 12345678901234567890, 1e400]'))).toEqual([
      1, 1000, 0.001, 12345678901234567000, '1e400',
    ]);
  });

  it('round-trips plain JSON through jsonToRegoValue', () => {
    const json = { a: [1, 'b', null, true, { c: 1.5 }], '': {} };
    expect(regoValueToJson(jsonToRegoValue(json))).toEqual(json);
  });

  it('writes text that parses back to the same value', () => {
    const value = parseRegoValue('{"a": {1, "é\\n"}, 2: [null, 1.0]}');
    expect(parseRegoValue(regoValueToText(value))).toEqual(value);
  });
});
