// `parapet policies`: the policy library (list, show) and what it writes into a cluster's policies
// folder (enable, disable, status). The plans are computed purely in src/library/plan.ts; this file
// reads the repository, applies a plan all or nothing, and prints.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, realpath, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { isSecurityTowerConfigFile, type ClusterConfig } from '../../engine/index.js';
import { ConfigError, LibraryError, UsageError } from '../../errors.js';
import { findPolicy, findStandard, libraryDir, loadCatalog, similarPolicyNames, standardsOf, type Catalog, type LibraryPolicy } from '../../library/catalog.js';
import { isClusterProblem, openPolicyTarget, planFor, where, type PolicyRepository } from '../../library/change.js';
import { ENFORCEMENT_ACTIONS, folderStatus, type EnforcementAction, type FolderStatus, type Plan, type PolicyFolder } from '../../library/plan.js';
import { howToStart } from '../init-plan.js';
import type { CliIo } from '../io.js';

export const policiesHelp = `Usage: parapet policies COMMAND [options]

Parapet's policy library: ready Gatekeeper policies, mapped to security standards, which it writes
into a cluster's policies folder (spec.policies.path of the cluster in .securitytower/*.yaml) as
<name>.policy, constraint-templates/<name>-template.yaml and constraints/<name>-constraint.yaml.

Commands:
  list [--standard ID] [--format text|json]
                        the library: every policy with its version and standards
  show NAME             a policy: what it checks, its standards, an example, its risk acceptance
  enable NAME... | --standard ID [--strict] [--action deny|warn|dryrun] [--param KEY=VALUE]...
                        write the policies (all of a standard's) into the cluster's policies folder;
                        enabling again upgrades them and keeps your constraint's parameters, match
                        and enforcementAction (unless --action or --param is given). A policy that
                        needs parameters (imageallowlist) denies only once they are given: named,
                        it is refused without them; in a standard, it is enabled in dryrun
  disable NAME...       remove the files enable wrote
  status [--format text|json]
                        which library policies are enabled, at which version, which are outdated,
                        and how far each standard is covered

Options:
  --path DIR            the repository (default: the current directory)
  --cluster NAME        the cluster, when the repository declares several
  --standard ID         k8s/baseline, k8s/restricted, cis/kubernetes, nist/SP.800-190,
                        bsi/containerization or nsa/kubernetes
  --strict              with --standard, also the policies stricter than one of its controls (they
                        refuse more than the standard; 'parapet policies show NAME' says which)
  --action ACTION       the constraints' enforcementAction: deny, warn or dryrun
  --param KEY=VALUE     set a constraint parameter (repeatable): a list as a,b, a boolean as true,
                        a list of objects as YAML ([{key: owner}]); see 'parapet policies show NAME'.
                        The Pod Security Standards' policies take version=v1.N (default latest), the
                        standard's version as Pod Security Admission's enforce-version label takes it
  --format FORMAT       text (default) or json
  -h, --help            show this help

Parapet marks the files it writes (annotation parapet.dev/managed-by: parapet) and never overwrites
or deletes a file without the mark. Exit codes: 0 done; 2 nothing was changed (unknown policy or
standard, a file Parapet did not write in the way, no usable cluster configuration, usage error).
Environment: PARAPET_POLICY_LIBRARY (a policy library folder to use instead of Parapet's own).
`;

const SUBCOMMANDS = ['list', 'show', 'enable', 'disable', 'status'];
const repoOptions = { path: { type: 'string' }, cluster: { type: 'string' } } as const;

export async function policiesCommand(args: string[], io: CliIo): Promise<number> {
  const [subcommand, ...rest] = args;
  if (subcommand === undefined) throw new UsageError(`name a command: ${SUBCOMMANDS.join(', ')} (see 'parapet policies --help')`);
  const catalog = await libraryOf(io);
  switch (subcommand) {
    case 'list':
      return listCommand(catalog, rest, io);
    case 'show':
      return showCommand(catalog, rest, io);
    case 'enable':
      return enableCommand(catalog, rest, io);
    case 'disable':
      return disableCommand(catalog, rest, io);
    case 'status':
      return statusCommand(catalog, rest, io);
    default:
      throw new UsageError(`unknown command "${subcommand}" (commands: ${SUBCOMMANDS.join(', ')})`);
  }
}

export async function libraryOf(io: CliIo): Promise<Catalog> {
  try {
    return await loadCatalog(io.env.PARAPET_POLICY_LIBRARY ? resolve(io.cwd, io.env.PARAPET_POLICY_LIBRARY) : libraryDir);
  } catch (error) {
    if (error instanceof LibraryError) throw new ConfigError(error.message);
    throw error;
  }
}

