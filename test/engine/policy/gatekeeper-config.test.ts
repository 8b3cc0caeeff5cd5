import { describe, expect, it } from 'vitest';
import {
  isExcluded,
  isGatekeeperConfigDocument,
  readGatekeeperConfig,
  type ConfigProcess,
} from '../../../src/engine/policy/gatekeeper-config.js';

// The Config from Gatekeeper's exempt-namespaces documentation, extended the way platform teams do.
const clusterConfig = {
  apiVersion: 'config.gatekeeper.sh/v1alpha1',
  kind: 'Config',
  metadata: { name: 'config', namespace: 'gatekeeper-system' },
  spec: {
    sync: { syncOnly: [{ group: '', version: 'v1', kind: 'Namespace' }] },
    match: [
      { excludedNamespaces: ['kube-*', 'my-namespace'], processes: ['*'] },
      { excludedNamespaces: ['audit-excluded-ns'], processes: ['audit'] },
      { excludedNamespaces: ['*-sandbox'], processes: ['webhook'] },
      { excludedNamespaces: ['mutation-excluded-ns'], processes: ['mutation-webhook'] },
      { excludedNamespaces: ['secrets-*'], processes: ['sync'] },
    ],
  },
};

describe('isGatekeeperConfigDocument', () => {
  it('recognises a Config', () => {
    expect(isGatekeeperConfigDocument(clusterConfig)).toBe(true);
  });

  it('does not take other Gatekeeper resources or other Configs for one', () => {
    expect(isGatekeeperConfigDocument({ apiVersion: 'templates.gatekeeper.sh/v1', kind: 'ConstraintTemplate' })).toBe(false);
    expect(isGatekeeperConfigDocument({ apiVersion: 'v1', kind: 'ConfigMap' })).toBe(false);
    expect(isGatekeeperConfigDocument({ apiVersion: 'kubeadm.k8s.io/v1beta3', kind: 'Config' })).toBe(false);
  });
});

describe('isExcluded', () => {
  const { config, problems } = readGatekeeperConfig(clusterConfig);

  it('reads the documented Config without problems', () => {
    expect(problems).toEqual([]);
    expect(config).toBeDefined();
  });

  it.each<{ name: string; namespace: string; process: ConfigProcess; expected: boolean }>([
    { name: '* excludes from the webhook', namespace: 'kube-system', process: 'webhook', expected: true },
    { name: '* excludes from audit', namespace: 'kube-public', process: 'audit', expected: true },
    { name: '* excludes from sync', namespace: 'my-namespace', process: 'sync', expected: true },
    { name: '* excludes from the mutation webhook', namespace: 'my-namespace', process: 'mutation-webhook', expected: true },
    { name: 'an audit-only exclusion leaves the webhook alone', namespace: 'audit-excluded-ns', process: 'webhook', expected: false },
    { name: 'an audit-only exclusion applies to audit', namespace: 'audit-excluded-ns', process: 'audit', expected: true },
    { name: 'a suffix glob', namespace: 'alice-sandbox', process: 'webhook', expected: true },
    { name: 'a suffix glob for another process', namespace: 'alice-sandbox', process: 'audit', expected: false },
    { name: 'a sync-only exclusion keeps objects out of inventory', namespace: 'secrets-vault', process: 'sync', expected: true },
    { name: 'a sync-only exclusion does not skip admission', namespace: 'secrets-vault', process: 'webhook', expected: false },
    { name: 'a namespace nobody excludes', namespace: 'payments', process: 'webhook', expected: false },
    { name: 'an exact entry is not a prefix', namespace: 'my-namespace-2', process: 'webhook', expected: false },
    { name: 'cluster-scoped objects (namespace "") are not excluded by prefix globs', namespace: '', process: 'audit', expected: false },
  ])('$name', ({ namespace, process, expected }) => {
    expect(isExcluded(config!, namespace, process)).toBe(expected);
    expect(config!.isExcluded(namespace, process)).toBe(expected);
  });

  it('lists the patterns per process, `*` expanded to all four', () => {
    expect(config!.excludedNamespaces).toEqual({
      audit: ['kube-*', 'my-namespace', 'audit-excluded-ns'],
      webhook: ['kube-*', 'my-namespace', '*-sandbox'],
      sync: ['kube-*', 'my-namespace', 'secrets-*'],
      'mutation-webhook': ['kube-*', 'my-namespace', 'mutation-excluded-ns'],
    });
  });

  it('excludes cluster-scoped objects too when a pattern is a lone *, as Gatekeeper compares ""', () => {
    const { config: everything } = readGatekeeperConfig({
      ...clusterConfig,
      spec: { match: [{ excludedNamespaces: ['*'], processes: ['audit'] }] },
    });
    expect(everything!.isExcluded('', 'audit')).toBe(true);
    expect(everything!.isExcluded('payments', 'audit')).toBe(true);
    expect(everything!.isExcluded('payments', 'webhook')).toBe(false);
  });

  it('excludes nothing when the Config has no spec.match', () => {
    const { config: bare, problems: none } = readGatekeeperConfig({ ...clusterConfig, spec: { sync: { syncOnly: [] } } });
    expect(none).toEqual([]);
    expect(bare!.isExcluded('kube-system', 'webhook')).toBe(false);
  });
});

