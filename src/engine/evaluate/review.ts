// `input.review` exactly as Gatekeeper marshals an admission/v1 AdmissionRequest (gatekeeper.md §1.3),
// and `data.inventory` in Gatekeeper's storage layout (§1.4).
import { gvkOf, type KubernetesObject } from '../repo/kubernetes.js';

export interface AdmissionRequestFields {
  kind?: { group?: string; version?: string; kind?: string };
  operation?: string;
  userInfo?: unknown;
  oldObject?: unknown;
  uid?: string;
  name?: string;
  namespace?: string;
  dryRun?: boolean;
  resource?: unknown;
  subResource?: string;
  requestKind?: unknown;
  requestResource?: unknown;
  requestSubResource?: string;
  options?: unknown;
}

/**
 * The review of a plain object, as audit and gator build it; `request` carries the fields of an
 * AdmissionReview when one is being replayed. `namespaceObject` is what the webhook adds for namespaced
 * objects when their Namespace is known.
 */
export function buildReview(object: KubernetesObject, request: AdmissionRequestFields = {}, namespaceObject?: unknown): Record<string, unknown> {
  const { group, version, kind } = request.kind
    ? { group: request.kind.group ?? '', version: request.kind.version ?? '', kind: request.kind.kind ?? '' }
    : gvkOf(object);
  const metadata = object.metadata;
  const name = request.name ?? (typeof metadata.name === 'string' ? metadata.name : '');
  const namespace = request.namespace ?? (typeof metadata.namespace === 'string' ? metadata.namespace : '');
  // Field order and omitempty follow the Go struct's JSON tags.
  const review: Record<string, unknown> = {
    uid: request.uid ?? '',
    kind: { group, version, kind },
    resource: request.resource ?? { group: '', version: '', resource: '' },
  };
  if (request.subResource) review.subResource = request.subResource;
  if (request.requestKind) review.requestKind = request.requestKind;
  if (request.requestResource) review.requestResource = request.requestResource;
  if (request.requestSubResource) review.requestSubResource = request.requestSubResource;
  if (name) review.name = name;
  if (namespace) review.namespace = namespace;
  review.operation = request.operation ?? '';
  review.userInfo = request.userInfo ?? {};
  review.object = object;
  review.oldObject = request.oldObject ?? null;
  if (request.dryRun !== undefined) review.dryRun = request.dryRun;
  review.options = request.options ?? null;
  if (namespaceObject !== undefined) review.namespaceObject = namespaceObject;
  return review;
}

export interface Inventory {
  cluster: Record<string, Record<string, Record<string, unknown>>>;
  namespace: Record<string, Record<string, Record<string, Record<string, unknown>>>>;
}

export function emptyInventory(): Inventory {
  return { cluster: {}, namespace: {} };
}

/** Stores an object where Gatekeeper's sync puts it: scope is decided by metadata.namespace alone. */
export function addToInventory(inventory: Inventory, object: KubernetesObject): void {
  const namespace = typeof object.metadata.namespace === 'string' ? object.metadata.namespace : '';
  const name = typeof object.metadata.name === 'string' ? object.metadata.name : '';
  const byVersion = namespace === '' ? inventory.cluster : (inventory.namespace[namespace] ??= {});
  const byKind = (byVersion[object.apiVersion] ??= {});
  ((byKind[object.kind] ??= {}) as Record<string, unknown>)[name] = object;
}

/** `data` for a referential template. */
export function inventoryData(inventory: Inventory): string {
  return JSON.stringify({ inventory });
}
