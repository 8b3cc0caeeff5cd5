import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { libraryDir, loadCatalog, readCatalog, STANDARDS, type LibraryFiles } from '../../src/library/catalog.js';
import { repoRoot } from '../helpers/engine.js';

// The library as shipped: policies/<name>/ with policy.yaml, template.yaml, constraint.yaml and a
// suite (policies/README.md). Whatever policies it holds, each must follow the format.

const policiesDir = join(repoRoot, 'policies');
const folders = readdirSync(policiesDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name !== 'lib')
  .map((entry) => entry.name)
  .sort();
const read = (path: string) => (existsSync(join(policiesDir, path)) ? readFileSync(join(policiesDir, path), 'utf8') : undefined);
const files: LibraryFiles = {
  expansion: read('expansion.yaml'),
  folders: folders.map((name) => ({ name, policy: read(`${name}/policy.yaml`), template: read(`${name}/template.yaml`), constraint: read(`${name}/constraint.yaml`) })),
};
const { catalog, problems } = readCatalog(files);
const exclusionsLib = readFileSync(join(policiesDir, 'lib', 'exclusions.rego'), 'utf8');
const pssLib = readFileSync(join(policiesDir, 'lib', 'pss.rego'), 'utf8');
const STANDARD_IDS: string[] = STANDARDS.map((s) => s.id);

describe('the policy library', () => {
  it('loads from the package folder, from src/ as from dist/', async () => {
    expect(libraryDir).toBe(`${policiesDir}/`);
    await expect(loadCatalog()).resolves.toMatchObject({ policies: expect.any(Array) });
  });

  it('has no problems: every policy folder is complete and consistent', () => {
    expect(problems).toEqual([]);
    expect(catalog.policies.map((p) => p.name)).toEqual(folders);
  });

  it('lists the policies sorted by name and every standard with its members', () => {
    const names = catalog.policies.map((p) => p.name);
    expect(names).toEqual([...names].sort());
    expect(catalog.standards.map((s) => s.id)).toEqual(STANDARD_IDS);
    for (const standard of catalog.standards) {
      expect(standard.policies).toEqual(catalog.policies.filter((p) => p.standards.some((s) => s.id === standard.id && !s.stricter)).map((p) => p.name));
      expect(standard.stricter).toEqual(catalog.policies.filter((p) => p.standards.some((s) => s.id === standard.id && s.stricter)).map((p) => p.name));
    }
  });
});

// The Pod Security Standards' controls, as Kubernetes documents them; Restricted holds Baseline's too.
const BASELINE_CONTROLS = [
  'HostProcess', 'Host Namespaces', 'Privileged Containers', 'Capabilities', 'HostPath Volumes', 'Host Ports', 'Host Probes / Lifecycle Hooks',
  'AppArmor', 'SELinux', '/proc Mount Type', 'Seccomp', 'Sysctls',
];
// Restricted's volume types replace Baseline's HostPath Volumes control, as in Pod Security Admission.
const RESTRICTED_CONTROLS = [
  ...BASELINE_CONTROLS.filter((c) => c !== 'HostPath Volumes'), 'Volume Types', 'Privilege Escalation', 'Running as Non-root', 'Running as Non-root user',
];

describe.each([
  ['k8s/baseline', BASELINE_CONTROLS],
  ['k8s/restricted', RESTRICTED_CONTROLS],
])('the Pod Security Standards: %s', (id, controls) => {
  const exact = (control: string) => catalog.policies.filter((p) => p.standards.some((s) => s.id === id && s.control === control && !s.stricter)).map((p) => p.name);

  it.each(controls)('has exactly one policy that implements the control %s', (control) => {
    expect(exact(control)).toHaveLength(1);
  });

  it('maps no policy to a control the standard does not have', () => {
    const mapped = catalog.policies.flatMap((p) => p.standards.filter((s) => s.id === id).map((s) => s.control));
    expect(mapped.filter((control) => !controls.includes(control))).toEqual([]);
  });

  it('enforces each control at the version its constraint names, checked against the pattern Pod Security Admission accepts', () => {
    for (const name of catalog.standards.find((s) => s.id === id)!.policies) {
      const template = parse(read(`${name}/template.yaml`)!);
      expect(template.spec.crd.spec.validation.openAPIV3Schema.properties.version, name).toMatchObject({ type: 'string', default: 'latest' });
      const source = template.spec.targets[0].code[0].source;
      if (source.rego.includes('data.lib.parapet.pss')) expect(source.libs, name).toContain(pssLib);
    }
  });
});

describe('policies stricter than a Pod Security Standards control', () => {
  it.each([
    ['preventadditionalcapabilities', 'Capabilities'],
    ['preventseccompoverwrite', 'Seccomp'],
  ])('maps %s as stricter than %s, at both levels, not as its implementation', (name, control) => {
    const policy = catalog.policies.find((p) => p.name === name)!;
    expect(policy.standards.filter((s) => s.id.startsWith('k8s/'))).toEqual([
      { id: 'k8s/baseline', control, stricter: true },
      { id: 'k8s/restricted', control, stricter: true },
    ]);
    for (const standard of catalog.standards.filter((s) => s.id.startsWith('k8s/'))) {
      expect(standard.policies).not.toContain(name);
      expect(standard.stricter).toContain(name);
    }
  });
});

