import type { Violation } from '../../src/engine/index.js';
import type { Database } from '../../src/store/database.js';
import { upsertInstallation, upsertRepository } from '../../src/store/repositories.js';

export const REPO = 42n;

export async function seedRepository(db: Database): Promise<void> {
  await upsertInstallation(db.prisma, { id: 7, accountLogin: 'acme', accountType: 'Organization' });
  await upsertRepository(db.prisma, { id: REPO, installationId: 7, owner: 'acme', name: 'gitops', defaultBranch: 'main' });
}

export function violation(overrides: Partial<Violation> = {}): Violation {
  return {
    cluster: 'prod',
    policy: 'k8sallowedrepos',
    constraint: 'allowed-repos',
    enforcementAction: 'deny',
    message: 'container <web> has an invalid image repo <evil/web>',
    details: {},
    location: { file: 'clusters/prod/web.yaml', line: 12 },
    object: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'shop' },
    acceptance: null,
    status: 'new',
    ...overrides,
  };
}
