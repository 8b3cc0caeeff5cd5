import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { checkExitCode, formatReport, nothingToCheck, type InputError, type Report, type RepoSource, type Violation } from '../../src/engine/index.js';
import { check, engine, fixtureRepo, startDriver } from '../helpers/engine.js';
import { MemorySource } from '../helpers/memory-source.js';
import { parseYamlFile } from '../../src/engine/repo/yaml-file.js';

// The broken-inputs fixture is a Security Tower repository with one good cluster (broken-prod) whose
// policies and manifests hold one of each kind of bad input, each file commented with what is wrong,
// beside valid objects with known violations. Every bad input must become an InputError at its file
// and line, and must not hide the results of anything else.

engine(); // registers the shared driver (and its shutdown) for this file

const FIXTURE = 'broken-inputs';
let fixtureReport: Promise<Report> | undefined;
/** The fixture checked as it is, once for all the specifications that only read the result. */
const brokenRepo = () => (fixtureReport ??= check(fixtureRepo(FIXTURE)));

type Found = { line: number; code: InputError['code']; message: string };

function allErrors(report: Report): InputError[] {
  return [...report.errors, ...report.clusters.flatMap((cluster) => cluster.errors)];
}

function errorsIn(report: Report, file: string): Found[] {
  return allErrors(report)
    .filter((error) => error.location.file === file)
    .map(({ location, code, message }) => ({ line: location.line, code, message }));
}

function violations(report: Report): Violation[] {
  return report.clusters.flatMap((cluster) => cluster.violations);
}

const finding = (v: Violation) => ({ file: v.location.file, line: v.location.line, constraint: v.constraint, message: v.message });

/** Results that stand for "the rest of the repository was still checked". */
const privilegedStorefront = {
  file: 'cluster/apps/shop/deployment.yaml',
  line: 22,
  constraint: 'preventprivileged',
  message: '[Implied by expand-workloads] Privileged container is not allowed: web, securityContext: {"privileged": true}',
};
const storefrontWithoutOwner = {
  file: 'cluster/apps/shop/deployment.yaml',
  line: 6,
  constraint: 'must-have-owner',
  message: 'you must provide labels: {"owner"}',
};
const privilegedDebugShell = {
  file: 'cluster/apps/shop/debug-pods.yaml',
  line: 12,
  constraint: 'preventprivileged',
  message: 'Privileged container is not allowed: shell, securityContext: {"privileged": true}',
};
const strictCheckoutSettings = {
  file: 'cluster/apps/shop/settings.yaml',
  line: 15,
  constraint: 'settings-mode',
  message: 'ConfigMap checkout-settings runs in strict mode',
};

function expectStillChecked(report: Report, ...expected: Array<ReturnType<typeof finding>>): void {
  const found = violations(report).map(finding);
  for (const violation of expected) expect(found).toContainEqual(violation);
}

/** A fixture's files, to rebuild it as a MemorySource with fake sizes. */
async function filesOf(source: RepoSource): Promise<Record<string, string>> {
  const texts = await source.readFiles((await source.listFiles()).map((file) => file.path));
  return Object.fromEntries(texts);
}

