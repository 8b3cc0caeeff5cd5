// `gator verify` (gatekeeper pkg/gator/verify): each case builds a fresh review of one object against
// one template and constraint, with the case's inventory, at enforcement point gator.gatekeeper.sh,
// and checks the results against the case's assertions. Failures are data, never printed here.
// Suites, templates and objects are read as go-yaml v3 (kyaml's reading) reads them: gator's own suites
// write `violations: no`, the string, which sigs.k8s.io/yaml would make a boolean.
import { posix } from 'node:path';
import { addToInventory, buildReview, emptyInventory, inventoryData, type AdmissionRequestFields } from '../evaluate/review.js';
import { expand } from '../expand/expansion.js';
import type { MatchTarget } from '../policy/constraint-match.js';
import { effectiveAction } from '../policy/enforcement.js';
import { readConstraint, type Constraint } from '../policy/constraint.js';
import { compileParameterSchema, type ParameterSchema } from '../policy/schema/index.js';
import { isTemplateDocument, readTemplate, templateCode, type ConstraintTemplate } from '../policy/template.js';
import { celConstraint } from '../evaluate/evaluate-matches.js';
import type { PolicyEngine } from '../model.js';
import type { FileReader, PolicyDriver } from '../ports.js';
import { gvkOf, objectProblem, type KubernetesObject } from '../repo/kubernetes.js';
import { parseYamlFileAs, type YamlDocument } from '../repo/yaml-file.js';
import { runAssertions } from './assertions.js';
import { isRecord } from '../model.js';
import { type ExpansionTemplate, isExpansionTemplateDocument, readExpansionTemplate } from '../policy/expansion-template.js';

export interface CaseResult {
  name: string;
  passed: boolean;
  skipped?: boolean;
  error?: string;
}

export interface TestResult {
  name: string;
  passed: boolean;
  skipped?: boolean;
  /** Why the whole test could not run (template does not compile, constraint unreadable). */
  error?: string;
  cases: CaseResult[];
}

export interface SuiteResult {
  file: string;
  passed: boolean;
  skipped?: boolean;
  /** Why the suite could not be read. */
  error?: string;
  tests: TestResult[];
}

export interface VerifyOptions {
  driver: PolicyDriver;
  reader: FileReader;
  /** gator's `--enable-k8s-native-validation` (default true): templates with CEL run CEL. */
  k8sNativeValidation?: boolean;
}

const SUITE_GROUP = 'test.gatekeeper.sh';

/** Whether a parsed document is a gator Suite; other YAML files are ignored, as gator does. */
export function isSuiteDocument(value: unknown): boolean {
  return isRecord(value) && value.kind === 'Suite' && typeof value.apiVersion === 'string' && value.apiVersion.split('/')[0] === SUITE_GROUP;
}

export async function verifySuites(suiteFiles: string[], options: VerifyOptions): Promise<SuiteResult[]> {
  const results: SuiteResult[] = [];
  for (const file of suiteFiles) results.push(await runSuite(file, options));
  return results;
}

async function runSuite(file: string, options: VerifyOptions): Promise<SuiteResult> {
  const suiteFail = (error: string): SuiteResult => ({ file, passed: false, error, tests: [] });
  const text = await options.reader.read(file);
  if (text === undefined) return suiteFail('the suite file could not be read');
  const parsed = parseYamlFileAs(file, text, 'kyaml');
  if (parsed.errors.length > 0) return suiteFail(parsed.errors.map((e) => `line ${e.location.line}: ${e.message}`).join('; '));
  const suite = parsed.documents.find((doc) => isSuiteDocument(doc.value))?.value as Record<string, unknown> | undefined;
  if (!suite) return suiteFail('not a Suite (apiVersion test.gatekeeper.sh/v1alpha1, kind: Suite)');
  const tests = Array.isArray(suite.tests) ? suite.tests : [];
  if (suite.skip === true) {
    return { file, passed: true, skipped: true, tests: tests.filter(isRecord).map((t) => ({ name: String(t.name ?? ''), passed: true, skipped: true, cases: [] })) };
  }
  const context = new SuiteContext(file, options);
  const results: TestResult[] = [];
  for (const [i, test] of tests.entries()) {
    results.push(isRecord(test) ? await context.runTest(test) : { name: `tests[${i}]`, passed: false, error: 'a test must be a mapping', cases: [] });
  }
  return { file, passed: results.every((t) => t.passed), tests: results };
}

