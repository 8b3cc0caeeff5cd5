import { describe, expect, it } from 'vitest';
import { compileMatch, type MatchResult, type MatchTarget } from '../../../src/engine/policy/constraint-match.js';

// Manifests as they appear in a GitOps repository, with their effective namespace already assigned.

type Obj = Record<string, unknown>;

function namespace(name: string, labels: Record<string, string> = {}): Obj {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

function deployment(name: string, ns: string, labels: Record<string, unknown> = { app: name }): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, 'sidecar.istio.io/inject': 'true' } },
        spec: { containers: [{ name, image: `registry.example.com/${name}:1.4.2` }] },
      },
    },
  };
}

function pod(name: string, ns: string, labels: Record<string, string> = {}): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels },
    spec: { containers: [{ name: 'main', image: 'busybox:1.36' }] },
  };
}

function generatedPod(generateName: string, ns: string): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { generateName, namespace: ns, labels: { app: 'web' } },
    spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] },
  };
}

function clusterRole(name: string): Obj {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name, labels: { 'rbac.example.com/aggregate-to-view': 'true' } },
    rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }],
  };
}

function ingress(name: string, ns: string, apiVersion = 'networking.k8s.io/v1'): Obj {
  return {
    apiVersion,
    kind: 'Ingress',
    metadata: { name, namespace: ns },
    spec: { rules: [{ host: `${name}.example.com` }] },
  };
}

const payments = namespace('payments', { team: 'payments', 'pod-security.kubernetes.io/enforce': 'restricted' });
const kubeSystem = namespace('kube-system', { 'kubernetes.io/metadata.name': 'kube-system' });
const defaultNs = namespace('default');

function target(object: Obj, extra: Partial<MatchTarget> = {}): MatchTarget {
  const apiVersion = String(object['apiVersion']);
  const slash = apiVersion.indexOf('/');
  return {
    object,
    group: slash < 0 ? '' : apiVersion.slice(0, slash),
    version: slash < 0 ? apiVersion : apiVersion.slice(slash + 1),
    kind: String(object['kind']),
    namespace: null,
    source: 'Original',
    ...extra,
  };
}

function run(match: unknown, t: MatchTarget): MatchResult {
  return compileMatch(match).matcher(t);
}

const yes = { matches: true };
const no = { matches: false };

interface Case {
  name: string;
  match: unknown;
  target: MatchTarget;
  expected: MatchResult;
}

