import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { loadCatalog, readCatalog, type Catalog, type LibraryFiles } from '../../src/library/catalog.js';
import { folderStatus, MANAGED_BY_ANNOTATION, parameterValue, planDisable, planEnable, type Plan, type PolicyFolder } from '../../src/library/plan.js';
import { repoRoot } from '../helpers/engine.js';

// Planning is pure: a catalog and a folder's files in, files to write and delete out. The library here
// is the real preventprivileged (the model policy) plus a small second policy, so these cases do not
// move when the library grows.

const library = join(repoRoot, 'policies');
const read = (path: string) => readFileSync(join(library, path), 'utf8');

const LABEL_POLICY = `apiVersion: parapet.dev/v1alpha1
kind: Policy
metadata:
  name: requireteamlabel
spec:
  kind: RequireTeamLabel
  title: Require a team label
  version: 2.0.0
  description: |
    Every Pod names its team in the label team. Someone has to answer for it.
  standards:
    - id: k8s/restricted
      control: Test control
    - id: nsa/kubernetes
      control: Labels
  tags: [Ownership]
  appliesTo: [Pod]
  example: |2
     metadata:
       labels:
    +    team: shop
  riskAcceptance:
    annotation: securitytower.io/policy.exclusion.requireteamlabel
    example: |
      metadata:
        annotations:
          securitytower.io/policy.exclusion.requireteamlabel: Nobody owns this yet.
`;

const LABEL_TEMPLATE = `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: requireteamlabel
  annotations:
    metadata.gatekeeper.sh/version: 2.0.0
spec:
  crd:
    spec:
      names:
        kind: RequireTeamLabel
      validation:
        openAPIV3Schema:
          type: object
          properties:
            label: {type: string, default: team}
  targets:
    - target: admission.k8s.gatekeeper.sh
      code:
        - engine: Rego
          source:
            version: v1
            rego: |
              package requireteamlabel

              violation contains {"msg": "no team label"} if not input.review.object.metadata.labels.team
`;

const LABEL_CONSTRAINT = `apiVersion: constraints.gatekeeper.sh/v1beta1
kind: RequireTeamLabel
metadata:
  name: requireteamlabel
spec:
  match:
    kinds:
      - apiGroups: [""]
        kinds: ["Pod"]
  parameters:
    label: team
`;

function libraryFiles(): LibraryFiles {
  return {
    expansion: read('expansion.yaml'),
    folders: [
      { name: 'preventprivileged', policy: read('preventprivileged/policy.yaml'), template: read('preventprivileged/template.yaml'), constraint: read('preventprivileged/constraint.yaml') },
      { name: 'requireteamlabel', policy: LABEL_POLICY, template: LABEL_TEMPLATE, constraint: LABEL_CONSTRAINT },
    ],
  };
}

function catalogOf(files: LibraryFiles): Catalog {
  const { catalog, problems } = readCatalog(files);
  expect(problems).toEqual([]);
  return catalog;
}

const catalog = catalogOf(libraryFiles());
const VERSION = catalog.policies.find((p) => p.name === 'preventprivileged')!.version;

/** The library with preventprivileged at 9.0.0, its default constraint and Rego changed. */
function upgradedCatalog(): Catalog {
  const files = libraryFiles();
  const folder = files.folders[0]!;
  const bump = (text: string) => text.replaceAll(`version: ${VERSION}`, 'version: 9.0.0');
  folder.policy = bump(folder.policy!);
  folder.template = bump(folder.template!).replace('c.securityContext.privileged == true', 'c.securityContext.privileged');
  folder.constraint = folder
    .constraint!.replace('excludedNamespaces: ["kube-system"]', 'excludedNamespaces: ["kube-system", "gatekeeper-system"]')
    .replace('  name: preventprivileged\n', '  name: preventprivileged\n  labels:\n    app.kubernetes.io/part-of: parapet\n');
  return catalogOf(files);
}

const PATH = 'cluster/policies';
const paths = (name: string) => ({
  policy: `${PATH}/${name}.policy`,
  template: `${PATH}/constraint-templates/${name}-template.yaml`,
  constraint: `${PATH}/constraints/${name}-constraint.yaml`,
});
const EXPANSION = `${PATH}/expansion-templates.yaml`;
const CONFIG = `${PATH}/gatekeeper-config.yaml`;

function folder(files: Record<string, string> = {}, path = PATH): PolicyFolder {
  return { path, files: new Map(Object.entries(files)) };
}

