// What the engine needs from the outside world, so it can stay free of fs, network and processes,
// and the seam between the pipeline and the engine that runs a template's code (Gatekeeper's Driver).
import type { ParsedYamlFile, YamlLimits } from './repo/yaml-file.js';

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

/** One ConstraintTemplate's K8sNativeValidation (CEL) code, as Gatekeeper's k8scel driver reads it. */
export interface CelSource {
  /** The ConstraintTemplate as written: the driver reads `code[engine: K8sNativeValidation]` from it. */
  template: Record<string, unknown>;
}

/** A problem in a CEL expression, at its path in the template document. */
export interface CelProblem {
  path: Array<string | number>;
  message: string;
}

/** The code of a template, in the engine the cluster's Gatekeeper runs it with. */
export type TemplateCode = { engine: 'Rego'; source: RegoSource } | { engine: 'K8sNativeValidation'; source: CelSource };

export type CompileOutcome =
  | {
      ok: true;
      wasm: Uint8Array;
      /** `violation`'s entrypoint, e.g. `k8srequiredlabels/violation`. */
      entrypoint: string;
      /** Whether the Rego reads `data.inventory`; other templates are evaluated without it. */
      usesInventory: boolean;
      /**
       * The module holds other templates' code too (compiled together in one opa run, each under its
       * own entrypoint): the builtins it imports may be theirs, not this template's.
       */
      shared?: boolean;
    }
  | { ok: false; problems: RegoProblem[] }
  /** Compiling took longer than the compiler allows; the text says so ("compiling its Rego took longer than 60 s..."). */
  | { ok: false; limit: string };

/**
 * How a caller stops work it no longer wants (a check whose time budget ran out): once `signal`
 * aborts, the call rejects with the signal's reason and what was queued or running for it is dropped.
 */
export interface WorkOptions {
  signal?: AbortSignal;
}

export interface CompileOptions extends WorkOptions {
  /** A module of this template's code only, never one shared with other templates. */
  alone?: boolean;
}

/** Turns a template's Rego into a Wasm module, applying Gatekeeper's rules for template modules. */
export interface PolicyCompiler {
  compile(source: RegoSource, options?: CompileOptions): Promise<CompileOutcome>;
}

/** Reads files for `verify`: suites name their files by paths relative to themselves. */
export interface FileReader {
  /** The text of `path` (a `/`-separated path as the caller gave it), or undefined when unreadable. */
  read(path: string): Promise<string | undefined>;
}

/** One evaluation: a loaded template against one review, with a constraint's parameters. */
export interface EvaluationTask {
  /** Id returned by `loadTemplate`. */
  template: number;
  /** Id returned by `addText` for `data`, or 0 for `data = {}`. */
  data: number;
  /**
   * Id returned by `addText` for what the template's engine reads of the constraint: Rego's
   * `input.parameters`, or for CEL the constraint object (its driver binds `params` from it).
   */
  parameters: number;
  /** `input.review` as JSON; tasks sharing one string are sent and encoded once. */
  review: string;
}

/**
 * The template's results (Rego's `violation` set, CEL's `{msg}` per failed validation), or the error
 * that stopped it. `errors` are results Gatekeeper reports like any other but that are failed
 * evaluations (CEL that does not compile or fails at run time), not the template's verdict.
 * `skipped`: not run, because an earlier evaluation of the same template in this check ran out of
 * time or memory; the error is that one's, as every evaluation of it would likely fail the same way.
 */
export type TaskOutcome = { results: unknown[]; errors?: string[] } | { error: string; skipped?: true };

