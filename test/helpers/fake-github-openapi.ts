// What GitHub's REST API accepts, from its published OpenAPI description (`@octokit/openapi`,
// api.github.com): the fake GitHub looks every request up by method and path template and checks
// the path and query parameters and the JSON body against the operation's schemas, answering as
// GitHub does: 404 for an endpoint GitHub does not have (or a path parameter of the wrong type),
// 422 `Invalid request.\n\n<what>` for a body or query GitHub's schema refuses.
//
// The description (13 MB) is read once per process, on the first request; each operation's
// validators are compiled on its first use.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import formatsModule, { type FormatsPlugin } from 'ajv-formats';

// ajv-formats is CommonJS with `exports.default`.
const addFormats = ((formatsModule as unknown as { default?: FormatsPlugin }).default ?? formatsModule) as unknown as FormatsPlugin;

/** What GitHub answers a request it refuses before any endpoint logic runs. */
export interface OpenApiRejection {
  status: 400 | 404 | 422;
  payload: { message: string; documentation_url: string; status: string };
}

type Json = Record<string, any>;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Json;
}

interface Operation {
  method: string;
  template: string;
  regex: RegExp;
  /** Literal characters in the template: more of them is a more specific match. */
  specificity: number;
  params: string[];
  op: Json;
  docsUrl: string;
  compiled?: { path?: ValidateFunction; query?: ValidateFunction; body?: ValidateFunction; bodyRequired: boolean };
}

const DOCS = 'https://docs.github.com/rest';

interface Description {
  doc: Json;
  /** Operations by method and number of path segments. */
  byShape: Map<string, Operation[]>;
  ajv: Ajv;
  coercing: Ajv;
}

let description: Description | undefined;

function load(): Description {
  if (description) return description;
  const require = createRequire(import.meta.url);
  const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Json;
  fixNullable(doc, new Set());
  const byShape = new Map<string, Operation[]>();
  for (const [template, item] of Object.entries(doc.paths as Json)) {
    for (const [method, op] of Object.entries(item as Json)) {
      if (!['get', 'put', 'post', 'patch', 'delete', 'head'].includes(method)) continue;
      const params: string[] = [];
      const source = template
        .split('/')
        .map((segment) =>
          segment.replace(/\{([^}]+)\}|[^{]+/g, (whole, name: string | undefined) => {
            if (name === undefined) return whole.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
            params.push(name);
            return '([^/]+)';
          }),
        )
        .join('/');
      const operation: Operation = {
        method: method.toUpperCase(),
        template,
        regex: new RegExp(`^${source}$`),
        specificity: template.replace(/\{[^}]+\}/g, '').length,
        params,
        op: op as Json,
        docsUrl: ((op as Json).externalDocs?.url as string | undefined) ?? DOCS,
      };
      const key = `${operation.method} ${template.split('/').length}`;
      byShape.set(key, [...(byShape.get(key) ?? []), operation]);
    }
  }
  for (const list of byShape.values()) list.sort((a, b) => b.specificity - a.specificity);
  const options = { strict: false, allErrors: true, verbose: true, validateSchema: false, logger: false } as const;
  const ajv = new Ajv(options);
  addFormats(ajv);
  // The whole description is one schema: an operation's body schema is compiled by a JSON
  // pointer into it, so its `#/components/...` references resolve as in the description.
  ajv.addSchema(doc, 'gh');
  const coercing = new Ajv({ ...options, coerceTypes: 'array' });
  addFormats(coercing);
  description = { doc, byShape, ajv, coercing };
  return description;
}

/**
 * OpenAPI 3.0's `nullable` is ajv's only where `type` is given; elsewhere (beside `oneOf`, say) it
 * is rewritten as `anyOf: [null, the rest]`.
 */
