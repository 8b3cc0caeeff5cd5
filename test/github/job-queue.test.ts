import { describe, expect, it } from 'vitest';
import { JobQueue, ReportedJobFailure } from '../../src/github/job-queue.js';

/** A logger keeping what it was told, as pino's level methods take it: (fields, message). */
function recordingLog() {
  const lines: Array<{ level: 'error' | 'warn'; fields: Record<string, unknown>; message: string }> = [];
  return {
    lines,
    error: (fields: Record<string, unknown>, message: string) => lines.push({ level: 'error', fields, message }),
    warn: (fields: Record<string, unknown>, message: string) => lines.push({ level: 'warn', fields, message }),
  };
}

describe('the job queue', () => {
  it('runs a delivery once, but again after its job failed, and goes on with the other jobs', async () => {
    const log = recordingLog();
    const jobs = new JobQueue(log as never);
    const ran: string[] = [];
    expect(jobs.add('d-1', async () => { ran.push('d-1 first'); throw new Error('the database is gone'); })).toBe(true);
    expect(jobs.add('d-2', async () => { ran.push('d-2'); })).toBe(true);
    await jobs.idle();
    expect(jobs.add('d-2', async () => { ran.push('d-2 again'); })).toBe(false);
    expect(jobs.add('d-1', async () => { ran.push('d-1 redelivered'); })).toBe(true);
    await jobs.idle();

    expect(ran).toEqual(['d-1 first', 'd-2', 'd-1 redelivered']);
    expect(log.lines).toEqual([
      { level: 'error', fields: { err: new Error('the database is gone'), deliveryId: 'd-1' }, message: "background job failed; redeliver d-1 (the App's advanced settings on GitHub) to run it again" },
    ]);
  });

  it('notes a failure the job already reported as a warning, and takes its logger when a job fails', async () => {
    let logger: ReturnType<typeof recordingLog> | null = null;
    const jobs = new JobQueue(() => logger as never);
    logger = recordingLog();
    jobs.add('d-3', async () => { throw new ReportedJobFailure('the evaluation of pull request #7 at 1234567 was not recorded'); });
    await jobs.idle();
    expect(logger.lines).toEqual([
      { level: 'warn', fields: { deliveryId: 'd-3' }, message: "the evaluation of pull request #7 at 1234567 was not recorded; redeliver d-3 (the App's advanced settings on GitHub) to run it again" },
    ]);
  });
});
