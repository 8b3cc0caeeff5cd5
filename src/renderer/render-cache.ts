// The render cache: a build's outcome is reused while every input it read is unchanged, as ccache
// and Bazel reuse theirs. A build's inputs are not knowable from its request (kustomize follows
// resources, patches and components; Flux lists folders; Helm walks charts), so the helper records
// each path a build looked at and how (tools/render/recordfs.go). An entry holds the request, the
// helper's identity, those paths with what they were (content hash, folder listing, absent) and the
// outcome; a lookup checks only the recorded paths against the tree being checked. The base and
// head of a pull request share the cache, so the head builds again only what its change reaches.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BoundedLru, type RenderOutcome, type Renderer, type RenderRequest, type RenderSession } from '../engine/index.js';
import { pruneOldest } from '../disk-cache.js';
import type { HelperRenderer, HelperSession, RenderRead } from './helper-renderer.js';

/** A recorded input: how the build read the path, the path, and what it was. */
type Input = [op: RenderRead['op'], path: string, fingerprint: string];

interface Entry {
  inputs: Input[];
  /** The outcome as JSON text: every hit parses its own copy, which the check may change freely. */
  outcome: string;
}

/** Where entries live: each key (helper identity and request) holds a few entries, one per tree state seen. */
export interface RenderCacheStore {
  get(key: string): Promise<Entry[] | undefined>;
  put(key: string, entries: Entry[]): Promise<void>;
}

/** Entries kept per request: the base and head of a few pull requests that build the same folder differently. */
const ENTRIES_PER_KEY = 8;

export class CachingRenderer implements Renderer {
  private identity: Promise<string> | undefined;

  constructor(
    private readonly helper: HelperRenderer,
    private readonly store: RenderCacheStore,
  ) {}

  async open(files: Map<string, string>): Promise<RenderSession> {
    this.identity ??= this.helper.identity();
    return new CachingSession(await this.identity, this.helper, files, this.store);
  }
}

class CachingSession implements RenderSession {
  private inner: Promise<HelperSession> | undefined;
  private readonly tree: TreeState;

  constructor(
    private readonly identity: string,
    private readonly helper: HelperRenderer,
    files: Map<string, string>,
    private readonly store: RenderCacheStore,
  ) {
    this.tree = new TreeState(files);
  }

  async render(request: RenderRequest): Promise<RenderOutcome> {
    const key = sha256(JSON.stringify([this.identity, request]));
    const entries = (await this.store.get(key)) ?? [];
    const hit = entries.find((entry) => entry.inputs.every(([op, path, fingerprint]) => this.tree.fingerprint(op, path) === fingerprint));
    if (hit) return { ...(JSON.parse(hit.outcome) as RenderOutcome), cached: true };

    // The helper starts (and takes the tree's files) only when a build is not in the cache.
    this.inner ??= this.helper.open(this.tree.files);
    const { outcome, reads } = await (await this.inner).renderRecorded(request);
    // Without reads the helper did not answer (the build was stopped for time): nothing to reuse.
    // A failed build is not kept either: a failure may come from outside the tree (a chart
    // repository that did not answer), and builds that fail are few. Nor is a build of a fetched
    // chart: its input is the repository's answer (a new version in a range, a republished
    // archive), which the tree's paths do not show; the chart cache spares the download.
    if (reads && outcome.ok && !(request.kind === 'helm' && request.remote)) {
      const entry: Entry = { inputs: reads.map((r) => [r.op, r.path, this.tree.fingerprint(r.op, r.path)]), outcome: JSON.stringify(outcome) };
      const others = entries.filter((e) => !sameInputs(e.inputs, entry.inputs));
      await this.store.put(key, [entry, ...others].slice(0, ENTRIES_PER_KEY));
    }
    return outcome;
  }

  async close(): Promise<void> {
    const inner = await this.inner?.catch(() => undefined);
    await inner?.close();
  }
}

function sameInputs(a: Input[], b: Input[]): boolean {
  return a.length === b.length && a.every((input, i) => input[0] === b[i]![0] && input[1] === b[i]![1] && input[2] === b[i]![2]);
}