/** The folder after a plan is applied. */
function applied(before: PolicyFolder, plan: Plan): PolicyFolder {
  expect(plan.problems).toEqual([]);
  const files = new Map(before.files);
  for (const [path, text] of plan.writes) files.set(path, text);
  for (const path of plan.deletes) files.delete(path);
  return { path: before.path, files };
}

function enabled(names: string[], options: { catalog?: Catalog; base?: PolicyFolder } = {}): PolicyFolder {
  const base = options.base ?? folder();
  return applied(base, planEnable(options.catalog ?? catalog, base, { names }));
}

const objects = (text: string) => parseAllDocuments(text).map((doc) => doc.toJS() as Record<string, any>);

describe('enabling a policy in an empty folder', () => {
  const plan = planEnable(catalog, folder(), { names: ['preventprivileged'] });
  const p = paths('preventprivileged');

  it('writes the .policy file, the template, the constraint, the expansion templates and the sync config', () => {
    expect(plan.problems).toEqual([]);
    expect([...plan.writes.keys()].sort()).toEqual([p.template, p.constraint, EXPANSION, CONFIG, p.policy].sort());
    expect(plan.deletes).toEqual([]);
    expect(plan.outcomes).toEqual([{ name: 'preventprivileged', to: VERSION, outcome: 'enabled' }]);
  });

  it('marks every object it writes as Parapet\'s', () => {
    for (const text of plan.writes.values()) {
      for (const object of objects(text)) expect(object.metadata.annotations[MANAGED_BY_ANNOTATION]).toBe('parapet');
    }
  });

  it('writes the library template verbatim, only adding the mark and a comment', () => {
    const written = plan.writes.get(p.template)!;
    const library = parse(read('preventprivileged/template.yaml'));
    library.metadata.annotations[MANAGED_BY_ANNOTATION] = 'parapet';
    expect(parse(written)).toEqual(library);
    expect(written).toContain(`metadata.gatekeeper.sh/version: ${VERSION}`);
    // Like the hand-written file: the Rego stays a literal block, flow lists stay flow lists.
    for (const line of read('preventprivileged/template.yaml').split('\n')) expect(written.split('\n')).toContain(line);
  });

  it('writes the default constraint with its enforcementAction', () => {
    const constraint = parse(plan.writes.get(p.constraint)!);
    expect(constraint).toMatchObject({ kind: 'PreventPrivileged', metadata: { name: 'preventprivileged' }, spec: { enforcementAction: 'deny' } });
    expect(plan.writes.get(p.constraint)).toContain('excludedNamespaces: ["kube-system"]');
  });

  it('records the version, title, standards and files in the .policy file', () => {
    expect(parse(plan.writes.get(p.policy)!)).toEqual({
      apiVersion: 'parapet.dev/v1alpha1',
      kind: 'EnabledPolicy',
      metadata: { name: 'preventprivileged', annotations: { [MANAGED_BY_ANNOTATION]: 'parapet' } },
      spec: {
        version: VERSION,
        title: 'Prevent privileged containers',
        standards: catalog.policies.find((x) => x.name === 'preventprivileged')!.standards,
        templateFile: 'constraint-templates/preventprivileged-template.yaml',
        constraintFile: 'constraints/preventprivileged-constraint.yaml',
        enabledBy: 'parapet',
      },
    });
  });

  it('installs the library\'s ExpansionTemplates', () => {
    const written = objects(plan.writes.get(EXPANSION)!);
    expect(written.map((o) => o.metadata.name)).toEqual(objects(read('expansion.yaml')).map((o) => o.metadata.name));
  });

  it('writes at the repository root when the policies path is the root', () => {
    const atRoot = planEnable(catalog, folder({}, ''), { names: ['preventprivileged'] });
    expect([...atRoot.writes.keys()].sort()).toEqual(['constraint-templates/preventprivileged-template.yaml', 'constraints/preventprivileged-constraint.yaml', 'expansion-templates.yaml', 'gatekeeper-config.yaml', 'preventprivileged.policy']);
  });
});

