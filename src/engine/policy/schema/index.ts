// The structural OpenAPI v3 handling that Gatekeeper applies to a Constraint's `spec.parameters`, mirrored
// from the Go code it runs (read 2026-11):
//
// - Template side: FW `client.go createCRD` builds the constraint CRD with the template schema at
//   `spec.properties.parameters` (FW `crds/schema.go createSchema`) and runs apiextensions
//   `ValidateCustomResourceDefinition`: structural invariants (`apiserver/schema/validation.go`), default
//   validation (`apiserver/schema/defaulting/validation.go`) and the OpenAPI restrictions
//   (`apis/apiextensions/validation/validation.go ValidateCustomResourceDefinitionOpenAPISchema`).
// - Constraint side: FW `crds/validate.go ValidateCR` validates with kube-openapi's `SchemaValidator`
//   (`pkg/validation/validate`, errors turned into field errors by apiextensions
//   `kubeOpenAPIResultToFieldErrors`), and only when that passes prunes with unknown-field tracking
//   (`pruning.PruneWithOptions`); FW `template_client.go ApplyDefaultParams` then runs
//   `structuraldefaulting.Default` on the *validated* object, so defaults themselves are never re-validated
//   at this point (the template's CRD validation already checked them).
//
// Templates without a schema (`validation` or `openAPIV3Schema` absent or null): `createSchema` adds a
// `parameters` property only when the template has a schema, and the generated `spec` schema does not
// preserve unknown fields. So:
// - `templates.gatekeeper.sh/v1` (legacySchema defaults to false, FW `deploy/crds.yaml`): no `parameters`
//   property at all, and any `spec.parameters` (even `{}`) is an unknown field.
// - v1beta1/v1alpha1, or `legacySchema: true`: FW `templates/v1/conversion.go` substitutes `{}` and wraps it
//   with x-kubernetes-preserve-unknown-fields, so any parameters are accepted
//   (the fix for open-policy-agent/gatekeeper#1468).
//
// Patterns are Go RE2, matched with re2js (a pure-JS port of RE2): same syntax, same error texts, and
// linear-time matching, which matters because both patterns and values come from the repository under check.
//
// Known differences from Gatekeeper:
// - CEL rules (x-kubernetes-validations) are not compiled, so a template whose rule does not compile is
//   accepted here; Gatekeeper's ValidateCR does not evaluate them on constraints either.
// - Formats use our own checks where Go calls a parser (uri, email, date-time, duration, quantity, mac, cidr
//   are close approximations).
// - Defaults inside the metadata of an x-kubernetes-embedded-resource are not checked against ObjectMeta.
// - Go visits properties in map order, so its error order varies between runs; ours follows the schema.
// - An integer checked against a multipleOf between -1 and 1 makes Go divide by zero; we check it as a float.
//
// Messages follow kubectl's rendering of Kubernetes field errors (`spec.parameters.labels: Invalid value:
// "string": spec.parameters.labels in body must be of type array: "string"`). gator builds the same errors
// from `field.NewPath("")`, so it prints each path with a `[].` prefix (`[].spec.parameters.labels: ...`)
// and joins them as one aggregate; the wording after the path is identical.
import { RE2JS } from 're2js';
import { formatFloat } from '../../go/format-float.js';
import { compareStrings } from '../../go/strings.js';
import { goQuote } from '../../go/quote.js';

/**
 * Which Gatekeeper check a problem comes from; each maps to the error class Gatekeeper returns, so callers
 * can mirror gator (a suite's `invalid: true` expects ErrSchema, i.e. `schema`, not `unknown-field`).
 */
export type SchemaProblemKind =
  /** ErrInvalidConstraintTemplate: the template's parameter schema is rejected. */
  | 'template'
  /** ErrSchema: the parameters fail OpenAPI validation. */
  | 'schema'
  /** ErrInvalidConstraint: a field the schema does not declare. gator checks this only when `schema` passed. */
  | 'unknown-field';

export interface SchemaProblem {
  /**
   * Where the problem is. For `schema` and `unknown-field`: the field path inside the constraint, e.g.
   * `['spec', 'parameters', 'labels', '0']`. For `template`: the path inside the template's
   * `spec.crd.spec.validation.openAPIV3Schema`, e.g. `['properties', 'labels', 'items']`.
   */
  path: string[];
  message: string;
  kind: SchemaProblemKind;
}

/** One compiled schema node: the template's JSONSchemaProps as Gatekeeper's validators read them. */
export interface SchemaNode {
  /** `''` when the schema leaves the type open. */
  readonly type: string;
  /** The format as validation sees it: formats apiextensions does not support are already dropped. */
  readonly format: string;
  readonly nullable: boolean;
  readonly default?: { readonly value: unknown };
  readonly enum?: readonly unknown[];
  readonly maximum?: number;
  readonly exclusiveMaximum: boolean;
  readonly minimum?: number;
  readonly exclusiveMinimum: boolean;
  readonly multipleOf?: number;
  readonly maxLength?: number;
  readonly minLength?: number;
  readonly pattern?: CompiledPattern;
  readonly maxItems?: number;
  readonly minItems?: number;
  readonly uniqueItems: boolean;
  readonly maxProperties?: number;
  readonly minProperties?: number;
  readonly required: readonly string[];
  readonly items?: SchemaNode;
  readonly properties?: ReadonlyMap<string, SchemaNode>;
  readonly additionalProperties?: { readonly allows: boolean; readonly schema?: SchemaNode };
  readonly allOf: readonly SchemaNode[];
  readonly anyOf: readonly SchemaNode[];
  readonly oneOf: readonly SchemaNode[];
  readonly not?: SchemaNode;
  readonly preserveUnknownFields: boolean;
  readonly embeddedResource: boolean;
  readonly intOrString: boolean;
}

export interface CompiledPattern {
  readonly source: string;
  /** Absent when the pattern is not valid Go RE2 syntax (the template is then rejected). */
  readonly regexp?: RE2JS;
  readonly error?: string;
}

export interface ParameterSchema {
  /**
   * `declared`: `root` describes `spec.parameters`. `undeclared`: the constraint CRD has no `parameters`
   * property (a v1 template without a schema), so any `spec.parameters` is an unknown field.
   */
  readonly mode: 'declared' | 'undeclared';
  readonly root?: SchemaNode;
}

const PARAMETERS_PATH = ['spec', 'parameters'] as const;
// Where Gatekeeper's CRD validation reports the parameters schema: it sits under the constraint CRD's
// root schema, whose paths start at the CRD's `spec.validation.openAPIV3Schema`.
const CRD_PARAMETERS_PREFIX = 'spec.validation.openAPIV3Schema.properties[spec].properties[parameters]';

export function compileParameterSchema(
  openAPIV3Schema: unknown,
  options: { legacySchema: boolean },
): { schema: ParameterSchema; problems: SchemaProblem[] } {
  const problems: SchemaProblem[] = [];
  let input = openAPIV3Schema;
  if (input === undefined || input === null) {
    if (!options.legacySchema) return { schema: { mode: 'undeclared' }, problems };
    input = {};
  }

  const raw = parseRawSchema(input, [], problems);
  if (options.legacySchema) addPreserveUnknownFields(raw, [], problems);
  // A schema Go cannot even decode is rejected before any CRD validation runs.
  if (problems.length === 0) problems.push(...validateTemplateSchema(raw));
  return { schema: { mode: 'declared', root: buildNode(raw) }, problems };
}

/**
 * Checks and defaults a constraint's `spec.parameters` (`undefined` when the constraint has none) the way
 * Gatekeeper's `AddConstraint` does. `value` is the defaulted parameters; Gatekeeper would not accept the
 * constraint at all when `problems` is non-empty.
 */
export function applyParameterSchema(
  schema: ParameterSchema,
  parameters: unknown,
): { value: unknown; problems: SchemaProblem[] } {
  const problems: SchemaProblem[] = [];
  if (schema.mode === 'undeclared' || schema.root === undefined) {
    if (parameters !== undefined) {
      problems.push({
        path: [...PARAMETERS_PATH],
        message: unknownFieldMessage(PARAMETERS_PATH.join('.')),
        kind: 'unknown-field',
      });
    }
    return { value: deepCopy(parameters), problems };
  }

  const root = schema.root;
  if (parameters !== undefined) {
    const result = validateValue(root, parameters, PARAMETERS_PATH.join('.'), PARAMETERS_PATH);
    for (const error of result.errors) problems.push(toFieldProblem(error, undefined, 'schema'));
    const unknown: UnknownField[] = [];
    pruneWalk(deepCopy(parameters), root, [...PARAMETERS_PATH], 'spec.parameters', unknown);
    unknown.sort((a, b) => compareStrings(a.text, b.text));
    for (const field of unknown) {
      problems.push({ path: field.segs, message: unknownFieldMessage(field.text), kind: 'unknown-field' });
    }
  }

  // structuraldefaulting.Default on `spec` fills a missing (or non-nullable null) `parameters` from the
  // parameters schema's own default, then recurses; it never creates `spec` itself.
  let value = deepCopy(parameters);
  if (root.default !== undefined && (value === undefined || (value === null && !root.nullable))) {
    value = deepCopy(root.default.value);
  }
  applyDefaults(value, root);
  return { value, problems };
}

function unknownFieldMessage(path: string): string {
  // gator aggregates these as `unknown fields: [spec.parameters.a spec.parameters.b]` and kubectl's strict
  // field validation as `unknown field "spec.parameters.a"`; one field error per path reads like the rest.
  return `${path}: unknown field`;
}

// ---------------------------------------------------------------------------------------------------------
// Decoding the template's openAPIV3Schema the way Go decodes it into apiextensions JSONSchemaProps:
// unknown keys are dropped silently, null means absent, and a keyword of the wrong JSON type is an error.

interface RawRule {
  rule: string;
  message: string;
  messageExpression: string;
  fieldPath: string;
}

