// Template-side validation: what ValidateCustomResourceDefinition reports about the parameters subtree.
// Gatekeeper rejects a template (ErrInvalidConstraintTemplate) when the constraint CRD it builds fails
// apiextensions' checks, so these mirror them one for one: structural invariants
// (`apiserver/schema/validation.go`), default validation (`apiserver/schema/defaulting/validation.go`)
// and the OpenAPI restrictions (`apis/apiextensions/validation/validation.go
// ValidateCustomResourceDefinitionOpenAPISchema`), list and map types included.
//
// Known differences from Gatekeeper:
// - CEL rules (x-kubernetes-validations) are not compiled, so a template whose rule does not compile is
//   accepted here; Gatekeeper's ValidateCR does not evaluate them on constraints either.
// - The metadata of an x-kubernetes-embedded-resource in a default, and defaults inside it, are not checked
//   against ObjectMeta (its apiVersion and kind are).
import { compareStrings } from '../../go/strings.js';
import { goQuote } from '../../go/quote.js';
import { buildNode, compileGoRegexp } from './compile.js';
import type { RawSchema } from './decode.js';
import { deepCopy, fieldError, GoText, supportedValues } from './go-values.js';
import type { SchemaNode, SchemaProblem } from './index.js';
import { isRecord } from '../../model.js';
import { pruneWalk } from './prune-and-default.js';
import { toFieldProblem, validateValue } from './validate.js';

// Where Gatekeeper's CRD validation reports the parameters schema: it sits under the constraint CRD's
// root schema, whose paths start at the CRD's `spec.validation.openAPIV3Schema`.
const CRD_PARAMETERS_PREFIX = 'spec.validation.openAPIV3Schema.properties[spec].properties[parameters]';

type Segment = { child: string } | { key: string };

export class CrdPath {
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

export function validateTemplateSchema(raw: RawSchema): SchemaProblem[] {
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
  // The nested form keeps additionalProperties only as a schema or `true` (`false` is dropped when converting).
  if (s.additionalProperties !== undefined && (s.additionalProperties.allows || s.additionalProperties.schema !== undefined)) {
    forbid('additionalProperties', 'must be undefined to be structural');
  }
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
    const node = buildNode(s, 'structural');
    const defaultPath = path.child('default');
    const copy = deepCopy(s.default.value);
    // Unknown fields are reported alongside; the value is validated only when its embedded resources'
    // apiVersion and kind pass (schemaobjectmeta.Validate, then ValidateCustomResource).
    if (pruneWalk(copy, node, [], '', []) > 0) {
      report(defaultPath, fieldError(defaultPath, 'Invalid value', s.default.value, 'must not have unknown fields'));
    }
    const metaErrors: Array<{ path: CrdPath; message: string }> = [];
    checkEmbeddedResources(s.default.value, node, defaultPath, (p, message) => metaErrors.push({ path: p, message }));
    for (const { path: p, message } of metaErrors) report(p, message);
    if (metaErrors.length === 0) {
      const result = validateValue(node, s.default.value, '', []);
      for (const error of result.errors) {
        const problem = toFieldProblem(error, defaultPath, 'template');
        // Errors that are not errors.Validation (composite, range) hang under the default itself.
        const at = error.code === 'composite' || error.code === 'plain' ? [] : error.segs;
        report(new CrdPath([...defaultPath.segments, ...at.map((key) => ({ key }))]), problem.message);
      }
    }
  }
  if (s.items !== undefined && !Array.isArray(s.items)) checkDefaults(s.items, path.child('items'), report);
  for (const [name, sub] of s.properties ?? []) checkDefaults(sub, path.child('properties').key(name), report);
}

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL_ERROR =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

// schemaobjectmeta.Validate: each x-kubernetes-embedded-resource in the value needs a valid apiVersion and
// kind. Its metadata is not checked against ObjectMeta here (see the file's known differences).
function checkEmbeddedResources(x: unknown, s: SchemaNode | undefined, path: CrdPath, report: Report): void {
  if (s === undefined) return;
  if (Array.isArray(x)) {
    x.forEach((item, i) => checkEmbeddedResources(item, s.items, path.index(i), report));
    return;
  }
  if (!isRecord(x)) return;
  if (s.embeddedResource) {
    for (const key of ['apiVersion', 'kind']) {
      if (x[key] === undefined) report(path.child(key), fieldError(path.child(key), 'Required value', undefined, ''));
    }
    const apiVersion = x.apiVersion;
    if (apiVersion !== undefined) {
      const p = path.child('apiVersion');
      if (typeof apiVersion !== 'string') report(p, fieldError(p, 'Invalid value', apiVersion, 'must be a string'));
      else if (apiVersion === '') report(p, fieldError(p, 'Invalid value', apiVersion, 'must not be empty'));
      else if (apiVersion !== '/' && apiVersion.split('/').length > 2) {
        report(p, fieldError(p, 'Invalid value', apiVersion, `unexpected GroupVersion string: ${apiVersion}`));
      }
    }
    const kind = x.kind;
    if (kind !== undefined) {
      const p = path.child('kind');
      if (typeof kind !== 'string') report(p, fieldError(p, 'Invalid value', kind, 'must be a string'));
      else if (kind === '') report(p, fieldError(p, 'Invalid value', kind, 'must not be empty'));
      else {
        const lower = kind.toLowerCase();
        const errors = [
          ...(new TextEncoder().encode(lower).length > 63 ? ['must be no more than 63 characters'] : []),
          ...(DNS1035_LABEL.test(lower) ? [] : [DNS1035_LABEL_ERROR]),
        ];
        if (errors.length > 0) {
          report(p, fieldError(p, 'Invalid value', kind, `may have mixed case, but should otherwise match: ${errors.join(',')}`));
        }
      }
    }
  }
  for (const [key, value] of Object.entries(x)) {
    const prop = s.properties?.get(key);
    if (prop !== undefined) checkEmbeddedResources(value, prop, path.child(key), report);
    else if (s.additionalProperties !== undefined) checkEmbeddedResources(value, s.additionalProperties.schema, path.key(key), report);
  }
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

function dedupeProblems(problems: SchemaProblem[]): SchemaProblem[] {
  // field.ErrorList.ToAggregate drops errors whose text repeats.
  const seen = new Set<string>();
  return problems.filter((p) => (seen.has(p.message) ? false : (seen.add(p.message), true)));
}