describe('enabling again', () => {
  it('changes nothing when the policy is enabled already', () => {
    const once = enabled(['preventprivileged']);
    const twice = planEnable(catalog, once, { names: ['preventprivileged'] });
    expect(twice.writes.size).toBe(0);
    expect(twice.unchanged).toHaveLength(5);
    expect(twice.outcomes).toEqual([{ name: 'preventprivileged', from: VERSION, to: VERSION, outcome: 'unchanged' }]);
  });

  it('leaves a constraint whose YAML means the same alone, whatever its layout and comments', () => {
    const once = enabled(['preventprivileged']);
    const p = paths('preventprivileged');
    const files = Object.fromEntries(once.files);
    files[p.constraint] = `# our exception list lives in spec.match\n${files[p.constraint]!.replace('["kube-system"]', '\n      - kube-system')}`;
    expect(planEnable(catalog, folder(files), { names: ['preventprivileged'] }).writes.size).toBe(0);
  });

  it('writes the second policy without rewriting the first', () => {
    const once = enabled(['preventprivileged']);
    const plan = planEnable(catalog, once, { names: ['requireteamlabel'] });
    expect([...plan.writes.keys()].sort()).toEqual(Object.values(paths('requireteamlabel')).sort());
    expect(plan.unchanged).toEqual([EXPANSION]);
  });
});

describe('upgrading', () => {
  const v9 = upgradedCatalog();
  const p = paths('preventprivileged');
  const USER_CONSTRAINT = (text: string) =>
    text
      .replace('enforcementAction: deny', 'enforcementAction: warn')
      .replace('excludedNamespaces: ["kube-system"]', 'excludedNamespaces: ["kube-system", "legacy"] # until the migration')
      .concat('  parameters:\n    # strict in this cluster\n    ignoreRiskAcceptances: true\n');

  function editedBefore(): PolicyFolder {
    const files = Object.fromEntries(enabled(['preventprivileged']).files);
    files[p.constraint] = USER_CONSTRAINT(files[p.constraint]!);
    return folder(files);
  }

  it('rewrites the template and the .policy file with the new version', () => {
    const plan = planEnable(v9, editedBefore(), { names: ['preventprivileged'] });
    expect(parse(plan.writes.get(p.template)!).metadata.annotations['metadata.gatekeeper.sh/version']).toBe('9.0.0');
    expect(parse(plan.writes.get(p.policy)!).spec.version).toBe('9.0.0');
    expect(plan.outcomes).toEqual([{ name: 'preventprivileged', from: VERSION, to: '9.0.0', outcome: 'upgraded' }]);
  });

  it("keeps the user's parameters, match and enforcementAction, with their comments", () => {
    const plan = planEnable(v9, editedBefore(), { names: ['preventprivileged'] });
    const text = plan.writes.get(p.constraint)!;
    expect(parse(text).metadata.labels).toEqual({ 'app.kubernetes.io/part-of': 'parapet' });
    expect(parse(text).spec).toEqual({
      enforcementAction: 'warn',
      match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }], excludedNamespaces: ['kube-system', 'legacy'] },
      parameters: { ignoreRiskAcceptances: true },
    });
    expect(text).toContain('# strict in this cluster');
    expect(text).toContain('# until the migration');
  });

  it('takes the new default match when the user had none', () => {
    const files = Object.fromEntries(enabled(['preventprivileged']).files);
    files[p.constraint] = files[p.constraint]!.replace(/ {2}match:[\s\S]*$/, '');
    const plan = planEnable(v9, folder(files), { names: ['preventprivileged'] });
    expect(parse(plan.writes.get(p.constraint)!).spec.match.excludedNamespaces).toEqual(['kube-system', 'gatekeeper-system']);
  });

  it('is idempotent after the upgrade', () => {
    const after = applied(editedBefore(), planEnable(v9, editedBefore(), { names: ['preventprivileged'] }));
    expect(planEnable(v9, after, { names: ['preventprivileged'] }).writes.size).toBe(0);
  });
});

describe('--action', () => {
  const p = paths('preventprivileged');

  it.each(['warn', 'dryrun'] as const)('sets enforcementAction: %s on a new constraint', (action) => {
    const plan = planEnable(catalog, folder(), { names: ['preventprivileged'], action });
    expect(parse(plan.writes.get(p.constraint)!).spec.enforcementAction).toBe(action);
  });

  it("replaces the user's enforcementAction and keeps their parameters", () => {
    const files = Object.fromEntries(enabled(['preventprivileged']).files);
    files[p.constraint] = files[p.constraint]!.replace('enforcementAction: deny', 'enforcementAction: warn').concat('  parameters:\n    ignoreRiskAcceptances: true\n');
    const plan = planEnable(catalog, folder(files), { names: ['preventprivileged'], action: 'dryrun' });
    expect(parse(plan.writes.get(p.constraint)!).spec).toMatchObject({ enforcementAction: 'dryrun', parameters: { ignoreRiskAcceptances: true } });
    expect([...plan.writes.keys()]).toEqual([p.constraint]);
    expect(plan.outcomes[0]!.outcome).toBe('updated');
  });

  it('adds enforcementAction first in spec when the default constraint has none', () => {
    const plan = planEnable(catalog, folder(), { names: ['requireteamlabel'], action: 'warn' });
    expect(Object.keys(parse(plan.writes.get(paths('requireteamlabel').constraint)!).spec)).toEqual(['enforcementAction', 'match', 'parameters']);
  });
});

