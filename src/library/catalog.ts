// Parapet's policy library (policies/<name>/: policy.yaml, template.yaml, constraint.yaml), read and
// checked: the catalog that `parapet policies` lists, shows and writes into cluster repositories.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { isRecord } from '../engine/index.js';
import { LibraryError } from '../errors.js';

/** The package's `policies/` folder: `../../policies` from both src/library/ and dist/library/. */
export const libraryDir = fileURLToPath(new URL('../../policies/', import.meta.url));

export const POLICY_API_VERSION = 'parapet.dev/v1alpha1';
export const EXCLUSION_PREFIX = 'securitytower.io/policy.exclusion.';
export const VERSION_ANNOTATION = 'metadata.gatekeeper.sh/version';
const TITLE_ANNOTATION = 'metadata.gatekeeper.sh/title';

/** The security standards policies map to (security-tower.md §2.1), in the order they are shown. */
export const STANDARDS = [
  { id: 'k8s/baseline', title: 'Kubernetes Pod Security Standards, Baseline' },
  { id: 'k8s/restricted', title: 'Kubernetes Pod Security Standards, Restricted' },
  { id: 'cis/kubernetes', title: 'CIS Kubernetes Benchmark' },
  { id: 'nist/SP.800-190', title: 'NIST SP 800-190 Application Container Security Guide' },
  { id: 'bsi/containerization', title: 'BSI IT-Grundschutz SYS.1.6 Containerisierung' },
  { id: 'nsa/kubernetes', title: 'NSA/CISA Kubernetes Hardening Guidance' },
] as const;

export type StandardId = (typeof STANDARDS)[number]['id'];

export interface StandardRef {
  id: StandardId;
  /** Section, requirement or topic within the standard, e.g. "5.2.1" or "SYS.1.6.A17". */
  control: string;
  /**
   * The policy refuses more than the control does (Security Tower's catalog has such policies): it is
   * not the control's implementation, and `enable --standard` adds it only with `--strict`.
   */
  stricter?: boolean;
  /** Constraint parameters that make the policy implement this control exactly, set by `enable --standard`. */
  parameters?: Record<string, unknown>;
}

export interface LibraryPolicy {
  /** The folder name, the template's metadata.name, the lower-cased constraint kind. */
  name: string;
  kind: string;
  title: string;
  version: string;
  description: string;
  standards: StandardRef[];
  tags: string[];
  appliesTo: string[];
  /** A before/after diff: lines start with ' ', '-' or '+'. */
  example: string;
  riskAcceptance: { annotation: string; example: string };
  /** The library's files, verbatim. */
  templateText: string;
  constraintText: string;
  /** The template's parameter schema: its openAPIV3Schema properties, by name. */
  parameters: Record<string, ParameterSchema>;
  /**
   * Parameters without which the constraint cannot deny sensibly (an allowlist that is empty denies
   * everything): at least one of `anyOf` must be set before Parapet writes the constraint in deny.
   */
  requiredParameters?: { anyOf: string[]; example: string };
}

/** The part of an OpenAPI v3 schema that `--param key=value` needs to read a value. */
export interface ParameterSchema {
  type?: string;
  items?: ParameterSchema;
  description?: string;
}

export interface Standard {
  id: StandardId;
  title: string;
  /** Names of the policies that implement its controls, sorted. */
  policies: string[];
  /** Names of the policies stricter than one of its controls, sorted. */
  stricter: string[];
}

export interface Catalog {
  /** Sorted by name. */
  policies: LibraryPolicy[];
  /** Every known standard, in STANDARDS order, members or not. */
  standards: Standard[];
  /** policies/expansion.yaml, verbatim. */
  expansionText: string;
}

/** The library's files as read from disk; absent files are `undefined`. */
export interface LibraryFiles {
  expansion?: string;
  folders: Array<{ name: string; policy?: string; template?: string; constraint?: string }>;
}


// Folders under policies/ that are not policies.
const NOT_POLICIES = new Set(['lib']);

/** Reads the library from disk (by default the package's own) and checks it; throws LibraryError. */
export async function loadCatalog(dir: string = libraryDir): Promise<Catalog> {
  const read = (path: string) => readFile(path, 'utf8').catch(() => undefined);
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => {
    throw new LibraryError([`${dir}: the policy library folder cannot be read`]);
  });
  const folders = await Promise.all(
    entries
      .filter((entry) => entry.isDirectory() && !NOT_POLICIES.has(entry.name))
      .map(async (entry) => ({
        name: entry.name,
        policy: await read(join(dir, entry.name, 'policy.yaml')),
        template: await read(join(dir, entry.name, 'template.yaml')),
        constraint: await read(join(dir, entry.name, 'constraint.yaml')),
      })),
  );
  const { catalog, problems } = readCatalog({ expansion: await read(join(dir, 'expansion.yaml')), folders });
  if (problems.length > 0) throw new LibraryError(problems);
  return catalog;
}

