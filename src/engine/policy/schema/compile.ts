// Compiling the decoded schema into the form the validators, the pruner and the defaulter walk.
// Gatekeeper's Go validates with kube-openapi's spec.Schema, converted from JSONSchemaProps without the
// formats apiextensions does not support, and prunes and defaults with apiextensions' structural schema;
// one node serves all three, holding just the fields they read.
//
// Patterns are Go RE2, matched with re2js (a pure-JS port of RE2): same syntax, same error texts, and
// linear-time matching, which matters because both patterns and values come from the repository under check.
import { RE2JS } from 're2js';
import type { RawSchema } from './decode.js';
import type { CompiledPattern, SchemaNode } from './index.js';

// apiextensions StripUnsupportedFormatsPostProcess (the 1.0 set, which NewSchemaValidator uses), named the
// go-openapi way: without dashes.
const SUPPORTED_STRING_FORMATS = new Set([
  'bsonobjectid', 'uri', 'email', 'hostname', 'ipv4', 'ipv6', 'cidr', 'mac', 'uuid', 'uuid3', 'uuid4',
  'uuid5', 'isbn', 'isbn10', 'isbn13', 'creditcard', 'ssn', 'hexcolor', 'rgbcolor', 'byte', 'password',
  'date', 'duration', 'datetime',
]);

/**
 * `crd`: the schema as ValidateCR's validator reads it (NewSchemaValidator: unsupported formats dropped,
 * int-or-string as the types integer and string). `structural`: as the template's default validation reads
 * it (the structural schema's ToKubeOpenAPI): every format kept, int-or-string only an extension that the
 * validator does not read, so it checks no type.
 */
export function buildNode(raw: RawSchema, view: 'crd' | 'structural' = 'crd'): SchemaNode {
  const type = raw.type ?? '';
  const items = Array.isArray(raw.items) ? undefined : raw.items;
  const build = (sub: RawSchema): SchemaNode => buildNode(sub, view);
  const node: SchemaNode = {
    type,
    format: view === 'structural' ? (raw.format ?? '') : effectiveFormat(raw.format ?? '', raw.intOrString === true ? '' : type),
    nullable: raw.nullable === true,
    exclusiveMaximum: raw.exclusiveMaximum === true,
    exclusiveMinimum: raw.exclusiveMinimum === true,
    uniqueItems: raw.uniqueItems === true,
    required: raw.required ?? [],
    allOf: (raw.allOf ?? []).map(build),
    anyOf: (raw.anyOf ?? []).map(build),
    oneOf: (raw.oneOf ?? []).map(build),
    preserveUnknownFields: raw.preserveUnknownFields === true,
    embeddedResource: raw.embeddedResource === true,
    intOrString: view === 'crd' && raw.intOrString === true,
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
    ...(items !== undefined ? { items: build(items) } : {}),
    ...(raw.properties !== undefined
      ? { properties: new Map([...raw.properties].map(([name, sub]) => [name, build(sub)])) }
      : {}),
    ...(raw.additionalProperties !== undefined
      ? {
          additionalProperties: {
            allows: raw.additionalProperties.allows,
            ...(raw.additionalProperties.schema !== undefined ? { schema: build(raw.additionalProperties.schema) } : {}),
          },
        }
      : {}),
    ...(raw.not !== undefined ? { not: build(raw.not) } : {}),
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

export function compileGoRegexp(source: string): CompiledPattern {
  try {
    return { source, regexp: RE2JS.compile(source) };
  } catch (error) {
    let message = error instanceof Error ? error.message : String(error);
    // Go always appends the offending expression, even when it is empty.
    if (message.endsWith('trailing backslash at end of expression')) message += ': ``';
    return { source, error: message };
  }
}
