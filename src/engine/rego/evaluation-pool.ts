// Evaluates on worker threads: uses every core, and enforces a time limit per evaluation by
// terminating a worker whose current evaluation runs too long (then its work continues on a fresh one).
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { EvaluationTask, TaskOutcome } from '../ports.js';
import type { ParsedYamlFile, YamlLimits } from '../repo/yaml-file.js';

export type WorkerRequest =
  | { type: 'init'; progress: SharedArrayBuffer }
  | { type: 'module'; id: number; module: WebAssembly.Module }
  | { type: 'text'; id: number; json: string }
  | { type: 'release'; modules: number[]; texts: number[] }
  /** `tasks` holds four numbers per task: template, data, parameters, index in `reviews`. */
  | { type: 'batch'; seq: number; reviews: string[]; tasks: number[] }
  | { type: 'parse'; seq: number; files: Array<{ path: string; text: string }>; limits: YamlLimits };

export type WorkerResponse =
  | { type: 'batch'; seq: number; outcomes: TaskOutcome[] }
  | { type: 'parsed'; seq: number; files: ParsedYamlFile[] }
  | { type: 'fatal'; message: string };

export interface EvaluationPoolOptions {
  /** Worker threads; defaults to the machine's parallelism. */
  workers?: number;
  /** Time limit of one evaluation, in milliseconds. */
  timeoutMs: number;
}

interface Batch {
  seq: number;
  tasks: EvaluationTask[];
  /** Index in the caller's task list of each task. */
  indexes: number[];
  outcomes: TaskOutcome[];
  done: () => void;
}

interface Slot {
  worker: Worker;
  /** [seq of the batch being evaluated, 1 + index of the task being evaluated (0 = idle)]. */
  progress: Int32Array;
  batches: Batch[];
  lastProgress: string;
  lastChange: number;
}

const BATCH_BYTES = 256 * 1024;
const PARSE_BYTES = 512 * 1024;
const BATCH_TASKS = 512;
/** Batches queued at one worker, so it never waits for the next message. */
const IN_FLIGHT = 2;

export class EvaluationPool {
  private readonly slots: Slot[] = [];
  private readonly modules = new Map<number, WebAssembly.Module>();
  private readonly texts = new Map<number, string>();
  private readonly queue: Batch[] = [];
  private nextId = 1;
  private nextSeq = 1;
  private readonly parsing = new Map<number, { resolve: (files: ParsedYamlFile[]) => void; reject: (error: Error) => void }>();
  private nextParser = 0;
  private readonly watchdog: NodeJS.Timeout;
  private closed = false;

  private constructor(private readonly options: Required<EvaluationPoolOptions>) {
    for (let i = 0; i < options.workers; i++) this.slots.push(this.spawn());
    const tick = Math.max(5, Math.floor(options.timeoutMs / 4));
    this.watchdog = setInterval(() => this.checkTimeouts(), tick);
    this.watchdog.unref();
  }

  static start(options: EvaluationPoolOptions): EvaluationPool {
    const workers = Math.max(1, options.workers ?? availableParallelism());
    return new EvaluationPool({ workers, timeoutMs: options.timeoutMs });
  }

  addModule(module: WebAssembly.Module): number {
    const id = this.nextId++;
    this.modules.set(id, module);
    for (const slot of this.slots) post(slot.worker, { type: 'module', id, module });
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
    for (const id of modules) this.modules.delete(id);
    for (const id of texts) this.texts.delete(id);
    for (const slot of this.slots) post(slot.worker, { type: 'release', modules, texts });
  }

