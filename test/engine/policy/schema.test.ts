import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  applyParameterSchema,
  compileParameterSchema,
  type ParameterSchema,
  type SchemaProblem,
} from '../../../src/engine/policy/schema/index.js';

// Parameter schemas as the Gatekeeper library templates declare them (gatekeeper-library@5c441fb6).
const REQUIRED_LABELS = `
type: object
properties:
  message:
    type: string
  labels:
    type: array
    description: A list of labels and values the object must specify.
    items:
      type: object
      properties:
        key:
          type: string
          description: The required label.
        allowedRegex:
          type: string
          description: If specified, a regular expression the annotation's value must match.
`;

const CONTAINER_LIMITS = `
type: object
properties:
  exemptImages:
    description: Any container that uses an image that matches an entry in this list will be excluded.
    type: array
    items:
      type: string
  cpu:
    description: The maximum allowed cpu limit on a Pod, exclusive.
    type: string
  memory:
    description: The maximum allowed memory limit on a Pod, exclusive.
    type: string
`;

const STORAGE_CLASS = `
type: object
description: Parameters for the storage class check.
properties:
  includeStorageClassesInMessage:
    type: boolean
    default: true
  allowedStorageClasses:
    type: array
    items:
      type: string
`;

const ALLOWED_USERS = `
type: object
properties:
  exemptImages:
    type: array
    items:
      type: string
  runAsUser:
    type: object
    properties:
      rule:
        type: string
        enum:
          - MustRunAs
          - MustRunAsNonRoot
          - RunAsAny
      ranges:
        type: array
        items:
          type: object
          properties:
            min:
              type: integer
            max:
              type: integer
`;

const ALLOWED_REPOS_V1BETA1 = `
properties:
  repos:
    type: array
    items:
      type: string
`;

function compile(yaml: string, legacySchema = false): ParameterSchema {
  const { schema, problems } = compileParameterSchema(parse(yaml), { legacySchema });
  expect(problems).toEqual([]);
  return schema;
}

function templateProblems(yaml: string, legacySchema = false): SchemaProblem[] {
  return compileParameterSchema(parse(yaml), { legacySchema }).problems;
}

function messages(schema: ParameterSchema, parameters: unknown): string[] {
  return applyParameterSchema(schema, parameters).problems.map((p) => p.message);
}

function problemsOf(yaml: string, parameters: unknown): SchemaProblem[] {
  return applyParameterSchema(compile(yaml), parameters).problems;
}

