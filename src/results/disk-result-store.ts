// The CLI's result cache on disk (the engine's CachingDriver decides what is cached and under which
// key): one file per group (a template with a constraint, under one engine identity), read whole the
// first time a check evaluates that pair, appended to when the check ends. A line is
// `entry<TAB>outcome JSON`. Reading a file is a split and a Map, far cheaper than evaluating.
// A damaged file (a full disk, a killed process) is ignored, said on the debug line, and written
// again whole; beyond `maxBytes` the least recently used files (by time, which a read renews) go,
// and a file grown past twice what its last check used is written again with only those entries.
import { appendFile, mkdir, readFile, rename, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pruneOldest } from '../disk-cache.js';
import type { ResultStore } from '../engine/index.js';

interface Group {
  entries: Map<string, string>;
  /** Entries read or added in this process: what a rewrite keeps. */
  used: Set<string>;
  /** Added in this process, not yet on disk. */
  added: string[];
  /** Lines in the file as read (0: no file). */
  lines: number;
  /** The file is damaged: written again whole. */
  rewrite: boolean;
}

const ENTRY = /^[A-Za-z0-9_-]{43}(?::[A-Za-z0-9_-]{43})?$/;
/** Below this many lines a file is never compacted: rewriting small files gains nothing. */
const COMPACT_ABOVE = 4096;

export interface DiskResultStoreOptions {
  maxBytes?: number;
  /** Hears what is ignored and why (PARAPET_DEBUG). */
  debug?: (line: string) => void;
}

export class DiskResultStore implements ResultStore {
  private readonly groups = new Map<string, Promise<Group>>();
  private readonly ready = new Map<string, Group>();
  private pruned = false;

  constructor(
    private readonly dir: string,
    private readonly options: DiskResultStoreOptions = {},
  ) {}

  async load(groups: string[]): Promise<void> {
    await Promise.all(
      groups.map((group) => {
        let loading = this.groups.get(group);
        if (!loading) {
          loading = this.read(group).then((g) => (this.ready.set(group, g), g));
          this.groups.set(group, loading);
        }
        return loading;
      }),
    );
  }

  get(group: string, entry: string): string | undefined {
    const g = this.ready.get(group);
    const outcome = g?.entries.get(entry);
    if (outcome !== undefined) g!.used.add(entry);
    return outcome;
  }

  set(group: string, entry: string, outcome: string): void {
    const g = this.ready.get(group);
    // A group is loaded before any evaluation of it; one that is not was never asked about.
    if (!g) return;
    const old = g.entries.get(entry);
    if (old === outcome) return;
    g.entries.set(entry, outcome);
    g.used.add(entry);
    // An entry evaluated again although stored was unreadable: the file is written again without it.
    if (old !== undefined) g.rewrite = true;
    else g.added.push(entry);
  }

  async flush(): Promise<void> {
    let wrote = false;
    for (const [group, g] of this.ready) {
      const compact = g.lines > COMPACT_ABOVE && g.lines > 2 * g.used.size;
      if (g.added.length === 0 && !g.rewrite && !compact) continue;
      const file = this.file(group);
      try {
        await mkdir(dirname(file), { recursive: true });
        if (g.rewrite || compact) {
          const partial = `${file}.${process.pid}.partial`;
          await writeFile(partial, lines(g, [...g.used]));
          await rename(partial, file);
          g.lines = g.used.size;
          g.rewrite = false;
        } else {
          await appendFile(file, lines(g, g.added));
          g.lines += g.added.length;
        }
        g.added = [];
        wrote = true;
      } catch (error) {
        this.options.debug?.(`result cache: cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      }
    }
    if (wrote && !this.pruned) {
      this.pruned = true;
      await pruneOldest(this.dir, this.options.maxBytes ?? 256 * 1024 * 1024).catch(() => undefined);
    }
  }

  private async read(group: string): Promise<Group> {
    const g: Group = { entries: new Map(), used: new Set(), added: [], lines: 0, rewrite: false };
    const file = this.file(group);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return g;
    }
    const now = new Date();
    await utimes(file, now, now).catch(() => undefined);
    const damaged = (why: string) => {
      this.options.debug?.(`result cache: ignoring ${file}: ${why}; it is written again`);
      return { ...g, entries: new Map<string, string>(), lines: 0, rewrite: true };
    };
    // Every line ends with a newline: a file that does not was cut short while written.
    if (text.length > 0 && !text.endsWith('\n')) return damaged('its last line is incomplete');
    let start = 0;
    while (start < text.length) {
      const end = text.indexOf('\n', start);
      const tab = text.indexOf('\t', start);
      if (tab < 0 || tab > end) return damaged(`line ${g.lines + 1} is not an entry`);
      const entry = text.slice(start, tab);
      const outcome = text.slice(tab + 1, end);
      if (!ENTRY.test(entry) || !outcome.startsWith('{') || !outcome.endsWith('}')) return damaged(`line ${g.lines + 1} is not an entry`);
      g.entries.set(entry, outcome);
      g.lines += 1;
      start = end + 1;
    }
    return g;
  }

  private file(group: string): string {
    return join(this.dir, group.slice(0, 2), `${group}.tsv`);
  }


}

function lines(g: Group, entries: string[]): string {
  return entries.map((entry) => `${entry}\t${g.entries.get(entry)!}\n`).join('');
}
