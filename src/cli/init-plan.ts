// What `parapet init` writes for a repository, computed purely from its files: the layout it
// recognises (Flux's clusters/<env>, Security Tower's template, kustomize overlays, plain manifests),
// one `.securitytower/<name>.yaml` Cluster file per cluster, and a policies folder for each.
import { posix } from 'node:path';
import { isRecord, isUnder, normalizeRepoPath, parseYamlFile } from '../engine/index.js';

export interface InitInput {
  /** The repository folder's own name: the cluster's name when the layout gives none. */
  folderName: string;
  /** Every file of the repository, repository-relative and `/`-separated. */
  files: string[];
  /** The text of the YAML files that were read (kustomizations, Flux objects, policies). */
  texts: ReadonlyMap<string, string>;
  /** `--name`: the cluster's name, for a repository that holds one cluster. */
  name?: string;
}

export type Layout = 'flux' | 'security-tower' | 'argo-cd' | 'kustomize-overlays' | 'plain';

export interface PlannedCluster {
  name: string;
  /** `.securitytower/<name>.yaml`. */
  configPath: string;
  policiesPath: string;
  /** Parapet's `spec.manifests`: only for a repository with several clusters. */
  manifests?: string[];
  namespaces: string[];
}

export interface InitPlan {
  layout: Layout;
  /** One line saying what was recognised, for the user. */
  description: string;
  clusters: PlannedCluster[];
  /** Files to write, by repository-relative path, in the order they are listed. */
  writes: Map<string, string>;
  /** Things the user should know, such as existing ConstraintTemplates found elsewhere. */
  notes: string[];
}

export class InitProblem extends Error {}

const LAYOUT_WORDS: Record<Layout, string> = {
  flux: 'a Flux repository',
  'security-tower': "Security Tower's cluster repository layout",
  'argo-cd': 'Argo CD Applications',
  'kustomize-overlays': 'kustomize overlays',
  plain: 'plain manifests',
};

export function planInit(input: InitInput): InitPlan {
  const files = input.files.filter((path) => !path.split('/').some((part) => part.startsWith('.')));
  const detected = detect(input, files);
  if (input.name !== undefined) {
    if (detected.clusters.length > 1) {
      throw new InitProblem(`--name names the cluster of a repository with one cluster; this one has ${detected.clusters.length} (${detected.clusters.map((c) => c.name).join(', ')})`);
    }
    const name = input.name;
    if (!isClusterName(name)) throw new InitProblem(`--name ${JSON.stringify(name)} is not a usable cluster name: lower-case letters, digits and '-', starting with a letter or digit`);
    detected.clusters[0]!.name = name;
    detected.clusters[0]!.configPath = `.securitytower/${name}.yaml`;
  }
  const writes = new Map<string, string>();
  for (const cluster of detected.clusters) writes.set(cluster.configPath, renderClusterFile(cluster, detected.layout));
  for (const cluster of detected.clusters) {
    // git keeps no empty folder: a README holds the place and says what goes there.
    if (!files.some((path) => isUnder(path, cluster.policiesPath))) writes.set(joinPath(cluster.policiesPath, 'README.md'), renderPoliciesReadme(cluster));
  }
  const where = detected.clusters.length > 1 ? ` with ${detected.clusters.length} clusters` : '';
  return { layout: detected.layout, description: `${LAYOUT_WORDS[detected.layout]}${where}`, clusters: detected.clusters, writes, notes: detected.notes };
}

// --- Layouts ---------------------------------------------------------------------------------------

interface Detected {
  layout: Layout;
  clusters: PlannedCluster[];
  notes: string[];
}