describe('compileMatch: kinds', () => {
  it.each<Case>([
    { name: 'a constraint without spec.match selects everything', match: undefined, target: target(clusterRole('view')), expected: yes },
    { name: 'an empty match selects everything', match: {}, target: target(clusterRole('view')), expected: yes },
    {
      name: 'a Deployment is selected by apps/Deployment',
      match: { kinds: [{ apiGroups: ['apps'], kinds: ['Deployment'] }] },
      target: target(deployment('web', 'payments'), { namespace: payments }),
      expected: yes,
    },
    {
      name: 'a Deployment is not selected by core/Pod',
      match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] },
      target: target(deployment('web', 'payments'), { namespace: payments }),
      expected: no,
    },
    {
      name: 'a Pod is selected by the core group ""',
      match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] },
      target: target(pod('debug', 'payments'), { namespace: payments }),
      expected: yes,
    },
    {
      name: 'apiGroups * selects any group',
      match: { kinds: [{ apiGroups: ['*'], kinds: ['Ingress'] }] },
      target: target(ingress('shop', 'payments'), { namespace: payments }),
      expected: yes,
    },
    {
      name: 'kinds * selects any kind of the group',
      match: { kinds: [{ apiGroups: ['rbac.authorization.k8s.io'], kinds: ['*'] }] },
      target: target(clusterRole('view')),
      expected: yes,
    },
    {
      name: 'an entry without apiGroups selects the kind in every group',
      match: { kinds: [{ kinds: ['Deployment'] }] },
      target: target(deployment('web', 'payments'), { namespace: payments }),
      expected: yes,
    },
    {
      name: 'an entry without kinds selects every kind of its groups',
      match: { kinds: [{ apiGroups: ['apps'] }] },
      target: target(deployment('web', 'payments'), { namespace: payments }),
      expected: yes,
    },
    {
      name: 'one entry is enough',
      match: {
        kinds: [
          { apiGroups: [''], kinds: ['Pod'] },
          { apiGroups: ['networking.k8s.io'], kinds: ['Ingress'] },
        ],
      },
      target: target(ingress('shop', 'payments'), { namespace: payments }),
      expected: yes,
    },
    {
      name: 'an entry needs both its group and its kind (no mixing across entries)',
      match: {
        kinds: [
          { apiGroups: ['apps'], kinds: ['Pod'] },
          { apiGroups: [''], kinds: ['Deployment'] },
        ],
      },
      target: target(deployment('web', 'payments'), { namespace: payments }),
      expected: no,
    },
    {
      name: 'kinds are case-sensitive',
      match: { kinds: [{ apiGroups: ['apps'], kinds: ['deployment'] }] },
      target: target(deployment('web', 'payments'), { namespace: payments }),
      expected: no,
    },
    {
      name: 'the version is ignored',
      match: { kinds: [{ apiGroups: ['networking.k8s.io'], kinds: ['Ingress'] }] },
      target: target(ingress('legacy', 'payments', 'networking.k8s.io/v1beta1'), { namespace: payments }),
      expected: yes,
    },
    {
      name: 'the same kind in another group is not selected',
      match: { kinds: [{ apiGroups: ['networking.k8s.io'], kinds: ['Ingress'] }] },
      target: target(ingress('legacy', 'payments', 'extensions/v1beta1'), { namespace: payments }),
      expected: no,
    },
  ])('$name', ({ match, target: t, expected }) => {
    expect(run(match, t)).toEqual(expected);
  });
});

describe('compileMatch: scope', () => {
  it.each<Case>([
    { name: 'Cluster selects a ClusterRole', match: { scope: 'Cluster' }, target: target(clusterRole('view')), expected: yes },
    { name: 'Cluster selects a Namespace', match: { scope: 'Cluster' }, target: target(payments), expected: yes },
    {
      name: 'Cluster does not select a namespaced Deployment',
      match: { scope: 'Cluster' },
      target: target(deployment('web', 'payments'), { namespace: payments }),
      expected: no,
    },
    {
      name: 'Namespaced selects a namespaced Deployment',
      match: { scope: 'Namespaced' },
      target: target(deployment('web', 'payments'), { namespace: payments }),
      expected: yes,
    },
    {
      name: 'Namespaced selects a namespaced object whose Namespace is unknown',
      match: { scope: 'Namespaced' },
      target: target(deployment('web', 'payments')),
      expected: yes,
    },
    { name: 'Namespaced does not select a Namespace', match: { scope: 'Namespaced' }, target: target(payments), expected: no },
    { name: 'Namespaced does not select a ClusterRole', match: { scope: 'Namespaced' }, target: target(clusterRole('view')), expected: no },
    { name: '* selects both', match: { scope: '*' }, target: target(clusterRole('view')), expected: yes },
    {
      name: 'a typo such as "cluster" counts as * (Gatekeeper does not reject it)',
      match: { scope: 'cluster' },
      target: target(deployment('web', 'payments'), { namespace: payments }),
      expected: yes,
    },
  ])('$name', ({ match, target: t, expected }) => {
    expect(run(match, t)).toEqual(expected);
  });
});

