import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostBuiltins } from '../../../src/engine/rego/builtins.js';
import { UnsupportedBuiltinsError, WasmPolicy } from '../../../src/engine/rego/wasm-policy.js';

// Every builtin a Gatekeeper template may call must run in Parapet. Gatekeeper v3.23.1 compiles
// templates with its OPA's capabilities (v1.17.1, ast.CapabilitiesForThisVersion) minus the
// builtins its deployment disables (`--disable-opa-builtin`, whose default in the Helm chart and
// the release manifest is `{http.send}`). Builtins the pinned opa compiles natively into the Wasm
// need nothing; the rest are Parapet's host builtins.
const OPA = fileURLToPath(new URL('../../../tools/bin/opa', import.meta.url));
const GATEKEEPER_OPA = 'v1.17.1';
const GATEKEEPER_DISABLED = ['http.send'];

/**
 * Builtins Gatekeeper allows that the host cannot run yet; a template calling one is an error at
 * load time that names it. Shrink this list, never grow it: the test fails when an entry is
 * implemented (remove it) and when a builtin outside it is missing.
 */
const NOT_YET = [
  // Certificates, keys and tokens: Go's x509 and JOSE parsing, printed as Go's structs.
  'crypto.parse_private_keys',
  'crypto.x509.parse_and_verify_certificates',
  'crypto.x509.parse_and_verify_certificates_with_options',
  'crypto.x509.parse_certificate_request',
  'crypto.x509.parse_certificates',
  'crypto.x509.parse_keypair',
  'crypto.x509.parse_rsa_private_key',
  'io.jwt.decode',
  'io.jwt.decode_verify',
  'io.jwt.encode_sign',
  'io.jwt.encode_sign_raw',
  'io.jwt.verify_eddsa',
  'io.jwt.verify_es256',
  'io.jwt.verify_es384',
  'io.jwt.verify_es512',
  'io.jwt.verify_hs256',
  'io.jwt.verify_hs384',
  'io.jwt.verify_hs512',
  'io.jwt.verify_ps256',
  'io.jwt.verify_ps384',
  'io.jwt.verify_ps512',
  'io.jwt.verify_rs256',
  'io.jwt.verify_rs384',
  'io.jwt.verify_rs512',
  // GraphQL parsing (gqlparser's AST as JSON), Rego parsing (OPA's AST as JSON), Go text/template,
  // JSON Schema (gojsonschema's messages), AWS request signing.
  'graphql.is_valid',
  'graphql.parse',
  'graphql.parse_and_verify',
  'graphql.parse_query',
  'graphql.parse_schema',
  'graphql.schema_is_valid',
  'rego.parse_module',
  'strings.render_template',
  'json.match_schema',
  'json.verify_schema',
  'providers.aws.sign_req',
  // The rest, plainer but not written yet.
  'graph.reachable_paths',
  'json.marshal_with_options',
  'json.patch',
  'net.cidr_contains_matches',
  'net.cidr_expand',
  'net.cidr_merge',
  'net.lookup_ip_addr',
  'rand.intn',
  'regex.globs_match',
  'regex.template_match',
  'time.add_date',
  'time.clock',
  'time.date',
  'time.diff',
  'time.format',
  'time.parse_ns',
  'time.weekday',
  'uri.is_valid',
  'uri.parse',
  'uuid.parse',
  'uuid.rfc4122',
];

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

  it('are all run by the Wasm or by the host, except the listed ones not yet written', async () => {
    // One v0 module calling every builtin on untyped input, so the type checker accepts each call.
    const rules = allowed.map((b, i) => `r${i} := ${b.name}(${(b.decl.args ?? []).map((_, k) => `input.a${k}`).join(', ')})`);
    writeFileSync(join(dir, 'all.rego'), `package all\n\n${rules.join('\n')}\n`);
    execFileSync(OPA, ['build', '--v0-compatible', '-t', 'wasm', '-e', 'all', '-o', join(dir, 'bundle.tar.gz'), join(dir, 'all.rego')], { cwd: dir });
    execFileSync('tar', ['-xzf', join(dir, 'bundle.tar.gz'), '-C', dir, '/policy.wasm']);
    const module = new WebAssembly.Module(readFileSync(join(dir, 'policy.wasm')));

    let missing: string[] = [];
    try {
      await WasmPolicy.load(module, hostBuiltins);
    } catch (error) {
      if (!(error instanceof UnsupportedBuiltinsError)) throw error;
      missing = error.builtins;
    }
    expect(allowed.length).toBeGreaterThan(180);
    expect(missing).toEqual([...NOT_YET].sort());
  });

  it('include what Gatekeeper disables or its OPA lacks only as far as Gatekeeper does', () => {
    const names = allowed.map((b) => b.name);
    expect(names).not.toContain('http.send');
    // New in opa 1.22, unknown to Gatekeeper's 1.17.1: a template calling it does not compile there.
    expect(names).not.toContain('strings.split_n');
    expect(names).toEqual(expect.arrayContaining(['yaml.marshal', 'yaml.unmarshal', 'regex.split', 'opa.runtime', 'trace']));
  });
});
