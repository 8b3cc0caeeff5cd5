// Loads one cluster's policies: compiles each template once, checks its builtins at load time, reads
// constraints against their templates, and collects ExpansionTemplates and Gatekeeper's Config.
import { isGatekeeperConfigDocument, readGatekeeperConfig, readSyncedKinds, type GatekeeperConfig, type SyncedKind } from './gatekeeper-config.js';
import { type InputError, isRecord, type Location, type PolicyEngine } from '../model.js';
import type { PolicyDriver, WorkOptions } from '../ports.js';
import type { YamlDocument } from '../repo/yaml-file.js';
import { isConstraintDocument, readConstraint, type Constraint } from './constraint.js';
import { compileParameterSchema, type ParameterSchema } from './schema/index.js';
import { isTemplateDocument, readTemplate, templateCode, type ConstraintTemplate } from './template.js';
import { lineOfPath } from '../repo/yaml-file.js';
import { type ExpansionTemplate, isExpansionTemplateDocument, readExpansionTemplate } from './expansion-template.js';

export interface LoadedTemplate {
  template: ConstraintTemplate;
  schema: ParameterSchema | undefined;
  /** The driver's id of the template's code. */
  moduleId: number;
  usesInventory: boolean;
  /** The engine that runs the template in this cluster. */
  engine: PolicyEngine;
  /**
   * Its code has problems already reported as input errors (CEL that does not compile), so the
   * failed evaluations they cause need no error each.
   */
  reportedProblems: boolean;
}

export interface PolicySetOptions extends WorkOptions {
  /** The cluster's Gatekeeper runs CEL (`--enable-k8s-native-validation`, ClusterConfig.k8sNativeValidation). */
  k8sNativeValidation: boolean;
  /** Hears of each template as it is loaded (compiling is the slow part of a cold start). */
  onLoaded?: (done: number, total: number) => void;
}

export interface PolicySet {
  /** By constraint kind. */
  templates: Map<string, LoadedTemplate>;
  constraints: Constraint[];
  /** The repository's own ExpansionTemplates (none means "use Parapet's defaults"). */
  expansionTemplates: ExpansionTemplate[];
  gatekeeperConfig: GatekeeperConfig | undefined;
  /**
   * The kinds Gatekeeper syncs into `data.inventory`: the Config's `spec.sync.syncOnly` and every
   * SyncSet's `spec.gvks`. Undefined when the policies hold neither: where the cluster's sync is
   * configured cannot be known, and the inventory holds every kind.
   */
  syncedKinds: SyncedKind[] | undefined;
  errors: InputError[];
  /** The driver's template ids, to release when the check is done. */
  moduleIds: number[];
}

export async function loadPolicySet(documents: YamlDocument[], driver: PolicyDriver, options: PolicySetOptions): Promise<PolicySet> {
  const errors: InputError[] = [];
  const templateDocs = documents.filter((doc) => isTemplateDocument(doc.value));
  let done = 0;
  const settled = await Promise.allSettled(
    templateDocs.map(async (d) => {
      const result = await loadTemplate(d, driver, options);
      options.onLoaded?.(++done, templateDocs.length);
      return result;
    }),
  );
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
  let syncSets: SyncedKind[] | undefined;
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
    } else if (isSyncSetDocument(value)) {
      const spec = isRecord(value.spec) ? value.spec : {};
      const kinds = readSyncedKinds(spec.gvks, ['spec', 'gvks'], (problem) => errors.push({ location, code: 'gatekeeper-config', message: `SyncSet: ${problem.message}` }));
      syncSets = [...(syncSets ?? []), ...kinds];
    }
  }
  const syncedKinds = gatekeeperConfig || syncSets ? [...(gatekeeperConfig?.syncOnly ?? []), ...(syncSets ?? [])] : undefined;
  return { templates, constraints, expansionTemplates, gatekeeperConfig, syncedKinds, errors, moduleIds };
}

/** Gatekeeper's SyncSet (syncset.gatekeeper.sh), which adds kinds to the sync besides the Config's. */
function isSyncSetDocument(value: Record<string, unknown>): boolean {
  return value.kind === 'SyncSet' && typeof value.apiVersion === 'string' && value.apiVersion.startsWith('syncset.gatekeeper.sh/');
}

async function loadTemplate(
  doc: YamlDocument,
  driver: PolicyDriver,
  options: PolicySetOptions,
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

  const code = templateCode(template, options.k8sNativeValidation);
  if ('error' in code) return { kind, errors: [{ location, code: 'template', message: code.error }] };
  const loaded = await driver.loadTemplate(code, options);
  if (!loaded.ok && 'problems' in loaded) {
    return {
      kind,
      errors: loaded.problems.map((problem) => ({
        location: { file: doc.file, line: (template.moduleLines[problem.module] ?? location.line) + Math.max(0, (problem.line ?? 1) - 1) },
        code: 'rego',
        message: `ConstraintTemplate ${template.name}: ${problem.module > 0 ? `libs[${problem.module - 1}]: ` : ''}${problem.message}`,
      })),
    };
  }
  if (!loaded.ok && 'rejected' in loaded) {
    return { kind, errors: [{ location, code: 'cel', message: `ConstraintTemplate ${template.name}: ${loaded.rejected}` }] };
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
  // Gatekeeper accepts a template whose CEL does not compile and fails every evaluation with the
  // compile error; the template is loaded so those results appear, and each problem is an error on
  // the line of its expression so the check fails whatever the constraints' actions.
  const problems: InputError[] = (loaded.problems ?? []).map((problem) => ({
    location: { file: doc.file, line: lineOfPath(doc.lines, problem.path).line },
    code: 'cel',
    message: `ConstraintTemplate ${template.name}: ${celPath(problem.path)}: ${problem.message}`,
  }));
  return {
    kind,
    errors: problems,
    template: { template, schema: compiled.schema, moduleId: loaded.id, usesInventory: loaded.usesInventory, engine: code.engine, reportedProblems: problems.length > 0 },
  };
}

/** `validations[0].expression`: the path inside the K8sNativeValidation source, as its author writes it. */
function celPath(path: Array<string | number>): string {
  const inSource = path.indexOf('source');
  return (inSource >= 0 ? path.slice(inSource + 1) : path).reduce<string>((text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${part}` : part), '');
}

function where(location: Location): string {
  return `${location.file}:${location.line}`;
}
