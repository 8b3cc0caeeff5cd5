// Who changed what and when. Each cluster's applied objects (after rendering) on the default
// branch are kept as last recorded (object_states); the next recorded commit's objects are
// compared with them, and each object added, modified, removed or renamed becomes a row of
// object_changes with its field-level diff, the commit, and the pull request and people GitHub
// reported for it. The first state recorded for a cluster is its history's beginning
// (history_sha): it is no change of anything.
//
// Renamed: a removed and an added object of the same API group, kind and namespace whose content
// is the same but for their metadata.name (object-diff.ts renameKey). Only a pair that is unique
// on both sides is a rename; when several removed or added objects share the key, which became
// which cannot be told, and they stay removals and additions.
import type { Prisma, PrismaClient } from '@prisma/client';
import type { AppliedObject, ApplicationConfig } from '../engine/index.js';
import { contentHash, diffObjects, objectImages, renameKey, type ChangeType, type FieldChange } from './object-diff.js';
import { ensureCluster } from './repositories.js';

/** The pull request and people GitHub reported for a commit; null where it did not say. */
export interface ChangeAttribution {
  pullRequest: number | null;
  openedBy: string | null;
  mergedBy: string | null;
  pushedBy: string | null;
}

export const UNATTRIBUTED: ChangeAttribution = { pullRequest: null, openedBy: null, mergedBy: null, pushedBy: null };

export interface ObjectChangesInput {
  repositoryId: number | bigint;
  cluster: string;
  commitSha: string;
  /** The record's time (push order); an older one than the cluster's recorded objects changes nothing. */
  at: Date;
  objects: readonly AppliedObject[];
  /** The repository's Applications at this commit: the stage each object belongs to. */
  applications: readonly ApplicationConfig[];
  attribution: ChangeAttribution;
  /** Read from the branch's history at installation rather than from a push. */
  backfilled?: boolean;
}

export interface ObjectChangesResult {
  /** False when a newer state of the cluster's objects is recorded already (nothing written). */
  recorded: boolean;
  /** The cluster's first state: its history begins here. */
  baseline: boolean;
  changes: number;
}

interface StateRow {
  apiGroup: string;
  kind: string;
  namespace: string;
  name: string;
  apiVersion: string;
  hash: string;
  renameKey: string;
  content: Record<string, unknown>;
  application: string | null;
  stage: string | null;
  images: string[];
  file: string | null;
}

interface StoredState extends Omit<StateRow, 'content'> {
  id: bigint;
}

const identity = (s: Pick<StateRow, 'apiGroup' | 'kind' | 'namespace' | 'name'>) => JSON.stringify([s.apiGroup, s.kind, s.namespace, s.name]);
const renameGroup = (s: Pick<StateRow, 'apiGroup' | 'kind' | 'namespace' | 'renameKey'>) => JSON.stringify([s.apiGroup, s.kind, s.namespace, s.renameKey]);

/** The Application stage of an object, as the overview attributes images: the stage's target namespace, else its resources path. */
export function stageOf(applications: readonly ApplicationConfig[], cluster: string, namespace: string, file: string): { application: string; stage: string } | null {
  let best: { application: string; stage: string; weight: number } | null = null;
  for (const app of applications) {
    for (const stage of app.stages) {
      if (stage.clusterName !== cluster) continue;
      // A target namespace names the stage's objects exactly; a path, by its longest match.
      const weight = stage.targetNamespace ? (stage.targetNamespace === namespace ? Number.MAX_SAFE_INTEGER : -1) : underPath(file, stage.resourcesPath) ? stage.resourcesPath.length : -1;
      if (weight >= 0 && (!best || weight > best.weight)) best = { application: app.name, stage: stage.name, weight };
    }
  }
  return best && { application: best.application, stage: best.stage };
}

function underPath(file: string, folder: string): boolean {
  const f = folder.replace(/^\.?\/+|\/+$/g, '');
  return f === '' || file === f || file.startsWith(`${f}/`);
}

function stateOf(applied: AppliedObject, cluster: string, applications: readonly ApplicationConfig[]): StateRow {
  const { object, location } = applied;
  const slash = object.apiVersion.lastIndexOf('/');
  const namespace = typeof object.metadata.namespace === 'string' ? object.metadata.namespace : '';
  const stage = stageOf(applications, cluster, namespace, location.file);
  return {
    apiGroup: slash < 0 ? '' : object.apiVersion.slice(0, slash),
    kind: object.kind,
    namespace,
    name: String(object.metadata.name ?? ''),
    apiVersion: object.apiVersion,
    hash: contentHash(object),
    renameKey: renameKey(object),
    content: object,
    application: stage?.application ?? null,
    stage: stage?.stage ?? null,
    images: objectImages(object),
    file: location.file,
  };
}

