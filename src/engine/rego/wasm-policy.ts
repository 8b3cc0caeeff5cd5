// A host for OPA's Wasm ABI (1.2+), written for Parapet instead of using @open-policy-agent/opa-wasm:
// that package resolves `sprintf` to its own sprintf-js implementation before any custom builtin and
// hands builtins JSON (sets become arrays), so Gatekeeper's messages could not be reproduced
// (see gatekeeper.md §0.2). Builtins here receive full Rego values.
import type { RegoValue } from './rego-value.js';
import { RegoResult, parseRegoValue, regoValueToJson, regoValueToText } from './rego-value.js';
import * as arithmetic from './go-arithmetic.js';
import { COMPARE_EXPORT, HostCall, REWRITE_SECTION, rewriteForGo } from './wasm-rewrite.js';

const PAGE = 65536;

/**
 * A builtin the host supplies; it may throw to report a Rego evaluation error. Returning `undefined`
 * means "undefined". Results are JSON values, or a RegoResult for sets, non-string keys or exact
 * number text.
 */
export type BuiltinImpl = (args: RegoValue[]) => unknown;

export class UnsupportedBuiltinsError extends Error {
  constructor(readonly builtins: string[]) {
    super(`uses builtin${builtins.length > 1 ? 's' : ''} that Parapet cannot evaluate: ${builtins.join(', ')}`);
    this.name = 'UnsupportedBuiltinsError';
  }
}

/** Raised when a policy needs more memory than its instance may have (`maxMemoryBytes`). */
export class MemoryLimitError extends Error {
  override name = 'MemoryLimitError';
}

/** Raised when a policy aborts (conflicts, errors in builtins) while evaluating. */
export class RegoEvaluationError extends Error {
  override name = 'RegoEvaluationError';
}

interface OpaExports {
  memory: WebAssembly.Memory;
  opa_malloc(size: number): number;
  opa_json_parse(addr: number, len: number): number;
  opa_value_parse(addr: number, len: number): number;
  opa_json_dump(addr: number): number;
  opa_value_dump(addr: number): number;
  opa_heap_ptr_get(): number;
  opa_heap_ptr_set(addr: number): void;
  opa_eval(reserved: number, entrypoint: number, data: number, input: number, inputLen: number, heap: number, format: number): number;
  builtins(): number;
  entrypoints(): number;
  opa_wasm_abi_version?: WebAssembly.Global;
  opa_wasm_abi_minor_version?: WebAssembly.Global;
  [COMPARE_EXPORT]?: (a: number, b: number) => number;
}

/** An object's keys or a set's elements, in the buckets' order and in Go's (sorted) order. */
interface IterationOrder {
  walk: number[];
  sorted: number[];
  /** Where the last step was: the next step usually passes back what it returned. */
  cursor: number;
}

const HASH_VIEW = new DataView(new ArrayBuffer(8));

const OPA_NUMBER = 3;
const OPA_STRING = 4;
const OPA_SET = 7;
const OPA_STRING_INTERNED = 8;

const BINARY: Record<number, arithmetic.BinaryOperation> = {
  [HostCall.plus]: 'plus',
  [HostCall.minus]: 'minus',
  [HostCall.mul]: 'mul',
  [HostCall.div]: 'div',
  [HostCall.rem]: 'rem',
};
const UNARY: Record<number, arithmetic.UnaryOperation> = { [HostCall.abs]: 'abs', [HostCall.round]: 'round', [HostCall.ceil]: 'ceil', [HostCall.floor]: 'floor' };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One compiled Rego policy, instantiated once and evaluated many times. Not re-entrant. */
export class WasmPolicy {
  private exports!: OpaExports;
  private builtinById: Array<{ name: string; impl: BuiltinImpl }> = [];
  private entrypointIds = new Map<string, number>();
  private dataAddr = 0;
  private dataHeapPtr = 0;
  private baseHeapPtr = 0;
  private bytes!: Uint8Array;
  private view!: DataView;
  /** Sorted orders of the values an evaluation built, and of `data`'s, which live until setData. */
  private readonly orders = new Map<number, IterationOrder>();
  private readonly dataOrders = new Map<number, IterationOrder>();

