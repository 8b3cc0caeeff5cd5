// A full disk or a lost connection during a write fails that write, and loses nothing already stored.
import { describe, expect, it } from 'vitest';
import { recordEvaluation } from '../../src/store/evaluations.js';
import { isPermanentWriteError, retryWrite } from '../../src/store/write-retry.js';
import { fillDisk, freeDisk } from '../helpers/full-disk.js';
import { forEachBackend } from '../helpers/postgres-backends.js';
import { REPO, seedRepository, violation } from './fixtures.js';
import { WriteFailedError } from '../../src/errors.js';

forEachBackend((backend) => {
  it('stores nothing of an evaluation the disk fills up in the middle of, keeps the earlier ones, and takes it once there is room', async () => {
    const db = await backend.open();
    await seedRepository(db);
    const evaluation = (sha: string) => ({
      repositoryId: REPO,
      sha,
      pullRequestNumber: 12,
      cluster: 'prod',
      conclusion: 'failure',
      observedAt: new Date(),
      startedAt: new Date(),
      violations: [violation(), violation({ object: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api', namespace: 'shop' }, location: { file: 'clusters/prod/api.yaml', line: 30 } })],
    });
    const earlier = await recordEvaluation(db.prisma, evaluation('1'.repeat(40)));

    // The evaluation row is written, then the violations do not fit.
    await fillDisk(db, 'violations');
    await expect(recordEvaluation(db.prisma, evaluation('2'.repeat(40)))).rejects.toThrow(/No space left on device/);

    expect(await db.prisma.evaluation.findMany({ select: { sha: true, violationCount: true } })).toEqual([{ sha: '1'.repeat(40), violationCount: 2 }]);
    expect(await db.prisma.violation.count({ where: { evaluationId: earlier.id } })).toBe(2);
    expect(await db.prisma.pullRequest.findMany({ select: { headSha: true } })).toEqual([{ headSha: '1'.repeat(40) }]);

    await freeDisk(db, 'violations');
    const later = await recordEvaluation(db.prisma, evaluation('2'.repeat(40)));
    expect(later.current).toBe(true);
    expect(await db.prisma.violation.count({ where: { evaluationId: later.id } })).toBe(2);
  });

  it('retries a write while the disk is full, and gives up after the attempts allowed', async () => {
    const db = await backend.open();
    await seedRepository(db);
    const write = (sha: string) => () => recordEvaluation(db.prisma, { repositoryId: REPO, sha, ref: 'main', cluster: 'prod', conclusion: 'failure', observedAt: new Date(), startedAt: new Date(), violations: [violation()] });
    const retries: Array<[number, number]> = [];
    const options = { attempts: 3, delaysMs: [20, 50], onRetry: (_error: unknown, attempt: number, delayMs: number) => retries.push([attempt, delayMs]) };

    // Room again after two failed attempts: the third succeeds.
    await fillDisk(db, 'violations', { failures: 2 });
    await retryWrite(write('3'.repeat(40)), options);
    expect(retries).toEqual([[1, 20], [2, 50]]);
    expect(await db.prisma.evaluation.count({ where: { sha: '3'.repeat(40) } })).toBe(1);
    await freeDisk(db, 'violations');

    // Full for good: three attempts, then a failure that says so.
    retries.length = 0;
    await fillDisk(db, 'violations');
    const failure = await retryWrite(write('4'.repeat(40)), options).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(WriteFailedError);
    expect((failure as WriteFailedError).message).toBe('the write failed 3 times: could not extend file "base/16384/full_disk_violations": No space left on device');
    expect(retries).toEqual([[1, 20], [2, 50]]);
    expect(await db.prisma.evaluation.count({ where: { sha: '4'.repeat(40) } })).toBe(0);
  });

  it('does not retry a write the data itself makes fail', async () => {
    const db = await backend.open();
    await seedRepository(db);
    let attempts = 0;
    const duplicate = () => {
      attempts++;
      return db.prisma.installation.create({ data: { id: 7n, accountLogin: 'acme', accountType: 'Organization' } });
    };
    const failure = await retryWrite(duplicate, { attempts: 4, delaysMs: [10] }).catch((error: unknown) => error);
    expect(attempts).toBe(1);
    expect(failure).toMatchObject({ name: 'WriteFailedError', permanent: true });
    expect((failure as Error).message).toMatch(/^the database refused the write: Unique constraint failed on the fields: \(`id`\)/);
  });
});

describe('which write errors may pass', () => {
  it('retries connection losses, a full disk and conflicts; not constraint or data errors', () => {
    const adapterError = (cause: Record<string, unknown>) => Object.assign(new Error(String(cause.message ?? cause.kind)), { name: 'DriverAdapterError', cause });
    expect(isPermanentWriteError(adapterError({ kind: 'postgres', code: '53100', message: 'could not extend file' }))).toBe(false);
    expect(isPermanentWriteError(adapterError({ kind: 'postgres', code: '57P01', message: 'terminating connection due to administrator command' }))).toBe(false);
    expect(isPermanentWriteError(adapterError({ kind: 'TransactionWriteConflict' }))).toBe(false);
    expect(isPermanentWriteError(new Error('Connection terminated unexpectedly'))).toBe(false);
    expect(isPermanentWriteError(Object.assign(new Error('Transaction already closed'), { code: 'P2028' }))).toBe(false);

    expect(isPermanentWriteError(adapterError({ kind: 'UniqueConstraintViolation', constraint: { fields: ['id'] } }))).toBe(true);
    expect(isPermanentWriteError(adapterError({ kind: 'postgres', code: '22P02', message: 'invalid input syntax for type bigint' }))).toBe(true);
    expect(isPermanentWriteError(Object.assign(new Error('Foreign key constraint violated'), { code: 'P2003' }))).toBe(true);
    expect(isPermanentWriteError(Object.assign(new Error('Argument `sha` is missing.'), { name: 'PrismaClientValidationError' }))).toBe(true);
  });
});