class SuiteContext {
  private readonly dir: string;

  constructor(
    file: string,
    private readonly options: VerifyOptions,
  ) {
    this.dir = posix.dirname(file);
  }

  async runTest(test: Record<string, unknown>): Promise<TestResult> {
    const name = String(test.name ?? '');
    const cases = Array.isArray(test.cases) ? test.cases.filter(isRecord) : [];
    if (test.skip === true) return { name, passed: true, skipped: true, cases: cases.map((c) => ({ name: String(c.name ?? ''), passed: true, skipped: true })) };
    const fail = (error: string): TestResult => ({ name, passed: false, error, cases: [] });
    if (typeof test.template !== 'string') return fail('template is required');
    if (typeof test.constraint !== 'string') return fail('constraint is required');
    if (test.invalid === true && cases.length > 0) return fail('invalid: true cannot be combined with cases');

    const template = await this.loadTemplate(test.template);
    if ('error' in template) return fail(template.error);
    try {
      const constraintDocs = await this.documents(test.constraint);
      if ('error' in constraintDocs) return fail(constraintDocs.error);
      if (constraintDocs.docs.length !== 1) return fail(`${test.constraint} must hold exactly one constraint`);
      const constraintDoc = constraintDocs.docs[0]!;
      if (!isRecord(constraintDoc.value)) return fail(`${test.constraint} is not a constraint`);
      if (constraintDoc.value.kind !== template.template.kind) {
        return fail(`the constraint's kind ${String(constraintDoc.value.kind)} does not match the template's kind ${template.template.kind}`);
      }
      const read = readConstraint(
        constraintDoc.value,
        { file: constraintDoc.file, line: constraintDoc.kindLine },
        new Map([[template.template.kind, { template: template.template, schema: template.schema }]]),
      );
      const schemaErrors = read.errors.filter((e) => e.code === 'schema');
      if (test.invalid === true) {
        return schemaErrors.length > 0
          ? { name, passed: true, cases: [] }
          : fail(read.errors.length > 0 ? `expected a schema error, got: ${read.errors.map((e) => e.message).join('; ')}` : 'expected the constraint to fail schema validation, but it is valid');
      }
      if (!read.constraint) return fail(read.errors.map((e) => e.message).join('; '));

      let expansions: ExpansionTemplate[] = [];
      if (typeof test.expansion === 'string') {
        const loaded = await this.loadExpansion(test.expansion);
        if ('error' in loaded) return fail(loaded.error);
        expansions = loaded.templates;
      }
      const results: CaseResult[] = [];
      for (const testCase of cases) results.push(await this.runCase(testCase, read.constraint, template, expansions));
      return { name, passed: results.every((c) => c.passed), cases: results };
    } finally {
      this.options.driver.release([template.moduleId], []);
    }
  }

