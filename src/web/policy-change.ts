// Enabling, disabling and changing the action of library policies through a pull request, from the
// compliance page. Three steps: a form (GET /compliance/change), a confirmation showing the diff and
// the violations the change would cause on the default branch (POST .../preview), and the pull
// request (POST .../open). Nothing is ever written to an existing branch: one commit on a new branch,
// and a pull request into the default branch, which the repository's own review rules then govern.
//
// Whose token writes: the signed-in user's. The user's token of a GitHub App can do only what both
// the user and the App's installation may, so GitHub itself refuses a user without write access,
// and the pull request is opened by (and its commit authored by) the person who asked for it: its
// author cannot approve it, as required reviews intend, and the history says who proposed the
// policy. The installation must hold `contents: write` and `pull_requests: write` (app.yml); where
// it does not yet, the pages say so and offer nothing.
//
// Authorization: a repository the user cannot read is 404 (like one that does not exist); one the
// user may read but not write to is 403 with a message. Both are asked of GitHub with the user's
// token on every step, never cached. Each POST carries the session's CSRF token.
import type { PrismaClient } from '@prisma/client';
import { checkRepo, type InputError, type PolicyDriver, type Renderer, type RepoSource, type Violation } from '../engine/index.js';
import { QueryError } from '../errors.js';
import { STANDARDS, type Catalog } from '../library/catalog.js';
import { isClusterProblem, planPolicyChange, sourceRepository, withPlan, type PolicyChange, type PolicyChangeRequest } from '../library/change.js';
import { ENFORCEMENT_ACTIONS, type EnforcementAction } from '../library/plan.js';
import type { Viewer } from './app.js';
import { comparableClusters, complianceView, libraryCatalog } from './compliance-data.js';
import { branchHead, commitTree, GitHubRefusal, missingAppPermissions, openPullRequest, repositoryAccess, type RepoName } from './github-repo.js';
import type { GitHubEndpoints } from './web-config.js';

/** What the overview needs from the rest of Parapet to preview and open changes (the composition root wires it). */
export interface PolicyChangeDeps {
  /** The engine the App evaluates the default branch with. */
  engine: { driver: PolicyDriver; renderer: Renderer };
  /** The tree of `sha`, read with the user's token as the App reads a commit. */
  readTree(token: string, repo: RepoName, sha: string): Promise<RepoSource>;
  limits?: { maxFileBytes?: number };
}

export const CHANGE_FORM = '/compliance/change';
export const CHANGE_PREVIEW = '/compliance/change/preview';
export const CHANGE_OPEN = '/compliance/change/open';
export const CHANGE_PAGES = new Set([CHANGE_FORM, CHANGE_PREVIEW, CHANGE_OPEN]);
export const CHANGE_POSTS = new Set([CHANGE_PREVIEW, CHANGE_OPEN]);

export const CHANGE_OPS = ['enable', 'action', 'disable'] as const;
export type ChangeOp = (typeof CHANGE_OPS)[number];

/** What the form says, read and checked. */
export interface ChangeForm {
  repo: string;
  cluster: string;
  op: ChangeOp;
  standard?: string;
  policies: string[];
  action?: EnforcementAction;
  /** `param.KEY` fields that are not empty, as typed (`--param KEY=VALUE`). */
  params: Record<string, string>;
  /** The default branch's commit the confirmation showed (open only). */
  base?: string;
}

const MAX_POLICIES = 200;
const MAX_PARAM_LENGTH = 4000;

