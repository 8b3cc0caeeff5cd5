// The result cache: a template's outcome on one review is a pure function of what the driver is
// given (the template's code in its engine, the constraint's text, the review, `data.inventory` when
// the template reads it) and of the engines that run it (opa, the CEL helper, Parapet's own host
// code: the `identity`). A decorator of the PolicyDriver port answers from the cache what was
// evaluated before and hands the driver only the rest, so the base and head of a pull request, or
// two runs of the CLI on a tree that changed in a few files, evaluate only what changed.
// Never cached: templates that call a builtin whose answer is not a function of its arguments (the
// clock, randomness, DNS), and outcomes that are errors (time and memory limits among them).
// Loading a template is as pure (compiling it, checking its builtins, Gatekeeper's driver reading its
// CEL): a template whose load the cache holds is handed to the driver only when an evaluation of it
// is not in the cache, so a check answered from the cache compiles nothing and starts no CEL helper.
import { createHash } from 'node:crypto';
import { BoundedLru } from './bounded-lru.js';
import type { EvaluationTask, PolicyDriver, TaskOutcome, TemplateCode, TemplateLoad, WorkOptions } from './ports.js';
import type { ParsedYamlFile, YamlLimits } from './repo/yaml-file.js';

/**
 * Where outcomes live. A group is a template with a constraint (under one engine identity); an entry
 * is a review (with `data.inventory`, for templates that read it) in that group. Outcomes are JSON text.
 */
export interface ResultStore {
  /** Reads what is kept for these groups, before `get` is asked about them. */
  load(groups: string[]): Promise<void>;
  get(group: string, entry: string): string | undefined;
  set(group: string, entry: string, outcome: string): void;
  /** Keeps what was added (the CLI's store writes it to disk). */
  flush(): Promise<void>;
}

/**
 * OPA's nondeterministic builtins (`opa capabilities`: `nondeterministic: true`) and the x509
 * verification that reads the clock. A template is matched on each name's last segment as a word,
 * which also finds it called through a bracketed reference (`time["now_ns"]`); a template that only
 * mentions the word in a string is not cached either, which costs time, never a verdict.
 */
