import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostBuiltins } from '../../../src/engine/rego/builtins.js';
import { WasmPolicy } from '../../../src/engine/rego/wasm-policy.js';
import { seededRandom } from '../../helpers/seeded-random.js';

const OPA = fileURLToPath(new URL('../../../tools/bin/opa', import.meta.url));

// Every place where Go OPA's sorted iteration of objects and sets shows in a result: arrays built by
// comprehensions (over data, over input, nested, over sets of strings, numbers, objects and mixed
// values), concat over a set, json.marshal, builtins that return what they iterated; and which
// numbers a set counts as one.
const POLICY = `package order

data_keys := [k | data.items[k]]
data_values := [v | some v in data.items]
data_nested := [[a, b] | data.small[a]; data.small[b]]
inventory_names := [n | data.inventory.cluster["storage.k8s.io/v1"].StorageClass[n]]
inventory_message := sprintf("Must be one of [%v]", [concat(", ", inventory_names)])
input_keys := [k | input.obj[k]]
input_pairs := [[k, v] | some k, v in input.obj]
strings := {s | some s in input.strings}
string_elements := [s | some s in strings]
number_elements := [n | some n in {n | some n in input.numbers}]
object_elements := [o | some o in {o | some o in input.objects}]
mixed_elements := [x | some x in {x | some x in input.mixed}]
number_keys := [k | some k, _ in {1: "a", 10: "b", 2: "c", -1: "d", 1.5: "e", 100000000000000000000: "f"}]
joined := concat(",", strings)
joined_numbers := concat(",", {n | some n in input.numbers}) # not strings: undefined, as in Go
marshalled := json.marshal({"set": strings, "obj": input.obj})
union_keys := [k | some k, _ in object.union(input.obj, data.small)]
set_of_sets := [s | some s in {{"b", "a"}, {"a"}, set(), {"c", "b"}}]
# Equal numbers written differently are one set element, as in Go.
number_identity := [count({input.one, 1.0, 1}), count({input.thousandth, 1e-3, 0.001}), count({input.zero, -0, 0.0}), count({input.big, 1e21})]
`;

// Bytes where UTF-16 order and Go's byte order disagree (U+E000 sorts after U+1F600 in UTF-16 only),
// capitals before lower case, separators, digits.
const ALPHABET = ['a', 'b', 'Z', 'A', '-', '_', '.', '0', '9', 'é', '日', '\u{e000}', '😀', ' ', 'ß'];

function word(next: () => number): string {
  const length = 1 + Math.floor(next() * 8);
  let s = '';
  for (let i = 0; i < length; i++) s += ALPHABET[Math.floor(next() * ALPHABET.length)];
  return s;
}

function dataDocument(seed: number): unknown {
  const next = seededRandom(seed);
  const items: Record<string, number> = {};
  for (let i = 0; i < 300; i++) items[word(next)] = i;
  const classes: Record<string, unknown> = {};
  for (let i = 0; i < 40; i++) classes[`sample-${Math.floor(next() * 1000)}`] = { metadata: { name: 'x' } };
  return {
    items,
    small: { b: 1, a: 2, c: 3, aa: 4, B: 5 },
    inventory: { cluster: { 'storage.k8s.io/v1': { StorageClass: { fast: {}, slow: {}, ...classes } } } },
  };
}

function inputDocument(seed: number): unknown {
  const next = seededRandom(seed);
  const obj: Record<string, number> = {};
  for (let i = 0; i < 120; i++) obj[word(next)] = i;
  const numbers = Array.from({ length: 60 }, () => Math.floor(next() * 2000) - 1000).concat([1.5, 0.25, 1e21]);
  return {
    obj,
    strings: Array.from({ length: 150 }, () => word(next)),
    numbers,
    objects: Array.from({ length: 30 }, () => ({ [word(next)]: Math.floor(next() * 3), z: word(next) })),
    mixed: [null, true, false, 3, 'x', [1], ['a', 2], { a: 1 }, 'é', 0, [], {}, -2.5],
    one: 1,
    thousandth: 0.001,
    zero: 0,
    big: 1e21,
  };
}

function opaEval(dir: string, data: unknown, input: unknown): unknown {
  writeFileSync(join(dir, 'data.json'), JSON.stringify(data));
  writeFileSync(join(dir, 'input.json'), JSON.stringify(input));
  const out = execFileSync(OPA, ['eval', '--format', 'json', '-d', join(dir, 'order.rego'), '-d', join(dir, 'data.json'), '-i', join(dir, 'input.json'), 'data.order'], { maxBuffer: 64 << 20 });
  return (JSON.parse(out.toString()) as { result: Array<{ expressions: Array<{ value: unknown }> }> }).result[0]!.expressions[0]!.value;
}

describe('Iteration in the Wasm policies, in Go OPA order', () => {
  let dir: string;
  let wasm: Uint8Array;

  beforeAll(() => {
    if (!existsSync(OPA)) throw new Error(`the pinned OPA CLI is missing at ${OPA}; run \`npm install\``);
    dir = mkdtempSync(join(tmpdir(), 'parapet-order-'));
    writeFileSync(join(dir, 'order.rego'), POLICY);
    execFileSync(OPA, ['build', '-t', 'wasm', '-e', 'order', '-o', join(dir, 'bundle.tar.gz'), join(dir, 'order.rego')], { cwd: dir });
    execFileSync('tar', ['-xzf', join(dir, 'bundle.tar.gz'), '-C', dir, '/policy.wasm']);
    wasm = readFileSync(join(dir, 'policy.wasm'));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('gives what `opa eval` gives, value for value and in the same order, over evaluations and data changes', async () => {
    const policy = await WasmPolicy.load(await WasmPolicy.compile(wasm), hostBuiltins);
    for (const dataSeed of [1, 2]) {
      const data = dataDocument(dataSeed);
      policy.setData(JSON.stringify(data));
      // Several inputs on one instance: the orders kept for data must stay right, those of an
      // evaluation's own values must not leak into the next.
      for (const inputSeed of [10, 11, 12]) {
        const input = inputDocument(inputSeed * dataSeed);
        const [wasmResult] = policy.evaluate(JSON.stringify(input), 'order');
        const goResult = opaEval(dir, data, input) as Record<string, unknown>;
        expect(Object.keys(goResult).length).toBeGreaterThan(15);
        expect(wasmResult).toEqual(goResult);
        // toEqual ignores object key order; arrays it compares in order. The JSON text says both.
        expect(JSON.stringify(wasmResult)).toBe(JSON.stringify(goResult));
      }
    }
  }, 60_000);

  it('lists the StorageClasses as gatekeeper-library storageclass names them: sorted, not hashed', async () => {
    const policy = await WasmPolicy.load(await WasmPolicy.compile(wasm), hostBuiltins);
    const classes = Object.fromEntries(['sample-204', 'fast', 'standard', 'premium-rwo', 'gp2', 'ssd'].map((n) => [n, {}]));
    policy.setData(JSON.stringify({ inventory: { cluster: { 'storage.k8s.io/v1': { StorageClass: classes } } } }));
    const [result] = policy.evaluate('{}', 'order') as [{ inventory_message: string }];
    expect(result.inventory_message).toBe('Must be one of [fast, gp2, premium-rwo, sample-204, ssd, standard]');
  });

  it('refuses a module that was not rewritten to answer as Go OPA', async () => {
    await expect(WasmPolicy.load(await WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>), hostBuiltins)).rejects.toThrow(/not rewritten to answer as Go OPA/);
  });
});
