// `parapet check --format sarif`: SARIF 2.1.0 for GitHub code scanning (cli.md). GitHub reads a
// subset of SARIF and ignores the rest, but rejects a file that breaks the schema, so every object
// here uses only properties the 2.1.0 schema declares (it forbids unknown ones), and free-form data
// goes into `properties` bags.
import { createHash } from 'node:crypto';
import { EXCLUSION_PREFIXES } from '../../accept/risk-acceptance.js';
import type { EnforcementAction, InputError, Location, ObjectRef, Report, Violation } from '../../model.js';
import { fingerprint } from '../identity.js';
import { compareErrors, compareViolations } from '../sort.js';

export interface SarifOptions {
  /** Parapet's version, so code scanning can tell a result changed with the tool, not the code. */
  toolVersion: string;
  /** Where people learn about Parapet; omitted from the log when not given. */
  informationUri?: string;
}

export const SARIF_SCHEMA = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';

/** The rule of results that are input errors rather than policy violations; `/` cannot occur in a template name. */
export const INPUT_ERROR_RULE_ID = 'parapet/input-error';

/**
 * The rules of what does not fail the check, one per kind: a cluster's warnings (level `warning`)
 * and notices (level `note`), by their code. A kind not listed here gets a rule named after its code.
 */
export const WARNING_RULE_IDS = { 'yaml-reading': 'parapet/yaml-reading', render: 'parapet/not-rendered' } as const;

export type SarifLevel = 'error' | 'warning' | 'note';

export interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: [SarifRun];
}

export interface SarifRun {
  tool: { driver: SarifDriver };
  results: SarifResult[];
}

export interface SarifDriver {
  name: 'parapet';
  informationUri?: string;
  version: string;
  semanticVersion?: string;
  rules: SarifRule[];
}

export interface SarifRule {
  id: string;
  shortDescription: { text: string };
  fullDescription: { text: string };
  help: { text: string };
  defaultConfiguration?: { level: SarifLevel };
  properties: { tags: string[] };
}

export interface SarifLocation {
  physicalLocation: {
    artifactLocation: { uri: string; uriBaseId: '%SRCROOT%' };
    region: { startLine: number; startColumn?: number };
  };
}

export interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: SarifLevel;
  message: { text: string };
  locations: [SarifLocation];
  partialFingerprints: Record<string, string>;
  baselineState?: 'new' | 'unchanged';
  suppressions?: SarifSuppression[];
  properties: Record<string, unknown>;
}

export interface SarifSuppression {
  kind: 'inSource';
  status: 'accepted';
  justification: string;
  location: SarifLocation;
  properties: { level: string; annotation: string };
}

const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

const LEVELS: Record<EnforcementAction, SarifLevel> = { deny: 'error', warn: 'warning', dryrun: 'note' };

/** Renders the Report as a SARIF 2.1.0 log with one run, pretty-printed, with a final newline. */
export function formatSarif(report: Report, options: SarifOptions): string {
  return `${JSON.stringify(toSarifLog(report, options), null, 2)}\n`;
}

/** The SARIF log as a value, for adapters that upload it (gzip + base64) rather than print it. */
export function toSarifLog(report: Report, options: SarifOptions): SarifLog {
  const violations = report.clusters.flatMap((cluster) => [...cluster.violations].sort(compareViolations));
  const errors = [
    ...[...report.errors].sort(compareErrors).map((error) => ({ error, cluster: undefined })),
    ...report.clusters.flatMap((cluster) => [...cluster.errors].sort(compareErrors).map((error) => ({ error, cluster: cluster.name }))),
  ];

  // Warnings and notices: what the cluster takes but its tools read otherwise, what was not rendered.
  const remarks = report.clusters.flatMap((cluster) => [
    ...[...(cluster.warnings ?? [])].sort(compareErrors).map((error) => ({ error, cluster: cluster.name, level: 'warning' as const })),
    ...[...(cluster.notices ?? [])].sort(compareErrors).map((error) => ({ error, cluster: cluster.name, level: 'note' as const })),
  ]);

  const rules = policyRules(violations);
  if (errors.length > 0) rules.push(inputErrorRule());
  for (const remark of remarks) if (!rules.some((rule) => rule.id === remarkRuleId(remark.error, remark.level))) rules.push(remarkRule(remark.error, remark.level));
  const ruleIndex = new Map(rules.map((rule, index) => [rule.id, index]));
  // With several clusters the same file can carry the same finding once per cluster; naming the
  // cluster in the alert's title is what tells those alerts apart on GitHub.
  const clusterPrefix = (cluster: string | undefined) => (report.clusters.length > 1 && cluster !== undefined ? `[${cluster}] ` : '');
  const occurrences = new Map<string, number>();

  const results: SarifResult[] = [
    ...violations.map((violation) => violationResult(violation, ruleIndex.get(violation.policy) ?? 0, clusterPrefix(violation.cluster), occurrences)),
    ...errors.map(({ error, cluster }) => errorResult(error, cluster, ruleIndex.get(INPUT_ERROR_RULE_ID) ?? 0, clusterPrefix(cluster), occurrences)),
    ...remarks.map(({ error, cluster, level }) => remarkResult(error, cluster, level, ruleIndex.get(remarkRuleId(error, level)) ?? 0, clusterPrefix(cluster), occurrences)),
  ];

  const driver: SarifDriver = {
    name: 'parapet',
    ...(options.informationUri !== undefined ? { informationUri: options.informationUri } : {}),
    version: options.toolVersion,
    // GitHub prefers semanticVersion to version, but only a semver string is valid there.
    ...(SEMVER.test(options.toolVersion) ? { semanticVersion: options.toolVersion } : {}),
    rules,
  };
  return { $schema: SARIF_SCHEMA, version: '2.1.0', runs: [{ tool: { driver }, results }] };
}