interface RawSchema {
  id?: string;
  $schema?: string;
  $ref?: string;
  description?: string;
  type?: string;
  format?: string;
  title?: string;
  default?: { value: unknown };
  maximum?: number;
  exclusiveMaximum?: boolean;
  minimum?: number;
  exclusiveMinimum?: boolean;
  maxLength?: number;
  minLength?: number;
  pattern?: string;
  maxItems?: number;
  minItems?: number;
  uniqueItems?: boolean;
  multipleOf?: number;
  enum?: unknown[];
  maxProperties?: number;
  minProperties?: number;
  required?: string[];
  items?: RawSchema | RawSchema[];
  allOf?: RawSchema[];
  oneOf?: RawSchema[];
  anyOf?: RawSchema[];
  not?: RawSchema;
  properties?: Map<string, RawSchema>;
  additionalProperties?: { allows: boolean; schema?: RawSchema };
  patternProperties?: Map<string, RawSchema>;
  dependencies?: Map<string, RawSchema | string[]>;
  additionalItems?: { allows: boolean; schema?: RawSchema };
  definitions?: Map<string, RawSchema>;
  externalDocs?: unknown;
  nullable?: boolean;
  preserveUnknownFields?: boolean;
  embeddedResource?: boolean;
  intOrString?: boolean;
  listMapKeys?: string[];
  listType?: string;
  mapType?: string;
  validations?: RawRule[];
}

