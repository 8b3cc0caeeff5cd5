// Matching and evaluation of one cluster's objects: expansion, Gatekeeper's match, evaluation on the
// worker pool, and Gatekeeper's way of turning results, autorejections and errors into violations.
import { defaultExpansionTemplates, expand, type Resultant } from '../expand/expansion.js';
import { AUDIT_ENFORCEMENT_POINT, effectiveAction, WEBHOOK_ENFORCEMENT_POINT } from '../policy/enforcement.js';
import type { MatchTarget } from '../policy/constraint-match.js';
import { type EnforcementAction, type InputError, isRecord } from '../model.js';
import type { Constraint } from '../policy/constraint.js';
import type { PolicySet } from '../policy/policy-set.js';
import type { SourceObject } from '../repo/cluster-objects.js';
import { gvkOf, type KubernetesObject } from '../repo/kubernetes.js';
import type { EvaluationPool, EvaluationTask, TaskOutcome } from '../rego/evaluation-pool.js';
import { buildReview } from './review.js';

export interface PendingViolation {
  source: SourceObject;
  resultant?: Resultant;
  constraint: Constraint;
  action: EnforcementAction;
  message: string;
  details: unknown;
  cluster: string;
  /**
   * False for autorejections and evaluation errors: Security Tower's acceptances live in the policies'
   * Rego, so they can only ever suppress what a template reports, never a failure around it.
   */
  acceptable: boolean;
}

type PendingItem = Omit<PendingViolation, 'message' | 'details' | 'acceptable'>;

interface PreparedChunk {
  tasks: EvaluationTask[];
  meta: PendingItem[];
}

/** Matches and evaluates objects against one cluster's constraints. */
export class ClusterEvaluator {
  readonly violations: PendingViolation[] = [];
  readonly errors: InputError[] = [];
  evaluations = 0;
  private readonly actions = new Map<Constraint, EnforcementAction | null>();
  private readonly parameters = new Map<Constraint, number>();
  private readonly auditOnly = new Set<Constraint>();

  constructor(
    private readonly cluster: string,
    private readonly policies: PolicySet,
    private readonly namespaces: Map<string, KubernetesObject>,
    private readonly dataId: number,
    private readonly pool: EvaluationPool,
  ) {
    for (const constraint of policies.constraints) {
      // The webhook's action decides what blocks. A constraint scoped to audit only never rejects
      // anything, but the cluster's audit still lists its results: report them, as dryrun.
      const atWebhook = effectiveAction(constraint.spec, WEBHOOK_ENFORCEMENT_POINT);
      if (atWebhook === null && effectiveAction(constraint.spec, AUDIT_ENFORCEMENT_POINT) !== null) this.auditOnly.add(constraint);
      this.actions.set(constraint, atWebhook ?? (this.auditOnly.has(constraint) ? 'dryrun' : null));
      this.parameters.set(constraint, pool.addText(evaluationParameters(constraint)));
    }
  }

  parameterIds(): number[] {
    return [...this.parameters.values()];
  }

  /** Expands and matches; returns the evaluations to run. Autorejections are recorded right away. */
  prepare(sources: SourceObject[], expansionTemplates: typeof defaultExpansionTemplates, errors: InputError[]): PreparedChunk {
    const tasks: EvaluationTask[] = [];
    const meta: PendingItem[] = [];
    for (const source of sources) {
      const namespace = this.namespaceOf(source);
      const expanded = expand(source.object, expansionTemplates);
      for (const message of expanded.errors) errors.push({ location: { file: source.doc.file, line: source.doc.kindLine }, code: 'expansion', message });
      const targets: Array<{ object: typeof source.object; resultant?: Resultant }> = [{ object: source.object }, ...expanded.resultants.map((r) => ({ object: r.object, resultant: r }))];
      for (const target of targets) {
        let reviewJson: string | undefined;
        const matchTarget: MatchTarget = {
          object: target.object,
          ...gvkOf(target.object),
          namespace: namespace ?? null,
          source: target.resultant ? 'Generated' : 'Original',
        };
        for (const constraint of this.policies.constraints) {
          const base = this.actions.get(constraint);
          if (base === null || base === undefined) continue;
          // An ExpansionTemplate's override applies where the constraint runs; audit-only results never block.
          const override = this.auditOnly.has(constraint) ? undefined : (target.resultant?.template.enforcementAction as EnforcementAction | undefined);
          const action = override ?? base;
          const item = { source, resultant: target.resultant, constraint, action, cluster: this.cluster };
          const matched = constraint.matches(matchTarget);
          if (matched.matches === false) continue;
          if (matched.matches === 'error') {
            this.violations.push({ ...item, message: this.prefixed(item.resultant, matched.message), details: {}, acceptable: false });
            continue;
          }
          reviewJson ??= JSON.stringify(buildReview(target.object, {}, namespace));
          const loaded = this.policies.templates.get(constraint.kind)!;
          tasks.push({ template: loaded.moduleId, data: loaded.usesInventory ? this.dataId : 0, parameters: this.parameters.get(constraint)!, review: reviewJson });
          meta.push(item);
        }
      }
    }
    return { tasks, meta };
  }

  async run({ tasks, meta }: PreparedChunk): Promise<void> {
    this.evaluations += tasks.length;
    const outcomes = await this.pool.evaluate(tasks);
    outcomes.forEach((outcome, i) => this.collect(meta[i]!, outcome));
  }

  private collect(item: PendingItem, outcome: TaskOutcome): void {
    if ('error' in outcome) {
      // Gatekeeper turns an evaluation error into one result per constraint carrying the error text;
      // it is also an input error, so it fails the check whatever the constraint's action.
      this.violations.push({ ...item, message: this.prefixed(item.resultant, outcome.error), details: {}, acceptable: false });
      const { object, doc } = item.source;
      this.errors.push({
        location: { file: doc.file, line: doc.kindLine },
        code: 'evaluation',
        message: `${item.constraint.kind} ${item.constraint.name} could not be evaluated on ${object.kind} ${String(object.metadata.name ?? '')}: ${outcome.error}`,
      });
      return;
    }
    for (const result of outcome.results) {
      if (!isRecord(result) || !('msg' in result)) continue; // Gatekeeper's hook drops results without msg
      if (typeof result.msg !== 'string') {
        this.violations.push({ ...item, message: this.prefixed(item.resultant, `result msg is not a string: ${JSON.stringify(result.msg)}`), details: {}, acceptable: false });
        continue;
      }
      this.violations.push({ ...item, message: this.prefixed(item.resultant, result.msg), details: result.details ?? {}, acceptable: true });
    }
  }

  private prefixed(resultant: Resultant | undefined, message: string): string {
    return resultant ? `[Implied by ${resultant.template.name}] ${message}` : message;
  }

  private namespaceOf(source: SourceObject): KubernetesObject | undefined {
    const ns = source.object.metadata.namespace;
    return typeof ns === 'string' ? this.namespaces.get(ns) : undefined;
  }
}

/**
 * The parameters a constraint is evaluated with. A template that honours risk acceptances in its Rego
 * would hide accepted violations; Parapet turns that off (`ignoreRiskAcceptances: true`) and applies
 * the same acceptances itself, so they are shown and recorded, never silently absent. The verdict is
 * the cluster's either way.
 */
function evaluationParameters(constraint: Constraint): string {
  if (!constraint.template.handlesRiskAcceptances || constraint.ignoreRiskAcceptances) return constraint.parametersJson;
  return JSON.stringify({ ...(isRecord(constraint.parameters) ? constraint.parameters : {}), ignoreRiskAcceptances: true });
}
