// Gatekeeper's generator-resource expansion (pkg/expansion/system.go): a workload is also reviewed as
// the Pod it creates, and that Pod's results are reported on the workload with `[Implied by <name>] `.
import { type InputError, isRecord, type Location } from '../model.js';
import { gvkOf, type GroupVersionKind, type KubernetesObject } from '../repo/kubernetes.js';

export const EXPANSION_GROUP = 'expansion.gatekeeper.sh';
const MAX_DEPTH = 30;

export interface ExpansionTemplate {
  name: string;
  location?: Location;
  applyTo: Array<{ groups: string[]; kinds: string[]; versions: string[] }>;
  /** `spec.template` as a path. */
  templateSource: string[];
  generatedGVK: GroupVersionKind;
  /** Overrides the enforcementAction of every result on the expanded object. */
  enforcementAction?: string;
}

/** The templates Parapet uses when a repository declares none: every standard workload becomes its Pod. */
export const defaultExpansionTemplates: ExpansionTemplate[] = [
  {
    name: 'expand-workloads',
    applyTo: [
      { groups: ['apps'], kinds: ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet'], versions: ['v1'] },
      { groups: [''], kinds: ['ReplicationController'], versions: ['v1'] },
      { groups: ['batch'], kinds: ['Job'], versions: ['v1'] },
    ],
    templateSource: ['spec', 'template'],
    generatedGVK: { group: '', version: 'v1', kind: 'Pod' },
  },
  {
    name: 'expand-cronjobs',
    applyTo: [{ groups: ['batch'], kinds: ['CronJob'], versions: ['v1', 'v1beta1'] }],
    templateSource: ['spec', 'jobTemplate', 'spec', 'template'],
    generatedGVK: { group: '', version: 'v1', kind: 'Pod' },
  },
];

export function isExpansionTemplateDocument(value: unknown): boolean {
  return isRecord(value) && value.kind === 'ExpansionTemplate' && typeof value.apiVersion === 'string' && value.apiVersion.startsWith(`${EXPANSION_GROUP}/`);
}

/** Validates as Gatekeeper's ValidateTemplate does. */
export function readExpansionTemplate(value: Record<string, unknown>, location: Location): { template?: ExpansionTemplate; errors: InputError[] } {
  const metadata = isRecord(value.metadata) ? value.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  const spec = isRecord(value.spec) ? value.spec : {};
  const problems: string[] = [];
  if (name === '' || name.length >= 64) problems.push('metadata.name must be non-empty and shorter than 64 characters');
  const source = typeof spec.templateSource === 'string' ? spec.templateSource.split('.').filter(Boolean) : [];
  if (source.length === 0) problems.push('spec.templateSource is required');
  const gvk = isRecord(spec.generatedGVK) ? spec.generatedGVK : undefined;
  if (!gvk || typeof gvk.kind !== 'string' || gvk.kind === '' || typeof gvk.version !== 'string') {
    problems.push('spec.generatedGVK with kind and version is required');
  }
  const applyTo = (Array.isArray(spec.applyTo) ? spec.applyTo : []).filter(isRecord).map((entry) => ({
    groups: strings(entry.groups),
    kinds: strings(entry.kinds),
    versions: strings(entry.versions),
  }));
  if (applyTo.length === 0) problems.push('spec.applyTo is required');
  const generated: GroupVersionKind = { group: String(gvk?.group ?? ''), version: String(gvk?.version ?? ''), kind: String(gvk?.kind ?? '') };
  if (applyTo.some((a) => a.groups.includes(generated.group) && a.kinds.includes(generated.kind) && a.versions.includes(generated.version))) {
    problems.push('the template may not apply to the kind it generates');
  }
  const action = spec.enforcementAction;
  if (action !== undefined && (typeof action !== 'string' || !['deny', 'warn', 'dryrun'].includes(action))) {
    problems.push(`spec.enforcementAction ${JSON.stringify(action)} is not one of deny, warn, dryrun`);
  }
  if (problems.length > 0) {
    return { errors: problems.map((message) => ({ location, code: 'expansion', message: `ExpansionTemplate ${name || '(unnamed)'}: ${message}` })) };
  }
  return {
    errors: [],
    template: {
      name,
      location,
      applyTo,
      templateSource: source,
      generatedGVK: generated,
      enforcementAction: typeof action === 'string' ? action : undefined,
    },
  };
}

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

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
