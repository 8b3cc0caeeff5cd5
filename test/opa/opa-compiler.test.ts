import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RegoDriver } from '../../src/engine/index.js';
import { hostBuiltins } from '../../src/engine/rego/builtins.js';
import { gatekeeperErrorText } from '../../src/engine/rego/runtime-error.js';
import { WasmPolicy } from '../../src/engine/rego/wasm-policy.js';
import { OpaCompiler, defaultOpaPath, installedOpaPath } from '../../src/opa/opa-compiler.js';
import { repoRoot } from '../helpers/engine.js';
import { stallingOpa } from '../helpers/stalling-opa.js';

const privileged = {
  version: 'v1' as const,
  libs: [],
  rego: `package k8sprivileged

violation contains {"msg": msg} if {
  some c in input.review.object.spec.containers
  c.securityContext.privileged
  msg := sprintf("privileged container %v", [c.name])
}
`,
};

/** An opa that logs each subcommand before running the real one. */
function loggingOpa(): { path: string; calls: () => string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-opa-log-'));
  const log = join(dir, 'calls.log');
  writeFileSync(log, '');
  const path = join(dir, 'opa');
  writeFileSync(path, `#!/bin/sh\necho "$1" >> "${log}"\nexec "${defaultOpaPath}" "$@"\n`);
  chmodSync(path, 0o755);
  return { path, calls: () => readFileSync(log, 'utf8').split('\n').filter(Boolean) };
}

const stalling = { ...privileged, rego: `${privileged.rego}# never-compiles\n` };

describe('compiling templates with the pinned opa', () => {
  it('builds one Wasm module with the template’s violation rule as entrypoint', async () => {
    const outcome = await new OpaCompiler({ cacheDir: null }).compile(privileged);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.entrypoint).toBe('k8sprivileged/violation');
    expect(outcome.usesInventory).toBe(false);
    expect(new WebAssembly.Module(outcome.wasm as Uint8Array<ArrayBuffer>)).toBeInstanceOf(WebAssembly.Module);
  });

  it('compiles nothing the second time: modules are cached by content hash', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'parapet-cache-'));
    const first = loggingOpa();
    await new OpaCompiler({ cacheDir, opaPath: first.path }).compile(privileged);
    expect(first.calls()).toContain('build');

    const second = loggingOpa();
    const outcome = await new OpaCompiler({ cacheDir, opaPath: second.path }).compile(privileged);
    expect(outcome.ok).toBe(true);
    // Only the version, which is part of the cache key, is asked for.
    expect(second.calls()).toEqual(['version']);
  });

  it('caches a template that does not compile too, with its problems', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'parapet-cache-'));
    const broken = { ...privileged, rego: 'package broken\n\nviolation contains msg if {\n  msg := \n}\n' };
    const first = await new OpaCompiler({ cacheDir }).compile(broken);
    const second = loggingOpa();
    const again = await new OpaCompiler({ cacheDir, opaPath: second.path }).compile(broken);
    expect(again).toEqual(first);
    expect(first.ok).toBe(false);
    expect(second.calls()).toEqual(['version']);
  });

  it('refuses what Gatekeeper refuses: http.send (disabled by its chart) and builtins newer than its OPA, on their line', async () => {
    const compiler = new OpaCompiler({ cacheDir: null });
    const outcome = await compiler.compile({
      version: 'v0',
      libs: [],
      rego: `package k8sremote

violation[{"msg": msg}] {
  resp := http.send({"method": "get", "url": "https://policy.example/allowed"})
  parts := strings.split_n(input.review.object.metadata.name, "-", 2)
  msg := sprintf("%v %v", [resp.status_code, parts])
}
`,
    });
    expect(outcome).toEqual({
      ok: false,
      problems: [
        { module: 0, line: 4, message: 'rego_type_error: undefined function http.send' },
        { module: 0, line: 5, message: 'rego_type_error: undefined function strings.split_n' },
      ],
    });
    // Everything else Gatekeeper allows still compiles.
    expect((await compiler.compile({ ...privileged, rego: privileged.rego.replace('sprintf("privileged container %v", [c.name])', 'yaml.marshal(c)') })).ok).toBe(true);
  });

  it('recompiles when the Rego changes', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'parapet-cache-'));
    await new OpaCompiler({ cacheDir }).compile(privileged);
    const opa = loggingOpa();
    await new OpaCompiler({ cacheDir, opaPath: opa.path }).compile({ ...privileged, rego: privileged.rego.replace('privileged container', 'privileged:') });
    expect(opa.calls()).toContain('build');
  });

  it('notices templates that read data.inventory', async () => {
    const outcome = await new OpaCompiler({ cacheDir: null }).compile({
      version: 'v1',
      libs: [],
      rego: `package uniquename

violation contains {"msg": "taken"} if {
  other := data.inventory.namespace[_]["v1"].Service[input.review.object.metadata.name]
  other.metadata.uid != input.review.object.metadata.uid
}
`,
    });
    expect(outcome.ok && outcome.usesInventory).toBe(true);
  });

  it('stops a compile that runs past its time limit, and does not cache that outcome', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'parapet-cache-'));
    const outcome = await new OpaCompiler({ cacheDir, opaPath: stallingOpa(), timeoutMs: 200 }).compile(stalling);
    expect(outcome).toEqual({ ok: false, limit: 'compiling its Rego took longer than 0.2 s and was stopped' });
    // A slow compile may be the machine's load: the next one tries again.
    const opa = loggingOpa();
    const again = await new OpaCompiler({ cacheDir, opaPath: opa.path }).compile(stalling);
    expect(again.ok).toBe(true);
    expect(opa.calls()).toContain('build');
  });

  it('stops a compile when its caller stops (a check out of time), with the caller’s reason', async () => {
    const stop = new AbortController();
    const compiling = new OpaCompiler({ cacheDir: null, opaPath: stallingOpa(), timeoutMs: 3_600_000 }).compile(stalling, { signal: stop.signal });
    const reason = new Error("the check's time limit ran out");
    setImmediate(() => stop.abort(reason));
    await expect(compiling).rejects.toBe(reason);
  });

  it('explains how to get opa when the binary is missing, with the build script of the package wherever it is installed', async () => {
    const compiler = new OpaCompiler({ cacheDir: null, opaPath: '/nonexistent/opa' });
    await expect(compiler.compile(privileged)).rejects.toThrow(`build it with \`node ${join(repoRoot, 'scripts', 'build-go-tool.mjs')} opa\``);
  });
});

