// Once before all test files: the built dist/ that tests spawn (the CLI binary, `npm start`) must
// match src/. Building here, not in each file, keeps parallel test files from writing dist/ at once.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The newest modification time of any file under `dir`. */
function newest(dir: string): number {
  let time = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    time = Math.max(time, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return time;
}

export default function setup(): void {
  const marker = join(root, 'dist', 'cli', 'main.js');
  if (existsSync(marker) && statSync(marker).mtimeMs >= newest(join(root, 'src'))) return;
  // From scratch: tsc leaves the output of moved or deleted sources behind, which a test could run.
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  try {
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
  } catch (error) {
    // tsc emits JavaScript even when types fail; `npm test` typechecks first anyway. Only a build
    // that produced nothing stops the tests.
    if (!existsSync(marker)) throw error;
  }
}
