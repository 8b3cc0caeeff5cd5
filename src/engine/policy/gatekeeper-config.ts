// Gatekeeper's `Config` resource: namespace exclusions per process, and the kinds it syncs into
// `data.inventory` (spec.sync.syncOnly; pkg/controller/config: only those kinds are watched and cached).
// Sources: GK apis/config/v1alpha1/config_types.go (shape), pkg/controller/config/process/excluder.go
// (Add expands `*`; IsNamespaceExcluded uses a Namespace's own name, else metadata.namespace, against
// wildcards), pkg/webhook/policy.go validateConfigResource (the name must be `config`).

import { compileWildcardList, WILDCARD_PATTERN, WILDCARD_PATTERN_SOURCE } from './wildcard.js';
import { type FieldProblem, formatFieldPath, invalid, wrongType } from '../go/field-errors.js';
import { goQuote } from '../go/quote.js';
import { isRecord } from '../model.js';

export const CONFIG_GROUP = 'config.gatekeeper.sh';
export const CONFIG_API_VERSION = 'config.gatekeeper.sh/v1alpha1';
export const CONFIG_NAME = 'config';

export type ConfigProcess = 'audit' | 'webhook' | 'sync' | 'mutation-webhook';

/** What `*` stands for (excluder.go allProcesses). */
export const CONFIG_PROCESSES: readonly ConfigProcess[] = ['audit', 'webhook', 'mutation-webhook', 'sync'];

/** A kind Gatekeeper syncs into `data.inventory`, as a Config's syncOnly or a SyncSet's gvks name it. */
export interface SyncedKind {
  group: string;
  version: string;
  kind: string;
}

/** Whether two synced kinds name the same group, version and kind. */
export function sameKind(a: SyncedKind, b: SyncedKind): boolean {
  return a.group === b.group && a.version === b.version && a.kind === b.kind;
}

/** A synced kind as one string, for a Set of kinds. */
export function syncedKindKey(k: SyncedKind): string {
  return `${k.group}/${k.version}/${k.kind}`;
}

export interface GatekeeperConfig {
  /** The kinds `spec.sync.syncOnly` names: the only ones in `data.inventory` (with the SyncSets'). */
  syncOnly: readonly SyncedKind[];
  /** The patterns that exclude namespaces from each process, as written. */
  excludedNamespaces: Readonly<Record<ConfigProcess, readonly string[]>>;
  /**
   * Whether `process` ignores objects in `namespaceName` (for a Namespace object, pass its own name; for a
   * cluster-scoped object, ''). Note that Gatekeeper compares '' too, so a `*` pattern excludes
   * cluster-scoped objects from that process as well.
   */
  isExcluded(namespaceName: string, process: ConfigProcess): boolean;
}

export interface GatekeeperConfigResult {
  /** Absent when Gatekeeper would not use this document at all (wrong name, or rejected by the CRD schema). */
  config?: GatekeeperConfig;
  /** Messages prefixed with the field path they concern. */
  problems: string[];
  /** The same problems with their paths, for callers that point at the YAML. */
  fieldProblems: FieldProblem[];
}

export function isGatekeeperConfigDocument(value: unknown): boolean {
  return (
    isRecord(value) &&
    value['kind'] === 'Config' &&
    typeof value['apiVersion'] === 'string' &&
    value['apiVersion'].startsWith(`${CONFIG_GROUP}/`)
  );
}

/** Reads a Config document; problems say what Gatekeeper or the API server would make of it. */
export function readGatekeeperConfig(doc: unknown): GatekeeperConfigResult {
  const problems: FieldProblem[] = [];
  // `usable` turns false for what stops the document reaching Gatekeeper at all; other problems are
  // things Gatekeeper silently ignores.
  let usable = true;
  const fail = (p: FieldProblem, fatal: boolean) => {
    problems.push(p);
    if (fatal) usable = false;
  };

  const root = isRecord(doc) ? doc : {};
  const apiVersion = root['apiVersion'];
  if (apiVersion !== CONFIG_API_VERSION) {
    fail(
      {
        path: ['apiVersion'],
        message: `apiVersion: no matches for kind "Config" in version ${goQuote(String(apiVersion))}: Gatekeeper serves Config only as ${CONFIG_API_VERSION}`,
      },
      true,
    );
  }
  const metadata = isRecord(root['metadata']) ? root['metadata'] : {};
  if (metadata['name'] !== CONFIG_NAME) {
    // The admission webhook refuses other names, and the controller only ever reads `config`.
    fail({ path: ['metadata', 'name'], message: "metadata.name: config resource must have name 'config'" }, true);
  }

  const excluded: Record<ConfigProcess, string[]> = { audit: [], webhook: [], sync: [], 'mutation-webhook': [] };
  const spec = root['spec'];
  const match = isRecord(spec) ? spec['match'] : undefined;
  if (spec !== undefined && spec !== null && !isRecord(spec)) fail(wrongType(['spec'], 'object', spec), true);
  if (match !== undefined && match !== null) {
    if (!Array.isArray(match)) {
      fail(wrongType(['spec', 'match'], 'array', match), true);
    } else {
      match.forEach((entry, i) => readEntry(entry, ['spec', 'match', String(i)], excluded, fail));
    }
  }

  const sync = isRecord(spec) ? spec['sync'] : undefined;
  let syncOnly: SyncedKind[] = [];
  if (sync !== undefined && sync !== null) {
    if (!isRecord(sync)) fail(wrongType(['spec', 'sync'], 'object', sync), true);
    else syncOnly = readSyncedKinds(sync['syncOnly'], ['spec', 'sync', 'syncOnly'], fail);
  }

  const result: GatekeeperConfigResult = {
    problems: problems.map((p) => p.message),
    fieldProblems: problems,
  };
  if (usable) result.config = makeConfig(excluded, syncOnly);
  return result;
}

