// The GitHub App under load in scale-out mode (README "Scale-out"): two App processes, each
// `node dist/main.js` as `npm start` runs it, on one PostgreSQL and one redis-server started here on
// loopback (as the tests start them), against the tests' fake GitHub (test/helpers/fake-github.ts)
// serving `installations` installations, with Octokit's write pacing on as in production (a second
// between two writes of one installation). `pulls` pull requests, each adding a privileged
// Deployment, arrive evenly over `windowSeconds`, round-robin over the installations and over the
// live processes (a load balancer); at `killAtSeconds` one process is killed with SIGKILL while it
// runs jobs. Measures webhook → completed check run latency, throughput, when the killed process's
// jobs were back in the queue and started again (BullMQ's own events, by Redis's clock), and that
// every pull request got its one verdict and one review: none lost, wrong or duplicated.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents } from 'bullmq';
import { deliverWebhook, FakeGitHub } from '../test/helpers/fake-github.js';
import { appEnvironment, DEBUG_DEPLOYMENT, fixtureFiles, pullRequestPayload, sha, WEBHOOK_SECRET } from '../test/helpers/fake-github-app.js';
import { freePort } from '../test/helpers/ports.js';
import { postgresUnavailable, startPostgres, type PostgresServer } from '../test/helpers/postgres.js';
import { redisUnavailable, startRedis, type RedisServer } from '../test/helpers/redis.js';

type QueueModule = typeof import('../src/github/queue/redis-queue.js');

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const FIRST_INSTALLATION = 7001;
/** The check run's title for each pull request (one privileged container added), as opposed to an operational failure's. */
const VERDICT_TITLE = '1 new violation that blocks merging';

export interface LoadOptions {
  pulls: number;
  installations: number;
  windowSeconds: number;
  killAtSeconds: number;
}

export interface LoadFigures extends LoadOptions {
  /** Webhook sent → every check run of the head completed, per pull request, in seconds. */
  latencies: number[];
  /** The same, of the pull requests whose job the kill did not interrupt. */
  undisturbedLatencies: number[];
  /** Seconds a process worked on each job the kill did not interrupt (a job slot held: started → done). */
  jobSeconds: number[];
  /** Pull requests the kill did not interrupt completed per second, from the first delivery to the last of them. */
  throughput: number;
  /** Seconds from the kill until each job the killed one was running was back in the queue, and started again. */
  takeovers: Array<{ requeued: number; started: number }>;
  /** Seconds from the kill until each of those jobs' check runs were completed. */
  takeoverCompletions: number[];
  /** The bound the README promises for a takeover (the queue's TAKEOVER_MS), in seconds. */
  takeoverBound: number;
  /** Pull requests without a completed check run in the end. */
  lost: number;
  /** Pull requests whose check run did not fail on the privileged container they add (an operational failure, say). */
  wrong: number;
  /** Pull requests with two reviews, or two check runs of one name but for `reposted`, on their head. */
  duplicated: number;
  /**
   * Interrupted pull requests whose check run the killed process had completed, and the process
   * that took the job over completed a second one of the same name with the same verdict (it
   * reruns the job; only an unfinished run is taken over).
   */
  reposted: number;
  reviews: number;
  /** Writes GitHub answered 403/429 (secondary rate limits: the fake has none, so 0). */
  rateLimited: number;
  /** CPU seconds the App processes spent from the first delivery to the last completion (Linux), or null. */
  appCpuSeconds: number | null;
  /** CPU seconds this process (the fake GitHub, the load balancer) spent meanwhile. */
  benchCpuSeconds: number;
  /** Pull requests misjudged or duplicated, for the error message: what each got. */
  problems: string[];
  /** Pull requests without a review (each adds a finding the review comments on). */
  unreviewed: string[];
  /** The errors the App processes logged. */
  appErrors: string[];
}

interface AppProcess {
  label: string;
  url: string;
  /** As BullMQ's `processedBy` names it (queue/redis-queue.ts `workerName`). */
  worker: string;
  child: ChildProcess;
  exited: Promise<void>;
  /** The last lines it wrote, for the error when it fails. */
  output: string[];
  /** Every error it logged (pino's JSON lines of level 50 and up), for the figures. */
  errors: string[];
  alive: boolean;
  inFlight: Set<Promise<unknown>>;
}

/** Why the load cannot run here (no redis-server, no PostgreSQL), or null. */
export function loadUnavailable(): string | null {
  const reasons = [redisUnavailable(), postgresUnavailable()].filter((r) => r !== null);
  return reasons.length > 0 ? reasons.join('; ') : null;
}

