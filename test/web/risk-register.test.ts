// The overview's risk register says who introduced each acceptance as GitHub tells it (who pushed
// its commit, who opened and merged its pull request), and the commit's author and date only as the
// commit states them, unverified: anyone can write any author into a commit. The JSON API carries
// the same.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncRiskAcceptances, type RiskAcceptanceInput } from '../../src/store/risk-acceptances.js';
import { signIn, startHarness, type Client, type Harness } from './harness.js';
import { GITOPS } from './seed.js';

const BOB_SHA = 'b0b5ea1'.padEnd(40, '2');
const FORGED_SHA = 'f0e9ed1'.padEnd(40, '3');
const SEEN_SHA = '5ee11'.padEnd(40, '4');

let h: Harness;
let alice: Client;

const acceptance = (name: string, reason: string, introduced: Partial<RiskAcceptanceInput>): RiskAcceptanceInput => ({
  cluster: 'payments-prod',
  policy: 'preventprivileged',
  object: { kind: 'Deployment', namespace: 'payments', name },
  level: 'podTemplate',
  reason,
  file: `clusters/payments-prod/payments/${name}.yaml`,
  line: 18,
  ...introduced,
});

beforeAll(async () => {
  h = await startHarness();
  await syncRiskAcceptances(h.db.prisma, {
    repositoryId: GITOPS,
    commitSha: SEEN_SHA,
    seenAt: new Date('2026-11-20T10:00:00Z'),
    acceptances: [
      // Bob's pull request #12, merged by Dana, who pushed the merge.
      acceptance('checkout', 'The card-reader sidecar needs device access; vendor ticket VEND-1234.', {
        introducedSha: BOB_SHA,
        introducedCommitAuthor: 'bob-payments',
        introducedAt: new Date('2026-10-08T14:30:00Z'),
        introducedPullRequest: 12,
        introducedPushedBy: 'dana-lead',
        introducedOpenedBy: 'bob-payments',
        introducedMergedBy: 'dana-lead',
      }),
      // Mallory pushed a commit that names the security lead as its author, dated last year.
      acceptance('fraud-check', 'Raw sockets for the card-network probe; reviewed in SEC-311.', {
        introducedSha: FORGED_SHA,
        introducedCommitAuthor: 'Dana Lead',
        introducedAt: new Date('2025-10-20T17:45:00Z'),
        introducedPushedBy: 'mallory',
      }),
      acceptance('ledger', 'Mounts the HSM device until the PKCS#11 proxy ships.', {}),
    ],
  });
  alice = await signIn(h, 'alice');
});

afterAll(async () => h?.close());

