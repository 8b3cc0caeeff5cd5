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
  // Double-quoted (a tab, controls, breaks, beyond the BMP): escaped and folded as go-yaml v2 writes them.
  { dq: `${LONG}\t${LONG}`, dq2: `${LONG}  two  spaces\t${LONG} ${LONG}`, esc: 'a\x07b\x08c\x0bd\x0ce\x1bf\u2028h\u2029i\u00a0l', emoji: 'smile 😀', 'a key\twith a tab that runs past the eightieth column of its line, and then some more': 1, 'a plain key that runs past the eightieth column of its line, and then some more words': 2 },
  { deep: { er: { list: [`${LONG}\t${LONG}`, { k: `${LONG}\t ${LONG}` }] } } },
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

// The builtins Go OPA runs for Parapet (in parapet-cel, which links Gatekeeper's OPA): certificates,
// tokens, time zones, CIDR sets, JSON Patch, text/template, URIs, UUIDs. A ConfigMap carries what a
// real template would read: a certificate, a token in an annotation, CIDRs and a message template.
const CERTIFICATE = `-----BEGIN CERTIFICATE-----
MIIB5TCCAYygAwIBAgIUTKBltKuRfik77UvUezvKhzDU8sEwCgYIKoZIzj0EAwIw
LjEZMBcGA1UEAwwQc2hvcC5leGFtcGxlLmNvbTERMA8GA1UECgwIU2hvcCBMdGQw
HhcNMjYxMjA3MTUzNTQxWhcNMjkwMzExMTUzNTQxWjAuMRkwFwYDVQQDDBBzaG9w
LmV4YW1wbGUuY29tMREwDwYDVQQKDAhTaG9wIEx0ZDBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABLShSFiPW8Z6iTamajkaVzjK3Q2TOhLguHqr8quAG8jNgtuVxZX5
ufZSQe0tI8nsPn25tCHGyVzXB5uI5frRGPCjgYcwgYQwHQYDVR0OBBYEFNqrURVe
7XsT8M0RiyNvwaRN8Hl9MB8GA1UdIwQYMBaAFNqrURVe7XsT8M0RiyNvwaRN8Hl9
MA8GA1UdEwEB/wQFMAMBAf8wMQYDVR0RBCowKIIQc2hvcC5leGFtcGxlLmNvbYIU
d3d3LnNob3AuZXhhbXBsZS5jb20wCgYIKoZIzj0EAwIDRwAwRAIgE6+M1gRci0ac
cthDRqL8PT05vO+0zEL0vv9fTcAoQbECIGj7H+xCa9Suh1a33YmFWp9UTYiGWLcb
Azzuqy5qu/Vj
-----END CERTIFICATE-----
`;
// HS256 over {"sub":"ci-bot","iss":"https://issuer.example","exp":1700000000,"groups":["deployers"]}.
const TOKEN =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjaS1ib3QiLCJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwiZXhwIjoxNzAwMDAwMDAwLCJncm91cHMiOlsiZGVwbG95ZXJzIl19.3tzgHVR49Im3CEWGo67Esi25FLcAbbKB6VAnGaonzoE';

const GO_TEMPLATE = `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8sgobuiltins
spec:
  crd:
    spec:
      names:
        kind: K8sGoBuiltins
      validation:
        openAPIV3Schema:
          type: object
          properties:
            secret:
              type: string
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8sgobuiltins

        violation[{"msg": msg}] {
          certs := crypto.x509.parse_certificates(input.review.object.data["tls.crt"])
          c := certs[_]
          not_after := time.parse_rfc3339_ns(c.NotAfter)
          msg := sprintf("certificate %v of %v for %v expires on %v, a %v (%v); CA: %v", [c.Subject.CommonName, c.Subject.Organization, c.DNSNames, time.format([not_after, "Europe/Berlin", "Mon, 02 Jan 2006 15:04 MST"]), time.weekday(not_after), time.date(not_after), c.IsCA])
        }

        violation[{"msg": msg}] {
          token := input.review.object.metadata.annotations["example.com/deploy-token"]
          [header, payload, _] := io.jwt.decode(token)
          msg := sprintf("token of %v from %v (%v) expired on %v; signed with the shared secret: %v", [payload.sub, payload.iss, header.alg, time.format(payload.exp * 1000000000), io.jwt.verify_hs256(token, input.parameters.secret)])
        }

        violation[{"msg": msg}] {
          token := input.review.object.metadata.annotations["example.com/deploy-token"]
          count([h | [h, _, _] := io.jwt.decode(token)]) == 0
          msg := sprintf("annotation example.com/deploy-token is not a JWT: %v", [token])
        }

        violation[{"msg": msg}] {
          ranges := split(input.review.object.data["allowed-cidrs"], ",")
          msg := sprintf("allowed ranges merge to %v; the first expands to %v; matches: %v", [net.cidr_merge(ranges), net.cidr_expand(ranges[0]), net.cidr_contains_matches(ranges, ["10.0.0.7", "192.168.1.1"])])
        }

        violation[{"msg": msg}] {
          msg := strings.render_template(input.review.object.data["message.tmpl"], {"name": input.review.object.metadata.name, "labels": input.review.object.metadata.labels})
        }

        violation[{"msg": msg}] {
          patched := json.patch(input.review.object.metadata.labels, [{"op": "add", "path": "/reviewed", "value": "yes"}, {"op": "remove", "path": "/tier"}])
          endpoint := uri.parse(input.review.object.data.endpoint)
          msg := sprintf("patched labels %v; endpoint %v:%v, valid %v; one uuid per query: %v; %v", [patched, endpoint.hostname, endpoint.port, uri.is_valid(input.review.object.data.endpoint), uuid.rfc4122("a") == uuid.rfc4122("a"), uuid.parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8")])
        }
`;