describe('compileParameterSchema', () => {
  it('accepts the structural schemas of the library templates', () => {
    for (const yaml of [REQUIRED_LABELS, CONTAINER_LIMITS, STORAGE_CLASS, ALLOWED_USERS]) {
      expect(compileParameterSchema(parse(yaml), { legacySchema: false }).problems).toEqual([]);
    }
  });

  it('rejects a v1 property without a type, reporting where it is in the template', () => {
    expect(templateProblems(ALLOWED_REPOS_V1BETA1)).toEqual([
      {
        path: ['type'],
        message:
          'spec.validation.openAPIV3Schema.properties[spec].properties[parameters].type: Required value: must not be empty for specified object fields',
        kind: 'template',
      },
    ]);
  });

  it('rejects an array without items', () => {
    expect(templateProblems('{type: object, properties: {labels: {type: array}}}').map((p) => p.message)).toEqual([
      'spec.validation.openAPIV3Schema.properties[spec].properties[parameters].properties[labels].items: Required value: must be specified',
    ]);
  });

  it('accepts the same loose schema with legacySchema, which wraps it in x-kubernetes-preserve-unknown-fields', () => {
    expect(templateProblems(ALLOWED_REPOS_V1BETA1, true)).toEqual([]);
    expect(templateProblems('{properties: {labels: {type: array}}}', true)).toEqual([]);
  });

  it('rejects a pattern that is not Go RE2 syntax, in Go regexp wording', () => {
    const problems = templateProblems(`
type: object
properties:
  name: {type: string, pattern: '^(?!kube-).*$'}
`);
    expect(problems.map((p) => p.message)).toEqual([
      "spec.validation.openAPIV3Schema.properties[spec].properties[parameters].properties[name].pattern: Invalid value: \"^(?!kube-).*$\": must be a valid regular expression, but isn't: error parsing regexp: invalid or unsupported Perl syntax: `(?!`",
    ]);
    expect(problems[0]?.path).toEqual(['properties', 'name', 'pattern']);
  });

  it('rejects uniqueItems, which CRDs forbid', () => {
    expect(templateProblems('{type: object, properties: {repos: {type: array, uniqueItems: true, items: {type: string}}}}').map((p) => p.message)).toEqual([
      'spec.validation.openAPIV3Schema.properties[spec].properties[parameters].properties[repos].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic',
    ]);
  });

  it('rejects additionalProperties next to properties', () => {
    expect(
      templateProblems('{type: object, properties: {a: {type: string}}, additionalProperties: {type: string}}').map((p) => p.message),
    ).toEqual([
      'spec.validation.openAPIV3Schema.properties[spec].properties[parameters].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive',
    ]);
  });

  it('rejects a default that does not validate against its own schema', () => {
    expect(templateProblems('{type: object, properties: {includeStorageClassesInMessage: {type: boolean, default: "yes"}}}').map((p) => p.message)).toEqual([
      // kube-openapi names the default's root "", hence the double space.
      'spec.validation.openAPIV3Schema.properties[spec].properties[parameters].properties[includeStorageClassesInMessage].default: Invalid value: "string":  in body must be of type boolean: "string"',
    ]);
  });

  it('rejects a default with fields its schema does not declare', () => {
    expect(templateProblems('{type: object, properties: {limits: {type: object, properties: {cpu: {type: string}}, default: {cpu: "1", gpu: "1"}}}}').map((p) => p.message)).toEqual([
      'spec.validation.openAPIV3Schema.properties[spec].properties[parameters].properties[limits].default: Invalid value: {"cpu":"1","gpu":"1"}: must not have unknown fields',
    ]);
  });

  it('rejects types inside anyOf, except the int-or-string pattern', () => {
    expect(templateProblems('{type: object, properties: {x: {type: string, anyOf: [{type: string}, {maxLength: 3}]}}}').map((p) => p.message)).toEqual([
      'spec.validation.openAPIV3Schema.properties[spec].properties[parameters].properties[x].anyOf[0].type: Forbidden: must be empty to be structural',
    ]);
    expect(
      templateProblems('{type: object, properties: {x: {x-kubernetes-int-or-string: true, anyOf: [{type: integer}, {type: string}]}}}'),
    ).toEqual([]);
  });

  it('rejects x-kubernetes-preserve-unknown-fields: false and $ref', () => {
    expect(templateProblems('{type: object, properties: {a: {type: object, x-kubernetes-preserve-unknown-fields: false}}}').map((p) => p.message)).toEqual([
      'spec.validation.openAPIV3Schema.properties[spec].properties[parameters].properties[a].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined',
    ]);
    expect(templateProblems('{type: object, properties: {a: {$ref: "#/definitions/a"}}}').map((p) => p.message)).toEqual([
      'spec.validation.openAPIV3Schema.properties[spec].properties[parameters].properties[a].$ref: Forbidden: $ref is not supported',
    ]);
  });

  it('rejects an embedded resource that is not an object or declares nothing', () => {
    expect(templateProblems('{type: object, properties: {pod: {type: string, x-kubernetes-embedded-resource: true}}}').map((p) => p.message)).toEqual([
      'spec.validation.openAPIV3Schema.properties[spec].properties[parameters].properties[pod].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields',
      'spec.validation.openAPIV3Schema.properties[spec].properties[parameters].properties[pod].type: Invalid value: "string": must be object if x-kubernetes-embedded-resource is true',
    ]);
  });

  it('rejects a map list without keys', () => {
    expect(
      templateProblems('{type: object, properties: {ports: {type: array, x-kubernetes-list-type: map, items: {type: object, properties: {port: {type: integer}}}}}}').map((p) => p.message),
    ).toEqual([
      'spec.validation.openAPIV3Schema.properties[spec].properties[parameters].properties[ports].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map',
    ]);
  });

  it('reports a keyword of the wrong JSON type the way Go fails to decode it', () => {
    expect(templateProblems('{type: object, properties: {name: {type: string, maxLength: "63"}}}')).toEqual([
      {
        path: ['properties', 'name', 'maxLength'],
        message: 'json: cannot unmarshal string into Go struct field JSONSchemaProps.spec.crd.spec.validation.openAPIV3Schema.properties.maxLength of type int64',
        kind: 'template',
      },
    ]);
  });

  it('ignores keywords Go does not know, as decoding into JSONSchemaProps drops them', () => {
    expect(templateProblems('{type: object, reqired: [labels], properties: {labels: {type: string}}}')).toEqual([]);
  });
});

