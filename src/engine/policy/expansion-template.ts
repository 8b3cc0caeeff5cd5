// ExpansionTemplates as Gatekeeper validates them (pkg/expansion ValidateTemplate), and the ones
// Parapet applies when a repository declares none. Applying them is the expand stage's job.
import { type InputError, isRecord, type Location } from '../model.js';
import type { GroupVersionKind } from '../repo/kubernetes.js';

export const EXPANSION_GROUP = 'expansion.gatekeeper.sh';
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

/**
 * The templates Parapet uses when a repository declares none: every standard workload becomes its
 * Pod. They are policies/expansion.yaml's, the file `parapet policies enable` installs, so a
 * repository judges the same before and after it installs them (batch/v1beta1 CronJobs, which no
 * cluster since Kubernetes 1.25 serves, are not expanded there either).
 */
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
    applyTo: [{ groups: ['batch'], kinds: ['CronJob'], versions: ['v1'] }],
    templateSource: ['spec', 'jobTemplate', 'spec', 'template'],
    generatedGVK: { group: '', version: 'v1', kind: 'Pod' },
  },
  // Pod Security Admission judges a PodTemplate's Pod as it judges a Deployment's.
  {
    name: 'expand-podtemplates',
    applyTo: [{ groups: [''], kinds: ['PodTemplate'], versions: ['v1'] }],
    templateSource: ['template'],
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

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
