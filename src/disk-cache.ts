// What the on-disk caches (compiled policies' helpers, renders, evaluation outcomes) share: how a
// key names the built helper whose output it holds, and how the oldest files go beyond a budget.
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A helper `npm ci` built, as a cache key names it: the build stamp written beside it (pinned
 * versions and a hash of its Go source) and the binary's size and time, so that a rebuilt helper
 * never reuses what the previous one made.
 */
export async function builtHelperIdentity(path: string): Promise<[string, number | null, number | null]> {
  const binary = await stat(path).catch(() => undefined);
  const stamp = await readFile(`${path}.version`, 'utf8').catch(() => '');
  return [stamp.trim(), binary?.size ?? null, binary?.mtimeMs ?? null];
}

/**
 * Removes the least recently used files (by time, which a read renews) of a cache kept as
 * `<dir>/<two-character folder>/<file>` until the rest takes at most `maxBytes`.
 */
export async function pruneOldest(dir: string, maxBytes: number): Promise<void> {
  const files: Array<{ path: string; size: number; time: number }> = [];
  for (const folder of await readdir(dir)) {
    const names = await readdir(join(dir, folder)).catch(() => [] as string[]);
    for (const name of names) {
      const path = join(dir, folder, name);
      const info = await stat(path).catch(() => undefined);
      if (info?.isFile()) files.push({ path, size: info.size, time: info.mtimeMs });
    }
  }
  let total = files.reduce((sum, f) => sum + f.size, 0);
  files.sort((a, b) => a.time - b.time);
  for (const file of files) {
    if (total <= maxBytes) break;
    await rm(file.path, { force: true });
    total -= file.size;
  }
}
