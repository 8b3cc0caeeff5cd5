// Evaluates on worker threads: uses every core, and enforces a time limit per evaluation by
// terminating a worker whose current evaluation runs too long (then the batch continues on a fresh one).
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export interface EvaluationTask {
  /** Id returned by addModule. */
  template: number;
  /** Id returned by addData, or 0 for `data = {}`. */
  data: number;
  /** `{"parameters":...,"review":...}` as JSON. */
  input: string;
}

export type TaskOutcome = { results: unknown[] } | { error: string };

export type WorkerRequest =
  | { type: 'init'; progress: SharedArrayBuffer }
  | { type: 'module'; id: number; module: WebAssembly.Module }
  | { type: 'data'; id: number; json: string }
  | { type: 'release'; modules: number[]; data: number[] }
  | { type: 'batch'; tasks: EvaluationTask[] };

export type WorkerResponse =
  | { type: 'ready' }
  | { type: 'ack' }
  | { type: 'batch'; outcomes: TaskOutcome[] }
  | { type: 'fatal'; message: string };

export interface EvaluationPoolOptions {
  /** Worker threads; defaults to the machine's parallelism. */
  workers?: number;
  /** Time limit of one evaluation, in milliseconds. */
  timeoutMs: number;
}

interface Batch {
  tasks: EvaluationTask[];
  /** Index in the caller's task list of each task. */
  indexes: number[];
  outcomes: TaskOutcome[];
  done: () => void;
}

interface Slot {
  worker: Worker;
  progress: Int32Array;
  batch?: Batch;
  lastProgress: number;
  lastChange: number;
}

const BATCH_BYTES = 256 * 1024;
const BATCH_TASKS = 256;

export class EvaluationPool {
  private readonly slots: Slot[] = [];
  private readonly modules = new Map<number, WebAssembly.Module>();
  private readonly data = new Map<number, string>();
  private readonly queue: Batch[] = [];
  private nextId = 1;
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

  addData(json: string): number {
    const id = this.nextId++;
    this.data.set(id, json);
    for (const slot of this.slots) post(slot.worker, { type: 'data', id, json });
    return id;
  }

  release(modules: number[], data: number[]): void {
    for (const id of modules) this.modules.delete(id);
    for (const id of data) this.data.delete(id);
    for (const slot of this.slots) post(slot.worker, { type: 'release', modules, data });
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
      while (end < tasks.length && end - start < BATCH_TASKS && bytes < BATCH_BYTES) bytes += tasks[end++]!.input.length;
      const indexes = Array.from({ length: end - start }, (_, i) => start + i);
      pending.push(this.enqueue(tasks.slice(start, end), indexes, outcomes));
      start = end;
    }
    await Promise.all(pending);
    return outcomes;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.watchdog);
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private enqueue(tasks: EvaluationTask[], indexes: number[], outcomes: TaskOutcome[]): Promise<void> {
    return new Promise((resolve) => {
      this.queue.push({ tasks, indexes, outcomes, done: resolve });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.batch || this.queue.length === 0) continue;
      const batch = this.queue.shift()!;
      slot.batch = batch;
      slot.lastProgress = 0;
      slot.lastChange = Date.now();
      post(slot.worker, { type: 'batch', tasks: batch.tasks });
    }
  }

  private spawn(): Slot {
    const progress = new SharedArrayBuffer(4);
    const worker = startWorker();
    const slot: Slot = { worker, progress: new Int32Array(progress), lastProgress: 0, lastChange: Date.now() };
    post(worker, { type: 'init', progress });
    for (const [id, module] of this.modules) post(worker, { type: 'module', id, module });
    for (const [id, json] of this.data) post(worker, { type: 'data', id, json });
    worker.on('message', (response: WorkerResponse) => {
      if (response.type === 'batch' && slot.batch) {
        const batch = slot.batch;
        slot.batch = undefined;
        response.outcomes.forEach((outcome, i) => (batch.outcomes[batch.indexes[i]!] = outcome));
        batch.done();
        this.dispatch();
      } else if (response.type === 'fatal') {
        this.replace(slot, `the evaluation worker failed: ${response.message}`);
      }
    });
    worker.on('error', (error) => this.replace(slot, `the evaluation worker crashed: ${error.message}`));
    worker.on('exit', () => {
      if (!this.closed && this.slots.includes(slot) && slot.batch) this.replace(slot, 'the evaluation worker exited unexpectedly');
    });
    return slot;
  }

  private checkTimeouts(): void {
    const now = Date.now();
    for (const slot of this.slots) {
      if (!slot.batch) continue;
      const current = Atomics.load(slot.progress, 0);
      if (current !== slot.lastProgress) {
        slot.lastProgress = current;
        slot.lastChange = now;
      } else if (current > 0 && now - slot.lastChange > this.options.timeoutMs) {
        this.replace(slot, `evaluation exceeded the time limit of ${this.options.timeoutMs} ms and was stopped`);
      }
    }
  }

  /**
   * Terminates a worker, records `message` as the outcome of the task it was running, and requeues
   * the rest of its batch: results of that batch were not sent back yet, so they run again.
   */
  private replace(slot: Slot, message: string): void {
    const index = this.slots.indexOf(slot);
    if (index < 0 || this.closed) return;
    const batch = slot.batch;
    slot.batch = undefined;
    this.slots[index] = this.spawn();
    void slot.worker.terminate();
    if (batch) {
      const running = Math.max(0, Atomics.load(slot.progress, 0) - 1);
      batch.outcomes[batch.indexes[running]!] = { error: message };
      const rest = batch.tasks.map((task, i) => ({ task, i })).filter(({ i }) => i !== running);
      if (rest.length === 0) batch.done();
      else this.queue.unshift({ ...batch, tasks: rest.map((r) => r.task), indexes: rest.map((r) => batch.indexes[r.i]!) });
    }
    this.dispatch();
  }
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
