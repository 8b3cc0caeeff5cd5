// Runs in a worker thread: holds instantiated policies, evaluates batches and parses YAML files. The
// shared `progress` array tells the pool which task or file is running, so a runaway one can be
// stopped by terminating this thread (synchronous Wasm cannot be interrupted any other way).
import { parentPort, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { GoBuiltins, hostBuiltins, type GoBuiltinAnswer, type GoBuiltinCall } from './builtins.js';
import type { BuiltinImpl } from './wasm-policy.js';
import type { TaskOutcome } from '../ports.js';
import type { WorkerRequest, WorkerResponse } from './evaluation-pool.js';
import { parseYamlFile, type ParsedYamlFile } from '../repo/yaml-file.js';
import { MemoryLimitError, WasmPolicy } from './wasm-policy.js';

/**
 * An instance whose memory grew this far beyond its data is dropped after its evaluation: Wasm
 * memory never shrinks, and every template's instance keeping its largest evaluation's peak would
 * add up to far more than one evaluation may use.
 */
const KEPT_SCRATCH_BYTES = 64 * 1024 * 1024;

const encoder = new TextEncoder();
const CLOSE = encoder.encode('}');
const modules = new Map<number, { module: WebAssembly.Module; entrypoint: string }>();
const texts = new Map<number, string>();
const inputPrefixes = new Map<number, Uint8Array>();
const instances = new Map<string, WasmPolicy>();
/** Templates that ran out of memory here, and the error their remaining tasks get. */
const stopped = new Map<number, string>();
let progress: Int32Array | undefined;
let memoryMb: number | undefined;
let goBuiltins: GoBuiltins | undefined;
let builtins: Record<string, BuiltinImpl> = hostBuiltins;

/** A synchronous call to the pool's thread, which asks the Go helper (EvaluationPool.builtinChannel). */
function goCall(port: MessagePort, answered: SharedArrayBuffer): GoBuiltinCall {
  const flag = new Int32Array(answered);
  return (name, args) => {
    Atomics.store(flag, 0, 0);
    port.postMessage({ name, args });
    Atomics.wait(flag, 0, 0);
    const answer = receiveMessageOnPort(port);
    if (!answer) throw new Error('the answer of the Go builtin helper went missing');
    return answer.message as GoBuiltinAnswer;
  };
}

async function instance(template: number, dataId: number): Promise<WasmPolicy> {
  const key = `${template}:${dataId}`;
  let policy = instances.get(key);
  if (!policy) {
    const loaded = modules.get(template);
    if (!loaded) throw new Error(`template module ${template} was not loaded`);
    policy = await WasmPolicy.load(loaded.module, builtins, memoryMb === undefined ? {} : { maxMemoryBytes: memoryMb * 1024 * 1024 });
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

// One message at a time: instantiating a module awaits, and a batch must not start while another
// one is half done (the progress array would name the wrong one).
let handling = Promise.resolve();
parentPort!.on('message', (request: WorkerRequest) => {
  handling = handling
    .then(() => handle(request))
    .then(
      (response) => void (response && parentPort!.postMessage(response)),
      (error: unknown) => parentPort!.postMessage({ type: 'fatal', message: error instanceof Error ? error.message : String(error) } satisfies WorkerResponse),
    );
});

async function handle(request: WorkerRequest): Promise<WorkerResponse | undefined> {
  switch (request.type) {
    case 'init':
      progress = new Int32Array(request.progress);
      memoryMb = request.memoryMb;
      goBuiltins = new GoBuiltins(goCall(request.builtins.port, request.builtins.answered));
      builtins = { ...hostBuiltins, ...goBuiltins.impls };
      return undefined;
    case 'module':
      modules.set(request.id, { module: request.module, entrypoint: request.entrypoint });
      return undefined;
    case 'text':
      texts.set(request.id, request.json);
      return undefined;
    case 'release':
      for (const id of request.modules) {
        modules.delete(id);
        stopped.delete(id);
        dropInstancesOf((key) => key.startsWith(`${id}:`));
      }
      for (const id of request.texts) {
        texts.delete(id);
        inputPrefixes.delete(id);
        dropInstancesOf((key) => key.endsWith(`:${id}`));
      }
      return undefined;
    case 'batch':
      return { type: 'batch', seq: request.seq, ...(await evaluateBatch(request)) };
    case 'parse':
      return { type: 'parsed', seq: request.seq, files: parseFiles(request) };
  }
}

function parseFiles(request: Extract<WorkerRequest, { type: 'parse' }>): ParsedYamlFile[] {
  if (progress) Atomics.store(progress, 0, request.seq);
  const parsed = request.files.map((file, i): ParsedYamlFile => {
    if (progress) Atomics.store(progress, 1, i + 1);
    try {
      return parseYamlFile(file.path, file.text, request.limits);
    } catch (error) {
      // The parser's own limits (a document nested deeper than the call stack): an error on the file.
      const message = error instanceof Error ? error.message : String(error);
      return { documents: [], errors: [{ location: { file: file.path, line: 1 }, code: 'yaml', message: `YAML: the file could not be parsed: ${message}` }] };
    }
  });
  if (progress) Atomics.store(progress, 1, 0);
  return parsed;
}

async function evaluateBatch(request: Extract<WorkerRequest, { type: 'batch' }>): Promise<{ outcomes: TaskOutcome[]; stopped: Array<{ template: number; error: string }> }> {
  const outcomes: TaskOutcome[] = [];
  const stoppedNow: Array<{ template: number; error: string }> = [];
  const reviews: Array<Uint8Array | undefined> = [];
  const { tasks } = request;
  if (progress) Atomics.store(progress, 0, request.seq);
  for (let i = 0; i * 4 < tasks.length; i++) {
    const template = tasks[i * 4]!;
    const data = tasks[i * 4 + 1]!;
    const parameters = tasks[i * 4 + 2]!;
    const reviewIndex = tasks[i * 4 + 3]!;
    if (progress) Atomics.store(progress, 1, i + 1);
    const stoppedError = stopped.get(template);
    if (stoppedError !== undefined) {
      outcomes.push({ error: stoppedError, skipped: true });
      continue;
    }
    try {
      const review = (reviews[reviewIndex] ??= encoder.encode(request.reviews[reviewIndex]));
      const policy = await instance(template, data);
      goBuiltins?.newEvaluation();
      const [result] = policy.evaluateParts([inputPrefix(parameters), review, CLOSE], modules.get(template)!.entrypoint);
      outcomes.push({ results: Array.isArray(result) ? result : [] });
      if (policy.scratchBytes > KEPT_SCRATCH_BYTES) instances.delete(`${template}:${data}`);
    } catch (error) {
      // A trapped instance may be left inconsistent; the next task gets a fresh one.
      instances.delete(`${template}:${data}`);
      if (error instanceof MemoryLimitError) {
        const message = `evaluation exceeded the memory limit of ${memoryMb} MiB and was stopped`;
        stopped.set(template, message);
        stoppedNow.push({ template, error: message });
        outcomes.push({ error: message });
      } else {
        // Worded as Go OPA by the driver, which knows the template's Rego.
        outcomes.push({ error: error instanceof Error ? error.message : String(error) });
      }
    }
  }
  if (progress) Atomics.store(progress, 1, 0);
  return { outcomes, stopped: stoppedNow };
}
