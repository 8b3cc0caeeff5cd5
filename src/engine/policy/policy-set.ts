// Loads one cluster's policies: compiles each template once, checks its builtins at load time, reads
// constraints against their templates, and collects ExpansionTemplates and Gatekeeper's Config.
import { isGatekeeperConfigDocument, readGatekeeperConfig, type GatekeeperConfig } from './gatekeeper-config.js';
import { type InputError, isRecord, type Location } from '../model.js';
import type { PolicyDriver, WorkOptions } from '../ports.js';
import type { YamlDocument } from '../repo/yaml-file.js';
import { isConstraintDocument, readConstraint, type Constraint } from './constraint.js';
import { compileParameterSchema, type ParameterSchema } from './schema/index.js';
import { isTemplateDocument, readTemplate, type ConstraintTemplate } from './template.js';
import { type ExpansionTemplate, isExpansionTemplateDocument, readExpansionTemplate } from './expansion-template.js';

export interface LoadedTemplate {
  template: ConstraintTemplate;
  schema: ParameterSchema | undefined;
  /** The driver's id of the template's code. */
  moduleId: number;
  usesInventory: boolean;
}

export interface PolicySet {
  /** By constraint kind. */
  templates: Map<string, LoadedTemplate>;
  constraints: Constraint[];
  /** The repository's own ExpansionTemplates (none means "use Parapet's defaults"). */
  expansionTemplates: ExpansionTemplate[];
  gatekeeperConfig: GatekeeperConfig | undefined;
  errors: InputError[];
  /** The driver's template ids, to release when the check is done. */
  moduleIds: number[];
}

/** `options.signal`: stops loading (the call rejects with its reason), as a check's time budget does. */
export async function loadPolicySet(documents: YamlDocument[], driver: PolicyDriver, options: WorkOptions = {}): Promise<PolicySet> {
  const errors: InputError[] = [];
  const templateDocs = documents.filter((doc) => isTemplateDocument(doc.value));
  const settled = await Promise.allSettled(templateDocs.map((d) => loadTemplate(d, driver, options)));
  const stopped = settled.find((r) => r.status === 'rejected');
  if (stopped) {
    // The templates that did load are forgotten, or a long-running App would keep them forever.
    driver.release(settled.flatMap((r) => (r.status === 'fulfilled' && r.value.template ? [r.value.template.moduleId] : [])), []);
    throw stopped.reason;
  }
  const loaded = settled.map((r) => (r as PromiseFulfilledResult<Awaited<ReturnType<typeof loadTemplate>>>).value);
  const templates = new Map<string, LoadedTemplate>();
  const moduleIds: number[] = [];
  for (const result of loaded) {
    errors.push(...result.errors);
    if (!result.template) continue;
    moduleIds.push(result.template.moduleId);
    const twin = templates.get(result.template.template.kind);
    if (twin) {
      errors.push({
        location: result.template.template.location,
        code: 'template',
        message: `ConstraintTemplate ${result.template.template.name} is declared twice (also at ${where(twin.template.location)})`,
      });
      continue;
    }
    templates.set(result.template.template.kind, result.template);
  }

  const constraints: Constraint[] = [];
  const expansionTemplates: ExpansionTemplate[] = [];
  let gatekeeperConfig: GatekeeperConfig | undefined;
  const failedTemplateKinds = new Set(loaded.filter((r) => !r.template && r.kind).map((r) => r.kind!));
  for (const doc of documents) {
    const location = { file: doc.file, line: doc.kindLine };
    const value = doc.value as Record<string, unknown>;
    if (isConstraintDocument(value)) {
      if (failedTemplateKinds.has(String(value.kind)) && !templates.has(String(value.kind))) {
        // Its template already has an error; a second one saying "no template" would mislead.
        continue;
      }
      const result = readConstraint(value, location, templates, doc.lines);
      errors.push(...result.errors);
      if (result.constraint) {
        const twin = constraints.find((c) => c.kind === result.constraint!.kind && c.name === result.constraint!.name);
        if (twin) errors.push({ location, code: 'duplicate', message: `${twin.kind} ${twin.name} is declared twice (also at ${where(twin.location)})` });
        else constraints.push(result.constraint);
      }
    } else if (isExpansionTemplateDocument(value)) {
      const result = readExpansionTemplate(value, location);
      errors.push(...result.errors);
      if (result.template) expansionTemplates.push(result.template);
    } else if (isGatekeeperConfigDocument(value)) {
      const result = readGatekeeperConfig(value);
      for (const message of result.problems) errors.push({ location, code: 'gatekeeper-config', message });
      if (result.config) gatekeeperConfig = result.config;
    }
  }
  return { templates, constraints, expansionTemplates, gatekeeperConfig, errors, moduleIds };
}

async function loadTemplate(
  doc: YamlDocument,
  driver: PolicyDriver,
  options: WorkOptions,
): Promise<{ template?: LoadedTemplate; kind?: string; errors: InputError[] }> {
  const location = { file: doc.file, line: doc.kindLine };
  const value = doc.value as Record<string, unknown>;
  const spec = isRecord(value.spec) && isRecord(value.spec.crd) && isRecord(value.spec.crd.spec) ? value.spec.crd.spec : {};
  const kind = isRecord(spec.names) && typeof spec.names.kind === 'string' ? spec.names.kind : undefined;
  const read = readTemplate(value, location, doc.lines);
  if (!read.template) return { kind, errors: read.errors };
  const template = read.template;

  const compiled = compileParameterSchema(template.parametersSchema, { legacySchema: template.legacySchema });
  const schemaErrors: InputError[] = compiled.problems.map((problem) => ({
    location,
    code: 'template',
    message: `ConstraintTemplate ${template.name}: ${problem.message}`,
  }));
  if (schemaErrors.length > 0) return { kind, errors: schemaErrors };

  const loaded = await driver.loadTemplate(template.rego, options);
  if ('problems' in loaded) {
    return {
      kind,
      errors: loaded.problems.map((problem) => ({
        location: { file: doc.file, line: (template.moduleLines[problem.module] ?? location.line) + Math.max(0, (problem.line ?? 1) - 1) },
        code: 'rego',
        message: `ConstraintTemplate ${template.name}: ${problem.module > 0 ? `libs[${problem.module - 1}]: ` : ''}${problem.message}`,
      })),
    };
  }
  if (!loaded.ok && 'limit' in loaded) {
    return { kind, errors: [{ location, code: 'limit', message: `ConstraintTemplate ${template.name}: ${loaded.limit}` }] };
  }
  if (!loaded.ok) {
    const message =
      'unsupported' in loaded
        ? `ConstraintTemplate ${template.name} ${loaded.unsupported}; Gatekeeper's Wasm-incompatible builtins are listed in docs/fidelity.md`
        : `ConstraintTemplate ${template.name}: the compiled policy could not be loaded: ${loaded.loadError}`;
    return { kind, errors: [{ location, code: 'builtin', message }] };
  }
  return { kind, errors: [], template: { template, schema: compiled.schema, moduleId: loaded.id, usesInventory: loaded.usesInventory } };
}

function where(location: Location): string {
  return `${location.file}:${location.line}`;
}