function detect(input: InitInput, files: string[]): Detected {
  const notes: string[] = [];
  const single = clusterName(input.folderName);

  // Security Tower's template: cluster/global (cluster-scoped objects, namespaces, policies) and
  // cluster/namespaces/<ns> (security-tower.md §1.1).
  if (files.some((path) => isUnder(path, 'cluster/global') || isUnder(path, 'cluster/namespaces'))) {
    const namespaces = files.some((path) => isUnder(path, 'cluster/global/namespace-specs')) ? ['cluster/global/namespace-specs'] : [];
    return { layout: 'security-tower', clusters: [cluster(single, 'cluster/global/policies', undefined, namespaces)], notes };
  }

  // Flux's monorepo layout: clusters/<env>/ holds each cluster's entry point (flux-system and the
  // Kustomizations that point at apps/<env>, infrastructure/...).
  const environments = folderNames(files, 'clusters');
  if (environments.length > 0) {
    const several = environments.length > 1;
    const clusters = environments.map((env) => {
      const entry = `clusters/${env}`;
      // A cluster named after its folder needs no manifests: the check starts where Flux does, at
      // the Kustomizations that sync clusters/<name>, and follows them.
      const name = clusterName(env);
      return cluster(name, `${entry}/policies`, several && name !== env ? [entry] : undefined, []);
    });
    return { layout: 'flux', clusters: uniqueNames(clusters), notes };
  }

  // Argo CD: Applications whose source paths are in this repository, one cluster per destination.
  const destinations = argoDestinations(files, input.texts);
  if (destinations.size > 0) {
    const several = destinations.size > 1;
    const clusters = [...destinations.keys()].sort().map((destination) => {
      const name = clusterName(destination);
      return cluster(name, `policies/${name}`, several ? reachableFolders(destinations.get(destination)!, files, input.texts) : undefined, []);
    });
    return { layout: 'argo-cd', clusters: uniqueNames(clusters), notes };
  }

  // Kustomize overlays: <app>/overlays/<env>/kustomization.yaml, one cluster per environment.
  const overlays = new Map<string, string[]>();
  for (const path of files) {
    const match = /^(?:(.*)\/)?overlays\/([^/]+)\/kustomization\.ya?ml$/.exec(path);
    if (match) overlays.set(match[2]!, [...(overlays.get(match[2]!) ?? []), posix.dirname(path)]);
  }
  if (overlays.size > 0) {
    const several = overlays.size > 1;
    const clusters = [...overlays.keys()].sort().map((env) => cluster(clusterName(env), `policies/${clusterName(env)}`, several ? reachableFolders(overlays.get(env)!, files, input.texts) : undefined, []));
    return { layout: 'kustomize-overlays', clusters: uniqueNames(clusters), notes };
  }

  // Plain manifests: one cluster. Gatekeeper policies the repository already has become its policies.
  const policyFiles = files.filter((path) => /\.ya?ml$/.test(path) && isGatekeeperPolicy(input.texts.get(path)));
  let policies = 'policies';
  if (policyFiles.length > 0) {
    const common = commonFolder(policyFiles);
    // The repository root as the policies folder would read every manifest as a policy.
    if (common !== '') policies = common;
    else notes.push(`ConstraintTemplates and Constraints are spread over ${policyFiles.slice(0, 3).join(', ')}${policyFiles.length > 3 ? ', ...' : ''}: move them under one folder and set spec.policies.path to it`);
  }
  return { layout: 'plain', clusters: [cluster(single, policies, undefined, [])], notes };
}

function cluster(name: string, policiesPath: string, manifests: string[] | undefined, namespaces: string[]): PlannedCluster {
  return { name, configPath: `.securitytower/${name}.yaml`, policiesPath, ...(manifests ? { manifests } : {}), namespaces };
}

/** Distinct folder names that hold files directly below `parent`, sorted. */
function folderNames(files: string[], parent: string): string[] {
  const names = new Set<string>();
  for (const path of files) {
    const parts = path.split('/');
    if (parts.length > 2 && parts[0] === parent && /\.ya?ml$/.test(path)) names.add(parts[1]!);
  }
  return [...names].sort();
}

/**
 * The folders a cluster's entry points lead to, as Flux and kustomize follow them: a Flux
 * Kustomization's spec.path, and the folders (or files) a kustomization's resources, bases and
 * components name. Only what exists in this repository counts; the result holds no folder twice.
 */
export function reachableFolders(entries: string[], files: string[], texts: ReadonlyMap<string, string>): string[] {
  const exists = (path: string) => files.some((file) => isUnder(file, path));
  const found = new Set(entries);
  const queue = [...entries];
  for (let root = queue.shift(); root !== undefined; root = queue.shift()) {
    for (const file of files.filter((path) => isUnder(path, root!) && /\.ya?ml$/.test(path))) {
      const text = texts.get(file);
      if (text === undefined) continue;
      const dir = posix.dirname(file) === '.' ? '' : posix.dirname(file);
      for (const target of referencedPaths(file, dir, text)) {
        if (target === '' || target.startsWith('..') || found.has(target) || !exists(target)) continue;
        found.add(target);
        queue.push(target);
      }
    }
  }
  const all = [...found].sort();
  return all.filter((path) => !all.some((other) => other !== path && isUnder(path, other)));
}

