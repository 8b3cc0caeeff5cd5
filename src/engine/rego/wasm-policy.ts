// A host for OPA's Wasm ABI (1.2+), written for Parapet instead of using @open-policy-agent/opa-wasm:
// that package resolves `sprintf` to its own sprintf-js implementation before any custom builtin and
// hands builtins JSON (sets become arrays), so Gatekeeper's messages could not be reproduced
// (see gatekeeper.md §0.2). Builtins here receive full Rego values.
import type { RegoValue } from './rego-value.js';
import { RegoResult, parseRegoValue, regoValueToJson, regoValueToText } from './rego-value.js';
import { GoSemantics } from './go-semantics.js';
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
  /** The host's side of the rewrite: what the library's rewritten functions ask. */
  private readonly go: GoSemantics;

  private constructor(private readonly memory: WebAssembly.Memory) {
    this.refreshView();
    this.go = new GoSemantics(memory, {
      compare: (a, b) => {
        const compare = this.exports[COMPARE_EXPORT];
        if (!compare) throw new RegoEvaluationError('the policy module does not export opa_value_compare');
        return compare(a, b);
      },
      newValue: (json) => this.parseJson(json),
    });
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
        opa_builtin2: (id: number, _ctx: number, a: number, b: number) => (id === HostCall.iterate ? policy.go.iterate(a, b) : id < 0 ? policy.go.answer(id, a, b) : call(id, a, b)),
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
    this.go.dataChanged(0);
    this.dataAddr = this.parseJson(json);
    this.dataHeapPtr = this.exports.opa_heap_ptr_get();
    this.go.dataChanged(this.dataHeapPtr);
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
    this.go.newEvaluation();
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
    if (this.bytes?.buffer !== this.memory.buffer) this.bytes = new Uint8Array(this.memory.buffer);
  }
}

export { regoValueToJson };
