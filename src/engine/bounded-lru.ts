// A map bounded by the bytes its values take, the least recently used dropped first: the App's
// in-memory caches (results, renders) keep what a long-running process saw, within a budget.

export class BoundedLru<V> {
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private total = 0;

  constructor(private readonly maxBytes: number) {}

  get(key: string): V | undefined {
    const found = this.entries.get(key);
    if (!found) return undefined;
    // A Map iterates in insertion order: inserted again, the key is the most recently used.
    this.entries.delete(key);
    this.entries.set(key, found);
    return found.value;
  }

  /** Keeps `value` (its size `bytes`, the key's included) as the most recently used; one larger than the whole budget is not kept. */
  set(key: string, value: V, bytes: number): void {
    const old = this.entries.get(key);
    if (old) {
      this.total -= old.bytes;
      this.entries.delete(key);
    }
    if (bytes > this.maxBytes) return;
    this.entries.set(key, { value, bytes });
    this.total += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.total <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.total -= entry.bytes;
    }
  }

  get count(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.total;
  }
}