describe('bad input: each problem is an error at its file and line, and everything else is still checked', () => {
  it('lists every bad input of the repository, exits 1, and renders without a stack trace', async () => {
    const report = await brokenRepo();
    expect(report.clusters.map((cluster) => cluster.name)).toEqual(['broken-prod']);
    expect(allErrors(report).map((e) => `${e.location.file}:${e.location.line} ${e.code}`)).toEqual([
      '.securitytower/staging.yaml:4 cluster-config',
      '.securitytower/staging.yaml:13 cluster-config',
      '.securitytower/staging.yaml:17 cluster-config',
      'cluster/apps/shop/alias-bomb.yaml:2 limit',
      'cluster/apps/shop/config.yaml:7 yaml',
      'cluster/apps/shop/debug-pods.yaml:23 yaml',
      'cluster/apps/shop/exceptions.yaml:8 acceptance',
      'cluster/apps/shop/exceptions.yaml:32 acceptance',
      'cluster/apps/shop/incomplete.yaml:2 manifest',
      'cluster/apps/shop/incomplete.yaml:7 manifest',
      'cluster/apps/shop/service.yaml:6 yaml',
      // The runtime conflict: a violation, as in Gatekeeper, and an input error, so it always fails.
      'cluster/apps/shop/settings.yaml:2 evaluation',
      'cluster/apps/shop/storefront-copy.yaml:3 duplicate',
      'cluster/apps/shop/worker.yaml:9 manifest',
      'cluster/policies/constraints/bad-selector.yaml:14 schema',
      'cluster/policies/constraints/block-action.yaml:7 constraint',
      'cluster/policies/constraints/container-limits.yaml:3 constraint',
      'cluster/policies/constraints/misspelled-parameter.yaml:12 constraint',
      'cluster/policies/constraints/owner-as-string.yaml:12 schema',
      'cluster/policies/templates/k8sallowedports.yaml:32 rego',
      'cluster/policies/templates/k8sallowedregistries.yaml:18 rego',
      'cluster/policies/templates/k8sblockednodeports.yaml:3 template',
      'cluster/policies/templates/k8sdisallowedtags.yaml:20 rego',
      'cluster/policies/templates/k8simagescan.yaml:18 rego',
      'cluster/policies/templates/k8sreplicalimits.yaml:23 rego',
      'cluster/policies/templates/k8srequiredprobes.yaml:14 rego',
    ]);
    expect(checkExitCode(report)).toBe(1);
    // Input errors are data: none carries a stack, and the text report shows each at file:line.
    for (const error of allErrors(report)) expect(error.message).not.toMatch(/\n\s+at /);
    const text = formatReport(report, 'text', { color: false, withStatus: false, toolVersion: 'test' });
    expect(text).not.toMatch(/\n\s+at \S+ \(/);
    expect(text).toMatch(/cluster\/apps\/shop\/config\.yaml\n\s+7\s+error\s+yaml\s+YAML: Missing closing "quote/);
  });

  describe('YAML', () => {
    it('reports a key indented out of place on its line', async () => {
      const report = await brokenRepo();
      expect(errorsIn(report, 'cluster/apps/shop/service.yaml')).toEqual([
        { line: 6, code: 'yaml', message: 'YAML: All mapping items must start at the same column' },
      ]);
      expectStillChecked(report, privilegedStorefront);
    });

    it('reports an unclosed quote on the line where the quote opens, not where the file ends', async () => {
      const report = await brokenRepo();
      expect(errorsIn(report, 'cluster/apps/shop/config.yaml')).toEqual([{ line: 7, code: 'yaml', message: 'YAML: Missing closing "quote' }]);
      expectStillChecked(report, privilegedStorefront);
    });

    it('reads the other documents of a file when one of them is broken', async () => {
      const report = await brokenRepo();
      // `args: [sleep, infinity` never closes its flow sequence: the error is on that line.
      expect(errorsIn(report, 'cluster/apps/shop/debug-pods.yaml')).toEqual([
        { line: 23, code: 'yaml', message: 'YAML: Flow sequence in block collection must be sufficiently indented and end with a ]' },
      ]);
      expect(violations(report).filter((v) => v.location.file === 'cluster/apps/shop/debug-pods.yaml').map(finding)).toEqual([
        privilegedDebugShell,
        {
          file: 'cluster/apps/shop/debug-pods.yaml',
          line: 35,
          constraint: 'preventprivileged',
          message: 'Privileged container is not allowed: strace, securityContext: {"privileged": true}',
        },
      ]);
    });

    it('refuses an unprintable (binary) file at the first character YAML does not allow', async () => {
      // A gzipped manifest committed under a .yaml name, decoded as UTF-8 the way a checkout is read.
      const gzipped = gzipSync(Buffer.from('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bundle\n')).toString('utf8');
      const report = await check(fixtureRepo(FIXTURE, { 'cluster/apps/shop/bundle.yaml': gzipped }));
      expect(errorsIn(report, 'cluster/apps/shop/bundle.yaml')).toEqual([
        { line: 1, code: 'yaml', message: 'YAML: unprintable character U+001F is not allowed; the document was not read (is this a binary file?)' },
      ]);
      expectStillChecked(report, privilegedStorefront, privilegedDebugShell);
    });

    it('checks text that was not UTF-8 as the reader decoded it, with replacement characters', async () => {
      // Latin-1 "Café" read as UTF-8: the engine sees U+FFFD, which YAML allows; decoding is the
      // RepoSource's business, so the object is checked like any other.
      const latin1 = Buffer.from(
        'apiVersion: v1\nkind: Pod\nmetadata:\n  name: cafe\n  namespace: shop\n  annotations:\n    description: "Caf\xe9 kiosk"\nspec:\n  containers:\n    - name: kiosk\n      image: registry.example.com/cafe/kiosk:1.0\n      securityContext:\n        privileged: true\n',
        'latin1',
      ).toString('utf8');
      const report = await check(fixtureRepo(FIXTURE, { 'cluster/apps/shop/cafe.yaml': latin1 }));
      expect(errorsIn(report, 'cluster/apps/shop/cafe.yaml')).toEqual([]);
      expect(violations(report).filter((v) => v.location.file === 'cluster/apps/shop/cafe.yaml').map(finding)).toEqual([
        {
          file: 'cluster/apps/shop/cafe.yaml',
          line: 13,
          constraint: 'preventprivileged',
          message: 'Privileged container is not allowed: kiosk, securityContext: {"privileged": true}',
        },
      ]);
    });

    it('reads a key repeated in a mapping as kubectl does (the last one), with a warning on the line where it is repeated', async () => {
      const repeated = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: flags\n  namespace: shop\nspec:\n  containers:\n  - name: app\n    image: registry.example.com/shop/app:1.0\n    securityContext:\n      privileged: false\n      privileged: true\n';
      const report = await check(fixtureRepo(FIXTURE, { 'cluster/apps/shop/flags.yaml': repeated }));
      expect(errorsIn(report, 'cluster/apps/shop/flags.yaml')).toEqual([]);
      expect(report.clusters.flatMap((c) => c.warnings ?? []).filter((w) => w.location.file === 'cluster/apps/shop/flags.yaml')).toEqual([
        {
          location: { file: 'cluster/apps/shop/flags.yaml', line: 12 },
          code: 'yaml-reading',
          message: 'YAML: kyaml (Flux, kustomize) refuses this document (mapping key "privileged" already defined at line 11); sigs.k8s.io/yaml (kubectl, Argo CD) reads it, keeping the last value',
        },
      ]);
      expect(violations(report).filter((v) => v.location.file === 'cluster/apps/shop/flags.yaml').map((v) => v.location.line)).toEqual([12]);
      expectStillChecked(report, privilegedStorefront);
    });

    it('reads YAML 1.1 booleans and merge keys as kubectl does, with a warning saying how Flux reads them', async () => {
      const pod = (name: string, securityContext: string) => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  namespace: shop\nspec:\n  containers:\n  - name: app\n    image: registry.example.com/shop/app:1.0\n    securityContext:\n${securityContext}`;
      const report = await check(
        fixtureRepo(FIXTURE, {
          'cluster/apps/shop/yes.yaml': pod('yes-pod', '      privileged: yes\n'),
          'cluster/apps/shop/merged.yaml': pod('merged-pod', '      <<: {privileged: true}\n'),
        }),
      );
      const found = (file: string) => violations(report).filter((v) => v.location.file === file).map((v) => [v.constraint, v.location.line]);
      expect(found('cluster/apps/shop/yes.yaml')).toEqual([['preventprivileged', 11]]);
      expect(found('cluster/apps/shop/merged.yaml')).toEqual([['preventprivileged', 11]]);
      expect(report.clusters.flatMap((c) => c.warnings ?? []).filter((w) => w.location.file === 'cluster/apps/shop/yes.yaml')).toEqual([
        {
          location: { file: 'cluster/apps/shop/yes.yaml', line: 11 },
          code: 'yaml-reading',
          message:
            'YAML: sigs.k8s.io/yaml (kubectl, Argo CD) reads spec.containers[0].securityContext.privileged as true, kyaml (Flux, kustomize) as the string "yes"; write `true` for the boolean, or quote it ("yes") for the string',
        },
      ]);
    });

    it('parses a double-quoted string that runs over several lines', () => {
      const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  note: "first\n    second"\n  after: 0777\n';
      const parsed = parseYamlFile('notes.yaml', text);
      expect(parsed.errors).toEqual([]);
      expect(parsed.documents[0]!.value).toMatchObject({ data: { note: 'first second', after: 511 } });
      expect(parsed.documents[0]!.lines.keys!.data!.keys!.after!.line).toBe(8);
    });

    it('reads a mapping of 32,000 keys, and finds its repeated key, in time linear in its size', () => {
      const configMap = (keys: number) => {
        const lines = ['apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: catalog', 'data:'];
        for (let i = 0; i < keys; i++) lines.push(`  key-${i}: value-${i}`);
        return [...lines, '  key-7: again', ''].join('\n');
      };
      // Scaling, not speed: CPU time (not the clock, which a loaded machine stretches) of twice the
      // keys, each size's least of five runs taken in turn. Linear work is about twice the cost; the
      // quadratic check it replaces (each key compared with every earlier one) was about four times.
      const cpuCost = (text: string) => {
        const before = process.cpuUsage();
        parseYamlFile('cluster/apps/shop/catalog.yaml', text);
        const used = process.cpuUsage(before);
        return used.user + used.system;
      };
      const small = configMap(16_000);
      const large = configMap(32_000);
      parseYamlFile('warm-up.yaml', small);
      const costs = { small: [] as number[], large: [] as number[] };
      for (let run = 0; run < 5; run++) {
        costs.small.push(cpuCost(small));
        costs.large.push(cpuCost(large));
      }
      const ratio = Math.min(...costs.large) / Math.min(...costs.small);
      const parsed = parseYamlFile('cluster/apps/shop/catalog.yaml', large);
      expect(parsed.errors).toEqual([]);
      expect(parsed.documents[0]!.warnings?.map((w) => w.location.line)).toEqual([32_006]);
      expect(parsed.documents[0]!.warnings?.[0]?.message).toBe(
        'YAML: kyaml (Flux, kustomize) refuses this document (mapping key "key-7" already defined at line 13); sigs.k8s.io/yaml (kubectl, Argo CD) reads it, keeping the last value',
      );
      expect((parsed.documents[0]!.value as { data: Record<string, string> }).data['key-7']).toBe('again');
      expect(ratio).toBeLessThan(3);
    });
  });

  describe('manifests', () => {
    it('refuses a document without apiVersion or without kind, at that document', async () => {
      const report = await brokenRepo();
      expect(errorsIn(report, 'cluster/apps/shop/incomplete.yaml')).toEqual([
        { line: 2, code: 'manifest', message: 'not a Kubernetes object: apiVersion is missing' },
        { line: 7, code: 'manifest', message: 'not a Kubernetes object: kind is missing' },
      ]);
      expectStillChecked(report, privilegedStorefront);
    });

    it('refuses an object whose label value is not a string, on that label, and says how to quote it', async () => {
      const report = await brokenRepo();
      expect(errorsIn(report, 'cluster/apps/shop/worker.yaml')).toEqual([
        { line: 9, code: 'manifest', message: 'metadata.labels.release must be a string (quote it: "2024")' },
      ]);
      // The API server would refuse the object, so it is not reviewed; its privileged container is not reported.
      expect(violations(report).filter((v) => v.location.file === 'cluster/apps/shop/worker.yaml')).toEqual([]);
      expectStillChecked(report, privilegedStorefront);
    });

    it('reports the second declaration of an object, naming the first, and reviews the first', async () => {
      const report = await brokenRepo();
      expect(errorsIn(report, 'cluster/apps/shop/storefront-copy.yaml')).toEqual([
        {
          line: 3,
          code: 'duplicate',
          message:
            'Deployment storefront in namespace shop is declared twice (also at cluster/apps/shop/deployment.yaml:2); the cluster would keep only one of them',
        },
      ]);
      expect(violations(report).filter((v) => v.object.name === 'storefront').map(finding)).toEqual([storefrontWithoutOwner, privilegedStorefront]);
    });
  });

  describe('templates', () => {
    it("maps opa's parse error to the Rego line inside the template's block scalar", async () => {
      const report = await brokenRepo();
      // opa stops at the `}` after the sprintf call that misses its closing parenthesis.
      expect(errorsIn(report, 'cluster/policies/templates/k8sreplicalimits.yaml')).toEqual([
        { line: 23, code: 'rego', message: 'ConstraintTemplate k8sreplicalimits: rego_parse_error: unexpected } token: expected "," or ")"' },
      ]);
      // Its constraint is not reported a second time as "no template".
      expect(errorsIn(report, 'cluster/policies/constraints/replica-limits.yaml')).toEqual([]);
      expect(violations(report).filter((v) => v.constraint === 'replica-limits')).toEqual([]);
      expectStillChecked(report, privilegedStorefront, storefrontWithoutOwner);
    });

    it('maps an error in a lib to its line in the libs list', async () => {
      const report = await brokenRepo();
      expect(errorsIn(report, 'cluster/policies/templates/k8sallowedports.yaml')).toEqual([
        {
          line: 32,
          code: 'rego',
          message:
            'ConstraintTemplate k8sallowedports: libs[0]: rego_parse_error: unexpected identifier token: expected \\n or ; or } (hint: `import future.keywords.in` for `some x in xs` expressions)',
        },
      ]);
      expectStillChecked(report, privilegedDebugShell);
    });

    it('refuses `import rego.v1` in a v1 template, as Gatekeeper does', async () => {
      const report = await brokenRepo();
      expect(errorsIn(report, 'cluster/policies/templates/k8sdisallowedtags.yaml')).toEqual([
        { line: 20, code: 'rego', message: 'ConstraintTemplate k8sdisallowedtags: invalid import: bad import: "rego.v1"' },
      ]);
      expectStillChecked(report, privilegedDebugShell);
    });

    it('refuses a reference to data outside data.lib and data.inventory', async () => {
      const report = await brokenRepo();
      expect(errorsIn(report, 'cluster/policies/templates/k8sallowedregistries.yaml')).toEqual([
        {
          line: 18,
          code: 'rego',
          message: 'ConstraintTemplate k8sallowedregistries: disallowed ref data.registries.allowed: templates may only refer to data.lib and data.inventory',
        },
      ]);
      expectStillChecked(report, privilegedDebugShell);
    });

    it('refuses a template without a `violation` rule, at its package line', async () => {
      const report = await brokenRepo();
      expect(errorsIn(report, 'cluster/policies/templates/k8srequiredprobes.yaml')).toEqual([
        { line: 14, code: 'rego', message: 'ConstraintTemplate k8srequiredprobes: invalid rego: missing required rule "violation"' },
      ]);
      expectStillChecked(report, privilegedDebugShell);
    });

    it('refuses a template whose metadata.name is not the lower-cased kind', async () => {
      const report = await brokenRepo();
      expect(errorsIn(report, 'cluster/policies/templates/k8sblockednodeports.yaml')).toEqual([
        {
          line: 3,
          code: 'template',
          message:
            'ConstraintTemplate block-node-ports: metadata.name must be the lower-cased kind: the template\'s name "block-node-ports" should be "k8sblockednodeports"',
        },
      ]);
      expectStillChecked(report, privilegedDebugShell);
    });

    it('loads a template calling a builtin only Go OPA has (uuid.rfc4122): Gatekeeper allows it, so it is no input error', async () => {
      const template = `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8srequestid
spec:
  crd:
    spec:
      names:
        kind: K8sRequestId
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8srequestid

        violation[{"msg": msg}] {
          id := uuid.rfc4122(input.review.object.metadata.name)
          msg := sprintf("request %v", [id])
        }
`;
      const report = await check(fixtureRepo(FIXTURE, { 'cluster/policies/templates/k8srequestid.yaml': template }));
      // Before every builtin ran, this was a load error naming uuid.rfc4122 (test/engine/rego/builtin-coverage.test.ts covers them all).
      expect(errorsIn(report, 'cluster/policies/templates/k8srequestid.yaml')).toEqual([]);
    });

    it('refuses a template calling http.send, which Gatekeeper disables, with the compile error Gatekeeper gives on its line, and skips its constraints', async () => {
      const report = await brokenRepo();
      expect(errorsIn(report, 'cluster/policies/templates/k8simagescan.yaml')).toEqual([
        { line: 18, code: 'rego', message: 'ConstraintTemplate k8simagescan: rego_type_error: undefined function http.send' },
      ]);
      // The constraint matches every Pod; none of them gets a result or an error from it.
      expect(errorsIn(report, 'cluster/policies/constraints/image-scan.yaml')).toEqual([]);
      expect(violations(report).filter((v) => v.constraint === 'image-scan')).toEqual([]);
      expectStillChecked(report, privilegedDebugShell);
    });
  });

  describe('constraints', () => {
    it('refuses a constraint whose kind has no template', async () => {
      const report = await brokenRepo();
      expect(errorsIn(report, 'cluster/policies/constraints/container-limits.yaml')).toEqual([
        {
          line: 3,
          code: 'constraint',
          message: 'K8sContainerLimits container-limits: no ConstraintTemplate defines the kind K8sContainerLimits; add its template to the policies folder',
        },
      ]);
      expectStillChecked(report, privilegedDebugShell);
    });

    it('refuses parameters of the wrong type for the template schema', async () => {
      const report = await brokenRepo();
      expect(errorsIn(report, 'cluster/policies/constraints/owner-as-string.yaml')).toEqual([
        {
          line: 12,
          code: 'schema',
          message:
            'K8sRequiredLabels owner-as-string: spec.parameters.labels: Invalid value: "string": spec.parameters.labels in body must be of type array: "string"',
        },
      ]);
      expect(violations(report).filter((v) => v.constraint === 'owner-as-string')).toEqual([]);
      // The template's valid constraint still reports.
      expectStillChecked(report, storefrontWithoutOwner);
    });

    it('refuses a parameter the template schema does not declare', async () => {
      const report = await brokenRepo();
      expect(errorsIn(report, 'cluster/policies/constraints/misspelled-parameter.yaml')).toEqual([
        { line: 12, code: 'constraint', message: 'K8sRequiredLabels misspelled-parameter: spec.parameters.label: unknown field' },
      ]);
      expect(violations(report).filter((v) => v.constraint === 'misspelled-parameter')).toEqual([]);
      expectStillChecked(report, storefrontWithoutOwner);
    });

    it('refuses an enforcementAction Gatekeeper does not know', async () => {
      const report = await brokenRepo();
      expect(errorsIn(report, 'cluster/policies/constraints/block-action.yaml')).toEqual([
        {
          line: 7,
          code: 'constraint',
          message: 'PreventPrivileged block-privileged: unrecognized enforcementAction: "block" is not within the supported list [deny dryrun warn scoped]',
        },
      ]);
      expect(violations(report).filter((v) => v.constraint === 'block-privileged')).toEqual([]);
      expectStillChecked(report, privilegedStorefront);
    });

    it('refuses an invalid labelSelector with the field path kubectl would print', async () => {
      const report = await brokenRepo();
      expect(errorsIn(report, 'cluster/policies/constraints/bad-selector.yaml')).toEqual([
        {
          line: 14,
          code: 'schema',
          message:
            'PreventPrivileged privileged-frontends: spec.match.labelSelector.matchExpressions[0].operator: Invalid value: "Equals": not a valid selector operator',
        },
      ]);
      expect(violations(report).filter((v) => v.constraint === 'privileged-frontends')).toEqual([]);
      expectStillChecked(report, privilegedStorefront);
    });
  });

  describe('cluster configuration', () => {
    it.each([
      { what: 'a Cluster with an empty spec.policies.path', line: 4, message: "Cluster staging: spec.policies.path must name the folder that holds the cluster's ConstraintTemplates and Constraints" },
      { what: 'a document that is not a mapping', line: 13, message: 'expected a mapping with apiVersion, kind, metadata and spec' },
      { what: 'a Cluster with a foreign apiVersion', line: 17, message: 'apiVersion "v1" is not a Security Tower configuration (expected securitytower.io/v1alpha1)' },
    ])('reports $what as a repository error at its line, and checks the good cluster', async ({ line, message }) => {
      const report = await brokenRepo();
      expect(report.errors).toContainEqual({ location: { file: '.securitytower/staging.yaml', line }, code: 'cluster-config', message });
      expect(report.clusters.map((cluster) => cluster.name)).toEqual(['broken-prod']);
      expectStillChecked(report, privilegedStorefront);
    });

    it('reports the errors, and exits 1, when no cluster config of the repository is valid', async () => {
      // Without cluster.yaml only staging.yaml's three broken documents remain: not "no cluster found".
      const report = await check(fixtureRepo(FIXTURE, { '.securitytower/cluster.yaml': null }));
      expect(report.clusters).toEqual([]);
      expect(allErrors(report).map((e) => `${e.location.file}:${e.location.line} ${e.code}`)).toEqual([
        '.securitytower/staging.yaml:4 cluster-config',
        '.securitytower/staging.yaml:13 cluster-config',
        '.securitytower/staging.yaml:17 cluster-config',
      ]);
      expect(checkExitCode(report)).toBe(1);
    });

    it('reports a cluster config that is not YAML at all as an error, not as a missing cluster', async () => {
      const report = await check(
        fixtureRepo(FIXTURE, {
          '.securitytower/staging.yaml': null,
          '.securitytower/cluster.yaml': 'apiVersion: securitytower.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: broken-prod\nspec:\n  policies:\n    path: "cluster/policies\n',
        }),
      );
      expect(report.clusters).toEqual([]);
      expect(report.errors).toEqual([{ location: { file: '.securitytower/cluster.yaml', line: 7 }, code: 'yaml', message: 'YAML: Missing closing "quote' }]);
      expect(checkExitCode(report)).toBe(1);
    });

    it('says there is nothing to check (a usage error, exit 2) only when the repository declares no cluster at all', async () => {
      const noConfig = fixtureRepo(FIXTURE, { '.securitytower/cluster.yaml': null, '.securitytower/staging.yaml': null });
      const report = await check(noConfig);
      expect(report.clusters).toEqual([]);
      expect(nothingToCheck(report)).toBe('no `kind: Cluster` configuration found in .securitytower/*.yaml');
      // An Application alone declares no cluster either: nothing is wrong in it, there is just nothing to check.
      const onlyApplication = fixtureRepo(FIXTURE, {
        '.securitytower/cluster.yaml': null,
        '.securitytower/staging.yaml':
          'apiVersion: securitytower.io/v1alpha1\nkind: Application\nmetadata:\n  name: shop\nspec:\n  stages:\n    - name: prod\n      cluster:\n        name: broken-prod\n      resources:\n        path: cluster/apps/shop\n',
      });
      expect(nothingToCheck(await check(onlyApplication))).toBe('no `kind: Cluster` configuration found in .securitytower/*.yaml');
    });
  });

  describe('limits', () => {
    it('stops a YAML alias bomb with a limit error instead of expanding it', async () => {
      const report = await brokenRepo();
      expect(errorsIn(report, 'cluster/apps/shop/alias-bomb.yaml')).toEqual([
        { line: 2, code: 'limit', message: 'YAML: too many alias expansions (limit 100); the document was not read' },
      ]);
      expectStillChecked(report, privilegedStorefront, strictCheckoutSettings);
    });

    it('refuses a 20 MB file without reading it', async () => {
      const files = await filesOf(fixtureRepo(FIXTURE));
      const big = 'cluster/apps/shop/catalog.yaml';
      const source = new MemorySource({ ...files, [big]: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: catalog\n' }, { [big]: 20 * 1024 * 1024 });
      const report = await check(source);
      expect(errorsIn(report, big)).toEqual([
        { line: 1, code: 'limit', message: 'file is 20.0 MiB, over the 5.0 MiB limit for a manifest file; it was not read' },
      ]);
      expect(source.reads.flat()).not.toContain(big);
      expectStillChecked(report, privilegedStorefront);
    });

    it('reads no more documents of a file than the limit allows, and says where it stopped', async () => {
      const report = await check(fixtureRepo(FIXTURE), { limits: { maxDocumentsPerFile: 3 } });
      expect(errorsIn(report, 'cluster/apps/shop/load-test.yaml')).toEqual([
        // The fourth document starts at its `---`.
        { line: 31, code: 'limit', message: 'more than 3 YAML documents in one file; the rest of the file was not read' },
      ]);
      // load-4, the privileged one, is past the limit; files within it are checked as usual.
      expect(violations(report).filter((v) => v.location.file === 'cluster/apps/shop/load-test.yaml')).toEqual([]);
      expectStillChecked(report, privilegedStorefront, privilegedDebugShell);
      // Without the limit, the fourth document is read and its violation reported.
      const unlimited = await brokenRepo();
      expect(violations(unlimited).filter((v) => v.location.file === 'cluster/apps/shop/load-test.yaml').map(finding)).toEqual([
        {
          file: 'cluster/apps/shop/load-test.yaml',
          line: 42,
          constraint: 'preventprivileged',
          message: 'Privileged container is not allowed: k6, securityContext: {"privileged": true}',
        },
      ]);
    });
  });

  describe('evaluation', () => {
    it('stops an evaluation that runs past the time limit and reports it on the object; other results stay', async () => {
      const driver = startDriver({ workers: 1, timeoutMs: 300 });
      try {
        const report = await check(fixtureRepo(FIXTURE, { 'cluster/policies/templates/k8spairs.yaml': PAIRS_TEMPLATE, 'cluster/policies/constraints/pairs.yaml': PAIRS_CONSTRAINT }), {
          driver,
        });
        expect(violations(report).filter((v) => v.constraint === 'settings-pairs').map(finding)).toEqual([
          { file: 'cluster/apps/shop/settings.yaml', line: 2, constraint: 'settings-pairs', message: 'evaluation exceeded the time limit of 300 ms and was stopped' },
        ]);
        // The replacement worker finished the rest: results of other constraints, on this object and others.
        expectStillChecked(report, privilegedStorefront, storefrontWithoutOwner, privilegedDebugShell, strictCheckoutSettings);
        expect(errorsIn(report, 'cluster/policies/templates/k8spairs.yaml')).toEqual([]);
        // The limit is Parapet's, not Gatekeeper's: it is also an input error, so the check fails.
        expect(errorsIn(report, 'cluster/apps/shop/settings.yaml')).toContainEqual({
          line: 2,
          code: 'evaluation',
          message: 'K8sPairs settings-pairs could not be evaluated on ConfigMap settings: evaluation exceeded the time limit of 300 ms and was stopped',
        });
      } finally {
        await driver.close();
      }
    });

    it("reports a runtime conflict as a violation with Gatekeeper's message, and evaluates the other objects", async () => {
      const report = await brokenRepo();
      // Both `mode` rules hold for the ConfigMap "settings" (lines 10 and 14 of the Rego).
      expect(violations(report).filter((v) => v.constraint === 'settings-mode').map(finding)).toEqual([
        {
          file: 'cluster/apps/shop/settings.yaml',
          line: 2,
          constraint: 'settings-mode',
          message: 'template:14: eval_conflict_error: complete rules must not produce multiple outputs',
        },
        strictCheckoutSettings,
      ]);
    });
  });

  describe('risk acceptances', () => {
    it('reports an empty or blank reason on the annotation line, and accepts nothing with it', async () => {
      const report = await brokenRepo();
      const message =
        'risk acceptance securitytower.io/policy.exclusion.preventprivileged has no reason; write why the risk is accepted (it accepts nothing until then)';
      expect(errorsIn(report, 'cluster/apps/shop/exceptions.yaml')).toEqual([
        { line: 8, code: 'acceptance', message },
        { line: 32, code: 'acceptance', message },
      ]);
      const excepted = violations(report).filter((v) => v.location.file === 'cluster/apps/shop/exceptions.yaml');
      expect(excepted.map((v) => [v.object.name, v.location.line, v.enforcementAction, v.acceptance])).toEqual([
        ['node-debugger', 14, 'deny', null],
        ['log-shipper', 38, 'deny', null],
      ]);
    });
  });
});

// A template that counts 25 million pairs: far beyond a 300 ms limit, without being wrong Rego.
const PAIRS_TEMPLATE = `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8spairs
spec:
  crd:
    spec:
      names:
        kind: K8sPairs
  targets:
    - target: admission.k8s.gatekeeper.sh
      code:
        - engine: Rego
          source:
            version: v1
            rego: |
              package k8spairs

              violation contains {"msg": msg} if {
                steps := numbers.range(1, 5000)
                pairs := count([1 | some i in steps; some j in steps])
                pairs > 0
                msg := sprintf("%v pairs of settings", [pairs])
              }
`;

const PAIRS_CONSTRAINT = `apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sPairs
metadata:
  name: settings-pairs
spec:
  match:
    kinds:
      - apiGroups: [""]
        kinds: ["ConfigMap"]
    name: settings
`;
