// The `.securitytower/` configuration (security-tower.md §1.2, §1.3), read unchanged; `phylake.io`
// is the product's former name and still accepted.
import { isRecord, type ApplicationConfig, type ApplicationStage, type ClusterConfig, type InputError, type Location } from '../model.js';
import type { RepoSource } from '../ports.js';
import { parseYamlFile, type YamlDocument } from './yaml-file.js';

const GROUPS = new Set(['securitytower.io', 'phylake.io']);

export interface SecurityTowerConfig {
  clusters: ClusterConfig[];
  applications: ApplicationConfig[];
  errors: InputError[];
  /**
   * What Parapet read in a format Security Tower's users left behind and took its conventional
   * meaning for, never failing a check: a Cluster file's (no spec.policies.path) shown on that
   * cluster, an Application's (a stage without cluster.name) on every cluster checked.
   */
  notices: { byCluster: Map<string, InputError[]>; everyCluster: InputError[] };
}

/** Where Security Tower kept a cluster's policies before its Cluster file named the folder (cluster-template, 2021). */
export const CONVENTIONAL_POLICIES_PATH = 'cluster/global/policies';

export function isSecurityTowerConfigFile(path: string): boolean {
  return /^\.(securitytower|phylake)\/[^/]+\.ya?ml$/.test(path);
}

/** Reads the configuration documents; every problem is an error at its line, never a skip. */
export function readSecurityTowerConfig(documents: YamlDocument[]): SecurityTowerConfig {
  const clusters: ClusterConfig[] = [];
  const applications: ApplicationConfig[] = [];
  const errors: InputError[] = [];
  const notices: SecurityTowerConfig['notices'] = { byCluster: new Map(), everyCluster: [] };
  for (const doc of documents) {
    const location = { file: doc.file, line: doc.kindLine };
    const fail = (message: string, code: InputError['code'] = 'cluster-config') => errors.push({ location, code, message });
    if (!isRecord(doc.value)) {
      fail('expected a mapping with apiVersion, kind, metadata and spec');
      continue;
    }
    const { apiVersion, kind } = doc.value;
    const group = typeof apiVersion === 'string' ? apiVersion.split('/')[0] : undefined;
    if (!group || !GROUPS.has(group)) {
      fail(`apiVersion ${JSON.stringify(apiVersion ?? null)} is not a Security Tower configuration (expected securitytower.io/v1alpha1)`);
      continue;
    }
    const name = isRecord(doc.value.metadata) ? doc.value.metadata.name : undefined;
    if (typeof name !== 'string' || name.trim() === '') {
      fail(`${String(kind)}: metadata.name is required`);
      continue;
    }
    const spec = isRecord(doc.value.spec) ? doc.value.spec : undefined;
    if (kind === 'Cluster') {
      const own: InputError[] = [];
      const cluster = readCluster(name, spec, location, (message) => fail(`Cluster ${name}: ${message}`), (message) => own.push({ location, code: 'cluster-config', message: `Cluster ${name}: ${message}` }));
      if (cluster) {
        const twin = clusters.find((c) => c.name === name);
        if (twin) fail(`Cluster ${name} is declared twice (also in ${twin.location.file}:${twin.location.line})`);
        else {
          clusters.push(cluster);
          if (own.length > 0) notices.byCluster.set(name, own);
        }
      }
    } else if (kind === 'Application') {
      const app = readApplication(name, spec, location, (message) => fail(`Application ${name}: ${message}`, 'application'), (message) => notices.everyCluster.push({ location, code: 'application', message: `Application ${name}: ${message}` }));
      if (app) applications.push(app);
    } else {
      fail(`kind ${JSON.stringify(kind ?? null)} is not a Security Tower configuration kind (Cluster or Application)`);
    }
  }
  return { clusters, applications, errors, notices };
}

function readCluster(name: string, written: Record<string, unknown> | undefined, location: Location, fail: (m: string) => void, notice: (m: string) => void): ClusterConfig | undefined {
  const spec = written ?? {};
  let policies = isRecord(spec.policies) ? spec.policies.path : undefined;
  if (policies === undefined && !(isRecord(spec.policies) && 'path' in spec.policies)) {
    // Cluster files written before Security Tower added spec.policies (the Phylake era) kept the
    // policies in the template repository's folder.
    notice(`spec.policies.path is not set: Parapet reads the policies in ${CONVENTIONAL_POLICIES_PATH}, where Security Tower kept them; set spec.policies.path to name another folder`);
    policies = CONVENTIONAL_POLICIES_PATH;
  }
  if (typeof policies !== 'string' || policies.trim() === '') {
    fail('spec.policies.path must name the folder that holds the cluster\'s ConstraintTemplates and Constraints');
    return undefined;
  }
  const namespacePaths = readPathList(spec.namespaces, 'spec.namespaces', fail);
  const manifestPaths = spec.manifests === undefined ? undefined : readPathList(spec.manifests, 'spec.manifests', fail);
  const k8sNativeValidation = readK8sNativeValidation(spec.gatekeeper, fail);
  const contact = isRecord(spec.contact)
    ? { email: optionalString(spec.contact.email), slack: optionalString(spec.contact.slack) }
    : undefined;
  return {
    name,
    location,
    tenant: optionalString(spec.tenant),
    contact,
    configuration: isRecord(spec.configuration) ? spec.configuration : {},
    policiesPath: normalizeRepoPath(policies),
    namespacePaths: namespacePaths ?? [],
    manifestPaths,
    k8sNativeValidation,
  };
}

