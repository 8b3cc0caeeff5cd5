// The Probot app: routes events to handlers, nothing else. Each handler runs after the webhook is
// answered (GitHub expects an answer within seconds), one delivery once.
import type { ApplicationFunction, Context } from 'probot';
import { defaultBranchHead, recordDefaultBranch } from './handlers/default-branch.js';
import { checkPullRequest, type PullRequestDeps } from './handlers/pull-request.js';
import { recheckCommit } from './handlers/rerequested.js';
import { ReportedJobFailure, type JobQueue } from './job-queue.js';
import type { RepositoryInfo } from './recorder.js';

export interface AppDeps extends PullRequestDeps {
  jobs: JobQueue;
}

export const PULL_REQUEST_ACTIONS = ['pull_request.opened', 'pull_request.synchronize', 'pull_request.reopened', 'pull_request.ready_for_review'] as const;

export function parapetApp(deps: AppDeps): ApplicationFunction {
  // A redelivery is answered once, also across restarts when the App has a database; a job that
  // fails (throws) releases its delivery, so that GitHub's redelivery of it runs it again, and one
  // lost with its process (never finished) is run again by a redelivery after the lease.
  const queue = async (context: Context, job: () => Promise<void>) => {
    const { recorder } = deps;
    let first = true;
    try {
      first = !recorder || (await recorder.firstDelivery(context.id, context.name));
    } catch (error) {
      // The database is down: the work is still done (a pull request still gets its verdict),
      // deduplicated by this process's memory only.
      context.log.error({ err: error, delivery: context.id }, 'could not record the delivery in the database; running it anyway');
    }
    if (!first) {
      context.log.info({ delivery: context.id }, 'delivery processed before: ignored');
      return;
    }
    deps.jobs.add(context.id, async () => {
      try {
        await job();
      } catch (error) {
        await recorder?.releaseDelivery(context.id).catch((releaseError: unknown) => {
          context.log.error({ err: releaseError, delivery: context.id }, 'could not release the failed delivery: a redelivery of it will be ignored');
        });
        throw error;
      }
      await recorder?.finishDelivery(context.id).catch((finishError: unknown) => {
        // The work is done; only a redelivery after the lease would run it again.
        context.log.warn({ err: finishError, delivery: context.id }, 'could not note the delivery as finished');
      });
    });
  };

  return (app) => {
    app.on([...PULL_REQUEST_ACTIONS], async (context) => {
      const pr = context.payload.pull_request;
      const repository = repositoryInfo(context.payload.installation?.id, context.payload.repository);
      await queue(context, () =>
        checkPullRequest(deps, context.octokit, context.log, {
          repo: context.repo(),
          number: pr.number,
          headSha: pr.head.sha,
          baseSha: pr.base.sha,
          repository,
          observedAt: new Date(pr.updated_at),
        }),
      );
    });

    app.on('check_run.rerequested', async (context) => {
      const run = context.payload.check_run;
      const repository = repositoryInfo(context.payload.installation?.id, context.payload.repository);
      await queue(context, () => recheckCommit(deps, context.octokit, context.log, { repo: context.repo(), headSha: run.head_sha, pullRequests: run.pull_requests, repository }));
    });

    app.on('check_suite.rerequested', async (context) => {
      const suite = context.payload.check_suite;
      const repository = repositoryInfo(context.payload.installation?.id, context.payload.repository);
      await queue(context, () => recheckCommit(deps, context.octokit, context.log, { repo: context.repo(), headSha: suite.head_sha, pullRequests: suite.pull_requests, repository }));
    });

    // The default branch's inventory and risk register: on every push to it...
    app.on('push', async (context) => {
      const { payload } = context;
      const repository = repositoryInfo(payload.installation?.id, payload.repository);
      if (!deps.recorder || !repository || payload.deleted || payload.ref !== `refs/heads/${repository.defaultBranch}`) return;
      const observedAt = new Date(payload.head_commit?.timestamp ?? Date.now());
      // The push's own commits say who changed which files: the fallback when blame cannot answer.
      const push = (payload.commits ?? []).map((c) => ({ id: c.id, timestamp: c.timestamp, author: c.author, added: c.added, modified: c.modified }));
      await queue(context, () => recordDefaultBranch(deps, context.octokit, context.log, { repository, sha: payload.after, observedAt, push }));
    });

    // ...and once when the App is installed on a repository.
    app.on(['installation.created', 'installation_repositories.added'], async (context) => {
      const { payload } = context;
      const installationId = payload.installation.id;
      const account = payload.installation.account as { login?: string; type?: string } | null;
      const added = 'repositories_added' in payload ? payload.repositories_added : (payload.repositories ?? []);
      if (!deps.recorder || !account?.login) return;
      await queue(context, async () => {
        const failed: string[] = [];
        for (const repo of added) {
          try {
            const [owner, name] = repo.full_name.split('/') as [string, string];
            const head = await defaultBranchHead(context.octokit, { owner, repo: name });
            const repository: RepositoryInfo = { installationId, id: repo.id, owner, ownerType: account.type ?? 'User', name, defaultBranch: head.defaultBranch, private: head.private };
            await recordDefaultBranch(deps, context.octokit, context.log, { repository, sha: head.sha, observedAt: new Date() });
          } catch (error) {
            // One repository failing does not keep the others from being recorded.
            context.log.error({ err: error, repository: repo.full_name }, 'could not record the default branch');
            failed.push(repo.full_name);
          }
        }
        // Failed as a whole, so the delivery is released: its redelivery records them all again.
        if (failed.length > 0) throw new ReportedJobFailure(`the default branch of ${failed.join(', ')} was not recorded`);
      });
    });
  };
}

interface RepositoryPayload {
  id: number;
  name: string;
  owner: { login: string; type?: string } | null;
  default_branch?: string;
  private?: boolean;
}

function repositoryInfo(installationId: number | undefined, repository: RepositoryPayload): RepositoryInfo | undefined {
  if (installationId === undefined || !repository.owner) return undefined;
  return {
    installationId,
    id: repository.id,
    owner: repository.owner.login,
    ownerType: repository.owner.type ?? 'User',
    name: repository.name,
    defaultBranch: repository.default_branch ?? 'main',
    private: repository.private ?? false,
  };
}
