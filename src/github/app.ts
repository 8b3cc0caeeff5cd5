// The Probot app: turns each event into a job descriptor (queue/jobs.ts) and queues it, nothing
// else. The job runs after the webhook is answered (GitHub expects an answer within seconds), one
// delivery once, in this process or, in scale-out mode, in any of the App's processes.
import type { ApplicationFunction, Context } from 'probot';
import type { JobDescriptor, JobQueue } from './queue/jobs.js';
import type { BranchEventRepository, Recorder, RepositoryInfo } from './recorder.js';

export interface AppDeps {
  jobs: JobQueue;
  /** Where deliveries are recorded (the database), when the App has one. */
  recorder?: Recorder;
}

export const PULL_REQUEST_ACTIONS = ['pull_request.opened', 'pull_request.synchronize', 'pull_request.reopened', 'pull_request.ready_for_review'] as const;

export function parapetApp(deps: AppDeps): ApplicationFunction {
  // A redelivery is answered once, also across restarts and processes when the App has a
  // database; a job that fails releases its delivery (queue/jobs.ts), so that GitHub's redelivery
  // of it runs it again, and one lost with its process (never finished) is run again by a
  // redelivery after the lease.
  const queue = async (context: Context, job: JobDescriptor) => {
    const { recorder } = deps;
    let first = true;
    let recorded = false;
    try {
      first = !recorder || (await recorder.firstDelivery(context.id, context.name));
      recorded = !!recorder;
    } catch (error) {
      // The database is down: the work is still done (a pull request still gets its verdict),
      // deduplicated by the queue only.
      context.log.error({ err: error, delivery: context.id }, 'could not record the delivery in the database; running it anyway');
    }
    if (!first) {
      context.log.info({ delivery: context.id }, 'delivery processed before: ignored');
      return;
    }
    const event = 'action' in context.payload && typeof context.payload.action === 'string' ? `${context.name}.${context.payload.action}` : context.name;
    try {
      if (!(await deps.jobs.add({ deliveryId: context.id, event, job }))) context.log.info({ delivery: context.id }, 'delivery queued before: ignored');
    } catch (error) {
      // Not queued (Redis unreachable): the webhook is answered with an error, and the delivery
      // released so that GitHub's redelivery of it is not ignored.
      if (recorded) {
        await recorder!.releaseDelivery(context.id).catch((releaseError: unknown) => {
          context.log.error({ err: releaseError, delivery: context.id }, 'could not release the delivery that was not queued: a redelivery of it will be ignored');
        });
      }
      throw error;
    }
  };

  return (app) => {
    const judge = async (context: Context<(typeof PULL_REQUEST_ACTIONS)[number] | 'pull_request.edited'>) => {
      const { payload } = context;
      const pr = payload.pull_request;
      const repository = repositoryInfo(payload.installation?.id, payload.repository);
      await queue(context, {
        kind: 'pull-request',
        installationId: installationOf(payload),
        repo: context.repo(),
        number: pr.number,
        headSha: pr.head.sha,
        baseSha: pr.base.sha,
        baseRef: pr.base.ref,
        defaultBranch: payload.repository.default_branch,
        ...(repository ? { repository } : {}),
        observedAt: new Date(pr.updated_at).toISOString(),
      });
    };
    app.on([...PULL_REQUEST_ACTIONS], judge);
    // A new base branch means other policies: the head is judged again, under the new branch's
    // check run names. Other edits (title, body) change nothing Parapet judges.
    app.on('pull_request.edited', async (context) => {
      if (context.payload.changes.base) await judge(context);
    });

    app.on(['check_run.rerequested', 'check_suite.rerequested'], async (context) => {
      const { payload } = context;
      const { head_sha: headSha, pull_requests } = 'check_run' in payload ? payload.check_run : payload.check_suite;
      const repository = repositoryInfo(payload.installation?.id, payload.repository);
      await queue(context, {
        kind: 'rerequested',
        installationId: installationOf(payload),
        repo: context.repo(),
        headSha,
        ...('check_run' in payload ? { checkRun: payload.check_run.name } : {}),
        defaultBranch: payload.repository.default_branch,
        // Only what the job reads: the event's pull request objects carry whole repositories.
        pullRequests: pull_requests.map((p) => ({ number: p.number, base: { sha: p.base.sha, ref: p.base.ref }, head: { sha: p.head.sha } })),
        ...(repository ? { repository } : {}),
      });
    });

    // Each default-branch event is numbered as it is received: with the push's before → after,
    // the order of the branch's records (never the commits' dates, which authors set).
    const receive = async (context: Context, repositories: BranchEventRepository[]): Promise<Map<number, number>> => {
      try {
        return await deps.recorder!.branchEventsReceived(repositories);
      } catch (error) {
        context.log.error({ err: error, delivery: context.id }, 'could not number the default-branch event in the database; it is numbered when recorded');
        return new Map();
      }
    };

    // The default branch's inventory and risk register: on every push to it...
    app.on('push', async (context) => {
      const { payload } = context;
      const repository = repositoryInfo(payload.installation?.id, payload.repository);
      if (!deps.recorder || !repository || payload.deleted || payload.ref !== `refs/heads/${repository.defaultBranch}`) return;
      const sequence = (await receive(context, [repository])).get(repository.id) ?? null;
      // The push's own commits say who changed which files: the fallback when blame cannot answer.
      const push = (payload.commits ?? []).map((c) => ({ id: c.id, timestamp: c.timestamp, author: c.author, added: c.added, modified: c.modified }));
      const before = payload.created || /^0+$/.test(payload.before) ? null : payload.before;
      // Who pushed, as GitHub authenticated them (the commits' authors are what the commits say).
      const pushedBy = payload.sender?.login ?? payload.pusher.username ?? payload.pusher.name ?? null;
      await queue(context, { kind: 'default-branch', installationId: repository.installationId, repository, sha: payload.after, before, forced: payload.forced, sequence, push, pushedBy });
    });

    // ...and once when the App is installed on a repository.
    app.on(['installation.created', 'installation_repositories.added'], async (context) => {
      const { payload } = context;
      const account = payload.installation.account as { login?: string; type?: string } | null;
      const added = 'repositories_added' in payload ? payload.repositories_added : (payload.repositories ?? []);
      if (!deps.recorder || !account?.login) return;
      const ownerType = account.type ?? 'User';
      const sequences = await receive(
        context,
        added.map((r) => ({ installationId: payload.installation.id, id: r.id, owner: r.full_name.split('/')[0]!, ownerType, name: r.full_name.split('/')[1] ?? r.name })),
      );
      await queue(context, {
        kind: 'installation',
        installationId: payload.installation.id,
        account: { login: account.login, type: ownerType },
        repositories: added.map((r) => ({ id: r.id, fullName: r.full_name, sequence: sequences.get(r.id) ?? null })),
      });
    });
  };
}

/** The installation the App acts for; an event without one (not sent to an App) cannot be acted on. */
function installationOf(payload: { installation?: { id: number } }): number {
  const id = payload.installation?.id;
  if (id === undefined) throw new Error('the event names no installation: the App cannot act on it');
  return id;
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
