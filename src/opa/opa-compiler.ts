// PolicyCompiler over the pinned `opa` CLI. Results (modules and problems alike) are cached on disk by
// a hash of the Rego, its version and the opa version, so a second run compiles nothing. Compiling
// one template has a time limit: a pull request's Rego must not hold the server for long.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { CompileOptions, CompileOutcome, PolicyCompiler, RegoProblem, RegoSource } from '../engine/index.js';
import { checkGatekeeperRules, dataPaths, packageName, packagePath, usesInventory, type ParsedModule } from './gatekeeper-checks.js';

/** Bump when the way modules are built changes, so stale cache entries are ignored. */
const BUILD_REVISION = 4;

/**
 * Gatekeeper v3.23.1 compiles templates with its own OPA's builtins (v1.17.1,
 * ast.CapabilitiesForThisVersion) minus those its deployment disables: `--disable-opa-builtin`,
 * `{http.send}` in its Helm chart and release manifest. A template calling anything else does not
 * compile in the cluster (`rego_type_error: undefined function http.send`), and must not here.
 */
export const GATEKEEPER_OPA_VERSION = 'v1.17.1';
export const GATEKEEPER_DISABLED_BUILTINS = ['http.send'];
/** opa processes at once: each is one busy core for most of its life. */
const MAX_PARALLEL_RUNS = Math.max(2, availableParallelism());
/**
 * Templates whose compiles are asked for within this window are compiled together: a cluster's
 * templates are loaded at once, and one opa run for all of them costs about what three cost alone.
 */
const BATCH_WINDOW_MS = 15;
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
  /**
   * Parses one module as `opa parse --format json --json-include locations,-comments` prints it, in
   * a process that is already running (the CEL helper links Gatekeeper's OPA): undefined when it
   * cannot, and `opa parse` then parses it and words what is wrong. A cold check of the
   * gatekeeper-library parses about thirty modules, and opa's start-up was most of each parse.
   */
  parseModule?: (name: string, text: string, version: RegoSource['version']) => Promise<ParsedModule | undefined>;
}

/** An opa call that ran past the compile's deadline and was killed. */
class CompileTimeout extends Error {}

/** A compile waiting for its batch. */
interface Request {
  source: RegoSource;
  key: string;
  signal: AbortSignal | undefined;
  resolve(outcome: CompileOutcome): void;
  reject(reason: unknown): void;
}

/** A template of a batch whose modules parsed and keep Gatekeeper's rules: it may join a group. */
interface Candidate {
  requests: Request[];
  source: RegoSource;
  /** Its modules' files, as named alone (template.rego, lib-1.rego...), with their packages. */
  files: Array<{ name: string; text: string; package: string[] }>;
  reads: string[][];
  entrypoint: string;
  usesInventory: boolean;
}

/** A module of one group: one file, shared by the templates that hold the very same module. */
interface GroupFile {
  path: string;
  name: string;
  text: string;
  package: string[];
}