/**
 * One rule per policy (ConstraintTemplate) that has results, in name order so rule indexes are stable.
 * The texts depend on the policy alone, not on this run's findings, since code scanning expects a
 * rule's description to change only with the tool.
 */
function policyRules(violations: Violation[]): SarifRule[] {
  return [...new Set(violations.map((violation) => violation.policy))].sort(compareText).map((policy) => ({
    id: policy,
    shortDescription: { text: `Gatekeeper policy ${policy}` },
    fullDescription: { text: `Kubernetes objects that violate a Constraint of the Gatekeeper ConstraintTemplate ${policy}. Each result names the Constraint and its enforcementAction.` },
    help: {
      text:
        `Change the object so that it satisfies the policy ${policy}, or accept the risk: annotate the object, its pod template, ` +
        `its namespace or its owner with ${EXCLUSION_PREFIXES[0]}${policy}: <why the risk is accepted>.`,
    },
    properties: { tags: ['kubernetes', 'gatekeeper'] },
  }));
}

function inputErrorRule(): SarifRule {
  return {
    id: INPUT_ERROR_RULE_ID,
    shortDescription: { text: 'Input Parapet could not evaluate' },
    fullDescription: {
      text: 'A file that could not be evaluated: broken YAML, a manifest without kind or apiVersion, a template whose Rego does not compile, a constraint that fails its schema, a risk acceptance without a reason, an evaluation error.',
    },
    help: { text: 'Fix the file at the reported line; until then the objects or policies it holds are not checked.' },
    defaultConfiguration: { level: 'error' },
    properties: { tags: ['parapet'] },
  };
}

function remarkRuleId(error: InputError, level: 'warning' | 'note'): string {
  const known: Partial<Record<string, string>> = WARNING_RULE_IDS;
  return known[error.code] ?? `parapet/${level === 'warning' ? 'warning' : 'notice'}-${error.code}`;
}

/** The texts depend on the kind alone, as a rule's must (see policyRules). */
function remarkRule(error: InputError, level: 'warning' | 'note'): SarifRule {
  const id = remarkRuleId(error, level);
  const base = { id, defaultConfiguration: { level }, properties: { tags: ['parapet'] } };
  if (id === WARNING_RULE_IDS['yaml-reading']) {
    return {
      ...base,
      shortDescription: { text: 'YAML that kubectl and Flux read differently' },
      fullDescription: {
        text:
          'A value or key that sigs.k8s.io/yaml (kubectl, Argo CD; YAML 1.1: yes, no, on, off, y and n are booleans) and kyaml (Flux, kustomize; YAML 1.2) decode differently, ' +
          'a `<<` merge they apply differently, or a document kyaml refuses (a repeated key). The cluster gets what its own tool reads; Parapet checks what kubectl reads.',
      },
      help: { text: 'Write the value so that both read it alike: quote a string ("yes", "on", "0777"), write true or false for a boolean, write merged keys out instead of using `<<`, remove a repeated key.' },
    };
  }
  if (id === WARNING_RULE_IDS.render) {
    return {
      ...base,
      shortDescription: { text: 'Not rendered, so not checked' },
      fullDescription: {
        text: 'Something the cluster applies that Parapet could not render and so did not judge: a Helm chart from a Helm or OCI repository, an Argo CD Application or Flux source whose files are in another repository.',
      },
      help: { text: 'Nothing to fix in this file. Check the chart or the other repository where it is kept, or vendor the chart into this repository so that Parapet renders it.' },
    };
  }
  return {
    ...base,
    shortDescription: { text: `Parapet ${level === 'warning' ? 'warning' : 'notice'} (${error.code})` },
    fullDescription: { text: `Something Parapet reports without failing the check (${error.code}).` },
    help: { text: 'Read the message at the reported line; it does not fail the check.' },
  };
}