// --- list, show ------------------------------------------------------------------------------------

function listCommand(catalog: Catalog, args: string[], io: CliIo): number {
  const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: { standard: { type: 'string' }, format: { type: 'string', default: 'text' } } });
  noPositionals('list', positionals);
  const format = formatOf(values.format);
  const standard = values.standard === undefined ? undefined : standardOf(catalog, values.standard);
  // A standard's policies, and those stricter than its controls (shown as such in CONTROL).
  const policies = standard ? catalog.policies.filter((p) => standard.policies.includes(p.name) || standard.stricter.includes(p.name)) : catalog.policies;
  const standards = standard ? [standard] : catalog.standards;
  if (format === 'json') {
    const json = {
      policies: policies.map((p) => ({
        name: p.name,
        kind: p.kind,
        version: p.version,
        title: p.title,
        standards: p.standards,
        tags: p.tags,
        appliesTo: p.appliesTo,
        riskAcceptanceAnnotation: p.riskAcceptance.annotation,
      })),
      standards: standards.map((s) => ({ id: s.id, title: s.title, policies: s.policies, stricter: s.stricter })),
    };
    io.stdout(`${JSON.stringify(json, null, 2)}\n`);
    return 0;
  }
  const rows = policies.map((p) => [
    p.name,
    p.version,
    p.title,
    standard
      ? standardsOf(p)
          .filter((s) => s.id === standard.id)
          .flatMap((s) => s.controls)
          .join(', ')
      : standardsOf(p)
          .map((s) => s.id)
          .join(', ') || '-',
  ]);
  const lines: string[] = [];
  if (standard) {
    const stricter = standard.stricter.length > 0 ? ` (and ${standard.stricter.length} stricter than its controls, enabled with --strict)` : '';
    lines.push(`${standard.id}: ${standard.title}, ${count(standard.policies.length, 'policy', 'policies')}${stricter}`, '');
  }
  if (rows.length === 0) lines.push('The library has no policy for it yet.');
  else lines.push(...table([['NAME', 'VERSION', 'TITLE', standard ? 'CONTROL' : 'STANDARDS'], ...rows]));
  if (!standard) {
    lines.push('', 'Standards:');
    lines.push(...table(standards.map((s) => [s.id, count(s.policies.length, 'policy', 'policies'), s.title])).map((line) => `  ${line}`));
  }
  lines.push('', `'parapet policies show NAME' describes a policy; 'parapet policies enable NAME' enables it.`);
  io.stdout(`${lines.join('\n')}\n`);
  return 0;
}

function showCommand(catalog: Catalog, args: string[], io: CliIo): number {
  const { positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: {} });
  if (positionals.length !== 1) throw new UsageError(`name one policy to show, e.g. 'parapet policies show ${catalog.policies[0]?.name ?? 'NAME'}'`);
  const policy = policyOf(catalog, positionals[0]!);
  io.stdout(showText(policy));
  return 0;
}

