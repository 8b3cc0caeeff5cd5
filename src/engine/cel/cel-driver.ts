// The CEL driver: a template's K8sNativeValidation code runs in Gatekeeper's own k8scel driver, in the
// pinned helper behind the CelHelper port, so compilation, variables, matchConditions, messages,
// the Kubernetes CEL libraries and cost limits are Gatekeeper's by construction. This side keeps the
// ids, sends each constraint once, and a batch of evaluations as one request.
import { isRecord } from '../model.js';
import type { CelHelper, CelProblem, EvaluationTask, PolicyDriver, TaskOutcome, TemplateCode, TemplateLoad, WorkOptions } from '../ports.js';
import { parseYamlFile, type ParsedYamlFile, type YamlLimits } from '../repo/yaml-file.js';

/** The helper's answer to one evaluation (tools/cel/main.go `outcome`). */
interface HelperOutcome {
  results?: Array<{ msg: string; error?: boolean }>;
  error?: string;
}

export class CelDriver implements PolicyDriver {
  private nextId = 1;
  /** The helper generation each template and constraint was sent to. */
  private readonly generations = new Map<number, number>();
  /** Constraints the helper refused, with its reason: evaluations with them fail with it. */
  private readonly refused = new Map<number, string>();

  constructor(private readonly helper: CelHelper) {}

  async loadTemplate(code: TemplateCode, options: WorkOptions = {}): Promise<TemplateLoad> {
    options.signal?.throwIfAborted();
    if (code.engine !== 'K8sNativeValidation') return { ok: false, loadError: `the CEL driver cannot run ${code.engine} code` };
    const id = this.nextId++;
    const request = this.helper.request(`{"op":"load","id":${id},"template":${JSON.stringify(code.source.template)}}`);
    // Read after sending: the request may be what started the helper.
    const generation = this.helper.generation;
    const answer = await request;
    if (!isRecord(answer)) throw new Error(`the CEL helper answered a load with ${JSON.stringify(answer)}`);
    if (typeof answer.error === 'string') return { ok: false, rejected: answer.error };
    this.generations.set(id, generation);
    const problems = Array.isArray(answer.problems) ? (answer.problems as CelProblem[]) : [];
    return { ok: true, id, usesInventory: false, ...(problems.length > 0 ? { problems } : {}) };
  }

  /** Registers a constraint object (what the CEL driver reads `params` from). */
  addText(json: string): number {
    const id = this.nextId++;
    // Not awaited: answers come in order, so the constraint is in place before any later evaluation;
    // if the helper fails, that evaluation fails with it.
    const request = this.helper.request(`{"op":"constraint","id":${id},"constraint":${json}}`);
    this.generations.set(id, this.helper.generation);
    request.then(
      (answer) => {
        if (isRecord(answer) && typeof answer.error === 'string') this.refused.set(id, answer.error);
      },
      () => {},
    );
    return id;
  }

  /** CEL's own cost limits bound each evaluation; a stopped check only drops the answer. */
  async evaluate(tasks: EvaluationTask[], options: WorkOptions = {}): Promise<TaskOutcome[]> {
    options.signal?.throwIfAborted();
    if (tasks.length === 0) return [];
    for (const task of tasks) this.checkGeneration(task.template, task.parameters);
    const reviews: string[] = [];
    const reviewIndex = new Map<string, number>();
    const wire = tasks.map((task) => {
      let index = reviewIndex.get(task.review);
      if (index === undefined) {
        index = reviews.length;
        reviews.push(task.review);
        reviewIndex.set(task.review, index);
      }
      return `[${task.template},${task.parameters},${index}]`;
    });
    const answer = await this.helper.request(`{"op":"evaluate","reviews":[${reviews.join(',')}],"tasks":[${wire.join(',')}]}`);
    options.signal?.throwIfAborted();
    const outcomes = isRecord(answer) && Array.isArray(answer.outcomes) ? (answer.outcomes as HelperOutcome[]) : undefined;
    if (!outcomes || outcomes.length !== tasks.length) {
      throw new Error(`the CEL helper answered an evaluation of ${tasks.length} tasks with ${JSON.stringify(answer).slice(0, 200)}`);
    }
    return outcomes.map((outcome, i) => {
      const refused = this.refused.get(tasks[i]!.parameters);
      if (refused !== undefined) return { error: `the constraint could not be read: ${refused}` };
      if (typeof outcome.error === 'string') return { error: outcome.error };
      const results = outcome.results ?? [];
      return {
        results: results.filter((r) => !r.error).map((r) => ({ msg: r.msg })),
        errors: results.filter((r) => r.error).map((r) => r.msg),
      };
    });
  }

  release(templates: number[], texts: number[]): void {
    const current = (id: number) => this.generations.get(id) === this.helper.generation;
    const sent = { templates: templates.filter(current), constraints: texts.filter(current) };
    for (const id of [...templates, ...texts]) {
      this.generations.delete(id);
      this.refused.delete(id);
    }
    if (sent.templates.length + sent.constraints.length === 0) return;
    this.helper.request(JSON.stringify({ op: 'release', ...sent })).catch(() => {});
  }

  async parseYamlFiles(files: Array<{ path: string; text: string }>, limits: YamlLimits, options: WorkOptions = {}): Promise<ParsedYamlFile[]> {
    options.signal?.throwIfAborted();
    return files.map((file) => parseYamlFile(file.path, file.text, limits));
  }

  /** A helper that was started again no longer holds what this check sent the previous one. */
  private checkGeneration(...ids: number[]): void {
    for (const id of ids) {
      const generation = this.generations.get(id);
      if (generation !== undefined && generation !== this.helper.generation) {
        throw this.helper.lostState();
      }
    }
  }
}
