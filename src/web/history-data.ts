// Who changed what and when, as the history page and /api/changes read it: the object changes the
// App recorded on the default branch (src/store/changes.ts), newest first, among the repositories
// the user may read, filtered; and one object's whole history (its changes, when each image
// version arrived, and the risk acceptances on it).
import type { Prisma, PrismaClient } from '@prisma/client';
import { QueryError } from '../errors.js';
import type { Viewer } from './app.js';
import type { PageRequest } from './http.js';
import type { PageInfo } from './overview-data.js';

export const CHANGES_PAGE = { limit: 50, maxLimit: 500 };
const CHANGE_TYPES = ['added', 'modified', 'removed', 'renamed'] as const;
const FIELDS = ['image', 'replicas', 'securityContext', 'resources', 'other'] as const;
const MAX_PARAM = 200;
const CONTROL = /[\u0000-\u001f\u007f]/;

export interface HistoryQuery {
  repo?: string;
  cluster?: string;
  /** '' selects cluster-scoped objects. */
  namespace?: string;
  application?: string;
  change?: (typeof CHANGE_TYPES)[number];
  kind?: string;
  field?: (typeof FIELDS)[number];
  /** A login: who pushed, opened or merged, or authored a commit read from the history. */
  person?: string;
  from?: Date;
  to?: Date;
}

/** The `namespace` value selecting cluster-scoped objects, as the overview's filters spell it. */
export const CLUSTER_SCOPED = '(cluster-scoped)';

/** The history's filters from the query string; a value that cannot be meant is a 400 naming it. */
export function readHistoryQuery(params: URLSearchParams): HistoryQuery {
  const get = (name: string) => {
    const v = params.get(name);
    if (v === null || v === '') return undefined;
    if (v.length > MAX_PARAM) throw new QueryError(`${name} is longer than ${MAX_PARAM} characters`);
    if (CONTROL.test(v)) throw new QueryError(`${name} contains control characters`);
    return v;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[]): T | undefined => {
    const v = get(name);
    if (v !== undefined && !allowed.includes(v as T)) throw new QueryError(`${name} must be one of ${allowed.join(', ')}`);
    return v as T | undefined;
  };
  const date = (name: string, endOfDay: boolean) => {
    const v = get(name);
    if (v === undefined) return undefined;
    // A day (the form's date input) covers the whole day; a time, that instant.
    const day = /^\d{4}-\d{2}-\d{2}$/.test(v);
    const at = new Date(day ? `${v}T${endOfDay ? '23:59:59.999' : '00:00:00.000'}Z` : v);
    if (Number.isNaN(at.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(v)) throw new QueryError(`${name} must be a date (YYYY-MM-DD) or an ISO 8601 time`);
    return at;
  };
  const namespace = get('namespace');
  const q: HistoryQuery = {
    repo: get('repo'),
    cluster: get('cluster'),
    namespace: namespace === CLUSTER_SCOPED ? '' : namespace,
    application: get('application'),
    change: oneOf('change', CHANGE_TYPES),
    kind: get('kind'),
    field: oneOf('field', FIELDS),
    person: get('person'),
    from: date('from', false),
    to: date('to', true),
  };
  if (q.from && q.to && q.from > q.to) throw new QueryError('from must not be after to');
  return Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined)) as HistoryQuery;
}

export interface FieldChangeView {
  path: string;
  before?: unknown;
  after?: unknown;
}

export interface ChangeRow {
  id: string;
  repo: string;
  cluster: string;
  change: string;
  apiVersion: string;
  kind: string;
  namespace: string | null;
  name: string;
  previousName: string | null;
  application: string | null;
  stage: string | null;
  fields: string[];
  diff: FieldChangeView[];
  /** Field changes left out of the stored diff (it keeps the first 50). */
  omitted: number;
  images: string[];
  file: string | null;
  commitSha: string;
  previousSha: string | null;
  pullRequest: number | null;
  openedBy: string | null;
  mergedBy: string | null;
  pushedBy: string | null;
  /**
   * A commit read from the history (no push names its pusher): its author, as the GitHub user its
   * email belongs to, and the name it carries; null for a push's change.
   */
  authorLogin: string | null;
  authorName: string | null;
  changedAt: string;
  backfilled: boolean;
}

