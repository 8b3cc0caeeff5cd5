// A migrated embedded database costs a PGlite initdb plus every migration: seconds each, and the
// store, web and App tests open dozens. They start instead from a copy of one migrated data
// directory, made once per machine for the current migrations and PGlite version and shared by
// every test process. Tests of migration itself keep opening empty databases.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, projectRoot } from '../../src/store/database.js';
import { LOCK_FILE } from '../../src/store/dir-lock.js';

let template: Promise<string> | undefined;

/** A new embedded data directory holding a database with every migration applied. */
export async function migratedDataDir(): Promise<string> {
  const from = await (template ??= ensureTemplate());
  const dir = join(mkdtempSync(join(tmpdir(), 'parapet-pglite-')), 'db');
  cpSync(from, dir, { recursive: true, filter: (source) => !source.endsWith(LOCK_FILE) });
  return dir;
}

async function ensureTemplate(): Promise<string> {
  const path = join(tmpdir(), `parapet-pglite-template-${templateKey()}`);
  if (existsSync(path)) return path;
  // Built beside the final path and renamed into place: a concurrent test process either sees no
  // template (and builds its own) or a complete one, never a half-written directory.
  const building = mkdtempSync(`${path}.building-`);
  const db = await openDatabase({ dataDir: join(building, 'db') });
  await db.close();
  try {
    renameSync(join(building, 'db'), path);
  } catch (error) {
    if (!existsSync(path)) throw error;
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  return path;
}

/** Changes whenever the migrations or the PGlite that wrote the files change. */
function templateKey(): string {
  const hash = createHash('sha256');
  const migrations = join(projectRoot(), 'prisma', 'migrations');
  for (const entry of readdirSync(migrations, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).sort((a, b) => join(a.parentPath, a.name).localeCompare(join(b.parentPath, b.name)))) {
    const file = join(entry.parentPath, entry.name);
    hash.update(file.slice(migrations.length)).update(readFileSync(file));
  }
  const pglite = JSON.parse(readFileSync(join(projectRoot(), 'node_modules', '@electric-sql', 'pglite', 'package.json'), 'utf8')) as { version: string };
  hash.update(pglite.version);
  return hash.digest('hex').slice(0, 16);
}
