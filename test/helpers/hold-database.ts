// A second process for the lock tests: opens the embedded database in the directory given as its
// argument, says "open <pid>" on stdout, and holds it until SIGTERM (closing it) or SIGKILL.
import { openDatabase } from '../../src/store/database.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: hold-database.ts <dir>');
try {
  const db = await openDatabase({ dataDir });
  process.once('SIGTERM', () => {
    void db.close().then(() => process.exit(0));
  });
  process.stdout.write(`open ${process.pid}\n`);
  setInterval(() => {}, 60_000);
} catch (error) {
  process.stdout.write(`refused ${(error as Error).message}\n`);
  process.exit(3);
}
