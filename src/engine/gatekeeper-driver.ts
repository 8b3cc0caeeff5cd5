// Gatekeeper's constraint client in the one respect the pipeline needs: each template goes to the
// driver of the engine its code is in (frameworks' client.go keeps one driver per language), and
// evaluations are routed to it. Texts (parameters, constraints, inventory) are handed to a driver only
// when one of its evaluations first needs them, so the CEL helper never receives the inventory.
import type { PolicyEngine } from './model.js';
import type { EvaluationTask, PolicyDriver, TaskOutcome, TemplateCode, TemplateLoad, WorkOptions } from './ports.js';
import type { ParsedYamlFile, YamlLimits } from './repo/yaml-file.js';

export class GatekeeperDriver implements PolicyDriver {
  private nextId = 1;
  private readonly templates = new Map<number, { engine: PolicyEngine; id: number }>();
  private readonly texts = new Map<number, { json: string; ids: Map<PolicyEngine, number> }>();

  constructor(private readonly drivers: Record<PolicyEngine, PolicyDriver>) {}

  async loadTemplate(code: TemplateCode, options?: WorkOptions): Promise<TemplateLoad> {
    const loaded = await this.drivers[code.engine].loadTemplate(code, options);
    if (!loaded.ok) return loaded;
    const id = this.nextId++;
    this.templates.set(id, { engine: code.engine, id: loaded.id });
    return { ...loaded, id };
  }

  addText(json: string): number {
    const id = this.nextId++;
    this.texts.set(id, { json, ids: new Map() });
    return id;
  }

  async evaluate(tasks: EvaluationTask[], options?: WorkOptions): Promise<TaskOutcome[]> {
    const byEngine = new Map<PolicyEngine, { tasks: EvaluationTask[]; positions: number[] }>();
    tasks.forEach((task, position) => {
      const template = this.templates.get(task.template);
      if (!template) throw new Error(`unknown template ${task.template}`);
      const driver = this.drivers[template.engine];
      const batch = byEngine.get(template.engine) ?? { tasks: [], positions: [] };
      byEngine.set(template.engine, batch);
      batch.tasks.push({ ...task, template: template.id, data: this.textFor(driver, template.engine, task.data), parameters: this.textFor(driver, template.engine, task.parameters) });
      batch.positions.push(position);
    });
    const outcomes: TaskOutcome[] = new Array(tasks.length);
    await Promise.all(
      [...byEngine].map(async ([engine, batch]) => {
        const results = await this.drivers[engine].evaluate(batch.tasks, options);
        results.forEach((outcome, i) => (outcomes[batch.positions[i]!] = outcome));
      }),
    );
    return outcomes;
  }

  release(templates: number[], texts: number[]): void {
    const byEngine = new Map<PolicyEngine, { templates: number[]; texts: number[] }>();
    const of = (engine: PolicyEngine) => byEngine.get(engine) ?? byEngine.set(engine, { templates: [], texts: [] }).get(engine)!;
    for (const id of templates) {
      const template = this.templates.get(id);
      if (!template) continue;
      of(template.engine).templates.push(template.id);
      this.templates.delete(id);
    }
    for (const id of texts) {
      const text = this.texts.get(id);
      if (!text) continue;
      for (const [engine, driverId] of text.ids) of(engine).texts.push(driverId);
      this.texts.delete(id);
    }
    for (const [engine, ids] of byEngine) this.drivers[engine].release(ids.templates, ids.texts);
  }

  parseYamlFiles(files: Array<{ path: string; text: string }>, limits: YamlLimits, options?: WorkOptions): Promise<ParsedYamlFile[]> {
    return this.drivers.Rego.parseYamlFiles(files, limits, options);
  }

  /** The driver's id for a text, registering it there on first use; 0 (no data) stays 0. */
  private textFor(driver: PolicyDriver, engine: PolicyEngine, id: number): number {
    if (id === 0) return 0;
    const text = this.texts.get(id);
    if (!text) throw new Error(`unknown text ${id}`);
    let driverId = text.ids.get(engine);
    if (driverId === undefined) {
      driverId = driver.addText(text.json);
      text.ids.set(engine, driverId);
    }
    return driverId;
  }
}
