// PolicyCompiler over the pinned `opa` CLI. Results (modules and problems alike) are cached on disk by
// a hash of the Rego, its version and the opa version, so a second run compiles nothing. Compiling
// one template has a time limit: a pull request's Rego must not hold the server for long.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { CompileOutcome, PolicyCompiler, RegoProblem, RegoSource, WorkOptions } from '../engine/index.js';
import { checkGatekeeperRules, packageName, usesInventory, type ParsedModule } from './gatekeeper-checks.js';

/** Bump when the way modules are built changes, so stale cache entries are ignored. */
const BUILD_REVISION = 3;

/**
 * Gatekeeper v3.23.1 compiles templates with its own OPA's builtins (v1.17.1,
 * ast.CapabilitiesForThisVersion) minus those its deployment disables: `--disable-opa-builtin`,
 * `{http.send}` in its Helm chart and release manifest. A template calling anything else does not
 * compile in the cluster (`rego_type_error: undefined function http.send`), and must not here.
 */
export const GATEKEEPER_OPA_VERSION = 'v1.17.1';
export const GATEKEEPER_DISABLED_BUILTINS = ['http.send'];
const MAX_PARALLEL_BUILDS = 4;
export const DEFAULT_COMPILE_TIMEOUT_MS = 60_000;

/** The package's own folder, from src/opa/ as from dist/opa/: wherever it is installed, never the cwd. */
const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const defaultOpaPath = join(packageDir, 'tools', 'bin', 'opa');
const buildScript = join(packageDir, 'scripts', 'build-go-tool.mjs');

/**
 * The opa that `npm install` built into the package (tools/bin/opa), else the copy that
 * scripts/build-go-tool.mjs keeps in the user's cache for the same pin: an install whose scripts
 * were not run still finds the opa an earlier install built.
 */
export function installedOpaPath(options: { toolsCacheDir?: string; packageDir?: string } = {}): string {
  const dir = options.packageDir ?? packageDir;
  const local = join(dir, 'tools', 'bin', 'opa');
  if (existsSync(local) || options.toolsCacheDir === undefined) return local;
  let pin: string | undefined;
  try {
    pin = /github\.com\/open-policy-agent\/opa (v\S+)/.exec(readFileSync(join(dir, 'tools', 'go.mod'), 'utf8'))?.[1];
  } catch {
    return local;
  }
  const cached = join(options.toolsCacheDir, `opa-${pin}-${process.platform}-${process.arch}`);
  return pin !== undefined && existsSync(cached) ? cached : local;
}

export interface OpaCompilerOptions {
  /** The opa binary; undefined: the installed one (installedOpaPath). */
  opaPath?: string;
  /** Where scripts/build-go-tool.mjs keeps built tools across installs. */
  toolsCacheDir?: string;
  /** Directory for compiled modules; `null` disables the cache. */
  cacheDir: string | null;
  /** Time limit of compiling one template (every opa call for it together); default 60 s. */
  timeoutMs?: number;
}

/** An opa call that ran past the compile's deadline and was killed. */
class CompileTimeout extends Error {}

