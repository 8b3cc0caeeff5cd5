// Evaluates (and parses YAML) on worker threads: uses every core, and bounds each evaluation and
// each file's parsing in time (a worker whose current item runs too long is terminated, its other
// work continues on a fresh one) and in memory (a capped Wasm memory per instance, a capped heap
// per worker). A template that runs out of time or memory is not run again in the same check: one
// runaway template costs one time limit, not one per object.
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { InputError } from '../model.js';
import type { CelHelper, EvaluationTask, TaskOutcome, WorkOptions } from '../ports.js';
import type { GoBuiltinAnswer } from './builtins.js';
import type { ParsedYamlFile, YamlLimits } from '../repo/yaml-file.js';

export type WorkerRequest =
  /**
   * `builtins`: where the worker asks for the builtins Go OPA runs (GO_BUILTINS) and waits on
   * `answered` (Int32 0 → 1) for the answer, synchronously as the Wasm calls them.
   */
  | { type: 'init'; progress: SharedArrayBuffer; memoryMb: number | undefined; builtins: { port: MessagePort; answered: SharedArrayBuffer } }
  /** `entrypoint`: the template's `violation` in the module (which may hold other templates too). */
  | { type: 'module'; id: number; module: WebAssembly.Module; entrypoint: string }
  | { type: 'text'; id: number; json: string }
  | { type: 'release'; modules: number[]; texts: number[] }
  /** `tasks` holds four numbers per task: template, data, parameters, index in `reviews`. */
  | { type: 'batch'; seq: number; reviews: string[]; tasks: number[] }
  | { type: 'parse'; seq: number; files: Array<{ path: string; text: string }>; limits: YamlLimits };

export type WorkerResponse =
  /** `stopped`: templates that ran out of memory in this batch, and the error their other tasks get. */
  | { type: 'batch'; seq: number; outcomes: TaskOutcome[]; stopped: Array<{ template: number; error: string }> }
  | { type: 'parsed'; seq: number; files: ParsedYamlFile[] }
  | { type: 'fatal'; message: string };

export interface EvaluationPoolOptions {
  /** Worker threads; defaults to the machine's parallelism. */
  workers?: number;
  /** Time limit of one evaluation, in milliseconds. */
  timeoutMs: number;
  /** Time limit of parsing one file, in milliseconds; defaults to `timeoutMs`. */
  parseTimeoutMs?: number;
  /**
   * Memory limit, in MiB, of one evaluation's Wasm memory and of each worker's JavaScript heap;
   * undefined: no limit of Parapet's own.
   */
  memoryMb?: number;
  /**
   * The parapet-cel helper, which runs the builtins the host does not write itself in the OPA
   * Gatekeeper links; without it a call to one is an evaluation error.
   */
  builtins?: CelHelper;
}

/** One caller's request: its results fill in as its units come back. */
interface Call<R> {
  results: R[];
  /** Units not finished yet. */
  pending: number;
  /** Resolved or rejected (aborted): its units still around are dropped. */
  settled: boolean;
  resolve(): void;
  reject(reason: unknown): void;
}

/** The work sent to a worker in one message; `indexes` are the items' places in the caller's list. */
type Unit =
  | { kind: 'evaluate'; seq: number; indexes: number[]; call: Call<TaskOutcome>; tasks: EvaluationTask[] }
  | { kind: 'parse'; seq: number; indexes: number[]; call: Call<ParsedYamlFile>; files: Array<{ path: string; text: string }>; limits: YamlLimits };

interface Slot {
  worker: Worker;
  /** [seq of the unit being worked on, 1 + index of its item being worked on (0 = idle)]. */
  progress: Int32Array;
  /** Sent to the worker, in the order it works them. */
  units: Unit[];
  lastProgress: string;
  lastChange: number;
}

/** Why a worker was replaced: what the item it was working on becomes. */
interface Failure {
  evaluation: Extract<TaskOutcome, { error: string }>;
  parse: (file: string) => InputError;
  /** Time and memory: the template is stopped for the rest of its check. */
  stopsTemplate: boolean;
}

const BATCH_BYTES = 256 * 1024;
const PARSE_BYTES = 512 * 1024;
const BATCH_TASKS = 512;
/** Units queued at one worker, so it never waits for the next message. */
const IN_FLIGHT = 2;
/** How often the watchdog looks at the workers' progress, at most. */
const MAX_TICK_MS = 250;