  private constructor(private readonly memory: WebAssembly.Memory) {
    this.refreshView();
  }

  /** Compiles a module built by `opa build -t wasm`, rewritten to answer as Go OPA (wasm-rewrite.ts). */
  static compile(wasm: Uint8Array): Promise<WebAssembly.Module> {
    return WebAssembly.compile(rewriteForGo(wasm) as Uint8Array<ArrayBuffer>);
  }

  /**
   * Instantiates a module built by `opa build -t wasm`. Fails with UnsupportedBuiltinsError, before any
   * evaluation, when the policy needs a builtin that neither the module nor `builtins` implements.
   */
  static async load(module: WebAssembly.Module, builtins: Record<string, BuiltinImpl>, options: { maxMemoryBytes?: number } = {}): Promise<WasmPolicy> {
    if (WebAssembly.Module.customSections(module, REWRITE_SECTION).length === 0) {
      throw new Error("the policy module was not rewritten to answer as Go OPA (iteration order, arithmetic): compile it with WasmPolicy.compile");
    }
    // Without a maximum, a policy that allocates without bound grows its memory to gigabytes.
    const maximum = options.maxMemoryBytes === undefined ? undefined : Math.max(8, Math.floor(options.maxMemoryBytes / PAGE));
    const memory = new WebAssembly.Memory({ initial: 8, ...(maximum !== undefined ? { maximum } : {}) });
    const policy = new WasmPolicy(memory);
    const call = (id: number, ...addrs: number[]): number => policy.callBuiltin(id, addrs);
    const instance = await WebAssembly.instantiate(module, {
      env: {
        memory,
        opa_abort: (addr: number) => {
          const message = policy.readString(addr);
          // OPA's allocator aborts with this when the memory cannot grow any further.
          if (message === 'opa_malloc: failed') throw new MemoryLimitError(message);
          throw new RegoEvaluationError(message);
        },
        opa_println: () => undefined,
        opa_builtin0: (id: number) => call(id),
        opa_builtin1: (id: number, _ctx: number, a: number) => call(id, a),
        // Every step of an iteration over an object or a set comes here: no array for its arguments.
        opa_builtin2: (id: number, _ctx: number, a: number, b: number) => (id === HostCall.iterate ? policy.iterate(a, b) : id < 0 ? policy.hostCall(id, a, b) : call(id, a, b)),
        opa_builtin3: (id: number, _ctx: number, a: number, b: number, c: number) => call(id, a, b, c),
        opa_builtin4: (id: number, _ctx: number, a: number, b: number, c: number, d: number) => call(id, a, b, c, d),
      },
    });
    policy.exports = instance.exports as unknown as OpaExports;
    const major = Number(policy.exports.opa_wasm_abi_version?.value ?? 0);
    const minor = Number(policy.exports.opa_wasm_abi_minor_version?.value ?? 0);
    if (major !== 1 || minor < 2) throw new Error(`unsupported OPA Wasm ABI ${major}.${minor} (need 1.2 or later)`);

    const required = policy.dumpJson(policy.exports.builtins()) as Record<string, number>;
    const missing: string[] = [];
    for (const [name, id] of Object.entries(required)) {
      const impl = builtins[name];
      if (!impl) missing.push(name);
      else policy.builtinById[id] = { name, impl };
    }
    if (missing.length > 0) throw new UnsupportedBuiltinsError(missing.sort());

    const entrypoints = policy.dumpJson(policy.exports.entrypoints()) as Record<string, number>;
    for (const [name, id] of Object.entries(entrypoints)) policy.entrypointIds.set(name, id);
    policy.baseHeapPtr = policy.exports.opa_heap_ptr_get();
    policy.setData('{}');
    return policy;
  }