function showText(policy: LibraryPolicy): string {
  const lines = [
    `${policy.name} ${policy.version}: ${policy.title}`,
    `Constraint kind: ${policy.kind}`,
    '',
    policy.description.trimEnd(),
    '',
    ...(policy.standards.length > 0
      ? ['Standards:', ...table(standardsOf(policy).map((s) => [s.id, s.controls.join(', ')])).map((line) => `  ${line}`)]
      : ['Standards: none (an operational policy)']),
    '',
    ...table([
      ['Tags:', policy.tags.join(', ') || '-'],
      ['Applies to:', policy.appliesTo.join(', ')],
    ]),
    '',
    'Example:',
    ...indent(policy.example),
    '',
    `Risk acceptance: the annotation ${policy.riskAcceptance.annotation} with a reason, on the object or its`,
    'Namespace:',
    ...indent(policy.riskAcceptance.example),
    '',
    ...parameterLines(policy),
    `Enable it: parapet policies enable ${policy.name} [--cluster NAME] [--action deny|warn|dryrun]${policy.requiredParameters ? ` --param ${policy.requiredParameters.example}` : ''}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** The constraint's parameters, as `--param` sets them; the ones it needs before it can deny first. */
function parameterLines(policy: LibraryPolicy): string[] {
  const names = Object.keys(policy.parameters).filter((name) => name !== 'ignoreRiskAcceptances');
  if (names.length === 0) return [];
  const type = (name: string) => {
    const schema = policy.parameters[name]!;
    return schema.type === 'array' ? `list of ${schema.items?.type ?? 'string'}` : (schema.type ?? 'any');
  };
  const lines = ['Parameters (--param KEY=VALUE):', ...table(names.map((name) => [name, type(name), policy.parameters[name]!.description ?? ''])).map((line) => `  ${line}`)];
  const required = policy.requiredParameters;
  if (required) lines.push(`  It denies only once ${required.anyOf.join(' or ')} is set: empty, it would deny everything it checks.`);
  return [...lines, ''];
}

// --- enable, disable, status -----------------------------------------------------------------------

async function enableCommand(catalog: Catalog, args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { ...repoOptions, standard: { type: 'string' }, strict: { type: 'boolean' }, action: { type: 'string' }, param: { type: 'string', multiple: true } },
  });
  if (positionals.length === 0 && values.standard === undefined) throw new UsageError('name the policies to enable, or a standard with --standard ID');
  if (positionals.length > 0 && values.standard !== undefined) throw new UsageError('give policy names or --standard, not both');
  if (values.strict && values.standard === undefined) throw new UsageError('--strict adds the policies stricter than a standard\'s controls: give the standard with --standard ID');
  const action = values.action === undefined ? undefined : actionOf(values.action);
  if (values.standard !== undefined) standardOf(catalog, values.standard);
  const unknown = positionals.flatMap((name) => {
    try {
      policyOf(catalog, name);
      return [];
    } catch (error) {
      return [(error as Error).message];
    }
  });
  if (unknown.length > 0) throw new UsageError(`${unknown.join('; ')}; nothing was changed`);
  const params: Record<string, string> = {};
  for (const param of values.param ?? []) {
    const match = /^([^=\s]+)=(.*)$/s.exec(param);
    if (!match) throw new UsageError(`--param takes KEY=VALUE (a list as a,b), not "${param}"`);
    if (match[1]! in params) throw new UsageError(`--param ${match[1]} is given twice`);
    params[match[1]!] = match[2]!;
  }
  return enablePolicies(catalog, io, { ...values, names: positionals, action, params });
}

export interface EnableRequest {
  /** The repository, relative to the working directory (default: the working directory). */
  path?: string;
  cluster?: string;
  names: string[];
  standard?: string;
  /** With `standard`: also the policies stricter than its controls. */
  strict?: boolean;
  action?: EnforcementAction;
  params?: Record<string, string>;
}

/** `parapet policies enable` once its arguments are read; `parapet init --standard` runs it too. */
export async function enablePolicies(catalog: Catalog, io: CliIo, request: EnableRequest): Promise<number> {
  const target = await openCluster(io, request);
  return finish(planFor(catalog, target.folder, { verb: 'enable', ...request }), target, 'enable', io);
}

async function disableCommand(catalog: Catalog, args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: repoOptions });
  if (positionals.length === 0) throw new UsageError('name the policies to disable');
  const target = await openCluster(io, values);
  return finish(planFor(catalog, target.folder, { verb: 'disable', names: positionals }), target, 'disable', io);
}

async function statusCommand(catalog: Catalog, args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: { ...repoOptions, format: { type: 'string', default: 'text' } } });
  noPositionals('status', positionals);
  const format = formatOf(values.format);
  const target = await openCluster(io, values);
  const status = folderStatus(catalog, target.folder);
  if (format === 'json') {
    io.stdout(`${JSON.stringify({ cluster: target.cluster.name, policiesPath: target.folder.path, ...status }, null, 2)}\n`);
  } else io.stdout(statusText(status, target));
  return 0;
}

function statusText(status: FolderStatus, target: Target): string {
  const lines = [`Cluster ${target.cluster.name}, policies folder ${folderLabel(target.folder.path)}`, ''];
  const enabled = status.policies.filter((p) => p.state === 'up-to-date' || p.state === 'outdated' || p.state === 'newer');
  if (enabled.length === 0) lines.push(`No library policy is enabled (the library has ${count(status.policies.length, 'policy', 'policies')}).`);
  else {
    lines.push(`Enabled library policies: ${enabled.length} of ${status.policies.length}`);
    const state = (p: FolderStatus['policies'][number]) =>
      p.state === 'up-to-date' ? 'up to date' : p.state === 'outdated' ? `outdated: the library has ${p.libraryVersion}` : `newer than the library's ${p.libraryVersion}`;
    lines.push(...table(enabled.map((p) => [p.name, p.enabledVersion ?? '', state(p)])).map((line) => `  ${line}`));
    if (enabled.some((p) => p.state === 'outdated')) lines.push(`  'parapet policies enable NAME' upgrades an outdated policy and keeps its constraint's parameters.`);
  }
  const broken = status.policies.filter((p) => p.state === 'incomplete' || p.state === 'conflict');
  if (broken.length > 0) {
    lines.push('', 'Needing attention:');
    for (const p of broken) lines.push(`  ${p.name}: ${p.state}`, ...(p.problems ?? []).map((problem) => `    ${problem}`));
  }
  if (status.unknown.length > 0) {
    lines.push('', 'Enabled by Parapet, no longer in its library:');
    for (const u of status.unknown) lines.push(`  ${u.name}${u.version ? ` ${u.version}` : ''} (${u.path}): 'parapet policies disable ${u.name}' removes it`);
  }
  lines.push('', 'Standards:');
  lines.push(...table(status.standards.map((s) => [s.id, `${s.enabled}/${s.total}`, s.title, stricterText(s)])).map((line) => `  ${line}`));
  if (status.unmanagedFiles.length > 0) {
    lines.push('', `Files Parapet did not write (left untouched): ${status.unmanagedFiles.length}`);
    lines.push(...status.unmanagedFiles.map((path) => `  ${path}`));
  }
  return `${lines.join('\n')}\n`;
}

