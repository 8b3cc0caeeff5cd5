// The routes of a policy change (src/web/policy-change.ts says what each step does and who may take
// it): the caller has checked the session and listed the readable repositories.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PrismaClient } from '@prisma/client';
import { QueryError } from '../errors.js';
import { readLimitedBody, refuseTooLarge } from '../http-body.js';
import type { Viewer } from './app.js';
import { libraryCatalog } from './compliance-data.js';
import { sendHtml } from './http.js';
import {
  authorize,
  branchHead,
  CHANGE_FORM,
  CHANGE_PREVIEW,
  clusterPolicies,
  commitTree,
  openPullRequest,
  prepareChange,
  previewViolations,
  readChangeForm,
  writeRefusal,
  type ChangeForm,
  type PolicyChangeDeps,
} from './policy-change.js';
import { changeBranch, changeText } from './policy-change-text.js';
import { safeEqual } from './session.js';
import { messagePage } from './views/layout.js';
import type { PageContext } from './views/pages.js';
import { changeFormPage, confirmPage, openedPage } from './views/policy-change.js';
import type { GitHubEndpoints } from './web-config.js';

/** A form of a standard's worth of policies and parameters is far smaller. */
const MAX_FORM_BYTES = 64 * 1024;

export interface ChangeRouteContext {
  prisma: PrismaClient;
  github: GitHubEndpoints;
  publicUrl: string;
  deps: PolicyChangeDeps | undefined;
}

export async function changeRoute(c: ChangeRouteContext, req: IncomingMessage, res: ServerResponse, url: URL, v: Viewer): Promise<void> {
  const user = { login: v.session.login, csrf: v.session.csrf };
  let params = url.searchParams;
  if (req.method === 'POST') {
    const body = await readLimitedBody(req, MAX_FORM_BYTES);
    if (body === 'too-large') return refuseTooLarge(res, 'text/html; charset=utf-8', messagePage('Too large', `A policy change form is smaller than ${MAX_FORM_BYTES} bytes.`, user).toString());
    params = new URLSearchParams(body.toString('utf8'));
    if (!safeEqual(params.get('csrf') ?? '', v.session.csrf)) {
      return sendHtml(res, 403, messagePage('Forbidden', 'The form had no valid CSRF token. Reload the page and try again.', user));
    }
  }
  let form: ChangeForm;
  try {
    form = readChangeForm(params, url.pathname === CHANGE_FORM);
  } catch (error) {
    if (!(error instanceof QueryError)) throw error;
    return sendHtml(res, 400, messagePage('Bad request', `This change cannot be made: ${error.message}.`, user));
  }
  const ctx: PageContext = { user, filters: {}, choices: { repos: v.repos, clusters: [], namespaces: [], policies: [] }, githubUrl: c.github.webUrl };
  const allowed = await authorize(c.prisma, c.github, v, c.deps, form);
  if ('refusal' in allowed) return sendHtml(res, allowed.refusal.status, messagePage(allowed.refusal.title, allowed.refusal.message, user));
  const deps = c.deps!;
  const token = v.session.token;
  const again = async (problems: string[]) => {
    const { column, state } = await clusterPolicies(c.prisma, v, form);
    sendHtml(res, 422, changeFormPage(ctx, form, await libraryCatalog(), column, state, problems));
  };

  if (url.pathname === CHANGE_FORM) {
    const { column, state } = await clusterPolicies(c.prisma, v, form);
    return sendHtml(res, 200, changeFormPage(ctx, form, await libraryCatalog(), column, state));
  }
  if (url.pathname === CHANGE_PREVIEW) {
    const head = await branchHead(c.github, token, allowed.repo, allowed.defaultBranch);
    const prepared = await prepareChange(deps, token, allowed.repo, form, { sha: head.sha, branch: allowed.defaultBranch });
    if ('problems' in prepared) return again(prepared.problems);
    return sendHtml(res, 200, confirmPage(ctx, prepared, await previewViolations(deps, prepared)));
  }

  // Open: the plan again, over the very commit the confirmation showed, so the pull request holds
  // the diff that was confirmed even when the default branch moved since.
  if (!form.base) return sendHtml(res, 400, messagePage('Bad request', 'This change cannot be made: base must name the commit the confirmation showed.', user));
  const prepared = await prepareChange(deps, token, allowed.repo, form, { sha: form.base, branch: allowed.defaultBranch });
  if ('problems' in prepared) return again(prepared.problems);
  const { plan } = prepared.change;
  if (plan.writes.size === 0 && plan.deletes.length === 0) return again(['nothing to change: the cluster already has what was asked']);
  const text = changeText(prepared, await previewViolations(deps, prepared), v.session.login, c.publicUrl);
  const branch = changeBranch(prepared, randomBytes(3).toString('hex'));
  try {
    const tree = await commitTree(c.github, token, allowed.repo, form.base);
    const pull = await openPullRequest(c.github, token, allowed.repo, {
      base: { branch: allowed.defaultBranch, sha: form.base, tree },
      branch,
      writes: plan.writes,
      deletes: plan.deletes,
      message: text.message,
      title: text.title,
      body: text.body,
    });
    return sendHtml(res, 200, openedPage(ctx, form, pull, text.title, branch));
  } catch (error) {
    const refusal = writeRefusal(form.repo, error);
    if (!refusal) throw error;
    return sendHtml(res, refusal.status, messagePage(refusal.title, refusal.message, user));
  }
}