  /** Memory the instance holds beyond its data: what its largest evaluation so far needed. */
  get scratchBytes(): number {
    return this.memory.buffer.byteLength - this.dataHeapPtr;
  }

  get entrypoints(): string[] {
    return [...this.entrypointIds.keys()];
  }

  /** Replaces `data` (as JSON text); the next evaluations see it. */
  setData(json: string): void {
    this.exports.opa_heap_ptr_set(this.baseHeapPtr);
    this.dataOrders.clear();
    this.orders.clear();
    this.dataAddr = this.parseJson(json);
    this.dataHeapPtr = this.exports.opa_heap_ptr_get();
  }

  /**
   * Evaluates an entrypoint on `input` given as JSON text and returns the result set's values.
   * An undefined result is an empty array.
   */
  evaluate(inputJson: string, entrypoint?: string): unknown[] {
    return this.evaluateParts([encoder.encode(inputJson)], entrypoint);
  }

  /**
   * Like evaluate, with the input's JSON given as encoded pieces that are laid out one after the other:
   * a review encoded once serves every constraint evaluated on it.
   */
  evaluateParts(parts: Uint8Array[], entrypoint?: string): unknown[] {
    const id = entrypoint === undefined ? 0 : this.entrypointIds.get(entrypoint);
    if (id === undefined) throw new Error(`unknown entrypoint ${entrypoint}`);
    const inputAddr = this.dataHeapPtr;
    // What the last evaluation built is gone: its addresses will hold other values.
    if (this.orders.size > 0) this.orders.clear();
    let length = 0;
    for (const part of parts) length += part.length;
    this.ensureCapacity(inputAddr + length);
    let offset = inputAddr;
    for (const part of parts) {
      this.bytes.set(part, offset);
      offset += part.length;
    }
    const resultAddr = this.exports.opa_eval(0, id, this.dataAddr, inputAddr, length, inputAddr + length, 0);
    const results = JSON.parse(this.readString(resultAddr)) as Array<{ result: unknown }>;
    return results.map((r) => r.result);
  }

  private callBuiltin(id: number, addrs: number[]): number {
    const builtin = this.builtinById[id];
    if (!builtin) throw new RegoEvaluationError(`builtin id ${id} is not declared by the module`);
    const args = addrs.map((addr) => parseRegoValue(this.readString(this.exports.opa_value_dump(addr))));
    let result: unknown;
    try {
      result = builtin.impl(args);
    } catch (error) {
      // Go OPA reports builtin failures as `<name>: <reason>`; keep that shape for messages.
      const reason = error instanceof Error ? error.message : String(error);
      throw new RegoEvaluationError(`${builtin.name}: ${reason}`);
    }
    if (result === undefined) return 0;
    if (result instanceof RegoResult) return this.parseValue(regoValueToText(result.value));
    return this.parseJson(JSON.stringify(result));
  }

  /**
   * The key (object) or element (set) after `prev` in Go OPA's order, the first when `prev` is 0,
   * 0 after the last. Called for every step of every iteration, so the order is kept per value.
   */
  private iterate(node: number, prev: number): number {
    this.refreshView();
    const order = prev === 0 ? this.order(node, true) : this.order(node, false);
    const sorted = order.sorted;
    let i = -1;
    if (prev !== 0) {
      i = sorted[order.cursor] === prev ? order.cursor : sorted.indexOf(prev);
      // An equal value at another address (a caller's copy): find it by value.
      if (i < 0) i = this.positionByValue(sorted, prev);
      if (i < 0) return 0;
    }
    order.cursor = i + 1;
    return sorted[i + 1] ?? 0;
  }