describe('parameters', () => {
  // The real imageallowlist: its default constraint trusts no image, so in deny it denies every one.
  const files = libraryFiles();
  files.folders.push({ name: 'imageallowlist', policy: read('imageallowlist/policy.yaml'), template: read('imageallowlist/template.yaml'), constraint: read('imageallowlist/constraint.yaml') });
  const withAllowlist = catalogOf(files);
  const allowlist = paths('imageallowlist');
  const spec = (plan: Plan) => parse(plan.writes.get(allowlist.constraint)!).spec;

  it('refuses to enable a policy by name in deny with its required parameters empty, naming them and an example', () => {
    const plan = planEnable(withAllowlist, folder(), { names: ['imageallowlist'] });
    expect(plan.writes.size).toBe(0);
    expect(plan.problems).toEqual([
      {
        code: 'parameter',
        message:
          "imageallowlist needs trustedregistries or trustedimages before it can deny: left empty, it denies everything it checks. Give one, e.g. 'parapet policies enable imageallowlist --param trustedregistries=registry.example.com,ghcr.io/acme', or enable it with --action dryrun first to see what it reports",
      },
    ]);
    expect(planEnable(withAllowlist, folder(), { names: ['imageallowlist'], action: 'deny' }).problems).toHaveLength(1);
  });

  it('enables it in deny with one of them, a list read from a,b', () => {
    const plan = planEnable(withAllowlist, folder(), { names: ['imageallowlist'], params: { trustedregistries: 'registry.example.com, ghcr.io/acme' } });
    expect(plan.problems).toEqual([]);
    expect(spec(plan)).toMatchObject({ enforcementAction: 'deny', parameters: { trustedregistries: ['registry.example.com', 'ghcr.io/acme'], trustedimages: [] } });
  });

  it.each(['warn', 'dryrun'] as const)('enables it in %s without them: it reports, it does not deny', (action) => {
    const plan = planEnable(withAllowlist, folder(), { names: ['imageallowlist'], action });
    expect(plan.problems).toEqual([]);
    expect(spec(plan).enforcementAction).toBe(action);
  });

  it('enables it in dryrun within a standard, saying why and how to make it deny, and the rest of the standard in deny', () => {
    const plan = planEnable(withAllowlist, folder(), { standard: 'bsi/containerization' });
    expect(plan.problems).toEqual([]);
    expect(spec(plan).enforcementAction).toBe('dryrun');
    expect(parse(plan.writes.get(paths('preventprivileged').constraint)!).spec.enforcementAction).toBe('deny');
    expect(plan.notes).toEqual([
      "imageallowlist is enabled in dryrun, not deny: it needs trustedregistries or trustedimages before it can deny. With them: 'parapet policies enable imageallowlist --param trustedregistries=registry.example.com,ghcr.io/acme --action deny'",
      expect.stringMatching(/^cluster\/policies\/gatekeeper-config.yaml makes Gatekeeper sync the workloads that own Pods/),
    ]);
  });

  it('moves a constraint an earlier enable left denying everything to dryrun, and keeps one the user gave an allowlist', () => {
    const dryrun = Object.fromEntries(applied(folder(), planEnable(withAllowlist, folder(), { names: ['imageallowlist'], action: 'dryrun' })).files);
    const deny = { ...dryrun, [allowlist.constraint]: dryrun[allowlist.constraint]!.replace('enforcementAction: dryrun', 'enforcementAction: deny') };
    expect(spec(planEnable(withAllowlist, folder(deny), { standard: 'bsi/containerization' })).enforcementAction).toBe('dryrun');
    const configured = { ...deny, [allowlist.constraint]: deny[allowlist.constraint]!.replace('trustedimages: []', 'trustedimages: [nginx]') };
    expect(planEnable(withAllowlist, folder(configured), { standard: 'bsi/containerization' }).writes.has(allowlist.constraint)).toBe(false);
  });

  it('sets a parameter on every selected policy that has it, and refuses one that none has', () => {
    const plan = planEnable(withAllowlist, folder(), { names: ['requireteamlabel'], params: { label: 'owner' } });
    expect(parse(plan.writes.get(paths('requireteamlabel').constraint)!).spec.parameters).toEqual({ label: 'owner' });
    expect(planEnable(withAllowlist, folder(), { names: ['preventprivileged', 'requireteamlabel'], params: { labels: 'owner' } }).problems).toEqual([
      { code: 'parameter', message: 'none of the policies to enable has the parameter "labels" (preventprivileged takes ignoreRiskAcceptances, version; requireteamlabel takes label)' },
    ]);
  });

  it.each([
    ['a list of strings', { type: 'array', items: { type: 'string' } }, 'a,b,,c', ['a', 'b', 'c']],
    ['an empty list', { type: 'array' }, '', []],
    ['a list of objects as YAML', { type: 'array', items: { type: 'object' } }, '[{key: owner}, {key: team}]', [{ key: 'owner' }, { key: 'team' }]],
    ['a boolean', { type: 'boolean' }, 'true', true],
    ['an integer', { type: 'integer' }, '42', 42],
    ['a string with a comma', { type: 'string' }, 'a,b', 'a,b'],
    ['a boolean that is not one', { type: 'boolean' }, 'yes', { invalid: 'expected true or false, not "yes"' }],
    ['a list of objects not in YAML', { type: 'array', items: { type: 'object' } }, 'owner', { invalid: 'expected a object: give it as YAML, e.g. {key: value}' }],
  ])('reads --param as its schema types it: %s', (_name, schema, raw, expected) => {
    expect(parameterValue(schema, raw)).toEqual(expected);
  });
});

