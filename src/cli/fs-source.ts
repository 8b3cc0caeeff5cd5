// A RepoSource over a directory on disk (a checkout).
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { RepoFile, RepoSource } from '../engine/index.js';

// Never part of a GitOps tree, and expensive to walk.
const SKIPPED_DIRECTORIES = new Set(['.git', 'node_modules']);

export class FsSource implements RepoSource {
  constructor(private readonly root: string) {}

  async listFiles(): Promise<RepoFile[]> {
    const files: RepoFile[] = [];
    const walk = async (dir: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true });
      await Promise.all(
        entries.map(async (entry) => {
          const path = join(dir, entry.name);
          // Symbolic links are not followed: they could leave the tree or loop.
          if (entry.isDirectory()) {
            if (!SKIPPED_DIRECTORIES.has(entry.name)) await walk(path);
          } else if (entry.isFile()) {
            files.push({ path: relative(this.root, path).split(sep).join('/'), size: (await lstat(path)).size });
          }
        }),
      );
    };
    await walk(this.root);
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async readFiles(paths: string[]): Promise<Map<string, string>> {
    const texts = new Map<string, string>();
    // Bounded parallelism keeps file descriptors in check on large trees.
    const queue = [...paths];
    const work = async () => {
      for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
        try {
          texts.set(path, await readFile(join(this.root, ...path.split('/')), 'utf8'));
        } catch {
          // Reported by the engine as an unreadable file.
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, work));
    return texts;
  }
}