function remarkResult(error: InputError, cluster: string, level: 'warning' | 'note', ruleIndex: number, prefix: string, occurrences: Map<string, number>): SarifResult {
  const ruleId = remarkRuleId(error, level);
  return {
    ruleId,
    ruleIndex,
    level,
    message: { text: `${prefix}${error.message}` },
    locations: [sarifLocation(error.location)],
    // Without the line, as for input errors; a message that names another line (the first of a
    // repeated key) leaves that number out too, so the alert stays one alert when lines move.
    partialFingerprints: partialFingerprints(JSON.stringify([cluster, ruleId, error.code, error.location.file, error.message.replace(/\bline \d+/g, 'line')]), occurrences),
    properties: { cluster, code: error.code },
  };
}

function violationResult(violation: Violation, ruleIndex: number, prefix: string, occurrences: Map<string, number>): SarifResult {
  const { acceptance } = violation;
  return {
    ruleId: violation.policy,
    ruleIndex,
    level: LEVELS[violation.enforcementAction],
    // GitHub requires a message text; a template may well report an empty msg.
    message: { text: `${prefix}${violation.message || `violates ${violation.constraint}`}` },
    locations: [sarifLocation(violation.location)],
    partialFingerprints: partialFingerprints(fingerprint(violation), occurrences),
    ...(violation.status !== undefined ? { baselineState: violation.status === 'new' ? ('new' as const) : ('unchanged' as const) } : {}),
    // An accepted risk stays a result, suppressed in source: code scanning shows it closed, with the reason.
    ...(acceptance !== null
      ? {
          suppressions: [
            {
              kind: 'inSource' as const,
              status: 'accepted' as const,
              justification: acceptance.reason,
              location: sarifLocation(acceptance.location),
              properties: { level: acceptance.level, annotation: acceptance.annotation },
            },
          ],
        }
      : {}),
    properties: {
      cluster: violation.cluster,
      constraint: violation.constraint,
      enforcementAction: violation.enforcementAction,
      object: objectProperty(violation.object),
    },
  };
}

function errorResult(error: InputError, cluster: string | undefined, ruleIndex: number, prefix: string, occurrences: Map<string, number>): SarifResult {
  return {
    ruleId: INPUT_ERROR_RULE_ID,
    ruleIndex,
    level: 'error',
    message: { text: `${prefix}${error.message}` },
    locations: [sarifLocation(error.location)],
    // Like violations, identified without the line, so an error does not become a new alert when lines move above it.
    partialFingerprints: partialFingerprints(JSON.stringify([cluster ?? '', INPUT_ERROR_RULE_ID, error.code, error.location.file, error.message]), occurrences),
    properties: cluster === undefined ? { code: error.code } : { cluster, code: error.code },
  };
}

/**
 * GitHub code scanning matches results across runs only by `primaryLocationLineHash`; when that is
 * missing, upload-sarif fills it with a hash of the source line, which changes whenever the line is
 * edited or an identical line moves. We fill it ourselves with a hash of the finding's identity
 * (identity.ts `fingerprint`: cluster, constraint, object, the part of it; not the line), in GitHub's
 * `<hash>:<occurrence>` form so identical findings in one run stay distinct. `parapet/v2` (v1 hashed the message as written) carries the
 * full hash under a versioned name, as the SARIF specification asks, for other result managers.
 */
function partialFingerprints(identity: string, occurrences: Map<string, number>): Record<string, string> {
  const hash = createHash('sha256').update(identity).digest('hex');
  const occurrence = (occurrences.get(hash) ?? 0) + 1;
  occurrences.set(hash, occurrence);
  return { primaryLocationLineHash: `${hash.slice(0, 16)}:${occurrence}`, 'parapet/v2': hash };
}

function sarifLocation(location: Location): SarifLocation {
  const region: SarifLocation['physicalLocation']['region'] = { startLine: Math.max(1, location.line) };
  if (location.column !== undefined && location.column >= 1) region.startColumn = location.column;
  return { physicalLocation: { artifactLocation: { uri: artifactUri(location.file), uriBaseId: '%SRCROOT%' }, region } };
}

/**
 * A repository path as a relative URI reference, which GitHub resolves against the repository root.
 * Each segment is percent-encoded: a space or `#` would otherwise break the URI, and a `:` in the
 * first segment would turn it into a scheme.
 */
export function artifactUri(file: string): string {
  return file
    .replace(/^(?:\.\/|\/)+/, '')
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}

function objectProperty(object: ObjectRef): ObjectRef {
  const json: ObjectRef = { apiVersion: object.apiVersion, kind: object.kind, name: object.name };
  if (object.namespace !== undefined) json.namespace = object.namespace;
  return json;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