describe('finding the installed opa', () => {
  /** A package folder with the pin (tools/go.mod) and, when asked, its own tools/bin/opa. */
  function packageFolder(withBinary: boolean): string {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-package-'));
    mkdirSync(join(dir, 'tools', 'bin'), { recursive: true });
    copyFileSync(join(repoRoot, 'tools', 'go.mod'), join(dir, 'tools', 'go.mod'));
    if (withBinary) writeFileSync(join(dir, 'tools', 'bin', 'opa'), '');
    return dir;
  }
  const pin = /github\.com\/open-policy-agent\/opa (v\S+)/.exec(readFileSync(join(repoRoot, 'tools', 'go.mod'), 'utf8'))![1];

  it("takes the package's own tools/bin/opa, relative to the package and not to the working directory", () => {
    const dir = packageFolder(true);
    expect(installedOpaPath({ packageDir: dir, toolsCacheDir: '/nonexistent' })).toBe(join(dir, 'tools', 'bin', 'opa'));
    expect(defaultOpaPath).toBe(join(repoRoot, 'tools', 'bin', 'opa'));
  });

  it("falls back to the copy an earlier build left in the user's cache for the same pin, when the install's scripts did not run", () => {
    const dir = packageFolder(false);
    const cache = mkdtempSync(join(tmpdir(), 'parapet-tools-'));
    expect(installedOpaPath({ packageDir: dir, toolsCacheDir: cache })).toBe(join(dir, 'tools', 'bin', 'opa'));
    writeFileSync(join(cache, `opa-v0.0.1-${process.platform}-${process.arch}`), '');
    expect(installedOpaPath({ packageDir: dir, toolsCacheDir: cache })).toBe(join(dir, 'tools', 'bin', 'opa'));
    writeFileSync(join(cache, `opa-${pin}-${process.platform}-${process.arch}`), '');
    expect(installedOpaPath({ packageDir: dir, toolsCacheDir: cache })).toBe(join(cache, `opa-${pin}-${process.platform}-${process.arch}`));
  });
});

/** A template whose one lib, package lib.helpers, names the team: templates that differ only there must not see each other's lib. */
function withHelper(pkg: string, team: string) {
  return {
    version: 'v1' as const,
    libs: [`package lib.helpers\n\nteam := "${team}"\n`],
    rego: `package ${pkg}\n\nimport data.lib.helpers\n\nviolation contains {"msg": sprintf("%s owns %v", [helpers.team, input.review.object.metadata.name])} if input.review.object.kind == "ConfigMap"\n`,
  };
}

async function evaluate(outcome: Awaited<ReturnType<OpaCompiler['compile']>>, review: unknown): Promise<unknown[]> {
  if (!outcome.ok) throw new Error(JSON.stringify(outcome));
  const policy = await WasmPolicy.load(await WasmPolicy.compile(outcome.wasm), hostBuiltins);
  return policy.evaluate(JSON.stringify({ parameters: {}, review }), outcome.entrypoint);
}

const configMap = { object: { kind: 'ConfigMap', metadata: { name: 'settings' } } };