describe('a template without a parameter schema', () => {
  it('in templates.gatekeeper.sh/v1 declares no parameters, so any spec.parameters is an unknown field', () => {
    const { schema, problems } = compileParameterSchema(undefined, { legacySchema: false });
    expect(problems).toEqual([]);
    expect(applyParameterSchema(schema, {}).problems).toEqual([
      { path: ['spec', 'parameters'], message: 'spec.parameters: unknown field', kind: 'unknown-field' },
    ]);
    expect(applyParameterSchema(schema, undefined)).toEqual({ value: undefined, problems: [] });
  });

  it('with legacySchema (the v1beta1 default) accepts any parameters', () => {
    const { schema, problems } = compileParameterSchema(null, { legacySchema: true });
    expect(problems).toEqual([]);
    expect(applyParameterSchema(schema, { repos: ['gcr.io/'], anything: { goes: 1 } }).problems).toEqual([]);
  });
});

describe('applyParameterSchema validation', () => {
  it('rejects a value of the wrong type with the message kubectl prints', () => {
    expect(problemsOf(REQUIRED_LABELS, { labels: 'owner' })).toEqual([
      {
        path: ['spec', 'parameters', 'labels'],
        message: 'spec.parameters.labels: Invalid value: "string": spec.parameters.labels in body must be of type array: "string"',
        kind: 'schema',
      },
    ]);
  });

  it('accepts the parameters of the library samples', () => {
    expect(problemsOf(REQUIRED_LABELS, { message: 'All namespaces must have an `owner` label', labels: [{ key: 'owner', allowedRegex: '^[a-zA-Z]+.agilebank.demo$' }] })).toEqual([]);
    expect(problemsOf(CONTAINER_LIMITS, { cpu: '200m', memory: '1Gi', exemptImages: ['openpolicyagent/*'] })).toEqual([]);
    expect(problemsOf(ALLOWED_USERS, { runAsUser: { rule: 'MustRunAs', ranges: [{ min: 100, max: 200 }] } })).toEqual([]);
  });

  it('tells integers from numbers: 1.5 is not an integer, but 2 is a number', () => {
    expect(messages(compile(ALLOWED_USERS), { runAsUser: { ranges: [{ min: 1.5 }] } })).toEqual([
      'spec.parameters.runAsUser.ranges[0].min: Invalid value: "number": spec.parameters.runAsUser.ranges[0].min in body must be of type integer: "number"',
      // kube-openapi's range check, a plain error that kubectl prints without a field.
      '<nil>: Invalid value: "": Checked value must be of type integer (default format) in spec.parameters.runAsUser.ranges[0].min',
    ]);
    expect(messages(compile('{type: object, properties: {ratio: {type: number}}}'), { ratio: 2 })).toEqual([]);
  });

  it('rejects null unless the field is nullable', () => {
    expect(messages(compile(CONTAINER_LIMITS), { cpu: null })).toEqual([
      'spec.parameters.cpu: Invalid value: "null": spec.parameters.cpu in body must be of type string: "null"',
    ]);
    expect(messages(compile('{type: object, properties: {cpu: {type: string, nullable: true}}}'), { cpu: null })).toEqual([]);
  });

  it('rejects a value outside an enum', () => {
    expect(problemsOf(ALLOWED_USERS, { runAsUser: { rule: 'MustRunAsRoot' } })).toEqual([
      {
        path: ['spec', 'parameters', 'runAsUser', 'rule'],
        message:
          'spec.parameters.runAsUser.rule: Unsupported value: "MustRunAsRoot": supported values: "MustRunAs", "MustRunAsNonRoot", "RunAsAny"',
        kind: 'schema',
      },
    ]);
  });

  it('reports each missing required field', () => {
    const schema = compile(`
type: object
required: [labels]
properties:
  labels:
    type: array
    items:
      type: object
      required: [key]
      properties:
        key: {type: string}
        allowedRegex: {type: string}
`);
    expect(messages(schema, {})).toEqual(['spec.parameters.labels: Required value']);
    expect(applyParameterSchema(schema, { labels: [{ key: 'a' }, { allowedRegex: '.*' }] }).problems).toEqual([
      { path: ['spec', 'parameters', 'labels', '1', 'key'], message: 'spec.parameters.labels[1].key: Required value', kind: 'schema' },
    ]);
  });

  it('matches patterns with Go RE2 semantics', () => {
    const schema = compile(`
type: object
properties:
  prefix: {type: string, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'}
  team: {type: string, pattern: '(?i)^\\pL+$'}
`);
    expect(messages(schema, { prefix: 'team-a', team: 'Équipe' })).toEqual([]);
    // Go's $ does not match before a trailing newline.
    expect(messages(schema, { prefix: 'team-a\n' })).toEqual([
      "spec.parameters.prefix: Invalid value: \"team-a\\n\": spec.parameters.prefix in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'",
    ]);
    expect(messages(schema, { team: 'team-a' })).toEqual([
      "spec.parameters.team: Invalid value: \"team-a\": spec.parameters.team in body should match '(?i)^\\pL+$'",
    ]);
  });

  it('checks minimum, maximum and their exclusive forms', () => {
    const schema = compile(`
type: object
properties:
  minReplicas: {type: integer, minimum: 1, maximum: 50}
  ratio: {type: number, minimum: 0, exclusiveMinimum: true, maximum: 1, exclusiveMaximum: true}
`);
    expect(messages(schema, { minReplicas: 0, ratio: 1 })).toEqual([
      'spec.parameters.minReplicas: Invalid value: 0: spec.parameters.minReplicas in body should be greater than or equal to 1',
      'spec.parameters.ratio: Invalid value: 1: spec.parameters.ratio in body should be less than 1',
    ]);
    expect(messages(schema, { minReplicas: 51, ratio: 0 })).toEqual([
      'spec.parameters.minReplicas: Invalid value: 51: spec.parameters.minReplicas in body should be less than or equal to 50',
      'spec.parameters.ratio: Invalid value: 0: spec.parameters.ratio in body should be greater than 0',
    ]);
    expect(messages(schema, { minReplicas: 50, ratio: 0.5 })).toEqual([]);
  });

  it('checks multipleOf', () => {
    const schema = compile('{type: object, properties: {cpuMillis: {type: integer, multipleOf: 100}, share: {type: number, multipleOf: 0.25}}}');
    expect(messages(schema, { cpuMillis: 150, share: 0.3 })).toEqual([
      'spec.parameters.cpuMillis: Invalid value: 150: spec.parameters.cpuMillis in body should be a multiple of 100',
      'spec.parameters.share: Invalid value: 0.3: spec.parameters.share in body should be a multiple of 0.25',
    ]);
    expect(messages(schema, { cpuMillis: 300, share: 0.75 })).toEqual([]);
  });

  it('counts string length in characters for minLength and maxLength', () => {
    const schema = compile('{type: object, properties: {code: {type: string, minLength: 2, maxLength: 3}}}');
    expect(messages(schema, { code: 'ééé' })).toEqual([]);
    expect(messages(schema, { code: 'abcd' })).toEqual(['spec.parameters.code: Too long: may not be more than 3 bytes']);
    expect(messages(schema, { code: 'a' })).toEqual([
      'spec.parameters.code: Invalid value: "a": spec.parameters.code in body should be at least 2 chars long',
    ]);
  });

  it('checks minItems and maxItems', () => {
    const schema = compile('{type: object, properties: {exemptImages: {type: array, minItems: 1, maxItems: 2, items: {type: string}}}}');
    expect(messages(schema, { exemptImages: [] })).toEqual([
      'spec.parameters.exemptImages: Invalid value: 0: spec.parameters.exemptImages in body should have at least 1 items',
    ]);
    expect(messages(schema, { exemptImages: ['a', 'b', 'c'] })).toEqual([
      'spec.parameters.exemptImages: Too many: 3: must have at most 2 items',
    ]);
  });

  it('checks uniqueItems, although a template that sets it is rejected', () => {
    const { schema } = compileParameterSchema(parse('{type: object, properties: {repos: {type: array, uniqueItems: true, items: {type: string}}}}'), {
      legacySchema: false,
    });
    expect(messages(schema, { repos: ['a', 'b', 'a'] })).toEqual([
      'spec.parameters.repos: Invalid value: "": spec.parameters.repos in body shouldn\'t contain duplicates',
    ]);
  });

  it('checks minProperties and maxProperties', () => {
    const schema = compile(`
type: object
properties:
  annotations:
    type: object
    minProperties: 1
    maxProperties: 2
    additionalProperties: {type: string}
`);
    expect(messages(schema, { annotations: {} })).toEqual([
      'spec.parameters.annotations: Invalid value: 0: spec.parameters.annotations in body should have at least 1 properties',
    ]);
    expect(messages(schema, { annotations: { a: '1', b: '2', c: '3' } })).toEqual([
      'spec.parameters.annotations: Too many: 3: must have at most 2 items',
    ]);
  });

  it('sees every parameter number as a float64, as ValidateCR does after its JSON round trip', () => {
    const schema = compile('{type: object, properties: {replicas: {type: integer, maximum: 10}}}');
    // 2^60 is no JSON integer to kube-openapi once it is a float64, and the bound compares as one.
    expect(messages(schema, { replicas: 2 ** 60 })).toEqual([
      'spec.parameters.replicas: Invalid value: "number": spec.parameters.replicas in body must be of type integer: "number"',
      'spec.parameters.replicas: Invalid value: 1.152921504606847e+18: spec.parameters.replicas in body should be less than or equal to 10',
    ]);
    expect(messages(schema, { replicas: 7 })).toEqual([]);
  });

  it('reads durations as strfmt does: Go durations, or any number with a unit it knows', () => {
    const schema = compile('{type: object, properties: {every: {type: string, format: duration}}}');
    expect(messages(schema, { every: '1h30m' })).toEqual([]);
    expect(messages(schema, { every: '3 weeks' })).toEqual([]);
    expect(messages(schema, { every: 'run 2d later' })).toEqual([]);
    expect(messages(schema, { every: '10 months' })).toEqual([
      'spec.parameters.every: Invalid value: "10 months": spec.parameters.every in body must be of type duration: "10 months"',
    ]);
  });

  it('checks the formats apiextensions supports and ignores the others', () => {
    const schema = compile(`
type: object
properties:
  id: {type: string, format: uuid}
  cidr: {type: string, format: cidr}
  name: {type: string, format: k8s-short-name}
`);
    expect(messages(schema, { id: 'not-a-uuid', cidr: '10.0.0.0/8', name: 'Not_A_Name' })).toEqual([
      'spec.parameters.id: Invalid value: "not-a-uuid": spec.parameters.id in body must be of type uuid: "not-a-uuid"',
    ]);
    expect(messages(schema, { id: '123e4567-e89b-12d3-a456-426614174000', cidr: '10.0.0.0/33' })).toEqual([
      'spec.parameters.cidr: Invalid value: "10.0.0.0/33": spec.parameters.cidr in body must be of type cidr: "10.0.0.0/33"',
    ]);
  });

  it('requires every allOf schema to hold', () => {
    const schema = compile('{type: object, properties: {name: {type: string, allOf: [{minLength: 2}, {maxLength: 4}]}}}');
    expect(messages(schema, { name: 'abcde' })).toEqual([
      'spec.parameters.name: Too long: may not be more than 4 bytes',
      '<nil>: Invalid value: "": "spec.parameters.name" must validate all the schemas (allOf)',
    ]);
    expect(messages(schema, { name: 'abc' })).toEqual([]);
  });

  it('requires one anyOf schema to hold', () => {
    const schema = compile(`
type: object
properties:
  runAsUser:
    type: object
    properties:
      rule: {type: string}
      ranges: {type: array, items: {type: object, properties: {min: {type: integer}}}}
    anyOf:
      - required: [rule]
      - required: [ranges]
`);
    expect(messages(schema, { runAsUser: {} })).toEqual([
      '<nil>: Invalid value: "": "spec.parameters.runAsUser" must validate at least one schema (anyOf)',
      'spec.parameters.runAsUser.rule: Required value',
    ]);
    expect(messages(schema, { runAsUser: { ranges: [] } })).toEqual([]);
  });

  it('requires exactly one oneOf schema to hold', () => {
    const schema = compile(`
type: object
properties:
  source:
    type: object
    properties:
      image: {type: string}
      repo: {type: string}
    oneOf:
      - required: [image]
      - required: [repo]
`);
    expect(messages(schema, { source: { image: 'a', repo: 'b' } })).toEqual([
      '<nil>: Invalid value: "": "spec.parameters.source" must validate one and only one schema (oneOf). Found 2 valid alternatives',
    ]);
    expect(messages(schema, { source: { repo: 'b' } })).toEqual([]);
  });

  it('rejects a value that matches a not schema', () => {
    const schema = compile('{type: object, properties: {namespace: {type: string, not: {enum: [kube-system]}}}}');
    expect(messages(schema, { namespace: 'kube-system' })).toEqual([
      '<nil>: Invalid value: "": "spec.parameters.namespace" must not validate the schema (not)',
    ]);
    expect(messages(schema, { namespace: 'default' })).toEqual([]);
  });

  it('validates every array item against items', () => {
    expect(problemsOf(CONTAINER_LIMITS, { exemptImages: ['nginx', 42] })).toEqual([
      {
        path: ['spec', 'parameters', 'exemptImages', '1'],
        message:
          'spec.parameters.exemptImages[1]: Invalid value: "number": spec.parameters.exemptImages[1] in body must be of type string: "number"',
        kind: 'schema',
      },
    ]);
  });

  it('validates map values against additionalProperties and forbids keys when it is false', () => {
    const schema = compile(`
type: object
properties:
  limits:
    type: object
    additionalProperties: {type: string}
  none:
    type: object
    additionalProperties: false
`);
    expect(messages(schema, { limits: { cpu: '1', memory: 2 } })).toEqual([
      'spec.parameters.limits.memory: Invalid value: "number": spec.parameters.limits.memory in body must be of type string: "number"',
    ]);
    // Pruning keeps a scalar under additionalProperties: false; the validator is what rejects it.
    expect(messages(schema, { none: { a: 'x' } })).toEqual([
      'spec.parameters.none: Invalid value: "a": spec.parameters.none.a in body is a forbidden property',
    ]);
  });

  it('accepts strings and integers for x-kubernetes-int-or-string', () => {
    const schema = compile('{type: object, properties: {maxUnavailable: {x-kubernetes-int-or-string: true}}}');
    expect(messages(schema, { maxUnavailable: 1 })).toEqual([]);
    expect(messages(schema, { maxUnavailable: '25%' })).toEqual([]);
    expect(messages(schema, { maxUnavailable: true })).toEqual([
      'spec.parameters.maxUnavailable: Invalid value: "boolean": spec.parameters.maxUnavailable in body must be of type integer,string: "boolean"',
    ]);
  });
});

