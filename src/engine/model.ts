// The vocabulary every stage of the engine and every adapter shares.

/** A place in the repository: a `/`-separated path relative to the repository root, 1-based line. */
export interface Location {
  file: string;
  line: number;
  column?: number;
}

export type EnforcementAction = 'deny' | 'warn' | 'dryrun';

/** The engines of a template's `code[]`, by Gatekeeper's names for them. */
export type PolicyEngine = 'Rego' | 'K8sNativeValidation';

/** Kinds of input error, so renderers and tests can tell them apart without parsing messages. */
export type InputErrorCode =
  | 'yaml'
  | 'limit'
  | 'manifest'
  | 'duplicate'
  | 'cluster-config'
  | 'application'
  | 'template'
  | 'rego'
  | 'cel'
  | 'builtin'
  | 'constraint'
  | 'schema'
  | 'expansion'
  | 'gatekeeper-config'
  | 'acceptance'
  | 'evaluation'
  | 'render'
  | 'read'
  /** Not an error: a value kubectl and Argo CD read otherwise than Flux does (Report warnings). */
  | 'yaml-reading'
  /** Not an error: a field the API server drops before admission (Report warnings). */
  | 'ignored-field'
  /** Not an error: an acceptance the cluster does not honour yet, so the violation counts (Report warnings). */
  | 'acceptance-pending';

/** A problem in the user's repository. Data, never thrown: the rest of the repository is still evaluated. */
export interface InputError {
  location: Location;
  code: InputErrorCode;
  message: string;
}

/** Identifies a Kubernetes object the way a person reads it. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export type AcceptanceLevel = 'object' | 'podTemplate' | 'namespace' | 'owner';

export interface Acceptance {
  reason: string;
  level: AcceptanceLevel;
  /** The full annotation key that carries the reason. */
  annotation: string;
  /** Where the annotation is written. */
  location: Location;
  /**
   * The template's Rego finds this annotation in Gatekeeper's inventory (a workload's own annotation
   * for the Pods it implies, an owner's), which holds the cluster as it was before the change: the
   * cluster honours it only where the object already carried it (markStatus decides, from the base).
   */
  throughInventory?: true;
}

/** One Gatekeeper result, attributed to the object as it is written in the repository. */
export interface Violation {
  cluster: string;
  /** The ConstraintTemplate's metadata.name (the lower-cased kind). */
  policy: string;
  /** The Constraint's metadata.name. */
  constraint: string;
  enforcementAction: EnforcementAction;
  /** Gatekeeper's message, including an `[Implied by ...]` prefix for results on expanded objects. */
  message: string;
  details: unknown;
  /** The engine whose evaluation produced the result; absent for autorejections, which come from matching. */
  engine?: PolicyEngine;
  location: Location;
  /** The object in the file (a Deployment, even when the result came from its implied Pod). */
  object: ObjectRef;
  acceptance: Acceptance | null;
  /** The part of the object the result is about, when its details or message say: part of its identity (report/identity.ts). */
  subject?: ViolationSubject;
  /** Set when the check compared against a base: whether the base already had this violation. */
  status?: 'new' | 'existing';
}

/**
 * What a result is about: the subject its details name outright (`details.subject`), the field they
 * name (list items by name: `spec.containers[name=web].image`), or the container it is about.
 */
export interface ViolationSubject {
  name?: string;
  field?: string;
  container?: string;
}

/** A container's image in a workload of the repository: one row of the image inventory. */
export interface ImageUse {
  namespace?: string;
  workload: ObjectRef;
  container: string;
  containerType: 'containers' | 'initContainers' | 'ephemeralContainers';
  /** The reference as written in the manifest. */
  image: string;
  location: Location;
}

export interface ClusterReport {
  name: string;
  /** The `.securitytower/` file that declares the cluster. */
  config: string;
  violations: Violation[];
  errors: InputError[];
  /**
   * Lines the cluster takes but other tools read otherwise (`code: 'yaml-reading'`): a value
   * sigs.k8s.io/yaml (kubectl, Argo CD) and kyaml (Flux) decode differently; and lines the API
   * server drops before Gatekeeper sees the object (`code: 'ignored-field'`). They do not fail the check.
   */
  warnings?: InputError[];
  /**
   * What Parapet could not see and says so without failing the check: a chart from a Helm or OCI
   * repository it does not fetch, an Application whose source is another repository.
   */
  notices?: InputError[];
  images: ImageUse[];
  /** The policies loaded for the cluster: one entry per constraint, with its template. */
  policies?: EnabledPolicy[];
  /** How much was evaluated; useful for summaries and benchmarks. */
  stats: EvaluationStats;
  /** The objects the cluster applies, after rendering; only when the check was asked to keep them (`keepObjects`). */
  objects?: AppliedObject[];
}

