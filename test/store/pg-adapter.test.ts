import { PrismaPg } from '@prisma/adapter-pg';
import { expect, it } from 'vitest';
import { createPgAdapter } from '../../src/store/pg-adapter.js';
import { forEachBackend } from '../helpers/postgres-backends.js';

const NAME_QUERY = { sql: `SELECT 'parapet'::name AS n, ARRAY['a'::name] AS ns`, args: [], argTypes: [] };

forEachBackend((backend) => {
  it('reports `name` columns as text (work-around for prisma/orm#27403)', async () => {
    const db = await backend.open();
    // Through the client Parapet uses (both backends).
    const viaClient = await db.prisma.$queryRawUnsafe<{ n: string; ns: string[] }[]>(NAME_QUERY.sql);
    expect(viaClient).toEqual([{ n: 'parapet', ns: ['a'] }]);
    if (db.embedded) return; // PGlite serves one connection, held by db; the comparison below needs two.
    const url = (await backend.fresh()).url!;
    const plain = await new PrismaPg({ connectionString: url }).connect();
    try {
      await expect(plain.queryRaw(NAME_QUERY)).rejects.toThrow();
    } finally {
      await plain.dispose();
    }
    const fixed = await createPgAdapter(url).connect();
    try {
      const result = await fixed.queryRaw(NAME_QUERY);
      expect(result.rows).toEqual([['parapet', ['a']]]);
    } finally {
      await fixed.dispose();
    }
  });
});
