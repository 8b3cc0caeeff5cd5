import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { gatorTest, resultKey } from '../../bench/gator.js';
import { check, repoRoot } from '../helpers/engine.js';
import { MemorySource } from '../helpers/memory-source.js';

// Security Tower's older templates call builtins the Wasm target lacks: yaml.marshal to show the
// offending part of the object, regex.split to take image references apart. Gator (Gatekeeper's
// own driver, Go OPA) and Parapet must report the same violations with the same messages.
const gator = join(repoRoot, 'tools', 'bin', 'gator');

beforeAll(() => {
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build-go-tool.mjs'), 'gator'], { stdio: 'inherit' });
}, 15 * 60_000);

const TEMPLATE = `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: sttrustedregistry
spec:
  crd:
    spec:
      names:
        kind: STTrustedRegistry
      validation:
        openAPIV3Schema:
          type: object
          properties:
            registries:
              type: array
              items:
                type: string
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package sttrustedregistry

        registry(image) = r {
          parts := regex.split("/", image)
          count(parts) > 1
          regex.match("[.:]|^localhost$", parts[0])
          r := parts[0]
        }

        registry(image) = "docker.io" {
          parts := regex.split("/", image)
          not regex.match("[.:]|^localhost$", parts[0])
        }

        violation[{"msg": msg, "details": {"container": c.name}}] {
          c := input.review.object.spec.template.spec.containers[_]
          reg := registry(c.image)
          not reg_allowed(reg)
          msg := sprintf("container %v pulls from %v, which is not trusted:\\n%v", [c.name, reg, yaml.marshal({"image": c.image, "securityContext": object.get(c, "securityContext", {})})])
        }

        violation[{"msg": msg}] {
          c := input.review.object.spec.template.spec.containers[_]
          tag := regex.split("[:@]", c.image)
          count(tag) == 1
          msg := sprintf("container %v has no tag: %v", [c.name, yaml.marshal(tag)])
        }

        reg_allowed(reg) {
          reg == input.parameters.registries[_]
        }
`;

const CONSTRAINT = `apiVersion: constraints.gatekeeper.sh/v1beta1
kind: STTrustedRegistry
metadata:
  name: trusted-registry
spec:
  match:
    kinds:
      - apiGroups: ["apps"]
        kinds: ["Deployment"]
  parameters:
    registries: ["registry.corp.example", "ghcr.io"]
`;

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: storefront
  namespace: shop
spec:
  selector:
    matchLabels:
      app: storefront
  template:
    metadata:
      labels:
        app: storefront
    spec:
      containers:
        - name: web
          image: registry.corp.example/shop/storefront:1.4.2
        - name: proxy
          image: docker.io/envoyproxy/envoy:v1.29.1
          securityContext:
            runAsNonRoot: true
            capabilities:
              drop: ["ALL"]
        - name: metrics
          image: quay.io:443/prometheus/statsd-exporter
        - name: debug
          image: busybox
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

describe('a Security Tower template calling yaml.marshal and regex.split', () => {
  it('reports the violations gator reports, with the same messages, on the Deployment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-st-builtins-'));
    writeFileSync(join(dir, 'template.yaml'), TEMPLATE);
    writeFileSync(join(dir, 'constraint.yaml'), CONSTRAINT);
    writeFileSync(join(dir, 'deployment.yaml'), DEPLOYMENT);
    const { results: theirs } = gatorTest(gator, [join(dir, 'template.yaml'), join(dir, 'constraint.yaml'), join(dir, 'deployment.yaml')]);

    const report = await check(
      new MemorySource({
        '.securitytower/cluster.yaml': CLUSTER,
        'cluster/policies/template.yaml': TEMPLATE,
        'cluster/policies/constraint.yaml': CONSTRAINT,
        'cluster/apps/storefront.yaml': DEPLOYMENT,
      }),
    );
    const cluster = report.clusters[0]!;
    expect(cluster.errors).toEqual([]);
    const ours = cluster.violations.map((v) => resultKey({ ...v.object, constraint: v.constraint, message: v.message }));
    expect(ours.sort()).toEqual(theirs.sort());

    expect(cluster.violations.map((v) => [v.location.file, v.message]).sort()).toEqual([
      ['cluster/apps/storefront.yaml', 'container debug has no tag: - busybox\n'],
      ['cluster/apps/storefront.yaml', 'container debug pulls from docker.io, which is not trusted:\nimage: busybox\nsecurityContext: {}\n'],
      [
        'cluster/apps/storefront.yaml',
        'container metrics pulls from quay.io:443, which is not trusted:\nimage: quay.io:443/prometheus/statsd-exporter\nsecurityContext: {}\n',
      ],
      [
        'cluster/apps/storefront.yaml',
        'container proxy pulls from docker.io, which is not trusted:\nimage: docker.io/envoyproxy/envoy:v1.29.1\nsecurityContext:\n  capabilities:\n    drop:\n    - ALL\n  runAsNonRoot: true\n',
      ],
    ]);
  });
});

