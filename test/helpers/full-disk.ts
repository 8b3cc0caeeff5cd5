// A database whose disk is full, as far as one table is concerned: inserts into it fail with the
// error PostgreSQL raises when it cannot extend a file (SQLSTATE 53100 disk_full), in the middle of
// whatever transaction writes there. Works on PostgreSQL and on the embedded PGlite alike.
import type { Database } from '../../src/store/database.js';

/**
 * Fills the disk for inserts into `table`: all of them, or the next `failures` statements that
 * insert there (a sequence counts them: sequences are not rolled back with the failed transaction).
 */
export async function fillDisk(db: Database, table: string, options: { failures?: number } = {}): Promise<void> {
  const name = objectName(table);
  const limit = options.failures ?? 2_147_483_647;
  await db.prisma.$executeRawUnsafe(`CREATE SEQUENCE ${name}_seq`);
  await db.prisma.$executeRawUnsafe(`
    CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF nextval('${name}_seq') <= ${limit} THEN
        RAISE EXCEPTION 'could not extend file "base/16384/${name}": No space left on device'
          USING ERRCODE = 'disk_full', HINT = 'Check free disk space.';
      END IF;
      RETURN NULL;
    END $$`);
  await db.prisma.$executeRawUnsafe(`CREATE TRIGGER ${name} BEFORE INSERT ON "${table}" FOR EACH STATEMENT EXECUTE FUNCTION ${name}()`);
}

/** The disk has room again. */
export async function freeDisk(db: Database, table: string): Promise<void> {
  const name = objectName(table);
  await db.prisma.$executeRawUnsafe(`DROP TRIGGER ${name} ON "${table}"`);
  await db.prisma.$executeRawUnsafe(`DROP FUNCTION ${name}()`);
  await db.prisma.$executeRawUnsafe(`DROP SEQUENCE ${name}_seq`);
}

function objectName(table: string): string {
  if (!/^[a-z_]+$/.test(table)) throw new Error(`not a table name: ${table}`);
  return `full_disk_${table}`;
}