describe('compileMatch: namespaces and excludedNamespaces', () => {
  it.each<Case>([
    {
      name: 'namespaces selects an object in a listed namespace',
      match: { namespaces: ['checkout', 'payments'] },
      target: target(deployment('web', 'payments'), { namespace: payments }),
      expected: yes,
    },
    {
      name: 'namespaces does not select an object elsewhere',
      match: { namespaces: ['payments'] },
      target: target(deployment('web', 'default'), { namespace: defaultNs }),
      expected: no,
    },
    {
      name: 'namespaces accepts prefix globs',
      match: { namespaces: ['kube-*'] },
      target: target(pod('coredns-0', 'kube-system'), { namespace: kubeSystem }),
      expected: yes,
    },
    {
      name: 'namespaces accepts suffix globs',
      match: { namespaces: ['*-system'] },
      target: target(pod('coredns-0', 'kube-system'), { namespace: kubeSystem }),
      expected: yes,
    },
    {
      name: 'namespaces accepts infix globs',
      match: { namespaces: ['*pay*'] },
      target: target(deployment('web', 'payments'), { namespace: payments }),
      expected: yes,
    },
    {
      name: 'an exact entry is not a prefix',
      match: { namespaces: ['kube'] },
      target: target(pod('coredns-0', 'kube-system'), { namespace: kubeSystem }),
      expected: no,
    },
    {
      name: 'namespaces lets cluster-scoped objects through',
      match: { namespaces: ['payments'] },
      target: target(clusterRole('view')),
      expected: yes,
    },
    {
      name: 'a Namespace is compared by its own name',
      match: { namespaces: ['payments'] },
      target: target(payments),
      expected: yes,
    },
    {
      name: 'a Namespace with another name is not selected',
      match: { namespaces: ['payments'] },
      target: target(defaultNs),
      expected: no,
    },
    {
      name: 'without a Namespace object, metadata.namespace is compared (as in gator)',
      match: { namespaces: ['payments'] },
      target: target(deployment('web', 'payments')),
      expected: yes,
    },
    {
      name: 'the supplied Namespace’s name wins over metadata.namespace',
      match: { namespaces: ['payments'] },
      target: target(deployment('web', 'staging'), { namespace: payments }),
      expected: yes,
    },
    {
      name: 'excludedNamespaces leaves out an object in a listed namespace',
      match: { excludedNamespaces: ['kube-system'] },
      target: target(pod('coredns-0', 'kube-system'), { namespace: kubeSystem }),
      expected: no,
    },
    {
      name: 'excludedNamespaces accepts globs',
      match: { excludedNamespaces: ['kube-*'] },
      target: target(pod('coredns-0', 'kube-system'), { namespace: kubeSystem }),
      expected: no,
    },
    {
      name: 'excludedNamespaces keeps objects elsewhere',
      match: { excludedNamespaces: ['kube-*', 'gatekeeper-system'] },
      target: target(deployment('web', 'payments'), { namespace: payments }),
      expected: yes,
    },
    {
      name: 'excludedNamespaces never excludes a cluster-scoped object',
      match: { excludedNamespaces: ['*'] },
      target: target(clusterRole('view')),
      expected: yes,
    },
    {
      name: 'excludedNamespaces excludes the Namespace object itself',
      match: { excludedNamespaces: ['kube-system'] },
      target: target(kubeSystem),
      expected: no,
    },
    {
      name: 'an excluded namespace stays excluded even when also listed in namespaces',
      match: { namespaces: ['payments'], excludedNamespaces: ['payments'] },
      target: target(deployment('web', 'payments'), { namespace: payments }),
      expected: no,
    },
  ])('$name', ({ match, target: t, expected }) => {
    expect(run(match, t)).toEqual(expected);
  });
});