describe('the risk register', () => {
  it('serves who GitHub says pushed, opened and merged each acceptance, and the commit’s author and date as the commit’s own claim', async () => {
    const { body } = await alice.json('/api/risks?cluster=payments-prod');
    expect(
      body.risks.map((r: any) => [r.object.name, r.introducedSha, r.introducedPullRequest, r.introducedPushedBy, r.introducedOpenedBy, r.introducedMergedBy, r.introducedCommitAuthor, r.introducedAt]),
    ).toEqual([
      ['checkout', BOB_SHA, 12, 'dana-lead', 'bob-payments', 'dana-lead', 'bob-payments', '2026-10-08T14:30:00.000Z'],
      ['fraud-check', FORGED_SHA, null, 'mallory', null, null, 'Dana Lead', '2025-10-20T17:45:00.000Z'],
      ['ledger', null, null, null, null, null, null, null],
    ]);
    // No field stands for "who introduced it" but the ones GitHub vouches for.
    expect(body.risks[0]).not.toHaveProperty('introducedBy');
  });

  it('names who pushed and merged, links the pull request, and shows the commit author only as unverified', async () => {
    const page = await (await alice.fetch('/risks?cluster=payments-prod')).text();
    const rows = page.split('<tr>').slice(2);
    expect(rows).toHaveLength(3);
    const [checkout, fraudCheck, ledger] = rows as [string, string, string];
    expect(checkout).toContain(
      `pushed by dana-lead<br>merged by dana-lead in <a href="${h.github.url}/acme/gitops/pull/12">#12</a> <small>(opened by bob-payments)</small><br>` +
        `<small>commit <a href="${h.github.url}/acme/gitops/commit/${BOB_SHA}">b0b5ea1</a>; commit author (unverified): bob-payments, dated <time datetime="2026-10-08T14:30:00.000Z">2026-10-08 14:30</time></small>`,
    );
    // The forged author is never shown as the one who introduced it.
    expect(fraudCheck).toContain(`pushed by mallory<br><small>commit <a href="${h.github.url}/acme/gitops/commit/${FORGED_SHA}">f0e9ed1</a>; commit author (unverified): Dana Lead, dated`);
    expect(fraudCheck).not.toContain('/pull/');
    expect(fraudCheck.match(/Dana Lead/g)).toHaveLength(1);
    expect(ledger).toContain(`<span class="empty-value">unknown</span><br><small>first seen in <a href="${h.github.url}/acme/gitops/commit/${SEEN_SHA}">5ee1144</a></small>`);
  });

  it('finds acceptances by who pushed or merged them', async () => {
    const pushed = await alice.json('/api/risks?cluster=payments-prod&q=mallory');
    expect(pushed.body.risks.map((r: any) => r.object.name)).toEqual(['fraud-check']);
    const merged = await alice.json('/api/risks?cluster=payments-prod&q=dana-lead');
    expect(merged.body.risks.map((r: any) => r.object.name)).toEqual(['checkout']);
  });

  it('pages the register, saying how much there is, and keeps the filters from page to page', async () => {
    const first = await alice.json('/api/risks?cluster=payments-prod&limit=2');
    expect(first.body).toMatchObject({ page: 1, limit: 2, total: 3, previous: null, next: '/api/risks?cluster=payments-prod&limit=2&page=2' });
    expect(first.body.risks.map((r: any) => r.object.name)).toEqual(['checkout', 'fraud-check']);
    const second = await alice.json(first.body.next);
    expect(second.body.risks.map((r: any) => r.object.name)).toEqual(['ledger']);
    expect(second.body.next).toBeNull();

    const page = await (await alice.fetch('/risks?cluster=payments-prod&limit=2')).text();
    expect(page).toContain('Showing 1–2 of 3 present acceptances.');
    expect(page).toContain('href="/risks?cluster=payments-prod&amp;page=2&amp;limit=2"');
  });

  it('shows removed acceptances only when asked, and keeps asking from page to page', async () => {
    // The ledger's acceptance is gone from the default branch at a later commit.
    await syncRiskAcceptances(h.db.prisma, {
      repositoryId: GITOPS,
      commitSha: 'abcdef1'.padEnd(40, '5'),
      seenAt: new Date('2026-11-24T10:00:00Z'),
      acceptances: [
        acceptance('checkout', 'The card-reader sidecar needs device access; vendor ticket VEND-1234.', {}),
        acceptance('fraud-check', 'Raw sockets for the card-network probe; reviewed in SEC-311.', {}),
      ],
    });
    const present = await alice.json('/api/risks?cluster=payments-prod');
    expect(present.body.risks.map((r: any) => r.object.name)).toEqual(['checkout', 'fraud-check']);
    const all = await alice.json('/api/risks?cluster=payments-prod&removed=1&limit=2');
    expect(all.body.total).toBe(3);
    const rest = await alice.json(all.body.next);
    expect(rest.body.risks.map((r: any) => [r.object.name, r.removedAt])).toEqual([['ledger', '2026-11-24T10:00:00.000Z']]);

    const page = await (await alice.fetch('/risks?cluster=payments-prod&removed=1&limit=2')).text();
    expect(page).toContain('Showing 1–2 of 3 acceptances.');
    expect(page).toContain('href="/risks?cluster=payments-prod&amp;removed=1&amp;page=2&amp;limit=2"');
    expect(page).toContain('<input type="hidden" name="removed" value="1">');
    expect(page).toContain('>Present only</a>');
  });

  it('filters the acceptances of cluster-scoped objects with namespace=(cluster-scoped), and offers it in the form', async () => {
    await syncRiskAcceptances(h.db.prisma, {
      repositoryId: GITOPS,
      commitSha: 'abcdef2'.padEnd(40, '6'),
      seenAt: new Date('2026-11-25T10:00:00Z'),
      acceptances: [
        acceptance('checkout', 'The card-reader sidecar needs device access; vendor ticket VEND-1234.', {}),
        acceptance('fraud-check', 'Raw sockets for the card-network probe; reviewed in SEC-311.', {}),
        { ...acceptance('payments', 'Labels follow the PCI inventory, not the owner scheme; PCI-77.', {}), policy: 'requiredlabels', object: { kind: 'Namespace', name: 'payments' }, level: 'object' },
      ],
    });
    const scoped = await alice.json('/api/risks?namespace=(cluster-scoped)');
    expect(scoped.body.risks.map((r: any) => [r.object.kind, r.object.namespace, r.object.name])).toEqual([['Namespace', null, 'payments']]);
    const namespaced = await alice.json('/api/risks?cluster=payments-prod&namespace=payments');
    expect(namespaced.body.risks.map((r: any) => r.object.name)).toEqual(['checkout', 'fraud-check']);

    const page = await (await alice.fetch('/risks?namespace=%28cluster-scoped%29&limit=1')).text();
    expect(page).toContain('<option value="(cluster-scoped)" selected>(cluster-scoped)</option>');
    expect(page).toContain('Showing 1–1 of 1 present acceptances.');
  });
});
