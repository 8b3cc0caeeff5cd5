import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { isRecord } from '../../../src/engine/model.js';
import { applyParameterSchema, compileParameterSchema, type SchemaProblem } from '../../../src/engine/policy/schema/index.js';
import { fixturesDir, repoRoot } from '../../helpers/engine.js';
import { seededRandom } from '../../helpers/seeded-random.js';

// Parapet's port of Gatekeeper's parameter schema handling (src/engine/policy/schema/) against the
// constraint framework itself: tools/schemacheck runs FW createCRD (CreateSchema, CreateCRD, ValidateCRD)
// on the template's schema, and ValidateCR and ApplyDefaultParams' defaulting on a constraint with the
// parameters. For the parameter schemas of the Gatekeeper library and generated schemas over every keyword
// Parapet handles, with parameters that pass and fail each, both must report the same problems (kind, path,
// message) and give the same defaulted parameters.
const schemacheck = join(repoRoot, 'tools', 'bin', 'schemacheck');

beforeAll(() => {
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build-go-tool.mjs'), 'schemacheck'], { stdio: 'inherit' });
}, 15 * 60_000);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Pair {
  /** Where the pair comes from, for the failure message. */
  origin: string;
  schema?: Json;
  legacySchema?: boolean;
  parameters?: Json;
}

interface GoFieldError {
  field: string;
  message: string;
}

interface GoAnswer {
  decodeError?: string;
  templateError?: string;
  templateErrors: GoFieldError[];
  checked: boolean;
  constraintError?: string;
  constraintClass?: 'schema' | 'invalid' | 'other';
  schemaErrors: GoFieldError[];
  unknownFields: string[];
  defaulted?: Json;
  error?: string;
}

/**
 * JSON with each whole number below 2^63 written out in full, so that Go decodes the very int64 JavaScript
 * holds (JSON.stringify writes 2^62 as 4611686018427388000, which Go would read as another int64).
 */