export async function benchAppLoad(options: LoadOptions): Promise<LoadFigures> {
  const { bullJobId, QUEUE_NAME, QUEUE_PREFIX, TAKEOVER_MS } = (await import(new URL('../dist/github/queue/redis-queue.js', import.meta.url).href)) as QueueModule;
  const dir = mkdtempSync(join(tmpdir(), 'parapet-bench-load-'));
  const processes: AppProcess[] = [];
  let fake: FakeGitHub | undefined;
  let redis: RedisServer | undefined;
  let postgres: PostgresServer | undefined;
  let queue: Queue | undefined;
  let events: QueueEvents | undefined;
  try {
    [fake, redis, postgres] = await Promise.all([FakeGitHub.start(), startRedis(), startPostgres()]);
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      ...appEnvironment(fake),
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      DATABASE_URL: await postgres.createDatabase(),
      REDIS_URL: redis.url,
      PARAPET_CACHE_DIR: join(dir, 'cache'),
      // The default unless the benchmark is run with another setting to compare.
      ...(process.env.PARAPET_JOB_CONCURRENCY ? { PARAPET_JOB_CONCURRENCY: process.env.PARAPET_JOB_CONCURRENCY } : {}),
    };
    queue = new Queue(QUEUE_NAME, { connection: { url: redis.url }, prefix: QUEUE_PREFIX });
    // When each job went back to the queue (its lock ran out) and started, by Redis's clock (the
    // event's stream id), whichever process ran it: no job is missed between two looks.
    events = new QueueEvents(QUEUE_NAME, { connection: { url: redis.url }, prefix: QUEUE_PREFIX });
    const requeued = new Map<string, number>();
    const activated = new Map<string, number[]>();
    const eventTime = (id: string) => Number(id.split('-')[0]);
    events.on('stalled', ({ jobId }, id) => requeued.set(jobId, eventTime(id)));
    events.on('active', ({ jobId }, id) => activated.set(jobId, [...(activated.get(jobId) ?? []), eventTime(id)]));
    const finished = new Map<string, number>();
    events.on('completed', ({ jobId }, id) => finished.set(jobId, eventTime(id)));
    await events.waitUntilReady();
    // One after the other: the first migrates the database.
    for (const label of ['A', 'B']) processes.push(await startAppProcess(label, env, dir));

    const shop = fixtureFiles('shop-cluster');
    const base = sha('load-base');
    const repoOf = (installation: number) => `load-org-${installation}/gitops`;
    const installations = Array.from({ length: options.installations }, (_, i) => FIRST_INSTALLATION + i);
    for (const installation of [...installations, FIRST_INSTALLATION - 1]) fake.addCommit(repoOf(installation), base, shop);
    const deliveryOf = (payload: Record<string, any>, installation: number) => {
      payload.installation.id = installation;
      return payload;
    };
    /** A pull request adding a privileged Deployment: a failure with one review comment. */
    const pullRequest = (installation: number, number: number, seed: string) => {
      const head = sha(`load-head-${seed}`);
      fake!.addCommit(repoOf(installation), head, { ...shop, [`cluster/namespaces/shop/debug-${number}.yaml`]: DEBUG_DEPLOYMENT.replace('debug-shell', `debug-shell-${number}`) });
      return { head, payload: deliveryOf(pullRequestPayload(fake!, repoOf(installation), 'opened', base, head, number), installation) };
    };

    let next = 0;
    const live = () => processes.filter((p) => p.alive);
    /** Sends a delivery to the next live process, as a load balancer does. */
    const deliver = async (payload: unknown, deliveryId: string): Promise<void> => {
      const target = live()[next++ % live().length]!;
      const send = async (): Promise<{ status: number; text: string }> => {
        for (let attempt = 1; ; attempt++) {
          try {
            return await deliverWebhook(`${target.url}/api/github/webhooks`, 'pull_request', payload, WEBHOOK_SECRET, { deliveryId });
          } catch (error) {
            // A kept-alive connection the server closed as idle just as it was reused: sent again,
            // as a load balancer does (the delivery id makes that safe).
            if (!(error instanceof TypeError) || attempt === 3 || !target.alive) throw error;
          }
        }
      };
      const sending = send();
      target.inFlight.add(sending);
      try {
        const response = await sending;
        if (response.status !== 200) throw new Error(`process ${target.label} answered delivery ${deliveryId} with ${response.status}: ${response.text}`);
      } finally {
        target.inFlight.delete(sending);
      }
    };

    // Warm-up: the policies compiled (and cached on disk for the other process) before the clock runs.
    const warmUps = [1, 2, 3, 4].map((n) => pullRequest(FIRST_INSTALLATION - 1, n, `warm-${n}`));
    for (const [i, warm] of warmUps.entries()) await deliver(warm.payload, `warm-up-${i}`);
    await waitFor(() => warmUps.every((w) => completedAt(fake!, w.head) !== null), 120_000, 'the warm-up pull requests were not checked');
    await queueIdle(queue);
    fake.reset();

    const pulls = Array.from({ length: options.pulls }, (_, i) => {
      const installation = installations[i % installations.length]!;
      return { ...pullRequest(installation, 100 + Math.floor(i / installations.length), String(i)), deliveryId: `load-${i}`, sentAt: Number.NaN };
    });
    const victim = processes[1]!;
    const survivor = processes[0]!;
    const cpuAtStart = processes.map((p) => cpuSeconds(p.child.pid));
    const benchCpuAtStart = process.cpuUsage();
    const startedAt = performance.now();
    const at = (seconds: number) => sleep(startedAt + seconds * 1000 - performance.now());

    let victimCpu: number | null = null;
    let kill: { at: number; wallClock: number } | undefined;
    const killing = (async () => {
      await at(options.killAtSeconds);
      victim.alive = false; // the load balancer stops sending it deliveries
      await Promise.allSettled([...victim.inFlight]);
      // Killed in the middle of work: while it holds at least one job.
      const deadline = performance.now() + 30_000;
      for (;;) {
        const active = (await queue!.getActive()).filter((job) => job.processedBy === victim.worker);
        if (active.length > 0) {
          victimCpu = cpuSeconds(victim.child.pid);
          victim.child.kill('SIGKILL');
          kill = { at: fake!.now(), wallClock: Date.now() };
          await victim.exited;
          return;
        }
        if (performance.now() > deadline) throw new Error(`process ${victim.label} ran no job within 30 s of the planned kill`);
        await sleep(20);
      }
    })();

    const sending: Promise<void>[] = [];
    for (const [i, pr] of pulls.entries()) {
      await at((i * options.windowSeconds) / options.pulls);
      pr.sentAt = fake.now();
      sending.push(deliver(pr.payload, pr.deliveryId));
    }
    await Promise.all(sending);
    await killing;

    await waitFor(() => pulls.every((pr) => completedAt(fake!, pr.head) !== null), TAKEOVER_MS + (options.windowSeconds + 180 + options.pulls) * 1000, 'pull requests were left unchecked');
    const survivorCpu = cpuSeconds(survivor.child.pid);
    const benchCpu = process.cpuUsage(benchCpuAtStart);
    await queueIdle(queue);
    // The queue's events arrive by a stream of their own, a moment after the work they tell of.
    await waitFor(() => [...requeued].every(([id, back]) => (activated.get(id) ?? []).some((t) => t >= back)), 10_000, 'the start of every job put back in the queue was not seen');

    const latencies = pulls.map((pr) => (completedAt(fake!, pr.head)! - pr.sentAt) / 1000);
    // Interrupted: the jobs the killed process was running, which the stalled check put back in the
    // queue once their lock ran out (whatever it took between the look at its jobs and the kill).
    const interrupted = new Set(pulls.filter((pr) => requeued.has(bullJobId(pr.deliveryId))).map((pr) => pr.deliveryId));
    const killed = pulls.filter((pr) => interrupted.has(pr.deliveryId));
    if (killed.length === 0) throw new Error(`no job of the killed process ${victim.label} was taken over`);
    const takeovers = killed.map((pr) => {
      const id = bullJobId(pr.deliveryId);
      const back = requeued.get(id)!;
      const started = (activated.get(id) ?? []).find((t) => t >= back)!;
      return { requeued: (back - kill!.wallClock) / 1000, started: (started - kill!.wallClock) / 1000 };
    });
    const undisturbed = pulls.filter((pr) => !interrupted.has(pr.deliveryId));
    const problems: string[] = [];
    let duplicated = 0;
    let lost = 0;
    let wrong = 0;
    let reposted = 0;
    for (const pr of pulls) {
      const runs = fake.checkRuns.filter((r) => r.head_sha === pr.head);
      if (runs.length === 0 || runs.some((r) => r.status !== 'completed')) lost++;
      else if (runs.some((r) => r.conclusion !== 'failure' || r.output.title !== VERDICT_TITLE)) {
        wrong++;
        problems.push(`${pr.deliveryId}: ${runs.map((r) => `${r.conclusion} "${r.output.title}"`).join(', ')}`);
      }
      const names = runs.map((r) => r.name);
      const reviews = fake.reviews.filter((r) => r.commit_id === pr.head).length;
      if (new Set(names).size === names.length && reviews <= 1) continue;
      const wasInterrupted = interrupted.has(pr.deliveryId);
      if (wasInterrupted && reviews <= 1 && new Set(runs.map((r) => `${r.name} ${r.conclusion}`)).size === new Set(names).size) reposted++;
      else {
        duplicated++;
        problems.push(`${pr.deliveryId}${wasInterrupted ? ' (interrupted)' : ''}: runs ${runs.map((r) => `${r.name} ${r.statuses.join('>')} ${r.conclusion}`).join(', ')}; ${reviews} reviews`);
      }
    }
    const [cpuA, cpuB] = cpuAtStart;
    const appCpuSeconds = cpuA === null || cpuB === null || victimCpu === null || survivorCpu === null ? null : survivorCpu - cpuA! + (victimCpu - cpuB!);
    return {
      ...options,
      latencies,
      undisturbedLatencies: undisturbed.map((pr) => (completedAt(fake!, pr.head)! - pr.sentAt) / 1000),
      jobSeconds: undisturbed.map((pr) => bullJobId(pr.deliveryId)).filter((id) => finished.has(id)).map((id) => (finished.get(id)! - activated.get(id)!.at(-1)!) / 1000),
      throughput: undisturbed.length / ((Math.max(...undisturbed.map((pr) => completedAt(fake!, pr.head)!)) - pulls[0]!.sentAt) / 1000),
      takeovers,
      takeoverCompletions: killed.map((pr) => (completedAt(fake!, pr.head)! - kill!.at) / 1000),
      takeoverBound: TAKEOVER_MS / 1000,
      lost,
      wrong,
      duplicated,
      reposted,
      problems,
      appCpuSeconds,
      benchCpuSeconds: (benchCpu.user + benchCpu.system) / 1e6,
      reviews: new Set(fake.reviews.map((r) => r.commit_id)).size,
      unreviewed: pulls.filter((pr) => !fake!.reviews.some((r) => r.commit_id === pr.head)).map((pr) => `${pr.deliveryId}${interrupted.has(pr.deliveryId) ? ' (interrupted)' : ''}`),
      appErrors: processes.flatMap((p) => p.errors),
      rateLimited: fake.requests.filter((r) => r.status === 403 || r.status === 429).length,
    };
  } catch (error) {
    for (const p of processes) if (p.output.length > 0) process.stderr.write(`--- process ${p.label}, last lines ---\n${p.output.join('')}\n`);
    throw error;
  } finally {
    for (const p of processes) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
      p.child.kill('SIGTERM');
      if (!(await settles(p.exited, 15_000))) p.child.kill('SIGKILL');
      await p.exited;
    }
    await events?.close();
    await queue?.close();
    await fake?.close();
    await redis?.stop();
    await postgres?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU time of process `pid` and its threads so far (utime + stime in /proc, Linux), or null. */
