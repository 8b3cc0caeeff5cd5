// `parapet init`: a first Cluster file and policies folder for the repository it is run in, from the
// layout it finds (src/cli/init-plan.ts plans; this file reads the repository, writes, and prints).
import { lstat, mkdir, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { isSecurityTowerConfigFile, parseYamlFile, readSecurityTowerConfig } from '../../engine/index.js';
import { UsageError } from '../../errors.js';
import { FsSource } from '../fs-source.js';
import { InitProblem, planInit, type InitPlan } from '../init-plan.js';
import type { CliIo } from '../io.js';
import { enablePolicies, libraryOf, standardOf } from './policies.js';

export const initHelp = `Usage: parapet init [PATH] [--name NAME] [--standard ID] [--force]

Sets up the repository at PATH (default: the current directory) for 'parapet check' and the Parapet
GitHub App: writes a .securitytower/<name>.yaml Cluster file per cluster and an empty policies folder,
from the layout it finds:

  Flux (clusters/<env>/)         one cluster per environment, with the folders its Kustomizations
                                 and kustomizations lead to; policies in clusters/<env>/policies
  Security Tower's template      one cluster; cluster/global/policies, cluster/global/namespace-specs
  Argo CD Applications           one cluster per destination, with the source paths in this
                                 repository; policies in policies/<cluster>
  kustomize overlays             one cluster per overlays/<env>; policies in policies/<env>
  plain manifests                one cluster; Gatekeeper policies already in the repository are its
                                 policies, else policies/

Options:
  --name NAME           the cluster's name, for a repository with one cluster (default: the folder's)
  --standard ID         also enable a standard of Parapet's policy library in every cluster, as
                        warnings (k8s/baseline, k8s/restricted, cis/kubernetes, ...)
  --force               overwrite Cluster files that differ from what init would write
  -h, --help            show this help

It prints what it wrote and the commands to run next. Running it again changes nothing. Exit codes:
0 written, or already as init writes it; 2 nothing was written (a cluster is configured already, a
file in the way, usage error).
`;

/** YAML files larger than this are not read to recognise the layout (they are data, not wiring). */
const MAX_LAYOUT_FILE_BYTES = 1024 * 1024;

export async function initCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { name: { type: 'string' }, standard: { type: 'string' }, force: { type: 'boolean' } },
  });
  if (positionals.length > 1) throw new UsageError(`expected at most one PATH, got ${positionals.length}`);
  const root = resolve(io.cwd, positionals[0] ?? '.');
  if (!(await stat(root).catch(() => undefined))?.isDirectory()) throw new UsageError(`${root} is not a readable directory`);
  // A standard is checked before anything is written: a typo must not leave half a setup.
  const catalog = values.standard === undefined ? undefined : await libraryOf(io);
  if (catalog && values.standard !== undefined) standardOf(catalog, values.standard);

  const source = new FsSource(root);
  const listing = await source.listFiles();
  const wanted = listing.filter((file) => /\.ya?ml$/.test(file.path) && file.size <= MAX_LAYOUT_FILE_BYTES).map((file) => file.path);
  const texts = await source.readFiles(wanted);
  let plan: InitPlan;
  try {
    plan = planInit({ folderName: basename(root), files: listing.map((file) => file.path), texts, ...(values.name !== undefined ? { name: values.name } : {}) });
  } catch (error) {
    if (error instanceof InitProblem) throw new UsageError(error.message);
    throw error;
  }

  // A repository that already declares its clusters is set up: init adds none beside them.
  const planned = new Set(plan.clusters.map((cluster) => cluster.configPath));
  const configFiles = [...texts.keys()].filter(isSecurityTowerConfigFile);
  const existing = readSecurityTowerConfig(configFiles.flatMap((path) => parseYamlFile(path, texts.get(path)!).documents)).clusters;
  const foreign = existing.filter((cluster) => !planned.has(cluster.location.file));
  if (foreign.length > 0) {
    const list = foreign.map((cluster) => `${cluster.name} (${cluster.location.file})`).join(', ');
    throw new UsageError(`the repository declares ${foreign.length === 1 ? 'a cluster' : 'clusters'} already: ${list}; nothing was written. 'parapet check' checks ${foreign.length === 1 ? 'it' : 'them'}; edit the file to change it`);
  }

  const changes: Array<{ path: string; change: 'wrote' | 'unchanged' | 'replaced' }> = [];
  const conflicts: string[] = [];
  for (const [path, text] of plan.writes) {
    const current = await readFile(join(root, ...path.split('/')), 'utf8').catch(() => undefined);
    if (current === undefined) changes.push({ path, change: 'wrote' });
    else if (current === text) changes.push({ path, change: 'unchanged' });
    else if (values.force) changes.push({ path, change: 'replaced' });
    else conflicts.push(path);
  }
  if (conflicts.length > 0) {
    throw new UsageError(`${conflicts.join(', ')} ${conflicts.length === 1 ? 'exists' : 'exist'} and differ${conflicts.length === 1 ? 's' : ''} from what init writes; nothing was written ('parapet init --force' replaces ${conflicts.length === 1 ? 'it' : 'them'})`);
  }
  for (const { path, change } of changes) {
    if (change !== 'unchanged' && !(await staysInside(root, path))) throw new UsageError(`${path} leads out of the repository through a symbolic link; nothing was written`);
  }
  for (const { path, change } of changes) {
    if (change === 'unchanged') continue;
    const target = join(root, ...path.split('/'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, plan.writes.get(path)!);
  }

  const lines = [`Found ${plan.description}.`];
  for (const cluster of plan.clusters) {
    const manifests = cluster.manifests
      ? `manifests in ${cluster.manifests.join(', ')}`
      : plan.layout === 'flux'
        ? `what the Flux Kustomizations of clusters/${cluster.name} apply`
        : 'every manifest of the repository';
    lines.push(`Cluster ${cluster.name}: ${manifests}; policies in ${cluster.policiesPath || '/ (the repository root)'}`);
  }
  lines.push(...changes.map(({ path, change }) => `  ${change.padEnd(9)} ${path}`));
  if (changes.every(({ change }) => change === 'unchanged')) lines.push('Set up already: nothing was changed.');
  lines.push(...plan.notes.map((note) => `Note: ${note}`));
  io.stdout(`${lines.join('\n')}\n`);

  const pathArgument = positionals[0] === undefined ? '' : ` --path ${quote(positionals[0])}`;
  const several = plan.clusters.length > 1;
  if (catalog && values.standard !== undefined) {
    for (const cluster of plan.clusters) {
      io.stdout('\n');
      const code = await enablePolicies(catalog, io, { path: root, cluster: cluster.name, names: [], standard: values.standard, action: 'warn' });
      if (code !== 0) return code;
    }
  }

  const next = ['', 'Next:'];
  if (values.standard === undefined) {
    for (const cluster of plan.clusters) {
      next.push(`  parapet policies enable${pathArgument}${several ? ` --cluster ${cluster.name}` : ''} --standard k8s/baseline --action warn`);
    }
  }
  next.push(`  parapet check${positionals[0] === undefined ? '' : ` ${quote(positionals[0])}`}`);
  const folders = [...new Set(['.securitytower', ...plan.clusters.map((cluster) => cluster.policiesPath)])].filter((path) => path !== '');
  const gitDir = positionals[0] === undefined ? '' : `-C ${quote(positionals[0])} `;
  next.push(`  git ${gitDir}add ${folders.map(quote).join(' ')} && git ${gitDir}commit -m "Check the cluster${several ? 's' : ''} with Parapet"`);
  io.stdout(`${next.join('\n')}\n`);
  return 0;
}

/** Whether writing `path` stays in the repository: no symbolic link on the way leads out of it. */
async function staysInside(root: string, path: string): Promise<boolean> {
  let existing = join(root, ...path.split('/'));
  while (existing !== root && !(await lstat(existing).catch(() => undefined))) existing = dirname(existing);
  const [realRoot, realExisting] = await Promise.all([realpath(root), realpath(existing)]);
  return realExisting === realRoot || realExisting.startsWith(realRoot + sep);
}

/** An argument as a shell reads it back. */
function quote(text: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