export class EvaluationPool {
  private readonly slots: Slot[] = [];
  private readonly modules = new Map<number, { module: WebAssembly.Module; entrypoint: string }>();
  private readonly texts = new Map<number, string>();
  private queue: Unit[] = [];
  /** Template → the error its remaining tasks get: it ran out of time or memory. */
  private readonly stopped = new Map<number, string>();
  private nextId = 1;
  private nextSeq = 1;
  private readonly watchdog: NodeJS.Timeout;
  private closed = false;

  private constructor(private readonly options: { workers: number; timeoutMs: number; parseTimeoutMs: number; memoryMb: number | undefined; builtins: CelHelper | undefined }) {
    // One worker to begin with; the others start when work waits for them (dispatch), so a small
    // repository does not pay for starting threads it would not use.
    this.slots.push(this.spawn());
    const tick = Math.max(5, Math.min(MAX_TICK_MS, Math.floor(Math.min(options.timeoutMs, options.parseTimeoutMs) / 4)));
    this.watchdog = setInterval(() => this.checkTimeouts(), tick);
    this.watchdog.unref();
  }

  static start(options: EvaluationPoolOptions): EvaluationPool {
    const workers = Math.max(1, options.workers ?? availableParallelism());
    return new EvaluationPool({ workers, timeoutMs: options.timeoutMs, parseTimeoutMs: options.parseTimeoutMs ?? options.timeoutMs, memoryMb: options.memoryMb, builtins: options.builtins });
  }

  /** Worker threads running now: one until work waits for more. */
  get threads(): number {
    return this.slots.length;
  }

  addModule(module: WebAssembly.Module, entrypoint: string): number {
    const id = this.nextId++;
    this.modules.set(id, { module, entrypoint });
    for (const slot of this.slots) post(slot.worker, { type: 'module', id, module, entrypoint });
    return id;
  }

  /** Registers JSON text (a template's `data`, a constraint's parameters) with every worker. */
  addText(json: string): number {
    const id = this.nextId++;
    this.texts.set(id, json);
    for (const slot of this.slots) post(slot.worker, { type: 'text', id, json });
    return id;
  }

  release(modules: number[], texts: number[]): void {
    for (const id of modules) {
      this.modules.delete(id);
      this.stopped.delete(id);
    }
    for (const id of texts) this.texts.delete(id);
    for (const slot of this.slots) post(slot.worker, { type: 'release', modules, texts });
  }

  /** Outcomes in the order of `tasks`; rejects with the signal's reason when it is aborted. */
  async evaluate(tasks: EvaluationTask[], options: WorkOptions = {}): Promise<TaskOutcome[]> {
    if (this.closed) throw new Error('the evaluation pool is closed');
    return this.call<TaskOutcome>(tasks.length, options.signal, (call) => {
      const units: Unit[] = [];
      let start = 0;
      while (start < tasks.length) {
        let end = start;
        let bytes = 0;
        let last: string | undefined;
        while (end < tasks.length && end - start < BATCH_TASKS && bytes < BATCH_BYTES) {
          const review = tasks[end++]!.review;
          if (review !== last) bytes += review.length;
          last = review;
        }
        units.push({ kind: 'evaluate', seq: this.nextSeq++, indexes: range(start, end), call, tasks: tasks.slice(start, end) });
        start = end;
      }
      return units;
    });
  }