export class OpaCompiler implements PolicyCompiler {
  private readonly opaPath: string;
  private version: Promise<string> | undefined;
  private capabilities: Promise<string> | undefined;
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly options: OpaCompilerOptions) {
    this.opaPath = options.opaPath ?? installedOpaPath(options.toolsCacheDir === undefined ? {} : { toolsCacheDir: options.toolsCacheDir });
  }

  /** The opa version, which is part of every cache key. */
  opaVersion(): Promise<string> {
    this.version ??= run(this.opaPath, undefined, ['version'], Number.POSITIVE_INFINITY).then(
      (out) => /Version: (\S+)/.exec(out.stdout)?.[1] ?? 'unknown',
      (error: Error) => {
        throw new Error(
          `cannot run the opa CLI at ${this.opaPath} (${error.message}); build it with \`node ${buildScript} opa\` (npm install runs it; it needs Go 1.24 or later), or set PARAPET_OPA to an opa binary`,
        );
      },
    );
    return this.version;
  }

  /** Gatekeeper's capabilities as opa reads them from a file (--capabilities). */
  private gatekeeperCapabilities(): Promise<string> {
    this.capabilities ??= run(this.opaPath, undefined, ['capabilities', '--version', GATEKEEPER_OPA_VERSION], Number.POSITIVE_INFINITY).then((out) => {
      if (out.code !== 0) throw new Error(`opa capabilities --version ${GATEKEEPER_OPA_VERSION} failed: ${out.stderr.trim()}`);
      const capabilities = JSON.parse(out.stdout) as { builtins: Array<{ name: string }> };
      capabilities.builtins = capabilities.builtins.filter((b) => !GATEKEEPER_DISABLED_BUILTINS.includes(b.name));
      return JSON.stringify(capabilities);
    });
    return this.capabilities;
  }

  async compile(source: RegoSource, options: WorkOptions = {}): Promise<CompileOutcome> {
    const version = await this.opaVersion();
    const key = createHash('sha256')
      .update(JSON.stringify({ revision: BUILD_REVISION, opa: version, source }))
      .digest('hex');
    const cached = await this.readCache(key);
    if (cached) return cached;
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_COMPILE_TIMEOUT_MS;
    try {
      const outcome = await this.throttled(() => {
        options.signal?.throwIfAborted();
        return this.build(source, Date.now() + timeoutMs, options.signal);
      });
      await this.writeCache(key, outcome);
      return outcome;
    } catch (error) {
      // Not cached: a slow compile may be the machine's load, not the template's.
      if (error instanceof CompileTimeout) return { ok: false, limit: `compiling its Rego took longer than ${formatSeconds(timeoutMs)} and was stopped` };
      throw error;
    }
  }

  private async build(source: RegoSource, deadline: number, signal: AbortSignal | undefined): Promise<CompileOutcome> {
    const dir = await mkdtemp(join(tmpdir(), 'parapet-opa-'));
    const opa = async (args: string[]) => {
      const result = await run(this.opaPath, dir, args, deadline - Date.now(), signal);
      if (result.timedOut) throw new CompileTimeout();
      return result;
    };
    try {
      // Relative names: they end up in the module's runtime error locations (`template.rego:11:1: ...`),
      // which must not depend on where this build happened.
      const files = [source.rego, ...source.libs].map((_, i) => (i === 0 ? 'template.rego' : `lib-${i}.rego`));
      await Promise.all(files.map((file, i) => writeFile(join(dir, file), i === 0 ? source.rego : source.libs[i - 1]!)));
      await writeFile(join(dir, 'capabilities.json'), await this.gatekeeperCapabilities());
      const capabilityFlags = ['--capabilities', 'capabilities.json'];
      const versionFlags = source.version === 'v1' ? ['--v1-compatible'] : ['--v0-compatible'];
      const moduleOf = (file: string | undefined) => {
        const index = file === undefined ? 0 : files.findIndex((f) => f === file || file.endsWith(`/${f}`));
        return index < 0 ? 0 : index;
      };

      const modules: ParsedModule[] = [];
      for (const [i, file] of files.entries()) {
        const parsed = await opa(['parse', '--format', 'json', '--json-include', 'locations,-comments', ...versionFlags, file]);
        if (parsed.code !== 0) return { ok: false, problems: parseProblems(parsed.stderr || parsed.stdout, () => i) };
        modules.push(JSON.parse(parsed.stdout) as ParsedModule);
      }
      const ruleProblems = checkGatekeeperRules(modules);
      if (ruleProblems.length > 0) return { ok: false, problems: ruleProblems };

      const checked = await opa(['check', '--format', 'json', ...versionFlags, ...capabilityFlags, ...files]);
      if (checked.code !== 0) return { ok: false, problems: parseProblems(checked.stdout || checked.stderr, moduleOf) };

      const entrypoint = `${packageName(modules[0]!).replaceAll('.', '/')}/violation`;
      const bundle = join(dir, 'bundle.tar.gz');
      const built = await opa(['build', '-t', 'wasm', ...versionFlags, ...capabilityFlags, '-e', entrypoint, '-o', bundle, ...files]);
      if (built.code !== 0) {
        return { ok: false, problems: [{ module: 0, message: `opa build failed: ${built.stderr.trim() || built.stdout.trim()}` }] };
      }
      const wasm = extractFromTarGz(await readFile(bundle), 'policy.wasm');
      if (!wasm) return { ok: false, problems: [{ module: 0, message: 'opa build produced no policy.wasm' }] };
      return { ok: true, wasm, entrypoint, usesInventory: usesInventory(modules) };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async throttled<T>(work: () => Promise<T>): Promise<T> {
    while (this.running >= MAX_PARALLEL_BUILDS) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  private async readCache(key: string): Promise<CompileOutcome | undefined> {
    if (!this.options.cacheDir) return undefined;
    const base = join(this.options.cacheDir, key);
    try {
      const meta = JSON.parse(await readFile(`${base}.json`, 'utf8')) as { entrypoint?: string; usesInventory?: boolean; problems?: RegoProblem[] };
      if (meta.problems) return { ok: false, problems: meta.problems };
      const wasm = new Uint8Array(await readFile(`${base}.wasm`));
      return { ok: true, entrypoint: meta.entrypoint!, usesInventory: meta.usesInventory === true, wasm };
    } catch {
      return undefined;
    }
  }

  private async writeCache(key: string, outcome: CompileOutcome): Promise<void> {
    if (!this.options.cacheDir) return;
    const base = join(this.options.cacheDir, key);
    // Written to a temporary name and renamed, so a concurrent reader never sees half a module;
    // the metadata goes last because readers start from it.
    const temp = `.${process.pid}.${Math.random().toString(36).slice(2)}`;
    try {
      await mkdir(this.options.cacheDir, { recursive: true });
      if (outcome.ok) {
        await writeFile(`${base}.wasm${temp}`, outcome.wasm);
        await rename(`${base}.wasm${temp}`, `${base}.wasm`);
      }
      const meta = outcome.ok ? { entrypoint: outcome.entrypoint, usesInventory: outcome.usesInventory } : 'problems' in outcome ? { problems: outcome.problems } : undefined;
      if (!meta) return;
      await writeFile(`${base}.json${temp}`, JSON.stringify(meta));
      await rename(`${base}.json${temp}`, `${base}.json`);
    } catch {
      // An unwritable cache only costs time on the next run.
    }
  }
}

interface OpaError {
  message: string;
  code?: string;
  location?: { file?: string; row?: number };
}

/** opa prints structured errors with --format json; anything else is kept whole. */
function parseProblems(output: string, moduleOf: (file: string | undefined) => number): RegoProblem[] {
  try {
    const parsed = JSON.parse(output) as { errors?: OpaError[] };
    if (Array.isArray(parsed.errors) && parsed.errors.length > 0) {
      return parsed.errors.map((error) => ({
        module: moduleOf(error.location?.file),
        line: error.location?.row,
        message: error.code ? `${error.code}: ${error.message}` : error.message,
      }));
    }
  } catch {
    // not JSON: fall through
  }
  const problems: RegoProblem[] = [];
  for (const match of output.matchAll(/([^\s:]+\.rego):(\d+): (.+)/g)) {
    problems.push({ module: moduleOf(match[1]), line: Number(match[2]), message: match[3]!.trim() });
  }
  return problems.length > 0 ? problems : [{ module: 0, message: output.trim() || 'opa failed without a message' }];
}

const MAX_OUTPUT = 64 * 1024 * 1024;

/**
 * Runs opa; past `timeoutMs` the process is killed and the call answers `timedOut` at once. When
 * `signal` aborts, the process is killed the same way and the call rejects with the signal's reason.
 */
function run(command: string, cwd: string | undefined, args: string[], timeoutMs: number, signal?: AbortSignal): Promise<{ code: number; stdout: string; stderr: string; timedOut?: true }> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    if (timeoutMs <= 0) {
      resolve({ code: -1, stdout: '', stderr: '', timedOut: true });
      return;
    }
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: { code: number; stdout: string; stderr: string; timedOut?: true } | { failed: unknown }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', stop);
      if ('failed' in result) reject(result.failed);
      else resolve(result);
    };
    // Killed without waiting for its output to close: a process opa started may still hold it.
    const kill = () => {
      child.kill('SIGKILL');
      child.stdout.destroy();
      child.stderr.destroy();
    };
    const stop = () => {
      kill();
      settle({ failed: signal!.reason });
    };
    const collect = (chunks: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT) {
        kill();
        settle({ failed: new Error(`opa ${args[0]} wrote more than ${MAX_OUTPUT} bytes of output`) });
      } else chunks.push(chunk);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    const timer = Number.isFinite(timeoutMs)
      ? setTimeout(() => {
          kill();
          settle({ code: -1, stdout: '', stderr: '', timedOut: true });
        }, timeoutMs)
      : undefined;
    signal?.addEventListener('abort', stop, { once: true });
    child.on('error', (error) => settle({ failed: error }));
    child.on('close', (code, killedBy) => {
      const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString('utf8');
      if (code === null) settle({ failed: new Error(`opa ${args[0]} was killed by ${killedBy}`) });
      else settle({ code, stdout: text(out), stderr: text(err) });
    });
  });
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** Reads one file out of a gzipped tar (ustar), enough for opa's bundles. */
export function extractFromTarGz(archive: Uint8Array, name: string): Uint8Array | undefined {
  const tar = gunzipSync(archive);
  let offset = 0;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const field = (start: number, length: number) =>
      new TextDecoder().decode(header.subarray(start, start + length)).replace(/\0.*$/s, '');
    const prefix = field(345, 155);
    const entry = (prefix ? `${prefix}/` : '') + field(0, 100);
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const start = offset + 512;
    if (entry.replace(/^\/+/, '') === name) return new Uint8Array(tar.subarray(start, start + size));
    offset = start + Math.ceil(size / 512) * 512;
  }
  return undefined;
}
