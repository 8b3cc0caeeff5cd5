// Prisma CLI configuration: the JS schema engine through the pg driver adapter, so neither
// `prisma generate` nor `prisma migrate ...` downloads a native engine binary.
// At run time the application does not use this file: src/store/database.ts opens the database
// (embedded PGlite or DATABASE_URL) and applies prisma/migrations itself.
import path from 'node:path';
import { defineConfig } from 'prisma/config';

// Prisma 6 validates the schema's `url = env("DATABASE_URL")` even though connections come from the
// adapter; without a value `prisma generate` cannot read the generator's engineType and falls back
// to downloading the native query engine. The placeholder is never connected to.
const databaseUrl = process.env.DATABASE_URL;
process.env.DATABASE_URL ??= 'postgresql://unused.invalid/parapet';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations') },
  async adapter() {
    const url = databaseUrl;
    if (!url) {
      throw new Error('prisma CLI: set DATABASE_URL to a PostgreSQL server (the app applies migrations itself at start)');
    }
    const { createPgAdapter } = await import('./src/store/pg-adapter.js');
    return createPgAdapter(url);
  },
});