describe('selecting by standard', () => {
  it('enables every policy of the standard', () => {
    const plan = planEnable(catalog, folder(), { standard: 'k8s/restricted' });
    expect(plan.outcomes.map((o) => o.name)).toEqual(['preventprivileged', 'requireteamlabel']);
  });

  it('enables only the standard\'s members', () => {
    const plan = planEnable(catalog, folder(), { standard: 'nsa/kubernetes' });
    expect(plan.outcomes.map((o) => o.name)).toEqual(['requireteamlabel']);
  });
});

describe('disabling', () => {
  it('removes the three files and, with the last policy, the expansion templates and the sync config', () => {
    const plan = planDisable(catalog, enabled(['preventprivileged']), { names: ['preventprivileged'] });
    expect(plan.deletes.sort()).toEqual([...Object.values(paths('preventprivileged')), EXPANSION, CONFIG].sort());
    expect(plan.writes.size).toBe(0);
    expect(plan.outcomes).toEqual([{ name: 'preventprivileged', from: VERSION, outcome: 'disabled' }]);
  });

  it('keeps the expansion templates while another policy is enabled', () => {
    const plan = planDisable(catalog, enabled(['preventprivileged', 'requireteamlabel']), { names: ['preventprivileged'] });
    expect(plan.deletes.sort()).toEqual(Object.values(paths('preventprivileged')).sort());
  });

  it('restores the folder enable started from', () => {
    const before = folder({ [`${PATH}/README.md`]: 'ours\n' });
    const after = applied(enabled(['preventprivileged'], { base: before }), planDisable(catalog, enabled(['preventprivileged'], { base: before }), { names: ['preventprivileged'] }));
    expect(after.files).toEqual(before.files);
  });

  it('does nothing for a policy that is not enabled', () => {
    const plan = planDisable(catalog, folder(), { names: ['preventprivileged'] });
    expect(plan).toMatchObject({ deletes: [], problems: [], outcomes: [{ name: 'preventprivileged', outcome: 'not-enabled' }] });
  });

  it('removes a policy Parapet enabled that the library no longer has', () => {
    const files = Object.fromEntries(enabled(['requireteamlabel']).files);
    const older = catalogOf({ ...libraryFiles(), folders: libraryFiles().folders.slice(0, 1) });
    const plan = planDisable(older, folder(files), { names: ['requireteamlabel'] });
    expect(plan.problems).toEqual([]);
    expect(plan.deletes).toContain(paths('requireteamlabel').policy);
  });
});