/** Builds the catalog from the library's texts; every problem names its file (`policies/<name>/...`). */
export function readCatalog(files: LibraryFiles): { catalog: Catalog; problems: string[] } {
  const problems: string[] = [];
  const policies: LibraryPolicy[] = [];
  if (files.expansion === undefined) problems.push('policies/expansion.yaml is missing');
  else {
    const docs = parseYaml(files.expansion);
    if (typeof docs === 'string') problems.push(`policies/expansion.yaml: ${docs}`);
    else if (docs.length === 0 || !docs.every((doc) => isRecord(doc) && doc.kind === 'ExpansionTemplate')) {
      problems.push('policies/expansion.yaml: expected ExpansionTemplate documents only');
    }
  }
  for (const folder of [...files.folders].sort((a, b) => compareText(a.name, b.name))) {
    const policy = readPolicyFolder(folder, (problem) => problems.push(problem));
    if (policy) policies.push(policy);
  }
  const standards = STANDARDS.map((standard) => ({
    id: standard.id,
    title: standard.title,
    policies: policies.filter((p) => p.standards.some((s) => s.id === standard.id && !s.stricter)).map((p) => p.name),
    stricter: policies.filter((p) => p.standards.some((s) => s.id === standard.id && s.stricter)).map((p) => p.name),
  }));
  return { catalog: { policies, standards, expansionText: files.expansion ?? '' }, problems };
}

export function findPolicy(catalog: Catalog, name: string): LibraryPolicy | undefined {
  const wanted = name.toLowerCase();
  return catalog.policies.find((p) => p.name === wanted);
}

export function findStandard(catalog: Catalog, id: string): Standard | undefined {
  return catalog.standards.find((s) => s.id.toLowerCase() === id.toLowerCase());
}

/**
 * A policy's standards, one entry per standard with its controls in the order given; a control the
 * policy is stricter than reads "stricter than <control>".
 */
export function standardsOf(policy: LibraryPolicy): Array<{ id: StandardId; controls: string[] }> {
  const grouped = new Map<StandardId, string[]>();
  for (const { id, control, stricter } of policy.standards) grouped.set(id, [...(grouped.get(id) ?? []), stricter ? `stricter than ${control}` : control]);
  return [...grouped].map(([id, controls]) => ({ id, controls }));
}

/** Names close to a misspelt one, for "did you mean". */
export function similarPolicyNames(catalog: Catalog, name: string): string[] {
  const wanted = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (wanted.length < 3) return [];
  return catalog.policies.map((p) => p.name).filter((candidate) => candidate.includes(wanted) || wanted.includes(candidate));
}

const STANDARD_REF_KEYS = new Set(['id', 'control', 'stricter', 'parameters']);
const POLICY_KEYS = new Set(['kind', 'title', 'version', 'description', 'standards', 'tags', 'appliesTo', 'example', 'riskAcceptance', 'requiredParameters']);
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$/;
const ACTIONS = new Set(['deny', 'warn', 'dryrun']);