function exactJson(value: unknown): string {
  if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) < 2 ** 63) return BigInt(value).toString();
  if (Array.isArray(value)) return `[${value.map(exactJson).join(',')}]`;
  if (isRecord(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${exactJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function askGo(pairs: Pair[]): GoAnswer[] {
  const input = pairs.map((p) => `${exactJson({ schema: p.schema, legacySchema: p.legacySchema, parameters: p.parameters })}\n`).join('');
  const out = execFileSync(schemacheck, { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  return out
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as GoAnswer);
}

// A small seeded generator (mulberry32): the same pairs on every run.
class Gen {
  constructor(private readonly next: () => number) {}
  chance(p: number): boolean {
    return this.next() < p;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

// Values that probe Go's number handling: int64 and float64 at their edges, and floats where integers go.
const NUMBERS = [0, 1, -1, 2, 3, 5, 7, 10, 12, 100, 1.5, -2.5, 0.1, 0.3, 2.5, 1e21, 2 ** 60, -(2 ** 62), 2 ** 63, 1e300, 6.02e23, 1e-7];
const STRINGS = [
  '', 'a', 'abc', 'hello world', 'ÄÖÜ', '日本語', 'x'.repeat(20), '123', 'true', 'null',
  'https://example.com/a?b=c', '/relative/path', 'mailto:a@b.c', 'not a uri', 'user@example.com', 'Jane <jane@example.com>', 'bad@', '@bad',
  '2024-02-29T12:00:00Z', '2023-02-29T12:00:00Z', '2024-01-01T25:00:00Z', '2024-01-01 12:00:00', '2024-01-01T12:00:00.123+02:00',
  '2024-02-29', '2023-02-29', '2024-13-01', '1h30m', '-1.5h', '10 days', '3 weeks', '5s', '1x', '0',
  '100m', '1Gi', '1.5', '1e3', '1E+3', '-2Ki', '1Ki.5', '1.5.5', '01:23:45:67:89:ab', '01-23-45-67-89-AB', '0123.4567.89ab', '01:23:45:67:89',
  '10.0.0.0/8', '10.0.0.0/33', '2001:db8::/32', '2001:db8::/129', '10.0.0.1', '256.0.0.1', '010.0.0.1', '::1', '::ffff:1.2.3.4', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0',
  '123e4567-e89b-12d3-a456-426614174000', '123e4567e89b12d3a456426614174000', '123e4567-e89b-12d3-a456-42661417400', 'aGVsbG8=', 'aGVsbG8', 'aGVsbG8===', '####',
  'example.com', 'a-b.example.com', '-bad.example.com', 'ex_ample.com', 'a'.repeat(64) + '.com', 'localhost',
  'http://[::1', 'a%zz', '/a%zz', 'http://a b', 'x:', '//host/path', '?q', 'http://h/%41', 'user@[1.2.3.4]', 'a@b', '"quoted"@example.com',
  'a.@b.c', 'a..b@c.d', 'Name <a@b.c', '<a@b.c>', 'a@b.c, d@e.f', '1.2.3.4/024', '::ffff:010.0.0.1', 'P1D', '1.5h2m', '1d2h', '10 months', '.5s',
  '2024-02-29t12:00:00z', '2024-02-29T12:00:00.5+25:00', '2024-02-29T23:59:60Z', '01:23:45:67:89:ab:cd:ef', '0123456789ab', '0123.4567.89ab.cdef',
  'password', '#fff', '#ffff', 'rgb(1,2,3)', '978-3-16-148410-0', '0-306-40615-2', '4111111111111111', '078-05-1120', '507f1f77bcf86cd799439011',
  // url.ParseRequestURI: IP-literals, zones, ports, strict colons for http(s) only, userinfo, escapes.
  'http://[::1]:80/x', 'http://[fe80::1%25eth0]/', 'http://[fe80::1%eth0]/', 'http://[1.2.3.4]/', 'http://[::1]x/', 'http://a[::1]/', 'http://a:b:c/', 'ftp://a:b:c/',
  'ftp://h:1:2/', 'http://h:80/', 'http://h:8a/', 'http://user:pa%20ss@host/', 'http://us%zzer@h/', 'http://us er@h/', 'http://h%41/', 'http://h%2A/', 'http://h%C3%A9/',
  'http://h/p?q', '/p?', '/p??', 'a:b', '*', 'HTTP://X/', 'http:/path', '1http://x/', '+x:/y', 'http://h/é', 'http://hé/', 'http://<h>/', 'http://[::1%25%41]/',
];
const KEYS = ['name', 'values', 'limit', 'mode', 'labels', 'extra', 'apiVersion', 'kind', 'metadata', 'spec', 'x'];
const PATTERNS = ['^[a-z]+$', '^\\d{2,}$', '[', '(?=a)', 'a{2,3}', '\\p{Greek}', '^$', '(a|b)*c', '\\', '\\Q.\\E', '(?i)ABC', '[[:alpha:]]+'];
const FORMATS = [
  'uri', 'email', 'date-time', 'datetime', 'duration', 'quantity', 'mac', 'cidr', 'ipv4', 'ipv6', 'uuid', 'uuid3', 'uuid4', 'uuid5',
  'byte', 'date', 'hostname', 'password', 'bsonobjectid', 'isbn', 'isbn10', 'isbn13', 'creditcard', 'ssn', 'hexcolor', 'rgbcolor',
  'int32', 'int64', 'float', 'double', 'time', 'url', 'unsupported-format', 'ip',
];
const TYPES = ['string', 'integer', 'number', 'boolean', 'array', 'object'] as const;

function scalar(g: Gen): Json {
  switch (g.int(5)) {
    case 0:
      return g.pick(NUMBERS);
    case 1:
    case 2:
      return g.pick(STRINGS);
    case 3:
      return g.chance(0.5);
    default:
      return g.int(20) - 5;
  }
}

/** A value validation that may sit inside allOf/anyOf/oneOf/not (no type: structural schemas forbid it there). */
function valueValidation(g: Gen, type: string, depth: number): Record<string, Json> {
  const s: Record<string, Json> = {};
  switch (type) {
    case 'string':
      if (g.chance(0.5)) s.maxLength = g.int(6);
      else if (g.chance(0.5)) s.pattern = g.pick(PATTERNS.slice(0, 3));
      else s.enum = [g.pick(STRINGS), g.pick(STRINGS)];
      break;
    case 'integer':
    case 'number':
      if (g.chance(0.5)) s.minimum = g.pick([0, 3, 2.5, -1]);
      else if (g.chance(0.5)) s.maximum = g.pick([10, 5, 7.5]);
      else s.multipleOf = g.pick([2, 3, 0.5]);
      break;
    case 'array':
      if (g.chance(0.5)) s.minItems = g.int(3);
      else s.maxItems = g.int(3);
      break;
    case 'object':
      if (g.chance(0.5)) s.required = [g.pick(KEYS)];
      else s.properties = { [g.pick(KEYS)]: valueValidation(g, 'string', depth + 1) };
      break;
    default:
      s.format = g.pick(FORMATS);
  }
  // Now and then something structural schemas forbid in a nested context.
  if (g.chance(0.06)) Object.assign(s, g.pick([{ type }, { default: 1 }, { description: 'd' }, { nullable: true }, { additionalProperties: false }]));
  return s;
}

function junctors(g: Gen, s: Record<string, Json>, type: string, depth: number): void {
  if (g.chance(0.08)) s.allOf = [valueValidation(g, type, depth), valueValidation(g, type, depth)];
  if (g.chance(0.08)) s.anyOf = [valueValidation(g, type, depth), valueValidation(g, type, depth)];
  if (g.chance(0.08)) s.oneOf = [valueValidation(g, type, depth), valueValidation(g, type, depth)];
  if (g.chance(0.05)) s.not = valueValidation(g, type, depth);
}

function genSchema(g: Gen, depth: number): Record<string, Json> {
  const roll = g.int(20);
  if (roll === 0) return { 'x-kubernetes-int-or-string': true, ...(g.chance(0.3) ? { default: g.pick([1, 'a', 2.5, true]) } : {}) };
  if (roll === 1) return { 'x-kubernetes-preserve-unknown-fields': true, ...(g.chance(0.3) ? { type: 'object' } : {}) };
  const type = depth > 2 ? g.pick(TYPES.slice(0, 4)) : g.pick(TYPES);
  const s: Record<string, Json> = { type };
  if (g.chance(0.02)) delete s.type;
  if (g.chance(0.1)) s.nullable = true;
  if (g.chance(0.15)) s.description = 'generated';
  switch (type) {
    case 'string':
      if (g.chance(0.25)) s.format = g.pick(FORMATS);
      if (g.chance(0.15)) s.maxLength = g.int(8);
      if (g.chance(0.15)) s.minLength = g.int(4);
      if (g.chance(0.15)) s.pattern = g.pick(PATTERNS);
      if (g.chance(0.15)) s.enum = [g.pick(STRINGS), g.pick(STRINGS), ...(g.chance(0.2) ? [g.pick(NUMBERS)] : [])];
      break;
    case 'integer':
    case 'number':
      if (g.chance(0.15)) s.format = g.pick(FORMATS);
      if (g.chance(0.3)) s.minimum = g.pick([0, 1, -5, 2.5, 1e21]);
      if (g.chance(0.3)) s.maximum = g.pick([10, 100, 7.5, 2 ** 60]);
      if (g.chance(0.2)) s.exclusiveMinimum = g.chance(0.7);
      if (g.chance(0.2)) s.exclusiveMaximum = g.chance(0.7);
      if (g.chance(0.2)) s.multipleOf = g.pick([2, 3, 0.5, 0.1, 2.5, 10]);
      if (g.chance(0.1)) s.enum = [g.pick(NUMBERS), g.pick(NUMBERS), ...(g.chance(0.3) ? ['a'] : [])];
      break;
    case 'boolean':
      if (g.chance(0.1)) s.enum = [true];
      break;
    case 'array':
      if (g.chance(0.95)) s.items = genSchema(g, depth + 1);
      if (g.chance(0.2)) s.minItems = g.int(3);
      if (g.chance(0.2)) s.maxItems = g.int(4);
      if (g.chance(0.2)) s.uniqueItems = true;
      if (g.chance(0.05)) s['x-kubernetes-list-type'] = g.pick(['atomic', 'set', 'map', 'bogus']);
      break;
    case 'object': {
      const count = g.int(4);
      if (count > 0 || g.chance(0.5)) {
        const properties: Record<string, Json> = {};
        for (let i = 0; i < count; i++) properties[g.pick(KEYS)] = genSchema(g, depth + 1);
        s.properties = properties;
      }
      if (g.chance(0.2)) s.required = [g.pick(KEYS), ...(g.chance(0.3) ? [g.pick(KEYS)] : [])];
      if (g.chance(0.25)) s.additionalProperties = g.chance(0.4) ? g.chance(0.5) : genSchema(g, depth + 1);
      if (g.chance(0.1)) s.minProperties = g.int(3);
      if (g.chance(0.1)) s.maxProperties = g.int(3);
      if (g.chance(0.05)) s['x-kubernetes-preserve-unknown-fields'] = true;
      if (g.chance(0.05)) {
        s['x-kubernetes-embedded-resource'] = true;
        if (g.chance(0.6)) s['x-kubernetes-preserve-unknown-fields'] = true;
      }
      break;
    }
  }
  junctors(g, s, type, depth);
  if (g.chance(0.2)) s.default = g.chance(0.6) ? genValue(g, s, depth, 0.1) : scalar(g);
  if (g.chance(0.01)) s.default = null;
  return s;
}

/** A value for the schema: mostly fitting, `wrong` of the time something else. */
function genValue(g: Gen, s: Json | undefined, depth: number, wrong: number): Json {
  if (g.chance(wrong)) {
    switch (g.int(4)) {
      case 0:
        return null;
      case 1:
        return [scalar(g)];
      case 2:
        return { [g.pick(KEYS)]: scalar(g) };
      default:
        return scalar(g);
    }
  }
  if (!isRecord(s)) return scalar(g);
  const enumValues = s.enum;
  if (Array.isArray(enumValues) && enumValues.length > 0 && g.chance(0.6)) return g.pick(enumValues) as Json;
  const type = typeof s.type === 'string' ? s.type : '';
  if (s['x-kubernetes-int-or-string'] === true) return g.chance(0.5) ? g.int(10) : g.pick(STRINGS);
  switch (type) {
    case 'string':
      return g.pick(STRINGS);
    case 'integer':
      return g.chance(0.85) ? g.pick([0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 100, -3, 2 ** 60, 2 ** 63]) : g.pick([1.5, 0.5, 1e21]);
    case 'number':
      return g.pick(NUMBERS);
    case 'boolean':
      return g.chance(0.5);
    case 'array': {
      const items = [];
      const n = g.int(depth > 2 ? 2 : 4);
      for (let i = 0; i < n; i++) items.push(genValue(g, s.items as Json, depth + 1, wrong / 2));
      if (n > 0 && g.chance(0.15)) items.push(items[0] as Json);
      return items;
    }
    case 'object':
    default: {
      const obj: Record<string, Json> = {};
      const properties = isRecord(s.properties) ? (s.properties as Record<string, Json>) : {};
      for (const [key, sub] of Object.entries(properties)) {
        if (g.chance(0.7)) obj[key] = genValue(g, sub, depth + 1, wrong / 2);
      }
      if (g.chance(0.25)) obj[g.pick(KEYS)] = genValue(g, isRecord(s.additionalProperties) ? (s.additionalProperties as Json) : undefined, depth + 1, wrong / 2);
      return obj;
    }
  }
}

function libraryTemplates(): Array<{ origin: string; schema?: Json; legacySchema?: boolean; constraints: Json[] }> {
  const found: Array<{ origin: string; schema?: Json; legacySchema?: boolean; constraints: Json[] }> = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name === 'template.yaml') {
        const template = parseAllDocuments(readFileSync(path, 'utf8'))[0]?.toJS() as Record<string, unknown>;
        const validation = (((template.spec as Record<string, unknown>).crd as Record<string, unknown>).spec as Record<string, unknown>)
          .validation as Record<string, unknown> | undefined;
        const constraints: Json[] = [];
        const samples = join(dir, 'samples');
        try {
          for (const sample of readdirSync(samples)) {
            const file = join(samples, sample, 'constraint.yaml');
            try {
              const constraint = parseAllDocuments(readFileSync(file, 'utf8'))[0]?.toJS() as Record<string, unknown>;
              const params = (constraint.spec as Record<string, unknown> | undefined)?.parameters;
              if (params !== undefined) constraints.push(params as Json);
            } catch {
              // A sample without a constraint.yaml.
            }
          }
        } catch {
          // A template without samples.
        }
        found.push({
          origin: path.slice(fixturesDir.length + 1),
          ...(validation?.openAPIV3Schema !== undefined ? { schema: validation.openAPIV3Schema as Json } : {}),
          ...(typeof validation?.legacySchema === 'boolean' ? { legacySchema: validation.legacySchema } : {}),
          constraints,
        });
      }
    }
  };
  for (const dir of readdirSync(fixturesDir).filter((d) => d.startsWith('gatekeeper-library')).sort()) walk(join(fixturesDir, dir));
  return found;
}

function pairs(): Pair[] {
  const g = new Gen(seededRandom(20261208));
  const out: Pair[] = [];
  for (const template of libraryTemplates()) {
    const base = { origin: template.origin, schema: template.schema, legacySchema: template.legacySchema };
    out.push({ ...base });
    for (const parameters of template.constraints) out.push({ ...base, parameters });
    for (let i = 0; i < 24; i++) out.push({ ...base, parameters: genValue(g, template.schema, 0, i < 8 ? 0 : 0.3) });
  }
  for (let i = 0; i < 420; i++) {
    const schema: Record<string, Json> = g.chance(0.9) ? { type: 'object', properties: {} } : genSchema(g, 0);
    if (isRecord(schema.properties)) {
      const properties = schema.properties as Record<string, Json>;
      const count = 1 + g.int(3);
      for (let j = 0; j < count; j++) properties[g.pick(KEYS)] = genSchema(g, 1);
      if (g.chance(0.15)) schema.required = [g.pick(KEYS)];
      if (g.chance(0.1)) schema.default = genValue(g, schema, 0, 0.1);
      if (g.chance(0.1)) schema.additionalProperties = g.chance(0.5) ? false : genSchema(g, 1);
    }
    const legacySchema = g.chance(0.1) ? g.chance(0.7) : undefined;
    const origin = `generated schema #${i}`;
    out.push({ origin, schema, legacySchema });
    for (let j = 0; j < 7; j++) out.push({ origin, schema, legacySchema, parameters: genValue(g, schema, 0, j < 2 ? 0 : 0.3) });
  }
  // Every format against every probing string, in a parameter and in a default.
  for (const format of FORMATS) {
    for (const value of STRINGS) {
      const origin = `format ${format}`;
      out.push({ origin, schema: { type: 'object', properties: { v: { type: 'string', format } } }, parameters: { v: value } });
    }
    out.push({ origin: `format ${format} default`, schema: { type: 'object', properties: { v: { type: 'string', format, default: g.pick(STRINGS) } } } });
  }
  // Templates without a schema, and schemas Go cannot decode.
  for (const legacySchema of [undefined, false, true]) {
    for (const parameters of [undefined, {}, { a: 1 }, null] as Array<Json | undefined>) out.push({ origin: 'no schema', legacySchema, ...(parameters === undefined ? {} : { parameters }) });
  }
  for (const schema of [{ type: 5 }, { type: 'object', properties: { a: { maxLength: 'x' } } }, { required: 'a' }, { properties: [] }, 7]) {
    out.push({ origin: 'undecodable', schema: schema as Json });
  }
  return out;
}

interface Outcome {
  template: Array<{ path?: string[]; message: string }>;
  constraint?: {
    schema: Array<{ path?: string[]; message: string }>;
    unknown: string[];
    defaulted?: unknown;
    verdict: 'accepted' | 'schema' | 'invalid';
  };
}

const CRD_PARAMETERS_PREFIX = 'spec.validation.openAPIV3Schema.properties[spec].properties[parameters]';

/** A k8s field path (`a.b[0].c`, `x.properties[k]`) as its segments. */
function pathSegments(field: string): string[] {
  return [...field.matchAll(/\.?([^.[\]]+)|\[([^\]]*)\]/g)].map((m) => (m[1] ?? m[2]) as string);
}

const byText = (a: { message: string }, b: { message: string }) => (a.message < b.message ? -1 : a.message > b.message ? 1 : 0);

function dedupe<T extends { message: string }>(items: T[]): T[] {
  const seen = new Set<string>();
  return items.filter((i) => (seen.has(i.message) ? false : (seen.add(i.message), true)));
}

function goOutcome(answer: GoAnswer): Outcome {
  if (answer.error !== undefined) throw new Error(`schemacheck: ${answer.error}`);
  // encoding/json's error has no path but the one in its text, which Parapet's problem points to.
  if (answer.decodeError !== undefined) return { template: [{ message: answer.decodeError }] };
  const template = dedupe(answer.templateErrors).map((e) => ({
    path: e.field.startsWith(CRD_PARAMETERS_PREFIX) ? pathSegments(e.field.slice(CRD_PARAMETERS_PREFIX.length)) : [e.field],
    message: e.message,
  }));
  if (!answer.checked) return { template: template.sort(byText) };
  return {
    template: [],
    constraint: {
      // kubeOpenAPIResultToFieldErrors gives composite (allOf/anyOf/oneOf/not) errors no field.
      schema: dedupe(answer.schemaErrors)
        .map((e) => (e.field === '<nil>' ? { message: e.message } : { path: pathSegments(e.field), message: e.message }))
        .sort(byText),
      unknown: answer.unknownFields,
      verdict: answer.constraintClass === undefined ? 'accepted' : answer.constraintClass === 'schema' ? 'schema' : 'invalid',
      ...(answer.constraintClass === undefined && answer.defaulted !== undefined ? { defaulted: answer.defaulted } : {}),
    },
  };
}

function parapetOutcome(pair: Pair, go: Outcome): Outcome {
  const compiled = compileParameterSchema(pair.schema, { legacySchema: pair.legacySchema === true });
  if (compiled.problems.length > 0 || go.constraint === undefined) {
    return {
      template: compiled.problems
        .map((p) => {
          expect(p.kind).toBe('template');
          return p.message.startsWith('json: cannot unmarshal ') ? { message: p.message } : { path: p.path, message: p.message };
        })
        .sort(byText),
    };
  }
  const applied = applyParameterSchema(compiled.schema, pair.parameters);
  const schema = applied.problems.filter((p) => p.kind === 'schema');
  const unknown = applied.problems.filter((p) => p.kind === 'unknown-field');
  const verdict = schema.length > 0 ? 'schema' : unknown.length > 0 ? 'invalid' : 'accepted';
  // Gatekeeper gives errors that are not errors.Validation (allOf/anyOf/oneOf/not, number ranges) no field;
  // Parapet keeps where they are, to put them on a line.
  const pathless = (p: SchemaProblem) => p.message.startsWith('<nil>: ');
  return {
    template: [],
    constraint: {
      schema: schema.map((p) => (pathless(p) ? { message: p.message } : { path: p.path, message: p.message })).sort(byText),
      unknown: unknown.map((p) => p.message.replace(/: unknown field$/, '')),
      verdict,
      ...(verdict === 'accepted' && applied.value !== undefined ? { defaulted: JSON.parse(JSON.stringify(applied.value)) } : {}),
    },
  };
}

// The one allowance, named in docs/fidelity.md ("Constraints"): Go checks `email` with net/mail.ParseAddress,
// a full RFC 5322 parser Parapet approximates. These probing values are the ones
// where the approximation is known to answer otherwise; a pair is excused only for that format and value,
// and only when nothing but that one verdict differs.
const KNOWN_FORMAT_GAPS: Record<string, readonly string[]> = {
  email: ['user@[1.2.3.4]', '"quoted"@example.com', 'a.@b.c', 'a..b@c.d'],
};

function excused(pair: Pair, go: Outcome, ours: Outcome): boolean {
  if (!pair.origin.startsWith('format ') || !isRecord(pair.parameters)) return false;
  const format = pair.origin.slice('format '.length);
  const value = pair.parameters.v;
  if (typeof value !== 'string' || !(KNOWN_FORMAT_GAPS[format] ?? []).includes(value)) return false;
  const formatError = `spec.parameters.v: Invalid value: ${JSON.stringify(value)}: spec.parameters.v in body must be of type ${format}: ${JSON.stringify(value)}`;
  const [rejecting, accepting] = go.constraint?.verdict === 'schema' ? [go, ours] : [ours, go];
  return (
    accepting.constraint?.verdict === 'accepted' &&
    rejecting.constraint?.schema.length === 1 &&
    rejecting.constraint.schema[0]?.message === formatError
  );
}

describe('parameter schemas against the constraint framework', () => {
  it('reports what Gatekeeper reports and defaults what it defaults, for every generated pair', () => {
    const all = pairs();
    const answers = askGo(all);
    expect(answers).toHaveLength(all.length);
    const differences: string[] = [];
    let excusedCount = 0;
    all.forEach((pair, i) => {
      const go = goOutcome(answers[i] as GoAnswer);
      const ours = parapetOutcome(pair, go);
      try {
        expect(ours).toEqual(go);
      } catch {
        if (excused(pair, go, ours)) {
          excusedCount++;
          return;
        }
        differences.push(
          `${pair.origin}\n  input: ${JSON.stringify({ schema: pair.schema, legacySchema: pair.legacySchema, parameters: pair.parameters })}\n  gatekeeper: ${JSON.stringify(go)}\n  parapet:    ${JSON.stringify(ours)}`,
        );
      }
    });
    const checked = answers.filter((a) => a.checked).length;
    console.log(`schema differential: ${all.length} pairs (${checked} reached the constraint side), ${differences.length} differences, ${excusedCount} excused (the email approximation)`);
    // The allowance must stay narrow: each listed value is met once, in its format's sweep.
    expect(excusedCount).toBeLessThanOrEqual(Object.values(KNOWN_FORMAT_GAPS).flat().length);
    expect(differences.slice(0, 15).join('\n\n')).toBe('');
    expect(differences).toHaveLength(0);
  }, 120_000);
});
