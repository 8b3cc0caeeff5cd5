// The host's side of wasm-rewrite.ts: what the Wasm library's rewritten functions ask, answered as
// Go OPA answers. It reads OPA's values in the policy's memory (value.h's layouts) and keeps, per
// object or set, the sorted order of its keys or elements: `data`'s until it changes, an
// evaluation's own values for that evaluation (their addresses are reused by the next).
import * as arithmetic from './go-arithmetic.js';
import { HostCall } from './wasm-rewrite.js';

/** What the answers need of the policy: the library's comparison (Go's order) and new values. */
export interface PolicyValues {
  compare(a: number, b: number): number;
  /** A value from JSON text, allocated in the policy's memory. */
  newValue(json: string): number;
}

/** An object's keys or a set's elements, in the buckets' order and in Go's (sorted) order. */
interface IterationOrder {
  walk: number[];
  sorted: number[];
  /** Where the last step was: the next step usually passes back what it returned. */
  cursor: number;
}

const decoder = new TextDecoder();
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

export class GoSemantics {
  private bytes!: Uint8Array;
  private view!: DataView;
  /** Where `data` ends: values below it live until dataChanged. */
  private dataEnd = 0;
  private readonly orders = new Map<number, IterationOrder>();
  private readonly dataOrders = new Map<number, IterationOrder>();

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly policy: PolicyValues,
  ) {
    this.refreshView();
  }

  /** `data` was replaced; it ends at `dataEnd`. */
  dataChanged(dataEnd: number): void {
    this.dataEnd = dataEnd;
    this.dataOrders.clear();
    this.orders.clear();
  }

  /** What the last evaluation built is gone: its addresses will hold other values. */
  newEvaluation(): void {
    if (this.orders.size > 0) this.orders.clear();
  }

  /**
   * The key (object) or element (set) after `prev` in Go OPA's order, the first when `prev` is 0,
   * 0 after the last. Called for every step of every iteration, so the order is kept per value.
   */
  iterate(node: number, prev: number): number {
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
  answer(id: number, a: number, b: number): number {
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
        throw new Error(`the policy module asked the host for ${id}, which it does not answer`);
    }
    return result === undefined ? 0 : this.policy.newValue(result);
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
    if (!this.isString(sep)) return 0;
    const pieces: Uint8Array[] = [];
    for (const element of this.order(set, true).sorted) {
      if (!this.isString(element)) return 0;
      pieces.push(this.stringBytes(element));
    }
    const separator = decoder.decode(this.stringBytes(sep));
    return this.policy.newValue(JSON.stringify(pieces.map((piece) => decoder.decode(piece)).join(separator)));
  }

  /**
   * The sorted order of an object's keys or a set's elements. A new iteration (`fresh`) checks that
   * the value still holds what its order was made of: an evaluation may free a value and build
   * another at its address.
   */
  private order(node: number, fresh: boolean): IterationOrder {
    // `data` is neither freed nor changed while it is set: its orders need no check.
    const inData = node < this.dataEnd;
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
    return values.slice().sort((a, b) => this.policy.compare(a, b));
  }

  private positionByValue(sorted: number[], value: number): number {
    return sorted.findIndex((addr) => this.policy.compare(addr, value) === 0);
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

  private refreshView(): void {
    if (this.bytes?.buffer !== this.memory.buffer) {
      this.bytes = new Uint8Array(this.memory.buffer);
      this.view = new DataView(this.memory.buffer);
    }
  }
}