describe('compileMatch: labelSelector', () => {
  it.each<Case>([
    {
      name: 'matchLabels selects an object carrying the label',
      match: { labelSelector: { matchLabels: { app: 'web' } } },
      target: target(deployment('web', 'payments'), { namespace: payments }),
      expected: yes,
    },
    {
      name: 'every matchLabels pair must hold',
      match: { labelSelector: { matchLabels: { app: 'web', tier: 'frontend' } } },
      target: target(deployment('web', 'payments'), { namespace: payments }),
      expected: no,
    },
    {
      name: 'the object’s own labels count, not its pod template’s',
      match: { labelSelector: { matchLabels: { 'sidecar.istio.io/inject': 'true' } } },
      target: target(deployment('web', 'payments'), { namespace: payments }),
      expected: no,
    },
    {
      name: 'NotIn selects an object without the key',
      match: { labelSelector: { matchExpressions: [{ key: 'gatekeeper.example.com/exempt', operator: 'NotIn', values: ['true'] }] } },
      target: target(deployment('web', 'payments'), { namespace: payments }),
      expected: yes,
    },
    {
      name: 'DoesNotExist leaves out an object with the key',
      match: { labelSelector: { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] } },
      target: target(deployment('web', 'payments'), { namespace: payments }),
      expected: no,
    },
    {
      name: 'an empty selector selects an object without labels',
      match: { labelSelector: {} },
      target: target(ingress('shop', 'payments'), { namespace: payments }),
      expected: yes,
    },
    {
      name: 'a cluster-scoped object is tested against its own labels too',
      match: { labelSelector: { matchLabels: { 'rbac.example.com/aggregate-to-view': 'true' } } },
      target: target(clusterRole('view')),
      expected: yes,
    },
    {
      name: 'one non-string label value hides all labels, as in Go',
      match: { labelSelector: { matchLabels: { app: 'web' } } },
      target: target(deployment('web', 'payments', { app: 'web', revision: 3 }), { namespace: payments }),
      expected: no,
    },
  ])('$name', ({ match, target: t, expected }) => {
    expect(run(match, t)).toEqual(expected);
  });
});

describe('compileMatch: namespaceSelector', () => {
  const restricted = { namespaceSelector: { matchLabels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } };

  it.each<Case>([
    {
      name: 'a namespaced object is tested against its Namespace’s labels',
      match: restricted,
      target: target(deployment('web', 'payments'), { namespace: payments }),
      expected: yes,
    },
    {
      name: 'a namespaced object in a Namespace without the labels is not selected',
      match: restricted,
      target: target(deployment('web', 'default'), { namespace: defaultNs }),
      expected: no,
    },
    {
      name: 'a namespaced object whose Namespace is unknown is autorejected',
      match: restricted,
      target: target(deployment('web', 'payments')),
      expected: {
        matches: 'error',
        message:
          'unable to match constraints: error matching the requested object: web :failed to run Match criteria: ' +
          'namespace selector for namespace-scoped object but missing Namespace',
      },
    },
    {
      name: 'the autorejection names nobody for an object with only a generateName',
      match: restricted,
      target: target(generatedPod('web-7d4b9c-', 'payments')),
      expected: {
        matches: 'error',
        message:
          'unable to match constraints: error matching the requested object:  :failed to run Match criteria: ' +
          'namespace selector for namespace-scoped object but missing Namespace',
      },
    },
    {
      name: 'no autorejection when an earlier criterion already leaves the object out',
      match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }], ...restricted },
      target: target(deployment('web', 'payments')),
      expected: no,
    },
    {
      name: 'a cluster-scoped object passes without a Namespace',
      match: restricted,
      target: target(clusterRole('view')),
      expected: yes,
    },
    {
      name: 'a Namespace is tested against its own labels',
      match: restricted,
      target: target(payments),
      expected: yes,
    },
    {
      name: 'a Namespace without the labels is not selected',
      match: restricted,
      target: target(kubeSystem),
      expected: no,
    },
    {
      name: 'matchExpressions work on Namespace labels',
      match: { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['payments', 'checkout'] }] } },
      target: target(pod('debug', 'payments'), { namespace: payments }),
      expected: yes,
    },
  ])('$name', ({ match, target: t, expected }) => {
    expect(run(match, t)).toEqual(expected);
  });
});

