// A repository tree held in memory, for specifications that build their input inline.
import type { RepoFile, RepoSource } from '../../src/engine/index.js';

export class MemorySource implements RepoSource {
  readonly reads: string[][] = [];

  constructor(private readonly files: Record<string, string>, private readonly sizes: Record<string, number> = {}) {}

  async listFiles(): Promise<RepoFile[]> {
    return Object.keys(this.files)
      .sort()
      .map((path) => ({ path, size: this.sizes[path] ?? Buffer.byteLength(this.files[path]!) }));
  }

  async readFiles(paths: string[]): Promise<Map<string, string>> {
    this.reads.push(paths);
    return new Map(paths.filter((p) => p in this.files).map((p) => [p, this.files[p]!]));
  }
}
