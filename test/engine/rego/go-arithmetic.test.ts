import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CelHelperProcess } from '../../../src/cel/cel-helper-process.js';
import { hostBuiltins } from '../../../src/engine/rego/builtins.js';
import { binary, product, sum, unary, type BinaryOperation, type UnaryOperation } from '../../../src/engine/rego/go-arithmetic.js';
import { WasmPolicy } from '../../../src/engine/rego/wasm-policy.js';
import { seededRandom } from '../../helpers/seeded-random.js';

const OPA = fileURLToPath(new URL('../../../tools/bin/opa', import.meta.url));

// The reference is Gatekeeper's own OPA (v1.17.1, linked into the pinned parapet-cel helper through
// Gatekeeper v3.23.1): its registered builtins plus, minus, mul, div, rem, abs, round, ceil, floor,
// sum and product, called with the same number texts. (The pinned opa CLI is v1.22, whose arithmetic
// changed: it cannot be the reference.)
const helper = new CelHelperProcess();
afterAll(() => helper.close());

interface Answer {
  value?: string;
  undefined?: boolean;
  error?: string;
}

async function gatekeeper(name: string, args: string[]): Promise<string | undefined> {
  const answer = (await helper.request(JSON.stringify({ op: 'builtin', name, args, timeoutMs: 5000 }))) as Answer;
  if (answer.error !== undefined) throw new Error(`${name}(${args.join(', ')}): ${answer.error}`);
  return answer.value;
}

/** Numbers as manifests and templates write them: small and large integers, decimals, exponents, zeros. */
function numberText(next: () => number): string {
  const pick = <T,>(items: T[]): T => items[Math.floor(next() * items.length)]!;
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(next() * 10)).join('').replace(/^0+(?=\d)/, '');
  const sign = next() < 0.2 ? '-' : '';
  switch (pick(['small', 'int', 'big', 'decimal', 'fraction', 'exponent', 'zero', 'resource'])) {
    case 'small':
      return `${sign}${Math.floor(next() * 1000)}`;
    case 'int':
      return `${sign}${digits(1 + Math.floor(next() * 12))}`;
    case 'big':
      return `${sign}${1 + Math.floor(next() * 9)}${digits(18 + Math.floor(next() * 10))}`;
    case 'decimal':
      return `${sign}${digits(1 + Math.floor(next() * 4))}.${digits(1 + Math.floor(next() * 6))}`;
    case 'fraction':
      return `${sign}0.${'0'.repeat(Math.floor(next() * 4))}${1 + Math.floor(next() * 9)}${digits(Math.floor(next() * 3))}`;
    case 'exponent':
      return `${sign}${1 + Math.floor(next() * 9)}${next() < 0.5 ? `.${digits(2)}` : ''}e${pick(['', '-', '+'])}${Math.floor(next() * 70)}`;
    case 'zero':
      return pick(['0', '0.0', '-0', '0e5', '0.000']);
    default:
      // What canonify-style templates multiply: 0.001 CPUs, 1.5 Gi, 1024s and 1000s.
      return pick(['0.001', '0.1', '0.5', '1.5', '2.25', '1000', '1024', '1048576', '1073741824', '1e3', '1E-3', '0.3']);
  }
}