describe('compileMatch: name', () => {
  it.each<Case>([
    { name: 'an exact name', match: { name: 'web' }, target: target(deployment('web', 'payments'), { namespace: payments }), expected: yes },
    { name: 'another name', match: { name: 'api' }, target: target(deployment('web', 'payments'), { namespace: payments }), expected: no },
    {
      name: 'a prefix glob',
      match: { name: 'web-*' },
      target: target(deployment('web-frontend', 'payments'), { namespace: payments }),
      expected: yes,
    },
    {
      name: 'a suffix glob',
      match: { name: '*-canary' },
      target: target(deployment('web-canary', 'payments'), { namespace: payments }),
      expected: yes,
    },
    {
      name: 'an infix glob',
      match: { name: '*front*' },
      target: target(deployment('web-frontend-v2', 'payments'), { namespace: payments }),
      expected: yes,
    },
    { name: 'a prefix glob also matches a generateName', match: { name: 'web-*' }, target: target(generatedPod('web-7d4b9c-', 'payments'), { namespace: payments }), expected: yes },
    { name: 'an infix glob also matches a generateName', match: { name: '*7d4b*' }, target: target(generatedPod('web-7d4b9c-', 'payments'), { namespace: payments }), expected: yes },
    { name: 'a suffix glob never matches a generateName', match: { name: '*9c-' }, target: target(generatedPod('web-7d4b9c-', 'payments'), { namespace: payments }), expected: no },
    { name: 'an exact name never matches a generateName', match: { name: 'web-7d4b9c-' }, target: target(generatedPod('web-7d4b9c-', 'payments'), { namespace: payments }), expected: no },
    { name: 'an empty name means any name', match: { name: '' }, target: target(clusterRole('view')), expected: yes },
    { name: 'a Namespace is matched by its name', match: { name: 'kube-*' }, target: target(kubeSystem), expected: yes },
  ])('$name', ({ match, target: t, expected }) => {
    expect(run(match, t)).toEqual(expected);
  });
});

describe('compileMatch: source', () => {
  const web = deployment('web', 'payments');
  it.each<Case>([
    { name: 'no source selects original objects', match: {}, target: target(web, { namespace: payments }), expected: yes },
    { name: 'no source selects generated objects', match: {}, target: target(web, { namespace: payments, source: 'Generated' }), expected: yes },
    { name: 'All selects generated objects', match: { source: 'All' }, target: target(web, { namespace: payments, source: 'Generated' }), expected: yes },
    { name: 'Original selects original objects', match: { source: 'Original' }, target: target(web, { namespace: payments }), expected: yes },
    {
      name: 'Original leaves out the Pod implied by a Deployment',
      match: { source: 'Original' },
      target: target(pod('web-pod', 'payments'), { namespace: payments, source: 'Generated' }),
      expected: no,
    },
    {
      name: 'Generated selects the implied Pod',
      match: { source: 'Generated' },
      target: target(pod('web-pod', 'payments'), { namespace: payments, source: 'Generated' }),
      expected: yes,
    },
    { name: 'Generated leaves out original objects', match: { source: 'Generated' }, target: target(web, { namespace: payments }), expected: no },
    {
      name: 'an invalid source autorejects objects that pass every other criterion',
      match: { source: 'all' },
      target: target(web, { namespace: payments }),
      expected: {
        matches: 'error',
        message: 'unable to match constraints: error matching the requested object: web :failed to run Match criteria: invalid source field "all"',
      },
    },
    {
      name: 'an invalid source does not autoreject objects another criterion leaves out',
      match: { source: 'all', namespaces: ['checkout'] },
      target: target(web, { namespace: payments }),
      expected: no,
    },
  ])('$name', ({ match, target: t, expected }) => {
    expect(run(match, t)).toEqual(expected);
  });
});

