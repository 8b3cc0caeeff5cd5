// The structural OpenAPI v3 handling that Gatekeeper applies to a Constraint's `spec.parameters`, mirrored
// from the Go code it runs (read 2026-11). This file holds the two entry points and runs the steps in the
// order Gatekeeper does; each step lives in the file that mirrors its Go code:
//
// - Template side (compileParameterSchema): FW `client.go createCRD` builds the constraint CRD with the
//   template schema at `spec.properties.parameters` (FW `crds/schema.go createSchema`) and runs apiextensions
//   `ValidateCustomResourceDefinition` on it. decode.ts reads the schema as Go decodes it, template-checks.ts
//   is that CRD validation, and compile.ts turns the schema into the nodes the constraint side walks.
// - Constraint side (applyParameterSchema): FW `crds/validate.go ValidateCR` validates with kube-openapi's
//   `SchemaValidator` (validate.ts, with the formats in formats.ts), and only when that passes prunes with
//   unknown-field tracking (`pruning.PruneWithOptions`); FW `template_client.go ApplyDefaultParams` then runs
//   `structuraldefaulting.Default` on the *validated* object, so defaults themselves are never re-validated
//   at this point (the template's CRD validation already checked them). Both are in prune-and-default.ts.
// - go-values.ts prints values the way Go does, so that every message reads exactly like Gatekeeper's.
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
// Known differences from Gatekeeper are listed in the file whose Go code they concern.
import type { RE2JS } from 're2js';
import { compareStrings } from '../../go/strings.js';
import { addPreserveUnknownFields, parseRawSchema } from './decode.js';
import { buildNode } from './compile.js';
import { deepCopy, float64View } from './go-values.js';
import { applyDefaults, pruneWalk, type UnknownField } from './prune-and-default.js';
import { validateTemplateSchema } from './template-checks.js';
import { toFieldProblem, validateValue } from './validate.js';

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
    const result = validateValue(root, float64View(parameters), PARAMETERS_PATH.join('.'), PARAMETERS_PATH);
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