/** How far back a cluster's history goes: the first commit whose objects were recorded. */
export interface HistoryHorizon {
  repo: string;
  cluster: string;
  sinceSha: string | null;
  since: string | null;
  /**
   * The commits whose changes were read back from the branch's history after installation
   * (PARAPET_HISTORY_BACKFILL), and whether that is over; null: none was (history recorded since
   * installation only).
   */
  backfill: { commits: number; finished: boolean; unread: UnreadCommit[] } | null;
}

/** A commit of the backfill whose changes could not be read (given up after its attempts), and why. */
export interface UnreadCommit {
  sha: string;
  error: string;
}

export interface ChangesView {
  page: PageInfo;
  rows: ChangeRow[];
  horizons: HistoryHorizon[];
  choices: { kinds: string[]; applications: string[] };
}

/** The readable repositories a `repo` filter leaves; null when it names one the user cannot read (404). */
function repositoryIds(v: Viewer, repo: string | undefined): bigint[] | null {
  if (repo === undefined) return v.repoIds;
  const i = v.repos.indexOf(repo);
  return i < 0 ? null : [v.repoIds[i]!];
}

function where(ids: bigint[], q: HistoryQuery): Prisma.ObjectChangeWhereInput {
  const and: Prisma.ObjectChangeWhereInput[] = [{ repositoryId: { in: ids } }];
  if (q.cluster !== undefined) and.push({ cluster: { name: q.cluster } });
  if (q.namespace !== undefined) and.push({ namespace: q.namespace });
  if (q.application !== undefined) and.push({ application: q.application });
  if (q.change !== undefined) and.push({ change: q.change });
  if (q.kind !== undefined) and.push({ kind: q.kind });
  if (q.field !== undefined) and.push({ fields: { has: q.field } });
  if (q.person !== undefined) and.push({ OR: [{ pushedBy: q.person }, { mergedBy: q.person }, { openedBy: q.person }, { authorLogin: q.person }] });
  if (q.from !== undefined) and.push({ changedAt: { gte: q.from } });
  if (q.to !== undefined) and.push({ changedAt: { lte: q.to } });
  return { AND: and };
}

const ROW_SELECT = {
  id: true,
  change: true,
  apiVersion: true,
  kind: true,
  namespace: true,
  name: true,
  previousName: true,
  application: true,
  stage: true,
  fields: true,
  diff: true,
  images: true,
  file: true,
  commitSha: true,
  previousSha: true,
  pullRequest: true,
  openedBy: true,
  mergedBy: true,
  pushedBy: true,
  authorLogin: true,
  authorName: true,
  changedAt: true,
  backfilled: true,
  cluster: { select: { name: true } },
  repository: { select: { owner: true, name: true } },
} satisfies Prisma.ObjectChangeSelect;

type Selected = Prisma.ObjectChangeGetPayload<{ select: typeof ROW_SELECT }>;

function changeRow(r: Selected): ChangeRow {
  const diff = (r.diff ?? {}) as { changes?: FieldChangeView[]; omitted?: number };
  return {
    id: String(r.id),
    repo: `${r.repository.owner}/${r.repository.name}`,
    cluster: r.cluster.name,
    change: r.change,
    apiVersion: r.apiVersion,
    kind: r.kind,
    namespace: r.namespace === '' ? null : r.namespace,
    name: r.name,
    previousName: r.previousName,
    application: r.application,
    stage: r.stage,
    fields: r.fields,
    diff: Array.isArray(diff.changes) ? diff.changes : [],
    omitted: typeof diff.omitted === 'number' ? diff.omitted : 0,
    images: r.images,
    file: r.file,
    commitSha: r.commitSha,
    previousSha: r.previousSha,
    pullRequest: r.pullRequest,
    openedBy: r.openedBy,
    mergedBy: r.mergedBy,
    pushedBy: r.pushedBy,
    authorLogin: r.authorLogin,
    authorName: r.authorName,
    changedAt: r.changedAt.toISOString(),
    backfilled: r.backfilled,
  };
}

const BACKFILL_SELECT = { done: true, finishedAt: true, givenUp: true } satisfies Prisma.HistoryBackfillSelect;