// yaml.* under Gatekeeper is sigs.k8s.io/yaml v1.6 over go-yaml v2 (OPA v1.17.1); the pinned opa
// has moved to go-yaml v3, so gator is the reference. Values travel as constraint parameters.
const LONG = 'aaaaaaaaaa bbbbbbbbbbbb cccccccccccc dddddddddddd eeeeeeeeeeee ffffffffffff gggggggggggg hhhhhhhhhh iiiiiiiiii';
const MARSHAL: unknown[] = [
  { b: [1, 'yes', { c: 'x: y' }, 1.5, 1e21, '12345678901234567890', true, null, '', '123', '1.5', 'null', '~', 'a"b', 'é', ' lead', 'trail ', '#x', '- x', "a'b"], a: 'multi\nline', e: {}, f: [] },
  { long: LONG, t: 'tab\there', n: { x: { y: [[1, 2], []] } }, ON: 'off', 'k:x': 1, y: 'n', Y: 'on' },
  { a10: 1, a9: 2, b: [{ x: 1, y: [1] }, 'x\n', 'x\n\n', ' x\ny', '2001-12-14', '1:20', '<<', '0x1F', '1_000', '.inf', '-', 'a: ', 'a #b', 'a#b', '---x', 'x,y', '[x', '?x', '? x', 'trail\n ', '1.0'] },
  { c: 1.5, d: 1e29, f: 0.000001, g: 123456789.5, h: 1e-7, k: -5, a1b: 1, a01b: 2, a1: 3, A: 4, _: 5, '1': 6, '10': 7, '9': 8, é: 9 },
  { metadata: { name: 'web', labels: { 'app.kubernetes.io/name': 'web', tier: '1' } }, spec: { containers: [{ name: 'app', image: 'nginx:1.25', ports: [{ containerPort: 80 }], securityContext: { privileged: true } }] } },
  { deep: { er: { list: [LONG, `'${LONG}'`, `${LONG} ${LONG}`, { k: LONG }] } } },
  'plain', 'yes', 1, null, [], {}, ['a', { b: 1 }], 'line\n', LONG,
];
const UNMARSHAL = [
  'a: yes\nb: 0777\nc: 1.0\nd: [1, 2]\ne: ~\nf: 2001-12-14\n<<: {g: 1}\nh: 0x1F\ni: 1e3\nk: on\nl: 1_000\nm: 0o17\nn: y\n',
  '1: x\n2.5: y\ntrue: z\n', 'a: "quoted 1"\nb: \'single\'\nc: |\n  lit\n  eral\nd: >\n  fol\n  ded\n',
  'base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n', 'a: 1\na: 2\n', 'a: [1, 2\n', '', '- 1\n- -2.5\n- 1e-7\n- 12345678901234567890\n- 99999999999999999999\n',
  'a: .inf\n', 'a: !!str 123\nb: !!int "7"\n', 'x: 1e400\n', 'k: -0\nl: +5\nm: 0b101\nn: 1__0\no: Off\np: NO\n', '"key": "va\\tlue"\n',
];

const YAML_TEMPLATE = `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8syamlbuiltins
spec:
  crd:
    spec:
      names:
        kind: K8sYamlBuiltins
      validation:
        legacySchema: false
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8syamlbuiltins

        violation[{"msg": msg}] {
          v := input.parameters.values[i]
          msg := sprintf("%03d marshal %v", [i, [r | r := yaml.marshal(v)]])
        }

        violation[{"msg": msg}] {
          v := input.parameters.texts[i]
          msg := sprintf("%03d unmarshal %v valid %v", [i, [r | r := yaml.unmarshal(v)], yaml.is_valid(v)])
        }
`;

describe('yaml.* as Gatekeeper runs them', () => {
  it('gives gator’s messages for every value marshalled and every text unmarshalled', async () => {
    const constraint = JSON.stringify({
      apiVersion: 'constraints.gatekeeper.sh/v1beta1',
      kind: 'K8sYamlBuiltins',
      metadata: { name: 'yaml' },
      spec: { match: { kinds: [{ apiGroups: ['apps'], kinds: ['Deployment'] }] }, parameters: { values: MARSHAL, texts: UNMARSHAL } },
    });
    const dir = mkdtempSync(join(tmpdir(), 'parapet-yaml-builtins-'));
    writeFileSync(join(dir, 'template.yaml'), YAML_TEMPLATE);
    writeFileSync(join(dir, 'constraint.json'), constraint);
    writeFileSync(join(dir, 'deployment.yaml'), DEPLOYMENT);
    const { results: theirs } = gatorTest(gator, [join(dir, 'template.yaml'), join(dir, 'constraint.json'), join(dir, 'deployment.yaml')]);

    const report = await check(
      new MemorySource({
        '.securitytower/cluster.yaml': CLUSTER,
        'cluster/policies/template.yaml': YAML_TEMPLATE,
        'cluster/policies/constraint.yaml': constraint,
        'cluster/apps/storefront.yaml': DEPLOYMENT,
      }),
    );
    expect(report.clusters[0]!.errors).toEqual([]);
    const ours = report.clusters[0]!.violations.map((v) => resultKey({ ...v.object, constraint: v.constraint, message: v.message }));
    expect(theirs).toHaveLength(MARSHAL.length + UNMARSHAL.length);
    expect(ours.sort()).toEqual(theirs.sort());
  });
});
