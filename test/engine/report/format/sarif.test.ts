import { describe, expect, it } from 'vitest';
import { formatSarif, INPUT_ERROR_RULE_ID, WARNING_RULE_IDS, type SarifLog, type SarifResult } from '../../../../src/engine/report/format/sarif.js';
import type { Report } from '../../../../src/engine/model.js';
import { expectGolden } from './golden.js';
import { cleanCluster, twoClusters, twoClustersWithStatus } from './report-fixtures.js';

const options = { toolVersion: '0.1.0' };

function sarif(report: Report, opts: { toolVersion: string; informationUri?: string } = options): SarifLog {
  return JSON.parse(formatSarif(report, opts)) as SarifLog;
}

function results(report: Report): SarifResult[] {
  return sarif(report).runs[0].results;
}

// The properties the SARIF 2.1.0 schema allows on the objects we write: it sets
// additionalProperties to false on each, and GitHub rejects a log that fails the schema.
const SCHEMA_PROPERTIES: Record<string, string[]> = {
  log: ['$schema', 'version', 'runs', 'inlineExternalProperties', 'properties'],
  run: ['tool', 'invocations', 'conversion', 'language', 'versionControlProvenance', 'originalUriBaseIds', 'artifacts', 'logicalLocations', 'graphs', 'results', 'automationDetails', 'runAggregates', 'baselineGuid', 'redactionTokens', 'defaultEncoding', 'defaultSourceLanguage', 'newlineSequences', 'columnKind', 'externalPropertyFileReferences', 'threadFlowLocations', 'taxonomies', 'addresses', 'translations', 'policies', 'webRequests', 'webResponses', 'specialLocations', 'properties'],
  driver: ['guid', 'name', 'organization', 'product', 'productSuite', 'shortDescription', 'fullDescription', 'fullName', 'version', 'semanticVersion', 'dottedQuadFileVersion', 'releaseDateUtc', 'downloadUri', 'informationUri', 'globalMessageStrings', 'notifications', 'rules', 'taxa', 'locations', 'language', 'contents', 'isComprehensive', 'localizedDataSemanticVersion', 'minimumRequiredLocalizedDataSemanticVersion', 'associatedComponent', 'translationMetadata', 'supportedTaxonomies', 'properties'],
  rule: ['id', 'deprecatedIds', 'guid', 'deprecatedGuids', 'name', 'deprecatedNames', 'shortDescription', 'fullDescription', 'messageStrings', 'defaultConfiguration', 'helpUri', 'help', 'relationships', 'properties'],
  result: ['ruleId', 'ruleIndex', 'rule', 'kind', 'level', 'message', 'analysisTarget', 'locations', 'guid', 'correlationGuid', 'occurrenceCount', 'partialFingerprints', 'fingerprints', 'stacks', 'codeFlows', 'graphs', 'graphTraversals', 'relatedLocations', 'suppressions', 'baselineState', 'rank', 'attachments', 'hostedViewerUri', 'workItemUris', 'provenance', 'fixes', 'taxa', 'webRequest', 'webResponse', 'properties'],
  location: ['id', 'physicalLocation', 'logicalLocations', 'message', 'annotations', 'relationships', 'properties'],
  physicalLocation: ['address', 'artifactLocation', 'region', 'contextRegion', 'properties'],
  artifactLocation: ['uri', 'uriBaseId', 'index', 'description', 'properties'],
  region: ['startLine', 'startColumn', 'endLine', 'endColumn', 'charOffset', 'charLength', 'byteOffset', 'byteLength', 'snippet', 'message', 'sourceLanguage', 'properties'],
  suppression: ['guid', 'kind', 'status', 'justification', 'location', 'properties'],
  message: ['text', 'markdown', 'id', 'arguments', 'properties'],
};

function expectSchemaProperties(kind: string, value: object): void {
  expect(Object.keys(value).filter((key) => !SCHEMA_PROPERTIES[kind]!.includes(key)), `unknown properties on ${kind}`).toEqual([]);
}

function expectValidLocation(location: SarifResult['locations'][0]): void {
  expectSchemaProperties('location', location);
  expectSchemaProperties('physicalLocation', location.physicalLocation);
  expectSchemaProperties('artifactLocation', location.physicalLocation.artifactLocation);
  expectSchemaProperties('region', location.physicalLocation.region);
  const { uri, uriBaseId } = location.physicalLocation.artifactLocation;
  // Relative to the repository root, as GitHub resolves it: no scheme, no leading slash, no `..`.
  expect(uri).not.toMatch(/^[a-z][a-z0-9+.-]*:|^\/|(^|\/)\.\.(\/|$)/i);
  expect(uriBaseId).toBe('%SRCROOT%');
  expect(Number.isInteger(location.physicalLocation.region.startLine) && location.physicalLocation.region.startLine >= 1).toBe(true);
}

