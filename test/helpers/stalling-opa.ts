// An opa CLI for tests of the compile time limit: it never finishes compiling a template holding
// `# never-compiles` (as a pathological template keeps `opa build` busy for hours), and compiles any
// other template as the pinned opa does.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultOpaPath } from '../../src/opa/opa-compiler.js';

/** The path of such an opa (a shell script in a temporary directory). */
export function stallingOpa(): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-opa-stall-'));
  const path = join(dir, 'opa');
  // opa runs in the build's directory, where the template's Rego is template.rego.
  writeFileSync(path, `#!/bin/sh\nif [ "$1" != version ] && grep -qs 'never-compiles' template.rego; then exec sleep 3600; fi\nexec "${defaultOpaPath}" "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}