describe("compiling a cluster's templates together", () => {
  it('builds the templates loaded at once in one opa run, one entrypoint each, with the results each gives alone', async () => {
    const opa = loggingOpa();
    const compiler = new OpaCompiler({ cacheDir: null, opaPath: opa.path });
    const sources = [withHelper('teama', 'a'), withHelper('teamb', 'a'), privileged];
    const outcomes = await Promise.all(sources.map((source) => compiler.compile(source)));
    expect(opa.calls().filter((call) => call === 'build')).toHaveLength(1);
    expect(outcomes.map((o) => o.ok && o.entrypoint)).toEqual(['teama/violation', 'teamb/violation', 'k8sprivileged/violation']);
    expect(outcomes.every((o) => o.ok && o.shared && o.wasm === (outcomes[0] as { wasm: Uint8Array }).wasm)).toBe(true);
    const alone = await Promise.all(sources.map((source) => new OpaCompiler({ cacheDir: null }).compile(source, { alone: true })));
    expect(alone.every((o) => o.ok && !o.shared)).toBe(true);
    for (const [i, outcome] of outcomes.entries()) expect(await evaluate(outcome, configMap)).toEqual(await evaluate(alone[i]!, configMap));
    expect(await evaluate(outcomes[1]!, configMap)).toEqual([[{ msg: 'a owns settings' }]]);
  });

  it('keeps apart templates whose libs share a package with other code, so each sees only its own', async () => {
    const compiler = new OpaCompiler({ cacheDir: null });
    const [a, b] = await Promise.all([compiler.compile(withHelper('teama', 'a')), compiler.compile(withHelper('teamb', 'b'))]);
    expect(a.ok && b.ok && a.wasm !== b.wasm).toBe(true);
    expect(await evaluate(a, configMap)).toEqual([[{ msg: 'a owns settings' }]]);
    expect(await evaluate(b, configMap)).toEqual([[{ msg: 'b owns settings' }]]);
  });

  it('compiles a template that breaks its group alone, with exactly the problems it has alone, and the others together', async () => {
    const broken = { ...privileged, rego: 'package broken\n\nviolation contains {"msg": msg} if {\n  msg := concat(1)\n}\n' };
    const compiler = new OpaCompiler({ cacheDir: null });
    const [good, bad, other] = await Promise.all([compiler.compile(privileged), compiler.compile(broken), compiler.compile(withHelper('teama', 'a'))]);
    expect(bad).toEqual(await new OpaCompiler({ cacheDir: null }).compile(broken, { alone: true }));
    expect(bad.ok).toBe(false);
    expect(good.ok && other.ok).toBe(true);
  });

  it('names runtime errors of a template compiled with others as Gatekeeper names them, without its folder in the group', () => {
    expect(gatekeeperErrorText('3/template.rego:11:1: var assignment conflict')).toBe('template:11: eval_conflict_error: complete rules must not produce multiple outputs');
    expect(gatekeeperErrorText('12/lib-2.rego:4:3: object insert conflict')).toBe('libs["lib_1"]:4: eval_conflict_error: object keys must be unique');
  });

  it("asks opa for Gatekeeper's capabilities while it parses the modules, not after", async () => {
    const opa = loggingOpa();
    const compiler = new OpaCompiler({ cacheDir: null, opaPath: opa.path });
    const sources = [withHelper('teama', 'a'), withHelper('teamb', 'b'), withHelper('teamc', 'c'), privileged];
    const outcomes = await Promise.all(sources.map((source) => compiler.compile(source)));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    // The log holds each opa run as it starts: two at a time parse the seven distinct modules.
    const calls = opa.calls();
    expect(calls.indexOf('capabilities')).toBeLessThan(calls.lastIndexOf('parse'));
  });

  it('asks opa its version once per binary: a warm run starts no opa at all', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'parapet-cache-'));
    const opa = loggingOpa();
    await new OpaCompiler({ cacheDir, opaPath: opa.path }).compile(privileged);
    const before = opa.calls().length;
    const outcome = await new OpaCompiler({ cacheDir, opaPath: opa.path }).compile(privileged);
    expect(outcome.ok).toBe(true);
    expect(opa.calls().length).toBe(before);
  });
});

describe('the Rego driver over templates compiled together', () => {
  it('still refuses only the template whose own code calls a builtin Gatekeeper refuses', async () => {
    const driver = RegoDriver.start({ compiler: new OpaCompiler({ cacheDir: null }), workers: 1, timeoutMs: 5000 });
    try {
      const remote = { ...privileged, rego: 'package remote\n\nviolation contains {"msg": msg} if {\n  msg := http.send({"method": "get", "url": "http://localhost"}).body\n}\n' };
      const [good, bad] = await Promise.all([driver.loadTemplate({ engine: 'Rego', source: privileged }), driver.loadTemplate({ engine: 'Rego', source: remote })]);
      expect(good.ok).toBe(true);
      expect(bad).toMatchObject({ ok: false, problems: [{ line: 4, message: 'rego_type_error: undefined function http.send' }] });
    } finally {
      await driver.close();
    }
  });
});