describe('files Parapet did not write', () => {
  const p = paths('preventprivileged');
  const handWritten = read('preventprivileged/template.yaml');

  it('refuses to overwrite a template without the mark: nothing is planned but the error', () => {
    const plan = planEnable(catalog, folder({ [p.template]: handWritten }), { names: ['preventprivileged', 'requireteamlabel'] });
    expect(plan.problems).toEqual([expect.objectContaining({ code: 'conflict', path: p.template })]);
    expect(plan.problems[0]!.message).toMatch(/was not written by Parapet .*left untouched/);
    expect(plan.writes.size).toBe(0);
    expect(plan.unchanged).toEqual([]);
  });

  it('refuses a folder where another file defines the same ConstraintTemplate', () => {
    const plan = planEnable(catalog, folder({ [`${PATH}/templates/privileged.yaml`]: handWritten }), { names: ['preventprivileged'] });
    expect(plan.problems).toEqual([expect.objectContaining({ code: 'conflict', path: `${PATH}/templates/privileged.yaml` })]);
    expect(plan.writes.size).toBe(0);
  });

  it('treats a file that does not parse as not ours', () => {
    const plan = planEnable(catalog, folder({ [p.constraint]: 'spec: [unclosed\n' }), { names: ['preventprivileged'] });
    expect(plan.problems[0]!.message).toMatch(/does not parse/);
    expect(plan.writes.size).toBe(0);
  });

  it('refuses to delete them', () => {
    const files = Object.fromEntries(enabled(['preventprivileged']).files);
    files[p.constraint] = read('preventprivileged/constraint.yaml');
    const plan = planDisable(catalog, folder(files), { names: ['preventprivileged'] });
    expect(plan.problems).toEqual([expect.objectContaining({ code: 'conflict', path: p.constraint })]);
    expect(plan.deletes).toEqual([]);
  });

  it('leaves the ExpansionTemplates to a folder that has its own', () => {
    const own = read('expansion.yaml');
    const plan = planEnable(catalog, folder({ [`${PATH}/expansion.yaml`]: own }), { names: ['preventprivileged'] });
    expect(plan.problems).toEqual([]);
    expect([...plan.writes.keys()]).not.toContain(EXPANSION);
  });

  it('leaves unrelated files alone', () => {
    const plan = planEnable(catalog, folder({ [`${PATH}/constraints/mine.yaml`]: 'kind: K8sRequiredLabels\n' }), { names: ['preventprivileged'] });
    expect(plan.problems).toEqual([]);
    expect([...plan.writes.keys()]).not.toContain(`${PATH}/constraints/mine.yaml`);
  });

  it('notes a kustomization.yaml that has to list the new files', () => {
    const plan = planEnable(catalog, folder({ [`${PATH}/kustomization.yaml`]: 'resources: []\n' }), { names: ['preventprivileged'] });
    expect(plan.notes).toContainEqual(expect.stringContaining(`${PATH}/kustomization.yaml`));
  });
});