describe("Arithmetic as Gatekeeper's OPA computes and prints it", () => {
  it.each<{ rule: string; op: BinaryOperation; a: string; b: string; expected: string | undefined }>([
    { rule: 'a thousandth of a CPU in millicores is just under 1', op: 'mul', a: '0.001', b: '1000', expected: '0.99999999999999999995' },
    { rule: 'a product of decimals keeps 64 bits, printed shortest', op: 'mul', a: '3.0', b: '1.1', expected: '3.3000000000000000002' },
    { rule: 'an integral result prints as an integer', op: 'mul', a: '1.5', b: '2', expected: '3' },
    { rule: 'a quotient is a float even of integers', op: 'div', a: '1', b: '3', expected: '0.33333333333333333334' },
    { rule: 'an exact quotient prints as an integer', op: 'div', a: '4', b: '2', expected: '2' },
    { rule: 'division by zero is undefined', op: 'div', a: '1', b: '0.0', expected: undefined },
    { rule: 'small integers add as ints', op: 'plus', a: '999', b: '-5', expected: '994' },
    { rule: 'modulo on a float is undefined', op: 'rem', a: '5.5', b: '2', expected: undefined },
    { rule: 'modulo of integers written as floats is an integer', op: 'rem', a: '10.0', b: '4', expected: '2' },
  ])('$rule: $a $op $b = $expected', async ({ op, a, b, expected }) => {
    expect(binary(op, a, b)).toBe(expected);
    expect(await gatekeeper(op, [a, b])).toBe(expected);
  });

  it.each<{ rule: string; op: UnaryOperation; a: string; expected: string }>([
    { rule: 'ceil of a negative fraction is 1, as Go OPA writes it', op: 'ceil', a: '-0.5', expected: '1' },
    { rule: 'floor of a negative fraction is 0, as Go OPA writes it', op: 'floor', a: '-0.5', expected: '0' },
    { rule: 'round goes half away from zero', op: 'round', a: '-2.5', expected: '-3' },
    { rule: 'abs of a decimal prints at 64 bits', op: 'abs', a: '-0.1', expected: '0.1' },
  ])('$rule: $op($a) = $expected', async ({ op, a, expected }) => {
    expect(unary(op, a)).toBe(expected);
    expect(await gatekeeper(op, [a])).toBe(expected);
  });

  it('agrees with Gatekeeper on 6,000 generated operations of every kind', async () => {
    const next = seededRandom(7);
    const cases: Array<{ name: string; args: string[]; mine: () => string | undefined }> = [];
    const binaries: BinaryOperation[] = ['plus', 'minus', 'mul', 'div', 'rem'];
    const unaries: UnaryOperation[] = ['abs', 'round', 'ceil', 'floor'];
    for (let i = 0; i < 6000; i++) {
      const kind = next();
      if (kind < 0.7) {
        const op = binaries[Math.floor(next() * binaries.length)]!;
        const a = numberText(next);
        const b = numberText(next);
        cases.push({ name: op, args: [a, b], mine: () => binary(op, a, b) });
      } else if (kind < 0.9) {
        const op = unaries[Math.floor(next() * unaries.length)]!;
        const a = numberText(next);
        cases.push({ name: op, args: [a], mine: () => unary(op, a) });
      } else {
        const values = Array.from({ length: 1 + Math.floor(next() * 5) }, () => numberText(next));
        const aggregate = next() < 0.5 ? 'sum' : 'product';
        cases.push({ name: aggregate, args: [`[${values.join(', ')}]`], mine: () => (aggregate === 'sum' ? sum(values) : product(values)) });
      }
    }
    const theirs = await Promise.all(cases.map((c) => gatekeeper(c.name, c.args)));
    const differences = cases.flatMap((c, i) => {
      const mine = c.mine();
      return mine === theirs[i] ? [] : [`${c.name}(${c.args.join(', ')}): Gatekeeper ${theirs[i]}, Parapet ${mine}`];
    });
    expect(differences.slice(0, 20)).toEqual([]);
  }, 120_000);

  it('is what a Wasm policy computes: each operator on input numbers prints as in Gatekeeper', async () => {
    // Every operator and aggregate on the numbers of a review, as text (json.marshal writes a number's).
    const policy = `package arith

ops := {
  "plus": [[i, json.marshal(p[0] + p[1])] | some i; p := input.pairs[i]],
  "minus": [[i, json.marshal(p[0] - p[1])] | some i; p := input.pairs[i]],
  "mul": [[i, json.marshal(p[0] * p[1])] | some i; p := input.pairs[i]],
  "div": [[i, json.marshal(p[0] / p[1])] | some i; p := input.pairs[i]],
  "rem": [[i, json.marshal(p[0] % p[1])] | some i; p := input.pairs[i]],
  "abs": [[i, json.marshal(abs(p[0]))] | some i; p := input.pairs[i]],
  "round": [[i, json.marshal(round(p[0]))] | some i; p := input.pairs[i]],
  "ceil": [[i, json.marshal(ceil(p[0]))] | some i; p := input.pairs[i]],
  "floor": [[i, json.marshal(floor(p[0]))] | some i; p := input.pairs[i]],
  "sum": [[i, json.marshal(sum(p))] | some i; p := input.pairs[i]],
  "product": [[i, json.marshal(product(p))] | some i; p := input.pairs[i]],
  "sum_set": [[i, json.marshal(sum({x | some x in p}))] | some i; p := input.pairs[i]],
  "millicores": [[i, json.marshal(p[0] * 1000)] | some i; p := input.pairs[i]],
}
`;
    const dir = mkdtempSync(join(tmpdir(), 'parapet-arith-'));
    try {
      writeFileSync(join(dir, 'arith.rego'), policy);
      execFileSync(OPA, ['build', '-t', 'wasm', '-e', 'arith/ops', '-o', join(dir, 'bundle.tar.gz'), join(dir, 'arith.rego')], { cwd: dir });
      execFileSync('tar', ['-xzf', join(dir, 'bundle.tar.gz'), '-C', dir, '/policy.wasm']);
      const wasm = await WasmPolicy.load(await WasmPolicy.compile(readFileSync(join(dir, 'policy.wasm'))), hostBuiltins);
      const next = seededRandom(11);
      const pairs = Array.from({ length: 300 }, () => [numberText(next), numberText(next)]);
      // Small integers too, which the library computes itself.
      pairs.push(['3', '4'], ['-7', '2'], ['999', '999'], ['2147483647', '2'], ['0', '5']);
      // The numbers' own text, as a manifest's JSON carries it.
      const input = `{"pairs": [${pairs.map(([a, b]) => `[${a}, ${b}]`).join(', ')}]}`;
      const [result] = wasm.evaluate(input, 'arith/ops') as [Record<string, Array<[number, string]>>];
      const builtin: Record<string, [string, (p: string[]) => string[]]> = {
        plus: ['plus', (p) => p],
        minus: ['minus', (p) => p],
        mul: ['mul', (p) => p],
        div: ['div', (p) => p],
        rem: ['rem', (p) => p],
        abs: ['abs', (p) => [p[0]!]],
        round: ['round', (p) => [p[0]!]],
        ceil: ['ceil', (p) => [p[0]!]],
        floor: ['floor', (p) => [p[0]!]],
        sum: ['sum', (p) => [`[${p.join(', ')}]`]],
        product: ['product', (p) => [`[${p.join(', ')}]`]],
        sum_set: ['sum', (p) => [`{${p.join(', ')}}`]],
        millicores: ['mul', (p) => [p[0]!, '1000']],
      };
      const differences: string[] = [];
      for (const [rule, [name, args]] of Object.entries(builtin)) {
        const mine = new Map((result[rule] ?? []).map(([i, text]) => [i, text]));
        const theirs = await Promise.all(pairs.map((p) => gatekeeper(name, args(p))));
        theirs.forEach((expected, i) => {
          if (mine.get(i) !== expected) differences.push(`${rule}(${pairs[i]!.join(', ')}): Gatekeeper ${expected}, Wasm ${mine.get(i)}`);
        });
      }
      expect(differences.slice(0, 20)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
