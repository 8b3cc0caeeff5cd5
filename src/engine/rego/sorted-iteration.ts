// Go OPA iterates an object's keys and a set's elements in sorted order (ast.Object/ast.Set keep
// their keys sorted); the Wasm library `opa build -t wasm` links into every policy iterates its hash
// table's buckets. Wherever the order shows — an array a comprehension builds over an object or a
// set (`[n | data.inventory.cluster[gv][kind][n]]`), `concat` over a set, `json.marshal` — Gatekeeper
// and the Wasm policy answer differently. This rewrites the module so that both iterations ask the
// host, which answers in Go's order (WasmPolicy's sorted iteration):
//
//   opa_value_iter(node, prev)   objects and sets of 2 or more: opa_builtin2(ITERATE, 0, node, prev)
//   opa_strings_concat(sep, b)   b a set of 2 or more: opa_builtin2(CONCAT_SET, 0, sep, b)
//
// and exports the library's `opa_value_compare` (Go's order of Rego values) for the host's sort.
// Only the bodies of those functions change, so no function index moves. A custom section marks a
// rewritten module: WasmPolicy refuses one without it rather than answer in another order.

/** Reserved builtin ids the rewritten functions pass to `opa_builtin2` (the module's own ids are ≥ 0). */
export const ITERATE = -1;
export const CONCAT_SET = -2;
export const COMPARE_EXPORT = 'parapet_value_compare';
export const SORTED_ITERATION_SECTION = 'parapet.sorted-iteration';

const OPA_OBJECT = 6;
const OPA_SET = 7;

interface Section {
  id: number;
  /** Offsets of the whole section (id byte to end) and of its content. */
  start: number;
  contentStart: number;
  end: number;
}

/** Returns the module with sorted iteration; a module without `opa_value_iter` iterates nothing. */
export function withSortedIteration(wasm: Uint8Array): Uint8Array {
  const sections = readSections(wasm);
  const byId = (id: number): Section | undefined => sections.find((s) => s.id === id);
  const names = functionNames(wasm, sections);
  const importSection = byId(2);
  const imports = importSection ? functionImports(wasm, importSection) : [];
  const builtin2 = imports.indexOf('env.opa_builtin2');
  const iterate = names.get('opa_value_iter');
  const concat = names.get('opa_strings_concat');
  const compare = names.get('opa_value_compare');

  const replaced = new Map<number, (body: Uint8Array) => Uint8Array>();
  if (iterate !== undefined || concat !== undefined) {
    if (builtin2 < 0) throw new Error('the policy module does not import env.opa_builtin2');
    if (compare === undefined) throw new Error('the policy module has no opa_value_compare');
  }
  if (iterate !== undefined) replaced.set(iterate - imports.length, (body) => prefixBody(body, divert(ITERATE, builtin2, [OPA_OBJECT, OPA_SET], 0)));
  if (concat !== undefined) replaced.set(concat - imports.length, (body) => prefixBody(body, divert(CONCAT_SET, builtin2, [OPA_SET], 1)));

  const parts: Uint8Array[] = [wasm.subarray(0, 8)];
  for (const section of sections) {
    if (section.id === 10 && replaced.size > 0) parts.push(rewriteCode(wasm, section, replaced));
    else if (section.id === 7 && compare !== undefined) parts.push(withExport(wasm, section, COMPARE_EXPORT, compare));
    else parts.push(wasm.subarray(section.start, section.end));
  }
  parts.push(customSection(SORTED_ITERATION_SECTION));
  return concatBytes(parts);
}

/**
 * `if (local[param] != 0 && type in kinds && len > 1) return opa_builtin2(id, 0, local0, local1)`,
 * ahead of the function's own code: `param` is the argument whose type decides. With one element
 * or none the buckets' order is Go's: the library's own code stays the faster way then.
 */
function divert(id: number, builtin2: number, kinds: number[], param: number): number[] {
  const typeIs = (kind: number, first: boolean): number[] => [0x20, param, 0x2d, 0x00, 0x00, 0x41, kind, 0x46, ...(first ? [] : [0x72])];
  return [
    0x20, param, 0x04, 0x40, // local.get param; if
    ...kinds.flatMap((kind, i) => typeIs(kind, i === 0)), // i32.load8_u(param) == kind || ...
    0x20, param, 0x28, 0x02, 0x0c, 0x41, 0x01, 0x4b, 0x71, // && i32.load offset=12 (len, in opa_object_t and opa_set_t) > 1
    0x04, 0x40, // if
    0x41, ...signedLeb(id), 0x41, 0x00, 0x20, 0x00, 0x20, 0x01, // i32.const id; i32.const 0; local.get 0; local.get 1
    0x10, ...unsignedLeb(builtin2), 0x0f, // call opa_builtin2; return
    0x0b, 0x0b, // end; end
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
function functionNames(wasm: Uint8Array, sections: Section[]): Map<string, number> {
  const names = new Map<string, number>();
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
          const fn = readName(wasm, index.next);
          q = fn.next;
          if (!names.has(fn.value)) names.set(fn.value, index.value);
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
  return { value: new TextDecoder().decode(wasm.subarray(length.next, next)), next };
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
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) {
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
