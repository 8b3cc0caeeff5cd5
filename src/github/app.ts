// The Probot app: routes events to handlers, nothing else. Each handler runs after the webhook is
// answered (GitHub expects an answer within seconds), one delivery once.
import type { ApplicationFunction } from 'probot';
import { checkPullRequest, type PullRequestDeps } from './handlers/pull-request.js';
import { recheckCommit } from './handlers/rerequested.js';
import type { JobQueue } from './job-queue.js';

export interface AppDeps extends PullRequestDeps {
  jobs: JobQueue;
}

export const PULL_REQUEST_ACTIONS = ['pull_request.opened', 'pull_request.synchronize', 'pull_request.reopened', 'pull_request.ready_for_review'] as const;

export function parapetApp(deps: AppDeps): ApplicationFunction {
  return (app) => {
    app.on([...PULL_REQUEST_ACTIONS], async (context) => {
      const pr = context.payload.pull_request;
      deps.jobs.add(context.id, () =>
        checkPullRequest(deps, context.octokit, context.log, { repo: context.repo(), number: pr.number, headSha: pr.head.sha, baseSha: pr.base.sha }),
      );
    });

    app.on('check_run.rerequested', async (context) => {
      const run = context.payload.check_run;
      deps.jobs.add(context.id, () => recheckCommit(deps, context.octokit, context.log, { repo: context.repo(), headSha: run.head_sha, pullRequests: run.pull_requests }));
    });

    app.on('check_suite.rerequested', async (context) => {
      const suite = context.payload.check_suite;
      deps.jobs.add(context.id, () => recheckCommit(deps, context.octokit, context.log, { repo: context.repo(), headSha: suite.head_sha, pullRequests: suite.pull_requests }));
    });
    // TODO(slice 2): push to the default branch (store), installation events (nothing to do yet).
  };
}