function readPolicyFolder(folder: LibraryFiles['folders'][number], report: (problem: string) => void): LibraryPolicy | undefined {
  const { name } = folder;
  const at = (file: string) => `policies/${name}/${file}`;
  let ok = true;
  const fail = (file: string, message: string) => {
    ok = false;
    report(`${at(file)}: ${message}`);
  };
  if (!/^[a-z0-9]+$/.test(name)) fail('', 'a policy folder is named by the lower-cased constraint kind (letters and digits only)');
  const docs: Record<'policy' | 'template' | 'constraint', Record<string, unknown> | undefined> = { policy: undefined, template: undefined, constraint: undefined };
  for (const key of ['policy', 'template', 'constraint'] as const) {
    const file = `${key}.yaml`;
    const text = folder[key];
    if (text === undefined) {
      fail(file, 'is missing');
      continue;
    }
    const parsed = parseYaml(text);
    if (typeof parsed === 'string') fail(file, parsed);
    else if (parsed.length !== 1 || !isRecord(parsed[0])) fail(file, 'expected exactly one YAML document, a mapping');
    else docs[key] = parsed[0];
  }
  if (!docs.policy || !docs.template || !docs.constraint) return undefined;

  // policy.yaml
  const policy = docs.policy;
  const spec = isRecord(policy.spec) ? policy.spec : {};
  if (policy.apiVersion !== POLICY_API_VERSION) fail('policy.yaml', `apiVersion must be ${POLICY_API_VERSION}`);
  if (policy.kind !== 'Policy') fail('policy.yaml', 'kind must be Policy');
  if (metadataOf(policy).name !== name) fail('policy.yaml', `metadata.name must be the folder's name, ${name}`);
  for (const key of Object.keys(spec)) if (!POLICY_KEYS.has(key)) fail('policy.yaml', `unknown field spec.${key} (known: ${[...POLICY_KEYS].join(', ')})`);
  const text = (field: string): string => {
    const value = spec[field];
    if (typeof value !== 'string' || value.trim() === '') {
      fail('policy.yaml', `spec.${field} is required, a non-empty string`);
      return '';
    }
    return value;
  };
  const kind = text('kind');
  if (kind && kind.toLowerCase() !== name) fail('policy.yaml', `spec.kind ${kind} lower-cased must be the folder's name, ${name}`);
  const title = text('title').trim();
  const version = text('version');
  if (version && !SEMVER.test(version)) fail('policy.yaml', `spec.version must be a semantic version like 1.2.3, not "${version}"`);
  const description = text('description');
  const example = text('example');
  const standards: StandardRef[] = [];
  // Operational policies (unique Ingress hosts, required labels...) may map to no standard: `standards: []`.
  if (!Array.isArray(spec.standards)) fail('policy.yaml', 'spec.standards must be a list of {id, control}, [] for none');
  else {
    spec.standards.forEach((entry, i) => {
      const id = isRecord(entry) ? entry.id : undefined;
      const control = isRecord(entry) ? entry.control : undefined;
      const stricter = isRecord(entry) ? entry.stricter : undefined;
      const parameters = isRecord(entry) ? entry.parameters : undefined;
      const unknown = isRecord(entry) ? Object.keys(entry).filter((key) => !STANDARD_REF_KEYS.has(key)) : [];
      if (!STANDARDS.some((s) => s.id === id)) {
        fail('policy.yaml', `spec.standards[${i}].id ${JSON.stringify(id ?? null)} is not a known standard (${STANDARDS.map((s) => s.id).join(', ')})`);
      } else if (typeof control !== 'string' || control.trim() === '') {
        fail('policy.yaml', `spec.standards[${i}].control must be a non-empty string (quote numbers: "5.2.1")`);
      } else if (unknown.length > 0) {
        fail('policy.yaml', `unknown field spec.standards[${i}].${unknown[0]} (known: ${[...STANDARD_REF_KEYS].join(', ')})`);
      } else if (stricter !== undefined && typeof stricter !== 'boolean') {
        fail('policy.yaml', `spec.standards[${i}].stricter must be true or false`);
      } else if (parameters !== undefined && !isRecord(parameters)) {
        fail('policy.yaml', `spec.standards[${i}].parameters must be a mapping of constraint parameters`);
      } else {
        standards.push({ id: id as StandardId, control: control.trim(), ...(stricter === true ? { stricter } : {}), ...(isRecord(parameters) ? { parameters } : {}) });
      }
    });
  }
  const stringList = (field: string, required: boolean): string[] => {
    const value = spec[field];
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item.trim() !== '') || (required && value.length === 0)) {
      fail('policy.yaml', `spec.${field} must be a list of ${required ? 'one or more ' : ''}strings`);
      return [];
    }
    return value as string[];
  };
  const tags = stringList('tags', false);
  const appliesTo = stringList('appliesTo', true);
  const acceptance = isRecord(spec.riskAcceptance) ? spec.riskAcceptance : {};
  const annotation = `${EXCLUSION_PREFIX}${name}`;
  if (acceptance.annotation !== annotation) fail('policy.yaml', `spec.riskAcceptance.annotation must be ${annotation}`);
  const acceptanceExample = typeof acceptance.example === 'string' ? acceptance.example : '';
  if (acceptanceExample.trim() === '') fail('policy.yaml', 'spec.riskAcceptance.example is required');
  else if (!acceptanceExample.includes(annotation)) fail('policy.yaml', `spec.riskAcceptance.example must show the annotation ${annotation}`);
  if (example && !example.split('\n').some((line) => /^[-+]/.test(line))) fail('policy.yaml', 'spec.example must be a diff with lines starting with - or +');

  // template.yaml
  const template = docs.template;
  const templateMeta = metadataOf(template);
  const annotations = isRecord(templateMeta.annotations) ? templateMeta.annotations : {};
  const crdSpec = isRecord(template.spec) && isRecord(template.spec.crd) && isRecord(template.spec.crd.spec) ? template.spec.crd.spec : {};
  const templateKind = isRecord(crdSpec.names) ? crdSpec.names.kind : undefined;
  if (template.apiVersion !== 'templates.gatekeeper.sh/v1' || template.kind !== 'ConstraintTemplate') {
    fail('template.yaml', 'must be a ConstraintTemplate, apiVersion templates.gatekeeper.sh/v1');
  }
  if (templateMeta.name !== name) fail('template.yaml', `metadata.name must be ${name}`);
  if (kind && templateKind !== kind) fail('template.yaml', `spec.crd.spec.names.kind must be ${kind}, as in policy.yaml`);
  if (version && annotations[VERSION_ANNOTATION] !== version) {
    fail('template.yaml', `metadata.annotations["${VERSION_ANNOTATION}"] must be "${version}", the version in policy.yaml`);
  }
  if (annotations[TITLE_ANNOTATION] !== undefined && annotations[TITLE_ANNOTATION] !== title) {
    fail('template.yaml', `metadata.annotations["${TITLE_ANNOTATION}"] must be the title in policy.yaml`);
  }
  const validation = isRecord(crdSpec.validation) && isRecord(crdSpec.validation.openAPIV3Schema) ? crdSpec.validation.openAPIV3Schema : {};
  const parameters = (isRecord(validation.properties) ? validation.properties : {}) as Record<string, ParameterSchema>;

  standards.forEach((standard, i) => {
    const unknown = Object.keys(standard.parameters ?? {}).filter((key) => !(key in parameters));
    if (unknown.length > 0) fail('policy.yaml', `spec.standards[${i}].parameters.${unknown[0]} is not a parameter of the template (${Object.keys(parameters).join(', ')})`);
  });

  // policy.yaml's spec.requiredParameters, against the template's parameters
  let requiredParameters: LibraryPolicy['requiredParameters'];
  if (spec.requiredParameters !== undefined) {
    const required = isRecord(spec.requiredParameters) ? spec.requiredParameters : {};
    const anyOf = Array.isArray(required.anyOf) ? required.anyOf : [];
    const unknown = anyOf.filter((key) => typeof key !== 'string' || !(key in parameters));
    const example = typeof required.example === 'string' ? required.example : '';
    const exampleKey = /^([^=]+)=./.exec(example)?.[1];
    if (anyOf.length === 0 || unknown.length > 0) fail('policy.yaml', `spec.requiredParameters.anyOf must list parameters of the template (${Object.keys(parameters).join(', ') || 'it has none'})`);
    else if (exampleKey === undefined || !anyOf.includes(exampleKey)) fail('policy.yaml', 'spec.requiredParameters.example must be KEY=VALUE, as --param takes it, for a KEY of anyOf');
    else requiredParameters = { anyOf: anyOf as string[], example };
  }

  // constraint.yaml
  const constraint = docs.constraint;
  if (constraint.apiVersion !== 'constraints.gatekeeper.sh/v1beta1') fail('constraint.yaml', 'apiVersion must be constraints.gatekeeper.sh/v1beta1');
  if (kind && constraint.kind !== kind) fail('constraint.yaml', `kind must be ${kind}`);
  if (metadataOf(constraint).name !== name) fail('constraint.yaml', `metadata.name must be ${name}`);
  const action = isRecord(constraint.spec) ? constraint.spec.enforcementAction : undefined;
  if (action !== undefined && !ACTIONS.has(String(action))) fail('constraint.yaml', `spec.enforcementAction must be deny, warn or dryrun`);

  if (!ok) return undefined;
  return {
    name,
    kind,
    title,
    version,
    description,
    standards,
    tags,
    appliesTo,
    example,
    riskAcceptance: { annotation, example: acceptanceExample },
    templateText: folder.template!,
    constraintText: folder.constraint!,
    parameters,
    ...(requiredParameters ? { requiredParameters } : {}),
  };
}

/** The documents of a text, or the first syntax error. */
function parseYaml(text: string): unknown[] | string {
  const docs = parseAllDocuments(text, { version: '1.2', uniqueKeys: true, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    const error = doc.errors[0];
    if (error) return `YAML: ${error.message.split('\n')[0]}`;
  }
  return list.filter((doc) => doc.contents !== null).map((doc) => doc.toJS() as unknown);
}

function metadataOf(value: Record<string, unknown>): Record<string, unknown> {
  return isRecord(value.metadata) ? value.metadata : {};
}


function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
