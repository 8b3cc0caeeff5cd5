// The Rego driver: a template's Rego compiled to Wasm by the PolicyCompiler (the pinned opa), checked
// for builtins this host cannot evaluate when it is loaded, and evaluated on the worker pool.
import type { CompileOutcome, EvaluationTask, PolicyCompiler, PolicyDriver, RegoSource, TaskOutcome, TemplateCode, TemplateLoad, WorkOptions } from '../ports.js';
import { GoBuiltins, hostBuiltins } from './builtins.js';
import { EvaluationPool, type EvaluationPoolOptions } from './evaluation-pool.js';
import { gatekeeperErrorText } from './runtime-error.js';
import { UnsupportedBuiltinsError, WasmPolicy } from './wasm-policy.js';

/** Every builtin the workers run; loading only checks the names, it calls none. */
const runnable = { ...hostBuiltins, ...new GoBuiltins(() => ({ error: 'no builtin runs while a template loads' })).impls };

export interface RegoDriverOptions extends EvaluationPoolOptions {
  compiler: PolicyCompiler;
}

export class RegoDriver implements PolicyDriver {
  /** Compiled modules by the compiler's output, which its cache hands out once per template text. */
  private readonly compiled = new WeakMap<Uint8Array, WebAssembly.Module>();
  /** Each loaded template's Rego: Go OPA's wording of a runtime error depends on the rule it names. */
  private readonly sources = new Map<number, RegoSource>();
  /** What instantiating each module says (undefined: it loads), asked once per module. */
  private readonly loads = new WeakMap<WebAssembly.Module, Promise<unknown>>();

  private constructor(
    private readonly compiler: PolicyCompiler,
    private readonly pool: EvaluationPool,
  ) {}

  static start(options: RegoDriverOptions): RegoDriver {
    return new RegoDriver(options.compiler, EvaluationPool.start(options));
  }

  async loadTemplate(code: TemplateCode, options: WorkOptions = {}): Promise<TemplateLoad> {
    if (code.engine !== 'Rego') return { ok: false, loadError: `the Rego driver cannot run ${code.engine} code` };
    let outcome: CompileOutcome = await this.compiler.compile(code.source, options);
    if (!outcome.ok) return outcome;
    let module = await this.module(outcome.wasm);
    let failure = await this.load(module);
    if (failure instanceof UnsupportedBuiltinsError && outcome.shared) {
      // The builtins may be another template's of the shared module: this template alone says.
      outcome = await this.compiler.compile(code.source, { ...options, alone: true });
      if (!outcome.ok) return outcome;
      module = await this.module(outcome.wasm);
      failure = await this.load(module);
    }
    if (failure instanceof UnsupportedBuiltinsError) return { ok: false, unsupported: failure.message };
    if (failure !== undefined) return { ok: false, loadError: failure instanceof Error ? failure.message : String(failure) };
    const id = this.pool.addModule(module, outcome.entrypoint);
    this.sources.set(id, code.source);
    return { ok: true, id, usesInventory: outcome.usesInventory };
  }

  private async module(wasm: Uint8Array): Promise<WebAssembly.Module> {
    let module = this.compiled.get(wasm);
    if (!module) {
      module = await WasmPolicy.compile(wasm);
      this.compiled.set(wasm, module);
    }
    return module;
  }

  /** Instantiating once here surfaces unsupported builtins at load time, not on the first object. */
  private load(module: WebAssembly.Module): Promise<unknown> {
    let loaded = this.loads.get(module);
    if (!loaded) {
      loaded = WasmPolicy.load(module, runnable).then(
        () => undefined,
        (error: unknown) => error,
      );
      this.loads.set(module, loaded);
    }
    return loaded;
  }

  addText(json: string): number {
    return this.pool.addText(json);
  }

  async evaluate(tasks: EvaluationTask[], options?: WorkOptions): Promise<TaskOutcome[]> {
    const outcomes = await this.pool.evaluate(tasks, options);
    return outcomes.map((outcome, i) => ('error' in outcome ? { ...outcome, error: gatekeeperErrorText(outcome.error, this.sources.get(tasks[i]!.template)) } : outcome));
  }

  release(templates: number[], texts: number[]): void {
    for (const id of templates) this.sources.delete(id);
    this.pool.release(templates, texts);
  }

  parseYamlFiles(...args: Parameters<EvaluationPool['parseYamlFiles']>): ReturnType<EvaluationPool['parseYamlFiles']> {
    return this.pool.parseYamlFiles(...args);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
