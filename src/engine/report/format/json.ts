// `parapet check --format json`: the machine-readable contract of cli.md. Scripts depend on the
// field names and their order, so this module spells every object out instead of serialising the
// Report: a field added to the model never leaks into the output by accident.
import type { Acceptance, InputError, ObjectRef, PolicyEngine, Report, Violation } from '../../model.js';
import { compareErrors, compareViolations } from '../sort.js';

export interface JsonOptions {
  /** The check compared against a base (`--base`): every violation carries `status`. */
  withStatus: boolean;
}

export interface JsonReport {
  clusters: JsonCluster[];
  /**
   * Errors that belong to no cluster (a `.securitytower/` file that does not parse, for example).
   * cli.md only shows `clusters`; a top-level `errors` array is a compatible extension, and it is
   * always present (possibly empty) so scripts can read it without checking for it.
   */
  errors: JsonError[];
  /** YAML files no checked cluster applies, so not evaluated; present when there are any. */
  notApplied?: string[];
}

export interface JsonCluster {
  name: string;
  config: string;
  violations: JsonViolation[];
  errors: JsonError[];
  /** Lines the appliers' YAML decoders read differently; they do not fail the check. */
  warnings?: JsonError[];
  /** What Parapet could not render (a chart from a Helm repository): not judged, not a failure. */
  notices?: JsonError[];
  /** The builds rendering ran (kustomize, Flux, Helm), those the render cache answered, and their time; present when there were any. */
  render?: { builds: number; cached: number; seconds: number };
}

export interface JsonViolation {
  policy: string;
  constraint: string;
  enforcementAction: Violation['enforcementAction'];
  message: string;
  file: string;
  line: number;
  /** `namespace` is absent for cluster-scoped objects, as in Kubernetes itself. */
  object: ObjectRef;
  accepted: boolean;
  acceptance: JsonAcceptance | null;
  /** The engine that produced the result (`Rego` or `K8sNativeValidation`); null for autorejections. */
  engine: PolicyEngine | null;
  /** Only with `withStatus`; `null` if the violation was never compared (a caller's mistake, shown rather than hidden). */
  status?: 'new' | 'existing' | null;
}

export interface JsonAcceptance {
  reason: string;
  level: Acceptance['level'];
  annotation: string;
}

/** cli.md shows file, line and message; `code` is a compatible extension that lets scripts tell errors apart. */
export interface JsonError {
  file: string;
  line: number;
  message: string;
  code: InputError['code'];
}

/** Renders the Report as cli.md's JSON document, pretty-printed, with a final newline. */
export function formatJson(report: Report, options: JsonOptions): string {
  return `${JSON.stringify(toJsonReport(report, options), null, 2)}\n`;
}

/** The JSON document as a value, for adapters that embed it rather than print it. */
export function toJsonReport(report: Report, options: JsonOptions): JsonReport {
  return {
    clusters: report.clusters.map((cluster) => ({
      name: cluster.name,
      config: cluster.config,
      violations: [...cluster.violations].sort(compareViolations).map((violation) => jsonViolation(violation, options)),
      errors: [...cluster.errors].sort(compareErrors).map(jsonError),
      ...(cluster.warnings && cluster.warnings.length > 0 ? { warnings: [...cluster.warnings].sort(compareErrors).map(jsonError) } : {}),
      ...(cluster.notices && cluster.notices.length > 0 ? { notices: [...cluster.notices].sort(compareErrors).map(jsonError) } : {}),
      ...(cluster.stats.renders ? { render: { builds: cluster.stats.renders.builds, cached: cluster.stats.renders.cached, seconds: Math.round(cluster.stats.renders.ms) / 1000 } } : {}),
    })),
    errors: [...report.errors].sort(compareErrors).map(jsonError),
    ...(report.notApplied && report.notApplied.length > 0 ? { notApplied: [...report.notApplied] } : {}),
  };
}

function jsonViolation(violation: Violation, options: JsonOptions): JsonViolation {
  const json: JsonViolation = {
    policy: violation.policy,
    constraint: violation.constraint,
    enforcementAction: violation.enforcementAction,
    message: violation.message,
    file: violation.location.file,
    line: violation.location.line,
    object: jsonObject(violation.object),
    accepted: violation.acceptance !== null,
    acceptance: violation.acceptance === null ? null : { reason: violation.acceptance.reason, level: violation.acceptance.level, annotation: violation.acceptance.annotation },
    engine: violation.engine ?? null,
  };
  if (options.withStatus) json.status = violation.status ?? null;
  return json;
}

function jsonObject(object: ObjectRef): ObjectRef {
  const json: ObjectRef = { apiVersion: object.apiVersion, kind: object.kind, name: object.name };
  if (object.namespace !== undefined) json.namespace = object.namespace;
  return json;
}

function jsonError(error: InputError): JsonError {
  return { file: error.location.file, line: error.location.line, message: error.message, code: error.code };
}
