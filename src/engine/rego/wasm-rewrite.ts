// Where the Wasm library that `opa build -t wasm` links into every policy computes otherwise than
// Go OPA, this rewrites the module so that the function asks the host, which answers as Go OPA does
// (WasmPolicy). Only the bodies of the library's functions change, so no function index moves:
// each gets a prefix `if (<its arguments are a case Go answers differently>) return
// opa_builtin2(<reserved id>, 0, arg0, arg1)` and keeps its own code for the rest.
//
// - Iteration: Go keeps an object's keys and a set's elements sorted and iterates them so; the
//   library iterates its hash buckets. An array a comprehension builds over an object or a set
//   (`[n | data.inventory.cluster[gv][kind][n]]`), `concat` over a set and `json.marshal` show the
//   order. opa_value_iter on objects and sets of two or more, opa_strings_concat over such a set.
// - Arithmetic: Go computes in big.Float at 64 bits and prints the shortest digits
//   (`0.001 * 1000` is 0.99999999999999999995, `1.5 * 2` is 3); the library in exact decimals
//   (1, 3.0). The arithmetic builtins on numbers other than small integers, whose results agree.
// - Number identity: Go counts 0.001 and 1e-3 (or 1 and 1.0) as one set element or object key; the
//   library hashes a number by its own approximate reading of the text, so equal numbers can land
//   in different buckets and a set keeps both. opa_number_hash on numbers kept as text.
//
// The library's `opa_value_compare` (Go's order of Rego values) is exported for the host's sort. A
// custom section marks a rewritten module: WasmPolicy refuses one without it rather than answer
// otherwise than Gatekeeper.

/** Reserved builtin ids the rewritten functions pass to `opa_builtin2` (the module's own are ≥ 0). */
export const HostCall = {
  iterate: -1,
  concatSet: -2,
  plus: -3,
  minus: -4,
  mul: -5,
  div: -6,
  rem: -7,
  abs: -8,
  round: -9,
  ceil: -10,
  floor: -11,
  sum: -12,
  product: -13,
  numberHash: -14,
} as const;

export const COMPARE_EXPORT = 'parapet_value_compare';
export const REWRITE_SECTION = 'parapet.go-semantics';

const OPA_NUMBER = 3;
const OPA_ARRAY = 5;
const OPA_OBJECT = 6;
const OPA_SET = 7;

// Conditions on an argument (local p), each leaving an i32 on the stack.
const typeIn = (p: number, kinds: number[]): number[] =>
  kinds.flatMap((kind, i) => [0x20, p, 0x2d, 0x00, 0x00, 0x41, kind, 0x46, ...(i === 0 ? [] : [0x72])]); // i32.load8_u(p) == kind || ...
/** len of opa_object_t / opa_set_t (offset 12) > 1: with one element or none the buckets' order is Go's. */
const severalElements = (p: number): number[] => [0x20, p, 0x28, 0x02, 0x0c, 0x41, 0x01, 0x4b];
/** opa_number_t: repr (offset 1) is OPA_NUMBER_REPR_INT. */
const intRepr = (p: number): number[] => [0x20, p, 0x2d, 0x00, 0x01, 0x41, 0x01, 0x46];
/** An int within ±2^31 (v.i at offset 8): sums and products of two are exact in both worlds. */
const smallInt = (p: number): number[] => [
  ...intRepr(p),
  ...[0x20, p, 0x29, 0x03, 0x08], // i64.load offset=8
  ...[0x42, ...signedLeb(2 ** 31)], // i64.const 2^31
  0x7c, // i64.add
  ...[0x42, ...signedLeb(2 ** 32)], // i64.const 2^32
  0x54, // i64.lt_u
  0x71, // i32.and
];
const and = (...parts: number[][]): number[] => parts.flatMap((part, i) => (i === 0 ? part : [...part, 0x71]));
const not = (part: number[]): number[] => [...part, 0x45]; // i32.eqz

interface Diversion {
  id: number;
  /** The arguments (locals 0.., i32 pointers) handed to the host; the rest pass as 0. */
  params: number;
  /** The arguments `when` reads through: a null one leaves the call to the library. */
  read: number[];
  /** Conditions tested in turn (nested ifs): a later one may read what an earlier one's type allows. */
  when: number[][];
}