/** An object as the cluster applies it (rendered, namespace defaulted), with the manifest that declares it. */
export interface AppliedObject {
  /** The object as decoded: apiVersion, kind, metadata (namespace set where the cluster sets it), the rest. */
  object: Record<string, unknown> & { apiVersion: string; kind: string; metadata: Record<string, unknown> };
  /** The file (and line of its `kind:`) that declares it; for a rendered object, the file of its base. */
  location: Location;
}

/** A constraint loaded for a cluster, with the template that defines its kind. */
export interface EnabledPolicy {
  /** The ConstraintTemplate's metadata.name. */
  template: string;
  /** The constraint kind (the template's spec.crd.spec.names.kind). */
  kind: string;
  /** The Constraint's metadata.name. */
  constraint: string;
  /** The action at Gatekeeper's webhook (`dryrun` for audit-only constraints); `none` when it runs at neither. */
  enforcementAction: EnforcementAction | 'none';
  /** The template's `metadata.gatekeeper.sh/version` annotation, when present. */
  version?: string;
  /** The template's `metadata.gatekeeper.sh/title` annotation, when present: a custom policy's name for people. */
  title?: string;
  /** The constraint's spec.parameters after schema defaulting (`{}` when absent), as Gatekeeper passes them. */
  parameters?: unknown;
}

export interface EvaluationStats {
  objects: number;
  constraints: number;
  /** (object or implied object) × constraint pairs that matched and were evaluated. */
  evaluations: number;
  /** The builds rendering asked for (kustomize, Flux, Helm); absent when it asked for none. */
  renders?: RenderStats;
}

export interface RenderStats {
  builds: number;
  /** Builds whose outcome came from the render cache: every input they read was unchanged. */
  cached: number;
  /** Time spent waiting for builds, cached or not. */
  ms: number;
}

export interface Report {
  clusters: ClusterReport[];
  /** Errors that belong to no cluster (a `.securitytower/` file that does not parse, for example). */
  errors: InputError[];
  /** The `.securitytower/` configuration read (every cluster declared, every Application). */
  config?: { clusters: ClusterConfig[]; applications: ApplicationConfig[] };
  /** Cluster names the check was asked for that the configuration does not declare: nothing was evaluated. */
  unknownClusters?: string[];
  /**
   * YAML files of the tree that no checked cluster applies (no entry point reaches them): they were
   * not evaluated. Sorted.
   */
  notApplied?: string[];
}

// The `.securitytower/` configuration as read (security-tower.md §1.2, §1.3).

export interface ClusterConfig {
  name: string;
  location: Location;
  tenant?: string;
  contact?: { email?: string; slack?: string };
  configuration: Record<string, unknown>;
  /** Normalised folder, `''` for the repository root. */
  policiesPath: string;
  namespacePaths: string[];
  /**
   * Parapet's extension for repositories that hold several clusters: the folders whose manifests
   * belong to this cluster. Absent means "everything not claimed by another cluster".
   */
  manifestPaths?: string[];
  /**
   * Gatekeeper's `--enable-k8s-native-validation` in this cluster (Parapet's `spec.gatekeeper.k8sNativeValidation`):
   * true (the default since Gatekeeper 3.18) runs a template's CEL when it has both CEL and Rego;
   * false runs Rego only, as older Gatekeepers do.
   */
  k8sNativeValidation: boolean;
}

export interface ApplicationStage {
  name: string;
  clusterName: string;
  clusterRepository?: string;
  resourcesPath: string;
  targetNamespace?: string;
  previousStage?: string;
}

export interface ApplicationConfig {
  name: string;
  location: Location;
  owner?: string;
  securityLevel?: string;
  stages: ApplicationStage[];
}

/** A YAML mapping, as decoded: the one test every stage uses before reading fields. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
