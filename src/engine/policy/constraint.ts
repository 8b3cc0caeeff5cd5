// Constraints as Gatekeeper admits them: group/version, kind, name, the generated CRD schema
// (match, enforcementAction, scopedEnforcementActions, parameters) and parameter defaulting.
import { type InputError, isRecord, type Location } from '../model.js';
import { compileMatch, type MatchResult, type MatchTarget } from './constraint-match.js';
import { enforcementProblems } from './enforcement.js';
import { lineOfPath, type LineNode } from '../repo/yaml-file.js';
import type { ConstraintTemplate } from './template.js';
import { applyParameterSchema, type ParameterSchema } from './schema/index.js';
import { formatFieldPath } from '../go/field-errors.js';

export const CONSTRAINT_GROUP = 'constraints.gatekeeper.sh';
const CONSTRAINT_VERSIONS = new Set(['v1beta1', 'v1alpha1']);
const SPEC_FIELDS = new Set(['match', 'enforcementAction', 'scopedEnforcementActions', 'parameters']);
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export interface Constraint {
  kind: string;
  name: string;
  location: Location;
  template: ConstraintTemplate;
  /** spec.parameters after schema defaulting; `{}` when absent, as Gatekeeper passes it. */
  parameters: unknown;
  /** `parameters` as JSON, spliced into every review input. */
  parametersJson: string;
  spec: Record<string, unknown>;
  /** The constraint as written, which Gatekeeper's CEL driver receives (with `parameters` defaulted). */
  document: Record<string, unknown>;
  matches: (target: MatchTarget) => MatchResult;
  /** `parameters.ignoreRiskAcceptances: true` turns risk acceptances off for this constraint. */
  ignoreRiskAcceptances: boolean;
}

export function isConstraintDocument(value: unknown): boolean {
  return isRecord(value) && typeof value.apiVersion === 'string' && value.apiVersion.startsWith(`${CONSTRAINT_GROUP}/`);
}

/**
 * Reads a constraint against its template; the errors are those Gatekeeper would reject it with,
 * each on the line of the field it is about when `lines` are given.
 */
export function readConstraint(
  value: Record<string, unknown>,
  location: Location,
  templates: Map<string, { template: ConstraintTemplate; schema: ParameterSchema | undefined }>,
  lines?: LineNode,
): { constraint?: Constraint; errors: InputError[] } {
  const errors: InputError[] = [];
  const kind = String(value.kind ?? '');
  const metadata = isRecord(value.metadata) ? value.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  const label = `${kind || 'Constraint'} ${name || '(unnamed)'}`;
  const fail = (message: string, code: InputError['code'] = 'constraint', path: Array<string | number> = []) => {
    const line = lines && path.length > 0 ? lineOfPath(lines, path).line : location.line;
    errors.push({ location: { ...location, line }, code, message: `${label}: ${message}` });
  };

  const version = String(value.apiVersion).slice(CONSTRAINT_GROUP.length + 1);
  if (!CONSTRAINT_VERSIONS.has(version)) {
    fail(`apiVersion ${String(value.apiVersion)} is not served; Gatekeeper serves ${CONSTRAINT_GROUP}/v1beta1 and /v1alpha1`);
  }
  if (!name) fail('metadata.name is required');
  else if (name.length > 63 || !DNS_SUBDOMAIN.test(name)) {
    fail('metadata.name must be a lower-case DNS subdomain of at most 63 characters');
  }
  const entry = [...templates.values()].find((t) => t.template.kind === kind);
  if (!entry) {
    fail(`no ConstraintTemplate defines the kind ${kind}; add its template to the policies folder`);
    return { errors };
  }
  const spec = value.spec === undefined || value.spec === null ? {} : value.spec;
  if (!isRecord(spec)) {
    fail('spec must be a mapping', 'schema');
    return { errors };
  }
  for (const field of Object.keys(spec)) {
    if (!SPEC_FIELDS.has(field)) fail(`spec.${field}: unknown field`, 'schema', ['spec', field]);
  }
  for (const problem of enforcementProblems(spec)) fail(problem, 'constraint', ['spec', 'enforcementAction']);
  const match = compileMatch(spec.match);
  for (const problem of match.problems) {
    fail(`${formatFieldPath(['spec', 'match', ...problem.path])}: ${problem.message}`, 'schema', ['spec', 'match', ...problem.path.map(segment)]);
  }

  let parameters: unknown = spec.parameters ?? {};
  if (entry.schema) {
    const applied = applyParameterSchema(entry.schema, spec.parameters);
    // gator counts only validation failures as schema errors (`invalid: true`); an unknown field is
    // a different rejection of the constraint.
    for (const problem of applied.problems) fail(problem.message, problem.kind === 'schema' ? 'schema' : 'constraint', problem.path.map(segment));
    parameters = applied.value ?? {};
  }
  if (errors.length > 0) return { errors };
  return {
    errors,
    constraint: {
      kind,
      name,
      location,
      template: entry.template,
      parameters,
      parametersJson: JSON.stringify(parameters),
      spec,
      document: value,
      matches: match.matcher,
      ignoreRiskAcceptances: isRecord(parameters) && parameters.ignoreRiskAcceptances === true,
    },
  };
}

/** Field paths arrive as strings; list indexes address sequence items. */
function segment(part: string): string | number {
  return /^\d+$/.test(part) ? Number(part) : part;
}