/**
 * Compares the cluster's objects at `commitSha` with those last recorded and records what changed;
 * then they are the cluster's recorded objects. One transaction, the cluster's row locked: two
 * pushes of one repository recorded at once are compared one after the other, in push order.
 */
export async function recordObjectChanges(prisma: PrismaClient, input: ObjectChangesInput): Promise<ObjectChangesResult> {
  const clusterId = await ensureCluster(prisma, input.repositoryId, input.cluster);
  const next = new Map<string, StateRow>();
  for (const applied of input.objects) {
    const state = stateOf(applied, input.cluster, input.applications);
    // Declared twice is an input error of the check; the first declaration is the one kept.
    if (!next.has(identity(state))) next.set(identity(state), state);
  }
  return prisma.$transaction(
    async (tx) => {
      const [cluster] = await tx.$queryRaw<{ objects_sha: string | null; objects_at: Date | null }[]>`
        SELECT objects_sha, objects_at FROM clusters WHERE id = ${clusterId} FOR UPDATE`;
      if (cluster!.objects_at !== null && cluster!.objects_at.getTime() >= input.at.getTime()) return { recorded: false, baseline: false, changes: 0 };
      const baseline = cluster!.objects_at === null;
      const stored = await tx.objectState.findMany({
        where: { clusterId },
        select: { id: true, apiGroup: true, kind: true, namespace: true, name: true, apiVersion: true, hash: true, renameKey: true, application: true, stage: true, images: true, file: true },
      });
      const previous = new Map(stored.map((s) => [identity(s), s as StoredState]));
      // Only the former content of modified and renamed objects is read: the rest is known by its hashes.
      const readFormer = async (ids: bigint[]) => {
        const former = new Map<bigint, unknown>();
        for (let i = 0; i < ids.length; i += 1000) {
          const rows = await tx.objectState.findMany({ where: { id: { in: ids.slice(i, i + 1000) } }, select: { id: true, content: true } });
          for (const row of rows) former.set(row.id, row.content);
        }
        return former;
      };
      const common = {
        repositoryId: BigInt(input.repositoryId),
        clusterId,
        commitSha: input.commitSha,
        previousSha: cluster!.objects_sha,
        ...input.attribution,
        changedAt: input.at,
        backfilled: input.backfilled ?? false,
      };
      const { changes, added, modified, removed } = await compareStates(previous, next, readFormer, baseline ? null : common);
      for (let i = 0; i < changes.length; i += 1000) await tx.objectChange.createMany({ data: changes.slice(i, i + 1000) });

      // The recorded objects become this commit's: rows gone or changed are replaced.
      const stale = [...removed, ...modified].map((key) => previous.get(key)!.id);
      for (let i = 0; i < stale.length; i += 5000) await tx.objectState.deleteMany({ where: { id: { in: stale.slice(i, i + 5000) } } });
      const fresh = [...added, ...modified].map((key) => next.get(key)!);
      for (let i = 0; i < fresh.length; i += 1000) {
        await tx.objectState.createMany({ data: fresh.slice(i, i + 1000).map((s) => ({ clusterId, ...s, content: s.content as Prisma.InputJsonValue })) });
      }
      await tx.cluster.update({
        where: { id: clusterId },
        data: { objectsSha: input.commitSha, objectsAt: input.at, ...(baseline ? { historySha: input.commitSha, historyAt: input.at } : {}) },
      });
      return { recorded: true, baseline, changes: changes.length };
    },
    { timeout: 60_000, maxWait: 60_000 },
  );
}

type ChangeCommon = Omit<Prisma.ObjectChangeCreateManyInput, 'change' | 'apiGroup' | 'apiVersion' | 'kind' | 'namespace' | 'name' | 'previousName' | 'application' | 'stage' | 'fields' | 'diff' | 'images' | 'file'>;

/**
 * What changed from `previous` to `next` (by identity): the keys added, modified and removed, and
 * with `common` (null for a cluster's first state, which is no change) the change rows, each
 * modification and rename with its diff against the former content `readFormer` gives by id.
 * A push compares with the stored states, a backfill two commits it rendered.
 */
