// Runs in a worker thread: holds instantiated policies and evaluates batches. The shared `progress`
// array tells the pool which task is running, so a runaway evaluation can be stopped by terminating
// this thread (synchronous Wasm cannot be interrupted any other way).
import { parentPort } from 'node:worker_threads';
import { hostBuiltins } from './builtins.js';
import type { TaskOutcome } from '../ports.js';
import type { WorkerRequest, WorkerResponse } from './evaluation-pool.js';
import { parseYamlFile } from '../repo/yaml-file.js';
import { gatekeeperErrorText } from './runtime-error.js';
import { WasmPolicy } from './wasm-policy.js';

const encoder = new TextEncoder();
const CLOSE = encoder.encode('}');
const modules = new Map<number, WebAssembly.Module>();
const texts = new Map<number, string>();
const inputPrefixes = new Map<number, Uint8Array>();
const instances = new Map<string, WasmPolicy>();
let progress: Int32Array | undefined;

async function instance(template: number, dataId: number): Promise<WasmPolicy> {
  const key = `${template}:${dataId}`;
  let policy = instances.get(key);
  if (!policy) {
    const module = modules.get(template);
    if (!module) throw new Error(`template module ${template} was not loaded`);
    policy = await WasmPolicy.load(module, hostBuiltins);
    if (dataId !== 0) policy.setData(texts.get(dataId) ?? '{}');
    instances.set(key, policy);
  }
  return policy;
}

/** `{"parameters":<json>,"review":` encoded once per constraint. */
function inputPrefix(parameters: number): Uint8Array {
  let prefix = inputPrefixes.get(parameters);
  if (!prefix) {
    prefix = encoder.encode(`{"parameters":${texts.get(parameters) ?? '{}'},"review":`);
    inputPrefixes.set(parameters, prefix);
  }
  return prefix;
}

function dropInstancesOf(predicate: (key: string) => boolean): void {
  for (const key of [...instances.keys()]) if (predicate(key)) instances.delete(key);
}

parentPort!.on('message', (request: WorkerRequest) => {
  void handle(request).then(
    (response) => response && parentPort!.postMessage(response),
    (error: unknown) => parentPort!.postMessage({ type: 'fatal', message: error instanceof Error ? error.message : String(error) } satisfies WorkerResponse),
  );
});

async function handle(request: WorkerRequest): Promise<WorkerResponse | undefined> {
  switch (request.type) {
    case 'init':
      progress = new Int32Array(request.progress);
      return undefined;
    case 'module':
      modules.set(request.id, request.module);
      return undefined;
    case 'text':
      texts.set(request.id, request.json);
      return undefined;
    case 'release':
      for (const id of request.modules) {
        modules.delete(id);
        dropInstancesOf((key) => key.startsWith(`${id}:`));
      }
      for (const id of request.texts) {
        texts.delete(id);
        inputPrefixes.delete(id);
        dropInstancesOf((key) => key.endsWith(`:${id}`));
      }
      return undefined;
    case 'batch':
      return { type: 'batch', seq: request.seq, outcomes: await evaluateBatch(request) };
    case 'parse':
      return { type: 'parsed', seq: request.seq, files: request.files.map((file) => parseYamlFile(file.path, file.text, request.limits)) };
  }
}

async function evaluateBatch(request: Extract<WorkerRequest, { type: 'batch' }>): Promise<TaskOutcome[]> {
  const outcomes: TaskOutcome[] = [];
  const reviews: Array<Uint8Array | undefined> = [];
  const { tasks } = request;
  if (progress) Atomics.store(progress, 0, request.seq);
  for (let i = 0; i * 4 < tasks.length; i++) {
    const template = tasks[i * 4]!;
    const data = tasks[i * 4 + 1]!;
    const parameters = tasks[i * 4 + 2]!;
    const reviewIndex = tasks[i * 4 + 3]!;
    if (progress) Atomics.store(progress, 1, i + 1);
    try {
      const review = (reviews[reviewIndex] ??= encoder.encode(request.reviews[reviewIndex]));
      const policy = await instance(template, data);
      const [result] = policy.evaluateParts([inputPrefix(parameters), review, CLOSE]);
      outcomes.push({ results: Array.isArray(result) ? result : [] });
    } catch (error) {
      // A trapped instance may be left inconsistent; the next task gets a fresh one.
      instances.delete(`${template}:${data}`);
      outcomes.push({ error: gatekeeperErrorText(error instanceof Error ? error.message : String(error)) });
    }
  }
  if (progress) Atomics.store(progress, 1, 0);
  return outcomes;
}
