// Gatekeeper's generator-resource expansion (pkg/expansion/system.go): a workload is also reviewed as
// the Pod it creates, and that Pod's results are reported on the workload with `[Implied by <name>] `.
import { isRecord, type InputError } from '../model.js';
import type { ExpansionTemplate } from '../policy/expansion-template.js';
import type { SourceObject } from '../repo/cluster-objects.js';
import { gvkOf, type GroupVersionKind, type KubernetesObject } from '../repo/kubernetes.js';

const MAX_DEPTH = 30;

export interface Resultant {
  object: KubernetesObject;
  /** The template that generated this object directly: its name is the `[Implied by]` prefix. */
  template: ExpansionTemplate;
  /** Where the generated object's source sits inside the object in the file. */
  sourcePath: string[];
}

/**
 * Every object the given object expands into, recursively (a CronJob may yield a Job, then a Pod).
 * A template whose source field is missing yields an error, as Gatekeeper's expansion does.
 */
export function expand(object: KubernetesObject, templates: ExpansionTemplate[]): { resultants: Resultant[]; errors: string[] } {
  const resultants: Resultant[] = [];
  const errors: string[] = [];
  const visit = (parent: KubernetesObject, parentPath: string[], depth: number) => {
    if (depth >= MAX_DEPTH) return;
    const gvk = gvkOf(parent);
    for (const template of templates) {
      if (!template.applyTo.some((a) => a.groups.includes(gvk.group) && a.kinds.includes(gvk.kind) && a.versions.includes(gvk.version))) continue;
      const source = get(parent, template.templateSource);
      if (!isRecord(source)) {
        errors.push(`cannot expand ${gvk.kind} with ExpansionTemplate ${template.name}: ${template.templateSource.join('.')} is missing`);
        continue;
      }
      const child = generate(parent, source, template.generatedGVK);
      const sourcePath = [...parentPath, ...template.templateSource];
      resultants.push({ object: child, template, sourcePath });
      visit(child, sourcePath, depth + 1);
    }
  };
  visit(object, [], 0);
  return { resultants, errors };
}

function generate(parent: KubernetesObject, source: Record<string, unknown>, gvk: GroupVersionKind): KubernetesObject {
  const copy = structuredClone(source);
  const metadata = isRecord(copy.metadata) ? copy.metadata : {};
  const parentName = typeof parent.metadata.name === 'string' ? parent.metadata.name : '';
  metadata.name = `${parentName}-${gvk.kind}`.toLowerCase(); // mockNameForResource lower-cases it all
  if (typeof parent.metadata.namespace === 'string' && parent.metadata.namespace !== '') metadata.namespace = parent.metadata.namespace;
  // ensureOwnerReference: none for a parent without a name (generateName only), no duplicates, and
  // `uid` is always there because metav1.OwnerReference serialises it without omitempty.
  const owners = Array.isArray(metadata.ownerReferences) ? metadata.ownerReferences : [];
  const owned = owners.some((ref) => isRecord(ref) && ref.apiVersion === parent.apiVersion && ref.kind === parent.kind && ref.name === parentName);
  if (parentName !== '' && !owned) metadata.ownerReferences = [...owners, { apiVersion: parent.apiVersion, kind: parent.kind, name: parentName, uid: '' }];
  const { metadata: _ignored, ...rest } = copy;
  return {
    apiVersion: gvk.group === '' ? gvk.version : `${gvk.group}/${gvk.version}`,
    kind: gvk.kind,
    metadata,
    ...rest,
  };
}

function get(value: unknown, path: string[]): unknown {
  let node = value;
  for (const segment of path) {
    if (!isRecord(node)) return undefined;
    node = node[segment];
  }
  return node;
}

/** An object under review: one from the repository, or one that it implies. */
export interface ReviewTarget {
  object: KubernetesObject;
  /** Set for an implied object: how it was generated. */
  resultant?: Resultant;
}

/**
 * What Gatekeeper reviews for one object of the repository: the object itself, then every object
 * it implies; a template that cannot expand it is an error on the object's `kind:` line.
 */
export function reviewTargets(source: SourceObject, templates: ExpansionTemplate[]): { targets: ReviewTarget[]; errors: InputError[] } {
  const expanded = expand(source.object, templates);
  return {
    targets: [{ object: source.object }, ...expanded.resultants.map((resultant) => ({ object: resultant.object, resultant }))],
    errors: expanded.errors.map((message) => ({ location: { file: source.doc.file, line: source.doc.kindLine }, code: 'expansion', message })),
  };
}
