import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { files } from '../../bench/library-repo.js';
import { verifySuites } from '../../src/engine/index.js';
import { engine, fixturesDir, repoRoot } from '../helpers/engine.js';

// Gatekeeper's gator with its defaults (CEL on, as Gatekeeper since 3.18) against Parapet on the
// suites of the gatekeeper-library templates that carry CEL (test/fixtures/gatekeeper-library,
// copied from the library at 5c441fb6), with CEL and with Rego.
const gator = join(repoRoot, 'tools', 'bin', 'gator');
const library = join(fixturesDir, 'gatekeeper-library');

beforeAll(() => {
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build-go-tool.mjs'), 'gator'], { stdio: 'inherit' });
}, 15 * 60_000);

describe('Gatekeeper’s gator (CEL on) and Parapet agree on the library’s CEL templates', () => {
  engine();

  it('gator passes every suite of those templates, and so does parapet verify, with CEL and with Rego', async () => {
    const run = execFileSync(gator, ['verify', `${library}/...`], { encoding: 'utf8' });
    expect(run).toMatch(/ok/);
    const suites = files(library, (name) => name === 'suite.yaml');
    const reader = { read: async (path: string) => readFileSync(path, 'utf8') };
    for (const k8sNativeValidation of [true, false]) {
      const results = await verifySuites(suites, { ...engine(), reader, k8sNativeValidation });
      const failures = results.flatMap((s) => [
        ...(s.error ? [`${s.file}: ${s.error}`] : []),
        ...s.tests.flatMap((t) => [...(t.error ? [`${s.file} ${t.name}: ${t.error}`] : []), ...t.cases.filter((c) => !c.passed).map((c) => `${s.file} ${t.name} / ${c.name}: ${c.error}`)]),
      ]);
      expect({ k8sNativeValidation, failures }).toEqual({ k8sNativeValidation, failures: [] });
    }
  });
  // The differential on generated objects and every sample, CEL on and off, covers these templates
  // with the rest of the library: library-differential.test.ts.
});
