import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { gatorTest, resultKey } from '../../bench/gator.js';
import { check, repoRoot } from '../helpers/engine.js';
import { MemorySource } from '../helpers/memory-source.js';

// Gatekeeper turns a runtime error of a template into a violation whose message is Go OPA's error
// text, located at the template's Rego line (`template:4: eval_conflict_error: ...`). Gator runs
// Gatekeeper's own driver; Parapet must print the same text for every kind of runtime error, and
// nothing where Go OPA's non-strict builtins make the expression undefined.
const gator = join(repoRoot, 'tools', 'bin', 'gator');

beforeAll(() => {
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build-go-tool.mjs'), 'gator'], { stdio: 'inherit' });
}, 15 * 60_000);

interface Case {
  rego: string;
  libs?: string[];
  version?: 'v1';
}

/** One template each, so each error is its constraint's alone (Gatekeeper shares it within a kind). */
const CASES: Record<string, Case> = {
  // Two definitions of f give 1 and 2 for the same input: Go locates the second (line 4).
  function: {
    rego: `f(x) = 1 { x == x }
f(x) = 2 { x == x }

violation[{"msg": msg}] {
  y := f(1)
  msg := sprintf("f is %v", [y])
}
`,
  },
  // Go reports the rule it evaluated second. Its rule index orders rules whose bodies test
  // different input fields differently from the source, which the Wasm keeps (docs/fidelity.md);
  // these two test the same field.
  complete: {
    rego: `replicas = 1 { input.review.object.metadata.name != "" }
replicas = 2 { input.review.object.metadata.name != "checkout" }

violation[{"msg": msg}] {
  msg := sprintf("replicas is %v", [replicas])
}
`,
  },
  comprehension: {
    rego: `violation[{"msg": msg}] {
  images := {name: image | some i; c := input.review.object.spec.template.spec.containers[i]; name := "all"; image := c.image}
  msg := sprintf("images are %v", [images])
}
`,
  },
  'partial-object': {
    rego: `ports[name] = port {
  c := input.review.object.spec.template.spec.containers[_]
  name := "first"
  port := c.image
}

violation[{"msg": msg}] {
  msg := sprintf("ports are %v", [ports])
}
`,
  },
  'lib-function': {
    rego: `import data.lib.images

violation[{"msg": msg}] {
  msg := sprintf("registry is %v", [images.registry(input.review.object)])
}
`,
    libs: [
      `package lib.images

registry(obj) = "docker.io" { obj.kind == "Deployment" }

registry(obj) = "ghcr.io" { obj.metadata.name != "" }
`,
    ],
  },
  'function-v1': {
    version: 'v1',
    rego: `tier(obj) := "web" if obj.kind == "Deployment"
tier(obj) := "app" if obj.metadata.name != ""

violation contains {"msg": msg} if {
  msg := sprintf("tier is %v", [tier(input.review.object)])
}
`,
  },
  // Type and builtin errors are undefined under Gatekeeper's non-strict evaluation: no violation.
  'type-error': {
    rego: `violation[{"msg": msg}] {
  n := input.review.object.metadata.name + 1
  msg := sprintf("n is %v", [n])
}
`,
  },
  'builtin-error': {
    rego: `violation[{"msg": msg}] {
  n := 1 / 0
  v := units.parse(input.review.object.metadata.name)
  msg := sprintf("n is %v %v", [n, v])
}
`,
  },
};

const indent = (text: string, spaces: number) =>
  text
    .split('\n')
    .map((line) => (line ? ' '.repeat(spaces) + line : line))
    .join('\n');

function kindOf(name: string): string {
  return `K8sRuntime${name.replace(/(^|-)(\w)/g, (_, _dash: string, c: string) => c.toUpperCase())}`;
}

function templateYaml(name: string, c: Case): string {
  const kind = kindOf(name);
  const pkg = kind.toLowerCase();
  const source = `package ${pkg}\n\n${c.rego}`;
  return `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: ${pkg}
spec:
  crd:
    spec:
      names:
        kind: ${kind}
  targets:
    - target: admission.k8s.gatekeeper.sh
      code:
        - engine: Rego
          source:
${c.version ? `            version: ${c.version}\n` : ''}            rego: |
${indent(source, 14)}
${c.libs ? `            libs:\n${c.libs.map((lib) => `              - |\n${indent(lib, 16)}`).join('\n')}` : ''}
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: ${kind}
metadata:
  name: ${name}
spec:
  match:
    kinds:
      - apiGroups: ["apps"]
        kinds: ["Deployment"]
`;
}

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: storefront
  namespace: shop
