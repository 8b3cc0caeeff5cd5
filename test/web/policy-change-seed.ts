// acme/gitops as the fake GitHub serves it to the policy-change tests: the policy-library-cluster
// fixture's manifests (a privileged Deployment, a privileged debug Pod whose risk is accepted),
// declared as two clusters, staging and prod (as in the compliance seed), with empty policies folders.
import { join } from 'node:path';
import { fixturesDir } from '../helpers/engine.js';
import { readTree } from '../helpers/read-tree.js';

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

