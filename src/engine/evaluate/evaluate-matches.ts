// Evaluation of one cluster's matches on the policy driver, and Gatekeeper's way of turning results,
// autorejections and errors into violations.
import type { Resultant } from '../expand/expansion.js';
import type { Autorejection, Match } from '../match/match-objects.js';
import { isRecord, type EnforcementAction, type InputError, type PolicyEngine } from '../model.js';
import type { Constraint } from '../policy/constraint.js';
import type { PolicySet } from '../policy/policy-set.js';
import type { ConstraintTemplate } from '../policy/template.js';
import type { EvaluationTask, PolicyDriver, TaskOutcome } from '../ports.js';
import type { SourceObject } from '../repo/cluster-objects.js';
import { buildReview } from './review.js';

export interface PendingViolation {
  source: SourceObject;
  resultant?: Resultant;
  constraint: Constraint;
  action: EnforcementAction;
  message: string;
  details: unknown;
  /** The engine that evaluated; absent for autorejections. */
  engine?: PolicyEngine;
  cluster: string;
  /**
   * False for autorejections and evaluation errors: Security Tower's acceptances live in the policies'
   * Rego, so they can only ever suppress what a template reports, never a failure around it.
   */
  acceptable: boolean;
}

type PendingItem = Omit<PendingViolation, 'message' | 'details' | 'acceptable'>;

export interface PreparedChunk {
  tasks: EvaluationTask[];
  items: PendingItem[];
}

/** Evaluates one cluster's matches and collects what they report. */
export class ClusterEvaluation {
  readonly violations: PendingViolation[] = [];
  readonly errors: InputError[] = [];
  evaluations = 0;
  /** Objects under review whose evaluations were dropped because the check was stopped (its signal). */
  notEvaluated = 0;
  private readonly parameters = new Map<Constraint, number>();
  /** Templates the driver stopped (out of time or memory): the error, and the objects not evaluated since. */
  private readonly stopped = new Map<ConstraintTemplate, { error: string; objects: Set<SourceObject> }>();

  constructor(
    private readonly cluster: string,
    private readonly policies: PolicySet,
    /** The driver's id of `data.inventory`, 0 when no template reads it. */
    private readonly dataId: number,
    private readonly driver: PolicyDriver,
  ) {
    for (const constraint of policies.constraints) {
      const loaded = policies.templates.get(constraint.kind)!;
      const parameters = evaluationParameters(constraint);
      this.parameters.set(constraint, driver.addText(loaded.engine === 'K8sNativeValidation' ? celConstraint(constraint, JSON.parse(parameters)) : parameters));
    }
  }

  /** The driver's ids of the constraints' parameters, to release when the cluster is done. */
  parameterIds(): number[] {
    return [...this.parameters.values()];
  }

  /** Gatekeeper reports an autorejection as a result of the constraint, carrying the match's error. */
  autoreject(autorejections: readonly Autorejection[]): void {
    for (const a of autorejections) this.violations.push({ ...this.item(a), message: prefixed(a.target.resultant, a.message), details: {}, acceptable: false });
  }

  /** The evaluations of `matches`: one review per object under review, shared by its constraints. */
  prepare(matches: readonly Match[]): PreparedChunk {
    const tasks: EvaluationTask[] = [];
    const items: PendingItem[] = [];
    const reviews = new Map<Match['target'], string>();
    for (const match of matches) {
      let review = reviews.get(match.target);
      if (review === undefined) {
        review = JSON.stringify(buildReview(match.target.object, {}, match.namespace));
        reviews.set(match.target, review);
      }
      const loaded = this.policies.templates.get(match.constraint.kind)!;
      tasks.push({ template: loaded.moduleId, data: needsInventory(loaded) ? this.dataId : 0, parameters: this.parameters.get(match.constraint)!, review });
      items.push({ ...this.item(match), engine: loaded.engine });
    }
    return { tasks, items };
  }

  /**
   * Evaluates a chunk of `objects` objects under review. When `signal` stops it, its results are
   * dropped and its objects counted in `notEvaluated`.
   */
  async run({ tasks, items }: PreparedChunk, objects: number, signal?: AbortSignal): Promise<void> {
    let outcomes: TaskOutcome[];
    try {
      outcomes = await this.driver.evaluate(tasks, { signal });
    } catch (error) {
      if (!signal?.aborted || error !== signal.reason) throw error;
      this.notEvaluated += objects;
      return;
    }
    this.evaluations += tasks.length;
    const shared = sharedRegoErrors(items, outcomes);
    outcomes.forEach((outcome, i) => {
      const error = shared[i];
      if (error === undefined) this.collect(items[i]!, outcome);
      // A constraint that failed with another error reports that one as its input error.
      else if ('error' in outcome) this.failed(items[i]!, error, { own: outcome.error });
      else this.failed(items[i]!, error, { spread: true });
    });
  }

  /**
   * Gatekeeper turns an evaluation error into a result of the constraint carrying the error text; it
   * is also an input error, so it fails the check whatever the constraint's action (unless the
   * template's problem was already reported when it was loaded). A constraint that only received
   * another constraint's error (`spread`) adds no input error of its own: that one says it; one that
   * failed with its `own` error and received another's says its own.
   */
  private failed(item: PendingItem, error: string, { spread = false, own = error }: { spread?: boolean; own?: string } = {}): void {
    this.violations.push({ ...item, message: prefixed(item.resultant, error), details: {}, acceptable: false });
    if (spread || this.policies.templates.get(item.constraint.kind)?.reportedProblems) return;
    const { object, doc } = item.source;
    this.errors.push({
      location: { file: doc.file, line: doc.kindLine },
      code: 'evaluation',
      message: `${item.constraint.kind} ${item.constraint.name} could not be evaluated on ${object.kind} ${String(object.metadata.name ?? '')}: ${own}`,
    });
  }