spec:
  selector:
    matchLabels: {app: storefront}
  template:
    metadata:
      labels: {app: storefront}
    spec:
      containers:
        - name: web
          image: registry.corp/storefront:1.4.2
        - name: proxy
          image: registry.corp/envoy:1.29
`;

const CLUSTER = `apiVersion: securitytower.io/v1alpha1
kind: Cluster
metadata:
  name: shop
spec:
  policies:
    path: cluster/policies
  expansion: false
`;

describe('runtime errors, worded and located as Gatekeeper (gator) words them', () => {
  it('gives the same message as gator test for every kind of conflict, and nothing for type and builtin errors', async () => {
    const policies = Object.entries(CASES)
      .map(([name, c]) => templateYaml(name, c))
      .join('---\n');
    const dir = mkdtempSync(join(tmpdir(), 'parapet-runtime-errors-'));
    writeFileSync(join(dir, 'policies.yaml'), policies);
    writeFileSync(join(dir, 'deployment.yaml'), DEPLOYMENT);
    const { results: theirs } = gatorTest(gator, [join(dir, 'policies.yaml'), join(dir, 'deployment.yaml')]);

    const report = await check(
      new MemorySource({
        '.securitytower/cluster.yaml': CLUSTER,
        'cluster/policies/runtime.yaml': policies,
        'cluster/apps/storefront.yaml': DEPLOYMENT,
      }),
    );
    const ours = report.clusters[0]!.violations.map((v) => resultKey({ ...v.object, constraint: v.constraint, message: v.message }));

    expect(ours.sort()).toEqual(theirs.sort());
    // What gator says, spelled out.
    expect(theirs.sort()).toEqual([
      'complete | Deployment shop/storefront | template:4: eval_conflict_error: complete rules must not produce multiple outputs',
      'comprehension | Deployment shop/storefront | template:4: eval_conflict_error: object keys must be unique',
      'function | Deployment shop/storefront | template:4: eval_conflict_error: functions must not produce multiple outputs for same inputs',
      'function-v1 | Deployment shop/storefront | template:4: eval_conflict_error: functions must not produce multiple outputs for same inputs',
      'lib-function | Deployment shop/storefront | libs["lib_0"]:5: eval_conflict_error: functions must not produce multiple outputs for same inputs',
      'partial-object | Deployment shop/storefront | template:3: eval_conflict_error: object keys must be unique',
    ]);
  });

  it('gives a failing evaluation’s error to every constraint of its kind that matches the object, as Gatekeeper’s one query per kind does', async () => {
    // `broken` makes `tier` conflict; `fine` alone would say "tier is c"; `elsewhere` matches
    // ConfigMaps only, and `other-kind` belongs to another template.
    const policies = `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8sspread
spec:
  crd:
    spec:
      names:
        kind: K8sSpread
      validation:
        openAPIV3Schema:
          type: object
          properties:
            conflict:
              type: boolean
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8sspread

        tier = "a" { input.parameters.conflict }
        tier = "b" { input.parameters.conflict }
        tier = "c" { not input.parameters.conflict }

        violation[{"msg": msg}] {
          msg := sprintf("tier is %v", [tier])
        }
---
${[
  ['broken', 'deny', 'apps', 'Deployment', true],
  ['fine', 'warn', 'apps', 'Deployment', false],
  ['elsewhere', 'deny', '""', 'ConfigMap', false],
]
  .map(
    ([name, action, group, kind, conflict]) => `apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sSpread
metadata:
  name: ${String(name)}
spec:
  enforcementAction: ${String(action)}
  match:
    kinds:
      - apiGroups: [${String(group)}]
        kinds: ["${String(kind)}"]
  parameters:
    conflict: ${String(conflict)}
`,
  )
  .join('---\n')}---
