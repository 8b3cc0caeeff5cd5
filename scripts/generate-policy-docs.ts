// Writes docs/policies.md from the policy library's metadata: `npm run docs:policies`.
// With --check it writes nothing and exits 1 when the page is stale (test/library/docs.test.ts does the same).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCatalog } from '../src/library/catalog.js';
import { POLICY_DOCS_PATH, renderPolicyDocs } from '../src/library/policy-docs.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const target = join(repoRoot, ...POLICY_DOCS_PATH.split('/'));
const text = renderPolicyDocs(await loadCatalog());
const current = await readFile(target, 'utf8').catch(() => undefined);

if (process.argv.includes('--check')) {
  if (current !== text) {
    process.stderr.write(`${POLICY_DOCS_PATH} is stale: run \`npm run docs:policies\`\n`);
    process.exitCode = 1;
  }
} else if (current === text) {
  process.stdout.write(`${POLICY_DOCS_PATH} is up to date\n`);
} else {
  await writeFile(target, text);
  process.stdout.write(`wrote ${POLICY_DOCS_PATH}\n`);
}