/** The name the brief and callers use interchangeably. */
export const parseGatekeeperConfig = readGatekeeperConfig;

export function isExcluded(config: GatekeeperConfig, namespaceName: string, process: ConfigProcess): boolean {
  return config.isExcluded(namespaceName, process);
}

function readEntry(
  entry: unknown,
  path: string[],
  excluded: Record<ConfigProcess, string[]>,
  fail: (p: FieldProblem, fatal: boolean) => void,
): void {
  if (!isRecord(entry)) {
    fail(wrongType(path, 'object', entry), true);
    return;
  }
  const patterns: string[] = [];
  const rawPatterns = entry['excludedNamespaces'];
  if (rawPatterns !== undefined && rawPatterns !== null) {
    if (!Array.isArray(rawPatterns)) fail(wrongType([...path, 'excludedNamespaces'], 'array', rawPatterns), true);
    else {
      rawPatterns.forEach((p, i) => {
        const itemPath = [...path, 'excludedNamespaces', String(i)];
        if (typeof p !== 'string') fail(wrongType(itemPath, 'string', p), true);
        else if (!WILDCARD_PATTERN.test(p)) {
          fail(invalid(itemPath, p, `${formatFieldPath(itemPath)} in body should match '${WILDCARD_PATTERN_SOURCE}'`), true);
        } else patterns.push(p);
      });
    }
  }

  const processes = new Set<ConfigProcess>();
  const rawProcesses = entry['processes'];
  if (rawProcesses !== undefined && rawProcesses !== null) {
    if (!Array.isArray(rawProcesses)) fail(wrongType([...path, 'processes'], 'array', rawProcesses), true);
    else {
      rawProcesses.forEach((p, i) => {
        const itemPath = [...path, 'processes', String(i)];
        if (typeof p !== 'string') fail(wrongType(itemPath, 'string', p), true);
        else if (p === '*') for (const all of CONFIG_PROCESSES) processes.add(all);
        else if ((CONFIG_PROCESSES as readonly string[]).includes(p)) processes.add(p as ConfigProcess);
        else {
          // The CRD accepts any string; Gatekeeper files it under a process nobody asks about.
          fail(
            {
              path: itemPath,
              message: `${formatFieldPath(itemPath)}: ${goQuote(p)} is not a Gatekeeper process (audit, webhook, sync, mutation-webhook or *); Gatekeeper ignores it`,
            },
            false,
          );
        }
      });
    }
  }
  if (patterns.length > 0 && (!Array.isArray(rawProcesses) || rawProcesses.length === 0)) {
    fail(
      {
        path: [...path, 'processes'],
        message: `${formatFieldPath([...path, 'processes'])}: no processes listed, so these excludedNamespaces exclude nothing`,
      },
      false,
    );
  }

  for (const key of Object.keys(entry)) {
    if (key !== 'excludedNamespaces' && key !== 'processes') {
      // The API server prunes unknown fields; say so instead of letting a typo pass silently.
      fail({ path: [...path, key], message: `${formatFieldPath([...path, key])}: unknown field` }, false);
    }
  }

  for (const process of processes) excluded[process].push(...patterns);
}

/** A list of {group, version, kind} (a Config's syncOnly, a SyncSet's gvks); the CRD types each field as a string. */
export function readSyncedKinds(raw: unknown, path: string[], fail: (p: FieldProblem, fatal: boolean) => void): SyncedKind[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    fail(wrongType(path, 'array', raw), true);
    return [];
  }
  const kinds: SyncedKind[] = [];
  raw.forEach((entry, i) => {
    const itemPath = [...path, String(i)];
    if (!isRecord(entry)) return fail(wrongType(itemPath, 'object', entry), true);
    const field = (name: 'group' | 'version' | 'kind') => {
      const value = entry[name];
      if (value === undefined || value === null) return '';
      if (typeof value !== 'string') fail(wrongType([...itemPath, name], 'string', value), true);
      return typeof value === 'string' ? value : '';
    };
    kinds.push({ group: field('group'), version: field('version'), kind: field('kind') });
  });
  return kinds;
}

function makeConfig(excluded: Record<ConfigProcess, string[]>, syncOnly: SyncedKind[]): GatekeeperConfig {
  const tests = {} as Record<ConfigProcess, (ns: string) => boolean>;
  for (const process of CONFIG_PROCESSES) {
    const patterns = excluded[process];
    tests[process] = patterns.length === 0 ? () => false : compileWildcardList(patterns);
  }
  const frozen = Object.freeze({
    audit: Object.freeze([...new Set(excluded.audit)]),
    webhook: Object.freeze([...new Set(excluded.webhook)]),
    sync: Object.freeze([...new Set(excluded.sync)]),
    'mutation-webhook': Object.freeze([...new Set(excluded['mutation-webhook'])]),
  });
  return {
    syncOnly: Object.freeze(syncOnly),
    excludedNamespaces: frozen,
    isExcluded: (namespaceName, process) => tests[process]?.(namespaceName) ?? false,
  };
}