const numbers = and(typeIn(0, [OPA_NUMBER]), typeIn(1, [OPA_NUMBER]));
const exactInts = and(smallInt(0), smallInt(1));
const notInt = [typeIn(0, [OPA_NUMBER]), not(intRepr(0))];
const DIVERSIONS: Record<string, Diversion> = {
  opa_value_iter: { id: HostCall.iterate, params: 2, read: [0], when: [typeIn(0, [OPA_OBJECT, OPA_SET]), severalElements(0)] },
  opa_strings_concat: { id: HostCall.concatSet, params: 2, read: [0, 1], when: [typeIn(1, [OPA_SET]), severalElements(1)] },
  opa_arith_plus: { id: HostCall.plus, params: 2, read: [0, 1], when: [numbers, not(exactInts)] },
  opa_arith_minus: { id: HostCall.minus, params: 2, read: [0, 1], when: [numbers, not(exactInts)] },
  opa_arith_multiply: { id: HostCall.mul, params: 2, read: [0, 1], when: [numbers, not(exactInts)] },
  opa_arith_divide: { id: HostCall.div, params: 2, read: [0, 1], when: [numbers] },
  opa_arith_rem: { id: HostCall.rem, params: 2, read: [0, 1], when: [numbers] },
  opa_arith_abs: { id: HostCall.abs, params: 1, read: [0], when: notInt },
  opa_arith_round: { id: HostCall.round, params: 1, read: [0], when: notInt },
  opa_arith_ceil: { id: HostCall.ceil, params: 1, read: [0], when: notInt },
  opa_arith_floor: { id: HostCall.floor, params: 1, read: [0], when: notInt },
  opa_agg_sum: { id: HostCall.sum, params: 1, read: [0], when: [typeIn(0, [OPA_ARRAY, OPA_SET])] },
  opa_agg_product: { id: HostCall.product, params: 1, read: [0], when: [typeIn(0, [OPA_ARRAY, OPA_SET])] },
  opa_number_hash: { id: HostCall.numberHash, params: 1, read: [0], when: [not(intRepr(0))] },
};

const WANTED: ReadonlySet<string> = new Set([...Object.keys(DIVERSIONS), 'opa_value_compare']);
const decoder = new TextDecoder();

interface Section {
  id: number;
  /** Offsets of the whole section (id byte to end) and of its content. */
  start: number;
  contentStart: number;
  end: number;
}

/** Returns the module rewritten to answer as Go OPA (the functions it does not hold need nothing). */
export function rewriteForGo(wasm: Uint8Array): Uint8Array {
  const sections = readSections(wasm);
  const names = functionNames(wasm, sections, WANTED);
  const importSection = sections.find((s) => s.id === 2);
  const imports = importSection ? functionImports(wasm, importSection) : [];
  const builtin2 = imports.indexOf('env.opa_builtin2');
  const compare = names.get('opa_value_compare');

  const replaced = new Map<number, (body: Uint8Array) => Uint8Array>();
  for (const [name, diversion] of Object.entries(DIVERSIONS)) {
    const index = names.get(name);
    if (index === undefined) continue;
    if (builtin2 < 0) throw new Error('the policy module does not import env.opa_builtin2');
    replaced.set(index - imports.length, (body) => prefixBody(body, divert(diversion, builtin2)));
  }
  if (replaced.size > 0 && compare === undefined) throw new Error('the policy module has no opa_value_compare');

  const parts: Uint8Array[] = [wasm.subarray(0, 8)];
  for (const section of sections) {
    if (section.id === 10 && replaced.size > 0) parts.push(rewriteCode(wasm, section, replaced));
    else if (section.id === 7 && compare !== undefined) parts.push(withExport(wasm, section, COMPARE_EXPORT, compare));
    else parts.push(wasm.subarray(section.start, section.end));
  }
  parts.push(customSection(REWRITE_SECTION));
  return concatBytes(parts);
}

/** `if (read args != 0) { if (when[0]) { if (when[1]) ... return opa_builtin2(id, 0, arg0, arg1 | 0) } }` */
function divert({ id, params, read, when }: Diversion, builtin2: number): number[] {
  const argsSet = and(...read.map((p) => [0x20, p, 0x41, 0x00, 0x47])); // local != 0
  const arg = (p: number) => (p < params ? [0x20, p] : [0x41, 0x00]);
  const conditions = [argsSet, ...when];
  return [
    ...conditions.flatMap((condition) => [...condition, 0x04, 0x40]), // if ... if
    0x41, ...signedLeb(id), 0x41, 0x00, ...arg(0), ...arg(1), // i32.const id; i32.const 0; arg0; arg1
    0x10, ...unsignedLeb(builtin2), 0x0f, // call opa_builtin2; return
    ...conditions.map(() => 0x0b), // end ... end
  ];
}

/** A function body is its locals' declarations, then its code: the prefix goes between the two. */
function prefixBody(body: Uint8Array, prefix: number[]): Uint8Array {
  let p = 0;
  const groups = readLeb(body, p);
  p = groups.next;
  for (let i = 0; i < groups.value; i++) {
    p = readLeb(body, p).next; // count
    p += 1; // value type
  }
  return concatBytes([body.subarray(0, p), Uint8Array.from(prefix), body.subarray(p)]);
}