const NONDETERMINISTIC = [/\bnow_ns\b/, /\bintn\b/, /\brfc4122\b/, /\blookup_ip_addr\b/, /\bdecode_verify\b/, /\bencode_sign(?:_raw)?\b/, /\bparse_and_verify_certificates(?:_with_options)?\b/, /\bsend\b/, /\bopa\s*(?:\.\s*runtime\b|\[)/];

/** Whether a template's outcomes may be reused: CEL has no clock or randomness; Rego is read for the builtins above. */
export function deterministicCode(code: TemplateCode): boolean {
  if (code.engine !== 'Rego') return true;
  return [code.source.rego, ...code.source.libs].every((text) => !NONDETERMINISTIC.some((name) => name.test(text)));
}

const hash = (text: string): string => createHash('sha256').update(text).digest('base64url');

/** The common outcome, a template that finds nothing: answered without parsing. */
const NOTHING = '{"results":[]}';

export interface CacheStats {
  hits: number;
  misses: number;
}

/** The group that holds templates' loads, by template key. */
const LOADS = hash('template loads');

interface LoadedTemplate {
  code: TemplateCode;
  /** Its key, or null when its outcomes are never cached. */
  key: string | null;
  /** The driver's id, once the driver has it. */
  inner?: Promise<TemplateLoad>;
}

export class CachingDriver implements PolicyDriver {
  private nextId = 1;
  private readonly templates = new Map<number, LoadedTemplate>();
  /** Each registered text's hash, computed once however many evaluations use it. */
  private readonly texts = new Map<number, string>();
  /** Templates the driver stopped (time, memory) or that failed: evaluated, not answered, until released, as without the cache. */
  private readonly bypassed = new Set<number>();
  private identity: Promise<string> | undefined;
  readonly stats: CacheStats = { hits: 0, misses: 0 };

  constructor(
    private readonly inner: PolicyDriver,
    private readonly store: ResultStore,
    /** What decides outcomes besides the inputs: the engines' versions and Parapet's code. */
    private readonly engineIdentity: () => Promise<string>,
  ) {}

  async loadTemplate(code: TemplateCode, options?: WorkOptions): Promise<TemplateLoad> {
    this.identity ??= this.engineIdentity();
    const key = deterministicCode(code) ? hash(JSON.stringify([await this.identity, code])) : null;
    const id = this.nextId++;
    if (key) {
      await this.store.load([LOADS]);
      const stored = this.store.get(LOADS, key);
      const load = stored === undefined ? undefined : parseLoad(stored);
      if (load) {
        this.templates.set(id, { code, key });
        return { ...load, id };
      }
    }
    const inner = this.inner.loadTemplate(code, options);
    const loaded = await inner;
    if (!loaded.ok) return loaded;
    this.templates.set(id, { code, key, inner });
    if (key) this.store.set(LOADS, key, JSON.stringify({ ...loaded, id: 0 }));
    return { ...loaded, id };
  }

  addText(json: string): number {
    const id = this.inner.addText(json);
    this.texts.set(id, hash(json));
    return id;
  }

  async evaluate(tasks: EvaluationTask[], options?: WorkOptions): Promise<TaskOutcome[]> {
    for (const task of tasks) if (!this.templates.has(task.template)) throw new Error(`unknown template ${task.template}`);
    const keys = this.keys(tasks);
    await this.store.load([...new Set(keys.flatMap((key) => (key ? [key.group] : [])))]);
    options?.signal?.throwIfAborted();
    const outcomes: TaskOutcome[] = new Array(tasks.length);
    const misses: number[] = [];
    tasks.forEach((task, i) => {
      const key = keys[i];
      const cached = key && !this.bypassed.has(task.template) ? this.store.get(key.group, key.entry) : undefined;
      const outcome = cached === undefined ? undefined : parseOutcome(cached);
      if (outcome) {
        outcomes[i] = outcome;
        this.stats.hits += 1;
      } else misses.push(i);
    });
    if (misses.length === 0) return outcomes;
    this.stats.misses += misses.length;
    // The driver loads now what the cache had answered for until this evaluation.
    const templates = [...new Set(misses.map((i) => tasks[i]!.template))];
    const loaded = await Promise.all(templates.map((id) => this.innerLoad(id, options)));
    const loads = new Map(templates.map((id, k) => [id, loaded[k]!]));
    const runnable = misses.filter((i) => loads.get(tasks[i]!.template)!.ok);
    const evaluated = await this.inner.evaluate(
      runnable.map((i) => ({ ...tasks[i]!, template: (loads.get(tasks[i]!.template) as { id: number }).id })),
      options,
    );
    for (const i of misses) {
      const load = loads.get(tasks[i]!.template)!;
      if (!load.ok) outcomes[i] = { error: `the template could not be loaded again: ${loadFailure(load)}` };
    }
    evaluated.forEach((outcome, j) => {
      const i = runnable[j]!;
      outcomes[i] = outcome;
      if ('error' in outcome) {
        this.bypassed.add(tasks[i]!.template);
        return;
      }
      const key = keys[i];
      if (key) this.store.set(key.group, key.entry, JSON.stringify(outcome));
    });
    return outcomes;
  }

  release(templates: number[], texts: number[]): void {
    const loaded: Array<Promise<TemplateLoad>> = [];
    for (const id of templates) {
      const inner = this.templates.get(id)?.inner;
      if (inner) loaded.push(inner);
      this.templates.delete(id);
      this.bypassed.delete(id);
    }
    for (const id of texts) this.texts.delete(id);
    this.inner.release([], texts);
    // A load still under way is released when it ends.
    for (const inner of loaded) void inner.then((load) => load.ok && this.inner.release([load.id], []), () => undefined);
  }

  parseYamlFiles(files: Array<{ path: string; text: string }>, limits: YamlLimits, options?: WorkOptions): Promise<ParsedYamlFile[]> {
    return this.inner.parseYamlFiles(files, limits, options);
  }

  /** Writes what this process added to the store. */
  flush(): Promise<void> {
    return this.store.flush();
  }

  /** The driver's load of a template, asked for the first time when the cache cannot answer an evaluation of it. */
  private innerLoad(id: number, options?: WorkOptions): Promise<TemplateLoad> {
    const template = this.templates.get(id)!;
    template.inner ??= this.inner.loadTemplate(template.code, options);
    return template.inner;
  }

  /** Per task its group and entry, or undefined when its outcome is not to be cached. */
  private keys(tasks: EvaluationTask[]): Array<{ group: string; entry: string } | undefined> {
    const groups = new Map<string, string>();
    const reviews = new Map<string, string>();
    return tasks.map((task) => {
      const template = this.templates.get(task.template)?.key;
      const parameters = this.texts.get(task.parameters);
      const data = task.data === 0 ? '' : this.texts.get(task.data);
      if (!template || parameters === undefined || data === undefined) return undefined;
      const pair = `${template}:${parameters}`;
      let group = groups.get(pair);
      if (group === undefined) {
        group = hash(pair);
        groups.set(pair, group);
      }
      let review = reviews.get(task.review);
      if (review === undefined) {
        review = hash(task.review);
        reviews.set(task.review, review);
      }
      return { group, entry: data ? `${review}:${data}` : review };
    });
  }
}

/** A stored load that succeeded, or undefined when the text is not one. */
function parseLoad(text: string): Extract<TemplateLoad, { ok: true }> | undefined {
  try {
    const load = JSON.parse(text) as unknown;
    if (typeof load === 'object' && load !== null && (load as { ok?: unknown }).ok === true && typeof (load as { usesInventory?: unknown }).usesInventory === 'boolean') {
      return load as Extract<TemplateLoad, { ok: true }>;
    }
  } catch {
    // falls through: loaded by the driver
  }
  return undefined;
}

function loadFailure(load: Exclude<TemplateLoad, { ok: true }>): string {
  if ('problems' in load) return load.problems.map((p) => p.message).join('; ');
  if ('rejected' in load) return load.rejected;
  if ('unsupported' in load) return load.unsupported;
  if ('loadError' in load) return load.loadError;
  return load.limit;
}

/** A stored outcome, or undefined when the text is not one (a damaged store: evaluated again). */
function parseOutcome(text: string): TaskOutcome | undefined {
  if (text === NOTHING) return { results: [] };
  try {
    const outcome = JSON.parse(text) as unknown;
    if (typeof outcome === 'object' && outcome !== null && Array.isArray((outcome as { results?: unknown }).results)) return outcome as TaskOutcome;
  } catch {
    // falls through: a miss
  }
  return undefined;
}

/** The App's store: in memory for the process, the least recently used entries dropped beyond `maxBytes`. */
export class MemoryResultStore implements ResultStore {
  private readonly entries: BoundedLru<string>;

  constructor(maxBytes: number = 128 * 1024 * 1024) {
    this.entries = new BoundedLru(maxBytes);
  }

  async load(): Promise<void> {}

  get(group: string, entry: string): string | undefined {
    return this.entries.get(`${group}\t${entry}`);
  }

  set(group: string, entry: string, outcome: string): void {
    const key = `${group}\t${entry}`;
    this.entries.set(key, outcome, key.length + outcome.length);
  }

  async flush(): Promise<void> {}

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.count, bytes: this.entries.bytes };
  }
}