function cpuSeconds(pid: number | undefined): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    // After the command: state is field 3, utime 14 and stime 15 (in clock ticks of 1/100 s).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** When the last check run of `head` was completed (the fake's clock), or null while one is not. */
function completedAt(fake: FakeGitHub, head: string): number | null {
  const runs = fake.checkRuns.filter((r) => r.head_sha === head);
  if (runs.length === 0 || runs.some((r) => r.status !== 'completed')) return null;
  const ids = new Set(runs.map((r) => `/check-runs/${r.id}`));
  let last = -1;
  for (const r of fake.requests) {
    if (r.method === 'PATCH' && r.status === 200 && (r.body as { status?: string })?.status === 'completed' && ids.has(r.path.slice(r.path.lastIndexOf('/check-runs/')))) last = Math.max(last, r.at);
  }
  return last;
}

async function startAppProcess(label: string, env: Record<string, string>, cwd: string): Promise<AppProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], { cwd, env: { ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const errors: string[] = [];
  let partial = '';
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString());
    if (output.length > 40) output.shift();
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) if (/^\{.*"level":(5\d|6\d)/.test(line)) errors.push(line);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const app: AppProcess = { label, url, worker: `${hostname()}:${child.pid}`, child, exited, output, errors, alive: true, inFlight: new Set() };
  const deadline = performance.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`App process ${label} exited with ${child.exitCode}: ${output.join('').trim()}`);
    const healthy = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (healthy) return app;
    if (performance.now() > deadline) throw new Error(`App process ${label} did not answer on ${url} within 60 s: ${output.join('').trim()}`);
    await sleep(100);
  }
}

async function queueIdle(queue: Queue): Promise<void> {
  await waitFor(async () => Object.values(await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized')).every((n) => n === 0), 120_000, 'the job queue did not drain');
}

async function waitFor(done: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await done())) {
    if (performance.now() > deadline) throw new Error(`${what} within ${Math.round(ms / 1000)} s`);
    await sleep(100);
  }
}

async function settles(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([promise.then(() => true), sleep(ms).then(() => false)]);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
