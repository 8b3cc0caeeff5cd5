// acme/gitops as the fake GitHub serves it to the policy-change tests: the policy-library-cluster
// fixture's manifests (a privileged Deployment, a privileged debug Pod whose risk is accepted),
// declared as two clusters, staging and prod (as in the compliance seed), with empty policies folders.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { userTreeReader } from '../../src/github/tree-reader.js';
import { openDatabase, type Database } from '../../src/store/database.js';
import { migratedDataDir } from '../helpers/database-template.js';
import { engine, fixturesDir } from '../helpers/engine.js';
import { FakeGitHub } from '../helpers/fake-github.js';
import { readTree } from '../helpers/read-tree.js';
import { COMPLIANCE_USERS, seedCompliance } from './compliance-seed.js';
import { startHarness, type Harness } from './harness.js';

export const REPO = 'acme/gitops';
/** The default branch's commit the tests start from. */
export const MAIN = '1'.repeat(40);

const cluster = (name: string) => `apiVersion: securitytower.io/v1alpha1
kind: Cluster
metadata:
  name: ${name}
spec:
  production: ${name === 'prod'}
  policies:
    path: clusters/${name}/policies
  namespaces:
    - path: cluster/namespace-specs
`;

/** The repository's files: the policy-library-cluster fixture's manifests, declared as staging and prod. */
export function gitopsFiles(): Record<string, string> {
  const files = readTree(join(fixturesDir, 'repos', 'policy-library-cluster'));
  delete files['.securitytower/cluster.yaml'];
  delete files['cluster/policies/README.md'];
  files['.securitytower/staging.yaml'] = cluster('staging');
  files['.securitytower/prod.yaml'] = cluster('prod');
  return files;
}


export interface PolicyChangeWorld {
  db: Database;
  fake: FakeGitHub;
  h: Harness;
  close(): Promise<void>;
}

/**
 * The fake GitHub serving `files` as acme/gitops's main (bob may write, alice only read), the
 * compliance seed in a memory database, and the overview with policy changes wired as main.ts does.
 */
export async function startPolicyChangeWorld(files: Record<string, string>): Promise<PolicyChangeWorld> {
  const fake = await FakeGitHub.start();
  fake.addCommit(REPO, MAIN, files);
  fake.setBranch(REPO, 'main', MAIN);
  fake.grant(REPO, 'bob', 'write');
  fake.grant(REPO, 'alice', 'read');
  const db = await openDatabase({ dataDir: await migratedDataDir() });
  await seedCompliance(db);
  const h = await startHarness({ db, users: COMPLIANCE_USERS, seed: async () => {}, api: fake, policyChanges: { engine: engine(), readTree: userTreeReader(fake.url, 64 * 1024 * 1024) } });
  return {
    db,
    fake,
    h,
    async close() {
      await h.close();
      await fake.close();
      await db.close();
    },
  };
}

/** A checkout of `files` in a new temporary folder, for running the CLI on. */
export function writeCheckout(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-gitops-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}