function referencedPaths(file: string, dir: string, text: string): string[] {
  const targets: string[] = [];
  const isKustomization = /(^|\/)kustomization\.ya?ml$/.test(file);
  for (const doc of parseYamlFile(file, text).documents) {
    const value = doc.value;
    if (!isRecord(value)) continue;
    if (typeof value.apiVersion === 'string' && value.apiVersion.startsWith('kustomize.toolkit.fluxcd.io/') && value.kind === 'Kustomization') {
      // Flux paths are relative to the source's root: this repository, for the Kustomizations in it.
      const spec = isRecord(value.spec) ? value.spec : {};
      if (typeof spec.path === 'string') targets.push(normalizeRepoPath(spec.path));
    } else if (isKustomization) {
      for (const key of ['resources', 'bases', 'components']) {
        const list = value[key];
        if (!Array.isArray(list)) continue;
        // Remote bases (URLs) are not in the repository.
        for (const entry of list) if (typeof entry === 'string' && !/^[a-z]+:\/\/|^github\.com\//.test(entry)) targets.push(normalizeRepoPath(posix.normalize(posix.join(dir, entry))));
      }
    }
  }
  return targets;
}

/**
 * Argo CD Applications by destination cluster (its name, else its server's host; `in-cluster` for
 * the cluster Argo CD runs in), each with the source paths that exist in this repository.
 * ApplicationSets are not expanded: their generators decide at run time.
 */
function argoDestinations(files: string[], texts: ReadonlyMap<string, string>): Map<string, string[]> {
  const destinations = new Map<string, string[]>();
  const exists = (path: string) => files.some((file) => isUnder(file, path));
  for (const file of files) {
    const text = texts.get(file);
    if (text === undefined || !/^kind:\s*Application\s*$/m.test(text)) continue;
    for (const doc of parseYamlFile(file, text).documents) {
      const value = doc.value;
      if (!isRecord(value) || value.kind !== 'Application' || typeof value.apiVersion !== 'string' || !value.apiVersion.startsWith('argoproj.io/')) continue;
      const spec = isRecord(value.spec) ? value.spec : {};
      const destination = isRecord(spec.destination) ? spec.destination : {};
      const server = typeof destination.server === 'string' ? destination.server : '';
      const name =
        typeof destination.name === 'string' && destination.name !== ''
          ? destination.name
          : server === '' || server === 'https://kubernetes.default.svc'
            ? 'in-cluster'
            : (/^[a-z]+:\/\/([^/:]+)/.exec(server)?.[1] ?? server);
      const sources = [spec.source, ...(Array.isArray(spec.sources) ? spec.sources : [])].filter(isRecord);
      const paths = sources.map((source) => source.path).filter((path): path is string => typeof path === 'string').map(normalizeRepoPath);
      const here = paths.filter((path) => path !== '' && exists(path));
      if (here.length > 0) destinations.set(name, [...new Set([...(destinations.get(name) ?? []), ...here])]);
    }
  }
  return destinations;
}

function isGatekeeperPolicy(text: string | undefined): boolean {
  return text !== undefined && (/^kind:\s*ConstraintTemplate\s*$/m.test(text) || /^apiVersion:\s*constraints\.gatekeeper\.sh\//m.test(text));
}

/** The deepest folder holding every path; `''` is the repository root. */
function commonFolder(paths: string[]): string {
  const folders = paths.map((path) => path.split('/').slice(0, -1));
  const first = folders[0] ?? [];
  let length = 0;
  while (length < first.length && folders.every((parts) => parts[length] === first[length])) length += 1;
  return first.slice(0, length).join('/');
}

// --- Names -----------------------------------------------------------------------------------------

/** A name as Kubernetes names objects (DNS label): what Security Tower and the App show. */
function isClusterName(name: string): boolean {
  return /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name);
}

function clusterName(text: string): string {
  const name = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return name === '' ? 'cluster' : name;
}

/** Two folders that clean to the same name (prod and Prod) get -2, -3... */
function uniqueNames(clusters: PlannedCluster[]): PlannedCluster[] {
  const seen = new Set<string>();
  return clusters.map((c) => {
    let name = c.name;
    for (let i = 2; seen.has(name); i += 1) name = `${c.name}-${i}`;
    seen.add(name);
    return { ...c, name, configPath: `.securitytower/${name}.yaml` };
  });
}

// --- What is written -------------------------------------------------------------------------------

const WHAT_WAS_SEEN: Record<Layout, string> = {
  flux: "the Flux layout (clusters/<env>)",
  'security-tower': "Security Tower's cluster repository layout",
  'argo-cd': 'Argo CD Applications (one cluster per destination)',
  'kustomize-overlays': 'kustomize overlays (overlays/<env>)',
  plain: 'plain manifests',
};

/** A Cluster file that reads itself: each field says what it is for. */
export function renderClusterFile(cluster: PlannedCluster, layout: Layout): string {
  const lines = [
    `# Parapet reads every .securitytower/*.yaml (Syncier Security Tower's format). Written by`,
    `# \`parapet init\` for ${WHAT_WAS_SEEN[layout]}: edit it as you need.`,
    'apiVersion: securitytower.io/v1alpha1',
    'kind: Cluster',
    'metadata:',
    `  name: ${cluster.name}`,
    'spec:',
    '  policies:',
    "    # The cluster's Gatekeeper policies: ConstraintTemplates, Constraints, ExpansionTemplates.",
    "    # `parapet policies enable` writes Parapet's library policies here.",
    `    path: ${yamlPath(cluster.policiesPath)}`,
  ];
  if (cluster.manifests) {
    lines.push(
      "  # The folders whose manifests are this cluster's (Parapet's setting for a repository that holds",
      '  # several clusters; without it a cluster gets every manifest no other cluster claims).',
      '  manifests:',
      ...cluster.manifests.map((path) => `    - path: ${yamlPath(path)}`),
    );
  }
  if (cluster.namespaces.length > 0) {
    lines.push(
      '  # Namespace manifests: namespace-wide risk acceptances and image allowlists are read there.',
      '  namespaces:',
      ...cluster.namespaces.map((path) => `    - path: ${yamlPath(path)}`),
    );
  }
  return `${lines.join('\n')}\n`;
}

function renderPoliciesReadme(cluster: PlannedCluster): string {
  return [
    `# Gatekeeper policies of the cluster ${cluster.name}`,
    '',
    `\`${cluster.configPath}\` names this folder (\`spec.policies.path\`). Parapet evaluates the`,
    "cluster's manifests against the ConstraintTemplates and Constraints in it: `parapet check` on a",
    'checkout, the Parapet GitHub App on every pull request.',
    '',
    "- `parapet policies list` shows Parapet's policy library;",
    "- `parapet policies enable --standard k8s/baseline --action warn` writes the Pod Security",
    "  Standards' Baseline here, as warnings first;",
    '- your own ConstraintTemplates and Constraints can live here too.',
    '',
  ].join('\n');
}

/** A path as a YAML plain scalar when it is one, else quoted. */
function yamlPath(path: string): string {
  return /^[A-Za-z0-9_][A-Za-z0-9_./-]*$/.test(path) ? path : JSON.stringify(path);
}

function joinPath(folder: string, file: string): string {
  return folder === '' ? file : `${folder}/${file}`;
}

/** The smallest Cluster file: what a user who has none is shown. */
export const EXAMPLE_CLUSTER_FILE = `apiVersion: securitytower.io/v1alpha1
kind: Cluster
metadata:
  name: my-cluster
spec:
  policies:
    path: policies      # the cluster's Gatekeeper ConstraintTemplates and Constraints
`;

/** Appended to "no `kind: Cluster` configuration found": how to start. */
export function howToStart(path: string | undefined): string {
  const command = path === undefined ? 'parapet init' : `parapet init ${path}`;
  const example = EXAMPLE_CLUSTER_FILE.trimEnd()
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
  return `'${command}' writes one for this repository (Flux, Argo CD, Security Tower or plain layout); or write .securitytower/cluster.yaml yourself, for example:\n\n${example}`;
}