export class OpaCompiler implements PolicyCompiler {
  private readonly opaPath: string;
  private version: Promise<string> | undefined;
  private capabilities: Promise<string> | undefined;
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private pending: Request[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Module bytes read from the cache by their hash, so templates of one group share one module. */
  private readonly modules = new Map<string, WeakRef<Uint8Array>>();

  constructor(private readonly options: OpaCompilerOptions) {
    this.opaPath = options.opaPath ?? installedOpaPath(options.toolsCacheDir === undefined ? {} : { toolsCacheDir: options.toolsCacheDir });
  }

  /** The opa version, which is part of every cache key; remembered in the cache for the binary as it is on disk. */
  opaVersion(): Promise<string> {
    this.version ??= this.readVersion().catch((error: Error) => {
      throw new Error(
        `cannot run the opa CLI at ${this.opaPath} (${error.message}); build it with \`node ${buildScript} opa\` (npm install runs it; it needs Go 1.24 or later), or set PARAPET_OPA to an opa binary`,
      );
    });
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

  private async readVersion(): Promise<string> {
    const ask = async () => /Version: (\S+)/.exec((await run(this.opaPath, undefined, ['version'], Number.POSITIVE_INFINITY)).stdout)?.[1] ?? 'unknown';
    if (!this.options.cacheDir) return ask();
    // A binary replaced in place has another inode, size or time: asking opa again costs a process.
    const info = await stat(this.opaPath);
    const id = createHash('sha256').update(JSON.stringify([resolve(this.opaPath), info.ino, info.size, info.mtimeMs])).digest('hex');
    const file = join(this.options.cacheDir, `opa-version-${id}`);
    const known = await readFile(file, 'utf8').catch(() => undefined);
    if (known) return known;
    const version = await ask();
    await this.writeAtomically(file, version);
    return version;
  }

  async compile(source: RegoSource, options: CompileOptions = {}): Promise<CompileOutcome> {
    const version = await this.opaVersion();
    const key = createHash('sha256')
      .update(JSON.stringify({ revision: BUILD_REVISION, opa: version, source, ...(options.alone ? { alone: true } : {}) }))
      .digest('hex');
    const cached = await this.readCache(key);
    if (cached) return cached;
    options.signal?.throwIfAborted();
    if (options.alone) return this.compileAlone(source, key, options.signal);
    return new Promise<CompileOutcome>((resolve, reject) => {
      const request: Request = { source, key, signal: options.signal, resolve, reject };
      const abort = () => reject(options.signal!.reason);
      options.signal?.addEventListener('abort', abort, { once: true });
      request.resolve = (outcome) => {
        options.signal?.removeEventListener('abort', abort);
        resolve(outcome);
      };
      this.pending.push(request);
      clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        const batch = this.pending;
        this.pending = [];
        this.compileBatch(batch).catch((error: unknown) => batch.forEach((r) => r.reject(error)));
      }, BATCH_WINDOW_MS);
    });
  }

  /** One template on its own: parse, Gatekeeper's rules, check and build, within its time limit. */
  private async compileAlone(source: RegoSource, key: string, signal: AbortSignal | undefined): Promise<CompileOutcome> {
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_COMPILE_TIMEOUT_MS;
    try {
      const outcome = await this.build(source, Date.now() + timeoutMs, signal);
      await this.writeCache(key, outcome);
      return outcome;
    } catch (error) {
      // Not cached: a slow compile may be the machine's load, not the template's.
      if (error instanceof CompileTimeout) return { ok: false, limit: `compiling its Rego took longer than ${formatSeconds(timeoutMs)} and was stopped` };
      throw error;
    }
  }