  /** Outcomes in the order of `tasks`. */
  async evaluate(tasks: EvaluationTask[]): Promise<TaskOutcome[]> {
    if (this.closed) throw new Error('the evaluation pool is closed');
    const outcomes: TaskOutcome[] = new Array(tasks.length);
    const pending: Promise<void>[] = [];
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
      const indexes = Array.from({ length: end - start }, (_, i) => start + i);
      pending.push(new Promise((resolve) => this.queue.push({ seq: this.nextSeq++, tasks: tasks.slice(start, end), indexes, outcomes, done: resolve })));
      start = end;
    }
    this.dispatch();
    await Promise.all(pending);
    return outcomes;
  }

  /**
   * Parses YAML files on the workers, so both cores share the work of large repositories. Results
   * are in the order of `files`.
   */
  async parseYamlFiles(files: Array<{ path: string; text: string }>, limits: YamlLimits): Promise<ParsedYamlFile[]> {
    const chunks: Array<Promise<ParsedYamlFile[]>> = [];
    let start = 0;
    while (start < files.length) {
      let end = start;
      let bytes = 0;
      while (end < files.length && (end === start || bytes < PARSE_BYTES)) bytes += files[end++]!.text.length;
      const chunk = files.slice(start, end);
      const seq = this.nextSeq++;
      const slot = this.slots[this.nextParser++ % this.slots.length]!;
      chunks.push(new Promise((resolve, reject) => this.parsing.set(seq, { resolve, reject })));
      post(slot.worker, { type: 'parse', seq, files: chunk, limits });
      start = end;
    }
    return (await Promise.all(chunks)).flat();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.watchdog);
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private dispatch(): void {
    for (let depth = 0; depth < IN_FLIGHT; depth++) {
      for (const slot of this.slots) {
        if (slot.batches.length > depth || this.queue.length === 0) continue;
        const batch = this.queue.shift()!;
        if (slot.batches.length === 0) {
          slot.lastProgress = '';
          slot.lastChange = Date.now();
        }
        slot.batches.push(batch);
        post(slot.worker, encodeBatch(batch));
      }
    }
  }

  private spawn(): Slot {
    const progress = new SharedArrayBuffer(8);
    const worker = startWorker();
    const slot: Slot = { worker, progress: new Int32Array(progress), batches: [], lastProgress: '', lastChange: Date.now() };
    post(worker, { type: 'init', progress });
    for (const [id, module] of this.modules) post(worker, { type: 'module', id, module });
    for (const [id, json] of this.texts) post(worker, { type: 'text', id, json });
    worker.on('message', (response: WorkerResponse) => {
      if (response.type === 'parsed') {
        const pending = this.parsing.get(response.seq);
        this.parsing.delete(response.seq);
        pending?.resolve(response.files);
      } else if (response.type === 'batch') {
        const index = slot.batches.findIndex((b) => b.seq === response.seq);
        if (index < 0) return;
        const [batch] = slot.batches.splice(index, 1);
        response.outcomes.forEach((outcome, i) => (batch!.outcomes[batch!.indexes[i]!] = outcome));
        batch!.done();
        this.dispatch();
      } else {
        this.replace(slot, `the evaluation worker failed: ${response.message}`);
      }
    });
    worker.on('error', (error) => this.replace(slot, `the evaluation worker crashed: ${error.message}`));
    worker.on('exit', () => {
      if (!this.closed && this.slots.includes(slot) && slot.batches.length > 0) this.replace(slot, 'the evaluation worker exited unexpectedly');
    });
    return slot;
  }

  private checkTimeouts(): void {
    const now = Date.now();
    for (const slot of this.slots) {
      if (slot.batches.length === 0) continue;
      const current = `${Atomics.load(slot.progress, 0)}:${Atomics.load(slot.progress, 1)}`;
      if (current !== slot.lastProgress) {
        slot.lastProgress = current;
        slot.lastChange = now;
      } else if (Atomics.load(slot.progress, 1) > 0 && now - slot.lastChange > this.options.timeoutMs) {
        this.replace(slot, `evaluation exceeded the time limit of ${this.options.timeoutMs} ms and was stopped`);
      }
    }
  }

  /**
   * Terminates a worker, records `message` as the outcome of the task it was running, and requeues
   * the rest of its work: results of unfinished batches were not sent back, so they run again.
   */
  private replace(slot: Slot, message: string): void {
    const index = this.slots.indexOf(slot);
    if (index < 0 || this.closed) return;
    const runningSeq = Atomics.load(slot.progress, 0);
    const runningTask = Atomics.load(slot.progress, 1) - 1;
    const batches = slot.batches;
    slot.batches = [];
    // Parsing is not retried: a file that kills a worker is reported, not parsed again.
    for (const [seq, pending] of this.parsing) {
      this.parsing.delete(seq);
      pending.reject(new Error(`YAML parsing failed: ${message}`));
    }
    this.slots[index] = this.spawn();
    void slot.worker.terminate();
    const requeue: Batch[] = [];
    for (const batch of batches) {
      const culprit = batch.seq === runningSeq && runningTask >= 0 ? runningTask : -1;
      if (culprit >= 0) batch.outcomes[batch.indexes[culprit]!] = { error: message };
      const rest = batch.tasks.map((task, i) => ({ task, i })).filter(({ i }) => i !== culprit);
      if (rest.length === 0) batch.done();
      else requeue.push({ ...batch, seq: this.nextSeq++, tasks: rest.map((r) => r.task), indexes: rest.map((r) => batch.indexes[r.i]!) });
    }
    this.queue.unshift(...requeue);
    this.dispatch();
  }
}

function encodeBatch(batch: Batch): WorkerRequest {
  const reviews: string[] = [];
  const tasks: number[] = [];
  let last: string | undefined;
  for (const task of batch.tasks) {
    if (task.review !== last) {
      reviews.push(task.review);
      last = task.review;
    }
    tasks.push(task.template, task.data, task.parameters, reviews.length - 1);
  }
  return { type: 'batch', seq: batch.seq, reviews, tasks };
}

function post(worker: Worker, request: WorkerRequest): void {
  worker.postMessage(request);
}

// From dist the worker is plain JS. From source (tests, tsx) it is TypeScript: Node 20 does not pass
// `--import tsx` on to workers, so a tiny bootstrap registers tsx's loader in the worker first.
const fromSource = import.meta.url.endsWith('.ts');

function startWorker(): Worker {
  if (!fromSource) return new Worker(new URL('./evaluation-worker.js', import.meta.url));
  const entry = new URL('./evaluation-worker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true });
}