  /**
   * One error per template the driver stopped, at the template: each of its evaluations after the
   * first that ran out of time or memory was skipped, and saying so once per object would bury the rest.
   */
  stoppedTemplateErrors(): InputError[] {
    return [...this.stopped].map(([template, { error, objects }]) => ({
      location: template.location,
      code: 'limit',
      message:
        `ConstraintTemplate ${template.name} was stopped for the rest of the check after an evaluation of it failed (${error}); ` +
        `${objects.size} more ${objects.size === 1 ? 'object was' : 'objects were'} not evaluated against it`,
    }));
  }

  private item(match: Match): PendingItem {
    return { source: match.source, resultant: match.target.resultant, constraint: match.constraint, action: match.action, cluster: this.cluster };
  }

  private collect(item: PendingItem, outcome: TaskOutcome): void {
    if ('error' in outcome && outcome.skipped) {
      const template = item.constraint.template;
      const stopped = this.stopped.get(template) ?? { error: outcome.error, objects: new Set<SourceObject>() };
      stopped.objects.add(item.source);
      this.stopped.set(template, stopped);
      return;
    }
    if ('error' in outcome) {
      this.failed(item, outcome.error);
      return;
    }
    for (const error of outcome.errors ?? []) this.failed(item, error);
    for (const result of outcome.results) {
      if (!isRecord(result) || !('msg' in result)) continue; // Gatekeeper's hook drops results without msg
      if (typeof result.msg !== 'string') {
        this.violations.push({ ...item, message: prefixed(item.resultant, `result msg is not a string: ${JSON.stringify(result.msg)}`), details: {}, acceptable: false });
        continue;
      }
      this.violations.push({ ...item, message: prefixed(item.resultant, result.msg), details: result.details ?? {}, acceptable: true });
    }
  }
}

/**
 * Gatekeeper's Rego driver evaluates all the constraints of one kind that match an object in one
 * query; when that query fails, every one of those constraints gets the error as its only result,
 * even those whose own evaluation succeeds (frameworks' rego driver, Query; gator shows the same).
 * Parapet evaluates each constraint alone, so it spreads the error the same way: for each object
 * under review and kind, the first failing constraint's error (in constraint order) replaces the
 * results of every other constraint of that kind, those that failed with another error too. Go
 * meets first the error of the constraint its query evaluates first: the query lists them in the
 * order of a Go map of the template's constraints, random per review, most often the order they
 * were added in (gator: file order; test/gator/runtime-errors.test.ts), which is Parapet's
 * constraint order. Per index: the error an item takes from another, else undefined.
 */
function sharedRegoErrors(items: readonly PendingItem[], outcomes: readonly TaskOutcome[]): Array<string | undefined> {
  const groups = new Map<SourceObject, Map<Resultant | undefined, Map<string, number[]>>>();
  items.forEach((item, i) => {
    if (item.engine !== 'Rego') return;
    const byTarget = groups.get(item.source) ?? new Map<Resultant | undefined, Map<string, number[]>>();
    groups.set(item.source, byTarget);
    const byKind = byTarget.get(item.resultant) ?? new Map<string, number[]>();
    byTarget.set(item.resultant, byKind);
    const indexes = byKind.get(item.constraint.kind) ?? [];
    byKind.set(item.constraint.kind, indexes);
    indexes.push(i);
  });
  const shared: Array<string | undefined> = [];
  for (const byTarget of groups.values()) {
    for (const byKind of byTarget.values()) {
      for (const indexes of byKind.values()) {
        if (indexes.length < 2) continue;
        const failing = indexes.find((i) => {
          const outcome = outcomes[i]!;
          return 'error' in outcome && !outcome.skipped;
        });
        if (failing === undefined) continue;
        const error = (outcomes[failing] as { error: string }).error;
        for (const i of indexes) {
          const outcome = outcomes[i]!;
          if (i !== failing && !('error' in outcome && outcome.skipped)) shared[i] = error;
        }
      }
    }
  }
  return shared;
}

function prefixed(resultant: Resultant | undefined, message: string): string {
  return resultant ? `[Implied by ${resultant.template.name}] ${message}` : message;
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

/**
 * The constraint as Gatekeeper's CEL driver receives it: as written, with `spec.parameters` replaced
 * by `parameters` (defaulted). Without `spec.parameters` the template's `variables.params` is null,
 * so none is added.
 */
export function celConstraint(constraint: Constraint, parameters: unknown = constraint.parameters): string {
  const spec = isRecord(constraint.document.spec) ? constraint.document.spec : undefined;
  if (!spec || !('parameters' in spec)) return JSON.stringify(constraint.document);
  return JSON.stringify({ ...constraint.document, spec: { ...spec, parameters } });
}

/** Whether evaluating the template in a check reads `data.inventory` (acceptances are off there). */
export function needsInventory(loaded: { usesInventory: boolean; template: { inventoryOnlyForAcceptances: boolean } }): boolean {
  return loaded.usesInventory && !loaded.template.inventoryOnlyForAcceptances;
}
