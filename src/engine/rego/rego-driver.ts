// The Rego driver: a template's Rego compiled to Wasm by the PolicyCompiler (the pinned opa), checked
// for builtins this host cannot evaluate when it is loaded, and evaluated on the worker pool.
import type { EvaluationTask, PolicyCompiler, PolicyDriver, RegoSource, TaskOutcome, TemplateCode, TemplateLoad, WorkOptions } from '../ports.js';
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

  private constructor(
    private readonly compiler: PolicyCompiler,
    private readonly pool: EvaluationPool,
  ) {}

  static start(options: RegoDriverOptions): RegoDriver {
    return new RegoDriver(options.compiler, EvaluationPool.start(options));
  }

  async loadTemplate(code: TemplateCode, options: WorkOptions = {}): Promise<TemplateLoad> {
    if (code.engine !== 'Rego') return { ok: false, loadError: `the Rego driver cannot run ${code.engine} code` };
    const outcome = await this.compiler.compile(code.source, options);
    if (!outcome.ok) return outcome;
    let module = this.compiled.get(outcome.wasm);
    if (!module) {
      module = await WebAssembly.compile(outcome.wasm as Uint8Array<ArrayBuffer>);
      this.compiled.set(outcome.wasm, module);
    }
    try {
      // Instantiating once here surfaces unsupported builtins at load time, not on the first object.
      await WasmPolicy.load(module, runnable);
    } catch (error) {
      if (error instanceof UnsupportedBuiltinsError) return { ok: false, unsupported: error.message };
      return { ok: false, loadError: error instanceof Error ? error.message : String(error) };
    }
    const id = this.pool.addModule(module);
    this.sources.set(id, code.source);
    return { ok: true, id, usesInventory: outcome.usesInventory };
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
