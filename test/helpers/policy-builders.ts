// Small Gatekeeper and Security Tower documents for specifications that build repositories inline.
import { stringify } from 'yaml';

/** A ConstraintTemplate for `kind` with one Rego source (v1 unless said otherwise). */
export function regoTemplate(kind: string, rego: string, options: { version?: 'v0' | 'v1'; parameters?: Record<string, unknown> } = {}): string {
  const version = options.version ?? 'v1';
  const validation = options.parameters ? { validation: { openAPIV3Schema: { type: 'object', properties: options.parameters } } } : {};
  return stringify({
    apiVersion: 'templates.gatekeeper.sh/v1',
    kind: 'ConstraintTemplate',
    metadata: { name: kind.toLowerCase() },
    spec: {
      crd: { spec: { names: { kind }, ...validation } },
      targets: [{ target: 'admission.k8s.gatekeeper.sh', code: [{ engine: 'Rego', source: { ...(version === 'v1' ? { version } : {}), rego } }] }],
    },
  });
}

export function constraintOf(kind: string, name: string, spec: Record<string, unknown>): string {
  return stringify({ apiVersion: 'constraints.gatekeeper.sh/v1beta1', kind, metadata: { name }, spec });
}

/** `.securitytower/cluster.yaml` of a cluster whose policies (and Namespaces) live in the given folders. */
export function clusterConfig(options: { name?: string; policies?: string; namespaces?: string } = {}): string {
  const spec: Record<string, unknown> = { policies: { path: options.policies ?? 'cluster/policies' } };
  if (options.namespaces) spec.namespaces = [{ path: options.namespaces }];
  return stringify({ apiVersion: 'securitytower.io/v1alpha1', kind: 'Cluster', metadata: { name: options.name ?? 'prod' }, spec });
}

/**
 * The Rego of a template that never finishes evaluating (10^15 combinations, in constant memory):
 * a runaway template, whatever the machine's speed.
 */
export function neverEndingRego(pkg: string): string {
  return `package ${pkg}

violation contains {"msg": "unreachable"} if {
  r := numbers.range(1, 100000)
  some a in r
  some b in r
  some c in r
  a + b + c < 0
}
`;
}
