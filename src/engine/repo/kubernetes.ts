// Facts about Kubernetes objects that Gatekeeper relies on: group/version/kind and scope.
import { isRecord, type ObjectRef } from '../model.js';

export type KubernetesObject = Record<string, unknown> & { apiVersion: string; kind: string; metadata: Record<string, unknown> };

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export function gvkOf(object: { apiVersion: string; kind: string }): GroupVersionKind {
  const slash = object.apiVersion.lastIndexOf('/');
  return slash < 0
    ? { group: '', version: object.apiVersion, kind: object.kind }
    : { group: object.apiVersion.slice(0, slash), version: object.apiVersion.slice(slash + 1), kind: object.kind };
}

export function objectRef(object: KubernetesObject): ObjectRef {
  const ref: ObjectRef = { apiVersion: object.apiVersion, kind: object.kind, name: objectName(object) };
  const namespace = object.metadata.namespace;
  if (typeof namespace === 'string' && namespace !== '') ref.namespace = namespace;
  return ref;
}

export function objectName(object: KubernetesObject): string {
  const { name, generateName } = object.metadata;
  return typeof name === 'string' ? name : typeof generateName === 'string' ? generateName : '';
}

/**
 * Why a document is not a Kubernetes object, or undefined when it is one. A repository's objects need a
 * name (the API server requires one); gator reviews nameless test objects, so `verify` does not.
 */
export function objectProblem(value: unknown, options: { requireName: boolean } = { requireName: true }): string | undefined {
  if (!isRecord(value)) return 'not a Kubernetes object: expected a mapping with apiVersion, kind and metadata';
  const missing = ['apiVersion', 'kind'].filter((field) => typeof value[field] !== 'string' || value[field] === '');
  if (missing.length > 0) return `not a Kubernetes object: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} missing`;
  if (value.metadata !== undefined && !isRecord(value.metadata)) return 'metadata must be a mapping';
  const metadata = (value.metadata ?? {}) as Record<string, unknown>;
  if (options.requireName && typeof metadata.name !== 'string' && typeof metadata.generateName !== 'string') {
    return `${String(value.kind)} has no metadata.name`;
  }
  const bad = badMetadataEntry(metadata);
  if (bad) return bad.path.length === 2 ? `metadata.${bad.path[1]} must be a mapping of strings` : `metadata.${bad.path[1]}.${bad.path[2]} must be a string (quote it: "${String(bad.value)}")`;
  return undefined;
}

/** The first label or annotation that is not a string (or a labels/annotations that is not a mapping), by path. */
export function badMetadataEntry(metadata: Record<string, unknown>): { path: string[]; value: unknown } | undefined {
  for (const field of ['labels', 'annotations'] as const) {
    const map = metadata[field];
    if (map === undefined || map === null) continue;
    if (!isRecord(map)) return { path: ['metadata', field], value: map };
    const bad = Object.entries(map).find(([, v]) => typeof v !== 'string');
    if (bad) return { path: ['metadata', field, bad[0]], value: bad[1] };
  }
  return undefined;
}

// Built-in and common cluster-scoped kinds, by group. CRDs found in the repository add to this.
const CLUSTER_SCOPED: Record<string, string[]> = {
  '': ['Namespace', 'Node', 'PersistentVolume', 'ComponentStatus'],
  'rbac.authorization.k8s.io': ['ClusterRole', 'ClusterRoleBinding'],
  'storage.k8s.io': ['StorageClass', 'CSIDriver', 'CSINode', 'VolumeAttachment', 'VolumeAttributesClass'],
  'apiextensions.k8s.io': ['CustomResourceDefinition'],
  'apiregistration.k8s.io': ['APIService'],
  'admissionregistration.k8s.io': [
    'ValidatingWebhookConfiguration',
    'MutatingWebhookConfiguration',
    'ValidatingAdmissionPolicy',
    'ValidatingAdmissionPolicyBinding',
    'MutatingAdmissionPolicy',
    'MutatingAdmissionPolicyBinding',
  ],
  'scheduling.k8s.io': ['PriorityClass'],
  'node.k8s.io': ['RuntimeClass'],
  'networking.k8s.io': ['IngressClass', 'IPAddress', 'ServiceCIDR'],
  'policy': ['PodSecurityPolicy'],
  'certificates.k8s.io': ['CertificateSigningRequest', 'ClusterTrustBundle'],
  'flowcontrol.apiserver.k8s.io': ['FlowSchema', 'PriorityLevelConfiguration'],
  'resource.k8s.io': ['DeviceClass', 'ResourceSlice'],
  'templates.gatekeeper.sh': ['ConstraintTemplate'],
  'expansion.gatekeeper.sh': ['ExpansionTemplate'],
  'mutations.gatekeeper.sh': ['Assign', 'AssignMetadata', 'ModifySet', 'AssignImage'],
  'cert-manager.io': ['ClusterIssuer'],
  'kyverno.io': ['ClusterPolicy'],
};

export class ScopeTable {
  private readonly cluster = new Set<string>();

  constructor() {
    for (const [group, kinds] of Object.entries(CLUSTER_SCOPED)) for (const kind of kinds) this.cluster.add(`${group}/${kind}`);
  }

  /** Learns the scope of custom resources from CustomResourceDefinitions in the repository. */
  learn(object: KubernetesObject): void {
    if (object.kind !== 'CustomResourceDefinition' || !object.apiVersion.startsWith('apiextensions.k8s.io/')) return;
    const spec = isRecord(object.spec) ? object.spec : {};
    const names = isRecord(spec.names) ? spec.names : {};
    if (typeof spec.group === 'string' && typeof names.kind === 'string' && spec.scope === 'Cluster') {
      this.cluster.add(`${spec.group}/${names.kind}`);
    }
  }

  isClusterScoped(gvk: GroupVersionKind): boolean {
    // Every kind Gatekeeper generates for a constraint is cluster-scoped.
    return gvk.group === 'constraints.gatekeeper.sh' || this.cluster.has(`${gvk.group}/${gvk.kind}`);
  }
}

/** Namespaces every cluster has, which repositories rarely declare. */
export const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** The label the API server puts on every Namespace (since Kubernetes 1.21): selectors rely on it. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export function builtinNamespace(name: string): KubernetesObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [NAMESPACE_NAME_LABEL]: name } } };
}