/**
 * Parapet's `spec.gatekeeper.k8sNativeValidation`: the cluster's Gatekeeper flag
 * `--enable-k8s-native-validation`, on by default since Gatekeeper 3.18 (off: Rego only).
 */
function readK8sNativeValidation(gatekeeper: unknown, fail: (m: string) => void): boolean {
  if (gatekeeper === undefined || gatekeeper === null) return true;
  if (!isRecord(gatekeeper)) {
    fail('spec.gatekeeper must be a mapping (k8sNativeValidation: true or false)');
    return true;
  }
  for (const key of Object.keys(gatekeeper)) {
    if (key !== 'k8sNativeValidation') fail(`spec.gatekeeper.${key}: unknown field (Parapet knows k8sNativeValidation)`);
  }
  const value = gatekeeper.k8sNativeValidation;
  if (value === undefined) return true;
  if (typeof value !== 'boolean') {
    fail(`spec.gatekeeper.k8sNativeValidation must be true or false (Gatekeeper's --enable-k8s-native-validation), not ${JSON.stringify(value)}`);
    return true;
  }
  return value;
}

function readApplication(name: string, spec: Record<string, unknown> | undefined, location: Location, fail: (m: string) => void, notice: (m: string) => void): ApplicationConfig | undefined {
  if (!spec || !Array.isArray(spec.stages)) {
    fail('spec.stages must be a list');
    return undefined;
  }
  const stages: ApplicationStage[] = [];
  spec.stages.forEach((stage, i) => {
    const where = `spec.stages[${i}]`;
    if (!isRecord(stage) || typeof stage.name !== 'string') {
      fail(`${where}.name is required`);
      return;
    }
    const cluster = isRecord(stage.cluster) ? stage.cluster : undefined;
    const resources = isRecord(stage.resources) ? stage.resources.path : undefined;
    if (typeof cluster?.name !== 'string') {
      // The stage only says where an Application runs on the overview; a check never depends on it.
      notice(`${where} (${stage.name}) names no cluster.name: the stage is left out of the overview's Applications and stages`);
      return;
    }
    if (typeof resources !== 'string') {
      fail(`${where} (${stage.name}): resources.path is required`);
      return;
    }
    stages.push({
      name: stage.name,
      clusterName: cluster.name,
      clusterRepository: optionalString(cluster.repository),
      resourcesPath: normalizeRepoPath(resources),
      targetNamespace: optionalString(stage.targetNamespace),
      previousStage: optionalString(stage.previousStage),
    });
  });
  for (const stage of stages) {
    if (stage.previousStage && !stages.some((s) => s.name === stage.previousStage)) {
      fail(`stage ${stage.name}: previousStage ${stage.previousStage} is not a stage of this application`);
    }
  }
  return { name, location, owner: optionalString(spec.applicationOwner), securityLevel: optionalString(spec.securityLevel), stages };
}

function readPathList(value: unknown, field: string, fail: (m: string) => void): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) {
    fail(`${field} must be a list of {path: ...}`);
    return undefined;
  }
  const paths: string[] = [];
  value.forEach((entry, i) => {
    const path = isRecord(entry) ? entry.path : undefined;
    if (typeof path !== 'string' || path.trim() === '') fail(`${field}[${i}].path is required`);
    else paths.push(normalizeRepoPath(path));
  });
  return paths;
}

/** `/policies/`, `./policies` and `policies` all name the same folder; `''` is the root. */
export function normalizeRepoPath(path: string): string {
  return path
    .trim()
    .replace(/\\/g, '/')
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .join('/');
}

/** Whether `file` is `folder` itself or inside it. */
export function isUnder(file: string, folder: string): boolean {
  return folder === '' || file === folder || file.startsWith(`${folder}/`);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
}

/** A cluster as `.securitytower/*.yaml` names it, whether or not the rest of its configuration is valid. */
export interface DeclaredCluster {
  name: string;
  /** Normalised folder, `''` for the repository root; undefined when the config does not say. */
  policiesPath?: string;
}

/**
 * Every cluster a tree's configuration names, sorted: what the App opens a check run for before
 * evaluating. A cluster whose configuration is broken is still named, so its check run can say why.
 */
export async function declaredClusters(source: RepoSource): Promise<DeclaredCluster[]> {
  const paths = (await source.listFiles()).map((f) => f.path).filter(isSecurityTowerConfigFile);
  const clusters = new Map<string, DeclaredCluster>();
  for (const [path, text] of await source.readFiles(paths)) {
    for (const doc of parseYamlFile(path, text).documents) {
      const value = doc.value;
      if (!isRecord(value) || value.kind !== 'Cluster' || !isRecord(value.metadata) || typeof value.metadata.name !== 'string') continue;
      const name = value.metadata.name;
      const policies = isRecord(value.spec) && isRecord(value.spec.policies) ? value.spec.policies.path : undefined;
      if (!clusters.has(name)) clusters.set(name, { name, ...(typeof policies === 'string' && policies.trim() !== '' ? { policiesPath: normalizeRepoPath(policies) } : {}) });
    }
  }
  return [...clusters.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
