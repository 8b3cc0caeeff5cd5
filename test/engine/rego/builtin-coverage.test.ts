import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GO_BUILTINS, GoBuiltins, hostBuiltins } from '../../../src/engine/rego/builtins.js';
import { UnsupportedBuiltinsError, WasmPolicy } from '../../../src/engine/rego/wasm-policy.js';

// Every builtin a Gatekeeper template may call must run in Parapet. Gatekeeper v3.23.1 compiles
// templates with its OPA's capabilities (v1.17.1, ast.CapabilitiesForThisVersion) minus the
// builtins its deployment disables (`--disable-opa-builtin`, whose default in the Helm chart and
// the release manifest is `{http.send}`). Builtins the pinned opa compiles natively into the Wasm
// need nothing; the rest are Parapet's host builtins, written in TypeScript or run by Gatekeeper's
// own OPA in the parapet-cel helper (test/gator/builtins.test.ts runs those against gator).
const OPA = fileURLToPath(new URL('../../../tools/bin/opa', import.meta.url));
const GATEKEEPER_OPA = 'v1.17.1';
const GATEKEEPER_DISABLED = ['http.send'];


interface Capabilities {
  builtins: Array<{ name: string; infix?: string; decl: { args?: unknown[] } }>;
}

function capabilities(...args: string[]): Capabilities {
  return JSON.parse(execFileSync(OPA, ['capabilities', ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })) as Capabilities;
}

describe('the builtins Gatekeeper allows in templates', () => {
  let dir: string;
  let allowed: Capabilities['builtins'];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'parapet-builtin-coverage-'));
    const gatekeeper = new Set(capabilities('--version', GATEKEEPER_OPA).builtins.map((b) => b.name));
    allowed = capabilities('--current').builtins.filter(
      (b) =>
        gatekeeper.has(b.name) &&
        !GATEKEEPER_DISABLED.includes(b.name) &&
        // Operators, print (a statement, which the Wasm compiles away) and compiler-internal calls.
        !b.infix &&
        b.name !== 'print' &&
        !b.name.startsWith('internal.'),
    );
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('are all run by the Wasm or by the host', async () => {
    // One v0 module calling every builtin on untyped input, so the type checker accepts each call.
    const rules = allowed.map((b, i) => `r${i} := ${b.name}(${(b.decl.args ?? []).map((_, k) => `input.a${k}`).join(', ')})`);
    writeFileSync(join(dir, 'all.rego'), `package all\n\n${rules.join('\n')}\n`);
    execFileSync(OPA, ['build', '--v0-compatible', '-t', 'wasm', '-e', 'all', '-o', join(dir, 'bundle.tar.gz'), join(dir, 'all.rego')], { cwd: dir });
    execFileSync('tar', ['-xzf', join(dir, 'bundle.tar.gz'), '-C', dir, '/policy.wasm']);
    const module = await WasmPolicy.compile(readFileSync(join(dir, 'policy.wasm')));

    let missing: string[] = [];
    try {
      await WasmPolicy.load(module, { ...hostBuiltins, ...new GoBuiltins(() => ({ error: 'not called' })).impls });
    } catch (error) {
      if (!(error instanceof UnsupportedBuiltinsError)) throw error;
      missing = error.builtins;
    }
    expect(allowed.length).toBeGreaterThan(180);
    expect(missing).toEqual([]);
  });

  it('go to Go OPA only where the host has no TypeScript of its own, and only if Gatekeeper allows them', () => {
    const names = new Set(allowed.map((b) => b.name));
    expect(GO_BUILTINS.filter((name) => !names.has(name) || name in hostBuiltins)).toEqual([]);
  });

  it('include what Gatekeeper disables or its OPA lacks only as far as Gatekeeper does', () => {
    const names = allowed.map((b) => b.name);
    expect(names).not.toContain('http.send');
    // New in opa 1.22, unknown to Gatekeeper's 1.17.1: a template calling it does not compile there.
    expect(names).not.toContain('strings.split_n');
    expect(names).toEqual(expect.arrayContaining(['yaml.marshal', 'yaml.unmarshal', 'regex.split', 'opa.runtime', 'trace']));
  });
});
