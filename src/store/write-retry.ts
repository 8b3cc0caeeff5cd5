import { WriteFailedError } from '../errors.js';
// Writes retried while the database cannot take them for a reason that passes: a lost connection,
// a restarted server, a full disk an operator is freeing, a deadlock or serialization failure.
// Errors about the data itself (a constraint, a value out of range, a missing table: a bug or a
// database behind the code) fail the same way every time and are not retried.

export interface WriteRetryOptions {
  /** Attempts in all, the first included. */
  attempts?: number;
  /** The wait before each retry (ms); the last value serves any further retry. */
  delaysMs?: number[];
  /** Called before each wait: the failure, the attempt that failed (1-based), the wait. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/** Four attempts over about 20 s: long enough for a server restart or a fail-over. */
export const DEFAULT_WRITE_RETRY = { attempts: 4, delaysMs: [1_000, 4_000, 15_000] } as const;


export async function retryWrite<T>(write: () => Promise<T>, options: WriteRetryOptions = {}): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? DEFAULT_WRITE_RETRY.attempts);
  const delays = options.delaysMs && options.delaysMs.length > 0 ? options.delaysMs : DEFAULT_WRITE_RETRY.delaysMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      const permanent = isPermanentWriteError(error);
      if (permanent || attempt >= attempts) throw new WriteFailedError(attempt, permanent, error);
      const delay = delays[Math.min(attempt - 1, delays.length - 1)]!;
      options.onRetry?.(error, attempt, delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** SQLSTATE classes of errors in the data or the statement: 22 data exception, 23 integrity constraint, 42 syntax or undefined object. */
const PERMANENT_SQLSTATE = /^(22|23|42)/;

/** Driver-adapter error kinds (Prisma) that are about the data, whatever the database's state. */
const PERMANENT_KINDS = new Set([
  'UniqueConstraintViolation',
  'NullConstraintViolation',
  'ForeignKeyConstraintViolation',
  'LengthMismatch',
  'InvalidInputValue',
  'ValueOutOfRange',
  'InconsistentColumnData',
  'TableDoesNotExist',
  'ColumnNotFound',
]);

/** Prisma request errors that may pass: pool timeout, transaction API (expired, closed), write conflict or deadlock. */
const TRANSIENT_PRISMA_CODES = new Set(['P2024', 'P2028', 'P2034']);

export function isPermanentWriteError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const o = e as { name?: unknown; code?: unknown; kind?: unknown; originalCode?: unknown };
    if (o.name === 'PrismaClientValidationError') return true;
    if (typeof o.kind === 'string' && PERMANENT_KINDS.has(o.kind)) return true;
    for (const code of [o.originalCode, o.code]) {
      if (typeof code !== 'string') continue;
      if (/^[0-9A-Z]{5}$/.test(code) && PERMANENT_SQLSTATE.test(code)) return true;
      if (/^P2\d{3}$/.test(code)) return !TRANSIENT_PRISMA_CODES.has(code);
    }
  }
  return false;
}

