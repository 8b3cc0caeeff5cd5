// The import rules of docs/architecture.md, checked on every file under src/: the engine is pure and
// its stages depend only on earlier ones; adapters reach the engine through its index and never
// each other; only the composition modules at the root of src/ wire adapters together.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/engine.js';

const src = join(repoRoot, 'src');

/** Engine stages in data-flow order: a stage may import itself and the stages before it. */
const STAGES = ['repo', 'policy', 'render', 'expand', 'match', 'evaluate', 'accept', 'inventory', 'report', 'verify'];
/** The adapters around the engine. */
const ADAPTERS = ['cli', 'github', 'store', 'web', 'opa', 'renderer', 'cel', 'results'];
/** Root modules that wire adapters together (composition roots); nothing imports main.ts. */
const COMPOSITION = ['main.ts', 'runtime.ts', 'database-recorder.ts'];
/** Root modules every adapter may use. */
const SHARED_ROOT = ['config.ts', 'disk-cache.ts', 'errors.ts', 'http-body.ts', 'runtime.ts'];
/** Node modules that would make the engine impure (the driver's worker threads are its own). */
const IMPURE = ['node:fs', 'node:fs/promises', 'node:child_process', 'node:net', 'node:http', 'node:https', 'node:dgram', 'node:dns'];

interface Import {
  /** Importing file, relative to src/. */
  from: string;
  /** Imported file relative to src/ (`.ts`), or the bare specifier of a package. */
  to: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const from = relative(src, file);
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'";]*?from\s*'([^']+)'/g), ...text.matchAll(/import\(\s*'([^']+)'\s*\)/g)].map((m) => m[1]!);
  return specifiers.map((specifier) => ({
    from,
    to: specifier.startsWith('.') ? relative(src, resolve(dirname(file), specifier)).replace(/\.js$/, '.ts') : specifier,
  }));
}

const imports = sourceFiles(src).flatMap(importsOf);
const top = (path: string) => path.split('/')[0]!;
const engineFolder = (path: string) => (path.startsWith('engine/') && path.split('/').length > 2 ? path.split('/')[1]! : undefined);
const render = (i: Import) => `${i.from} -> ${i.to}`;

describe('the import rules of docs/architecture.md', () => {
  it('finds the imports it checks', () => {
    expect(imports.filter((i) => i.from.startsWith('engine/')).length).toBeGreaterThan(100);
    expect(imports.some((i) => i.from === 'engine/check.ts' && i.to === 'engine/match/match-objects.ts')).toBe(true);
  });

  it('keeps the engine free of adapters, of the root modules and of I/O', () => {
    const fromEngine = imports.filter((i) => i.from.startsWith('engine/'));
    const outside = fromEngine.filter((i) => i.to.endsWith('.ts') && !i.to.startsWith('engine/'));
    const impure = fromEngine.filter((i) => IMPURE.includes(i.to) || i.to.startsWith('@prisma/') || i.to === 'probot' || i.to.startsWith('@octokit/'));
    expect([...outside, ...impure].map(render)).toEqual([]);
  });

  it('lets each engine stage import only model, ports, go/ and the stages up to its own', () => {
    const bad = imports.filter((i) => {
      const stage = engineFolder(i.from);
      if (!stage || !STAGES.includes(stage) || !i.to.startsWith('engine/')) return false;
      const target = engineFolder(i.to);
      if (target === undefined) return !['engine/model.ts', 'engine/ports.ts'].includes(i.to);
      if (target === 'go') return false;
      if (target === 'rego' || target === 'cel') return true; // the drivers are reached through the PolicyDriver port
      return STAGES.indexOf(target) > STAGES.indexOf(stage);
    });
    expect(bad.map(render)).toEqual([]);
  });

  it('keeps the base modules at the base: go/ and model import nothing of the stages', () => {
    const bad = imports.filter(
      (i) =>
        (i.from === 'engine/model.ts' && i.to.startsWith('engine/')) ||
        (engineFolder(i.from) === 'go' && i.to.startsWith('engine/') && engineFolder(i.to) !== 'go' && i.to !== 'engine/model.ts') ||
        (i.from === 'engine/ports.ts' && i.to.startsWith('engine/') && !['engine/model.ts', 'engine/repo/yaml-file.ts'].includes(i.to)),
    );
    expect(bad.map(render)).toEqual([]);
  });

  it.each(['rego', 'cel'])('lets the %s driver use only the base modules and YAML parsing, never a pipeline stage', (driver) => {
    const bad = imports.filter((i) => engineFolder(i.from) === driver && i.to.startsWith('engine/') && ![driver, 'go'].includes(engineFolder(i.to) ?? '') && !['engine/model.ts', 'engine/ports.ts', 'engine/repo/yaml-file.ts'].includes(i.to));
    expect(bad.map(render)).toEqual([]);
  });

  it('lets adapters and the policy library reach the engine only through engine/index.ts', () => {
    const bad = imports.filter((i) => !i.from.startsWith('engine/') && i.to.startsWith('engine/') && i.to !== 'engine/index.ts');
    expect(bad.map(render)).toEqual([]);
  });

  it('keeps adapters from importing each other: only the composition modules wire them', () => {
    const bad = imports.filter((i) => {
      const from = top(i.from);
      if (!ADAPTERS.includes(from) && from !== 'library') return false;
      const to = top(i.to);
      if (!i.to.endsWith('.ts')) return false;
      if (to === from || to === 'engine' || to === 'library') return false;
      if (!i.to.includes('/')) return !SHARED_ROOT.includes(i.to);
      return true;
    });
    expect(bad.map(render)).toEqual([]);
  });

  it('lets nothing import the App entry point, and only composition modules import adapters from the root', () => {
    const bad = imports.filter((i) => i.to === 'main.ts' || (!i.from.includes('/') && ADAPTERS.includes(top(i.to)) && i.to.includes('/') && !COMPOSITION.includes(i.from)));
    expect(bad.map(render)).toEqual([]);
  });
});
