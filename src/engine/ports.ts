// What the engine needs from the outside world, so it can stay free of fs, network and processes.

export interface RepoFile {
  /** `/`-separated, relative to the repository root. */
  path: string;
  /** Bytes; lets the engine refuse oversized files before reading them. */
  size: number;
}

/** A repository tree at one revision: a checkout, a git ref, or a GitHub tree. */
export interface RepoSource {
  listFiles(): Promise<RepoFile[]>;
  /** Reads several files at once: adapters over remote trees fetch in bulk. */
  readFiles(paths: string[]): Promise<Map<string, string>>;
}

/** One ConstraintTemplate's Rego, as Gatekeeper compiles it: the main module plus its libs. */
export interface RegoSource {
  rego: string;
  libs: string[];
  version: 'v0' | 'v1';
}

/** A problem in one of the modules: `module` 0 is the main `rego`, `i > 0` is `libs[i - 1]`. */
export interface RegoProblem {
  module: number;
  /** 1-based line inside that module, when known. */
  line?: number;
  message: string;
}

export type CompileOutcome =
  | {
      ok: true;
      wasm: Uint8Array;
      /** `violation`'s entrypoint, e.g. `k8srequiredlabels/violation`. */
      entrypoint: string;
      /** Whether the Rego reads `data.inventory`; other templates are evaluated without it. */
      usesInventory: boolean;
    }
  | { ok: false; problems: RegoProblem[] };

/** Turns a template's Rego into a Wasm module, applying Gatekeeper's rules for template modules. */
export interface PolicyCompiler {
  compile(source: RegoSource): Promise<CompileOutcome>;
}

/** Reads files for `verify`: suites name their files by paths relative to themselves. */
export interface FileReader {
  /** The text of `path` (a `/`-separated path as the caller gave it), or undefined when unreadable. */
  read(path: string): Promise<string | undefined>;
}