describe('formatSarif', () => {
  it.each([
    ['two clusters', 'two-clusters.sarif', twoClusters],
    ['two clusters compared with a base', 'two-clusters.status.sarif', twoClustersWithStatus],
    ['a clean cluster', 'clean-cluster.sarif', cleanCluster],
  ])('renders %s as in its golden file', (_name, golden, report) => {
    expectGolden(golden, formatSarif(report(), options));
  });

  it('writes a SARIF 2.1.0 log with one run by parapet', () => {
    const log = sarif(twoClusters(), { toolVersion: '0.1.0', informationUri: 'https://example.com/parapet' });
    expect(log.version).toBe('2.1.0');
    expect(log.$schema).toMatch(/sarif-schema-2\.1\.0\.json$/);
    expect(log.runs).toHaveLength(1);
    expect(log.runs[0].tool.driver).toMatchObject({ name: 'parapet', version: '0.1.0', semanticVersion: '0.1.0', informationUri: 'https://example.com/parapet' });
  });

  it('uses only properties the SARIF 2.1.0 schema declares', () => {
    for (const report of [twoClusters(), twoClustersWithStatus()]) {
      const log = sarif(report);
      expectSchemaProperties('log', log);
      expectSchemaProperties('run', log.runs[0]);
      expectSchemaProperties('driver', log.runs[0].tool.driver);
      for (const rule of log.runs[0].tool.driver.rules) expectSchemaProperties('rule', rule);
      for (const result of log.runs[0].results) {
        expectSchemaProperties('result', result);
        expectSchemaProperties('message', result.message);
        for (const suppression of result.suppressions ?? []) expectSchemaProperties('suppression', suppression);
      }
    }
  });

  it('declares one rule per policy with the descriptions GitHub displays, and every result points at its rule', () => {
    const log = sarif(twoClusters());
    const { rules } = log.runs[0].tool.driver;
    expect(rules.map((rule) => rule.id)).toEqual([
      'k8scontainerlimits',
      'k8spspallowprivilegeescalationcontainer',
      'k8spspprivilegedcontainer',
      'k8srequiredlabels',
      'k8srestrictrbacwildcards',
      INPUT_ERROR_RULE_ID,
    ]);
    for (const rule of rules) {
      expect(rule.shortDescription.text).not.toBe('');
      expect(rule.fullDescription.text.length).toBeLessThanOrEqual(1000);
      expect(rule.help.text).not.toBe('');
    }
    for (const result of log.runs[0].results) expect(rules[result.ruleIndex]?.id).toBe(result.ruleId);
  });

  it('gives each result a message, one relative location and partial fingerprints', () => {
    for (const result of results(twoClusters())) {
      expect(result.message.text).not.toBe('');
      expect(result.locations).toHaveLength(1);
      expectValidLocation(result.locations[0]);
      expect(result.partialFingerprints.primaryLocationLineHash).toMatch(/^[0-9a-f]{16}:\d+$/);
    }
  });

  it('maps deny to error, warn to warning and dryrun to note', () => {
    const levels = Object.fromEntries(results(twoClusters()).filter((r) => r.ruleId !== INPUT_ERROR_RULE_ID).map((r) => [r.properties.enforcementAction, r.level]));
    expect(levels).toEqual({ deny: 'error', warn: 'warning', dryrun: 'note' });
  });

  it('places a violation at its file and line and names cluster, constraint and object', () => {
    const result = results(twoClusters()).find((r) => r.ruleId === 'k8spspprivilegedcontainer' && r.properties.cluster === 'prod-eu')!;
    expect(result.locations[0].physicalLocation).toEqual({ artifactLocation: { uri: 'apps/web/deployment.yaml', uriBaseId: '%SRCROOT%' }, region: { startLine: 24 } });
    expect(result.properties).toEqual({
      cluster: 'prod-eu',
      constraint: 'psp-privileged-container',
      enforcementAction: 'deny',
      object: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'web' },
    });
  });

  it('tells the clusters apart in the message when the repository has several', () => {
    const texts = results(twoClusters()).filter((r) => r.ruleId === 'k8spspprivilegedcontainer').map((r) => r.message.text);
    expect(texts).toEqual([
      '[prod-eu] [Implied by expand-workloads] Privileged container is not allowed: nginx, securityContext: {"privileged": true}',
      '[staging] [Implied by expand-workloads] Privileged container is not allowed: nginx, securityContext: {"privileged": true}',
    ]);
    const single = twoClusters();
    single.clusters.pop();
    expect(results(single).find((r) => r.ruleId === 'k8spspprivilegedcontainer')!.message.text).toMatch(/^\[Implied by/);
  });

  it('suppresses an accepted risk in source, with its reason and the annotation location', () => {
    const suppressed = results(twoClusters()).filter((r) => r.suppressions);
    expect(suppressed.map((r) => r.ruleId)).toEqual(['k8spspallowprivilegeescalationcontainer']);
    expect(suppressed[0]!.level).toBe('error');
    expect(suppressed[0]!.suppressions).toEqual([
      {
        kind: 'inSource',
        status: 'accepted',
        justification: 'The legacy database image needs root until the 2025 migration (SEC-1423)',
        location: { physicalLocation: { artifactLocation: { uri: 'apps/legacy/namespace.yaml', uriBaseId: '%SRCROOT%' }, region: { startLine: 6 } } },
        properties: { level: 'namespace', annotation: 'securitytower.io/policy.exclusion.k8spspallowprivilegeescalationcontainer' },
      },
    ]);
    expectValidLocation(suppressed[0]!.suppressions![0]!.location);
  });

  it('reports input errors, in a cluster or not, as error results of the input-error rule', () => {
    const errors = results(twoClusters()).filter((r) => r.ruleId === INPUT_ERROR_RULE_ID);
    expect(errors.map((r) => [r.level, r.locations[0].physicalLocation.artifactLocation.uri, r.properties])).toEqual([
      ['error', '.securitytower/old-cluster.yaml', { code: 'cluster-config' }],
      ['error', 'apps/api/broken.yaml', { cluster: 'prod-eu', code: 'yaml' }],
      ['error', 'policies/staging/ingress-host/template.yaml', { cluster: 'staging', code: 'rego' }],
    ]);
  });

  it('keeps a finding’s fingerprint when lines are added above it', () => {
    const before = results(twoClusters());
    const moved = twoClusters();
    for (const cluster of moved.clusters) for (const violation of cluster.violations) violation.location.line += 10;
    for (const error of moved.clusters[0]!.errors) error.location.line += 10;
    expect(results(moved).map((r) => r.partialFingerprints)).toEqual(before.map((r) => r.partialFingerprints));
  });

  it('gives distinct fingerprints to distinct findings, and numbers identical ones', () => {
    const report = twoClusters();
    const copy = structuredClone(report.clusters[0]!.violations[0]!);
    copy.location.line = 30;
    report.clusters[0]!.violations.push(copy);
    const hashes = results(report).map((r) => r.partialFingerprints.primaryLocationLineHash);
    expect(new Set(hashes).size).toBe(hashes.length);
    const second = hashes.find((hash) => hash?.endsWith(':2'));
    const twins = hashes.filter((hash) => hash?.split(':')[0] === second?.split(':')[0]);
    expect(twins.map((hash) => hash?.split(':')[1])).toEqual(['1', '2']);
  });

  it('records new and existing as SARIF baseline states when compared with a base', () => {
    expect(results(twoClustersWithStatus()).filter((r) => r.ruleId !== INPUT_ERROR_RULE_ID).map((r) => r.baselineState)).toEqual(['existing', 'existing', 'existing', 'existing', 'new', 'existing'].map((s) => (s === 'new' ? 'new' : 'unchanged')));
    expect(results(twoClusters()).every((r) => r.baselineState === undefined)).toBe(true);
  });

  it('percent-encodes paths that are not valid URI references as they stand', () => {
    const report = cleanCluster();
    report.errors.push({ location: { file: 'apps/my app/c:#1.yaml', line: 0 }, code: 'yaml', message: 'broken' });
    const [result] = results(report);
    expect(result!.locations[0].physicalLocation.artifactLocation.uri).toBe('apps/my%20app/c%3A%231.yaml');
    expect(result!.locations[0].physicalLocation.region.startLine).toBe(1);
  });

  it('never writes an empty message, which GitHub would reject', () => {
    const report = cleanCluster();
    report.clusters[0]!.violations.push({ ...twoClusters().clusters[0]!.violations[0]!, cluster: 'prod-eu', message: '' });
    expect(results(report)[0]!.message.text).toBe('violates psp-privileged-container');
  });

  it('reports warnings as warning results and notices as note results, each kind its rule with help text, without changing anything else', () => {
    const plain = sarif(twoClusters());
    const log = sarif(withRemarks(twoClusters()));
    const { rules } = log.runs[0].tool.driver;
    expect(rules.map((rule) => rule.id)).toEqual([...plain.runs[0].tool.driver.rules.map((rule) => rule.id), 'parapet/yaml-reading', 'parapet/not-rendered']);
    expect(rules.slice(-2).map((rule) => rule.defaultConfiguration)).toEqual([{ level: 'warning' }, { level: 'note' }]);
    for (const rule of rules.slice(-2)) {
      expectSchemaProperties('rule', rule);
      expect(rule.shortDescription.text).not.toBe('');
      expect(rule.help.text).not.toBe('');
    }
    const added = log.runs[0].results.slice(plain.runs[0].results.length);
    expect(log.runs[0].results.slice(0, plain.runs[0].results.length)).toEqual(plain.runs[0].results);
    expect(added.map((r) => [r.ruleId, rules[r.ruleIndex]!.id, r.level, r.locations[0].physicalLocation.artifactLocation.uri, r.locations[0].physicalLocation.region.startLine, r.properties])).toEqual([
      [WARNING_RULE_IDS['yaml-reading'], 'parapet/yaml-reading', 'warning', 'apps/web/flags.yaml', 8, { cluster: 'prod-eu', code: 'yaml-reading' }],
      [WARNING_RULE_IDS['yaml-reading'], 'parapet/yaml-reading', 'warning', 'apps/web/keys.yaml', 6, { cluster: 'prod-eu', code: 'yaml-reading' }],
      [WARNING_RULE_IDS.render, 'parapet/not-rendered', 'note', 'apps/web/release.yaml', 9, { cluster: 'staging', code: 'render' }],
    ]);
    expect(added[0]!.message.text).toBe(`[prod-eu] ${FLAG_WARNING.message}`);
    for (const result of added) {
      expectSchemaProperties('result', result);
      expectValidLocation(result.locations[0]);
      expect(result.partialFingerprints.primaryLocationLineHash).toMatch(/^[0-9a-f]{16}:1$/);
    }
  });

  it('keeps a warning’s fingerprint when lines are added above it, also when its message names another line', () => {
    const before = results(withRemarks(twoClusters()));
    const moved = withRemarks(twoClusters());
    for (const remark of [...moved.clusters[0]!.warnings!, ...moved.clusters[1]!.notices!]) {
      remark.location.line += 10;
      remark.message = remark.message.replace(/line (\d+)/, (_, n: string) => `line ${Number(n) + 10}`);
    }
    expect(results(moved).map((r) => r.partialFingerprints)).toEqual(before.map((r) => r.partialFingerprints));
    const renamed = withRemarks(twoClusters());
    renamed.clusters[0]!.warnings![0]!.message = renamed.clusters[0]!.warnings![0]!.message.replace('"yes"', '"on"');
    expect(results(renamed).at(-3)!.partialFingerprints).not.toEqual(before.at(-3)!.partialFingerprints);
  });

  it('leaves semanticVersion out when the version is not semver', () => {
    expect(sarif(cleanCluster(), { toolVersion: 'dev' }).runs[0].tool.driver).not.toHaveProperty('semanticVersion');
  });
});

const FLAG_WARNING = {
  location: { file: 'apps/web/flags.yaml', line: 8 },
  code: 'yaml-reading' as const,
  message: 'YAML: sigs.k8s.io/yaml (kubectl, Argo CD) reads the keys of data as "true", kyaml (Flux, kustomize) as "yes"; quote such keys ("y", "no", "on"...) so both read them as written',
};

/** The report with a YAML warning of each kind in the first cluster and a notice in the second. */
function withRemarks(report: Report): Report {
  report.clusters[0]!.warnings = [
    structuredClone(FLAG_WARNING),
    {
      location: { file: 'apps/web/keys.yaml', line: 6 },
      code: 'yaml-reading',
      message: 'YAML: kyaml (Flux, kustomize) refuses this document (mapping key "mode" already defined at line 5); sigs.k8s.io/yaml (kubectl, Argo CD) reads it, keeping the last value',
    },
  ];
  report.clusters[1]!.notices = [
    { location: { file: 'apps/web/release.yaml', line: 9 }, code: 'render', message: 'HelmRelease web/web: chart podinfo@6.7.1 from HelmRepository flux-system/podinfo was not rendered' },
  ];
  return report;
}