/** The policies stricter than the standard's controls, when it has any: how many are enabled, and which. */
function stricterText(coverage: FolderStatus['standards'][number]): string {
  const { enabled, total } = coverage.stricter;
  if (total === 0) return '';
  return `stricter: ${enabled.length}/${total}${enabled.length > 0 ? ` (${enabled.join(', ')})` : ''}`;
}

async function finish(plan: Plan, target: Target, verb: 'enable' | 'disable', io: CliIo): Promise<number> {
  if (plan.problems.length > 0) {
    io.stderr(`parapet policies ${verb}: nothing was changed:\n${plan.problems.map((p) => `  ${p.message}\n`).join('')}`);
    return 2;
  }
  await applyPlan(target.root, plan);
  const lines = [`Cluster ${target.cluster.name}, policies folder ${folderLabel(target.folder.path)}:`];
  const files = [
    ...[...plan.writes.keys()].map((path) => ({ path, change: 'wrote' })),
    ...plan.unchanged.map((path) => ({ path, change: 'unchanged' })),
    ...plan.deletes.map((path) => ({ path, change: 'removed' })),
  ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  lines.push(...files.map((f) => `  ${f.change.padEnd(9)} ${f.path}`));
  for (const o of plan.outcomes) {
    if (o.outcome === 'enabled') lines.push(`Enabled ${o.name} ${o.to}.`);
    else if (o.outcome === 'upgraded') lines.push(`Upgraded ${o.name} from ${o.from} to ${o.to}; the constraint's parameters, match and enforcementAction were kept.`);
    else if (o.outcome === 'updated') lines.push(`Updated ${o.name} ${o.to}.`);
    else if (o.outcome === 'unchanged') lines.push(`${o.name} ${o.to} is enabled already: nothing changed.`);
    else if (o.outcome === 'disabled') lines.push(`Disabled ${o.name}.`);
    else lines.push(`${o.name} is not enabled: nothing to remove.`);
  }
  lines.push(...plan.notes.map((note) => `Note: ${note}`));
  io.stdout(`${lines.join('\n')}\n`);
  return 0;
}

// --- The repository --------------------------------------------------------------------------------

interface Target {
  root: string;
  cluster: ClusterConfig;
  folder: PolicyFolder;
}

async function openCluster(io: CliIo, values: { path?: string; cluster?: string }): Promise<Target> {
  const root = resolve(io.cwd, values.path ?? '.');
  if (!(await stat(root).catch(() => undefined))?.isDirectory()) throw new UsageError(`${root} is not a readable directory`);
  const target = await openPolicyTarget(checkoutRepository(root), values.cluster);
  if (isClusterProblem(target)) {
    if (target.kind === 'no-config') throw new UsageError(`no \`kind: Cluster\` configuration found in ${join(root, '.securitytower')}/*.yaml\n${howToStart(values.path)}`);
    throw new UsageError(target.message);
  }
  for (const error of target.warnings) io.stderr(`parapet policies: warning: ${where(error)}\n`);
  return { root, cluster: target.cluster, folder: target.folder };
}

/** A checkout as the library's change reads it; a policies folder reached through a link out of it is refused. */
function checkoutRepository(root: string): PolicyRepository {
  return {
    async configFiles() {
      const files: Array<{ path: string; text: string }> = [];
      for (const dir of ['.securitytower', '.phylake']) {
        const entries = await readdir(join(root, dir), { withFileTypes: true }).catch(() => []);
        for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
          const path = `${dir}/${entry.name}`;
          if (entry.isFile() && isSecurityTowerConfigFile(path)) files.push({ path, text: await readFile(join(root, dir, entry.name), 'utf8') });
        }
      }
      return files;
    },
    async folderFiles(path, cluster) {
      const dir = join(root, ...path.split('/'));
      const info = await stat(dir).catch(() => undefined);
      if (info && !info.isDirectory()) throw new UsageError(`the cluster ${cluster}'s policies folder ${path} is not a directory`);
      // A symbolic link on the way must not take the writes out of the repository.
      let existing = dir;
      while (existing !== root && !(await lstat(existing).catch(() => undefined))) existing = dirname(existing);
      const [realRoot, realExisting] = await Promise.all([realpath(root), realpath(existing)]);
      if (realExisting !== realRoot && !realExisting.startsWith(realRoot + sep)) throw new UsageError(`the cluster ${cluster}'s policies folder ${path} leads out of the repository`);
      return info ? readFolder(root, dir) : new Map();
    },
  };
}