  /** What the rewritten library functions other than iteration ask (wasm-rewrite.ts). */
  private hostCall(id: number, a: number, b: number): number {
    this.refreshView();
    let result: string | undefined;
    switch (id) {
      case HostCall.concatSet:
        return this.concatSet(a, b);
      case HostCall.plus:
      case HostCall.minus:
      case HostCall.mul:
      case HostCall.div:
      case HostCall.rem:
        result = arithmetic.binary(BINARY[id]!, this.numberText(a), this.numberText(b));
        break;
      case HostCall.abs:
      case HostCall.round:
      case HostCall.ceil:
      case HostCall.floor:
        result = arithmetic.unary(UNARY[id]!, this.numberText(a));
        break;
      case HostCall.sum:
      case HostCall.product: {
        const elements = this.elements(a);
        if (!elements.every((element) => this.bytes[element] === OPA_NUMBER)) return 0; // Go: a type error, undefined
        const texts = elements.map((element) => this.numberText(element));
        result = id === HostCall.sum ? arithmetic.sum(texts) : arithmetic.product(texts);
        break;
      }
      case HostCall.numberHash:
        return this.numberHash(a);
      default:
        throw new RegoEvaluationError(`the policy module asked the host for ${id}, which it does not answer`);
    }
    return result === undefined ? 0 : this.parseJson(result);
  }

  /**
   * The library's hash of a number (fnv over the bytes of its float64, as opa_number_hash), from the
   * correctly rounded float64 of its text: numbers Go counts as equal hash alike, and an int's hash
   * (the library's, of (double)i) is the same as its text's. Zero has one hash whatever its sign.
   */
  private numberHash(addr: number): number {
    const value = Number(this.numberText(addr)) || 0;
    HASH_VIEW.setFloat64(0, value, true);
    let hash = 0x811c9dc5;
    for (let i = 0; i < 8; i++) hash = (Math.imul(hash, 0x01000193) ^ HASH_VIEW.getUint8(i)) >>> 0;
    return hash | 0;
  }

  /** opa_number_t {type, repr @1, v @8}: an int (repr 1) or the number's text (repr 2: s @8, len @12). */
  private numberText(addr: number): string {
    const repr = this.bytes[addr + 1];
    if (repr === 1) return this.view.getBigInt64(addr + 8, true).toString();
    const start = this.view.getUint32(addr + 8, true);
    return decoder.decode(this.bytes.subarray(start, start + this.view.getUint32(addr + 12, true)));
  }

  /** An array's elements in order (opa_array_t {type, elems @4, len @8}; elem {i, v}), a set's in Go's. */
  private elements(addr: number): number[] {
    if (this.bytes[addr] === OPA_SET) return this.view.getUint32(addr + 12, true) > 1 ? this.order(addr, true).sorted : this.bucketWalk(addr);
    const elems = this.view.getUint32(addr + 4, true);
    const length = this.view.getUint32(addr + 8, true);
    return Array.from({ length }, (_, i) => this.view.getUint32(elems + 8 * i + 4, true));
  }

  /** `concat(sep, set)`: Go joins the set's elements in sorted order; undefined unless all are strings. */
  private concatSet(sep: number, set: number): number {
    this.refreshView();
    if (!this.isString(sep)) return 0;
    const pieces: Uint8Array[] = [];
    for (const element of this.order(set, true).sorted) {
      if (!this.isString(element)) return 0;
      pieces.push(this.stringBytes(element));
    }
    const separator = decoder.decode(this.stringBytes(sep));
    return this.parseJson(JSON.stringify(pieces.map((piece) => decoder.decode(piece)).join(separator)));
  }

  /**
   * The sorted order of an object's keys or a set's elements. A new iteration (`fresh`) checks that
   * the value still holds what its order was made of: an evaluation may free a value and build
   * another at its address.
   */
  private order(node: number, fresh: boolean): IterationOrder {
    // `data` is neither freed nor changed while it is set: its orders need no check.
    const inData = node < this.dataHeapPtr;
    const cache = inData ? this.dataOrders : this.orders;
    const known = cache.get(node);
    if (known && (!fresh || inData)) return known;
    const walk = this.bucketWalk(node);
    if (known && known.walk.length === walk.length && known.walk.every((addr, i) => addr === walk[i])) return known;
    const order: IterationOrder = { walk, sorted: this.sortValues(walk), cursor: 0 };
    cache.set(node, order);
    return order;
  }

