// Security Tower's risk acceptances (security-tower.md §4): an annotation
// `securitytower.io/policy.exclusion.<policy>: <reason>` accepts the violations of one policy. The
// levels are OR-combined; unlike Security Tower, a blank reason accepts nothing and is an error,
// because an acceptance nobody can justify is not one.
import { type AcceptanceLevel, isRecord } from '../model.js';

export const EXCLUSION_PREFIXES = ['securitytower.io/policy.exclusion.', 'phylake.io/policy.exclusion.', 'cloud.syncier.com/policy.exclusion.'];

/** A set of annotations that may accept a risk, and where it is written. */
export interface AcceptanceSource<Origin> {
  level: AcceptanceLevel;
  annotations: Record<string, unknown>;
  /** Path from the document root to the annotations mapping, for line numbers. */
  path: string[];
  origin: Origin;
  /** The template's Rego finds these annotations in Gatekeeper's inventory (Acceptance.throughInventory). */
  throughInventory?: true;
}

export interface FoundAcceptance<Origin> {
  level: AcceptanceLevel;
  annotation: string;
  reason: string;
  source: AcceptanceSource<Origin>;
}

/** The first source, in level order, that accepts `policy` with a non-blank reason. */
export function findAcceptance<Origin>(policy: string, sources: Array<AcceptanceSource<Origin>>): FoundAcceptance<Origin> | undefined {
  const name = policy.toLowerCase();
  for (const source of sources) {
    for (const prefix of EXCLUSION_PREFIXES) {
      const annotation = `${prefix}${name}`;
      const reason = source.annotations[annotation];
      if (typeof reason === 'string' && reason.trim() !== '') {
        return { level: source.level, annotation, reason: reason.trim(), source };
      }
    }
  }
  return undefined;
}

/** Exclusion annotations whose reason is empty or only whitespace. */
export function blankExclusions(annotations: Record<string, unknown>): string[] {
  return Object.entries(annotations)
    .filter(([key, value]) => EXCLUSION_PREFIXES.some((p) => key.startsWith(p)) && (typeof value !== 'string' || value.trim() === ''))
    .map(([key]) => key);
}

/** Where a workload keeps its pod template's annotations (a CronJob one level deeper). */
export function podTemplatePath(object: Record<string, unknown>): string[] | undefined {
  const spec = isRecord(object.spec) ? object.spec : undefined;
  if (!spec) return undefined;
  if (isRecord(spec.template)) return ['spec', 'template'];
  const jobTemplate = isRecord(spec.jobTemplate) && isRecord(spec.jobTemplate.spec) ? spec.jobTemplate.spec : undefined;
  if (jobTemplate && isRecord(jobTemplate.template)) return ['spec', 'jobTemplate', 'spec', 'template'];
  return undefined;
}

export function annotationsAt(object: unknown, path: string[]): Record<string, unknown> | undefined {
  let node = object;
  for (const segment of [...path, 'metadata', 'annotations']) {
    if (!isRecord(node)) return undefined;
    node = node[segment];
  }
  return isRecord(node) ? node : undefined;
}