const GO_CONSTRAINT = `apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sGoBuiltins
metadata:
  name: go-builtins
spec:
  match:
    kinds:
      - apiGroups: [""]
        kinds: ["ConfigMap"]
  parameters:
    secret: not-so-secret
`;

const CONFIGMAPS = `apiVersion: v1
kind: ConfigMap
metadata:
  name: storefront-tls
  namespace: shop
  labels:
    app: storefront
    tier: web
  annotations:
    example.com/deploy-token: ${TOKEN}
data:
  tls.crt: |
${CERTIFICATE.trimEnd().replace(/^/gm, '    ')}
  allowed-cidrs: 10.0.0.0/31,10.0.0.2/31,10.0.0.4/30,192.168.0.0/16
  message.tmpl: '{{.name}} is labelled {{range $k, $v := .labels}}{{$k}}={{$v}} {{end}}'
  endpoint: https://user@api.shop.example:8443/v1/orders?limit=5#top
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: broken
  namespace: shop
  labels:
    tier: db
  annotations:
    example.com/deploy-token: not.a-token
data:
  tls.crt: not a certificate
  allowed-cidrs: 10.0.0.0/33
  message.tmpl: '{{.name'
  endpoint: '%zz'
`;

describe('builtins Gatekeeper’s Go OPA runs and the Wasm does not', () => {
  it('give gator’s messages on certificates, tokens, CIDRs, templates and patches in ConfigMaps', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-go-builtins-'));
    writeFileSync(join(dir, 'template.yaml'), GO_TEMPLATE);
    writeFileSync(join(dir, 'constraint.yaml'), GO_CONSTRAINT);
    writeFileSync(join(dir, 'configmaps.yaml'), CONFIGMAPS);
    const { results: theirs } = gatorTest(gator, [join(dir, 'template.yaml'), join(dir, 'constraint.yaml'), join(dir, 'configmaps.yaml')]);

    const report = await check(
      new MemorySource({
        '.securitytower/cluster.yaml': CLUSTER,
        'cluster/policies/template.yaml': GO_TEMPLATE,
        'cluster/policies/constraint.yaml': GO_CONSTRAINT,
        'cluster/apps/configmaps.yaml': CONFIGMAPS,
      }),
    );
    const cluster = report.clusters[0]!;
    expect(cluster.errors).toEqual([]);
    const ours = cluster.violations.map((v) => resultKey({ ...v.object, constraint: v.constraint, message: v.message }));
    expect(ours.sort()).toEqual(theirs.sort());
    expect(cluster.violations.map((v) => `${v.object.name}: ${v.message}`).sort()).toMatchInlineSnapshot(`
      [
        "broken: annotation example.com/deploy-token is not a JWT: not.a-token",
        "storefront-tls: allowed ranges merge to {"10.0.0.0/29", "192.168.0.0/16"}; the first expands to {"10.0.0.0", "10.0.0.1"}; matches: {[2, 0], [3, 1]}",
        "storefront-tls: certificate shop.example.com of ["Shop Ltd"] for ["shop.example.com", "www.shop.example.com"] expires on Sun, 11 Mar 2029 16:35 CET, a Sunday ([2029, 3, 11]); CA: true",
        "storefront-tls: patched labels {"app": "storefront", "reviewed": "yes"}; endpoint api.shop.example:8443, valid true; one uuid per query: true; {"clocksequence": 180, "macvariables": "global:unicast", "nodeid": "00-c0-4f-d4-30-c8", "time": 886630433151182400, "variant": "RFC4122", "version": 1}",
        "storefront-tls: storefront-tls is labelled app=storefront tier=web ",
        "storefront-tls: token of ci-bot from https://issuer.example (HS256) expired on 2023-11-14T22:13:20Z; signed with the shared secret: true",
      ]
    `);
  });
});