  private async runCase(
    testCase: Record<string, unknown>,
    constraint: Constraint,
    { moduleId, usesInventory, engine }: { moduleId: number; usesInventory: boolean; engine: PolicyEngine },
    expansions: ExpansionTemplate[],
  ): Promise<CaseResult> {
    const name = String(testCase.name ?? '');
    if (testCase.skip === true) return { name, passed: true, skipped: true };
    const fail = (error: string): CaseResult => ({ name, passed: false, error });
    if (typeof testCase.object !== 'string') return fail('object is required');
    const assertions = Array.isArray(testCase.assertions) ? testCase.assertions : [];
    if (assertions.length === 0) return fail('assertions must not be empty');

    const objectDocs = await this.documents(testCase.object);
    if ('error' in objectDocs) return fail(objectDocs.error);
    if (objectDocs.docs.length !== 1) return fail(`${testCase.object} must hold exactly one object, found ${objectDocs.docs.length}`);
    const subject = reviewSubject(objectDocs.docs[0]!.value);
    if ('error' in subject) return fail(`${testCase.object}: ${subject.error}`);

    const inventory = emptyInventory();
    const namespaces = new Map<string, Record<string, unknown>>();
    for (const path of Array.isArray(testCase.inventory) ? testCase.inventory : []) {
      if (typeof path !== 'string') return fail('inventory entries must be paths');
      const docs = await this.documents(path);
      if ('error' in docs) return fail(docs.error);
      for (const doc of docs.docs) {
        const problem = objectProblem(doc.value, { requireName: false });
        if (problem) return fail(`${path}: ${problem}`);
        const object = doc.value as KubernetesObject;
        addToInventory(inventory, object);
        if (object.kind === 'Namespace' && object.apiVersion === 'v1') namespaces.set(String(object.metadata.name), object);
      }
    }

    const messages: string[] = [];
    if (effectiveAction(constraint.spec, 'gator.gatekeeper.sh') !== null) {
      const dataId = usesInventory ? this.options.driver.addText(inventoryData(inventory)) : 0;
      const parametersId = this.options.driver.addText(engine === 'K8sNativeValidation' ? celConstraint(constraint) : constraint.parametersJson);
      try {
        const namespaceOf = (object: KubernetesObject | undefined) => {
          const ns = object?.metadata.namespace;
          return typeof ns === 'string' ? (namespaces.get(ns) ?? null) : null;
        };
        const targets: Array<{ object: KubernetesObject; prefix: string; source: 'Original' | 'Generated'; request: AdmissionRequestFields }> = [
          { object: subject.object, prefix: '', source: 'Original', request: subject.request },
        ];
        for (const resultant of expand(subject.object, expansions).resultants) {
          targets.push({ object: resultant.object, prefix: `[Implied by ${resultant.template.name}] `, source: 'Generated', request: { operation: subject.request.operation } });
        }
        for (const target of targets) {
          const matchTarget: MatchTarget = {
            object: target.object,
            ...gvkOf(target.object),
            namespace: namespaceOf(target.object),
            source: target.source,
            oldObject: (target.request.oldObject as Record<string, unknown> | undefined) ?? null,
            operation: target.request.operation,
          };
          const matched = constraint.matches(matchTarget);
          if (matched.matches === false) continue;
          if (matched.matches === 'error') {
            messages.push(target.prefix + matched.message);
            continue;
          }
          const review = JSON.stringify(buildReview(target.object, target.request));
          const [outcome] = await this.options.driver.evaluate([{ template: moduleId, data: dataId, parameters: parametersId, review }]);
          if (!outcome || 'error' in outcome) {
            messages.push(target.prefix + (outcome?.error ?? 'no result'));
            continue;
          }
          for (const error of outcome.errors ?? []) messages.push(target.prefix + error);
          for (const result of outcome.results) {
            if (isRecord(result) && typeof result.msg === 'string') messages.push(target.prefix + result.msg);
          }
        }
      } finally {
        this.options.driver.release([], dataId ? [dataId, parametersId] : [parametersId]);
      }
    }
    const problem = runAssertions(assertions, messages);
    return problem ? fail(problem) : { name, passed: true };
  }