function backfillOf(row: { done: number; finishedAt: Date | null; givenUp: Prisma.JsonValue } | null): HistoryHorizon['backfill'] {
  if (!row) return null;
  const unread = (Array.isArray(row.givenUp) ? row.givenUp : []).flatMap((g) =>
    g && typeof g === 'object' && !Array.isArray(g) && typeof g.sha === 'string' ? [{ sha: g.sha, error: typeof g.error === 'string' ? g.error : 'unknown error' }] : [],
  );
  // `done` counts the steps passed, those given up too.
  return { commits: row.done - unread.length, finished: row.finishedAt !== null, unread };
}

/** The history page's data; null when `repo` names a repository the user cannot read. */
export async function changesView(prisma: PrismaClient, v: Viewer, q: HistoryQuery, page: PageRequest): Promise<ChangesView | null> {
  const ids = repositoryIds(v, q.repo);
  if (!ids) return null;
  const filter = where(ids, q);
  const [total, rows, clusters, kinds, applications] = await Promise.all([
    prisma.objectChange.count({ where: filter }),
    prisma.objectChange.findMany({ where: filter, select: ROW_SELECT, orderBy: [{ changedAt: 'desc' }, { id: 'asc' }], skip: (page.page - 1) * page.limit, take: page.limit }),
    prisma.cluster.findMany({
      where: { repositoryId: { in: ids }, ...(q.cluster !== undefined ? { name: q.cluster } : {}) },
      select: { name: true, historySha: true, historyAt: true, repository: { select: { owner: true, name: true, historyBackfill: { select: BACKFILL_SELECT } } } },
      orderBy: [{ repositoryId: 'asc' }, { name: 'asc' }],
    }),
    prisma.objectChange.findMany({ where: { repositoryId: { in: ids } }, select: { kind: true }, distinct: ['kind'], orderBy: { kind: 'asc' } }),
    prisma.objectChange.findMany({ where: { repositoryId: { in: ids }, application: { not: null } }, select: { application: true }, distinct: ['application'], orderBy: { application: 'asc' } }),
  ]);
  return {
    page: { page: page.page, limit: page.limit, total },
    rows: rows.map(changeRow),
    horizons: clusters.map((c) => ({ repo: `${c.repository.owner}/${c.repository.name}`, cluster: c.name, sinceSha: c.historySha, since: c.historyAt?.toISOString() ?? null, backfill: backfillOf(c.repository.historyBackfill) })),
    choices: { kinds: kinds.map((k) => k.kind), applications: applications.map((a) => a.application!).filter(Boolean) },
  };
}

export interface ObjectKey {
  repo: string;
  cluster: string;
  kind: string;
  /** '' for a cluster-scoped object. */
  namespace: string;
  name: string;
}

/** The object an object page names; each part required. */
export function readObjectKey(params: URLSearchParams): ObjectKey {
  const need = (name: string) => {
    const v = params.get(name);
    if (v === null || v === '') throw new QueryError(`${name} is required: the object is named by repo, cluster, kind, namespace (empty for cluster-scoped objects) and name`);
    if (v.length > MAX_PARAM) throw new QueryError(`${name} is longer than ${MAX_PARAM} characters`);
    if (CONTROL.test(v)) throw new QueryError(`${name} contains control characters`);
    return v;
  };
  const namespace = params.get('namespace') ?? '';
  if (namespace.length > MAX_PARAM || CONTROL.test(namespace)) throw new QueryError('namespace is not a namespace name');
  return { repo: need('repo'), cluster: need('cluster'), kind: need('kind'), namespace: namespace === CLUSTER_SCOPED ? '' : namespace, name: need('name') };
}

export interface ImageArrival {
  image: string;
  changedAt: string;
  commitSha: string;
  pullRequest: number | null;
  mergedBy: string | null;
  pushedBy: string | null;
  /** A backfilled commit's author (see ChangeRow). */
  authorLogin: string | null;
  authorName: string | null;
  /** Still run by the object now (else replaced later, or the object was removed). */
  current: boolean;
}

export interface ObjectAcceptance {
  policy: string;
  level: string;
  reason: string;
  introducedSha: string | null;
  introducedPullRequest: number | null;
  introducedPushedBy: string | null;
  introducedOpenedBy: string | null;
  introducedMergedBy: string | null;
  introducedAt: string | null;
  firstSeenAt: string;
  removedAt: string | null;
}