function rewriteCode(wasm: Uint8Array, section: Section, replaced: Map<number, (body: Uint8Array) => Uint8Array>): Uint8Array {
  const count = readLeb(wasm, section.contentStart);
  const bodies: Uint8Array[] = [Uint8Array.from(unsignedLeb(count.value))];
  let p = count.next;
  for (let i = 0; i < count.value; i++) {
    const entryStart = p;
    const size = readLeb(wasm, p);
    p = size.next + size.value;
    const rewrite = replaced.get(i);
    if (rewrite) {
      const rewritten = rewrite(wasm.subarray(size.next, p));
      bodies.push(Uint8Array.from(unsignedLeb(rewritten.length)), rewritten);
    } else {
      bodies.push(wasm.subarray(entryStart, p));
    }
  }
  return sectionBytes(10, concatBytes(bodies));
}

function withExport(wasm: Uint8Array, section: Section, name: string, index: number): Uint8Array {
  const count = readLeb(wasm, section.contentStart);
  const entry = [...nameBytes(name), 0x00, ...unsignedLeb(index)];
  return sectionBytes(7, concatBytes([Uint8Array.from(unsignedLeb(count.value + 1)), wasm.subarray(count.next, section.end), Uint8Array.from(entry)]));
}

function customSection(name: string): Uint8Array {
  return sectionBytes(0, Uint8Array.from(nameBytes(name)));
}

function readSections(wasm: Uint8Array): Section[] {
  if (wasm.length < 8 || wasm[0] !== 0 || wasm[1] !== 0x61 || wasm[2] !== 0x73 || wasm[3] !== 0x6d) throw new Error('not a WebAssembly module');
  const sections: Section[] = [];
  let p = 8;
  while (p < wasm.length) {
    const start = p;
    const id = wasm[p]!;
    const size = readLeb(wasm, p + 1);
    const end = size.next + size.value;
    if (end > wasm.length) throw new Error(`WebAssembly section ${id} runs past the module's end`);
    sections.push({ id, start, contentStart: size.next, end });
    p = end;
  }
  return sections;
}

/** `module.field` of every imported function, in index order. */
function functionImports(wasm: Uint8Array, section: Section): string[] {
  const names: string[] = [];
  const count = readLeb(wasm, section.contentStart);
  let p = count.next;
  for (let i = 0; i < count.value; i++) {
    const module = readName(wasm, p);
    const field = readName(wasm, module.next);
    p = field.next;
    const kind = wasm[p++]!;
    if (kind === 0) {
      names.push(`${module.value}.${field.value}`);
      p = readLeb(wasm, p).next;
    } else if (kind === 1) {
      p += 1; // element type
      p = limits(wasm, p);
    } else if (kind === 2) {
      p = limits(wasm, p);
    } else if (kind === 3) {
      p += 2; // value type, mutability
    } else {
      throw new Error(`unknown WebAssembly import kind ${kind}`);
    }
  }
  return names;
}

function limits(wasm: Uint8Array, p: number): number {
  const flags = wasm[p]!;
  let next = readLeb(wasm, p + 1).next;
  if (flags & 1) next = readLeb(wasm, next).next;
  return next;
}

/** Function names from the `name` custom section, which `opa build` keeps. */
function functionNames(wasm: Uint8Array, sections: Section[], wanted: ReadonlySet<string>): Map<string, number> {
  const names = new Map<string, number>();
  // A module names thousands of functions; only names of a wanted length are read.
  const lengths = new Set([...wanted].map((name) => name.length));
  for (const section of sections) {
    if (section.id !== 0) continue;
    const name = readName(wasm, section.contentStart);
    if (name.value !== 'name') continue;
    let p = name.next;
    while (p < section.end) {
      const sub = wasm[p]!;
      const size = readLeb(wasm, p + 1);
      if (sub === 1) {
        const count = readLeb(wasm, size.next);
        let q = count.next;
        for (let i = 0; i < count.value; i++) {
          const index = readLeb(wasm, q);
          const length = readLeb(wasm, index.next);
          q = length.next + length.value;
          if (!lengths.has(length.value)) continue;
          const fn = decoder.decode(wasm.subarray(length.next, q));
          if (wanted.has(fn) && !names.has(fn)) names.set(fn, index.value);
        }
      }
      p = size.next + size.value;
    }
  }
  return names;
}

function readName(wasm: Uint8Array, p: number): { value: string; next: number } {
  const length = readLeb(wasm, p);
  const next = length.next + length.value;
  return { value: decoder.decode(wasm.subarray(length.next, next)), next };
}

function readLeb(wasm: Uint8Array, p: number): { value: number; next: number } {
  let value = 0;
  let shift = 0;
  let byte: number;
  do {
    if (p >= wasm.length) throw new Error('truncated WebAssembly module');
    byte = wasm[p++]!;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return { value, next: p };
}

function unsignedLeb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function signedLeb(value: number): number[] {
  const out: number[] = [];
  let v = BigInt(value);
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function nameBytes(name: string): number[] {
  const bytes = new TextEncoder().encode(name);
  return [...unsignedLeb(bytes.length), ...bytes];
}

function sectionBytes(id: number, content: Uint8Array): Uint8Array {
  return concatBytes([Uint8Array.from([id, ...unsignedLeb(content.length)]), content]);
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
