// Runs in a worker thread: holds instantiated policies and evaluates batches. The shared `progress`
// array tells the pool which task is running, so a runaway evaluation can be stopped by terminating
// this thread (synchronous Wasm cannot be interrupted any other way).
import { parentPort } from 'node:worker_threads';
import { hostBuiltins } from './builtins.js';
import type { WorkerRequest, WorkerResponse, TaskOutcome } from './evaluation-pool.js';
import { WasmPolicy } from './wasm-policy.js';

const modules = new Map<number, WebAssembly.Module>();
const data = new Map<number, string>();
const instances = new Map<string, WasmPolicy>();
let progress: Int32Array | undefined;

async function instance(template: number, dataId: number): Promise<WasmPolicy> {
  const key = `${template}:${dataId}`;
  let policy = instances.get(key);
  if (!policy) {
    const module = modules.get(template);
    if (!module) throw new Error(`template module ${template} was not loaded`);
    policy = await WasmPolicy.load(module, hostBuiltins);
    if (dataId !== 0) policy.setData(data.get(dataId) ?? '{}');
    instances.set(key, policy);
  }
  return policy;
}

function dropInstancesOf(predicate: (key: string) => boolean): void {
  for (const key of [...instances.keys()]) if (predicate(key)) instances.delete(key);
}

parentPort!.on('message', (request: WorkerRequest) => {
  void handle(request).then(
    (response) => parentPort!.postMessage(response),
    (error: unknown) => parentPort!.postMessage({ type: 'fatal', message: error instanceof Error ? error.message : String(error) } satisfies WorkerResponse),
  );
});

async function handle(request: WorkerRequest): Promise<WorkerResponse> {
  switch (request.type) {
    case 'init':
      progress = new Int32Array(request.progress);
      return { type: 'ready' };
    case 'module':
      modules.set(request.id, request.module);
      return { type: 'ack' };
    case 'data':
      data.set(request.id, request.json);
      dropInstancesOf((key) => key.endsWith(`:${request.id}`));
      return { type: 'ack' };
    case 'release':
      for (const id of request.modules) {
        modules.delete(id);
        dropInstancesOf((key) => key.startsWith(`${id}:`));
      }
      for (const id of request.data) {
        data.delete(id);
        dropInstancesOf((key) => key.endsWith(`:${id}`));
      }
      return { type: 'ack' };
    case 'batch': {
      const outcomes: TaskOutcome[] = [];
      for (const [i, task] of request.tasks.entries()) {
        if (progress) Atomics.store(progress, 0, i + 1);
        try {
          const policy = await instance(task.template, task.data);
          const [result] = policy.evaluate(task.input);
          outcomes.push({ results: Array.isArray(result) ? result : [] });
        } catch (error) {
          // A trapped instance may be left inconsistent; the next task gets a fresh one.
          instances.delete(`${task.template}:${task.data}`);
          outcomes.push({ error: error instanceof Error ? error.message : String(error) });
        }
      }
      if (progress) Atomics.store(progress, 0, 0);
      return { type: 'batch', outcomes };
    }
  }
}