export interface ObjectHistory {
  object: ObjectKey;
  /** The object as the cluster applies it now; null when it was removed (or never recorded). */
  current: { apiVersion: string; file: string | null; images: string[]; application: string | null; stage: string | null } | null;
  horizon: HistoryHorizon;
  /** Newest first; includes the changes under a name it was renamed from. */
  changes: ChangeRow[];
  images: ImageArrival[];
  acceptances: ObjectAcceptance[];
}

/** Most changes one object page lists: the object's whole history in any realistic repository. */
const OBJECT_CHANGES = 1000;

/** One object's whole history; null when the user cannot read its repository or nothing is known of it (404). */
export async function objectHistory(prisma: PrismaClient, v: Viewer, key: ObjectKey): Promise<ObjectHistory | null> {
  const ids = repositoryIds(v, key.repo);
  if (!ids) return null;
  const cluster = await prisma.cluster.findFirst({
    where: { repositoryId: ids[0]!, name: key.cluster },
    select: { id: true, historySha: true, historyAt: true, repository: { select: { historyBackfill: { select: BACKFILL_SELECT } } } },
  });
  if (!cluster) return null;
  const base = { clusterId: cluster.id, kind: key.kind, namespace: key.namespace };
  // The names it had: followed back through renames.
  const names = [key.name];
  for (let i = 0; i < names.length && i < 20; i++) {
    const renamed = await prisma.objectChange.findMany({ where: { ...base, change: 'renamed', name: names[i]! }, select: { previousName: true }, distinct: ['previousName'] });
    for (const r of renamed) if (r.previousName && !names.includes(r.previousName)) names.push(r.previousName);
  }
  const [state, rows, acceptances] = await Promise.all([
    prisma.objectState.findFirst({ where: { ...base, name: key.name }, select: { apiVersion: true, file: true, images: true, application: true, stage: true } }),
    prisma.objectChange.findMany({ where: { ...base, name: { in: names } }, select: ROW_SELECT, orderBy: [{ changedAt: 'desc' }, { id: 'asc' }], take: OBJECT_CHANGES }),
    prisma.riskAcceptance.findMany({
      where: { clusterId: cluster.id, objectKind: key.kind, objectNamespace: key.namespace, objectName: key.name },
      orderBy: [{ firstSeenAt: 'asc' }, { policy: 'asc' }],
    }),
  ]);
  if (!state && rows.length === 0 && acceptances.length === 0) return null;
  const changes = rows.map(changeRow);
  const images: ImageArrival[] = [];
  let running = new Set<string>();
  for (const c of [...changes].reverse()) {
    const now = c.change === 'removed' ? new Set<string>() : new Set(c.images);
    for (const image of c.images) {
      if (c.change !== 'removed' && !running.has(image)) images.push({ image, changedAt: c.changedAt, commitSha: c.commitSha, pullRequest: c.pullRequest, mergedBy: c.mergedBy, pushedBy: c.pushedBy, authorLogin: c.authorLogin, authorName: c.authorName, current: false });
    }
    running = now;
  }
  const currentImages = new Set(state?.images ?? []);
  for (const arrival of images) arrival.current = currentImages.has(arrival.image);
  // The newest arrival of each image running now is the one still current.
  for (const image of currentImages) {
    const all = images.filter((a) => a.image === image);
    for (const older of all.slice(0, -1)) older.current = false;
  }
  return {
    object: key,
    current: state,
    horizon: { repo: key.repo, cluster: key.cluster, sinceSha: cluster.historySha, since: cluster.historyAt?.toISOString() ?? null, backfill: backfillOf(cluster.repository.historyBackfill) },
    changes,
    images: images.reverse(),
    acceptances: acceptances.map((a) => ({
      policy: a.policy,
      level: a.level,
      reason: a.reason,
      introducedSha: a.introducedSha,
      introducedPullRequest: a.introducedPullRequest,
      introducedPushedBy: a.introducedPushedBy,
      introducedOpenedBy: a.introducedOpenedBy,
      introducedMergedBy: a.introducedMergedBy,
      introducedAt: a.introducedAt?.toISOString() ?? null,
      firstSeenAt: a.firstSeenAt.toISOString(),
      removedAt: a.removedAt?.toISOString() ?? null,
    })),
  };
}