export type TemplateLoad =
  /** `problems`: CEL expressions that do not compile; Gatekeeper accepts the template and fails each evaluation. */
  | { ok: true; id: number; usesInventory: boolean; problems?: CelProblem[] }
  /** The Rego does not compile, or breaks Gatekeeper's rules for template modules. */
  | { ok: false; problems: RegoProblem[] }
  /** Gatekeeper's driver refuses the template (the text is its error). */
  | { ok: false; rejected: string }
  /** The code calls builtins the driver cannot evaluate (the text names them). */
  | { ok: false; unsupported: string }
  /** The compiled code could not be loaded. */
  | { ok: false; loadError: string }
  /** Compiling the code took longer than allowed. */
  | { ok: false; limit: string };

/**
 * Runs templates' code, as Gatekeeper's Driver does: the pipeline loads templates, registers data
 * and parameters, and asks for batches of evaluations; how the code runs (Rego compiled to Wasm on
 * worker threads, CEL in Gatekeeper's own driver) stays behind this interface. It also parses YAML
 * on its threads, so large repositories use every core.
 */
export interface PolicyDriver {
  loadTemplate(code: TemplateCode, options?: WorkOptions): Promise<TemplateLoad>;
  /** Registers JSON text (`data.inventory`, a constraint's parameters) for later evaluations. */
  addText(json: string): number;
  /**
   * Outcomes in the order of `tasks`. A template whose evaluation runs out of time or memory is
   * not run again in the same check (until `release`): its other tasks get that error, `skipped`.
   */
  evaluate(tasks: EvaluationTask[], options?: WorkOptions): Promise<TaskOutcome[]>;
  /** Forgets templates and texts that no further evaluation uses. */
  release(templates: number[], texts: number[]): void;
  /**
   * Parses YAML files; results are in the order of `files`. A file whose parsing runs out of time
   * or memory (the driver's limits) becomes a `limit` error on it; the others are still parsed.
   */
  parseYamlFiles(files: Array<{ path: string; text: string }>, limits: YamlLimits, options?: WorkOptions): Promise<ParsedYamlFile[]>;
}

/** One build the renderer runs, on a folder of the repository. */
export type RenderRequest =
  /** `kustomize build` of a folder that holds a kustomization (its load restrictions on). */
  | { kind: 'kustomize'; path: string }
  /**
   * What Flux's kustomize-controller builds for a Kustomization whose spec.path is `path`: the
   * folder's kustomization (generated from its manifests when it has none) with the object's spec
   * applied, then postBuild substitution with `substituteFrom`'s values, read from the repository.
   */
  | {
      kind: 'flux';
      path: string;
      kustomization: Record<string, unknown>;
      substituteFrom: Record<string, string>;
      /**
       * An Argo CD Application's kustomize options that Flux's spec has no field for, applied to the
       * folder's kustomization as Argo CD's `kustomize edit add label|annotation`, `set replicas` do.
       */
      argo?: ArgoKustomizeEdits;
    }
  /**
   * `helm template` of the chart folder `chart` with the release's name, namespace and values (merged
   * in order as Helm merges -f files and --set flags, and Flux its valuesFrom); Flux's post-renderers,
   * labels and annotations then run over the manifests (not the hooks or the CRDs).
   */
  | {
      kind: 'helm';
      /** The chart folder in the repository; ignored when `remote` is given. */
      chart: string;
      /** A chart from a Helm repository or an OCI registry, fetched by the renderer (when it may). */
      remote?: RemoteChart;
      releaseName: string;
      namespace: string;
      values: HelmValues[];
      includeCRDs: boolean;
      postRenderers?: unknown[];
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
    };

/** A chart outside the repository, as a HelmRelease's source or an Application's repoURL names it. */
export interface RemoteChart {
  /** `https://…` (a Helm repository's index) or `oci://host/path` (a registry; `chart` is appended when given). */
  url: string;
  chart: string;
  /** An exact version or a semver range; empty: the newest. */
  version: string;
  /** OCI over plain HTTP (Flux's `insecure: true`). */
  plainHTTP?: boolean;
}