${templateYaml('other-kind', { rego: 'violation[{"msg": "other kinds keep their own results"}] { true }\n' })}`;
    const configMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
`;
    const dir = mkdtempSync(join(tmpdir(), 'parapet-runtime-errors-'));
    writeFileSync(join(dir, 'policies.yaml'), policies);
    writeFileSync(join(dir, 'objects.yaml'), `${DEPLOYMENT}---\n${configMap}`);
    const { results: theirs } = gatorTest(gator, [join(dir, 'policies.yaml'), join(dir, 'objects.yaml')], { withAction: true });

    const report = await check(
      new MemorySource({
        '.securitytower/cluster.yaml': CLUSTER,
        'cluster/policies/spread.yaml': policies,
        'cluster/apps/storefront.yaml': DEPLOYMENT,
        'cluster/apps/settings.yaml': configMap,
      }),
    );
    const ours = report.clusters[0]!.violations.map((v) => resultKey({ ...v.object, constraint: v.constraint, message: v.message, action: v.enforcementAction }));
    expect(ours.sort()).toEqual(theirs.sort());
    expect(theirs.sort()).toEqual([
      'broken | Deployment shop/storefront | template:4: eval_conflict_error: complete rules must not produce multiple outputs | deny',
      'elsewhere | ConfigMap shop/settings | tier is c | deny',
      'fine | Deployment shop/storefront | template:4: eval_conflict_error: complete rules must not produce multiple outputs | warn',
      'other-kind | Deployment shop/storefront | other kinds keep their own results | deny',
    ]);
    // The check fails once, for the constraint whose evaluation failed.
    expect(report.clusters[0]!.errors.map((e) => e.message)).toEqual([
      'K8sSpread broken could not be evaluated on Deployment storefront: template:4: eval_conflict_error: complete rules must not produce multiple outputs',
    ]);
  });
  it('gives every constraint of a kind the error of the first that fails, when two fail with different errors, as Gatekeeper most often does', async () => {
    // `complete` makes `tier` conflict, `object` makes `names` conflict, `none` alone would pass.
    const policies = `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8stwoerrors
spec:
  crd:
    spec:
      names:
        kind: K8sTwoErrors
      validation:
        openAPIV3Schema:
          type: object
          properties:
            mode:
              type: string
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8stwoerrors

        tier = "a" { input.parameters.mode == "complete" }
        tier = "b" { input.parameters.mode == "complete" }
        tier = "c" { input.parameters.mode != "complete" }

        names := {k: v | input.parameters.mode == "object"; c := input.review.object.spec.template.spec.containers[_]; k := "all"; v := c.image}
        names := {} { input.parameters.mode != "object" }

        violation[{"msg": msg}] {
          msg := sprintf("tier is %v, names %v", [tier, names])
        }
${['complete', 'object', 'none']
  .map(
    (mode) => `---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sTwoErrors
metadata:
  name: ${mode}
spec:
  match:
    kinds:
      - apiGroups: ["apps"]
        kinds: ["Deployment"]
  parameters:
    mode: ${mode}
`,
  )
  .join('')}`;
    const dir = mkdtempSync(join(tmpdir(), 'parapet-runtime-errors-'));
    writeFileSync(join(dir, 'policies.yaml'), policies);
    writeFileSync(join(dir, 'deployment.yaml'), DEPLOYMENT);
    const report = await check(
      new MemorySource({ '.securitytower/cluster.yaml': CLUSTER, 'cluster/policies/two-errors.yaml': policies, 'cluster/apps/storefront.yaml': DEPLOYMENT }),
    );
    const ours = report.clusters[0]!.violations.map((v) => resultKey({ ...v.object, constraint: v.constraint, message: v.message })).sort();

    // Go's query lists the constraints in the order of a Go map, random per review: each run gives
    // all three one error, most often the first-added constraint's (gator adds them in file order).
    const seen: string[][] = [];
    for (let run = 0; run < 12 && !seen.some((theirs) => JSON.stringify(theirs) === JSON.stringify(ours)); run++) {
      const { results } = gatorTest(gator, [join(dir, 'policies.yaml'), join(dir, 'deployment.yaml')]);
      expect(new Set(results.map((key) => key.split(' | ')[2])).size).toBe(1);
      seen.push(results.sort());
    }
    expect(seen).toContainEqual(ours);
    expect(ours).toEqual([
      'complete | Deployment shop/storefront | template:4: eval_conflict_error: complete rules must not produce multiple outputs',
      'none | Deployment shop/storefront | template:4: eval_conflict_error: complete rules must not produce multiple outputs',
      'object | Deployment shop/storefront | template:4: eval_conflict_error: complete rules must not produce multiple outputs',
    ]);
    // Each failing constraint's input error says its own error.
    expect(report.clusters[0]!.errors.map((e) => e.message).sort()).toEqual([
      'K8sTwoErrors complete could not be evaluated on Deployment storefront: template:4: eval_conflict_error: complete rules must not produce multiple outputs',
      'K8sTwoErrors object could not be evaluated on Deployment storefront: template:7: eval_conflict_error: object keys must be unique',
    ]);
  });
});