describe('compileMatch: admission reviews with an old object', () => {
  const labelled = deployment('web', 'payments', { app: 'web', 'policy.example.com/enforce': 'true' });
  const unlabelled = deployment('web', 'payments', { app: 'web' });
  const enforceLabel = { labelSelector: { matchLabels: { 'policy.example.com/enforce': 'true' } } };

  it.each<Case>([
    {
      name: 'an UPDATE that removes the selected label still matches through the old object',
      match: enforceLabel,
      target: target(unlabelled, { namespace: payments, operation: 'UPDATE', oldObject: labelled }),
      expected: yes,
    },
    {
      name: 'an UPDATE that adds the selected label matches through the new object',
      match: enforceLabel,
      target: target(labelled, { namespace: payments, operation: 'UPDATE', oldObject: unlabelled }),
      expected: yes,
    },
    {
      name: 'an UPDATE where neither version carries the label does not match',
      match: enforceLabel,
      target: target(unlabelled, { namespace: payments, operation: 'UPDATE', oldObject: unlabelled }),
      expected: no,
    },
    {
      name: 'a DELETE is decided by the old object alone',
      match: enforceLabel,
      target: target(labelled, { namespace: payments, operation: 'DELETE', oldObject: unlabelled }),
      expected: no,
    },
    {
      name: 'a DELETE matches when the deleted object is selected',
      match: enforceLabel,
      target: target(unlabelled, { namespace: payments, operation: 'DELETE', oldObject: labelled }),
      expected: yes,
    },
    {
      name: 'an error on the new object stops the search before the old object',
      match: { namespaceSelector: { matchLabels: { team: 'payments' } } },
      target: target(unlabelled, { operation: 'UPDATE', oldObject: labelled }),
      expected: {
        matches: 'error',
        message:
          'unable to match constraints: error matching the requested object: web :failed to run Match criteria: ' +
          'namespace selector for namespace-scoped object but missing Namespace',
      },
    },
  ])('$name', ({ match, target: t, expected }) => {
    expect(run(match, t)).toEqual(expected);
  });
});