/** The tree a session builds over, as the helper's filesystem holds it: what each recorded read saw. */
class TreeState {
  private readonly memo = new Map<string, string>();
  /** Folder → the names directly in it, each with `/` when a folder. */
  private folders: Map<string, Set<string>> | undefined;

  constructor(readonly files: Map<string, string>) {}

  fingerprint(op: RenderRead['op'], path: string): string {
    const id = `${op}\0${path}`;
    let value = this.memo.get(id);
    if (value === undefined) {
      value = this.compute(op, path);
      this.memo.set(id, value);
    }
    return value;
  }

  private compute(op: RenderRead['op'], path: string): string {
    const text = this.files.get(path);
    const children = this.folderIndex().get(path);
    const kind = text !== undefined ? 'file' : children ? 'dir' : 'absent';
    if (op === 'stat' || kind === 'absent') return kind;
    if (op === 'file') return kind === 'file' ? `file:${sha256(text!)}` : kind;
    if (kind === 'file') return kind;
    if (op === 'list') return `list:${sha256([...children!].sort().join('\n'))}`;
    const prefix = path === '' ? '' : `${path}/`;
    const below = [...this.files.keys()].filter((p) => p.startsWith(prefix)).sort();
    return `tree:${sha256(below.join('\n'))}`;
  }

  private folderIndex(): Map<string, Set<string>> {
    if (this.folders) return this.folders;
    const folders = new Map<string, Set<string>>([['', new Set()]]);
    for (const file of this.files.keys()) {
      const parts = file.split('/');
      let folder = '';
      for (let i = 0; i < parts.length; i++) {
        const last = i === parts.length - 1;
        let names = folders.get(folder);
        if (!names) folders.set(folder, (names = new Set()));
        names.add(last ? parts[i]! : `${parts[i]}/`);
        folder = folder === '' ? parts[i]! : `${folder}/${parts[i]}`;
      }
    }
    return (this.folders = folders);
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The App's cache: in memory for the process, the least recently used entries dropped beyond `maxBytes`. */
export class MemoryRenderCache implements RenderCacheStore {
  private readonly entries: BoundedLru<Entry[]>;

  constructor(maxBytes: number = 256 * 1024 * 1024) {
    this.entries = new BoundedLru(maxBytes);
  }

  async get(key: string): Promise<Entry[] | undefined> {
    return this.entries.get(key);
  }

  async put(key: string, entries: Entry[]): Promise<void> {
    this.entries.set(key, entries, entries.reduce((sum, e) => sum + e.outcome.length + JSON.stringify(e.inputs).length, key.length));
  }

  get size(): { keys: number; bytes: number } {
    return { keys: this.entries.count, bytes: this.entries.bytes };
  }
}

/**
 * The CLI's cache: one file per key under `dir` (the user's cache folder, beside the compiled
 * policies), read and written whole. Beyond `maxBytes` the least recently used files (by time,
 * which a hit renews) are removed, once per process; a folder that cannot be read or written only
 * costs builds.
 */
export class DiskRenderCache implements RenderCacheStore {
  private pruned = false;

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number = 512 * 1024 * 1024,
  ) {}

  async get(key: string): Promise<Entry[] | undefined> {
    const file = this.file(key);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return undefined;
    }
    const now = new Date();
    await utimes(file, now, now).catch(() => undefined);
    try {
      const entries = JSON.parse(text) as unknown;
      return Array.isArray(entries) ? (entries as Entry[]) : undefined;
    } catch {
      // A file cut short (a full disk, a killed process) is a miss; the next build writes it again.
      return undefined;
    }
  }

  async put(key: string, entries: Entry[]): Promise<void> {
    const file = this.file(key);
    const partial = `${file}.${process.pid}.partial`;
    try {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(partial, JSON.stringify(entries));
      await rename(partial, file);
    } catch {
      await rm(partial, { force: true }).catch(() => undefined);
    }
    if (!this.pruned) {
      this.pruned = true;
      await pruneOldest(this.dir, this.maxBytes).catch(() => undefined);
    }
  }

  private file(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }


}
