// ConstraintTemplates as Gatekeeper reads them (frameworks' conversion.go, compilers.go, client.go).
import type { CelSource, RegoSource, TemplateCode } from '../ports.js';
import { type InputError, isRecord, type Location } from '../model.js';
import { lineOfPath, type LineNode } from '../repo/yaml-file.js';

export const TEMPLATE_GROUP = 'templates.gatekeeper.sh';
const TEMPLATE_VERSIONS = new Set(['v1', 'v1beta1', 'v1alpha1']);
export const ADMISSION_TARGET = 'admission.k8s.gatekeeper.sh';

export interface ConstraintTemplate {
  /** metadata.name, the lower-cased kind: Parapet's "policy" name. */
  name: string;
  /** The constraint kind it defines, e.g. K8sRequiredLabels. */
  kind: string;
  location: Location;
  /** The Rego source, when the template has one. */
  rego?: RegoSource;
  /** The K8sNativeValidation (CEL) source, when the template has one. */
  cel?: CelSource;
  /** Line in the template file of each module's first line (index 0 = rego, i = libs[i-1]). */
  moduleLines: number[];
  /** spec.crd.spec.validation.openAPIV3Schema, when declared. */
  parametersSchema: unknown;
  legacySchema: boolean;
  /**
   * Whether the template honours risk acceptances in its own Rego (as Security Tower's and Parapet's
   * library do): unless `ignoreRiskAcceptances` is set, it does not report accepted violations.
   */
  handlesRiskAcceptances: boolean;
  /**
   * Whether that Rego also honours the acceptances of the object's owners (it reads
   * `ownerReferences`), as Security Tower's did through the inventory: the Pods a workload creates
   * are then accepted by the workload's own annotation.
   */
  acceptsThroughOwners: boolean;
  /**
   * Whether its Rego reads `data.inventory` only to look those owners up (in Parapet's exclusions
   * lib). Parapet evaluates such a template with acceptances off, so it needs no inventory: every
   * Wasm instance would otherwise hold a copy of it.
   */
  inventoryOnlyForAcceptances: boolean;
  annotations: Record<string, string>;
}

export function isTemplateDocument(value: unknown): boolean {
  return isRecord(value) && value.kind === 'ConstraintTemplate' && typeof value.apiVersion === 'string' && value.apiVersion.startsWith(`${TEMPLATE_GROUP}/`);
}

/**
 * Reads a ConstraintTemplate; returns the template or the errors that make Gatekeeper reject it.
 * `lines` locates the Rego inside the file so compile errors point at the right line.
 */
export function readTemplate(
  value: Record<string, unknown>,
  location: Location,
  lines: LineNode,
): { template?: ConstraintTemplate; errors: InputError[] } {
  const errors: InputError[] = [];
  const fail = (message: string) => errors.push({ location, code: 'template', message });
  const apiVersion = String(value.apiVersion);
  const version = apiVersion.slice(TEMPLATE_GROUP.length + 1);
  const metadata = isRecord(value.metadata) ? value.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  const label = `ConstraintTemplate ${name || '(unnamed)'}`;
  if (!TEMPLATE_VERSIONS.has(version)) fail(`${label}: apiVersion ${apiVersion} is not served (use ${TEMPLATE_GROUP}/v1)`);
  const spec = isRecord(value.spec) ? value.spec : {};
  const crdSpec = isRecord(spec.crd) && isRecord(spec.crd.spec) ? spec.crd.spec : {};
  const kind = isRecord(crdSpec.names) && typeof crdSpec.names.kind === 'string' ? crdSpec.names.kind : '';
  if (kind === '') fail(`${label}: spec.crd.spec.names.kind is required`);
  else if (name.toLowerCase() !== kind.toLowerCase()) {
    fail(`${label}: metadata.name must be the lower-cased kind: the template's name "${name}" should be "${kind.toLowerCase()}"`);
  }
  const targets = Array.isArray(spec.targets) ? spec.targets : [];
  if (targets.length !== 1) {
    fail(`${label}: exactly one target is allowed, found ${targets.length}`);
    return { errors };
  }
  const target = targets[0];
  if (!isRecord(target) || target.target !== ADMISSION_TARGET) {
    fail(`${label}: the target must be ${ADMISSION_TARGET}`);
    return { errors };
  }
  const source = regoSourceOf(target);
  if (!source.rego && !source.hasCel) {
    fail(`${label}: no Rego or K8sNativeValidation (CEL) source (spec.targets[0].rego, or code[] with engine Rego or K8sNativeValidation)`);
    return { errors };
  }
  if (errors.length > 0) return { errors };

  const validation = isRecord(crdSpec.validation) ? crdSpec.validation : {};
  const legacyDefault = version !== 'v1';
  const regoLine = (path: Array<string | number>) => {
    // A block scalar's content starts on the line after its header: after `rego: |` for the main
    // module, after `- |` (where a list item's node starts) for a lib.
    return lineOfPath(lines, path).line + 1;
  };
  const basePath = source.fromLegacy ? ['spec', 'targets', 0] : ['spec', 'targets', 0, 'code', source.codeIndex, 'source'];
  const moduleLines = source.rego ? [regoLine([...basePath, 'rego']), ...source.libs.map((_, i) => regoLine([...basePath, 'libs', i]))] : [];
  return {
    errors,
    template: {
      name,
      kind,
      location,
      ...(source.rego ? { rego: { rego: source.rego, libs: source.libs, version: source.version } } : {}),
      ...(source.hasCel ? { cel: { template: value } } : {}),
      moduleLines,
      parametersSchema: validation.openAPIV3Schema,
      legacySchema: typeof validation.legacySchema === 'boolean' ? validation.legacySchema : legacyDefault,
      handlesRiskAcceptances: handlesRiskAcceptances(validation.openAPIV3Schema, source),
      acceptsThroughOwners: handlesRiskAcceptances(validation.openAPIV3Schema, source) && [source.rego, ...source.libs].some((module) => module.includes('ownerReferences')),
      inventoryOnlyForAcceptances:
        handlesRiskAcceptances(validation.openAPIV3Schema, source) &&
        !source.rego.includes('data.inventory') &&
        source.libs.filter((lib) => lib.includes('data.inventory')).every((lib) => EXCLUSIONS_LIB.test(lib)),
      annotations: stringRecord(metadata.annotations),
    },
  };
}