/** A form's fields; a value that cannot be meant is a 400 naming it. `partial`: the first form, before anything is chosen. */
export function readChangeForm(params: URLSearchParams, partial = false): ChangeForm {
  const one = (name: string, max = 200) => {
    const values = params.getAll(name);
    if (values.length > 1) throw new QueryError(`${name} is given more than once`);
    const v = values[0];
    if (v === undefined || v === '') return undefined;
    if (v.length > max) throw new QueryError(`${name} is longer than ${max} characters`);
    if (/[\u0000-\u001f\u007f]/.test(v)) throw new QueryError(`${name} contains control characters`);
    return v;
  };
  const repo = one('repo');
  const cluster = one('cluster');
  if (!repo || !/^[^/\s]+\/[^/\s]+$/.test(repo)) throw new QueryError('repo must name a repository as owner/name');
  if (!cluster) throw new QueryError('cluster must name one of the repository\'s clusters');
  const op = one('op') ?? 'enable';
  if (!(CHANGE_OPS as readonly string[]).includes(op)) throw new QueryError(`op must be one of ${CHANGE_OPS.join(', ')}`);
  const standard = one('standard');
  if (standard !== undefined && !STANDARDS.some((s) => s.id === standard)) throw new QueryError(`standard must be one of ${STANDARDS.map((s) => s.id).join(', ')}`);
  const policies = [...new Set(params.getAll('policy').filter((p) => p !== ''))];
  if (policies.length > MAX_POLICIES) throw new QueryError(`at most ${MAX_POLICIES} policies at once`);
  for (const p of policies) if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(p)) throw new QueryError(`policy "${p.slice(0, 70)}" is not a policy name`);
  const action = one('action');
  if (action !== undefined && !(ENFORCEMENT_ACTIONS as readonly string[]).includes(action)) throw new QueryError(`action must be one of ${ENFORCEMENT_ACTIONS.join(', ')}`);
  const values: Record<string, string> = {};
  for (const [name] of params) {
    if (!name.startsWith('param.')) continue;
    const key = name.slice('param.'.length);
    if (!/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(key)) throw new QueryError(`${name.slice(0, 70)} is not a parameter name`);
    const value = one(name, MAX_PARAM_LENGTH);
    if (value !== undefined && value.trim() !== '') values[key] = value;
  }
  const base = one('base');
  if (base !== undefined && !/^[0-9a-f]{40}$/.test(base)) throw new QueryError('base must be a commit id');
  const form: ChangeForm = { repo, cluster, op: op as ChangeOp, policies, params: values, ...(standard ? { standard } : {}), ...(action ? { action: action as EnforcementAction } : {}), ...(base ? { base } : {}) };
  if (partial) return form;
  if (form.op === 'enable' && form.standard === undefined && policies.length === 0) throw new QueryError('choose a standard or at least one policy to enable');
  if (form.op === 'enable' && form.standard !== undefined && policies.length > 0) throw new QueryError('choose a standard or policies, not both');
  if (form.op !== 'enable' && form.standard !== undefined) throw new QueryError(`a standard can only be enabled; choose the policies to ${form.op === 'disable' ? 'disable' : 'change'}`);
  if (form.op !== 'enable' && policies.length === 0) throw new QueryError(`choose at least one policy to ${form.op === 'disable' ? 'disable' : 'change'}`);
  if (form.op === 'action' && form.action === undefined) throw new QueryError('choose the enforcement action to set');
  if (form.op !== 'enable' && Object.keys(values).length > 0) throw new QueryError('parameters are given when enabling');
  return form;
}

/** The default action of the form: warn first, so that what a policy would reject is seen before anything is rejected. */
export const DEFAULT_ACTION: EnforcementAction = 'warn';

export function changeRequest(form: ChangeForm): PolicyChangeRequest {
  if (form.op === 'disable') return { verb: 'disable', cluster: form.cluster, names: form.policies };
  return {
    verb: 'enable',
    cluster: form.cluster,
    names: form.policies,
    ...(form.standard !== undefined ? { standard: form.standard } : {}),
    action: form.action ?? DEFAULT_ACTION,
    ...(Object.keys(form.params).length > 0 ? { params: form.params } : {}),
  };
}

// --- Authorization ---------------------------------------------------------------------------------

export type Refusal = { status: 404 | 403 | 503; title: string; message: string };

/** Whether the user may change the cluster's policies: null when they may, else why not. */
export async function authorize(
  prisma: PrismaClient,
  github: GitHubEndpoints,
  v: Viewer,
  deps: PolicyChangeDeps | undefined,
  form: Pick<ChangeForm, 'repo' | 'cluster'>,
): Promise<{ refusal: Refusal } | { defaultBranch: string; repo: RepoName }> {
  const notFound: Refusal = { status: 404, title: 'Not found', message: 'There is no such page, or you cannot see it.' };
  if (!v.repos.includes(form.repo)) return { refusal: notFound };
  const clusters = await comparableClusters(prisma, v.repoIds);
  if (!clusters.some((c) => c.repo === form.repo && c.cluster === form.cluster)) return { refusal: notFound };
  const [owner, name] = form.repo.split('/') as [string, string];
  const repo = { owner, repo: name };
  const access = await repositoryAccess(github, v.session.token, repo);
  if (!access) return { refusal: notFound };
  if (!access.write) {
    return {
      refusal: {
        status: 403,
        title: 'You cannot change these policies',
        message: `You may read ${form.repo} but not write to it, so Parapet cannot open a pull request for you there. Ask someone with write access to the repository, or ask its admins for it.`,
      },
    };
  }
  if (!deps) return { refusal: { status: 503, title: 'Not available', message: 'This Parapet server does not open pull requests (it runs without the policy engine).' } };
  const missing = await missingAppPermissions(github, v.session.token, owner);
  if (missing === null || missing.length > 0) return { refusal: appPermissionRefusal(form.repo, missing) };
  return { defaultBranch: access.defaultBranch, repo };
}

function appPermissionRefusal(repo: string, missing: string[] | null): Refusal {
  const needs = missing && missing.length > 0 ? missing.join(' and ') : 'contents: write and pull_requests: write';
  return {
    status: 403,
    title: 'Parapet may not open pull requests here yet',
    message:
      missing === null
        ? `Parapet's GitHub App is not installed where your token can see it for ${repo}, so it cannot open a pull request there.`
        : `Parapet's GitHub App on ${repo.split('/')[0]} lacks ${needs}: enabling policies through a pull request is off until an owner of the installation accepts the App's new permissions (GitHub sends them the request; it waits on the installation's settings page).`,
  };
}

