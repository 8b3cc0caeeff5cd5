// What `parapet policies enable|disable` changes in a repository, decided from the repository's files
// alone: the cluster chosen from `.securitytower/*.yaml`, its policies folder read, the plan made.
// The CLI reads the files from a checkout and writes the plan to disk; the overview reads them from
// the default branch's archive and commits the plan on a new branch of a pull request. Both call
// `planPolicyChange`, so a pull request holds exactly what the CLI would have written.
import { isSecurityTowerConfigFile, parseYamlFile, readSecurityTowerConfig, type ClusterConfig, type InputError, type RepoFile, type RepoSource } from '../engine/index.js';
import type { Catalog } from './catalog.js';
import { planDisable, planEnable, type EnforcementAction, type Plan, type PolicyFolder } from './plan.js';

/** Where the change reads the repository from. */
export interface PolicyRepository {
  /** The `.securitytower/` (and older `.phylake/`) configuration files, sorted by path. */
  configFiles(): Promise<Array<{ path: string; text: string }>>;
  /** Every file under `path` (repository-relative) with its text; an empty map when there is no such folder. `cluster` names it in messages. */
  folderFiles(path: string, cluster: string): Promise<Map<string, string>>;
}

export type PolicyChangeRequest =
  | { verb: 'enable'; cluster?: string; names: string[]; standard?: string; strict?: boolean; action?: EnforcementAction; params?: Record<string, string> }
  | { verb: 'disable'; cluster?: string; names: string[] };

/** Why no cluster's policies folder can be changed; `kind` lets the CLI add how to start. */
export interface ClusterProblem {
  kind: 'no-config' | 'unusable-config' | 'unknown-cluster' | 'several-clusters' | 'outside-repository';
  message: string;
}

export interface PolicyTarget {
  cluster: ClusterConfig;
  folder: PolicyFolder;
  /** Configuration errors that do not concern the chosen cluster: worth a warning, they stop nothing. */
  warnings: InputError[];
  /** Names of every cluster the configuration declares. */
  clusters: string[];
}

export interface PolicyChange extends PolicyTarget {
  plan: Plan;
}

export function isClusterProblem(value: unknown): value is ClusterProblem {
  return typeof value === 'object' && value !== null && 'kind' in value && 'message' in value && !('cluster' in value);
}

export const where = (error: InputError) => `${error.location.file}:${error.location.line}: ${error.message}`;

/** The cluster (`name`, or the only one) and its policies folder as they are now. */
export async function openPolicyTarget(repo: PolicyRepository, name: string | undefined): Promise<PolicyTarget | ClusterProblem> {
  const documents = [];
  const errors: InputError[] = [];
  for (const file of await repo.configFiles()) {
    const parsed = parseYamlFile(file.path, file.text);
    documents.push(...parsed.documents);
    errors.push(...parsed.errors);
  }
  const config = readSecurityTowerConfig(documents);
  errors.push(...config.errors);
  const names = config.clusters.map((c) => c.name).join(', ');
  let cluster: ClusterConfig | undefined;
  if (name !== undefined) {
    cluster = config.clusters.find((c) => c.name === name);
    if (!cluster) {
      const own = errors.filter((e) => e.message.startsWith(`Cluster ${name}:`));
      if (own.length > 0) return { kind: 'unusable-config', message: `the cluster ${name} cannot take policies: ${own.map(where).join('; ')}` };
      return { kind: 'unknown-cluster', message: `no cluster named ${name} in .securitytower/*.yaml${names ? ` (clusters: ${names})` : ''}` };
    }
  } else if (config.clusters.length === 1) cluster = config.clusters[0]!;
  else if (config.clusters.length > 1) return { kind: 'several-clusters', message: `the repository declares several clusters (${names}): choose one with --cluster NAME` };
  else if (errors.length > 0) return { kind: 'unusable-config', message: `no usable cluster configuration:\n${errors.map((e) => `  ${where(e)}`).join('\n')}` };
  else return { kind: 'no-config', message: 'no `kind: Cluster` configuration found in .securitytower/*.yaml' };

  const path = cluster.policiesPath;
  if (path.split('/').includes('..')) return { kind: 'outside-repository', message: `the cluster ${cluster.name}'s spec.policies.path ${path} leads out of the repository` };
  return { cluster, folder: { path, files: await repo.folderFiles(path, cluster.name) }, warnings: errors, clusters: config.clusters.map((c) => c.name) };
}

/** The plan of `request` for a target already opened. */
export function planFor(catalog: Catalog, folder: PolicyFolder, request: PolicyChangeRequest): Plan {
  if (request.verb === 'disable') return planDisable(catalog, folder, { names: request.names });
  return planEnable(catalog, folder, {
    names: request.names,
    ...(request.standard !== undefined ? { standard: request.standard } : {}),
    ...(request.strict ? { strict: true } : {}),
    ...(request.action ? { action: request.action } : {}),
    ...(request.params ? { params: request.params } : {}),
  });
}

/** `parapet policies enable|disable` as file changes in memory: the cluster, its folder and the plan. */
export async function planPolicyChange(catalog: Catalog, repo: PolicyRepository, request: PolicyChangeRequest): Promise<PolicyChange | ClusterProblem> {
  const target = await openPolicyTarget(repo, request.cluster);
  if (isClusterProblem(target)) return target;
  return { ...target, plan: planFor(catalog, target.folder, request) };
}

/** A repository read through the engine's RepoSource port (a tarball, a git revision). */
export function sourceRepository(source: RepoSource): PolicyRepository {
  let listed: Promise<RepoFile[]> | undefined;
  const list = () => (listed ??= source.listFiles());
  return {
    async configFiles() {
      // .securitytower/ before the older .phylake/, each by name: the order a checkout is read in.
      const rank = (path: string) => (path.startsWith('.securitytower/') ? 0 : 1);
      const paths = (await list())
        .map((f) => f.path)
        .filter(isSecurityTowerConfigFile)
        .sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
      const texts = await source.readFiles(paths);
      return paths.flatMap((path) => (texts.has(path) ? [{ path, text: texts.get(path)! }] : []));
    },
    async folderFiles(path) {
      const paths = (await list()).map((f) => f.path).filter((p) => path === '' || p.startsWith(`${path}/`));
      return new Map([...(await source.readFiles(paths))].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    },
  };
}

/** `source` with a plan applied: what the tree holds once the change is merged (nothing is written anywhere). */
export function withPlan(source: RepoSource, plan: Plan): RepoSource {
  const deleted = new Set(plan.deletes);
  return {
    async listFiles() {
      const files = (await source.listFiles()).filter((f) => !deleted.has(f.path) && !plan.writes.has(f.path));
      for (const [path, text] of plan.writes) files.push({ path, size: Buffer.byteLength(text) });
      return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    },
    async readFiles(paths) {
      const texts = await source.readFiles(paths.filter((p) => !deleted.has(p) && !plan.writes.has(p)));
      for (const path of paths) if (plan.writes.has(path)) texts.set(path, plan.writes.get(path)!);
      return texts;
    },
  };
}