/** One layer of a release's values; `name` says where it comes from in error messages. */
export type HelmValues =
  /** A values document: a values file, a ConfigMap's key. */
  | { name: string; yaml: string }
  /** Values written as YAML in an object (a HelmRelease's spec.values, an Application's valuesObject). */
  | { name: string; object: Record<string, unknown> }
  /** `path=value`, as --set (or --set-string) reads it. */
  | { name: string; set: string; setString?: boolean }
  /** A valuesFrom key with targetPath: the value replaces the one at the path, as Flux does. */
  | { name: string; targetPath: string; value: string; literal?: boolean }
  /** A values file of a fetched chart (an Argo CD valueFiles entry), read from its archive. */
  | { name: string; chartFile: string };

/** Where kustomize says a rendered object, or a transformation of it, comes from (its buildMetadata). */
export interface RenderOrigin {
  /** The file that defines the object, relative to the build's folder. */
  path?: string;
  /** Set for a remote base. */
  repo?: string;
  ref?: string;
  /** The kustomization (relative to the build's folder) that generated the object or configured the transformer. */
  configuredIn?: string;
  configuredBy?: { apiVersion?: string; kind?: string; name?: string };
}

export interface RenderedObject {
  /** The object as the build outputs it. */
  object: Record<string, unknown>;
  origin?: RenderOrigin;
  /** The transformers that ran over the object, innermost kustomization first. */
  transformations?: RenderOrigin[];
  /** Helm: the template the object came from, as Helm's `# Source:` line names it (`<chart>/templates/x.yaml`). */
  source?: string;
}

export type RenderOutcome = (
  | {
      ok: true;
      objects: RenderedObject[];
      /** Flux generated the folder's kustomization. */
      generated?: boolean;
      /** A remote chart: the version rendered, and whether it came from the cache. */
      chart?: { version: string; digest?: string; cached?: boolean };
    }
  /**
   * The build failed: the tool's own message, with repository-relative paths. `fetch`: a remote chart
   * could not be fetched (or fetching is off), which is a notice about Parapet, not the repository.
   */
  | { ok: false; error: string; fetch?: { reason: FetchFailureReason } }
) & {
  /** The outcome of an earlier build whose inputs are all unchanged, not built again (the render cache). */
  cached?: true;
};

/** Argo CD's `spec.source.kustomize` options beyond Flux's: labels, annotations, replicas. */
export interface ArgoKustomizeEdits {
  commonLabels?: Record<string, string>;
  commonAnnotations?: Record<string, string>;
  forceCommonLabels?: boolean;
  forceCommonAnnotations?: boolean;
  labelWithoutSelector?: boolean;
  labelIncludeTemplates?: boolean;
  replicas?: Array<{ name: string; count: number }>;
}

export type FetchFailureReason = 'offline' | 'unreachable' | 'timeout' | 'not-found' | 'auth' | 'too-large' | 'digest' | 'invalid';

/** Builds over one repository tree; a build reads only the files the session was opened with. */
export interface RenderSession {
  render(request: RenderRequest): Promise<RenderOutcome>;
  close(): Promise<void>;
}

/** Runs kustomize and Flux's build steps (the pinned tools, outside the engine). */
export interface Renderer {
  /** `files`: repository-relative path → text, every file a build may read. */
  open(files: Map<string, string>): Promise<RenderSession>;
}

/**
 * A conversation with Gatekeeper's k8scel driver in the pinned `parapet-cel` helper: one JSON text
 * per request, one answer per request, in order (tools/cel/main.go describes the messages). The Rego
 * driver asks it too, for the builtins Gatekeeper's Go OPA runs and the Wasm host does not write.
 */
export interface CelHelper {
  request(json: string): Promise<unknown>;
  /**
   * Changes when the helper had to be started again: what the previous one held (templates,
   * constraints) is gone, so a check that loaded them cannot go on.
   */
  readonly generation: number;
  /** The operational error for a check whose templates were sent to a helper that has since stopped. */
  lostState(): Error;
}