  /**
   * The templates of a batch together: every distinct module parsed once, Gatekeeper's rules checked
   * per template, then one `opa check` and one `opa build` per group of templates that cannot see
   * each other's code (no package of one overlaps a package of another, nor what another reads of
   * `data`), each template's `violation` an entrypoint of the group's module. Whatever goes wrong in
   * a group (a problem, a time limit) sends its templates to be compiled alone, which says exactly
   * what and where, as it always did.
   */
  private async compileBatch(batch: Request[]): Promise<void> {
    const live = batch.filter((r) => !r.signal?.aborted);
    const byKey = new Map<string, Request[]>();
    for (const request of live) byKey.set(request.key, [...(byKey.get(request.key) ?? []), request]);
    const alone = async (requests: Request[]) => {
      const [first] = requests as [Request];
      const signal = requests.every((r) => r.signal) ? anySignal(requests.map((r) => r.signal!)) : undefined;
      try {
        const outcome = await this.compileAlone(first.source, first.key, signal);
        for (const r of requests) r.resolve(outcome);
      } catch (error) {
        for (const r of requests) r.reject(error);
      }
    };
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_COMPILE_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const signal = live.every((r) => r.signal) && live.length > 0 ? allSignals(live.map((r) => r.signal!)) : undefined;
    // Asked for alongside the parses, not after them: the groups' check and build wait for it.
    // (A failure is reported where it is awaited.)
    this.gatekeeperCapabilities().catch(() => undefined);
    const dir = await mkdtemp(join(tmpdir(), 'parapet-opa-'));
    try {
      // Each distinct module once, in a folder of its own under the name it has in its template.
      const parses = new Map<string, Promise<{ code: number; output: string; module?: ParsedModule } | 'timeout'>>();
      const parse = (name: string, text: string, version: RegoSource['version']) => {
        const id = createHash('sha256').update(JSON.stringify([name, text, version])).digest('hex').slice(0, 24);
        let parsed = parses.get(id);
        if (!parsed) {
          parsed = (async () => {
            const module = await this.options.parseModule?.(name, text, version).catch(() => undefined);
            if (module) return { code: 0, output: '', module };
            const folder = join(dir, 'parse', id);
            await mkdir(folder, { recursive: true });
            await writeFile(join(folder, name), text);
            const result = await this.throttled(() => run(this.opaPath, folder, ['parse', '--format', 'json', '--json-include', 'locations,-comments', ...versionFlags(version), name], deadline - Date.now(), signal));
            if (result.timedOut) return 'timeout' as const;
            return result.code === 0 ? { code: 0, output: '', module: JSON.parse(result.stdout) as ParsedModule } : { code: result.code, output: result.stderr || result.stdout };
          })();
          parses.set(id, parsed);
        }
        return parsed;
      };
      const candidates: Candidate[] = [];
      await Promise.all(
        [...byKey.values()].map(async (requests) => {
          const { source } = requests[0]!;
          const names = moduleNames(source);
          const texts = [source.rego, ...source.libs];
          const results = await Promise.all(names.map((name, i) => parse(name, texts[i]!, source.version)));
          if (results.some((r) => r === 'timeout')) return alone(requests);
          const modules: ParsedModule[] = [];
          for (const [i, result] of results.entries()) {
            if (result === 'timeout') return undefined;
            if (!result.module) return this.settle(requests, { ok: false, problems: parseProblems(result.output, () => i) });
            modules.push(result.module);
          }
          const ruleProblems = checkGatekeeperRules(modules);
          if (ruleProblems.length > 0) return this.settle(requests, { ok: false, problems: ruleProblems });
          candidates.push({
            requests,
            source,
            files: names.map((name, i) => ({ name, text: texts[i]!, package: packagePath(modules[i]!) })),
            reads: dataPaths(modules),
            entrypoint: `${packageName(modules[0]!).replaceAll('.', '/')}/violation`,
            usesInventory: usesInventory(modules),
          });
          return undefined;
        }),
      );
      await Promise.all(
        groupCandidates(candidates).map((group, g) =>
          // A deadline of its own: a template whose parsing stalled must not use up the group's time.
          this.buildGroup(join(dir, `group-${g}`), group, Date.now() + timeoutMs, signal).then(
            (built) => {
              if (!built) return Promise.all(group.map((c) => alone(c.requests)));
              const shared = group.length > 1;
              return Promise.all(
                group.map((c) => this.settle(c.requests, { ok: true, wasm: built, entrypoint: c.entrypoint, usesInventory: c.usesInventory, ...(shared ? { shared } : {}) })),
              );
            },
            () => Promise.all(group.map((c) => alone(c.requests))),
          ),
        ),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** The module of a group, or undefined when it does not compile (or not in time): its templates go alone. */
  private async buildGroup(dir: string, group: Candidate[], deadline: number, signal: AbortSignal | undefined): Promise<Uint8Array | undefined> {
    const files = new Map<string, GroupFile>();
    for (const [i, candidate] of group.entries()) {
      for (const file of candidate.files) {
        const id = `${file.name}\0${file.text}`;
        if (!files.has(id)) files.set(id, { ...file, path: `${i}/${file.name}` });
      }
    }
    await Promise.all(group.map((_, i) => mkdir(join(dir, String(i)), { recursive: true })));
    await Promise.all([...files.values()].map((file) => writeFile(join(dir, file.path), file.text)));
    const paths = [...files.values()].map((file) => file.path);
    await writeFile(join(dir, 'capabilities.json'), await this.gatekeeperCapabilities());
    const flags = [...versionFlags(group[0]!.source.version), '--capabilities', 'capabilities.json'];
    const opa = (args: string[]) => this.throttled(() => run(this.opaPath, dir, args, deadline - Date.now(), signal));
    const [checked, built] = await Promise.all([
      opa(['check', '--format', 'json', ...flags, ...paths]),
      opa(['build', '-t', 'wasm', ...flags, ...group.flatMap((c) => ['-e', c.entrypoint]), '-o', 'bundle.tar.gz', ...paths]),
    ]);
    if (checked.timedOut || built.timedOut || checked.code !== 0 || built.code !== 0) return undefined;
    return extractFromTarGz(await readFile(join(dir, 'bundle.tar.gz')), 'policy.wasm');
  }

  private async settle(requests: Request[], outcome: CompileOutcome): Promise<void> {
    await this.writeCache(requests[0]!.key, outcome);
    for (const request of requests) request.resolve(outcome);
  }

  private async build(source: RegoSource, deadline: number, signal: AbortSignal | undefined): Promise<CompileOutcome> {
    const dir = await mkdtemp(join(tmpdir(), 'parapet-opa-'));
    const opa = async (args: string[]) => {
      const result = await this.throttled(() => run(this.opaPath, dir, args, deadline - Date.now(), signal));
      if (result.timedOut) throw new CompileTimeout();
      return result;
    };
    try {
      // Relative names: they end up in the module's runtime error locations (`template.rego:11:1: ...`),
      // which must not depend on where this build happened.
      const files = moduleNames(source);
      await Promise.all(files.map((file, i) => writeFile(join(dir, file), i === 0 ? source.rego : source.libs[i - 1]!)));
      await writeFile(join(dir, 'capabilities.json'), await this.gatekeeperCapabilities());
      // opa parse takes no capabilities; check and build do.
      const parseFlags = versionFlags(source.version);
      const flags = [...parseFlags, '--capabilities', 'capabilities.json'];
      const moduleOf = (file: string | undefined) => {
        const index = file === undefined ? 0 : files.findIndex((f) => f === file || file.endsWith(`/${f}`));
        return index < 0 ? 0 : index;
      };

      const modules: ParsedModule[] = [];
      for (const [i, file] of files.entries()) {
        const parsed = await opa(['parse', '--format', 'json', '--json-include', 'locations,-comments', ...parseFlags, file]);
        if (parsed.code !== 0) return { ok: false, problems: parseProblems(parsed.stderr || parsed.stdout, () => i) };
        modules.push(JSON.parse(parsed.stdout) as ParsedModule);
      }
      const ruleProblems = checkGatekeeperRules(modules);
      if (ruleProblems.length > 0) return { ok: false, problems: ruleProblems };

      const checked = await opa(['check', '--format', 'json', ...flags, ...files]);
      if (checked.code !== 0) return { ok: false, problems: parseProblems(checked.stdout || checked.stderr, moduleOf) };

      const entrypoint = `${packageName(modules[0]!).replaceAll('.', '/')}/violation`;
      const bundle = join(dir, 'bundle.tar.gz');
      const built = await opa(['build', '-t', 'wasm', ...flags, '-e', entrypoint, '-o', bundle, ...files]);
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
    while (this.running >= MAX_PARALLEL_RUNS) await new Promise<void>((resolve) => this.waiting.push(resolve));
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
      const meta = JSON.parse(await readFile(`${base}.json`, 'utf8')) as { entrypoint?: string; usesInventory?: boolean; shared?: boolean; wasm?: string; problems?: RegoProblem[] };
      if (meta.problems) return { ok: false, problems: meta.problems };
      const wasm = await this.readModule(meta.wasm!);
      return { ok: true, entrypoint: meta.entrypoint!, usesInventory: meta.usesInventory === true, wasm, ...(meta.shared ? { shared: true } : {}) };
    } catch {
      return undefined;
    }
  }

  /** A module by its hash, read once while anyone holds it: the templates of a group share it. */
  private async readModule(hash: string): Promise<Uint8Array> {
    const known = this.modules.get(hash)?.deref();
    if (known) return known;
    const wasm = new Uint8Array(await readFile(join(this.options.cacheDir!, `${hash}.wasm`)));
    if (createHash('sha256').update(wasm).digest('hex') !== hash) throw new Error('damaged cache entry');
    const again = this.modules.get(hash)?.deref();
    if (again) return again;
    this.modules.set(hash, new WeakRef(wasm));
    return wasm;
  }

  private async writeCache(key: string, outcome: CompileOutcome): Promise<void> {
    if (!this.options.cacheDir) return;
    const base = join(this.options.cacheDir, key);
    try {
      let meta: Record<string, unknown> | undefined;
      if (outcome.ok) {
        const hash = createHash('sha256').update(outcome.wasm).digest('hex');
        if (!this.modules.get(hash)?.deref()) this.modules.set(hash, new WeakRef(outcome.wasm));
        const file = join(this.options.cacheDir, `${hash}.wasm`);
        if (!existsSync(file)) await this.writeAtomically(file, outcome.wasm);
        meta = { entrypoint: outcome.entrypoint, usesInventory: outcome.usesInventory, wasm: hash, ...(outcome.shared ? { shared: true } : {}) };
      } else if ('problems' in outcome) meta = { problems: outcome.problems };
      // The metadata goes last because readers start from it.
      if (meta) await this.writeAtomically(`${base}.json`, JSON.stringify(meta));
    } catch {
      // An unwritable cache only costs time on the next run.
    }
  }

  /** Written to a temporary name and renamed, so a concurrent reader never sees half a file. */
  private async writeAtomically(file: string, data: string | Uint8Array): Promise<void> {
    const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    try {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(temp, data);
      await rename(temp, file);
    } catch {
      await rm(temp, { force: true });
    }
  }
}

function versionFlags(version: RegoSource['version']): string[] {
  return version === 'v1' ? ['--v1-compatible'] : ['--v0-compatible'];
}

/** The names a template's modules have in every build: runtime errors name them (`template.rego:11:1: ...`). */
function moduleNames(source: RegoSource): string[] {
  return [source.rego, ...source.libs].map((_, i) => (i === 0 ? 'template.rego' : `lib-${i}.rego`));
}

const overlaps = (a: readonly string[], b: readonly string[]) => a.every((key, i) => i >= b.length || b[i] === key);

/**
 * Groups in which no template can see another's code, so that each entrypoint computes exactly
 * what its template computes alone: one Rego version per group; a module joins only if no module
 * already there has an overlapping package (unless it is the very same module under the same name),
 * and what each template reads of `data` overlaps no package of another template. Large groups are
 * split so that every core builds one.
 */
function groupCandidates(candidates: Candidate[]): Candidate[][] {
  const groups: Array<{ members: Candidate[]; files: Map<string, { package: string[]; owners: Set<Candidate> }> }> = [];
  const fits = (group: (typeof groups)[number], candidate: Candidate) => {
    if (group.members[0]!.source.version !== candidate.source.version) return false;
    const own = new Set(candidate.files.map((f) => `${f.name}\0${f.text}`));
    for (const file of candidate.files) {
      for (const [id, other] of group.files) if (id !== `${file.name}\0${file.text}` && overlaps(file.package, other.package)) return false;
    }
    for (const read of candidate.reads) {
      for (const [id, other] of group.files) if (!own.has(id) && overlaps(read, other.package)) return false;
    }
    for (const member of group.members) {
      const theirs = new Set(member.files.map((f) => `${f.name}\0${f.text}`));
      for (const read of member.reads) for (const file of candidate.files) if (!theirs.has(`${file.name}\0${file.text}`) && overlaps(read, file.package)) return false;
    }
    return true;
  };
  for (const candidate of candidates) {
    let group = groups.find((g) => fits(g, candidate));
    if (!group) groups.push((group = { members: [], files: new Map() }));
    group.members.push(candidate);
    for (const file of candidate.files) {
      const id = `${file.name}\0${file.text}`;
      const entry = group.files.get(id) ?? { package: file.package, owners: new Set() };
      entry.owners.add(candidate);
      group.files.set(id, entry);
    }
  }
  // Splitting keeps the property: fewer members can only see less.
  const size = Math.max(4, Math.ceil(candidates.length / availableParallelism()));
  return groups.flatMap((g) => Array.from({ length: Math.ceil(g.members.length / size) }, (_, i) => g.members.slice(i * size, (i + 1) * size)));
}

/** Aborts when any of `signals` does. */
function anySignal(signals: AbortSignal[]): AbortSignal {
  return AbortSignal.any(signals);
}

/** Aborts once every one of `signals` has: shared work stops only when nobody wants it any more. */
function allSignals(signals: AbortSignal[]): AbortSignal {
  const controller = new AbortController();
  const check = () => {
    if (signals.every((s) => s.aborted)) controller.abort(signals[0]!.reason);
  };
  for (const s of signals) s.addEventListener('abort', check, { once: true });
  check();
  return controller.signal;
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