/** Every file under `dir` by repository-relative path; a symbolic link reads as an empty file (not ours). */
async function readFolder(root: string, dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      const key = relative(root, path).split(sep).join('/');
      if (entry.isDirectory()) {
        if (entry.name !== '.git' && entry.name !== 'node_modules') await walk(path);
      } else files.set(key, entry.isFile() ? await readFile(path, 'utf8') : '');
    }
  };
  await walk(dir);
  return files;
}

/**
 * Every new text goes to a temporary file beside its target first; only when all are written are they
 * renamed into place, then the deletions follow. A failure while writing leaves the repository as it was.
 */
async function applyPlan(root: string, plan: Plan): Promise<void> {
  const staged: Array<{ temp: string; path: string }> = [];
  const absolute = (path: string) => join(root, ...path.split('/'));
  try {
    for (const [path, text] of plan.writes) {
      const target = absolute(path);
      await mkdir(dirname(target), { recursive: true });
      const temp = join(dirname(target), `.${basename(target)}.parapet-${randomBytes(4).toString('hex')}.tmp`);
      staged.push({ temp, path: target });
      await writeFile(temp, text, { flag: 'wx' });
    }
  } catch (error) {
    await Promise.all(staged.map(({ temp }) => rm(temp, { force: true })));
    throw error;
  }
  for (const { temp, path } of staged) await rename(temp, path);
  for (const path of plan.deletes) await rm(absolute(path), { force: true });
  // Folders the deletions emptied go too (git keeps no empty folders either).
  const folders = [...new Set(plan.deletes.map((path) => dirname(absolute(path))))].filter((dir) => /^constraint(s|-templates)$/.test(basename(dir)));
  for (const dir of folders) await rmdir(dir).catch(() => undefined);
}

// --- Arguments -------------------------------------------------------------------------------------

function policyOf(catalog: Catalog, name: string): LibraryPolicy {
  const policy = findPolicy(catalog, name);
  if (policy) return policy;
  const similar = similarPolicyNames(catalog, name);
  throw new UsageError(`unknown policy "${name}"${similar.length > 0 ? `; did you mean ${similar.join(' or ')}?` : ` (see 'parapet policies list')`}`);
}

export function standardOf(catalog: Catalog, id: string): Catalog['standards'][number] {
  const standard = findStandard(catalog, id);
  if (!standard) throw new UsageError(`unknown standard "${id}" (known: ${catalog.standards.map((s) => s.id).join(', ')})`);
  return standard;
}

function actionOf(value: string): EnforcementAction {
  if (!(ENFORCEMENT_ACTIONS as readonly string[]).includes(value)) throw new UsageError(`--action must be one of ${ENFORCEMENT_ACTIONS.join(', ')}, not "${value}"`);
  return value as EnforcementAction;
}

function formatOf(value: string | undefined): 'text' | 'json' {
  if (value !== 'text' && value !== 'json') throw new UsageError(`--format must be text or json, not "${value}"`);
  return value;
}

function noPositionals(command: string, positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`${command} takes no arguments, got "${positionals.join(' ')}"`);
}

// --- Text ------------------------------------------------------------------------------------------

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

function indent(text: string): string[] {
  return text.trimEnd().split('\n').map((line) => `  ${line}`.trimEnd());
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function folderLabel(path: string): string {
  return path === '' ? '/ (the repository root)' : path;
}