describe('compileMatch: problems Gatekeeper rejects the constraint for', () => {
  it.each<{ name: string; match: unknown; problems: Array<{ path: string[]; message: string }> }>([
    {
      name: 'a well-formed match has none',
      match: {
        kinds: [{ apiGroups: ['apps'], kinds: ['Deployment', 'StatefulSet'] }],
        scope: 'Namespaced',
        namespaces: ['payments', 'team-*'],
        excludedNamespaces: ['kube-*', '*-system'],
        labelSelector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] },
        namespaceSelector: { matchLabels: { team: 'payments' } },
        name: 'web-*',
        source: 'Original',
      },
      problems: [],
    },
    { name: 'a scope typo is accepted by the schema', match: { scope: 'cluster' }, problems: [] },
    {
      name: 'an upper-case namespace pattern',
      match: { excludedNamespaces: ['Kube-*'] },
      problems: [
        {
          path: ['excludedNamespaces', '0'],
          message: `Invalid value: "Kube-*": spec.match.excludedNamespaces[0] in body should match '^\\*?[-:a-z0-9]*\\*?$'`,
        },
      ],
    },
    {
      name: 'a * in the middle of a name',
      match: { name: 'web*v2' },
      problems: [{ path: ['name'], message: `Invalid value: "web*v2": spec.match.name in body should match '^\\*?[-:a-z0-9]*\\*?$'` }],
    },
    {
      name: 'a source outside the enum',
      match: { source: 'generated' },
      problems: [{ path: ['source'], message: 'Unsupported value: "generated": supported values: "All", "Generated", "Original"' }],
    },
    {
      name: 'kinds written as a plain list of kinds',
      match: { kinds: ['Deployment'] },
      problems: [{ path: ['kinds', '0'], message: 'Invalid value: "string": spec.match.kinds[0] in body must be of type object: "string"' }],
    },
    {
      name: 'a misspelled criterion',
      match: { namespace: ['payments'] },
      problems: [{ path: ['namespace'], message: 'unknown field' }],
    },
    {
      name: 'an unknown field inside kinds',
      match: { kinds: [{ apiGroups: ['apps'], kinds: ['Deployment'], apiVersions: ['v1'] }] },
      problems: [{ path: ['kinds', '0', 'apiVersions'], message: 'unknown field' }],
    },
    {
      name: 'an expression without an operator',
      match: { labelSelector: { matchExpressions: [{ key: 'app' }] } },
      problems: [
        { path: ['labelSelector', 'matchExpressions', '0', 'operator'], message: 'Required value' },
        { path: ['labelSelector', 'matchExpressions', '0', 'operator'], message: 'Invalid value: "": not a valid selector operator' },
      ],
    },
    {
      name: 'a label selector operator in the wrong case',
      match: { labelSelector: { matchExpressions: [{ key: 'app', operator: 'in', values: ['web'] }] } },
      problems: [{ path: ['labelSelector', 'matchExpressions', '0', 'operator'], message: 'Invalid value: "in": not a valid selector operator' }],
    },
    {
      name: 'In without values in the namespaceSelector',
      match: { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In' }] } },
      problems: [
        {
          path: ['namespaceSelector', 'matchExpressions', '0', 'values'],
          message: "Required value: must be specified when `operator` is 'In' or 'NotIn'",
        },
      ],
    },
    {
      name: 'Exists with values',
      match: { labelSelector: { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['web'] }] } },
      problems: [
        {
          path: ['labelSelector', 'matchExpressions', '0', 'values'],
          message: "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        },
      ],
    },
    {
      name: 'a label value that is not a label value',
      match: { labelSelector: { matchLabels: { owner: 'team@example.com' } } },
      problems: [
        {
          path: ['labelSelector', 'matchLabels'],
          message:
            'Invalid value: "team@example.com": a valid label must be an empty string or consist of alphanumeric characters, ' +
            "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', " +
            "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        },
      ],
    },
    {
      name: 'spec.match that is not an object',
      match: 'all',
      problems: [{ path: [], message: 'Invalid value: "string": spec.match in body must be of type object: "string"' }],
    },
  ])('$name', ({ match, problems }) => {
    expect(compileMatch(match).problems).toEqual(problems);
  });

  it('keeps matching what parses of a constraint with problems', () => {
    const { matcher, problems } = compileMatch({ kinds: ['Deployment', { apiGroups: ['apps'], kinds: ['Deployment'] }] });
    expect(problems).toHaveLength(1);
    expect(matcher(target(deployment('web', 'payments'), { namespace: payments }))).toEqual(yes);
    expect(matcher(target(pod('debug', 'payments'), { namespace: payments }))).toEqual(no);
  });
});

describe('compileMatch: compiled once, run per object', () => {
  it('runs a typical match over many objects cheaply', () => {
    const { matcher } = compileMatch({
      kinds: [{ apiGroups: ['apps'], kinds: ['Deployment'] }, { apiGroups: [''], kinds: ['Pod'] }],
      excludedNamespaces: ['kube-*', 'gatekeeper-system'],
      labelSelector: { matchExpressions: [{ key: 'policy.example.com/exempt', operator: 'DoesNotExist' }] },
    });
    const targets = Array.from({ length: 2000 }, (_, i) => target(deployment(`web-${i}`, i % 2 ? 'payments' : 'kube-system'), { namespace: i % 2 ? payments : kubeSystem }));
    const started = performance.now();
    let matched = 0;
    for (let round = 0; round < 50; round++) for (const t of targets) if (matcher(t).matches === true) matched++;
    const perCall = (performance.now() - started) / (50 * targets.length);
    expect(matched).toBe(50 * 1000);
    // 100,000 calls; a generous bound that still catches per-call recompilation.
    expect(perCall).toBeLessThan(0.02);
  });
});
