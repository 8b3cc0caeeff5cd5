// docs/policies.md, generated from the library's metadata (`npm run docs:policies`): the same text
// for the same library, so a test can tell when the committed page is stale.
import { standardsOf, type Catalog, type LibraryPolicy } from './catalog.js';
import { EXPANSION_FILE, GATEKEEPER_CONFIG_FILE, MANAGED_BY_ANNOTATION, MANAGED_BY_VALUE, renderPolicyRecord } from './plan.js';

export const POLICY_DOCS_PATH = 'docs/policies.md';

export function renderPolicyDocs(catalog: Catalog): string {
  const { policies, standards } = catalog;
  const out: string[] = [];
  const add = (...lines: string[]) => out.push(...lines);

  add(
    '<!-- Generated from policies/*/policy.yaml by `npm run docs:policies` (scripts/generate-policy-docs.ts): do not edit. -->',
    '',
    '# Policy library',
    '',
    `Parapet ships ${count(policies.length, 'ready Gatekeeper policy', 'ready Gatekeeper policies')}.`,
    'Each is mapped to the security standards it helps to meet. `parapet policies` lists them and writes',
    'them into a cluster repository in the layout Syncier Security Tower used, where Flux or Argo CD',
    'apply them to the cluster and Parapet checks pull requests against them.',
    '',
    '```',
    'parapet policies list [--standard ID] [--format text|json]   the catalog',
    'parapet policies show NAME                                  one policy, with an example and its risk acceptance',
    'parapet policies enable NAME... | --standard ID [--cluster NAME] [--action deny|warn|dryrun]',
    'parapet policies disable NAME... [--cluster NAME]',
    'parapet policies status [--cluster NAME] [--format text|json]   enabled, outdated, standards covered',
    '```',
    '',
    '## What `enable` writes',
    '',
    "Into the cluster's policies folder (`spec.policies.path` of its `kind: Cluster` in `.securitytower/`):",
    '',
    '| File | Content |',
    '|---|---|',
    '| `<name>.policy` | Parapet\'s record of the enabled policy (below) |',
    '| `constraint-templates/<name>-template.yaml` | the library\'s ConstraintTemplate, verbatim; its `metadata.gatekeeper.sh/version` annotation is the policy\'s version |',
    '| `constraints/<name>-constraint.yaml` | the library\'s default Constraint, with `--action` as its `enforcementAction` |',
    `| \`${EXPANSION_FILE}\` | with the first policy, when the folder has no ExpansionTemplate: Gatekeeper reviews workloads (Deployments, CronJobs...) as the Pods they create, so Pod policies reject them at admission as Parapet reports them; removed with the last policy |`,
    `| \`${GATEKEEPER_CONFIG_FILE}\` | when the folder holds no Gatekeeper \`Config\`: it syncs ReplicaSets, Deployments, StatefulSets, DaemonSets, ReplicationControllers, Jobs and CronJobs into Gatekeeper's referential data, where the policies find a risk acceptance on the workload that owns a Pod. A \`Config\` the folder holds already gets the kinds it lacks added to its \`spec.sync.syncOnly\`, the rest kept. Removed with the last policy, unless edited since |`,
    '',
    `Every object Parapet writes carries the annotation \`${MANAGED_BY_ANNOTATION}: ${MANAGED_BY_VALUE}\`. A file at one of these`,
    'paths without it was written by someone else: Parapet leaves it untouched, reports it and changes',
    'nothing at all (exit code 2); so does a file of the folder that defines the same ConstraintTemplate.',
    '',
    '- **Idempotent.** Enabling an enabled policy again writes nothing; a file whose YAML already holds',
    '  what Parapet would write (reformatted, commented) is left as it is.',
    '- **Upgrades.** Enabling a policy whose library version is newer rewrites its template and `.policy`',
    "  file and keeps the constraint's `spec.parameters`, `spec.match` and `spec.enforcementAction` (unless",
    '  `--action` is given): edit those freely. Parameters the new version adds take their defaults from',
    "  the template's schema.",
    '- **All or nothing.** Every file is written beside its target first and renamed into place only',
    '  when all are written.',
    '- **Disable** removes the three files, only if Parapet wrote them.',
    '',
    '### The `.policy` file',
    '',
    "Security Tower wrote a `<name>.policy` file \"with metadata and references to the other files\" for every",
    "activated policy; its schema was never published. Parapet's is this (Parapet's checks ignore the file;",
    "`status` reads it):",
    '',
  );
  const model = policies.find((p) => p.name === 'preventprivileged') ?? policies[0];
  if (model) add('```yaml', ...renderPolicyRecord(model).trimEnd().split('\n'), '```', '');
  add(
    '| Field | Meaning |',
    '|---|---|',
    '| `apiVersion`, `kind` | `parapet.dev/v1alpha1`, `EnabledPolicy` |',
    '| `metadata.name` | the policy\'s name: the lower-cased constraint kind |',
    `| \`metadata.annotations\` | \`${MANAGED_BY_ANNOTATION}: ${MANAGED_BY_VALUE}\` |`,
    '| `spec.version` | the library version enabled; `status` compares it with the library\'s |',
    '| `spec.title`, `spec.standards` | as in the library, for readers of the repository |',
    '| `spec.templateFile`, `spec.constraintFile` | the other two files, relative to the policies folder |',
    '| `spec.enabledBy` | `parapet` |',
    '',
    '### Risk acceptances',
    '',
    'Where a policy cannot be met for a good reason, annotate the object (for a workload: its pod',
    'template) or its Namespace with `securitytower.io/policy.exclusion.<name>` and the reason as its value.',
    "The library's templates honour the annotation in the cluster as well (a blank reason accepts",
    'nothing); Parapet shows accepted violations as accepted, with the reason. The constraint parameter',
    '`ignoreRiskAcceptances: true` makes a policy ignore them.',
    '',
    '## Standards',
    '',
    '| Standard | | Policies |',
    '|---|---|---|',
    ...standards.map((s) => `| \`${s.id}\` | ${cell(s.title)} | ${s.policies.length} |`),
    '',
    '## Policies',
    '',
    '| Policy | Title | Standards | What it checks | Risk acceptance annotation |',
    '|---|---|---|---|---|',
    ...policies.map(
      (p) =>
        `| [\`${p.name}\`](#${p.name}) ${p.version} | ${cell(p.title)} | ${standardsOf(p).map((s) => cell(`${s.id}: ${s.controls.join(', ')}`)).join('<br>') || 'none'} | ${cell(firstSentence(p.description))} | \`${p.riskAcceptance.annotation}\` |`,
    ),
    '',
    '## By standard',
    '',
  );
  for (const standard of standards) {
    add(`### ${standard.id}: ${standard.title}`, '');
    if (standard.policies.length === 0) {
      add('No policy of the library maps to this standard yet.', '');
      continue;
    }
    add(`\`parapet policies enable --standard ${standard.id}\` enables these:`, '', '| Policy | Control |', '|---|---|');
    for (const name of standard.policies) {
      const policy = policies.find((p) => p.name === name)!;
      const controls = policy.standards.filter((s) => s.id === standard.id && !s.stricter).map((s) => cell(s.control));
      add(`| [\`${name}\`](#${name}) | ${controls.join(', ')} |`);
    }
    add('');
    if (standard.stricter.length > 0) {
      add(`\`--strict\` adds these, which refuse more than the control they name:`, '', '| Policy | Stricter than |', '|---|---|');
      for (const name of standard.stricter) {
        const policy = policies.find((p) => p.name === name)!;
        add(`| [\`${name}\`](#${name}) | ${policy.standards.filter((s) => s.id === standard.id && s.stricter).map((s) => cell(s.control)).join(', ')} |`);
      }
      add('');
    }
  }
  add('## Policy details', '');
  for (const policy of policies) add(...policySection(policy));
  return `${out.join('\n').trimEnd()}\n`;
}

function policySection(policy: LibraryPolicy): string[] {
  return [
    `### ${policy.name}`,
    '',
    `**${policy.title}**, version ${policy.version}, constraint kind \`${policy.kind}\`.`,
    '',
    ...policy.description.trimEnd().split('\n'),
    '',
    `- Standards: ${standardsOf(policy).map((s) => `${s.id}: ${s.controls.join(', ')}`).join('; ') || 'none'}`,
    ...(policy.tags.length > 0 ? [`- Tags: ${policy.tags.join(', ')}`] : []),
    `- Applies to: ${policy.appliesTo.join(', ')}`,
    `- Enable: \`parapet policies enable ${policy.name}\``,
    '',
    'Example:',
    '',
    '```diff',
    ...policy.example.trimEnd().split('\n'),
    '```',
    '',
    `Risk acceptance, with the annotation \`${policy.riskAcceptance.annotation}\`:`,
    '',
    '```yaml',
    ...policy.riskAcceptance.example.trimEnd().split('\n'),
    '```',
    '',
  ];
}

/** The description's first sentence, on one line. */
export function firstSentence(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const match = /^(.+?[.!?])(?=\s+[A-Z`"(]|$)/.exec(flat);
  return match ? match[1]! : flat;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