  /** The keys (opa_object_t) or elements (opa_set_t) of a hash table, bucket by bucket. */
  private bucketWalk(node: number): number[] {
    this.refreshView();
    const view = this.view;
    const isObject = view.getUint8(node) === 6;
    const buckets = view.getUint32(node + 4, true);
    const n = view.getUint32(node + 8, true);
    const values: number[] = [];
    for (let i = 0; i < n; i++) {
      // object elem: {k, v, next}; set elem: {v, next}
      for (let elem = view.getUint32(buckets + 4 * i, true); elem !== 0; elem = view.getUint32(elem + (isObject ? 8 : 4), true)) {
        values.push(view.getUint32(elem, true));
      }
    }
    return values;
  }

  private sortValues(values: number[]): number[] {
    if (values.length < 2) return values.slice();
    if (values.every((addr) => this.isString(addr))) {
      // Go compares strings bytewise; so does the library, at a call per comparison.
      const keyed = values.map((addr) => ({ addr, bytes: this.stringBytes(addr) }));
      keyed.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
      return keyed.map((k) => k.addr);
    }
    const compare = this.exports[COMPARE_EXPORT];
    if (!compare) throw new RegoEvaluationError('the policy module does not export opa_value_compare');
    return values.slice().sort((a, b) => compare(a, b));
  }

  private positionByValue(sorted: number[], value: number): number {
    const compare = this.exports[COMPARE_EXPORT];
    return compare ? sorted.findIndex((addr) => compare(addr, value) === 0) : -1;
  }

  private isString(addr: number): boolean {
    const type = this.bytes[addr];
    return type === OPA_STRING || type === OPA_STRING_INTERNED;
  }

  /** opa_string_t: {type, free, len @4, v @8}. */
  private stringBytes(addr: number): Uint8Array {
    const length = this.view.getUint32(addr + 4, true);
    const start = this.view.getUint32(addr + 8, true);
    return this.bytes.subarray(start, start + length);
  }

  private parseValue(text: string): number {
    const buf = encoder.encode(text);
    const addr = this.exports.opa_malloc(buf.length);
    this.refreshView();
    this.bytes.set(buf, addr);
    const value = this.exports.opa_value_parse(addr, buf.length);
    if (value === 0) throw new Error('OPA could not parse the Rego value handed to the policy');
    return value;
  }

  private parseJson(json: string): number {
    const buf = encoder.encode(json);
    const addr = this.exports.opa_malloc(buf.length);
    this.refreshView();
    this.bytes.set(buf, addr);
    const value = this.exports.opa_json_parse(addr, buf.length);
    if (value === 0) throw new Error('OPA could not parse the JSON handed to the policy');
    return value;
  }

  private dumpJson(addr: number): unknown {
    return JSON.parse(this.readString(this.exports.opa_json_dump(addr)));
  }

  private readString(addr: number): string {
    this.refreshView();
    const end = this.bytes.indexOf(0, addr);
    return decoder.decode(this.bytes.subarray(addr, end < 0 ? undefined : end));
  }

  private ensureCapacity(end: number): void {
    const missing = end - this.memory.buffer.byteLength;
    if (missing > 0) {
      try {
        this.memory.grow(Math.ceil(missing / PAGE));
      } catch (error) {
        // A RangeError: the memory is at its maximum.
        throw new MemoryLimitError(error instanceof Error ? error.message : String(error));
      }
    }
    this.refreshView();
  }

  private refreshView(): void {
    if (this.bytes?.buffer !== this.memory.buffer) {
      this.bytes = new Uint8Array(this.memory.buffer);
      this.view = new DataView(this.memory.buffer);
    }
  }
}

export { regoValueToJson };
