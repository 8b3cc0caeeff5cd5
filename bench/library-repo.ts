// A repository judged by gatekeeper-library templates (test/fixtures/gatekeeper-library): generated
// workloads plus every sample object, with every sample constraint. The CEL differential test and
// the CEL timing compare gator and Parapet on it.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { gvkOf, ScopeTable } from '../src/engine/repo/kubernetes.js';
import { generateRepo } from './generate-repo.js';

export function files(dir: string, match: (name: string) => boolean): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? files(path, match) : match(entry.name) ? [path] : [];
  });
}

/** Samples hold their constraints in constraint.yaml, and some also in constraint2.yaml and so on. */
const isConstraintFile = (name: string) => /^constraint\d*\.yaml$/.test(name);

/**
 * A repository of `size` generated objects judged by the library's templates (in `library`, one
 * folder or several) and all their sample constraints, plus, unless `samples` is false, each
 * template's sample objects (renamed so that none collide).
 */
export function libraryRepo(dir: string, size: number, library: string | readonly string[], options: { samples?: boolean } = {}): void {
  // The generator's own policies come from an empty folder: these are the library's.
  generateRepo(dir, size, mkdtempSync(join(tmpdir(), 'parapet-no-policies-')), 0);
  const named = { count: 0 };
  for (const folder of typeof library === 'string' ? [library] : library) addLibrary(dir, folder, options.samples ?? true, named);
}

function addLibrary(dir: string, library: string, withSamples: boolean, named: { count: number }): void {
  const policies = join(dir, 'cluster', 'policies');
  // Every namespaced sample object in `default`, where the library's samples live and several of its
  // sample constraints look (`namespaces: ["default"]`), declared so that gator knows it as Parapet
  // does; named by its order so none collide. Cluster-scoped ones get none: the API server would
  // drop it before Gatekeeper (and Parapet, which warns) sees the object, while gator would keep it.
  const scopes = new ScopeTable();
  const samples = join(dir, 'cluster', 'namespaces', 'samples');
  if (withSamples) {
    mkdirSync(samples, { recursive: true });
    writeFileSync(join(samples, 'namespace.yaml'), stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }));
  }
  for (const template of files(library, (name) => name === 'template.yaml')) {
    const folder = join(template, '..');
    const name = relative(library, folder).replaceAll('/', '-');
    cpSync(template, join(policies, 'constraint-templates', `${name}-template.yaml`));
    for (const constraint of files(join(folder, 'samples'), isConstraintFile)) {
      // Samples of one template reuse constraint names; in one cluster each needs its own.
      const sample = relative(join(folder, 'samples'), constraint).replace(/\/constraint\.yaml$/, '').replace(/\.yaml$/, '').replaceAll('/', '-');
      const value = parseAllDocuments(readFileSync(constraint, 'utf8'))[0]!.toJS() as { metadata: { name: string } };
      value.metadata.name = `${relative(library, folder).split('/').pop()}-${sample}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, 63).replace(/-+$/, '');
      writeFileSync(join(policies, 'constraints', `${name}-${sample}.yaml`), stringify(value));
    }
    if (!withSamples) continue;
    for (const sample of files(join(folder, 'samples'), (file) => !isConstraintFile(file) && /\.ya?ml$/.test(file))) {
      const objects = parseAllDocuments(readFileSync(sample, 'utf8')).map((doc) => doc.toJS() as Record<string, unknown>);
      const tag = relative(library, sample).replace(/\.ya?ml$/, '').replace(/[^a-z0-9]+/gi, '-').toLowerCase();
      const renamed = objects
        .filter((o) => o && o.kind !== 'AdmissionReview')
        .map((o) => {
          const metadata: Record<string, unknown> = { ...(o.metadata as Record<string, unknown>), name: `sample-${++named.count}` };
          if (scopes.isClusterScoped(gvkOf(o as { apiVersion: string; kind: string }))) delete metadata.namespace;
          else metadata.namespace = 'default';
          return { ...o, metadata };
        });
      if (renamed.length > 0) writeFileSync(join(samples, `${tag}.yaml`), renamed.map((o) => stringify(o)).join('---\n'));
    }
  }
}