describe.each(folders)('policies/%s', (name) => {
  const policy = parse(read(`${name}/policy.yaml`) ?? '{}') ?? {};
  const template = parse(read(`${name}/template.yaml`) ?? '{}') ?? {};
  const constraint = parse(read(`${name}/constraint.yaml`) ?? '{}') ?? {};

  it('is named by its folder, the template metadata.name and the lower-cased kind', () => {
    expect(template.metadata?.name).toBe(name);
    expect(template.spec?.crd?.spec?.names?.kind?.toLowerCase()).toBe(name);
    expect(policy.metadata?.name).toBe(name);
    expect(policy.spec?.kind).toBe(template.spec?.crd?.spec?.names?.kind);
    expect(constraint.kind).toBe(policy.spec?.kind);
    expect(constraint.metadata?.name).toBe(name);
  });

  it('has complete metadata', () => {
    const spec = policy.spec ?? {};
    for (const field of ['title', 'version', 'description', 'example']) expect(typeof spec[field] === 'string' && spec[field].trim() !== '', `spec.${field}`).toBe(true);
    expect(spec.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(template.metadata?.annotations?.['metadata.gatekeeper.sh/version']).toBe(spec.version);
    expect(spec.appliesTo?.length).toBeGreaterThan(0);
    expect(spec.riskAcceptance?.annotation).toBe(`securitytower.io/policy.exclusion.${name}`);
    expect(spec.riskAcceptance?.example).toContain(`securitytower.io/policy.exclusion.${name}`);
  });

  it('maps to known standards only, each with a control', () => {
    const standards: Array<{ id: string; control: unknown }> = policy.spec?.standards;
    expect(Array.isArray(standards), 'spec.standards is a list ([] for an operational policy)').toBe(true);
    for (const standard of standards ?? []) {
      expect(STANDARD_IDS).toContain(standard.id);
      expect(typeof standard.control === 'string' && standard.control !== '', `${standard.id} control`).toBe(true);
    }
  });

  it('carries the shared exclusions lib verbatim and declares ignoreRiskAcceptances', () => {
    const source = template.spec?.targets?.[0]?.code?.find((c: { engine?: string }) => c.engine === 'Rego')?.source ?? {};
    expect(source.version).toBe('v1');
    expect(source.libs ?? []).toContain(exclusionsLib);
    expect(template.spec?.crd?.spec?.validation?.openAPIV3Schema?.properties?.ignoreRiskAcceptances).toMatchObject({ type: 'boolean' });
  });

  it('has a gator suite with at least four cases', () => {
    const suite = parse(read(`${name}/suite.yaml`) ?? '{}') ?? {};
    expect(suite.kind).toBe('Suite');
    const cases = (suite.tests ?? []).flatMap((test: { cases?: unknown[] }) => test.cases ?? []);
    expect(cases.length).toBeGreaterThanOrEqual(4);
  });
});

describe('metadata problems', () => {
  const model = files.folders.find((f) => f.name === 'preventprivileged')!;
  const broken = (change: (text: string) => string) => readCatalog({ expansion: files.expansion, folders: [{ ...model, policy: change(model.policy!) }] }).problems;

  it.each([
    ['an unknown standard', (t: string) => t.replace('id: cis/kubernetes', 'id: owasp/top10'), /policies\/preventprivileged\/policy.yaml: spec.standards\[2\].id "owasp\/top10" is not a known standard/],
    ['a version that is not semantic', (t: string) => t.replace(/version: .*/, 'version: "1.0"'), /policy.yaml: spec.version must be a semantic version/],
    ['a missing title', (t: string) => t.replace(/ {2}title: .*\n/, ''), /policy.yaml: spec.title is required/],
    ['a misspelt field', (t: string) => t.replace('appliesTo:', 'appliesto:'), /policy.yaml: unknown field spec.appliesto/],
    ['a wrong annotation', (t: string) => t.replace('annotation: securitytower.io/policy.exclusion.preventprivileged', 'annotation: x'), /spec.riskAcceptance.annotation must be/],
    ['a number as a control', (t: string) => t.replace('control: "3.4.3"', 'control: 3.4'), /spec.standards\[3\].control must be a non-empty string/],
  ])('names the file and the field for %s', (_name, change, message) => {
    expect(broken(change).join('\n')).toMatch(message);
  });

  it.each([
    ['a required parameter the template lacks', 'requiredParameters:\n    anyOf: [allowedimages]\n    example: allowedimages=nginx\n', /policy.yaml: spec.requiredParameters.anyOf must list parameters of the template \(ignoreRiskAcceptances, version\)/],
    ['an example --param cannot take', 'requiredParameters:\n    anyOf: [ignoreRiskAcceptances]\n    example: true\n', /policy.yaml: spec.requiredParameters.example must be KEY=VALUE/],
  ])('names the field for %s', (_name, field, message) => {
    expect(broken((t) => t.replace('  tags:', `  ${field}  tags:`)).join('\n')).toMatch(message);
  });

  it('reads the parameters a policy needs before it can deny, and its parameter schema', () => {
    const allowlist = catalog.policies.find((p) => p.name === 'imageallowlist')!;
    expect(allowlist.requiredParameters).toEqual({ anyOf: ['trustedregistries', 'trustedimages'], example: 'trustedregistries=registry.example.com,ghcr.io/acme' });
    expect(allowlist.parameters.trustedregistries).toMatchObject({ type: 'array', items: { type: 'string' } });
    expect(catalog.policies.find((p) => p.name === 'preventprivileged')!.requiredParameters).toBeUndefined();
  });

  it('names a missing file and a template whose version disagrees', () => {
    const { problems: missing } = readCatalog({ expansion: files.expansion, folders: [{ name: 'halfdone', template: model.template }] });
    expect(missing).toContain('policies/halfdone/policy.yaml: is missing');
    const { problems: version } = readCatalog({ expansion: files.expansion, folders: [{ ...model, template: model.template!.replace(/gatekeeper.sh\/version: .*/, 'gatekeeper.sh/version: 0.0.1') }] });
    expect(version.join('\n')).toMatch(/policies\/preventprivileged\/template.yaml: metadata.annotations\["metadata.gatekeeper.sh\/version"\] must be/);
  });
});