  private async loadTemplate(
    path: string,
  ): Promise<{ template: ConstraintTemplate; schema: ParameterSchema | undefined; moduleId: number; usesInventory: boolean; engine: PolicyEngine } | { error: string }> {
    const file = this.resolve(path);
    const text = await this.options.reader.read(file);
    if (text === undefined) return { error: `cannot read template ${path}` };
    const parsed = parseYamlFileAs(file, text, 'kyaml');
    if (parsed.errors.length > 0) return { error: `${path}: ${parsed.errors[0]!.message}` };
    const doc = parsed.documents.find((d) => isTemplateDocument(d.value));
    if (!doc) return { error: `${path} holds no ConstraintTemplate` };
    const read = readTemplate(doc.value as Record<string, unknown>, { file, line: doc.kindLine }, doc.lines);
    if (!read.template) return { error: read.errors.map((e) => e.message).join('; ') };
    const template = read.template;
    const schema = compileParameterSchema(template.parametersSchema, { legacySchema: template.legacySchema });
    if (schema.problems.length > 0) return { error: `${path}: invalid parameters schema: ${schema.problems.map((p) => p.message).join('; ')}` };
    const code = templateCode(template, this.options.k8sNativeValidation ?? true);
    if ('error' in code) return { error: code.error };
    const loaded = await this.options.driver.loadTemplate(code);
    if (!loaded.ok && 'problems' in loaded) {
      const where = (p: { module: number; line?: number }) => (template.moduleLines[p.module] ?? 1) + Math.max(0, (p.line ?? 1) - 1);
      return { error: loaded.problems.map((p) => `${path}:${where(p)}: ${p.message}`).join('; ') };
    }
    if (!loaded.ok) {
      if ('unsupported' in loaded) return { error: `template ${template.name} ${loaded.unsupported}` };
      if ('rejected' in loaded) return { error: loaded.rejected };
      return { error: 'limit' in loaded ? `template ${template.name}: ${loaded.limit}` : loaded.loadError };
    }
    // CEL that does not compile is loaded, as gator does: its cases see the compile errors as results.
    return { template, schema: schema.schema, moduleId: loaded.id, usesInventory: loaded.usesInventory, engine: code.engine };
  }

  private async loadExpansion(path: string): Promise<{ templates: ExpansionTemplate[] } | { error: string }> {
    const docs = await this.documents(path);
    if ('error' in docs) return docs;
    const templates: ExpansionTemplate[] = [];
    for (const doc of docs.docs) {
      if (!isExpansionTemplateDocument(doc.value)) continue;
      const read = readExpansionTemplate(doc.value as Record<string, unknown>, { file: doc.file, line: doc.kindLine });
      if (!read.template) return { error: read.errors.map((e) => e.message).join('; ') };
      templates.push(read.template);
    }
    return { templates };
  }

  private async documents(path: string): Promise<{ docs: YamlDocument[] } | { error: string }> {
    const file = this.resolve(path);
    const text = await this.options.reader.read(file);
    if (text === undefined) return { error: `cannot read ${path}` };
    const parsed = parseYamlFileAs(file, text, 'kyaml');
    if (parsed.errors.length > 0) return { error: `${path}: line ${parsed.errors[0]!.location.line}: ${parsed.errors[0]!.message}` };
    return { docs: parsed.documents };
  }

  private resolve(path: string): string {
    return posix.normalize(posix.isAbsolute(path) ? path : posix.join(this.dir, path));
  }
}

/** The object to review and the request around it; an AdmissionReview is replayed as written. */
function reviewSubject(value: unknown): { object: KubernetesObject; request: AdmissionRequestFields } | { error: string } {
  if (isRecord(value) && value.kind === 'AdmissionReview' && typeof value.apiVersion === 'string' && value.apiVersion.startsWith('admission.k8s.io/')) {
    const request = value.request;
    if (!isRecord(request)) return { error: 'an AdmissionReview needs a request' };
    const known = new Set(['uid', 'kind', 'resource', 'subResource', 'requestKind', 'requestResource', 'requestSubResource', 'name', 'namespace', 'operation', 'userInfo', 'object', 'oldObject', 'dryRun', 'options']);
    const unknown = Object.keys(request).filter((key) => !known.has(key));
    if (unknown.length > 0) return { error: `unknown field${unknown.length > 1 ? 's' : ''} in the AdmissionReview request: ${unknown.join(', ')}` };
    // On DELETE Gatekeeper reviews the old object as the object (target.go setObjectOnDelete).
    const object = request.operation === 'DELETE' && request.oldObject ? request.oldObject : (request.object ?? request.oldObject);
    if (!isRecord(object)) return { error: 'an AdmissionReview request needs an object or an oldObject' };
    const problem = objectProblem(object, { requireName: false });
    if (problem) return { error: problem };
    return { object: object as KubernetesObject, request: request as AdmissionRequestFields };
  }
  const problem = objectProblem(value, { requireName: false });
  if (problem) return { error: problem };
  return { object: value as KubernetesObject, request: {} };
}
