// Decoding the template's openAPIV3Schema the way Go decodes it into apiextensions JSONSchemaProps:
// unknown keys are dropped silently, null means absent, and a keyword of the wrong JSON type is an error.
// Mirrored because Gatekeeper rejects a schema Go cannot decode, with encoding/json's message, before any CRD
// validation runs, and because the checks that follow must see exactly the fields Go keeps. Also FW
// `schema/transform.go AddPreserveUnknownFields`, which `legacySchema: true` applies to the decoded schema.
import { isRecord } from '../../model.js';
import type { SchemaProblem } from './index.js';

interface RawRule {
  rule: string;
  message: string;
  messageExpression: string;
  fieldPath: string;
}

export interface RawSchema {
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

export function parseRawSchema(value: unknown, at: string[], problems: SchemaProblem[]): RawSchema {
  const raw: RawSchema = {};
  // A null list element decodes to the zero JSONSchemaProps.
  if (value === null || value === undefined) return raw;
  if (!isRecord(value)) {
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
    if (!isRecord(v)) {
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
    if (isRecord(v)) return { allows: true, schema: parseRawSchema(v, [...at, key], problems) };
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
    if (isRecord(dependencies)) {
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
    if (Array.isArray(rules) && rules.every((r) => isRecord(r))) {
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

const SCHEMA_PATH = 'spec.crd.spec.validation.openAPIV3Schema';
const MAP_KEYWORDS = new Set(['properties', 'patternProperties', 'definitions', 'dependencies']);
const LIST_KEYWORDS = new Set(['allOf', 'anyOf', 'oneOf', 'items']);

// encoding/json names the field by its JSON names from the template down, leaving out map keys and indexes.
function goFieldPath(at: readonly string[]): string {
  const names: string[] = [];
  for (let i = 0; i < at.length; i++) {
    const seg = at[i] as string;
    names.push(seg);
    if (MAP_KEYWORDS.has(seg) || (LIST_KEYWORDS.has(seg) && /^\d+$/.test(at[i + 1] ?? ''))) i++;
  }
  return [SCHEMA_PATH, ...names].join('.');
}

function decodeProblem(at: string[], value: unknown, goType: string, _target: string): SchemaProblem {
  // encoding/json names the JSON type it found, without the value.
  const found =
    typeof value === 'number'
      ? 'number'
      : typeof value === 'boolean'
        ? 'bool'
        : Array.isArray(value)
          ? 'array'
          : value === null
            ? 'null'
            : typeof value === 'object'
              ? 'object'
              : typeof value;
  const target =
    at.length === 0
      ? `Go struct field Validation.${SCHEMA_PATH} of type v1.JSONSchemaProps`
      : `Go struct field JSONSchemaProps.${goFieldPath(at)} of type ${goType === 'JSONSchemaProps' ? 'v1.JSONSchemaProps' : goType}`;
  return {
    path: [...at],
    message: `json: cannot unmarshal ${found} into ${target}`,
    kind: 'template',
  };
}

// FW `schema/transform.go AddPreserveUnknownFields`: what `legacySchema: true` does to the template schema.
export function addPreserveUnknownFields(raw: RawSchema, at: string[], problems: SchemaProblem[]): void {
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