describe('readGatekeeperConfig problems', () => {
  const withMatch = (match: unknown) => ({ ...clusterConfig, spec: { match } });

  it.each<{ name: string; doc: unknown; problems: string[]; usable: boolean }>([
    {
      name: 'a Config not named config is never read by Gatekeeper',
      doc: { ...clusterConfig, metadata: { name: 'gatekeeper-config', namespace: 'gatekeeper-system' } },
      problems: ["metadata.name: config resource must have name 'config'"],
      usable: false,
    },
    {
      name: 'a version Gatekeeper does not serve',
      doc: { ...clusterConfig, apiVersion: 'config.gatekeeper.sh/v1beta1' },
      problems: [
        'apiVersion: no matches for kind "Config" in version "config.gatekeeper.sh/v1beta1": Gatekeeper serves Config only as config.gatekeeper.sh/v1alpha1',
      ],
      usable: false,
    },
    {
      name: 'an upper-case pattern is rejected by the CRD schema',
      doc: withMatch([{ excludedNamespaces: ['Kube-System'], processes: ['*'] }]),
      problems: [
        `spec.match[0].excludedNamespaces[0]: Invalid value: "Kube-System": spec.match[0].excludedNamespaces[0] in body should match '^\\*?[-:a-z0-9]*\\*?$'`,
      ],
      usable: false,
    },
    {
      name: 'spec.match written as a map',
      doc: withMatch({ excludedNamespaces: ['kube-system'], processes: ['*'] }),
      problems: ['spec.match: Invalid value: "object": spec.match in body must be of type array: "object"'],
      usable: false,
    },
    {
      name: 'an unknown process is ignored by Gatekeeper',
      doc: withMatch([{ excludedNamespaces: ['kube-system'], processes: ['admission'] }]),
      problems: [
        'spec.match[0].processes[0]: "admission" is not a Gatekeeper process (audit, webhook, sync, mutation-webhook or *); Gatekeeper ignores it',
      ],
      usable: true,
    },
    {
      name: 'an entry without processes excludes nothing',
      doc: withMatch([{ excludedNamespaces: ['kube-system'] }]),
      problems: ['spec.match[0].processes: no processes listed, so these excludedNamespaces exclude nothing'],
      usable: true,
    },
    {
      name: 'a misspelled field is pruned',
      doc: withMatch([{ excludedNamespace: ['kube-system'], processes: ['*'] }]),
      problems: ['spec.match[0].excludedNamespace: unknown field'],
      usable: true,
    },
  ])('$name', ({ doc, problems, usable }) => {
    const result = readGatekeeperConfig(doc);
    expect(result.problems).toEqual(problems);
    expect(result.config !== undefined).toBe(usable);
  });

  it('keeps the field path of each problem', () => {
    const result = readGatekeeperConfig(withMatch([{ excludedNamespaces: ['ok', 'Not_OK'], processes: ['*'] }]));
    expect(result.fieldProblems.map((p) => p.path)).toEqual([['spec', 'match', '0', 'excludedNamespaces', '1']]);
  });

  it('does not apply an unknown process to any real one', () => {
    const { config } = readGatekeeperConfig(withMatch([{ excludedNamespaces: ['kube-system'], processes: ['Webhook'] }]));
    expect(config!.isExcluded('kube-system', 'webhook')).toBe(false);
  });
});