/**
 * The code Gatekeeper runs for the template (frameworks' client.go `driverForTemplate`): with
 * `--enable-k8s-native-validation` (the default since 3.18) the CEL driver comes first and there is
 * no fallback to Rego; without it only Rego is installed. Otherwise the error Gatekeeper rejects the
 * template with.
 */
export function templateCode(template: ConstraintTemplate, k8sNativeValidation: boolean): TemplateCode | { error: string } {
  if (k8sNativeValidation && template.cel) return { engine: 'K8sNativeValidation', source: template.cel };
  if (template.rego) return { engine: 'Rego', source: template.rego };
  return {
    error:
      `ConstraintTemplate ${template.name} has only a K8sNativeValidation (CEL) source, and this cluster's Gatekeeper runs Rego only ` +
      '(spec.gatekeeper.k8sNativeValidation: false in its Cluster file): no language driver is installed that handles this constraint template',
  };
}

const EXCLUSIONS_LIB = /^package lib\.parapet\.exclusions$/m;

/**
 * A template honours acceptances itself when it declares the `ignoreRiskAcceptances` parameter and
 * its Rego reads the exclusion annotations (it cannot honour them without naming them).
 */
function handlesRiskAcceptances(schema: unknown, source: { rego: string; libs: string[] }): boolean {
  const declared = isRecord(schema) && isRecord(schema.properties) && 'ignoreRiskAcceptances' in schema.properties;
  return declared && [source.rego, ...source.libs].some((module) => module.includes('policy.exclusion.'));
}

interface ExtractedSource {
  rego: string;
  libs: string[];
  version: 'v0' | 'v1';
  hasCel: boolean;
  fromLegacy: boolean;
  codeIndex: number;
}

// The legacy `rego` field wins over code[Rego] and always parses as v0 (conversion.go).
function regoSourceOf(target: Record<string, unknown>): ExtractedSource {
  const code = Array.isArray(target.code) ? target.code : [];
  const hasCel = code.some((entry) => isRecord(entry) && entry.engine === 'K8sNativeValidation');
  if (typeof target.rego === 'string' && target.rego.trim() !== '') {
    return { rego: target.rego, libs: stringList(target.libs), version: 'v0', hasCel, fromLegacy: true, codeIndex: -1 };
  }
  const codeIndex = code.findIndex((entry) => isRecord(entry) && entry.engine === 'Rego');
  const entry = code[codeIndex];
  const source = isRecord(entry) && isRecord(entry.source) ? entry.source : {};
  return {
    rego: typeof source.rego === 'string' ? source.rego : '',
    libs: stringList(source.libs),
    version: source.version === 'v1' ? 'v1' : 'v0',
    hasCel,
    fromLegacy: false,
    codeIndex,
  };
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function stringRecord(value: unknown): Record<string, string> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}
