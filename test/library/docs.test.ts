import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalog, readCatalog } from '../../src/library/catalog.js';
import { firstSentence, POLICY_DOCS_PATH, renderPolicyDocs } from '../../src/library/policy-docs.js';
import { repoRoot } from '../helpers/engine.js';

// docs/policies.md is generated from the policies' metadata by scripts/generate-policy-docs.ts.

describe('docs/policies.md', () => {
  it('is what the generator writes from the library now', async () => {
    const path = join(repoRoot, POLICY_DOCS_PATH);
    const expected = renderPolicyDocs(await loadCatalog());
    const actual = existsSync(path) ? readFileSync(path, 'utf8') : '(missing)';
    expect(actual === expected, `${POLICY_DOCS_PATH} is stale: run \`npm run docs:policies\` and commit the result`).toBe(true);
  });

  it('has one row per policy with its standards, what it checks and its annotation', async () => {
    const catalog = await loadCatalog();
    const docs = renderPolicyDocs(catalog);
    for (const policy of catalog.policies) {
      const row = docs.split('\n').find((line) => line.startsWith(`| [\`${policy.name}\`]`))!;
      expect(row).toContain(policy.riskAcceptance.annotation);
      expect(row).toContain(firstSentence(policy.description));
      for (const standard of policy.standards) expect(row).toContain(standard.id);
    }
  });

  it('comes out the same for the same library', () => {
    const read = (path: string) => readFileSync(join(repoRoot, 'policies', path), 'utf8');
    const files = { expansion: read('expansion.yaml'), folders: [{ name: 'preventprivileged', policy: read('preventprivileged/policy.yaml'), template: read('preventprivileged/template.yaml'), constraint: read('preventprivileged/constraint.yaml') }] };
    expect(renderPolicyDocs(readCatalog(files).catalog)).toBe(renderPolicyDocs(readCatalog(files).catalog));
  });
});

describe('firstSentence', () => {
  it.each([
    ['Containers must not run privileged. A privileged container has every capability.', 'Containers must not run privileged.'],
    ['Images need a tag, e.g. nginx:1.25.\nOtherwise who knows.', 'Images need a tag, e.g. nginx:1.25.'],
    ['No full stop at all', 'No full stop at all'],
  ])('%s', (text, sentence) => {
    expect(firstSentence(text)).toBe(sentence);
  });
});
