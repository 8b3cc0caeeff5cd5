// Gatekeeper's match, per object: which constraints apply to each object under review (the object
// from the repository and the objects it implies), with the action each result will carry. A
// constraint whose match cannot be decided for an object autorejects it, as Gatekeeper does.
import type { ReviewTarget } from '../expand/expansion.js';
import type { EnforcementAction } from '../model.js';
import type { Constraint } from '../policy/constraint.js';
import type { MatchTarget } from '../policy/constraint-match.js';
import { AUDIT_ENFORCEMENT_POINT, effectiveAction, WEBHOOK_ENFORCEMENT_POINT } from '../policy/enforcement.js';
import type { SourceObject } from '../repo/cluster-objects.js';
import { gvkOf, type KubernetesObject } from '../repo/kubernetes.js';

/** One constraint applying to one object under review. */
export interface Match {
  source: SourceObject;
  target: ReviewTarget;
  /** The object's Namespace, when the repository or the cluster has it: `input.review.namespaceObject`. */
  namespace: KubernetesObject | undefined;
  constraint: Constraint;
  action: EnforcementAction;
}

/** A match that could not be decided: Gatekeeper's autorejection, with its message. */
export interface Autorejection extends Match {
  message: string;
}

export class ConstraintMatcher {
  /** Each constraint's action at the webhook; null for a constraint that runs at neither point. */
  private readonly actions = new Map<Constraint, EnforcementAction | null>();
  private readonly auditOnly = new Set<Constraint>();

  constructor(
    private readonly constraints: readonly Constraint[],
    private readonly namespaces: ReadonlyMap<string, KubernetesObject>,
  ) {
    for (const constraint of constraints) {
      // The webhook's action decides what blocks. A constraint scoped to audit only never rejects
      // anything, but the cluster's audit still lists its results: report them, as dryrun.
      const atWebhook = effectiveAction(constraint.spec, WEBHOOK_ENFORCEMENT_POINT);
      if (atWebhook === null && effectiveAction(constraint.spec, AUDIT_ENFORCEMENT_POINT) !== null) this.auditOnly.add(constraint);
      this.actions.set(constraint, atWebhook ?? (this.auditOnly.has(constraint) ? 'dryrun' : null));
    }
  }

  /** The constraints that apply to each target of `source`, in target then constraint order. */
  match(source: SourceObject, targets: readonly ReviewTarget[]): { matches: Match[]; autorejections: Autorejection[] } {
    const matches: Match[] = [];
    const autorejections: Autorejection[] = [];
    const ns = source.object.metadata.namespace;
    const namespace = typeof ns === 'string' ? this.namespaces.get(ns) : undefined;
    for (const target of targets) {
      const matchTarget: MatchTarget = {
        object: target.object,
        ...gvkOf(target.object),
        namespace: namespace ?? null,
        source: target.resultant ? 'Generated' : 'Original',
      };
      for (const constraint of this.constraints) {
        const base = this.actions.get(constraint);
        if (base === null || base === undefined) continue;
        // An ExpansionTemplate's override applies where the constraint runs; audit-only results never block.
        const override = this.auditOnly.has(constraint) ? undefined : (target.resultant?.template.enforcementAction as EnforcementAction | undefined);
        const match: Match = { source, target, namespace, constraint, action: override ?? base };
        const matched = constraint.matches(matchTarget);
        if (matched.matches === false) continue;
        if (matched.matches === 'error') autorejections.push({ ...match, message: matched.message });
        else matches.push(match);
      }
    }
    return { matches, autorejections };
  }
}