  /**
   * Parses YAML files on the workers, so both cores share the work of large repositories. Results
   * are in the order of `files`; a file whose parsing runs out of time (`parseTimeoutMs`) or
   * memory is a `limit` error on it.
   */
  async parseYamlFiles(files: Array<{ path: string; text: string }>, limits: YamlLimits, options: WorkOptions = {}): Promise<ParsedYamlFile[]> {
    if (this.closed) throw new Error('the evaluation pool is closed');
    return this.call<ParsedYamlFile>(files.length, options.signal, (call) => {
      const units: Unit[] = [];
      let start = 0;
      while (start < files.length) {
        let end = start;
        let bytes = 0;
        while (end < files.length && (end === start || bytes < PARSE_BYTES)) bytes += files[end++]!.text.length;
        units.push({ kind: 'parse', seq: this.nextSeq++, indexes: range(start, end), call, files: files.slice(start, end), limits });
        start = end;
      }
      return units;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.watchdog);
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  /** Queues the units `split` makes of a request of `size` items; resolves with their results. */
  private call<R>(size: number, signal: AbortSignal | undefined, split: (call: Call<R>) => Unit[]): Promise<R[]> {
    signal?.throwIfAborted();
    return new Promise<R[]>((resolve, reject) => {
      const abort = () => this.abort(call as Call<unknown>, signal!.reason);
      const call: Call<R> = {
        results: new Array<R>(size),
        pending: 0,
        settled: false,
        resolve: () => {
          call.settled = true;
          signal?.removeEventListener('abort', abort);
          resolve(call.results);
        },
        reject: (reason) => {
          call.settled = true;
          reject(reason);
        },
      };
      const units = split(call);
      call.pending = units.length;
      if (units.length === 0) {
        call.resolve();
        return;
      }
      signal?.addEventListener('abort', abort, { once: true });
      this.queue.push(...units);
      this.dispatch();
    });
  }

  /** Drops an aborted call's work: what waits is dequeued, a worker holding some of it is replaced. */
  private abort(call: Call<unknown>, reason: unknown): void {
    if (call.settled) return;
    call.reject(reason);
    this.queue = this.queue.filter((unit) => unit.call !== call);
    for (const slot of [...this.slots]) if (slot.units.some((unit) => unit.call === call)) this.replace(slot, undefined);
  }

  private dispatch(): void {
    this.assign();
    while (this.queue.length > 0 && this.slots.length < this.options.workers) {
      this.slots.push(this.spawn());
      this.assign();
    }
  }

  private assign(): void {
    for (let depth = 0; depth < IN_FLIGHT; depth++) {
      for (const slot of this.slots) {
        if (slot.units.length > depth) continue;
        const unit = this.nextUnit();
        if (!unit) return;
        if (slot.units.length === 0) {
          slot.lastProgress = '';
          slot.lastChange = Date.now();
        }
        slot.units.push(unit);
        post(slot.worker, unit.kind === 'evaluate' ? encodeBatch(unit) : { type: 'parse', seq: unit.seq, files: unit.files, limits: unit.limits });
      }
    }
  }

  /** The next unit worth sending: tasks of stopped templates get their error here instead. */
  private nextUnit(): Unit | undefined {
    for (let unit = this.queue.shift(); unit; unit = this.queue.shift()) {
      if (unit.call.settled) continue;
      if (unit.kind === 'parse' || this.stopped.size === 0) return unit;
      const keep: number[] = [];
      unit.tasks.forEach((task, i) => {
        const error = this.stopped.get(task.template);
        if (error === undefined) keep.push(i);
        else unit.call.results[unit.indexes[i]!] = { error, skipped: true };
      });
      if (keep.length === unit.tasks.length) return unit;
      if (keep.length > 0) return { ...unit, tasks: keep.map((i) => unit.tasks[i]!), indexes: keep.map((i) => unit.indexes[i]!) };
      this.finish(unit);
    }
    return undefined;
  }

  private finish(unit: Unit): void {
    if (unit.call.settled) return;
    if (--unit.call.pending === 0) unit.call.resolve();
  }

  /**
   * The worker's line to the Go builtins: it posts a call and blocks; the answer comes from the
   * helper on this thread, is posted back and `answered` wakes the worker, which takes it off its
   * port synchronously. The worker's time limit covers the wait.
   */
  private builtinChannel(): { port: MessagePort; answered: SharedArrayBuffer } {
    const { port1, port2 } = new MessageChannel();
    const answered = new SharedArrayBuffer(4);
    const flag = new Int32Array(answered);
    const respond = (answer: GoBuiltinAnswer) => {
      port1.postMessage(answer);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
    };
    port1.on('message', (call: { name: string; args: string[] }) => {
      const helper = this.options.builtins;
      if (!helper) {
        respond({ error: "this build of Parapet runs it in the parapet-cel helper, which this evaluation was not given" });
        return;
      }
      helper.request(JSON.stringify({ op: 'builtin', name: call.name, args: call.args, timeoutMs: this.options.timeoutMs })).then(
        (answer) => respond(answer as GoBuiltinAnswer),
        (error: unknown) => respond({ error: error instanceof Error ? error.message : String(error) }),
      );
    });
    // A worker waiting for nothing must not keep the process alive.
    port1.unref();
    return { port: port2, answered };
  }

  private spawn(): Slot {
    const progress = new SharedArrayBuffer(8);
    const worker = startWorker(this.options.memoryMb);
    const slot: Slot = { worker, progress: new Int32Array(progress), units: [], lastProgress: '', lastChange: Date.now() };
    const builtins = this.builtinChannel();
    worker.postMessage({ type: 'init', progress, memoryMb: this.options.memoryMb, builtins } satisfies WorkerRequest, [builtins.port]);
    for (const [id, { module, entrypoint }] of this.modules) post(worker, { type: 'module', id, module, entrypoint });
    for (const [id, json] of this.texts) post(worker, { type: 'text', id, json });
    worker.on('message', (response: WorkerResponse) => {
      if (response.type === 'fatal') {
        this.replace(slot, crashed(`the evaluation worker failed: ${response.message}`));
        return;
      }
      const index = slot.units.findIndex((unit) => unit.seq === response.seq);
      if (index < 0) return;
      const [unit] = slot.units.splice(index, 1) as [Unit];
      if (unit.kind === 'evaluate' && response.type === 'batch') {
        response.outcomes.forEach((outcome, i) => (unit.call.results[unit.indexes[i]!] = outcome));
        for (const { template, error } of response.stopped) this.stopTemplate(template, error);
      } else if (unit.kind === 'parse' && response.type === 'parsed') {
        response.files.forEach((file, i) => (unit.call.results[unit.indexes[i]!] = file));
      }
      this.finish(unit);
      this.dispatch();
    });
    worker.on('error', (error: Error & { code?: string }) => {
      // The heap limit (resourceLimits) ends the worker with this code; its item is the culprit.
      this.replace(slot, error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? this.outOfMemory() : crashed(`the evaluation worker crashed: ${error.message}`));
    });
    worker.on('exit', () => {
      if (!this.closed && this.slots.includes(slot) && slot.units.length > 0) this.replace(slot, crashed('the evaluation worker exited unexpectedly'));
    });
    return slot;
  }

  /** What a slot is working on right now, if anything. */
  private running(slot: Slot): { unit: Unit; item: number } | undefined {
    const item = Atomics.load(slot.progress, 1) - 1;
    if (item < 0) return undefined;
    const seq = Atomics.load(slot.progress, 0);
    const unit = slot.units.find((u) => u.seq === seq);
    return unit ? { unit, item } : undefined;
  }

  private checkTimeouts(): void {
    const now = Date.now();
    for (const slot of [...this.slots]) {
      if (slot.units.length === 0) continue;
      const current = `${Atomics.load(slot.progress, 0)}:${Atomics.load(slot.progress, 1)}`;
      if (current !== slot.lastProgress) {
        slot.lastProgress = current;
        slot.lastChange = now;
        continue;
      }
      const running = this.running(slot);
      if (!running) continue;
      const parsing = running.unit.kind === 'parse';
      if (now - slot.lastChange > (parsing ? this.options.parseTimeoutMs : this.options.timeoutMs)) this.replace(slot, parsing ? this.parseOutOfTime() : this.outOfTime());
    }
  }

  private outOfTime(): Failure {
    return { ...crashed(`evaluation exceeded the time limit of ${this.options.timeoutMs} ms and was stopped`), stopsTemplate: true };
  }

  private parseOutOfTime(): Failure {
    const limit = `the time limit of ${this.options.parseTimeoutMs} ms`;
    return {
      evaluation: { error: `parsing exceeded ${limit}` },
      parse: (file) => ({ location: { file, line: 1 }, code: 'limit', message: `YAML: parsing took longer than ${limit} and was stopped; the file was not read` }),
      stopsTemplate: false,
    };
  }

  private outOfMemory(): Failure {
    const limit = `the memory limit of ${this.options.memoryMb} MiB`;
    return {
      evaluation: { error: `evaluation exceeded ${limit} and was stopped` },
      parse: (file) => ({ location: { file, line: 1 }, code: 'limit', message: `YAML: parsing exceeded ${limit} and was stopped; the file was not read` }),
      stopsTemplate: true,
    };
  }

  /**
   * No more tasks of `template` in this check: those queued get `error` (skipped), and a worker
   * evaluating it right now is stopped too, so a runaway template costs one limit, not one per worker.
   */
  private stopTemplate(template: number, error: string): void {
    this.stopped.set(template, error);
    for (const slot of [...this.slots]) {
      const running = this.running(slot);
      if (running?.unit.kind !== 'evaluate' || running.unit.tasks[running.item]?.template !== template) continue;
      this.replace(slot, { ...crashed(error), evaluation: { error, skipped: true } }, running);
    }
  }

  /**
   * Terminates a worker and starts another in its place. With a `failure`, the item the worker was
   * on gets it as its outcome (only if it is still on `expected`, when given: it may have moved on);
   * everything else it held is queued again (its results were not sent back, so it runs again),
   * except the work of calls that were aborted.
   */
  private replace(slot: Slot, failure: Failure | undefined, expected?: { unit: Unit; item: number }): void {
    const index = this.slots.indexOf(slot);
    if (index < 0 || this.closed) return;
    const running = failure ? this.running(slot) : undefined;
    const culprit = running && (!expected || (expected.unit === running.unit && expected.item === running.item)) ? running : undefined;
    const units = slot.units;
    slot.units = [];
    this.slots[index] = this.spawn();
    void slot.worker.terminate();
    let stops: { template: number; error: string } | undefined;
    const requeue: Unit[] = [];
    for (const unit of units) {
      if (unit.call.settled) continue;
      const item = culprit?.unit === unit ? culprit.item : -1;
      if (item >= 0) {
        if (unit.kind === 'evaluate') {
          unit.call.results[unit.indexes[item]!] = failure!.evaluation;
          if (failure!.stopsTemplate) stops = { template: unit.tasks[item]!.template, error: failure!.evaluation.error };
        } else {
          // Parsing is not retried: a file that stops a worker is reported, not parsed again.
          unit.call.results[unit.indexes[item]!] = { documents: [], errors: [failure!.parse(unit.files[item]!.path)] };
        }
      }
      const rest = unit.indexes.map((_, i) => i).filter((i) => i !== item);
      if (rest.length === 0) this.finish(unit);
      else if (unit.kind === 'evaluate') requeue.push({ ...unit, seq: this.nextSeq++, tasks: rest.map((i) => unit.tasks[i]!), indexes: rest.map((i) => unit.indexes[i]!) });
      else requeue.push({ ...unit, seq: this.nextSeq++, files: rest.map((i) => unit.files[i]!), indexes: rest.map((i) => unit.indexes[i]!) });
    }
    this.queue.unshift(...requeue);
    if (stops) this.stopTemplate(stops.template, stops.error);
    this.dispatch();
  }
}

function crashed(message: string): Failure {
  return {
    evaluation: { error: message },
    parse: (file) => ({ location: { file, line: 1 }, code: 'yaml', message: `YAML: the file could not be parsed: ${message}` }),
    stopsTemplate: false,
  };
}

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}

function encodeBatch(unit: Extract<Unit, { kind: 'evaluate' }>): WorkerRequest {
  const reviews: string[] = [];
  const tasks: number[] = [];
  let last: string | undefined;
  for (const task of unit.tasks) {
    if (task.review !== last) {
      reviews.push(task.review);
      last = task.review;
    }
    tasks.push(task.template, task.data, task.parameters, reviews.length - 1);
  }
  return { type: 'batch', seq: unit.seq, reviews, tasks };
}

function post(worker: Worker, request: WorkerRequest): void {
  worker.postMessage(request);
}

// Under vitest (and `tsx`), this module is TypeScript loaded through a hook; Node does not pass
// `--import tsx` on to workers, so a tiny bootstrap registers tsx's loader in the worker first.
const fromSource = import.meta.url.endsWith('.ts');

function startWorker(memoryMb: number | undefined): Worker {
  // The heap limit stops a worker whose evaluation or parsing allocates without bound before it
  // takes the process down: the worker ends with ERR_WORKER_OUT_OF_MEMORY and is replaced.
  const resourceLimits = memoryMb === undefined ? undefined : { maxOldGenerationSizeMb: memoryMb };
  if (!fromSource) return new Worker(new URL('./evaluation-worker.js', import.meta.url), { resourceLimits });
  const entry = new URL('./evaluation-worker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true, resourceLimits });
}
