// What a kustomization file names: the resources, components, patches and generator inputs it
// reads, resolved to repository paths. Enough to tell kustomize roots from bases, which files a
// build uses (so they are applied, not plain manifests), and where each patch is written.
import { posix } from 'node:path';
import { isRecord } from '../model.js';
import { normalizeRepoPath } from '../repo/security-tower.js';

export const KUSTOMIZATION_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

export function isKustomizationFile(path: string): boolean {
  return KUSTOMIZATION_NAMES.includes(posix.basename(path));
}

export function dirOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/**
 * `relative` resolved against `dir`; undefined when it climbs out of the repository or is remote
 * (a URL, `github.com/...`, `git@...`), which the renderer refuses.
 */
export function resolveInRepo(dir: string, relative: string): string | undefined {
  if (isRemote(relative) || posix.isAbsolute(relative)) return undefined;
  const joined = posix.join(dir === '' ? '.' : dir, relative);
  return joined === '..' || joined.startsWith('../') ? undefined : normalizeRepoPath(joined);
}

/** kustomize's own test for a remote target (RepoSpec and http loaders), as far as a path shows it. */
export function isRemote(path: string): boolean {
  return /^(https?:\/\/|git::|gh:|ssh:\/\/|git@|github\.com[:/]|gitlab\.com\/|bitbucket\.org\/)/i.test(path) || /^[a-z0-9-]+(\.[a-z0-9-]+)+\.[a-z]{2,}\/[^/]+\/[^/]+\.git/i.test(path);
}

/** Every path a kustomization names, relative to its folder, with the field path that names it. */
export function kustomizationReferences(value: unknown): Array<{ path: string; at: Array<string | number> }> {
  if (!isRecord(value)) return [];
  const refs: Array<{ path: string; at: Array<string | number> }> = [];
  const add = (at: Array<string | number>, path: unknown) => {
    // Inline patches are YAML text, not file names.
    if (typeof path === 'string' && path !== '' && !path.includes('\n')) refs.push({ path, at });
  };
  for (const field of ['resources', 'bases', 'components', 'crds', 'generators', 'transformers', 'validators', 'configurations', 'patchesStrategicMerge']) {
    const list = value[field];
    if (Array.isArray(list)) list.forEach((item, i) => add([field, i], item));
  }
  for (const field of ['patches', 'patchesJson6902', 'replacements']) {
    const list = value[field];
    if (Array.isArray(list)) list.forEach((item, i) => isRecord(item) && add([field, i, 'path'], item.path));
  }
  for (const field of ['configMapGenerator', 'secretGenerator']) {
    const list = value[field];
    if (!Array.isArray(list)) continue;
    list.forEach((item, i) => {
      if (!isRecord(item)) return;
      const files = Array.isArray(item.files) ? item.files : [];
      files.forEach((file, j) => add([field, i, 'files', j], typeof file === 'string' ? file.replace(/^[^=]*=/, '') : undefined));
      const envs = Array.isArray(item.envs) ? item.envs : [];
      envs.forEach((env, j) => add([field, i, 'envs', j], env));
      add([field, i, 'env'], item.env);
    });
  }
  if (isRecord(value.openapi)) add(['openapi', 'path'], value.openapi.path);
  return refs;
}
