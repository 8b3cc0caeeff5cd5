// Where Security Tower's risk acceptances may be written for a violation (security-tower.md §4), and
// the acceptances that are errors because they give no reason.
import type { PendingViolation } from '../evaluate/evaluate-matches.js';
import { type InputError, isRecord } from '../model.js';
import type { SourceObject } from '../repo/cluster-objects.js';
import { fieldLocation } from '../render/origin-lines.js';
import { annotationsAt, blankExclusions, podTemplatePath, type AcceptanceSource } from './risk-acceptance.js';

/** Owners by kind/namespace/name, for acceptances inherited through ownerReferences. */
export class OwnerIndex {
  private readonly byKey = new Map<string, SourceObject>();

  constructor(objects: SourceObject[]) {
    for (const source of objects) this.byKey.set(this.key(source.object.kind, source.object.metadata.namespace, source.object.metadata.name), source);
  }

  /** Owners and their owners (two levels), as Security Tower's Rego looked them up. */
  ownersOf(source: SourceObject): SourceObject[] {
    const found: SourceObject[] = [];
    const visit = (child: SourceObject, depth: number) => {
      if (depth > 2) return;
      const refs = child.object.metadata.ownerReferences;
      if (!Array.isArray(refs)) return;
      for (const ref of refs) {
        if (!isRecord(ref)) continue;
        const owner = this.byKey.get(this.key(ref.kind, child.object.metadata.namespace, ref.name));
        if (owner && !found.includes(owner)) {
          found.push(owner);
          visit(owner, depth + 1);
        }
      }
    };
    visit(source, 1);
    return found;
  }

  private key(kind: unknown, namespace: unknown, name: unknown): string {
    return `${String(kind)}/${String(namespace ?? '')}/${String(name)}`;
  }
}

/**
 * Where an acceptance of this violation may be written. A template that honours acceptances in its
 * own Rego sees the evaluated object (for an implied Pod: the workload's pod template) and its
 * Namespace, and, when it looks up owners as Security Tower's did, its owners: for an implied Pod
 * the workload itself, whose own annotation then accepts the Pods it creates. Only those count:
 * Parapet must not accept what the cluster will reject. For other templates, Security Tower's
 * levels apply: the object (the workload, for its implied Pods), its pod template, its Namespace,
 * its owners.
 */
export function acceptanceSources(
  pending: PendingViolation,
  namespaces: Map<string, SourceObject>,
  owners: OwnerIndex,
  /** Whether Gatekeeper syncs the object into data.inventory, where such templates look owners up. */
  inInventory: (source: SourceObject) => boolean = () => true,
): Array<AcceptanceSource<SourceObject>> {
  const { source, resultant } = pending;
  const sources: Array<AcceptanceSource<SourceObject>> = [];
  const add = (level: AcceptanceSource<SourceObject>['level'], origin: SourceObject, path: string[], throughInventory = false) => {
    const annotations = annotationsAt(origin.object, path);
    if (annotations) sources.push({ level, annotations, path: [...path, 'metadata', 'annotations'], origin, ...(throughInventory ? { throughInventory: true as const } : {}) });
  };
  const ns = source.object.metadata.namespace;
  const namespace = typeof ns === 'string' ? namespaces.get(ns) : undefined;
  const { template } = pending.constraint;
  if (template.handlesRiskAcceptances) {
    if (resultant) add('podTemplate', source, resultant.sourcePath);
    else add('object', source, []);
    if (namespace && namespace !== source) add('namespace', namespace, []);
    if (template.acceptsThroughOwners) {
      // Read from data.inventory: the workload the implied Pod names as its owner, and the owners.
      if (resultant && inInventory(source)) add('object', source, [], true);
      for (const owner of owners.ownersOf(source)) if (inInventory(owner)) add('owner', owner, [], true);
    }
    return sources;
  }
  add('object', source, []);
  const templatePath = podTemplatePath(source.object);
  if (templatePath) add('podTemplate', source, templatePath);
  if (namespace && namespace !== source) add('namespace', namespace, []);
  for (const owner of owners.ownersOf(source)) add('owner', owner, []);
  return sources;
}

export function blankAcceptanceErrors(source: SourceObject): InputError[] {
  const errors: InputError[] = [];
  const paths = [[], ...(podTemplatePath(source.object) ? [podTemplatePath(source.object)!] : [])];
  for (const path of paths) {
    const annotations = annotationsAt(source.object, path);
    if (!annotations) continue;
    for (const key of blankExclusions(annotations)) {
      errors.push({
        location: fieldLocation(source.doc, [...path, 'metadata', 'annotations', key]),
        code: 'acceptance',
        message: `risk acceptance ${key} has no reason; write why the risk is accepted (it accepts nothing until then)`,
      });
    }
  }
  return errors;
}
