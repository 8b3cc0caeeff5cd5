import { expect, it } from 'vitest';
import { pullRequestHead, recordEvaluation, type EvaluationInput } from '../../src/store/evaluations.js';
import { forEachBackend } from '../helpers/postgres-backends.js';
import { REPO, seedRepository, violation } from './fixtures.js';

function evaluation(sha: string, observedAt: number, overrides: Partial<EvaluationInput> = {}): EvaluationInput {
  return {
    repositoryId: REPO,
    sha,
    pullRequestNumber: 5,
    conclusion: 'failure',
    observedAt: new Date(observedAt),
    startedAt: new Date(observedAt),
    violations: [violation(), violation({ cluster: 'staging', status: 'existing', acceptance: { reason: 'legacy', level: 'object', annotation: 'a', location: { file: 'f', line: 1 } } })],
    ...overrides,
  };
}

forEachBackend((backend) => {
  it('records an evaluation with its violations and counts', async () => {
    const db = await backend.open();
    await seedRepository(db);
    const recorded = await recordEvaluation(db.prisma, evaluation('a'.repeat(40), 1000, { cluster: 'prod', errorCount: 3 }));
    expect(recorded.current).toBe(true);
    const stored = await db.prisma.evaluation.findUniqueOrThrow({
      where: { id: recorded.id },
      include: { violations: { include: { cluster: true }, orderBy: { id: 'asc' } }, cluster: true },
    });
    expect(stored).toMatchObject({ sha: 'a'.repeat(40), pullRequestNumber: 5, conclusion: 'failure', violationCount: 2, newViolationCount: 1, acceptedCount: 1, errorCount: 3 });
    expect(stored.cluster?.name).toBe('prod');
    expect(stored.violations.map((v) => [v.cluster?.name, v.objectKind, v.objectNamespace, v.line, v.status, v.acceptanceLevel])).toEqual([
      ['prod', 'Deployment', 'shop', 12, 'new', null],
      ['staging', 'Deployment', 'shop', 12, 'existing', 'object'],
    ]);
    expect(stored.violations[0]!.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a failure in the middle of the write stores nothing', async () => {
    const db = await backend.open();
    await seedRepository(db);
    // The second violation's line does not fit the column: the evaluation row is already written
    // in the transaction when the violations' insert fails.
    const broken = evaluation('b'.repeat(40), 1000, { violations: [violation(), violation({ location: { file: 'x', line: 2 ** 40 } })] });
    await expect(recordEvaluation(db.prisma, broken)).rejects.toThrow();
    expect(await db.prisma.evaluation.count()).toBe(0);
    expect(await db.prisma.violation.count()).toBe(0);
    expect(await db.prisma.pullRequest.count()).toBe(0);
    expect(await db.prisma.cluster.count()).toBe(0);
  });

  it('keeps the newest head of a pull request when evaluations arrive out of order', async () => {
    const db = await backend.open();
    await seedRepository(db);
    const newer = await recordEvaluation(db.prisma, evaluation('2'.repeat(40), 2000));
    const older = await recordEvaluation(db.prisma, evaluation('1'.repeat(40), 1000));
    expect(newer.current).toBe(true);
    expect(older.current).toBe(false);
    expect(await pullRequestHead(db.prisma, REPO, 5)).toEqual({ sha: '2'.repeat(40), observedAt: new Date(2000), evaluationId: newer.id });
    expect(await db.prisma.evaluation.count()).toBe(2); // history keeps both
    // A re-run of the current head (rerequested) stays current and points at the newest run.
    const rerun = await recordEvaluation(db.prisma, evaluation('2'.repeat(40), 2000));
    expect(rerun.current).toBe(true);
    expect((await pullRequestHead(db.prisma, REPO, 5))?.evaluationId).toBe(rerun.id);
  });

  it('keeps the newest head under concurrent writes', async () => {
    const db = await backend.open();
    await seedRepository(db);
    const shas = Array.from({ length: 8 }, (_, i) => String(i).repeat(40));
    const shuffled = [3, 7, 0, 5, 1, 6, 2, 4].map((i) => ({ sha: shas[i]!, at: 1000 + i }));
    const results = await Promise.all(shuffled.map(({ sha, at }) => recordEvaluation(db.prisma, evaluation(sha, at))));
    const head = await pullRequestHead(db.prisma, REPO, 5);
    expect(head?.sha).toBe(shas[7]);
    const winner = results[shuffled.findIndex((s) => s.sha === shas[7])]!;
    expect(winner.current).toBe(true);
    expect(head?.evaluationId).toBe(winner.id);
    expect(await db.prisma.evaluation.count()).toBe(8);
    expect(await db.prisma.violation.count()).toBe(16);
  });
});
