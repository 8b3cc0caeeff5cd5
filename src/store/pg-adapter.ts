// The pg driver adapter Prisma runs on, with the work-around for prisma/orm#27403: @prisma/adapter-pg
// 6.19 rejects columns of PostgreSQL's `name` type (oid 19, arrays oid 1003) as an unsupported
// native type, which breaks catalog queries (migrations, introspection). `name` is text in every
// respect that matters to us, so query results report those columns as text (25) / text[] (1009).
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

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
      if (field.dataTypeID === OID_NAME) {
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
}

export function createPgPool(url: string, options: PgAdapterOptions = {}): pg.Pool {
  return new pg.Pool({
    connectionString: url,
    Client: NameAsTextClient,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 10_000,
  });
}

/** Prisma's pg adapter over a pool of NameAsTextClient connections. */
export function createPgAdapter(url: string, options: PgAdapterOptions = {}): PrismaPg {
  return new PrismaPg(createPgPool(url, options), { disposeExternalPool: true });
}