function fixNullable(node: unknown, seen: Set<unknown>): void {
  if (!node || typeof node !== 'object' || seen.has(node)) return;
  seen.add(node);
  if (Array.isArray(node)) {
    for (const item of node) fixNullable(item, seen);
    return;
  }
  const object = node as Json;
  for (const value of Object.values(object)) fixNullable(value, seen);
  if (object.nullable === true && !('type' in object)) {
    const { nullable: _, description: text, ...rest } = object;
    for (const key of Object.keys(object)) delete object[key];
    Object.assign(object, { ...(text === undefined ? {} : { description: text }), anyOf: [{ type: 'null' }, rest] });
  }
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function resolve(doc: Json, value: Json): [Json, string | undefined] {
  if (typeof value.$ref !== 'string') return [value, undefined];
  const ref = value.$ref as string;
  const target = ref
    .slice(2)
    .split('/')
    .reduce<Json>((o, k) => o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
  return [target, ref];
}

function compile(d: Description, operation: Operation): NonNullable<Operation['compiled']> {
  if (operation.compiled) return operation.compiled;
  const { doc } = d;
  const parameters = ((operation.op.parameters ?? []) as Json[]).map((p) => resolve(doc, p)[0] as Parameter);
  const group = (where: 'path' | 'query', ajv: Description['ajv']) => {
    const declared = parameters.filter((p) => p.in === where && p.schema);
    if (declared.length === 0) return undefined;
    return ajv.compile({
      $id: `params:${where}:${operation.method}:${operation.template}`,
      type: 'object',
      properties: Object.fromEntries(declared.map((p) => [p.name, resolve(doc, p.schema!)[0]])),
      required: declared.filter((p) => p.required).map((p) => p.name),
    });
  };
  let body: ValidateFunction | undefined;
  let bodyRequired = false;
  if (operation.op.requestBody) {
    const [requestBody, ref] = resolve(doc, operation.op.requestBody as Json);
    const pointer = ref ? `gh${ref}` : `gh#/paths/${escapePointer(operation.template)}/${operation.method.toLowerCase()}/requestBody`;
    bodyRequired = requestBody.required === true;
    if (requestBody.content?.['application/json']?.schema) body = d.ajv.compile({ $ref: `${pointer}/content/application~1json/schema` });
  }
  operation.compiled = { path: group('path', d.coercing), query: group('query', d.coercing), body, bodyRequired };
  return operation.compiled;
}

/** The operation GitHub's description has for `METHOD path`, and the path's parameters. */
export function findOperation(method: string, path: string): { template: string; operationId: string; params: Record<string, string> } | undefined {
  const found = match(load(), method, path);
  return found && { template: found.operation.template, operationId: found.operation.op.operationId as string, params: found.params };
}

function match(d: Description, method: string, path: string): { operation: Operation; params: Record<string, string> } | undefined {
  for (const operation of d.byShape.get(`${method} ${path.split('/').length}`) ?? []) {
    const m = operation.regex.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    operation.params.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1]!)));
    return { operation, params };
  }
  return undefined;
}

/** A value as a message shows it: scalars as JSON, arrays and objects in short. */
function shown(value: unknown): string {
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  if (value && typeof value === 'object') return 'an object';
  return value === undefined ? 'nil' : JSON.stringify(value);
}

/** GitHub's wording of a schema failure ("Invalid request.\n\n..."). */
function describe(errors: ErrorObject[], what: string): string {
  return errors
    .map((e) => {
      const at = `${what}${e.instancePath}`;
      switch (e.keyword) {
        case 'required':
          return `"${(e.params as { missingProperty: string }).missingProperty}" wasn't supplied${e.instancePath ? ` at '${at}'` : ''}.`;
        case 'enum':
          return `For '${at}', ${shown(e.data)} is not a member of ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}.`;
        case 'type':
          return `For '${at}', ${shown(e.data)} is not ${article(String((e.params as { type: string }).type))}.`;
        case 'additionalProperties':
          return `For '${at}', "${(e.params as { additionalProperty: string }).additionalProperty}" is not a permitted key.`;
        default:
          return `For '${at}', ${shown(e.data)} ${e.message ?? 'is invalid'}.`;
      }
    })
    .join('\n');
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/**
 * Checks a request against GitHub's description: undefined when GitHub would take it to the
 * endpoint, or what GitHub answers instead.
 */
export function openApiRejection(method: string, path: string, query: URLSearchParams, body: unknown): OpenApiRejection | undefined {
  const d = load();
  const found = match(d, method, path);
  if (!found) return { status: 404, payload: { message: 'Not Found', documentation_url: DOCS, status: '404' } };
  const { operation, params } = found;
  const validators = compile(d, operation);
  const invalid = (what: string): OpenApiRejection => ({ status: 422, payload: { message: `Invalid request.\n\n${what}`, documentation_url: operation.docsUrl, status: '422' } });
  // A path parameter of the wrong type (a pull request number that is not a number) matches no route.
  if (validators.path && !validators.path({ ...params })) return { status: 404, payload: { message: 'Not Found', documentation_url: operation.docsUrl, status: '404' } };
  if (validators.query) {
    const values: Record<string, string | string[]> = {};
    for (const key of new Set(query.keys())) {
      const all = query.getAll(key);
      values[key] = all.length === 1 ? all[0]! : all;
    }
    if (!validators.query(values)) return invalid(describe(validators.query.errors ?? [], 'query'));
  }
  if (body === undefined) {
    if (validators.bodyRequired) return invalid('No body was supplied.');
  } else if (validators.body) {
    if (typeof body === 'string') return { status: 400, payload: { message: 'Problems parsing JSON', documentation_url: operation.docsUrl, status: '400' } };
    if (!validators.body(body)) return invalid(describe(validators.body.errors ?? [], 'properties'));
  }
  return undefined;
}