describe('applyParameterSchema unknown fields', () => {
  it('rejects a typo in a parameter name as an unknown field', () => {
    expect(problemsOf(REQUIRED_LABELS, { lables: [{ key: 'owner' }] })).toEqual([
      { path: ['spec', 'parameters', 'lables'], message: 'spec.parameters.lables: unknown field', kind: 'unknown-field' },
    ]);
  });

  it('finds unknown fields inside array items and reports them in order', () => {
    expect(messages(compile(ALLOWED_USERS), { runAsUser: { rule: 'RunAsAny', ranges: [{ min: 1, maxx: 2 }] }, exemptImage: [] })).toEqual([
      'spec.parameters.exemptImage: unknown field',
      'spec.parameters.runAsUser.ranges[0].maxx: unknown field',
    ]);
  });

  it('reports unknown fields even when the values also fail validation (gator shows only the latter)', () => {
    expect(problemsOf(CONTAINER_LIMITS, { cpu: 2, gpu: '1' }).map((p) => p.kind)).toEqual(['schema', 'unknown-field']);
  });

  it('keeps unknown fields below x-kubernetes-preserve-unknown-fields, while still checking declared ones', () => {
    const schema = compile(`
type: object
properties:
  extra:
    type: object
    x-kubernetes-preserve-unknown-fields: true
    properties:
      level: {type: integer}
`);
    expect(messages(schema, { extra: { anything: { nested: true }, level: 'high' } })).toEqual([
      'spec.parameters.extra.level: Invalid value: "string": spec.parameters.extra.level in body must be of type integer: "string"',
    ]);
  });

  it('keeps apiVersion, kind and metadata of an x-kubernetes-embedded-resource', () => {
    const schema = compile(`
type: object
properties:
  template:
    type: object
    x-kubernetes-embedded-resource: true
    properties:
      spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
`);
    expect(messages(schema, { template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a' }, spec: { containers: [] } } })).toEqual([]);
    expect(messages(schema, { template: { status: {} } })).toEqual(['spec.parameters.template.status: unknown field']);
  });

  it('accepts undeclared parameters of a legacySchema template but still checks declared types', () => {
    const schema = compile(ALLOWED_REPOS_V1BETA1, true);
    expect(messages(schema, { repos: ['gcr.io/'], extra: 'kept' })).toEqual([]);
    expect(messages(schema, { repos: 'gcr.io/' })).toEqual([
      'spec.parameters.repos: Invalid value: "string": spec.parameters.repos in body must be of type array: "string"',
    ]);
  });
});

describe('applyParameterSchema defaulting', () => {
  it('fills a missing field of an existing parameters object', () => {
    expect(applyParameterSchema(compile(STORAGE_CLASS), { allowedStorageClasses: ['standard'] }).value).toEqual({
      allowedStorageClasses: ['standard'],
      includeStorageClassesInMessage: true,
    });
    expect(applyParameterSchema(compile(STORAGE_CLASS), {}).value).toEqual({ includeStorageClassesInMessage: true });
  });

  it('keeps a value the constraint sets', () => {
    expect(applyParameterSchema(compile(STORAGE_CLASS), { includeStorageClassesInMessage: false }).value).toEqual({
      includeStorageClassesInMessage: false,
    });
  });

  it('does not create absent parameters, unless the parameters schema itself has a default', () => {
    expect(applyParameterSchema(compile(STORAGE_CLASS), undefined).value).toBeUndefined();
    const withRootDefault = compile(`
type: object
default: {}
properties:
  includeStorageClassesInMessage: {type: boolean, default: true}
`);
    expect(applyParameterSchema(withRootDefault, undefined).value).toEqual({ includeStorageClassesInMessage: true });
  });

  it('defaults fields of objects inside arrays and additionalProperties', () => {
    const schema = compile(`
type: object
properties:
  labels:
    type: array
    items:
      type: object
      properties:
        key: {type: string}
        allowedRegex: {type: string, default: '.*'}
  limits:
    type: object
    additionalProperties:
      type: object
      properties:
        enforce: {type: boolean, default: true}
`);
    expect(applyParameterSchema(schema, { labels: [{ key: 'owner' }, { key: 'team', allowedRegex: '^a' }], limits: { cpu: {} } }).value).toEqual({
      labels: [{ key: 'owner', allowedRegex: '.*' }, { key: 'team', allowedRegex: '^a' }],
      limits: { cpu: { enforce: true } },
    });
  });

  it('does not create a missing parent object to hold a nested default', () => {
    const schema = compile(`
type: object
properties:
  runAsUser:
    type: object
    properties:
      rule: {type: string, default: RunAsAny}
`);
    expect(applyParameterSchema(schema, {}).value).toEqual({});
    expect(applyParameterSchema(schema, { runAsUser: {} }).value).toEqual({ runAsUser: { rule: 'RunAsAny' } });
  });

  it('replaces a null of a non-nullable field with its default, and applies defaults inside defaults', () => {
    const schema = compile(`
type: object
properties:
  disallowAuthenticated: {type: boolean, default: false}
  runAsUser:
    type: object
    default: {}
    properties:
      rule: {type: string, default: MustRunAsNonRoot}
`);
    expect(applyParameterSchema(schema, { disallowAuthenticated: null }).value).toEqual({
      disallowAuthenticated: false,
      runAsUser: { rule: 'MustRunAsNonRoot' },
    });
  });

  it('does not change the parameters it was given', () => {
    const parameters = { allowedStorageClasses: ['standard'] };
    applyParameterSchema(compile(STORAGE_CLASS), parameters);
    expect(parameters).toEqual({ allowedStorageClasses: ['standard'] });
  });
});