/** A GitHub refusal while writing, as a page can say it. */
export function writeRefusal(repo: string, error: unknown): Refusal | null {
  if (!(error instanceof GitHubRefusal)) return null;
  if (error.status === 403 && /not accessible by integration/i.test(error.githubMessage)) return appPermissionRefusal(repo, ['contents: write', 'pull_requests: write']);
  if (error.status === 403 || error.status === 404) return { status: 403, title: 'GitHub refused the change', message: `GitHub did not let your account write to ${repo}: ${error.githubMessage}.` };
  return null;
}

// --- The change and its preview --------------------------------------------------------------------

export interface ChangePreview {
  /** Violations of the changed policies: with the change (enable, action) or before it (disable). */
  violations: Violation[];
  /** Input errors the change brings (a policy that does not load). */
  errors: InputError[];
  /** Why the preview could not be made, when it could not. */
  failure?: string;
}

export interface PreparedChange {
  form: ChangeForm;
  request: PolicyChangeRequest;
  base: { sha: string; branch: string };
  change: PolicyChange;
  catalog: Catalog;
  tree: RepoSource;
}

/** Names whose files the plan changes. */
export function changedPolicies(change: PolicyChange): string[] {
  return change.plan.outcomes.filter((o) => o.outcome !== 'unchanged' && o.outcome !== 'not-enabled').map((o) => o.name);
}

/** The plan of the form over the default branch at `sha`; a problem is returned as data (shown, never thrown). */
export async function prepareChange(deps: PolicyChangeDeps, token: string, repo: RepoName, form: ChangeForm, base: { sha: string; branch: string }): Promise<PreparedChange | { problems: string[] }> {
  const catalog = await libraryCatalog();
  const tree = await deps.readTree(token, repo, base.sha);
  const request = changeRequest(form);
  const change = await planPolicyChange(catalog, sourceRepository(tree), request);
  if (isClusterProblem(change)) return { problems: [change.message.replace(': choose one with --cluster NAME', '')] };
  const problems = change.plan.problems.map((p) => p.message);
  if (form.op === 'action') {
    for (const o of change.plan.outcomes) if (o.outcome === 'enabled') problems.push(`${o.name} is not enabled in ${form.cluster}: enable it instead of changing its action`);
  }
  if (problems.length > 0) return { problems };
  return { form, request, base, change, catalog, tree };
}

const PREVIEW_LIMIT = 1000;

/** What the engine finds with the change on the default branch's objects, as the App evaluates it. */
export async function previewViolations(deps: PolicyChangeDeps, prepared: PreparedChange): Promise<ChangePreview> {
  const { change, form } = prepared;
  const names = new Set(changedPolicies(change));
  if (names.size === 0) return { violations: [], errors: [] };
  const source = form.op === 'disable' ? prepared.tree : withPlan(prepared.tree, change.plan);
  try {
    const report = await checkRepo(source, { ...deps.engine, clusters: [change.cluster.name], ...(deps.limits?.maxFileBytes ? { limits: { maxFileBytes: deps.limits.maxFileBytes } } : {}) });
    const cluster = report.clusters.find((c) => c.name === change.cluster.name);
    if (!cluster) return { violations: [], errors: report.errors, failure: `the evaluation has no cluster ${change.cluster.name}` };
    const folder = change.folder.path;
    const ours = (e: InputError) => folder === '' || e.location.file.startsWith(`${folder}/`);
    return {
      violations: cluster.violations.filter((v) => names.has(v.policy)).slice(0, PREVIEW_LIMIT),
      errors: form.op === 'disable' ? [] : [...report.errors, ...cluster.errors].filter(ours),
    };
  } catch (error) {
    return { violations: [], errors: [], failure: error instanceof Error ? error.message : String(error) };
  }
}

/** The current state of the cluster's policies, as the compliance matrix shows it (newest default-branch evaluation). */
export async function clusterPolicies(prisma: PrismaClient, v: Viewer, form: Pick<ChangeForm, 'repo' | 'cluster'>) {
  const view = await complianceView(prisma, v.repoIds, { repo: form.repo, cluster: form.cluster, differences: false, production: false });
  const column = view.columns.find((c) => c.repo === form.repo && c.cluster === form.cluster);
  const rows = view.groups.flatMap((g) => g.rows).filter((r) => r.source === 'library');
  const seen = new Set<string>();
  const state = rows
    .filter((r) => !seen.has(r.policy) && seen.add(r.policy))
    .map((r) => ({ policy: r.policy, title: r.title, cell: column ? r.cells[column.key]! : null }));
  return { column, state };
}

export { openPullRequest, branchHead, commitTree };
