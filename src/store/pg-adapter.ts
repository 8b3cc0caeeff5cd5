// The pg driver adapter Prisma runs on, with two work-arounds:
// - prisma/orm#27403: @prisma/adapter-pg 6.19 rejects columns of PostgreSQL's `name` type (oid 19,
//   arrays oid 1003) and `"char"` (oid 18) as unsupported native types, which breaks catalog
//   queries (migrations, introspection by the Prisma CLI). Both are text in every respect that
//   matters to us, so query results report those columns as text (25) / text[] (1009).
// - A statement that fails outside a transaction (a unique violation, a full disk) must not cost
//   the connection: pg-pool's query() destroys the client on any error, and the embedded database
//   serves exactly one connection, so the reconnection raced the old socket's teardown and was
//   refused ("Connection terminated unexpectedly" for the next query). Errors the server reports
//   as ERROR leave the session healthy (it answers ReadyForQuery next); only those keep the client.
// - A connection lost inside an interactive transaction must not leak from the pool: Prisma ends
//   a failed transaction with a ROLLBACK statement and releases the connection only after it
//   succeeded, which on a dead connection it never does. Ten such losses exhausted the pool and
//   stopped every later query. A connection that ends while checked out is now released then.
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

const OID_CHAR = 18;
const OID_NAME = 19;
const OID_NAME_ARRAY = 1003;
const OID_TEXT = 25;
const OID_TEXT_ARRAY = 1009;

interface FieldLike {
  name: string;
  dataTypeID: number;
}

interface ResultLike {
  fields?: FieldLike[];
  rows?: unknown[];
}

const parseTextArray = (pg.types.getTypeParser as (oid: number, format: 'text') => (value: string) => unknown)(OID_TEXT_ARRAY, 'text');

function nameAsText<R>(result: R): R {
  for (const r of Array.isArray(result) ? result : [result]) {
    const { fields, rows } = (r ?? {}) as ResultLike;
    if (!Array.isArray(fields)) continue;
    fields.forEach((field, i) => {
      if (field.dataTypeID === OID_NAME || field.dataTypeID === OID_CHAR) {
        field.dataTypeID = OID_TEXT;
      } else if (field.dataTypeID === OID_NAME_ARRAY) {
        field.dataTypeID = OID_TEXT_ARRAY;
        // pg had no parser for name[] and left the array literal as a string: parse it as text[].
        for (const row of rows ?? []) {
          if (Array.isArray(row)) {
            if (typeof row[i] === 'string') row[i] = parseTextArray(row[i] as string);
          } else if (row && typeof row === 'object') {
            const o = row as Record<string, unknown>;
            if (typeof o[field.name] === 'string') o[field.name] = parseTextArray(o[field.name] as string);
          }
        }
      }
    });
  }
  return result;
}

type AnyFn = (...args: unknown[]) => unknown;

/** A pg Client whose results report `name` columns as text (prisma/orm#27403). */
export class NameAsTextClient extends pg.Client {
  // pg's query() has many overloads (promise, callback, submittable); wrap every shape.
  override query(...args: unknown[]): never {
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      const callback = last as AnyFn;
      args[args.length - 1] = (err: unknown, res: unknown) => callback(err, err ? res : nameAsText(res));
      return (super.query as AnyFn).apply(this, args) as never;
    }
    const out = (super.query as AnyFn).apply(this, args);
    if (out && typeof (out as Promise<unknown>).then === 'function') {
      return (out as Promise<unknown>).then(nameAsText) as never;
    }
    return out as never;
  }
}

export interface PgAdapterOptions {
  /** Connections in the pool; PGlite serves one session, so the embedded database uses 1. */
  max?: number;
  connectionTimeoutMillis?: number;
  /** How long an idle connection is kept (pg's default 10 s); 0 keeps it for good. */
  idleTimeoutMillis?: number;
}

/**
 * True for an error the server reported for one statement (severity ERROR: a constraint, a full
 * disk, a serialization failure) after which the session goes on. FATAL and PANIC end the session;
 * socket errors, timeouts and protocol errors leave it in an unknown state.
 */
export function isStatementError(error: unknown): boolean {
  return error instanceof pg.DatabaseError && error.severity === 'ERROR';
}

/**
 * A pool whose query() returns the connection after a statement error instead of destroying it,
 * and whose checked-out connections are released (and so removed) as soon as they end.
 */
export class StatementErrorTolerantPool extends pg.Pool {
  override connect(...args: unknown[]): never {
    // The callback form serves pg's own query(); Prisma's adapter checks out with the promise form.
    if (typeof args[0] === 'function') return (super.connect as AnyFn).apply(this, args) as never;
    return this.connectReleasingOnEnd() as never;
  }

  private async connectReleasingOnEnd(): Promise<pg.PoolClient> {
    const client = await (super.connect as () => Promise<pg.PoolClient>).call(this);
    const release = client.release;
    let released = false;
    const releaseOnce = (error?: Error | boolean) => {
      if (released) return;
      released = true;
      client.removeListener('end', onEnd);
      release(error);
    };
    const onEnd = () => releaseOnce(new Error('the connection ended while checked out'));
    client.once('end', onEnd);
    // The pool sets a new release function at every checkout: this one lives for this checkout.
    client.release = releaseOnce;
    return client;
  }

  override query(...args: unknown[]): never {
    // Callback and submittable forms are not used by Prisma's adapter: pg's own handling.
    if (args.length === 0 || typeof args[args.length - 1] === 'function' || typeof (args[0] as { submit?: unknown })?.submit === 'function') {
      return (super.query as AnyFn).apply(this, args) as never;
    }
    return this.queryKeepingConnection(args) as never;
  }

  private async queryKeepingConnection(args: unknown[]): Promise<unknown> {
    const client = await this.connectReleasingOnEnd();
    // A connection lost mid-query fails the query and is also emitted as 'error': without a
    // listener that would be an uncaught exception.
    let lost: unknown;
    const onError = (error: unknown) => (lost = error);
    client.on('error', onError);
    try {
      const result = await (client.query as AnyFn).apply(client, args);
      client.removeListener('error', onError);
      client.release();
      return result;
    } catch (error) {
      client.removeListener('error', onError);
      client.release(lost === undefined && isStatementError(error) ? undefined : ((lost ?? error) as Error));
      throw error;
    }
  }
}

export function createPgPool(url: string, options: PgAdapterOptions = {}): pg.Pool {
  return new StatementErrorTolerantPool({
    connectionString: url,
    Client: NameAsTextClient,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 10_000,
    ...(options.idleTimeoutMillis !== undefined ? { idleTimeoutMillis: options.idleTimeoutMillis } : {}),
  });
}

/** Prisma's pg adapter over a pool of NameAsTextClient connections. */
export function createPgAdapter(url: string, options: PgAdapterOptions = {}): PrismaPg {
  return new PrismaPg(createPgPool(url, options), { disposeExternalPool: true });
}