function parseRawSchema(value: unknown, at: string[], problems: SchemaProblem[]): RawSchema {
  const raw: RawSchema = {};
  // A null list element decodes to the zero JSONSchemaProps.
  if (value === null || value === undefined) return raw;
  if (!isPlainObject(value)) {
    problems.push(decodeProblem(at, value, 'JSONSchemaProps', 'Go value'));
    return raw;
  }
  const field = (key: string): unknown => value[key] ?? undefined;
  const fail = (key: string, goType: string): void => {
    problems.push(decodeProblem([...at, key], value[key], goType, `Go struct field JSONSchemaProps.${key}`));
  };
  const str = (key: string): string | undefined => {
    const v = field(key);
    if (v === undefined) return undefined;
    if (typeof v === 'string') return v;
    fail(key, 'string');
    return undefined;
  };
  const bool = (key: string): boolean | undefined => {
    const v = field(key);
    if (v === undefined) return undefined;
    if (typeof v === 'boolean') return v;
    fail(key, 'bool');
    return undefined;
  };
  const float = (key: string): number | undefined => {
    const v = field(key);
    if (v === undefined) return undefined;
    if (typeof v === 'number' || typeof v === 'bigint') return Number(v);
    fail(key, 'float64');
    return undefined;
  };
  const int = (key: string): number | undefined => {
    const v = field(key);
    if (v === undefined) return undefined;
    if ((typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint') return Number(v);
    fail(key, 'int64');
    return undefined;
  };
  const strings = (key: string): string[] | undefined => {
    const v = field(key);
    if (v === undefined) return undefined;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string' || x === null)) {
      return v.map((x) => (typeof x === 'string' ? x : ''));
    }
    fail(key, '[]string');
    return undefined;
  };
  const schema = (key: string): RawSchema | undefined => {
    const v = field(key);
    return v === undefined ? undefined : parseRawSchema(v, [...at, key], problems);
  };
  const schemaList = (key: string): RawSchema[] | undefined => {
    const v = field(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) {
      fail(key, '[]v1.JSONSchemaProps');
      return undefined;
    }
    return v.map((item, i) => parseRawSchema(item, [...at, key, String(i)], problems));
  };
  const schemaMap = (key: string): Map<string, RawSchema> | undefined => {
    const v = field(key);
    if (v === undefined) return undefined;
    if (!isPlainObject(v)) {
      fail(key, 'map[string]v1.JSONSchemaProps');
      return undefined;
    }
    const map = new Map<string, RawSchema>();
    for (const [name, sub] of Object.entries(v)) {
      if (sub === undefined) continue;
      map.set(name, parseRawSchema(sub, [...at, key, name], problems));
    }
    return map;
  };
  const schemaOrBool = (key: string): { allows: boolean; schema?: RawSchema } | undefined => {
    const v = field(key);
    if (v === undefined) return undefined;
    if (typeof v === 'boolean') return { allows: v };
    if (isPlainObject(v)) return { allows: true, schema: parseRawSchema(v, [...at, key], problems) };
    fail(key, 'v1.JSONSchemaPropsOrBool');
    return undefined;
  };

  assign(raw, 'id', str('id'));
  assign(raw, '$schema', str('$schema'));
  assign(raw, '$ref', str('$ref'));
  assign(raw, 'description', str('description'));
  assign(raw, 'type', str('type'));
  assign(raw, 'format', str('format'));
  assign(raw, 'title', str('title'));
  const defaultValue = field('default');
  if (defaultValue !== undefined) raw.default = { value: defaultValue };
  assign(raw, 'maximum', float('maximum'));
  assign(raw, 'exclusiveMaximum', bool('exclusiveMaximum'));
  assign(raw, 'minimum', float('minimum'));
  assign(raw, 'exclusiveMinimum', bool('exclusiveMinimum'));
  assign(raw, 'maxLength', int('maxLength'));
  assign(raw, 'minLength', int('minLength'));
  assign(raw, 'pattern', str('pattern'));
  assign(raw, 'maxItems', int('maxItems'));
  assign(raw, 'minItems', int('minItems'));
  assign(raw, 'uniqueItems', bool('uniqueItems'));
  assign(raw, 'multipleOf', float('multipleOf'));
  const enumValue = field('enum');
  if (enumValue !== undefined) {
    if (Array.isArray(enumValue)) raw.enum = enumValue.map((x) => x ?? null);
    else fail('enum', '[]v1.JSON');
  }
  assign(raw, 'maxProperties', int('maxProperties'));
  assign(raw, 'minProperties', int('minProperties'));
  assign(raw, 'required', strings('required'));
  const items = field('items');
  if (items !== undefined) {
    if (Array.isArray(items)) raw.items = items.map((x, i) => parseRawSchema(x, [...at, 'items', String(i)], problems));
    else raw.items = parseRawSchema(items, [...at, 'items'], problems);
  }
  assign(raw, 'allOf', schemaList('allOf'));
  assign(raw, 'oneOf', schemaList('oneOf'));
  assign(raw, 'anyOf', schemaList('anyOf'));
  assign(raw, 'not', schema('not'));
  assign(raw, 'properties', schemaMap('properties'));
  assign(raw, 'additionalProperties', schemaOrBool('additionalProperties'));
  assign(raw, 'patternProperties', schemaMap('patternProperties'));
  const dependencies = field('dependencies');
  if (dependencies !== undefined) {
    if (isPlainObject(dependencies)) {
      raw.dependencies = new Map();
      for (const [name, dep] of Object.entries(dependencies)) {
        if (dep === undefined || dep === null) continue;
        if (Array.isArray(dep)) raw.dependencies.set(name, dep.map(String));
        else raw.dependencies.set(name, parseRawSchema(dep, [...at, 'dependencies', name], problems));
      }
    } else {
      fail('dependencies', 'v1.JSONSchemaDependencies');
    }
  }
  assign(raw, 'additionalItems', schemaOrBool('additionalItems'));
  assign(raw, 'definitions', schemaMap('definitions'));
  if (field('externalDocs') !== undefined) raw.externalDocs = field('externalDocs');
  assign(raw, 'nullable', bool('nullable'));
  assign(raw, 'preserveUnknownFields', bool('x-kubernetes-preserve-unknown-fields'));
  assign(raw, 'embeddedResource', bool('x-kubernetes-embedded-resource'));
  assign(raw, 'intOrString', bool('x-kubernetes-int-or-string'));
  assign(raw, 'listMapKeys', strings('x-kubernetes-list-map-keys'));
  assign(raw, 'listType', str('x-kubernetes-list-type'));
  assign(raw, 'mapType', str('x-kubernetes-map-type'));
  const rules = field('x-kubernetes-validations');
  if (rules !== undefined) {
    if (Array.isArray(rules) && rules.every((r) => isPlainObject(r))) {
      raw.validations = rules.map((r) => ({
        rule: typeof r.rule === 'string' ? r.rule : '',
        message: typeof r.message === 'string' ? r.message : '',
        messageExpression: typeof r.messageExpression === 'string' ? r.messageExpression : '',
        fieldPath: typeof r.fieldPath === 'string' ? r.fieldPath : '',
      }));
    } else {
      fail('x-kubernetes-validations', 'v1.ValidationRules');
    }
  }
  return raw;
}

function assign<K extends keyof RawSchema>(raw: RawSchema, key: K, value: RawSchema[K] | undefined): void {
  if (value !== undefined) raw[key] = value;
}

function decodeProblem(at: string[], value: unknown, goType: string, target: string): SchemaProblem {
  const found =
    typeof value === 'number'
      ? `number ${String(value)}`
      : typeof value === 'boolean'
        ? 'bool'
        : Array.isArray(value)
          ? 'array'
          : value === null
            ? 'null'
            : typeof value === 'object'
              ? 'object'
              : typeof value;
  return {
    path: [...at],
    message: `json: cannot unmarshal ${found} into ${target} of type ${goType}`,
    kind: 'template',
  };
}

// FW `schema/transform.go AddPreserveUnknownFields`: what `legacySchema: true` does to the template schema.
function addPreserveUnknownFields(raw: RawSchema, at: string[], problems: SchemaProblem[]): void {
  switch (raw.type ?? '') {
    case '':
    case 'object':
      raw.preserveUnknownFields = true;
      break;
    case 'array':
      if (raw.items === undefined) raw.items = { preserveUnknownFields: true };
      break;
  }
  for (const [name, sub] of raw.properties ?? []) addPreserveUnknownFields(sub, [...at, 'properties', name], problems);
  if (Array.isArray(raw.items)) {
    problems.push({
      path: [...at, 'items'],
      message: 'non-nil JSONSchemas encountered, multiple schemas are not supported',
      kind: 'template',
    });
  } else if (raw.items !== undefined) {
    addPreserveUnknownFields(raw.items, [...at, 'items'], problems);
  }
  if (raw.additionalProperties?.schema !== undefined) {
    addPreserveUnknownFields(raw.additionalProperties.schema, [...at, 'additionalProperties'], problems);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Template-side validation: what ValidateCustomResourceDefinition reports about the parameters subtree.

type Segment = { child: string } | { key: string };

class CrdPath {
  constructor(readonly segments: readonly Segment[] = []) {}

  child(name: string): CrdPath {
    return new CrdPath([...this.segments, { child: name }]);
  }

  key(key: string): CrdPath {
    return new CrdPath([...this.segments, { key }]);
  }

  index(i: number): CrdPath {
    return this.key(String(i));
  }

  /** Rendered the way k8s `field.Path` prints it, under the constraint CRD's parameters schema. */
  toString(): string {
    let text = CRD_PARAMETERS_PREFIX;
    for (const segment of this.segments) text += 'child' in segment ? `.${segment.child}` : `[${segment.key}]`;
    return text;
  }

  /** The same place inside the template's `openAPIV3Schema`. */
  location(): string[] {
    return this.segments.map((s) => ('child' in s ? s.child : s.key));
  }
}

type Level = 'root' | 'item' | 'field';

function validateTemplateSchema(raw: RawSchema): SchemaProblem[] {
  const root = new CrdPath();
  const problems: SchemaProblem[] = [];
  const add = (path: CrdPath, message: string): void => {
    problems.push({ path: path.location(), message, kind: 'template' });
  };

  // NewStructural fails on keywords structural schemas cannot hold; apiextensions then skips the structural
  // and default checks and shows the NewStructural error only if nothing else is reported.
  const structuralInitError = unsupportedFieldError(raw);
  if (structuralInitError === undefined) {
    const structural: Array<{ path: CrdPath; message: string }> = [];
    checkStructuralInvariants(raw, 'field', root, (path, message) => structural.push({ path, message }));
    // ValidateStructural sorts its errors by their text.
    structural.sort((a, b) => compareStrings(a.message, b.message));
    for (const { path, message } of structural) add(path, message);
    if (structural.length === 0) checkDefaults(raw, root, add);
  }
  checkOpenAPISchema(raw, root, { insideResourceMeta: false, forbidDefaults: false }, add);
  if (problems.length === 0 && structuralInitError !== undefined) {
    problems.push({
      path: [],
      message: fieldError('spec.validation.openAPIV3Schema', 'Invalid value', '', structuralInitError),
      kind: 'template',
    });
  }
  return dedupeProblems(problems);
}

function unsupportedFieldError(raw: RawSchema): string | undefined {
  if (raw.id !== undefined && raw.id !== '') return "OpenAPIV3Schema 'id' is not supported";
  if (raw.$schema !== undefined && raw.$schema !== '') return "OpenAPIV3Schema 'schema' is not supported";
  if (raw.$ref !== undefined && raw.$ref !== '') return "OpenAPIV3Schema '$ref' is not supported";
  if (raw.patternProperties !== undefined && raw.patternProperties.size > 0) {
    return "OpenAPIV3Schema 'patternProperties' is not supported";
  }
  if (raw.dependencies !== undefined && raw.dependencies.size > 0) return "OpenAPIV3Schema 'dependencies' is not supported";
  if (raw.additionalItems !== undefined) return "OpenAPIV3Schema 'additionalItems' is not supported";
  if (raw.definitions !== undefined && raw.definitions.size > 0) return "OpenAPIV3Schema 'definitions' is not supported";
  if (raw.preserveUnknownFields === false) {
    return "internal error: 'x-kubernetes-preserve-unknown-fields' must be true or undefined";
  }
  if (Array.isArray(raw.items)) return "OpenAPIV3Schema 'items' must be a schema, but is an array";
  const children: RawSchema[] = [
    ...(raw.items !== undefined ? [raw.items] : []),
    ...(raw.properties?.values() ?? []),
    ...(raw.additionalProperties?.schema !== undefined ? [raw.additionalProperties.schema] : []),
    ...(raw.allOf ?? []),
    ...(raw.anyOf ?? []),
    ...(raw.oneOf ?? []),
    ...(raw.not !== undefined ? [raw.not] : []),
  ];
  for (const child of children) {
    const error = unsupportedFieldError(child);
    if (error !== undefined) return error;
  }
  return undefined;
}

type Report = (path: CrdPath, message: string) => void;

// apiserver/schema/validation.go validateStructuralInvariants. The parameters schema is a field of the
// constraint CRD's `spec`, never the CRD root.
function checkStructuralInvariants(s: RawSchema, level: Level, path: CrdPath, report: Report): void {
  const type = s.type ?? '';
  const items = Array.isArray(s.items) ? undefined : s.items;
  if (type === 'array' && items === undefined) {
    report(path.child('items'), fieldError(path.child('items'), 'Required value', undefined, 'must be specified'));
  }
  if (items !== undefined) checkStructuralInvariants(items, 'item', path.child('items'), report);
  for (const [name, sub] of s.properties ?? []) {
    checkStructuralInvariants(sub, 'field', path.child('properties').key(name), report);
  }
  if (s.additionalProperties !== undefined) {
    const ap = path.child('additionalProperties');
    if (level === 'root') report(ap, fieldError(ap, 'Forbidden', undefined, 'must not be used at the root'));
    if (s.additionalProperties.schema !== undefined) {
      checkStructuralInvariants(s.additionalProperties.schema, 'field', ap, report);
    }
  }
  if (s.intOrString === true && s.preserveUnknownFields === true) {
    const p = path.child('x-kubernetes-preserve-unknown-fields');
    report(p, fieldError(p, 'Invalid value', true, 'must be false if x-kubernetes-int-or-string is true'));
  }
  if (s.intOrString === true && s.embeddedResource === true) {
    const p = path.child('x-kubernetes-embedded-resource');
    report(p, fieldError(p, 'Invalid value', true, 'must be false if x-kubernetes-int-or-string is true'));
  }
  checkStructuralValueValidation(s, isIntOrStringAnyOf(s.anyOf), isIntOrStringAnyOf(s.allOf?.[0]?.anyOf), level, path, report);

  const embedded = s.embeddedResource === true;
  const checkMetadata = level === 'root' || embedded;
  const typePath = path.child('type');
  if (embedded && type !== 'object') {
    report(
      typePath,
      type === ''
        ? fieldError(typePath, 'Required value', undefined, 'must be object if x-kubernetes-embedded-resource is true')
        : fieldError(typePath, 'Invalid value', type, 'must be object if x-kubernetes-embedded-resource is true'),
    );
  } else if (type === '' && s.intOrString !== true && s.preserveUnknownFields !== true) {
    const detail =
      level === 'root'
        ? 'must not be empty at the root'
        : level === 'item'
          ? 'must not be empty for specified array items'
          : 'must not be empty for specified object fields';
    report(typePath, fieldError(typePath, 'Required value', undefined, detail));
  }
  if (embedded && s.additionalProperties !== undefined) {
    const ap = path.child('additionalProperties');
    report(ap, fieldError(ap, 'Forbidden', undefined, 'must not be used if x-kubernetes-embedded-resource is set'));
  }
  if (level === 'root' && type !== '' && type !== 'object') {
    report(typePath, fieldError(typePath, 'Invalid value', type, 'must be object at the root'));
  }
  for (const meta of ['kind', 'apiVersion']) {
    const prop = s.properties?.get(meta);
    if (prop !== undefined && checkMetadata && prop.type !== 'string') {
      const p = path.child('properties').key(meta).child('type');
      report(p, fieldError(p, 'Invalid value', prop.type ?? '', 'must be string'));
    }
  }
  const metadata = s.properties?.get('metadata');
  if (metadata !== undefined && checkMetadata && metadata.type !== 'object') {
    const p = path.child('properties').key('metadata').child('type');
    report(p, fieldError(p, 'Invalid value', metadata.type ?? '', 'must be object'));
  }
  if (embedded && s.preserveUnknownFields !== true && (s.properties?.size ?? 0) === 0) {
    const p = path.child('properties');
    report(
      p,
      fieldError(
        p,
        'Required value',
        undefined,
        'must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields',
      ),
    );
  }
}

// The two int-or-string exceptions: `anyOf: [{type: integer}, {type: string}]`, nothing else in either.
function isIntOrStringAnyOf(anyOf: RawSchema[] | undefined): boolean {
  if (anyOf === undefined || anyOf.length !== 2) return false;
  return anyOf.every((s, i) => {
    const keys = Object.keys(s);
    return keys.length === 1 && s.type === (i === 0 ? 'integer' : 'string');
  });
}

function checkStructuralValueValidation(
  s: RawSchema,
  skipAnyOf: boolean,
  skipFirstAllOfAnyOf: boolean,
  level: Level,
  path: CrdPath,
  report: Report,
): void {
  if (!skipAnyOf) {
    (s.anyOf ?? []).forEach((sub, i) => checkNestedStructural(sub, false, level, path.child('anyOf').index(i), report));
  }
  (s.allOf ?? []).forEach((sub, i) =>
    checkNestedStructural(sub, skipFirstAllOfAnyOf && i === 0, level, path.child('allOf').index(i), report),
  );
  (s.oneOf ?? []).forEach((sub, i) => checkNestedStructural(sub, false, level, path.child('oneOf').index(i), report));
  if (s.not !== undefined) checkNestedStructural(s.not, false, level, path.child('not'), report);
  if (s.pattern !== undefined && s.pattern !== '') {
    const compiled = compileGoRegexp(s.pattern);
    if (compiled.error !== undefined) {
      const p = path.child('pattern');
      report(p, fieldError(p, 'Invalid value', s.pattern, `must be a valid regular expression, but isn't: ${compiled.error}`));
    }
  }
}

// Inside allOf/anyOf/oneOf/not only value validations may appear (validateNestedValueValidation).
function checkNestedStructural(s: RawSchema, skipAnyOf: boolean, level: Level, path: CrdPath, report: Report): void {
  checkStructuralValueValidation(s, skipAnyOf, false, level, path, report);
  if (s.items !== undefined && !Array.isArray(s.items)) checkNestedStructural(s.items, false, level, path.child('items'), report);
  for (const [name, sub] of s.properties ?? []) {
    checkNestedStructural(sub, false, 'field', path.child('properties').key(name), report);
  }
  const forbid = (key: string, detail: string): void => {
    const p = path.child(key);
    report(p, fieldError(p, 'Forbidden', undefined, detail));
  };
  if ((s.type ?? '') !== '') forbid('type', 'must be empty to be structural');
  if (s.additionalProperties !== undefined) forbid('additionalProperties', 'must be undefined to be structural');
  if (s.default !== undefined && s.default.value !== null) forbid('default', 'must be undefined to be structural');
  if ((s.title ?? '') !== '') forbid('title', 'must be empty to be structural');
  if ((s.description ?? '') !== '') forbid('description', 'must be empty to be structural');
  if (s.nullable === true) forbid('nullable', 'must be false to be structural');
  if (s.externalDocs !== undefined) forbid('externalDocs', 'must be undefined to be structural');
  if (s.preserveUnknownFields === true) forbid('x-kubernetes-preserve-unknown-fields', 'must be false to be structural');
  if (s.embeddedResource === true) forbid('x-kubernetes-embedded-resource', 'must be false to be structural');
  if (s.intOrString === true) forbid('x-kubernetes-int-or-string', 'must be false to be structural');
  if ((s.listMapKeys?.length ?? 0) > 0) forbid('x-kubernetes-list-map-keys', 'must be empty to be structural');
  if (s.listType !== undefined) forbid('x-kubernetes-list-type', 'must be undefined to be structural');
  if (s.mapType !== undefined) forbid('x-kubernetes-map-type', 'must be undefined to be structural');
  if ((s.validations?.length ?? 0) > 0) forbid('x-kubernetes-validations', 'must be empty to be structural');
  if (s.properties?.has('metadata') === true) {
    const p = path.child('properties').key('metadata');
    report(p, fieldError(p, 'Forbidden', undefined, 'must not be specified in a nested context'));
  }
}

// defaulting/validation.go: every default must validate against its own schema and survive pruning.
// It follows properties and items only (not additionalProperties, where defaults are not applied either).
function checkDefaults(s: RawSchema, path: CrdPath, report: Report): void {
  if (s.default !== undefined) {
    const node = buildNode(s);
    const defaultPath = path.child('default');
    const copy = deepCopy(s.default.value);
    if (pruneWalk(copy, node, [], '', []) > 0) {
      report(defaultPath, fieldError(defaultPath, 'Invalid value', s.default.value, 'must not have unknown fields'));
    } else {
      const result = validateValue(node, s.default.value, '', []);
      for (const error of result.errors) {
        const problem = toFieldProblem(error, defaultPath, 'template');
        report(new CrdPath([...defaultPath.segments, ...error.segs.map((key) => ({ key }))]), problem.message);
      }
    }
  }
  if (s.items !== undefined && !Array.isArray(s.items)) checkDefaults(s.items, path.child('items'), report);
  for (const [name, sub] of s.properties ?? []) checkDefaults(sub, path.child('properties').key(name), report);
}

const OPENAPI_V3_TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string'];
const META_FIELDS = new Set(['metadata', 'kind', 'apiVersion']);

// apis/apiextensions/validation/validation.go ValidateCustomResourceDefinitionOpenAPISchema, including
// specStandardValidatorV3.validate. CEL rules in x-kubernetes-validations are not compiled here.
interface OpenAPIContext {
  /** Inside the TypeMeta/ObjectMeta of an x-kubernetes-embedded-resource. */
  insideResourceMeta: boolean;
  /** Set for additionalProperties below resource meta, where pruning a default would be ambiguous. */
  forbidDefaults: boolean;
}

function checkOpenAPISchema(s: RawSchema, path: CrdPath, ctx: OpenAPIContext, report: Report): void {
  const { insideResourceMeta } = ctx;
  const forbid = (p: CrdPath, detail: string): void => report(p, fieldError(p, 'Forbidden', undefined, detail));
  const type = s.type ?? '';
  if (type !== '' && !OPENAPI_V3_TYPES.includes(type)) {
    const p = path.child('type');
    report(p, fieldError(p, 'Unsupported value', type, supportedValues(OPENAPI_V3_TYPES)));
  }
  if (s.default !== undefined && ctx.forbidDefaults) {
    forbid(path.child('default'), 'must not be set inside additionalProperties applying to object metadata');
  }
  if ((s.id ?? '') !== '') forbid(path.child('id'), 'id is not supported');
  if (s.additionalItems !== undefined) forbid(path.child('additionalItems'), 'additionalItems is not supported');
  if ((s.patternProperties?.size ?? 0) > 0) forbid(path.child('patternProperties'), 'patternProperties is not supported');
  if ((s.definitions?.size ?? 0) > 0) forbid(path.child('definitions'), 'definitions is not supported');
  if (s.dependencies !== undefined) forbid(path.child('dependencies'), 'dependencies is not supported');
  if (s.$ref !== undefined) forbid(path.child('$ref'), '$ref is not supported');
  if (type === 'null') forbid(path.child('type'), 'type cannot be set to null, use nullable as an alternative');
  if (Array.isArray(s.items)) forbid(path.child('items'), 'items must be a schema object and not an array');
  if (insideResourceMeta && s.embeddedResource === true) {
    forbid(path.child('x-kubernetes-embedded-resource'), 'must not be used inside of resource meta');
  }

  if (s.uniqueItems === true) {
    forbid(path.child('uniqueItems'), 'uniqueItems cannot be set to true since the runtime complexity becomes quadratic');
  }
  if (s.additionalProperties !== undefined) {
    if ((s.properties?.size ?? 0) > 0 && (!s.additionalProperties.allows || s.additionalProperties.schema !== undefined)) {
      forbid(path.child('additionalProperties'), 'additionalProperties and properties are mutual exclusive');
    }
    if (s.additionalProperties.schema !== undefined) {
      // Defaults are forbidden inside additionalProperties only when applying to object metadata.
      const sub = insideResourceMeta ? { ...ctx, forbidDefaults: true } : ctx;
      checkOpenAPISchema(s.additionalProperties.schema, path.child('additionalProperties'), sub, report);
    }
  }
  for (const [name, sub] of s.properties ?? []) {
    const inMeta = insideResourceMeta || (s.embeddedResource === true && META_FIELDS.has(name));
    checkOpenAPISchema(sub, path.child('properties').key(name), { ...ctx, insideResourceMeta: inMeta }, report);
  }
  if (s.not !== undefined) checkOpenAPISchema(s.not, path.child('not'), ctx, report);
  for (const [keyword, list] of [['allOf', s.allOf], ['oneOf', s.oneOf], ['anyOf', s.anyOf]] as const) {
    (list ?? []).forEach((sub, i) => checkOpenAPISchema(sub, path.child(keyword).index(i), ctx, report));
  }
  for (const [name, sub] of s.definitions ?? []) {
    checkOpenAPISchema(sub, path.child('definitions').key(name), ctx, report);
  }
  if (Array.isArray(s.items)) {
    s.items.forEach((sub, i) => checkOpenAPISchema(sub, path.child('items').index(i), ctx, report));
  } else if (s.items !== undefined) {
    checkOpenAPISchema(s.items, path.child('items'), ctx, report);
  }
  for (const [name, dep] of s.dependencies ?? []) {
    if (!Array.isArray(dep)) checkOpenAPISchema(dep, path.child('dependencies').key(name), ctx, report);
  }
  if (s.preserveUnknownFields === false) {
    const p = path.child('x-kubernetes-preserve-unknown-fields');
    report(p, fieldError(p, 'Invalid value', false, 'must be true or undefined'));
  }
  checkListAndMapTypes(s, path, report);
  (s.validations ?? []).forEach((rule, i) => {
    const rulePath = path.child('x-kubernetes-validations').index(i);
    if (rule.rule.trim() === '') {
      const p = rulePath.child('rule');
      report(p, fieldError(p, 'Required value', undefined, 'rule is not specified'));
    } else if (rule.message.length > 0 && rule.message.trim() === '') {
      const p = rulePath.child('message');
      report(p, fieldError(p, 'Invalid value', rule.message, 'message must be non-empty if specified'));
    } else if (/[\n\r]/.test(rule.message.trim())) {
      const p = rulePath.child('message');
      report(p, fieldError(p, 'Invalid value', rule.message, 'message must not contain line breaks'));
    } else if (/[\n\r]/.test(rule.rule.trim()) && rule.message.trim() === '') {
      const p = rulePath.child('message');
      report(p, fieldError(p, 'Required value', undefined, 'message must be specified if rule contains line breaks'));
    }
  });
}

function checkListAndMapTypes(s: RawSchema, path: CrdPath, report: Report): void {
  const type = s.type ?? '';
  const typePath = path.child('type');
  const items = Array.isArray(s.items) ? undefined : s.items;
  if (s.mapType !== undefined && type !== 'object') {
    report(
      typePath,
      type === ''
        ? fieldError(typePath, 'Required value', undefined, 'must be object if x-kubernetes-map-type is specified')
        : fieldError(typePath, 'Invalid value', type, 'must be object if x-kubernetes-map-type is specified'),
    );
  }
  if (s.mapType !== undefined && s.mapType !== 'atomic' && s.mapType !== 'granular') {
    const p = path.child('x-kubernetes-map-type');
    report(p, fieldError(p, 'Unsupported value', s.mapType, supportedValues(['atomic', 'granular'])));
  }
  if (s.listType !== undefined && type !== 'array') {
    report(
      typePath,
      type === ''
        ? fieldError(typePath, 'Required value', undefined, 'must be array if x-kubernetes-list-type is specified')
        : fieldError(typePath, 'Invalid value', type, 'must be array if x-kubernetes-list-type is specified'),
    );
  } else if (s.listType === 'set' && items !== undefined) {
    if (items.type === 'array' && items.listType !== undefined && items.listType !== 'atomic') {
      const p = path.child('items').child('x-kubernetes-list-type');
      report(p, fieldError(p, 'Invalid value', items.listType, 'must be atomic as item of a list with x-kubernetes-list-type=set'));
    } else if (items.type === 'object' && items.mapType !== 'atomic') {
      const p = path.child('items').child('x-kubernetes-map-type');
      report(p, fieldError(p, 'Invalid value', null, 'must be atomic as item of a list with x-kubernetes-list-type=set'));
    }
  }
  if (s.listType !== undefined && !['atomic', 'set', 'map'].includes(s.listType)) {
    const p = path.child('x-kubernetes-list-type');
    report(p, fieldError(p, 'Unsupported value', s.listType, supportedValues(['atomic', 'set', 'map'])));
  }
  const keys = s.listMapKeys ?? [];
  if (keys.length > 0) {
    const p = path.child('x-kubernetes-list-type');
    if (s.listType === undefined) {
      report(p, fieldError(p, 'Required value', undefined, 'must be map if x-kubernetes-list-map-keys is non-empty'));
    } else if (s.listType !== 'map') {
      report(p, fieldError(p, 'Invalid value', s.listType, 'must be map if x-kubernetes-list-map-keys is non-empty'));
    }
  }
  if (s.listType === 'map') {
    const keysPath = path.child('x-kubernetes-list-map-keys');
    if (keys.length === 0) {
      report(keysPath, fieldError(keysPath, 'Required value', undefined, 'must not be empty if x-kubernetes-list-type is map'));
    }
    if (s.items === undefined) {
      const p = path.child('items');
      report(p, fieldError(p, 'Required value', undefined, 'must have a schema if x-kubernetes-list-type is map'));
    }
    if (items !== undefined && items.type !== 'object') {
      const p = path.child('items').child('type');
      report(p, fieldError(p, 'Invalid value', items.type ?? '', "must be object if parent array's x-kubernetes-list-type is map"));
    }
    if (items !== undefined && items.type === 'object') {
      const keysValue = new GoText(`[]string{${keys.map((v) => goQuote(v)).join(', ')}}`);
      const seen = new Set<string>();
      for (const key of keys) {
        const prop = items.properties?.get(key);
        if (prop !== undefined) {
          if (prop.type === 'array' || prop.type === 'object') {
            const p = path.child('items').child('properties').key(key).child('type');
            report(p, fieldError(p, 'Invalid value', items.type, "must be a scalar type if parent array's x-kubernetes-list-type is map"));
          }
        } else {
          report(keysPath, fieldError(keysPath, 'Invalid value', keysValue, 'entries must all be names of item properties'));
        }
        if (seen.has(key)) report(keysPath, fieldError(keysPath, 'Invalid value', keysValue, 'must not contain duplicate entries'));
        seen.add(key);
      }
    }
  }
  // requireMapListKeysMapSetValidation
  if (items !== undefined && (s.listType === 'set' || s.listType === 'map')) {
    if (items.nullable === true) {
      const p = path.child('items').child('nullable');
      report(p, fieldError(p, 'Forbidden', undefined, `cannot be nullable when x-kubernetes-list-type is ${s.listType}`));
    }
    if (s.listType === 'map') {
      for (const key of keys) {
        const prop = items.properties?.get(key);
        if (prop === undefined) continue;
        const propPath = path.child('items').child('properties').key(key);
        if (!(items.required ?? []).includes(key) && prop.default === undefined) {
          const p = propPath.child('default');
          report(
            p,
            fieldError(p, 'Required value', undefined, 'this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property'),
          );
        }
        if (prop.nullable === true) {
          const p = propPath.child('nullable');
          report(p, fieldError(p, 'Forbidden', undefined, 'this property is in x-kubernetes-list-map-keys, so it cannot be nullable'));
        }
      }
    }
  }
}

function supportedValues(values: readonly string[]): string {
  return `supported values: ${values.map((v) => goQuote(v)).join(', ')}`;
}

function dedupeProblems(problems: SchemaProblem[]): SchemaProblem[] {
  // field.ErrorList.ToAggregate drops errors whose text repeats.
  const seen = new Set<string>();
  return problems.filter((p) => (seen.has(p.message) ? false : (seen.add(p.message), true)));
}

// ---------------------------------------------------------------------------------------------------------
// Compiling the decoded schema into the form the validators, the pruner and the defaulter walk.

// apiextensions StripUnsupportedFormatsPostProcess (the 1.0 set, which NewSchemaValidator uses), named the
// go-openapi way: without dashes.
const SUPPORTED_STRING_FORMATS = new Set([
  'bsonobjectid', 'uri', 'email', 'hostname', 'ipv4', 'ipv6', 'cidr', 'mac', 'uuid', 'uuid3', 'uuid4',
  'uuid5', 'isbn', 'isbn10', 'isbn13', 'creditcard', 'ssn', 'hexcolor', 'rgbcolor', 'byte', 'password',
  'date', 'duration', 'datetime', 'quantity',
]);

function buildNode(raw: RawSchema): SchemaNode {
  const type = raw.type ?? '';
  const items = Array.isArray(raw.items) ? undefined : raw.items;
  const node: SchemaNode = {
    type,
    format: effectiveFormat(raw.format ?? '', raw.intOrString === true ? '' : type),
    nullable: raw.nullable === true,
    exclusiveMaximum: raw.exclusiveMaximum === true,
    exclusiveMinimum: raw.exclusiveMinimum === true,
    uniqueItems: raw.uniqueItems === true,
    required: raw.required ?? [],
    allOf: (raw.allOf ?? []).map(buildNode),
    anyOf: (raw.anyOf ?? []).map(buildNode),
    oneOf: (raw.oneOf ?? []).map(buildNode),
    preserveUnknownFields: raw.preserveUnknownFields === true,
    embeddedResource: raw.embeddedResource === true,
    intOrString: raw.intOrString === true,
    ...(raw.default !== undefined && raw.default.value !== null ? { default: { value: raw.default.value } } : {}),
    ...(raw.enum !== undefined && raw.enum.length > 0 ? { enum: raw.enum } : {}),
    ...optional('maximum', raw.maximum),
    ...optional('minimum', raw.minimum),
    ...optional('multipleOf', raw.multipleOf),
    ...optional('maxLength', raw.maxLength),
    ...optional('minLength', raw.minLength),
    ...(raw.pattern !== undefined && raw.pattern !== '' ? { pattern: compileGoRegexp(raw.pattern) } : {}),
    ...optional('maxItems', raw.maxItems),
    ...optional('minItems', raw.minItems),
    ...optional('maxProperties', raw.maxProperties),
    ...optional('minProperties', raw.minProperties),
    ...(items !== undefined ? { items: buildNode(items) } : {}),
    ...(raw.properties !== undefined
      ? { properties: new Map([...raw.properties].map(([name, sub]) => [name, buildNode(sub)])) }
      : {}),
    ...(raw.additionalProperties !== undefined
      ? {
          additionalProperties: {
            allows: raw.additionalProperties.allows,
            ...(raw.additionalProperties.schema !== undefined ? { schema: buildNode(raw.additionalProperties.schema) } : {}),
          },
        }
      : {}),
    ...(raw.not !== undefined ? { not: buildNode(raw.not) } : {}),
  };
  return node;
}

function optional<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: number };
}

function effectiveFormat(format: string, type: string): string {
  if (format === '') return '';
  switch (type) {
    case '':
    case 'string':
      return SUPPORTED_STRING_FORMATS.has(format.replaceAll('-', '')) ? format : '';
    case 'integer':
      return format === 'int32' || format === 'int64' ? format : '';
    case 'number':
      return format === 'float' || format === 'double' ? format : '';
    default:
      return '';
  }
}

function compileGoRegexp(source: string): CompiledPattern {
  try {
    return { source, regexp: RE2JS.compile(source) };
  } catch (error) {
    let message = error instanceof Error ? error.message : String(error);
    // Go always appends the offending expression, even when it is empty.
    if (message.endsWith('trailing backslash at end of expression')) message += ': ``';
    return { source, error: message };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Validation: kube-openapi's SchemaValidator, with its Result bookkeeping. MatchCount decides which failing
// anyOf/oneOf branch gets to explain itself, so it is reproduced step for step.

type Kind = 'nil' | 'bool' | 'string' | 'int' | 'float' | 'slice' | 'map';

function kindOf(value: unknown): Kind {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'bigint') return 'int';
  // Unstructured JSON decodes whole numbers as int64 and others as float64.
  if (typeof value === 'number') return Number.isInteger(value) && Math.abs(value) < 2 ** 63 ? 'int' : 'float';
  if (Array.isArray(value)) return 'slice';
  return 'map';
}

type ErrorCode =
  | 'invalidType'
  | 'required'
  | 'tooLong'
  | 'tooShort'
  | 'pattern'
  | 'enum'
  | 'multipleOf'
  | 'maximum'
  | 'minimum'
  | 'unique'
  | 'maxItems'
  | 'minItems'
  | 'tooFewProperties'
  | 'tooManyProperties'
  | 'notAllowed'
  | 'composite';

interface ValidationError {
  code: ErrorCode;
  /** kube-openapi's dotted path (`spec.parameters.labels[0].key`). */
  name: string;
  /** The same path as data keys, for SchemaProblem.path. */
  segs: readonly string[];
  message: string;
  /** errors.Validation.Value; absent means nil. */
  value?: unknown;
  /** errors.Validation.Valid, the limit that was exceeded. */
  limit?: number;
  enumValues?: readonly unknown[];
}

class Result {
  errors: ValidationError[] = [];
  matchCount = 0;

  add(error: ValidationError): void {
    // Result.AddErrors keeps one of each message.
    if (!this.errors.some((e) => e.message === error.message)) this.errors.push(error);
  }

  merge(...others: Array<Result | undefined>): this {
    for (const other of others) {
      if (other === undefined) continue;
      for (const error of other.errors) this.add(error);
      this.matchCount += other.matchCount;
    }
    return this;
  }

  inc(): void {
    this.matchCount++;
  }

  get valid(): boolean {
    return this.errors.length === 0;
  }
}

function failure(error: ValidationError): Result {
  const result = new Result();
  result.errors.push(error);
  return result;
}

const IN = 'body';

function validationTypes(s: SchemaNode): string[] {
  if (s.intOrString) return ['integer', 'string'];
  return s.type === '' ? [] : [s.type];
}

function validateValue(s: SchemaNode, data: unknown, path: string, segs: readonly string[]): Result {
  const result = new Result();
  const kind = kindOf(data);
  if (kind === 'nil') {
    // Only the type and enum validators see nulls.
    result.merge(validateType(s, data, kind, path, segs));
    result.merge(validateEnum(s, data, kind, path, segs));
    return result;
  }
  const types = validationTypes(s);
  const step = (r: Result | undefined): void => {
    result.merge(r);
    result.inc();
  };
  if (types.length > 0 || s.format !== '') step(validateType(s, data, kind, path, segs));
  step(validateJunctors(s, data, path, segs));
  if (kind === 'string') step(validateString(s, data as string, path, segs));
  if (kind === 'string' && s.format !== '' && FORMAT_CHECKS.has(normalizeFormat(s.format))) {
    step(validateFormat(s, data as string, path, segs));
  }
  if (kind === 'int' || kind === 'float') step(validateNumber(s, Number(data), kind, path, segs));
  if (kind === 'slice') step(validateSlice(s, data as unknown[], path, segs));
  step(validateEnum(s, data, kind, path, segs));
  if (kind === 'map') step(validateObject(s, data as Record<string, unknown>, path, segs));
  result.inc();
  return result;
}

function invalidType(name: string, segs: readonly string[], typeName: string, value: unknown): ValidationError {
  const message =
    typeof value === 'string'
      ? `${name} in ${IN} must be of type ${typeName}: ${goQuote(value)}`
      : `${name} in ${IN} must be of type ${typeName}`;
  return { code: 'invalidType', name, segs, message, value };
}

function validateType(s: SchemaNode, data: unknown, kind: Kind, path: string, segs: readonly string[]): Result {
  const result = new Result();
  result.inc();
  const types = validationTypes(s);
  if (kind === 'nil') {
    if (types.length > 0 && !types.includes('null') && !s.nullable) {
      return failure(invalidType(path, segs, types.join(','), 'null'));
    }
    return result;
  }
  const [schType, format] = schemaInfoForKind(kind);
  const isIntFloat = schType === 'integer' && types.includes('number');
  if (kind !== 'string' && kind !== 'slice' && s.format !== '' && !(types.includes(schType) || format === s.format || isIntFloat)) {
    return failure(invalidType(path, segs, s.format, format));
  }
  if (!(types.includes('number') || types.includes('integer')) && s.format !== '' && (kind === 'string' || kind === 'slice')) {
    return result;
  }
  if (!(types.includes(schType) || isIntFloat)) return failure(invalidType(path, segs, types.join(','), schType));
  return result;
}

function schemaInfoForKind(kind: Kind): [string, string] {
  switch (kind) {
    case 'bool':
      return ['boolean', ''];
    case 'string':
      return ['string', ''];
    case 'int':
      return ['integer', 'int64'];
    case 'float':
      return ['number', 'float64'];
    case 'slice':
      return ['array', ''];
    case 'map':
      return ['object', ''];
    case 'nil':
      return ['', ''];
  }
}

function validateJunctors(s: SchemaNode, data: unknown, path: string, segs: readonly string[]): Result {
  const main = new Result();
  if (s.anyOf.length > 0) {
    let bestFailures: Result | undefined;
    let firstSuccess: Result | undefined;
    let succeeded = false;
    for (const sub of s.anyOf) {
      const result = validateValue(sub, data, path, segs);
      if (result.valid) {
        bestFailures = undefined;
        succeeded = true;
        firstSuccess ??= result;
        break;
      }
      if (bestFailures === undefined || result.matchCount > bestFailures.matchCount) bestFailures = result;
    }
    if (!succeeded) main.add(composite(path, segs, `${goQuote(path)} must validate at least one schema (anyOf)`));
    main.merge(bestFailures ?? firstSuccess);
  }
  if (s.oneOf.length > 0) {
    let bestFailures: Result | undefined;
    let firstSuccess: Result | undefined;
    let validated = 0;
    for (const sub of s.oneOf) {
      const result = validateValue(sub, data, path, segs);
      if (result.valid) {
        validated++;
        bestFailures = undefined;
        firstSuccess ??= result;
        continue;
      }
      if (validated === 0 && (bestFailures === undefined || result.matchCount > bestFailures.matchCount)) {
        bestFailures = result;
      }
    }
    if (validated !== 1) {
      const detail = validated === 0 ? 'Found none valid' : `Found ${validated} valid alternatives`;
      main.add(composite(path, segs, `${goQuote(path)} must validate one and only one schema (oneOf). ${detail}`));
      main.merge(bestFailures);
    } else {
      main.merge(firstSuccess);
    }
  }
  if (s.allOf.length > 0) {
    let validated = 0;
    for (const sub of s.allOf) {
      const result = validateValue(sub, data, path, segs);
      if (result.valid) validated++;
      main.merge(result);
    }
    if (validated !== s.allOf.length) {
      const detail = validated === 0 ? '. None validated' : '';
      main.add(composite(path, segs, `${goQuote(path)} must validate all the schemas (allOf)${detail}`));
    }
  }
  if (s.not !== undefined && validateValue(s.not, data, path, segs).valid) {
    main.add(composite(path, segs, `${goQuote(path)} must not validate the schema (not)`));
  }
  main.inc();
  return main;
}

function composite(name: string, segs: readonly string[], message: string): ValidationError {
  return { code: 'composite', name, segs, message };
}

function validateString(s: SchemaNode, data: string, path: string, segs: readonly string[]): Result | undefined {
  // Lengths count runes, and the validator stops at the first failing check.
  const length = [...data].length;
  if (s.maxLength !== undefined && length > s.maxLength) {
    return failure({
      code: 'tooLong',
      name: path,
      segs,
      message: `${path} in ${IN} should be at most ${s.maxLength} chars long`,
      value: data,
      limit: s.maxLength,
    });
  }
  if (s.minLength !== undefined && length < s.minLength) {
    return failure({
      code: 'tooShort',
      name: path,
      segs,
      message: `${path} in ${IN} should be at least ${s.minLength} chars long`,
      value: data,
    });
  }
  if (s.pattern !== undefined) {
    const { regexp, source, error } = s.pattern;
    const shown = regexp === undefined ? `${source}, but pattern is invalid: ${error ?? ''}` : source;
    if (regexp === undefined || !regexp.test(data)) {
      return failure({ code: 'pattern', name: path, segs, message: `${path} in ${IN} should match '${shown}'`, value: data });
    }
  }
  return undefined;
}

function validateFormat(s: SchemaNode, data: string, path: string, segs: readonly string[]): Result | undefined {
  const check = FORMAT_CHECKS.get(normalizeFormat(s.format));
  if (check === undefined || check(data)) return undefined;
  return failure(invalidType(path, segs, s.format, data));
}

function validateNumber(s: SchemaNode, data: number, kind: Kind, path: string, segs: readonly string[]): Result {
  const res = new Result();
  const multiple = new Result();
  const minimum = new Result();
  const maximum = new Result();
  const isInt = kind === 'int';
  if (s.multipleOf !== undefined) {
    // MultipleOfNativeType: integers are checked against the factor truncated to an integer.
    const factor = isInt && Math.trunc(s.multipleOf) !== 0 ? Math.trunc(s.multipleOf) : s.multipleOf;
    const intMode = isInt && Math.trunc(s.multipleOf) !== 0;
    if (factor < 0) {
      multiple.add({
        code: 'multipleOf',
        name: path,
        segs,
        message: `factor MultipleOf declared for ${path} must be positive: ${goFormat(factor, intMode)}`,
        value: factor,
      });
    } else if (intMode ? data % factor !== 0 : !isFloatJsonInteger(factor < 1 ? (1 / factor) * data : data / factor)) {
      multiple.add({
        code: 'multipleOf',
        name: path,
        segs,
        message: `${path} in ${IN} should be a multiple of ${goFormat(factor, intMode)}`,
        value: data,
      });
    }
  }
  if (s.maximum !== undefined) {
    // MaximumNativeType compares integers with the bound truncated to int64.
    const bound = isInt ? Math.trunc(s.maximum) : s.maximum;
    if (s.exclusiveMaximum ? data >= bound : data > bound) {
      const relation = s.exclusiveMaximum ? 'less than' : 'less than or equal to';
      maximum.add({
        code: 'maximum',
        name: path,
        segs,
        message: `${path} in ${IN} should be ${relation} ${goFormat(bound, isInt)}`,
        value: data,
      });
    }
  }
  if (s.minimum !== undefined) {
    const bound = isInt ? Math.trunc(s.minimum) : s.minimum;
    if (s.exclusiveMinimum ? data <= bound : data < bound) {
      const relation = s.exclusiveMinimum ? 'greater than' : 'greater than or equal to';
      minimum.add({
        code: 'minimum',
        name: path,
        segs,
        message: `${path} in ${IN} should be ${relation} ${goFormat(bound, isInt)}`,
        value: data,
      });
    }
  }
  res.merge(multiple, minimum, maximum);
  res.inc();
  return res;
}

// go-openapi swag.IsFloat64AJSONInteger: tolerates rounding noise just above a whole number.
function isFloatJsonInteger(f: number): boolean {
  if (!Number.isFinite(f) || f < -(2 ** 53) || f > 2 ** 53) return false;
  if (Number.isInteger(f)) return true;
  const g = Math.trunc(f);
  const diff = Math.abs(f - g);
  if (g === 0) return diff < 1e-9 * Number.MIN_VALUE;
  return diff / (Math.abs(f) + Math.abs(g)) < 1e-9;
}

function validateSlice(s: SchemaNode, data: unknown[], path: string, segs: readonly string[]): Result {
  const result = new Result();
  if (s.items !== undefined) {
    for (const [i, item] of data.entries()) result.merge(validateValue(s.items, item, `${path}[${i}]`, [...segs, String(i)]));
  }
  const size = data.length;
  if (s.minItems !== undefined && size < s.minItems) {
    result.add({ code: 'minItems', name: path, segs, message: `${path} in ${IN} should have at least ${s.minItems} items`, value: size });
  }
  if (s.maxItems !== undefined && size > s.maxItems) {
    result.add({
      code: 'maxItems',
      name: path,
      segs,
      message: `${path} in ${IN} should have at most ${s.maxItems} items`,
      value: size,
      limit: s.maxItems,
    });
  }
  if (s.uniqueItems && data.some((item, i) => data.slice(0, i).some((other) => goDeepEqual(item, other)))) {
    result.add({ code: 'unique', name: path, segs, message: `${path} in ${IN} shouldn't contain duplicates` });
  }
  result.inc();
  return result;
}

function validateEnum(s: SchemaNode, data: unknown, kind: Kind, path: string, segs: readonly string[]): Result | undefined {
  if (s.enum === undefined) return undefined;
  if (s.enum.some((candidate) => enumMatches(data, kind, candidate))) return undefined;
  return failure({
    code: 'enum',
    name: path,
    segs,
    message: `${path} in ${IN} should be one of ${goV(s.enum)}`,
    value: data,
    enumValues: s.enum,
  });
}

// basicCommonValidator compares after Go's reflect conversion to the enum value's type, which lets an
// integer match a one-character string (string(rune)) and a float match a truncated integer.
function enumMatches(data: unknown, kind: Kind, candidate: unknown): boolean {
  const target = kindOf(candidate);
  if (kind === 'nil' || target === 'nil') return false;
  switch (target) {
    case 'string':
      if (kind === 'string') return data === candidate;
      if (kind === 'int') return goRuneString(Number(data)) === candidate;
      return false;
    case 'int':
      if (kind === 'int') return Number(data) === Number(candidate);
      if (kind === 'float') return Math.trunc(Number(data)) === Number(candidate);
      return false;
    case 'float':
      return (kind === 'int' || kind === 'float') && Number(data) === Number(candidate);
    case 'bool':
      return kind === 'bool' && data === candidate;
    case 'slice':
    case 'map':
      return kind === target && goDeepEqual(data, candidate);
  }
}

function goRuneString(n: number): string {
  const valid = Number.isInteger(n) && n >= 0 && n <= 0x10ffff && !(n >= 0xd800 && n <= 0xdfff);
  return valid ? String.fromCodePoint(n) : '\ufffd';
}

function validateObject(s: SchemaNode, data: Record<string, unknown>, path: string, segs: readonly string[]): Result {
  const keys = Object.keys(data).filter((k) => data[k] !== undefined);
  if (s.minProperties !== undefined && keys.length < s.minProperties) {
    // The property checks are skipped when the count is off.
    return failure({
      code: 'tooFewProperties',
      name: path,
      segs,
      message: `${path} in ${IN} should have at least ${s.minProperties} properties`,
      value: keys.length,
    });
  }
  if (s.maxProperties !== undefined && keys.length > s.maxProperties) {
    return failure({
      code: 'tooManyProperties',
      name: path,
      segs,
      message: `${path} in ${IN} should have at most ${s.maxProperties} properties`,
      value: keys.length,
      limit: s.maxProperties,
    });
  }
  const res = new Result();
  const declared = s.properties ?? new Map<string, SchemaNode>();
  if (s.additionalProperties !== undefined && !s.additionalProperties.allows) {
    for (const key of keys) {
      if (!declared.has(key)) {
        res.add({ code: 'notAllowed', name: path, segs, message: `${path}.${key} in ${IN} is a forbidden property`, value: key });
      }
    }
  } else if (s.additionalProperties?.schema !== undefined) {
    for (const key of keys) {
      if (!declared.has(key)) res.merge(validateValue(s.additionalProperties.schema, data[key], `${path}.${key}`, [...segs, key]));
    }
  }
  for (const [name, sub] of declared) {
    if (data[name] === undefined) continue;
    res.merge(validateValue(sub, data[name], path === '' ? name : `${path}.${name}`, [...segs, name]));
  }
  for (const key of s.required) {
    if (data[key] === undefined) {
      res.add({ code: 'required', name: `${path}.${key}`, segs: [...segs, key], message: `${path}.${key} in ${IN} is required` });
    }
  }
  return res;
}

/** kubeOpenAPIResultToFieldErrors, rendered like kubectl (`base` is the field path errors hang under). */
function toFieldProblem(
  error: ValidationError,
  base: CrdPath | undefined,
  kind: SchemaProblemKind,
): SchemaProblem {
  const trimmed = error.name.startsWith('.') ? error.name.slice(1) : error.name;
  const baseText = base === undefined ? undefined : base.toString();
  const field =
    error.code === 'composite' || trimmed === ''
      ? (baseText ?? '<nil>')
      : baseText === undefined
        ? trimmed
        : `${baseText}.${trimmed}`;
  const value = error.value === undefined ? '' : error.value;
  let message: string;
  switch (error.code) {
    case 'required':
      message = fieldError(field, 'Required value', undefined, '');
      break;
    case 'enum': {
      const values = (error.enumValues ?? []).map((v) => (typeof v === 'string' ? v : goJson(v)));
      message = fieldError(field, 'Unsupported value', error.value ?? null, values.length > 0 ? supportedValues(values) : '');
      break;
    }
    case 'tooLong':
      message = fieldError(field, 'Too long', undefined, `may not be longer than ${error.limit ?? -1}`);
      break;
    case 'maxItems':
    case 'tooManyProperties':
      message = fieldError(field, 'Too many', error.value, `must have at most ${error.limit ?? -1} items`);
      break;
    case 'composite':
      message = fieldError(field, 'Invalid value', '', error.message);
      break;
    default:
      message = fieldError(field, 'Invalid value', value, error.message);
  }
  return { path: [...error.segs], message, kind };
}

// ---------------------------------------------------------------------------------------------------------
// Pruning with unknown-field tracking (pruning.PruneWithOptions) and structural defaulting
// (structuraldefaulting.Default).

interface UnknownField {
  segs: string[];
  text: string;
}

const EMBEDDED_META_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

/** Records the fields pruning would drop (and drops them); returns how many it found. */
function pruneWalk(x: unknown, s: SchemaNode | undefined, segs: string[], text: string, out: UnknownField[]): number {
  const before = out.length;
  const record = (key: string): void => {
    out.push({ segs: [...segs, key], text: text === '' ? key : `${text}.${key}` });
  };
  const childText = (key: string): string => (text === '' ? key : `${text}.${key}`);
  if (s !== undefined && s.preserveUnknownFields) {
    skipPrune(x, s, segs, text, out);
    return out.length - before;
  }
  if (Array.isArray(x)) {
    x.forEach((item, i) => pruneWalk(item, s?.items, [...segs, String(i)], `${text}[${i}]`, out));
  } else if (isPlainObject(x)) {
    for (const key of Object.keys(x)) {
      if (x[key] === undefined) continue;
      if (s === undefined) {
        record(key);
        delete x[key];
        continue;
      }
      if (s.embeddedResource && EMBEDDED_META_FIELDS.has(key)) continue;
      const prop = s.properties?.get(key);
      if (prop !== undefined) pruneWalk(x[key], prop, [...segs, key], childText(key), out);
      else if (s.additionalProperties !== undefined) {
        pruneWalk(x[key], s.additionalProperties.schema, [...segs, key], childText(key), out);
      } else {
        record(key);
        delete x[key];
      }
    }
  }
  return out.length - before;
}

function skipPrune(x: unknown, s: SchemaNode | undefined, segs: string[], text: string, out: UnknownField[]): void {
  if (s === undefined) return;
  const childText = (key: string): string => (text === '' ? key : `${text}.${key}`);
  if (Array.isArray(x)) {
    // Items below a preserving array keep preserving, whatever their own schema says.
    x.forEach((item, i) => skipPrune(item, s.items, [...segs, String(i)], `${text}[${i}]`, out));
  } else if (isPlainObject(x)) {
    for (const key of Object.keys(x)) {
      if (x[key] === undefined) continue;
      if (s.embeddedResource && EMBEDDED_META_FIELDS.has(key)) continue;
      const prop = s.properties?.get(key);
      if (prop !== undefined) pruneWalk(x[key], prop, [...segs, key], childText(key), out);
      else if (s.additionalProperties !== undefined) {
        pruneWalk(x[key], s.additionalProperties.schema, [...segs, key], childText(key), out);
      }
    }
  }
}

function applyDefaults(x: unknown, s: SchemaNode | undefined): void {
  if (s === undefined) return;
  const nonNullableNull = (value: unknown, schema: SchemaNode | undefined): boolean =>
    value === null && schema !== undefined && !schema.nullable;
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) {
      if (nonNullableNull(x[i], s.items) && s.items?.default !== undefined) x[i] = deepCopy(s.items.default.value);
      applyDefaults(x[i], s.items);
    }
  } else if (isPlainObject(x)) {
    for (const [key, prop] of s.properties ?? []) {
      if (prop.default === undefined) continue;
      if (x[key] === undefined || nonNullableNull(x[key], prop)) x[key] = deepCopy(prop.default.value);
    }
    for (const key of Object.keys(x)) {
      const prop = s.properties?.get(key);
      if (prop !== undefined) {
        applyDefaults(x[key], prop);
      } else if (s.additionalProperties !== undefined) {
        const ap = s.additionalProperties.schema;
        if (nonNullableNull(x[key], ap) && ap?.default !== undefined) x[key] = deepCopy(ap.default.value);
        applyDefaults(x[key], ap);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Formats (strfmt.Default, as far as apiextensions lets them through). Go's parsers are approximated.

function normalizeFormat(format: string): string {
  return format.replaceAll('-', '');
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const UUID3 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const UUID4 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i;
const UUID5 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i;
const HOSTNAME =
  /^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9\-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z0-9\p{S}\p{L}])(-?[a-zA-Z0-9\p{S}\p{L}]){1,62})$/u;
const IPV4_OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${IPV4_OCTET}(\\.${IPV4_OCTET}){3}$`);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/;
const RGB_PART = '\\s*(0|[1-9]\\d?|1\\d\\d?|2[0-4]\\d|25[0-5])\\s*';
const RGB_COLOR = new RegExp(`^rgb\\(${RGB_PART},${RGB_PART},${RGB_PART}\\)$`);
const GO_DURATION = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$/;
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$/;

// net.ParseIP's IPv6 form: eight groups, one `::` standing for at least one, an optional IPv4 tail.
function isIPv6(value: string): boolean {
  let text = value;
  if (text.includes('.')) {
    const lastColon = text.lastIndexOf(':');
    if (!IPV4.test(text.slice(lastColon + 1))) return false;
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groups = (part: string): number | undefined => {
    if (part === '') return 0;
    const parts = part.split(':');
    return parts.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g)) ? parts.length : undefined;
  };
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : 0;
  if (head === undefined || tail === undefined) return false;
  return halves.length === 2 ? head + tail < 8 : head === 8;
}

function isValidDate(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (match === null) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function isIsbn10(value: string): boolean {
  const s = value.replace(/[\s-]/g, '');
  if (!/^(?:[0-9]{9}X|[0-9]{10})$/.test(s)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (i + 1) * Number(s[i]);
  sum += s[9] === 'X' ? 100 : 10 * Number(s[9]);
  return sum % 11 === 0;
}

function isIsbn13(value: string): boolean {
  const s = value.replace(/[\s-]/g, '');
  if (!/^[0-9]{13}$/.test(s)) return false;
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(s[i]) * (i % 2 === 0 ? 1 : 3);
  return (10 - (sum % 10)) % 10 === Number(s[12]);
}

function isCreditCard(value: string): boolean {
  const digits = value.replace(/[^0-9]+/g, '');
  if (!/^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|(222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|27[01][0-9]|2720)[0-9]{12}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\d{3})\d{11}|6[27][0-9]{14})$/.test(digits)) {
    return false;
  }
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = Number(digits[i]);
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

function isScalaDuration(value: string): boolean {
  if (!/^\s*(?:\d+\s*[A-Za-zµ]+\s*)+$/.test(value)) return false;
  const units = [['ns', 'nano'], ['us', 'µs', 'micro'], ['ms', 'milli'], ['s', 'sec'], ['m', 'min'], ['h', 'hr', 'hour'], ['d', 'day'], ['w', 'wk', 'week']];
  for (const match of value.matchAll(/(\d+)\s*([A-Za-zµ]+)/g)) {
    const unit = (match[2] ?? '').toLowerCase();
    if (units.some((variants) => variants.some((v, i) => v === unit || (i === variants.length - 1 && unit.startsWith(v))))) return true;
  }
  return false;
}

const FORMAT_CHECKS = new Map<string, (value: string) => boolean>([
  ['bsonobjectid', (v) => /^[0-9a-fA-F]{24}$/.test(v)],
  ['uri', (v) => !/\s/.test(v) && (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(v) || v.startsWith('/'))],
  ['email', (v) => /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+$/.test(v) || /^[^<>]*<[^\s@<>]+@[^\s@<>]+>$/.test(v)],
  ['hostname', (v) => HOSTNAME.test(v) && v.length <= 255 && v.split('.').every((p) => new TextEncoder().encode(p).length <= 63)],
  ['ipv4', (v) => IPV4.test(v) || (v.includes('.') && isIPv6(v))],
  ['ipv6', (v) => v.includes(':') && isIPv6(v)],
  [
    'cidr',
    (v) => {
      const slash = v.indexOf('/');
      if (slash < 0) return false;
      const ip = v.slice(0, slash);
      const bits = v.slice(slash + 1);
      if (!/^\d+$/.test(bits)) return false;
      if (IPV4.test(ip)) return Number(bits) <= 32;
      return isIPv6(ip) && Number(bits) <= 128;
    },
  ],
  [
    'mac',
    (v) =>
      /^([0-9a-fA-F]{2}([:-]))([0-9a-fA-F]{2}\2){4}[0-9a-fA-F]{2}$/.test(v) ||
      /^([0-9a-fA-F]{2}([:-]))([0-9a-fA-F]{2}\2){6}[0-9a-fA-F]{2}$/.test(v) ||
      /^([0-9a-fA-F]{2}([:-]))([0-9a-fA-F]{2}\2){18}[0-9a-fA-F]{2}$/.test(v) ||
      /^([0-9a-fA-F]{4}\.){2}[0-9a-fA-F]{4}$/.test(v) ||
      /^([0-9a-fA-F]{4}\.){3}[0-9a-fA-F]{4}$/.test(v) ||
      /^([0-9a-fA-F]{4}\.){9}[0-9a-fA-F]{4}$/.test(v),
  ],
  ['uuid', (v) => UUID.test(v)],
  ['uuid3', (v) => UUID3.test(v)],
  ['uuid4', (v) => UUID4.test(v)],
  ['uuid5', (v) => UUID5.test(v)],
  ['isbn', (v) => isIsbn10(v) || isIsbn13(v)],
  ['isbn10', isIsbn10],
  ['isbn13', isIsbn13],
  ['creditcard', isCreditCard],
  ['ssn', (v) => v.length === 11 && /^\d{3}[- ]?\d{2}[- ]?\d{4}$/.test(v)],
  ['hexcolor', (v) => /^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(v)],
  ['rgbcolor', (v) => RGB_COLOR.test(v)],
  ['byte', (v) => BASE64.test(v)],
  ['password', () => true],
  ['date', isValidDate],
  [
    'datetime',
    (v) => {
      const match = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$/.exec(v);
      return match !== null && isValidDate(match[1] ?? '') && Number(match[2]) < 24 && Number(match[3]) < 60 && Number(match[4]) < 61;
    },
  ],
  ['duration', (v) => (v === '0' || GO_DURATION.test(v)) || isScalaDuration(v)],
  ['quantity', (v) => QUANTITY.test(v)],
]);

// ---------------------------------------------------------------------------------------------------------
// Go value rendering, so messages read exactly like Gatekeeper's.

/** Text that Go would print for a value we describe ourselves (e.g. a `[]string`). */
class GoText {
  constructor(readonly text: string) {}
}

type FieldErrorType = 'Required value' | 'Forbidden' | 'Invalid value' | 'Unsupported value' | 'Too long' | 'Too many';

/** k8s field.Error.Error(): `<field>: <type>[: <bad value>][: <detail>]`. */
function fieldError(field: string | CrdPath, type: FieldErrorType, bad: unknown, detail: string): string {
  let body: string = type;
  if (type !== 'Required value' && type !== 'Forbidden' && type !== 'Too long') body += `: ${goBadValue(bad)}`;
  if (detail !== '') body += `: ${detail}`;
  return `${field.toString()}: ${body}`;
}

function goBadValue(value: unknown): string {
  if (value instanceof GoText) return value.text;
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return goQuote(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number' || typeof value === 'bigint') return goFormat(Number(value), kindOf(value) === 'int');
  return goSharpV(value);
}

function goFormat(n: number, isInt: boolean): string {
  return isInt ? BigInt(Math.trunc(n)).toString() : goFloat(n);
}

/** What %v prints for a float64: strconv.FormatFloat(f, 'g', -1, 64), so 1e+06 for a million. */
function goFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : '-Inf';
  return formatFloat(f, 'g', -1);
}

/** fmt %v of a decoded JSON value (`[a b]`, `map[k:v]`, `<nil>`). */
function goV(value: unknown): string {
  if (value === null || value === undefined) return '<nil>';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number' || typeof value === 'bigint') return goFormat(Number(value), kindOf(value) === 'int');
  if (Array.isArray(value)) return `[${value.map(goV).join(' ')}]`;
  if (isPlainObject(value)) {
    return `map[${sortedKeys(value).map((k) => `${k}:${goV(value[k])}`).join(' ')}]`;
  }
  return String(value);
}

/** fmt %#v of an interface{} holding a decoded JSON value. */
function goSharpV(value: unknown): string {
  if (value === null || value === undefined) return 'interface {}(nil)';
  if (typeof value === 'string') return goQuote(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number' || typeof value === 'bigint') return goFormat(Number(value), kindOf(value) === 'int');
  if (Array.isArray(value)) return `[]interface {}{${value.map(goSharpV).join(', ')}}`;
  if (isPlainObject(value)) {
    return `map[string]interface {}{${sortedKeys(value).map((k) => `${goQuote(k)}:${goSharpV(value[k])}`).join(', ')}}`;
  }
  return String(value);
}

/** encoding/json.Marshal: sorted keys and HTML-safe escapes. */
function goJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') {
    return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
  }
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(goJson).join(',')}]`;
  if (isPlainObject(value)) return `{${sortedKeys(value).map((k) => `${goJson(k)}:${goJson(value[k])}`).join(',')}}`;
  return 'null';
}

// ---------------------------------------------------------------------------------------------------------
// Plain-data helpers.

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sortedKeys(value: Record<string, unknown>): string[] {
  return Object.keys(value)
    .filter((k) => value[k] !== undefined)
    .sort(compareStrings);
}

function deepCopy<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => deepCopy(v)) as T;
  if (isPlainObject(value)) {
    const copy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) copy[k] = deepCopy(v);
    return copy as T;
  }
  return value;
}

/** reflect.DeepEqual over decoded JSON: int64 and float64 never compare equal. */
function goDeepEqual(a: unknown, b: unknown): boolean {
  const ka = kindOf(a);
  if (ka !== kindOf(b)) return false;
  switch (ka) {
    case 'nil':
      return true;
    case 'int':
    case 'float':
      return Number(a) === Number(b);
    case 'slice': {
      const x = a as unknown[];
      const y = b as unknown[];
      return x.length === y.length && x.every((v, i) => goDeepEqual(v, y[i]));
    }
    case 'map': {
      const x = a as Record<string, unknown>;
      const y = b as Record<string, unknown>;
      const keys = sortedKeys(x);
      const other = sortedKeys(y);
      return keys.length === other.length && keys.every((k, i) => k === other[i] && goDeepEqual(x[k], y[k]));
    }
    default:
      return a === b;
  }
}