describe("Gatekeeper's sync config, where the policies find a workload's risk acceptance", () => {
  const OWNER_KINDS = [
    { group: 'apps', version: 'v1', kind: 'ReplicaSet' },
    { group: 'apps', version: 'v1', kind: 'Deployment' },
    { group: 'apps', version: 'v1', kind: 'StatefulSet' },
    { group: 'apps', version: 'v1', kind: 'DaemonSet' },
    { group: '', version: 'v1', kind: 'ReplicationController' },
    { group: 'batch', version: 'v1', kind: 'Job' },
    { group: 'batch', version: 'v1', kind: 'CronJob' },
  ];
  const USERS_CONFIG = `# Our Gatekeeper settings
apiVersion: config.gatekeeper.sh/v1alpha1
kind: Config
metadata:
  name: config
  namespace: gatekeeper-system
spec:
  match:
    - excludedNamespaces: ["kube-*"] # the control plane
      processes: ["*"]
  sync:
    syncOnly:
      - group: ""
        version: v1
        kind: Namespace
      - group: apps
        version: v1
        kind: Deployment
`;

  it('writes a Config that syncs the workloads owning Pods when the folder has none, and says so', () => {
    const plan = planEnable(catalog, folder(), { names: ['preventprivileged'] });
    expect(parse(plan.writes.get(CONFIG)!)).toEqual({
      apiVersion: 'config.gatekeeper.sh/v1alpha1',
      kind: 'Config',
      metadata: { name: 'config', namespace: 'gatekeeper-system', annotations: { [MANAGED_BY_ANNOTATION]: 'parapet' } },
      spec: { sync: { syncOnly: OWNER_KINDS } },
    });
    expect(plan.notes).toContainEqual(expect.stringMatching(new RegExp(`^${CONFIG} makes Gatekeeper sync the workloads that own Pods.*add these kinds to its spec.sync.syncOnly instead$`)));
  });

  it("extends the user's Config with the kinds it lacks, keeping its exclusions, its entries and its comments", () => {
    const path = `${PATH}/gatekeeper/config.yaml`;
    const plan = planEnable(catalog, folder({ [path]: USERS_CONFIG }), { names: ['preventprivileged'] });
    expect(plan.problems).toEqual([]);
    expect([...plan.writes.keys()]).not.toContain(CONFIG);
    const written = plan.writes.get(path)!;
    expect(written.startsWith(USERS_CONFIG.split('      - group: apps\n        version: v1\n        kind: Deployment\n')[0]!)).toBe(true);
    expect(written).toContain('# the control plane');
    const config = parse(written);
    expect(config.spec.match).toEqual([{ excludedNamespaces: ['kube-*'], processes: ['*'] }]);
    expect(config.spec.sync.syncOnly).toEqual([{ group: '', version: 'v1', kind: 'Namespace' }, { group: 'apps', version: 'v1', kind: 'Deployment' }, ...OWNER_KINDS.filter((k) => k.kind !== 'Deployment')]);
    expect(config.metadata.annotations).toBeUndefined();
    expect(plan.notes).toContainEqual(`${path}: added the workloads that own Pods to spec.sync.syncOnly, where the policies find risk acceptances on a workload's own metadata`);
  });

  it('is idempotent over an extended Config, and leaves one that syncs every kind already alone', () => {
    const path = `${PATH}/gatekeeper/config.yaml`;
    const once = enabled(['preventprivileged'], { base: folder({ [path]: USERS_CONFIG }) });
    const twice = planEnable(catalog, once, { names: ['preventprivileged'] });
    expect(twice.writes.size).toBe(0);
    expect(twice.unchanged).toContain(path);
    expect(twice.notes).toEqual([]);
  });

  it('extends its own Config where the user added a kind, keeping the addition', () => {
    const once = Object.fromEntries(enabled(['preventprivileged']).files);
    const config = parse(once[CONFIG]!);
    config.spec.sync.syncOnly = [{ group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' }, ...config.spec.sync.syncOnly.filter((k: { kind: string }) => k.kind !== 'CronJob')];
    once[CONFIG] = stringify(config);
    const plan = planEnable(catalog, folder(once), { names: ['preventprivileged'] });
    expect(parse(plan.writes.get(CONFIG)!).spec.sync.syncOnly.map((k: { kind: string }) => k.kind)).toEqual(['Ingress', ...OWNER_KINDS.map((k) => k.kind).filter((k) => k !== 'CronJob'), 'CronJob']);
    // Disabling the last policy then leaves it: it holds more than Parapet wrote.
    const after = applied(folder(once), plan);
    expect(planDisable(catalog, after, { names: ['preventprivileged'] }).deletes).not.toContain(CONFIG);
  });

  it('finds the Config among other documents of a file, and changes only it', () => {
    const path = `${PATH}/gatekeeper.yaml`;
    const namespace = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: gatekeeper-system\n';
    const plan = planEnable(catalog, folder({ [path]: `${namespace}---\n${USERS_CONFIG}` }), { names: ['preventprivileged'] });
    const docs = objects(plan.writes.get(path)!);
    expect(docs.map((d) => d.kind)).toEqual(['Namespace', 'Config']);
    expect(docs[0]).toEqual(parse(namespace));
    expect(docs[1]!.spec.sync.syncOnly).toHaveLength(8);
  });

  it('syncs what a policy compares objects with too, as its template\'s requires-sync-data says, and removes it all with the last policy', async () => {
    const catalog = await loadCatalog();
    const plan = planEnable(catalog, folder(), { names: ['uniqueingresshost'] });
    expect(plan.problems).toEqual([]);
    expect(plan.notes).toContainEqual(expect.stringContaining(', and Ingress (networking.k8s.io/v1), which the policies compare objects with;'));
    expect(parse(plan.writes.get(CONFIG)!).spec.sync.syncOnly).toEqual([
      ...OWNER_KINDS,
      // The first of the template's equivalent alternatives (networking.k8s.io/v1, or extensions/v1beta1).
      { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' },
    ]);
    const after = applied(folder(), plan);
    const more = planEnable(catalog, after, { names: ['poddisruptionbudgetallowsevictions'] });
    expect(parse(more.writes.get(CONFIG)!).spec.sync.syncOnly.slice(OWNER_KINDS.length)).toEqual([
      { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' },
      { group: 'autoscaling', version: 'v2', kind: 'HorizontalPodAutoscaler' },
      { group: 'autoscaling', version: 'v1', kind: 'HorizontalPodAutoscaler' },
    ]);
    const both = applied(after, more);
    expect(planDisable(catalog, both, { names: ['uniqueingresshost', 'poddisruptionbudgetallowsevictions'] }).deletes).toContain(CONFIG);
  });

  it('writes none for policies that do not read the inventory', () => {
    const plan = planEnable(catalog, folder(), { names: ['requireteamlabel'] });
    expect([...plan.writes.keys()]).not.toContain(CONFIG);
  });
});

describe('unknown names', () => {
  it('refuses an unknown policy, suggesting a close name, and plans nothing', () => {
    const plan = planEnable(catalog, folder(), { names: ['preventprivileged', 'privileged'] });
    expect(plan.problems).toEqual([{ code: 'unknown-policy', message: 'unknown policy "privileged"; did you mean preventprivileged?' }]);
    expect(plan.writes.size).toBe(0);
  });

  it('refuses an unknown standard, listing the known ones', () => {
    const plan = planEnable(catalog, folder(), { standard: 'owasp/top10' });
    expect(plan.problems).toEqual([{ code: 'unknown-standard', message: expect.stringContaining('unknown standard "owasp/top10" (known: k8s/baseline, k8s/restricted,') }]);
    expect(plan.writes.size).toBe(0);
  });

  it('refuses to disable a policy it does not know', () => {
    expect(planDisable(catalog, folder(), { names: ['nope'] }).problems).toEqual([expect.objectContaining({ code: 'unknown-policy' })]);
  });

  it('accepts the constraint kind as a name', () => {
    expect(planEnable(catalog, folder(), { names: ['PreventPrivileged'] }).outcomes[0]!.name).toBe('preventprivileged');
  });
});

describe('status', () => {
  it('reports versions, outdated policies and how far each standard is covered', () => {
    const status = folderStatus(upgradedCatalog(), enabled(['preventprivileged']));
    expect(status.policies).toEqual([
      { name: 'preventprivileged', title: 'Prevent privileged containers', libraryVersion: '9.0.0', enabledVersion: VERSION, state: 'outdated' },
      { name: 'requireteamlabel', title: 'Require a team label', libraryVersion: '2.0.0', state: 'not-enabled' },
    ]);
    const restricted = status.standards.find((s) => s.id === 'k8s/restricted')!;
    expect(restricted).toMatchObject({ enabled: 1, total: 2, missing: ['requireteamlabel'] });
    expect(status.standards.find((s) => s.id === 'nsa/kubernetes')).toMatchObject({ enabled: 0, total: 1 });
  });

  it('is up to date after enabling, and lists the files Parapet did not write', () => {
    const status = folderStatus(catalog, enabled(['preventprivileged'], { base: folder({ [`${PATH}/mine.yaml`]: 'kind: Mine\n' }) }));
    expect(status.policies[0]!.state).toBe('up-to-date');
    expect(status.unmanagedFiles).toEqual([`${PATH}/mine.yaml`]);
  });

  it('reports a policy with a missing file as incomplete, and a user\'s file in the way as a conflict', () => {
    const files = Object.fromEntries(enabled(['preventprivileged']).files);
    delete files[paths('preventprivileged').constraint];
    files[paths('requireteamlabel').template] = LABEL_TEMPLATE;
    const status = folderStatus(catalog, folder(files));
    expect(status.policies.map((p) => p.state)).toEqual(['incomplete', 'conflict']);
    expect(status.policies[0]!.problems![0]).toBe(`${paths('preventprivileged').constraint} is missing`);
    expect(status.standards.find((s) => s.id === 'k8s/baseline')).toMatchObject({ enabled: 0, total: 1 });
  });

  it('lists policies Parapet enabled that the library no longer has', () => {
    const older = catalogOf({ ...libraryFiles(), folders: libraryFiles().folders.slice(0, 1) });
    expect(folderStatus(older, enabled(['requireteamlabel'])).unknown).toEqual([{ name: 'requireteamlabel', version: '2.0.0', path: paths('requireteamlabel').policy }]);
  });
});