async function compareStates(
  previous: ReadonlyMap<string, StoredState>,
  next: ReadonlyMap<string, StateRow>,
  readFormer: (ids: bigint[]) => Promise<Map<bigint, unknown>>,
  common: ChangeCommon | null,
): Promise<{ changes: Prisma.ObjectChangeCreateManyInput[]; added: string[]; modified: string[]; removed: string[] }> {
  const modified = [...next].filter(([key, state]) => previous.has(key) && previous.get(key)!.hash !== state.hash).map(([key]) => key);
  const added = [...next.keys()].filter((key) => !previous.has(key));
  const removed = [...previous.keys()].filter((key) => !next.has(key));
  const changes: Prisma.ObjectChangeCreateManyInput[] = [];
  if (!common) return { changes, added, modified, removed };
  const renames = pairRenames(added.map((k) => next.get(k)!), removed.map((k) => previous.get(k)!));
  const former = await readFormer([...modified.map((key) => previous.get(key)!.id), ...[...renames.byAdded.values()].map((s) => s.id)]);
  const row = (change: ChangeType, state: Omit<StateRow, 'content' | 'hash' | 'renameKey'>, diff: { changes: FieldChange[]; omitted: number }, fields: string[], previousName: string | null = null) => ({
    ...common,
    change,
    apiGroup: state.apiGroup,
    apiVersion: state.apiVersion,
    kind: state.kind,
    namespace: state.namespace,
    name: state.name,
    previousName,
    application: state.application,
    stage: state.stage,
    fields,
    diff: diff as unknown as Prisma.InputJsonValue,
    images: state.images,
    file: state.file,
  });
  const none = { changes: [], omitted: 0 };
  for (const key of added) {
    const state = next.get(key)!;
    const from = renames.byAdded.get(key);
    if (from) {
      const diff = diffObjects(former.get(from.id), state.content);
      changes.push(row('renamed', state, { changes: diff.changes, omitted: diff.omitted }, [], from.name));
    } else changes.push(row('added', state, none, []));
  }
  for (const key of modified) {
    const state = next.get(key)!;
    const diff = diffObjects(former.get(previous.get(key)!.id), state.content);
    changes.push(row('modified', state, { changes: diff.changes, omitted: diff.omitted }, diff.fields));
  }
  for (const key of removed) if (!renames.removed.has(key)) changes.push(row('removed', previous.get(key)!, none, []));
  return { changes, added, modified, removed };
}

/**
 * The changes a backfilled commit made to a cluster's objects: `older` (its first parent's
 * objects) against `newer` (its own), compared as a push is, without the stored states (which
 * hold the branch's newest objects). Written by the caller with the backfill's progress.
 */
export async function changesBetween(input: {
  older: readonly AppliedObject[];
  newer: readonly AppliedObject[];
  cluster: string;
  applications: { older: readonly ApplicationConfig[]; newer: readonly ApplicationConfig[] };
  common: ChangeCommon;
}): Promise<Prisma.ObjectChangeCreateManyInput[]> {
  const states = (objects: readonly AppliedObject[], applications: readonly ApplicationConfig[]) => {
    const map = new Map<string, StateRow>();
    for (const applied of objects) {
      const state = stateOf(applied, input.cluster, applications);
      if (!map.has(identity(state))) map.set(identity(state), state);
    }
    return map;
  };
  const contents = new Map<bigint, unknown>();
  const previous = new Map<string, StoredState>();
  for (const [key, { content, ...state }] of states(input.older, input.applications.older)) {
    const id = BigInt(previous.size);
    contents.set(id, content);
    previous.set(key, { ...state, id });
  }
  const { changes } = await compareStates(previous, states(input.newer, input.applications.newer), async () => contents, input.common);
  return changes;
}

/** Added objects that are removed ones renamed: pairs unique on both sides (see the top of this file). */
function pairRenames(added: readonly StateRow[], removed: readonly StoredState[]): { byAdded: Map<string, StoredState>; removed: Set<string> } {
  const addedBy = new Map<string, StateRow[]>();
  for (const state of added) addedBy.set(renameGroup(state), [...(addedBy.get(renameGroup(state)) ?? []), state]);
  const removedBy = new Map<string, StoredState[]>();
  for (const state of removed) removedBy.set(renameGroup(state), [...(removedBy.get(renameGroup(state)) ?? []), state]);
  const byAdded = new Map<string, StoredState>();
  const pairedRemoved = new Set<string>();
  for (const [group, ins] of addedBy) {
    const outs = removedBy.get(group);
    if (ins.length !== 1 || outs?.length !== 1) continue;
    byAdded.set(identity(ins[0]!), outs[0]!);
    pairedRemoved.add(identity(outs[0]!));
  }
  return { byAdded, removed: pairedRemoved };
}
