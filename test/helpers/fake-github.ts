// A fake GitHub: a real HTTP server on 127.0.0.1 that answers the REST calls the App makes, from
// repositories held as file maps at commits, and records what the App did (every request, every
// check run with its updates, every review and review comment). Like GitHub, it refuses what GitHub
// refuses: every request is first checked against GitHub's published OpenAPI description
// (fake-github-openapi.ts: an endpoint GitHub does not have, a parameter or body field of the wrong
// type, a missing field, an unknown enum value, more than 50 annotations), then by the endpoint's
// own rules (a review comment on a line outside the pull request's diff, the hunks computed from
// the commits it serves). `POST /graphql` answers GitHub's GraphQL schema where the App uses it
// (fake-github-graphql.ts: blame computed from the commit history a test declares).
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { commentableLines, diffFiles, type FakePullFile } from './fake-github-diff.js';
import { answerGraphQL, blameLines, blameRanges, FieldError, type FakeCommitInfo, type Resolvers } from './fake-github-graphql.js';
import { openApiRejection } from './fake-github-openapi.js';
import { buildTarball } from './fake-github-tarball.js';

export interface RecordedRequest {
  method: string;
  path: string;
  status: number;
  body: unknown;
  /** For a GraphQL request: the repository its query asked about (`owner/name`). */
  repository?: string;
  /** Milliseconds since the fake started. */
  at: number;
  /** The installation whose token authorized the request (`ghs_fake_<id>`), if one did. */
  installation?: number;
}

export interface FakeAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: 'notice' | 'warning' | 'failure';
  message: string;
  title?: string;
}

export interface FakeCheckRun {
  id: number;
  repo: string;
  name: string;
  head_sha: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: string | null;
  output: { title?: string; summary?: string; text?: string };
  annotations: FakeAnnotation[];
  /** PATCH requests received for this run. */
  updates: number;
  /** Each status the run went through, in order. */
  statuses: string[];
  app: { id: number };
}

export interface FakeReviewComment {
  id: number;
  repo: string;
  pull_number: number;
  review_id: number | null;
  in_reply_to_id?: number;
  path: string;
  line: number | null;
  side: 'RIGHT';
  commit_id: string;
  body: string;
  user: { login: string; type: string };
}

export interface FakeReview {
  id: number;
  repo: string;
  pull_number: number;
  commit_id: string;
  event: string;
  body: string;
  comments: FakeReviewComment[];
}

export interface FakePullRequest {
  number: number;
  state: string;
  /** The base branch: its name (`main` unless said otherwise) and its commit. */
  base: { sha: string; ref: string };
  head: { sha: string };
}

interface Failure {
  pattern: RegExp;
  status: number;
  /** How many more requests fail; undefined: all of them. */
  times?: number;
  message?: string;
  headers?: Record<string, string>;
  /** The whole answer, when it is not `{ message }` (GraphQL's `{ data, errors }`). */
  payload?: unknown;
}

/** A commit of a push as the `push` webhook lists it. */
export interface FakePushCommit {
  id: string;
  tree_id: string;
  distinct: boolean;
  message: string;
  timestamp: string;
  url: string;
  author: { name: string; email: string; username?: string };
  committer: { name: string; email: string; username?: string };
  added: string[];
  removed: string[];
  modified: string[];
}

/** A pull request opened through `POST /repos/{owner}/{repo}/pulls`, with what its branch changes. */
export interface FakeCreatedPull {
  number: number;
  repo: string;
  title: string;
  body: string;
  /** Branch names. */
  head: string;
  base: string;
  /** The login of the user whose token opened it. */
  user: string;
  headSha: string;
  /** The commit the branch starts from (the head commit's first parent). */
  baseSha: string;
  /** The head commit's message and author. */
  commit: { message: string; author: string };
  /** Files the branch's commit writes (path → text) and removes, against its parent. */
  writes: Record<string, string>;
  deletes: string[];
}

/** What a user may do in a repository, as GitHub's `permissions` of the repository say for their token. */
export type FakeAccess = 'read' | 'write';

/** The App's permissions the fake assumes for an installation unless told otherwise: app.yml's. */
export const FAKE_INSTALLATION_PERMISSIONS: Record<string, string> = { checks: 'write', contents: 'write', pull_requests: 'write', metadata: 'read' };

/** The App's ID the fake stamps on check runs it creates (the tests' APP_ID). */
export const FAKE_APP_ID = 12345;
/** The App's slug (`GET /app`), and the login of its bot user, the author of what the App writes with its installation token. */
export const FAKE_APP_SLUG = 'parapet';
export const FAKE_BOT_LOGIN = `${FAKE_APP_SLUG}[bot]`;

interface FakeRepo {
  commits: Map<string, Record<string, string | Buffer>>;
  /** Each commit's parents, author, date and pull request (defaults for commits declared without). */
  info: Map<string, FakeCommitInfo>;
  mergeBases: Map<string, string>;
  pulls: Map<string, FakePullRequest[]>;
  pullRequests: Map<number, FakePullRequest>;
  /** Branch name → head commit, for `GET /repos/{owner}/{repo}` and `.../commits/{branch}`. */
  branches: Map<string, string>;
}

export class FakeGitHub {
  readonly requests: RecordedRequest[] = [];
  readonly checkRuns: FakeCheckRun[] = [];
  readonly reviews: FakeReview[] = [];
  /** Review comments, those of reviews and replies alike, in the order they were made. */
  readonly reviewComments: FakeReviewComment[] = [];
  /** Review threads resolved (GraphQL resolveReviewThread), by the id of their first comment. */
  readonly resolvedThreads = new Set<number>();
  private readonly repos = new Map<string, FakeRepo>();
  /** Paths (regular expressions over `METHOD /path`) answered with this status instead. */
  private readonly failures: Failure[] = [];
  private nextId = 1;
  private readonly started = performance.now();
  /** Set by privateArchives: the credential archive links carry. */
  private archiveToken: string | undefined;
  /** Pull requests opened through the API, in order. */
  readonly createdPulls: FakeCreatedPull[] = [];
  /** Users' tokens (the App's OAuth client's user-to-server tokens) → login. */
  private readonly userTokens = new Map<string, string>();
  /** `owner/name` → login → access. */
  private readonly grants = new Map<string, Map<string, FakeAccess>>();
  /** Installation permissions by account (owner) login. */
  private readonly installations = new Map<string, Record<string, string>>();
  /** Trees made through the Git Data API (and each commit's, by the commit's tree sha): sha → files. */
  private readonly trees = new Map<string, Record<string, string | Buffer>>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeGitHub> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new FakeGitHub(server, `http://127.0.0.1:${port}`);
    server.on('request', (req, res) => void fake.handle(req, res));
    return fake;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Milliseconds since the fake started: the clock of each request's `at`. */
  now(): number {
    return Math.round(performance.now() - this.started);
  }

  /** Points `branch` (the default branch `main` unless said otherwise) at `sha`. */
  setBranch(fullName: string, branch: string, sha: string): void {
    this.repo(fullName).branches.set(branch, sha);
  }

  /**
   * Adds a commit with exactly these files; `info` places it in a history (its parents) and says
   * who made it, when, and which pull request merged it, for blame and push payloads. Without
   * parents a commit is a root: blame gives it every line.
   */
  addCommit(fullName: string, sha: string, files: Record<string, string | Buffer>, info: Partial<FakeCommitInfo> = {}): void {
    const repo = this.repo(fullName);
    for (const parent of info.parents ?? []) {
      if (!repo.commits.has(parent)) throw new Error(`fake GitHub: parent ${parent} of ${sha} is not a commit of ${fullName}`);
    }
    repo.commits.set(sha, files);
    repo.info.set(sha, {
      parents: info.parents ?? [],
      author: info.author ?? { name: 'Dana Developer', email: 'dana@example.com' },
      committedDate: info.committedDate ?? new Date().toISOString(),
      message: info.message ?? `Change ${sha.slice(0, 7)}`,
      ...(info.pullRequest === undefined ? {} : { pullRequest: info.pullRequest }),
      ...(info.pullRequestAuthor === undefined ? {} : { pullRequestAuthor: info.pullRequestAuthor }),
      ...(info.mergedBy === undefined ? {} : { mergedBy: info.mergedBy }),
    });
  }

  /**
   * The `commits` of a `push` webhook moving a branch from `before` to `after`: the first-parent
   * chain after `before`, oldest first, each with the files it added, removed and modified
   * against its first parent, as GitHub lists them.
   */
  pushCommits(fullName: string, before: string, after: string): FakePushCommit[] {
    const repo = this.repo(fullName);
    const chain: string[] = [];
    for (let sha: string | undefined = after; sha && sha !== before; sha = repo.info.get(sha)?.parents[0]) {
      if (!repo.commits.has(sha)) throw new Error(`fake GitHub: ${sha} is not a commit of ${fullName}`);
      chain.unshift(sha);
    }
    return chain.map((sha) => {
      const info = repo.info.get(sha)!;
      const parent = info.parents[0] ? repo.commits.get(info.parents[0])! : {};
      const changes = diffFiles(parent, repo.commits.get(sha)!);
      const actor = { name: info.author.name, email: info.author.email, ...(info.author.login ? { username: info.author.login } : {}) };
      return {
        id: sha,
        tree_id: sha.split('').reverse().join(''),
        distinct: true,
        message: info.message,
        timestamp: info.committedDate,
        url: `https://github.com/${fullName}/commit/${sha}`,
        author: actor,
        committer: actor,
        added: changes.filter((c) => c.status === 'added').map((c) => c.filename),
        removed: changes.filter((c) => c.status === 'removed').map((c) => c.filename),
        modified: changes.filter((c) => c.status === 'modified').map((c) => c.filename),
      };
    });
  }

  /** A user's token: the user may then call the API with it, within what `grant` allows. */
  addUserToken(token: string, login: string): void {
    this.userTokens.set(token, login);
  }

  /** What `login` may do in `fullName`: without a grant, the repository does not exist for them (404). */
  grant(fullName: string, login: string, access: FakeAccess): void {
    this.repo(fullName);
    if (!this.grants.has(fullName)) this.grants.set(fullName, new Map());
    this.grants.get(fullName)!.set(login, access);
  }

  /** The permissions the App's installation on `owner` holds (FAKE_INSTALLATION_PERMISSIONS unless set). */
  setInstallationPermissions(owner: string, permissions: Record<string, string>): void {
    this.installations.set(owner, permissions);
  }

  /** The tree sha of a commit, as `GET .../branches/{branch}` and `GET .../git/commits/{sha}` name it. */
  treeOf(sha: string): string {
    const tree = sha.split('').reverse().join('');
    const files = [...this.repos.values()].find((r) => r.commits.has(sha))?.commits.get(sha);
    if (files) this.trees.set(tree, files);
    return tree;
  }

  setMergeBase(fullName: string, base: string, head: string, mergeBase: string): void {
    this.repo(fullName).mergeBases.set(`${base}...${head}`, mergeBase);
  }

  /**
   * An open pull request (or a push to it: the same number with a new head), answered by
   * `GET /repos/{owner}/{repo}/pulls/{number}` and listed by `GET .../commits/{head}/pulls`.
   */
  addPullRequest(fullName: string, pr: { number: number; base: { sha: string; ref?: string }; head: { sha: string } }): void {
    const repo = this.repo(fullName);
    const open: FakePullRequest = { number: pr.number, state: 'open', base: { sha: pr.base.sha, ref: pr.base.ref ?? 'main' }, head: pr.head };
    // Listed by its current head only, as GitHub lists the open pull requests of a commit.
    for (const [head, pulls] of repo.pulls) repo.pulls.set(head, pulls.filter((p) => p.number !== pr.number));
    repo.pulls.set(pr.head.sha, [...(repo.pulls.get(pr.head.sha) ?? []), open]);
    repo.pullRequests.set(pr.number, open);
  }

  /**
   * A review comment written by someone else than the App (the pull request's author, say), on
   * `path` at `line`, or a reply in the thread of comment `inReplyTo`.
   */
  addReviewComment(fullName: string, number: number, comment: { author: string; body: string; path?: string; line?: number; inReplyTo?: number }): FakeReviewComment {
    const pr = this.repos.get(fullName)?.pullRequests.get(number);
    if (!pr) throw new Error(`fake GitHub: no pull request ${fullName}#${number}`);
    const parent = comment.inReplyTo === undefined ? undefined : this.reviewComments.find((c) => c.id === comment.inReplyTo && c.repo === fullName && c.pull_number === number);
    if (comment.inReplyTo !== undefined && !parent) throw new Error(`fake GitHub: no review comment ${comment.inReplyTo} on ${fullName}#${number}`);
    if (!parent && (comment.path === undefined || comment.line === undefined)) throw new Error('fake GitHub: a review comment needs a path and a line, or a comment to reply to');
    const created: FakeReviewComment = {
      id: this.nextId++,
      repo: fullName,
      pull_number: number,
      review_id: null,
      ...(parent ? { in_reply_to_id: parent.in_reply_to_id ?? parent.id } : {}),
      path: parent?.path ?? comment.path!,
      line: parent?.line ?? comment.line!,
      side: 'RIGHT',
      commit_id: pr.head.sha,
      body: comment.body,
      user: { login: comment.author, type: 'User' },
    };
    this.reviewComments.push(created);
    return created;
  }

  /**
   * What a branch protection rule that requires check `name` from this App sees on commit `sha`:
   * the conclusion of the newest run of that name, `in_progress` while it runs, `expected` when
   * there is none. It lets the merge through on `success`, `neutral` or `skipped` only.
   */
  requiredCheck(fullName: string, sha: string, name: string): string {
    const runs = this.checkRuns.filter((r) => r.repo === fullName && r.head_sha === sha && r.name === name && r.app.id === FAKE_APP_ID);
    const newest = runs.reduce<FakeCheckRun | undefined>((a, b) => (a === undefined || b.id > a.id ? b : a), undefined);
    if (!newest) return 'expected';
    return newest.status === 'completed' ? newest.conclusion! : newest.status;
  }

  /** A check run as if made earlier (by a Parapet process that crashed, say). */
  addCheckRun(fullName: string, run: { name: string; head_sha: string; status: FakeCheckRun['status']; appId?: number }): FakeCheckRun {
    const created: FakeCheckRun = {
      id: this.nextId++,
      repo: fullName,
      name: run.name,
      head_sha: run.head_sha,
      status: run.status,
      conclusion: null,
      output: {},
      annotations: [],
      updates: 0,
      statuses: [run.status],
      app: { id: run.appId ?? FAKE_APP_ID },
    };
    this.checkRuns.push(created);
    return created;
  }

  /**
   * Answers `METHOD /path` requests matching `pattern` with `status` from now on, or only the next
   * `times` of them; `message` and `headers` as GitHub sends them (a secondary rate limit: 403,
   * "You have exceeded a secondary rate limit", `retry-after`).
   */
  failWith(pattern: RegExp, status: number, options: { times?: number; message?: string; headers?: Record<string, string> } = {}): void {
    this.failures.push({ pattern, status, ...options });
  }

  /**
   * Serves archives as GitHub serves those of private repositories: the tarball endpoint redirects
   * to a codeload link carrying `?token=`, a credential for that archive, which codeload requires.
   */
  privateArchives(token: string): void {
    this.archiveToken = token;
  }

  /**
   * Answers the next `times` GraphQL requests (all, without `times`) as GitHub does when a query
   * fails as a whole, a timeout say: HTTP 200, `data: null` and the error.
   */
  failGraphQL(message: string, options: { times?: number } = {}): void {
    this.failures.push({ pattern: /^POST \/graphql$/, status: 200, ...options, payload: { data: null, errors: [{ message }] } });
  }

  /** GraphQL requests about a repository. */
  graphqlRequests(fullName: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === '/graphql' && r.repository === fullName);
  }

  reset(): void {
    this.requests.length = 0;
    this.checkRuns.length = 0;
    this.failures.length = 0;
    this.reviews.length = 0;
    this.reviewComments.length = 0;
    this.resolvedThreads.clear();
    this.archiveToken = undefined;
    this.createdPulls.length = 0;
  }

  /** The changed files of a pull request, as `GET .../pulls/{number}/files` lists them. */
  pullFiles(fullName: string, number: number): FakePullFile[] {
    const repo = this.repos.get(fullName);
    const pr = repo?.pullRequests.get(number);
    if (!repo || !pr) return [];
    const baseSha = repo.mergeBases.get(`${pr.base.sha}...${pr.head.sha}`) ?? pr.base.sha;
    return diffFiles(repo.commits.get(baseSha) ?? {}, repo.commits.get(pr.head.sha) ?? {});
  }

  /** API requests made for a repository (token requests and archive downloads from codeload excluded). */
  apiRequests(fullName: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith(`/repos/${fullName}/`));
  }

  private repo(fullName: string): FakeRepo {
    let repo = this.repos.get(fullName);
    if (!repo) {
      repo = { commits: new Map(), info: new Map(), mergeBases: new Map(), pulls: new Map(), pullRequests: new Map(), branches: new Map() };
      this.repos.set(fullName, repo);
    }
    return repo;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = undefined;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const [path, search] = (req.url ?? '/').split('?') as [string, string | undefined];
    const query = new URLSearchParams(search ?? '');
    const method = req.method ?? 'GET';
    const record: RecordedRequest = { method, path, status: 0, body, at: this.now() };
    const installation = /^token ghs_fake_(\d+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (installation) record.installation = Number(installation);
    this.requests.push(record);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      const isBuffer = Buffer.isBuffer(payload);
      res.writeHead(status, { 'content-type': isBuffer ? 'application/x-gzip' : 'application/json; charset=utf-8', ...headers });
      res.end(isBuffer ? payload : payload === undefined ? '' : JSON.stringify(payload));
    };
    // codeload.github.com (where tarballs redirect) is not the REST API, nor is GraphQL.
    if (!path.startsWith('/_codeload/') && path !== '/graphql') {
      const rejection = openApiRejection(method, path, query, body);
      if (rejection) return send(rejection.status, rejection.payload);
    }
    const failure = this.failures.find((f) => f.pattern.test(`${method} ${path}`) && f.times !== 0);
    if (failure) {
      if (failure.times !== undefined) failure.times--;
      return send(failure.status, failure.payload ?? { message: failure.message ?? `fake failure ${failure.status}` }, failure.headers);
    }
    try {
      if (path === '/graphql') return this.graphql(method, body, req, record, send);
      this.route(method, path, query, body, req, send);
    } catch (error) {
      send(500, { message: String(error) });
    }
  }

  private route(method: string, path: string, query: URLSearchParams, body: unknown, req: IncomingMessage, send: (status: number, payload: unknown, headers?: Record<string, string>) => void): void {
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/app') {
      // GitHub answers this one to the App's JWT only.
      if (!/^bearer /i.test(req.headers.authorization ?? '')) return send(401, { message: 'A JSON web token could not be decoded' });
      return send(200, { id: FAKE_APP_ID, slug: FAKE_APP_SLUG, node_id: 'A_fake', name: 'Parapet', owner: { login: 'example-org', type: 'Organization' } });
    }
    if (method === 'POST' && (m = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path))) {
      if (!/^bearer /i.test(req.headers.authorization ?? '')) return send(401, { message: 'A JSON web token could not be decoded' });
      return send(201, { token: `ghs_fake_${m[1]}`, expires_at: new Date(Date.now() + 3600_000).toISOString(), permissions: { checks: 'write', contents: 'read' }, repository_selection: 'all' });
    }
    const user = this.userTokens.get((req.headers.authorization ?? '').replace(/^(token|bearer) /i, ''));
    if (user !== undefined) {
      if (method === 'GET' && path === '/user/installations') {
        const owners = [...this.grants].filter(([, logins]) => logins.has(user)).map(([fullName]) => fullName.split('/')[0]!);
        const installations = [...new Set(owners)].map((owner, i) => ({
          id: 100 + i,
          account: { login: owner, type: 'Organization' },
          app_id: FAKE_APP_ID,
          app_slug: FAKE_APP_SLUG,
          target_type: 'Organization',
          repository_selection: 'all',
          permissions: this.installations.get(owner) ?? FAKE_INSTALLATION_PERMISSIONS,
          events: ['push', 'pull_request'],
        }));
        return send(200, { total_count: installations.length, installations });
      }
      if ((m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path))) {
        const fullName = `${m[1]}/${m[2]}`;
        const access = this.grants.get(fullName)?.get(user);
        // A private repository the user cannot read does not exist for them.
        if (access === undefined) return send(404, { message: 'Not Found' });
        if (method !== 'GET') {
          const permissions = this.installations.get(m[1]!) ?? FAKE_INSTALLATION_PERMISSIONS;
          const needs = /^\/pulls(\/|$)/.test(m[3] ?? '') ? 'pull_requests' : 'contents';
          // A user's token of a GitHub App can do no more than the App's installation may.
          if (permissions[needs] !== 'write') return send(403, { message: 'Resource not accessible by integration', documentation_url: 'https://docs.github.com/rest' });
          if (access !== 'write') return send(404, { message: 'Not Found' });
          return this.routeWrite(method, fullName, m[3] ?? '', body, user, send);
        }
        if (m[3] === undefined) {
          return send(200, {
            id: 1,
            name: m[2],
            full_name: fullName,
            owner: { login: m[1], type: 'Organization' },
            default_branch: 'main',
            private: true,
            permissions: { admin: false, maintain: false, push: access === 'write', triage: access === 'write', pull: true },
          });
        }
      }
    } else if (path.startsWith('/repos/') && !/^token ghs_fake_/.test(req.headers.authorization ?? '')) {
      // Repository endpoints need the installation token (or a user's).
      return send(401, { message: 'Bad credentials' });
    }
    if (method === 'GET' && (m = /^\/repos\/([^/]+)\/([^/]+)\/git\/commits\/([0-9a-f]{40})$/.exec(path))) {
      const info = this.repos.get(`${m[1]}/${m[2]}`)?.info.get(m[3]!);
      if (!info) return send(404, { message: 'Not Found' });
      return send(200, { sha: m[3], tree: { sha: this.treeOf(m[3]!) }, message: info.message, parents: info.parents.map((sha) => ({ sha })) });
    }
    if (method === 'GET' && (m = /^\/repos\/([^/]+)\/([^/]+)\/branches\/([^/]+)$/.exec(path))) {
      const branch = decodeURIComponent(m[3]!);
      const sha = this.repos.get(`${m[1]}/${m[2]}`)?.branches.get(branch);
      if (!sha) return send(404, { message: 'Branch not found' });
      return send(200, { name: branch, commit: { sha, commit: { tree: { sha: this.treeOf(sha) }, message: this.repos.get(`${m[1]}/${m[2]}`)!.info.get(sha)?.message ?? '' } }, protected: false });
    }

    if (method === 'GET' && (m = /^\/repos\/([^/]+)\/([^/]+)$/.exec(path))) {
      const repo = this.repos.get(`${m[1]}/${m[2]}`);
      if (!repo) return send(404, { message: 'Not Found' });
      return send(200, { id: 1, name: m[2], full_name: `${m[1]}/${m[2]}`, owner: { login: m[1], type: 'Organization' }, default_branch: 'main', private: false });
    }
    if (method === 'GET' && (m = /^\/repos\/([^/]+)\/([^/]+)\/commits\/([^/]+)$/.exec(path))) {
      const repo = this.repos.get(`${m[1]}/${m[2]}`);
      const sha = repo?.branches.get(m[3]!) ?? (repo?.commits.has(m[3]!) ? m[3] : undefined);
      if (!sha) return send(404, { message: 'No commit found for SHA' });
      return send(200, { sha });
    }
    if (method === 'GET' && (m = /^\/repos\/([^/]+)\/([^/]+)\/tarball\/(.+)$/.exec(path))) {
      const files = this.repos.get(`${m[1]}/${m[2]}`)?.commits.get(m[3]!);
      if (!files) return send(404, { message: 'Not Found' });
      // GitHub redirects to codeload; follow the same path.
      const token = this.archiveToken === undefined ? '' : `?token=${encodeURIComponent(this.archiveToken)}`;
      return send(302, undefined, { location: `${this.url}/_codeload/${m[1]}/${m[2]}/legacy.tar.gz/${m[3]}${token}` });
    }
    if (method === 'GET' && (m = /^\/_codeload\/([^/]+)\/([^/]+)\/legacy\.tar\.gz\/(.+)$/.exec(path))) {
      if (this.archiveToken !== undefined && query.get('token') !== this.archiveToken) return send(404, { message: 'Not Found' });
      const files = this.repos.get(`${m[1]}/${m[2]}`)?.commits.get(m[3]!);
      if (!files) return send(404, { message: 'Not Found' });
      const tarball = buildTarball(m[1]!, m[2]!, m[3]!, files);
      return send(200, tarball, { 'content-length': String(tarball.length) });
    }
    if (method === 'GET' && (m = /^\/repos\/([^/]+)\/([^/]+)\/compare\/([0-9a-f]+)\.\.\.([0-9a-f]+)$/.exec(path))) {
      const repo = this.repos.get(`${m[1]}/${m[2]}`);
      if (!repo?.commits.has(m[3]!) || !repo.commits.has(m[4]!)) return send(404, { message: 'Not Found' });
      const mergeBase = repo.mergeBases.get(`${m[3]}...${m[4]}`) ?? m[3]!;
      return send(200, { status: 'ahead', ahead_by: 1, behind_by: 0, total_commits: 1, base_commit: { sha: m[3] }, merge_base_commit: { sha: mergeBase }, commits: [], files: [] });
    }
    if (method === 'GET' && (m = /^\/repos\/([^/]+)\/([^/]+)\/commits\/([0-9a-f]+)\/pulls$/.exec(path))) {
      return send(200, this.repos.get(`${m[1]}/${m[2]}`)?.pulls.get(m[3]!) ?? []);
    }
    if (method === 'GET' && (m = /^\/repos\/([^/]+)\/([^/]+)\/commits\/([0-9a-f]+)\/check-runs$/.exec(path))) {
      const runs = this.checkRuns.filter(
        (r) =>
          r.repo === `${m![1]}/${m![2]}` &&
          r.head_sha === m![3] &&
          (!query.has('status') || r.status === query.get('status')) &&
          (!query.has('check_name') || r.name === query.get('check_name')) &&
          (!query.has('app_id') || String(r.app.id) === query.get('app_id')),
      );
      return send(200, { total_count: runs.length, check_runs: runs.map((r) => this.checkRunJson(r)) });
    }
    if (method === 'GET' && (m = /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)$/.exec(path))) {
      const pr = this.repos.get(`${m[1]}/${m[2]}`)?.pullRequests.get(Number(m[3]));
      if (!pr) return send(404, { message: 'Not Found' });
      const repository = { id: 1, name: m[2], full_name: `${m[1]}/${m[2]}`, owner: { login: m[1], type: 'Organization' }, default_branch: 'main' };
      return send(200, { number: pr.number, state: pr.state, base: { sha: pr.base.sha, ref: pr.base.ref, repo: repository }, head: { sha: pr.head.sha, ref: 'feature' } });
    }
    if (method === 'GET' && (m = /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)\/files$/.exec(path))) {
      const fullName = `${m[1]}/${m[2]}`;
      if (!this.repos.get(fullName)?.pullRequests.has(Number(m[3]))) return send(404, { message: 'Not Found' });
      return this.sendPage(path, query, this.pullFiles(fullName, Number(m[3])), send);
    }
    if (method === 'GET' && (m = /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)\/comments$/.exec(path))) {
      const comments = this.reviewComments.filter((c) => c.repo === `${m![1]}/${m![2]}` && c.pull_number === Number(m![3]));
      return this.sendPage(path, query, comments, send);
    }
    if (method === 'POST' && (m = /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)\/reviews$/.exec(path))) {
      return this.createReview(`${m[1]}/${m[2]}`, Number(m[3]), body as Record<string, unknown>, send);
    }
    if (method === 'POST' && (m = /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)\/comments\/(\d+)\/replies$/.exec(path))) {
      const fullName = `${m[1]}/${m[2]}`;
      const parent = this.reviewComments.find((c) => c.id === Number(m![4]) && c.repo === fullName && c.pull_number === Number(m![3]));
      if (!parent) return send(404, { message: 'Not Found' });
      const input = body as Record<string, unknown> | undefined;
      if (typeof input?.body !== 'string' || input.body === '') return send(422, { message: 'Validation Failed', errors: ['body is required'] });
      const reply: FakeReviewComment = { ...parent, id: this.nextId++, review_id: null, in_reply_to_id: parent.in_reply_to_id ?? parent.id, body: input.body, user: { login: FAKE_BOT_LOGIN, type: 'Bot' } };
      this.reviewComments.push(reply);
      return send(201, reply);
    }
    if (method === 'POST' && (m = /^\/repos\/([^/]+)\/([^/]+)\/check-runs$/.exec(path))) {
      const input = body as Record<string, unknown>;
      const problem = checkRunProblem(input, true);
      if (problem) return send(422, { message: 'Validation Failed', errors: [problem] });
      const run: FakeCheckRun = {
        id: this.nextId++,
        repo: `${m[1]}/${m[2]}`,
        name: input.name as string,
        head_sha: input.head_sha as string,
        status: (input.status as FakeCheckRun['status']) ?? 'queued',
        conclusion: (input.conclusion as string) ?? null,
        output: {},
        annotations: [],
        updates: 0,
        statuses: [],
        app: { id: FAKE_APP_ID },
      };
      this.applyUpdate(run, input);
      this.checkRuns.push(run);
      return send(201, this.checkRunJson(run));
    }
    if (method === 'PATCH' && (m = /^\/repos\/([^/]+)\/([^/]+)\/check-runs\/(\d+)$/.exec(path))) {
      const run = this.checkRuns.find((r) => r.id === Number(m![3]) && r.repo === `${m![1]}/${m![2]}`);
      if (!run) return send(404, { message: 'Not Found' });
      const input = body as Record<string, unknown>;
      const problem = checkRunProblem(input, false);
      if (problem) return send(422, { message: 'Validation Failed', errors: [problem] });
      run.updates++;
      this.applyUpdate(run, input);
      return send(200, this.checkRunJson(run));
    }
    send(404, { message: `Not Found (the fake GitHub has no ${method} ${path})` });
  }

  /** Git Data API writes (trees, commits, refs) and opening pull requests, checked as GitHub checks them. */
  private routeWrite(method: string, fullName: string, rest: string, body: unknown, user: string, send: (status: number, payload: unknown, headers?: Record<string, string>) => void): void {
    const repo = this.repo(fullName);
    const input = (body ?? {}) as Record<string, any>;
    const invalid = (message: string) => send(422, { message, documentation_url: 'https://docs.github.com/rest' });
    const hash = (value: unknown) => createHash('sha1').update(JSON.stringify(value)).update(String(this.nextId++)).digest('hex');
    if (method === 'POST' && rest === '/git/trees') {
      const base = input.base_tree === undefined ? {} : this.trees.get(input.base_tree);
      if (!base) return invalid('base_tree is not a valid tree');
      const files = { ...base };
      for (const entry of input.tree as Array<Record<string, any>>) {
        if (entry.type !== 'blob' || entry.mode !== '100644') return invalid(`only regular files are expected, got ${entry.type} ${entry.mode}`);
        if (typeof entry.path !== 'string' || entry.path.startsWith('/') || entry.path.endsWith('/') || entry.path.split('/').some((s: string) => s === '' || s === '.' || s === '..')) {
          return invalid(`tree.path contains a malformed path component: ${String(entry.path)}`);
        }
        if ('content' in entry && 'sha' in entry) return invalid('tree entries take content or sha, not both');
        if (entry.sha === null) {
          if (!(entry.path in files)) return invalid(`GitRPC::BadObjectState: ${entry.path} is not in the base tree`);
          delete files[entry.path];
        } else if (typeof entry.content === 'string') files[entry.path] = entry.content;
        else return invalid('tree entries need content (or sha: null to delete)');
      }
      const sha = hash(files);
      this.trees.set(sha, files);
      return send(201, { sha, url: `${this.url}/repos/${fullName}/git/trees/${sha}`, truncated: false, tree: [] });
    }
    if (method === 'POST' && rest === '/git/commits') {
      const files = this.trees.get(input.tree);
      if (!files) return invalid('Tree SHA does not exist');
      const parents = (input.parents ?? []) as string[];
      for (const parent of parents) if (!repo.commits.has(parent)) return invalid('Parent SHA does not exist or is not a commit object');
      const sha = hash([input.tree, parents, input.message]);
      this.addCommit(fullName, sha, files, { parents, message: input.message as string, author: { name: user, email: `${user}@users.noreply.example.com`, login: user } });
      this.trees.set(sha.split('').reverse().join(''), files);
      return send(201, { sha, tree: { sha: input.tree }, message: input.message, parents: parents.map((p) => ({ sha: p })), author: { name: user, email: `${user}@users.noreply.example.com`, date: new Date().toISOString() } });
    }
    if (method === 'POST' && rest === '/git/refs') {
      const ref = input.ref as string;
      if (!/^refs\/heads\/[^\s~^:?*[\\]+$/.test(ref) || ref.includes('..') || ref.endsWith('/') || ref.endsWith('.lock')) return invalid(`${ref} is not a valid ref name.`);
      if (!repo.commits.has(input.sha)) return invalid('Object does not exist');
      const branch = ref.slice('refs/heads/'.length);
      if (repo.branches.has(branch)) return invalid('Reference already exists');
      repo.branches.set(branch, input.sha);
      return send(201, { ref, object: { sha: input.sha, type: 'commit' } });
    }
    let m: RegExpExecArray | null;
    if (method === 'DELETE' && (m = /^\/git\/refs\/([^/]+)$/.exec(rest))) {
      const ref = decodeURIComponent(m[1]!);
      if (!ref.startsWith('heads/') || !repo.branches.delete(ref.slice('heads/'.length))) return invalid('Reference does not exist');
      return send(204, undefined);
    }
    if (method === 'POST' && rest === '/pulls') {
      const head = repo.branches.get(input.head);
      const baseSha = repo.branches.get(input.base);
      if (!head) return invalid(`Validation Failed: head ${String(input.head)} is not a branch`);
      if (!baseSha) return invalid(`Validation Failed: base ${String(input.base)} is not a branch`);
      if (head === baseSha) return invalid(`Validation Failed: No commits between ${String(input.base)} and ${String(input.head)}`);
      if (this.createdPulls.some((p) => p.repo === fullName && p.head === input.head)) return invalid(`Validation Failed: A pull request already exists for ${String(input.head)}.`);
      const number = 1000 + this.createdPulls.length + 1;
      const info = repo.info.get(head)!;
      const parent = info.parents[0]!;
      const before = repo.commits.get(parent)!;
      const after = repo.commits.get(head)!;
      const text = (v: string | Buffer) => (typeof v === 'string' ? v : v.toString('utf8'));
      const created: FakeCreatedPull = {
        number,
        repo: fullName,
        title: input.title,
        body: input.body ?? '',
        head: input.head,
        base: input.base,
        user,
        headSha: head,
        baseSha: parent,
        commit: { message: info.message, author: info.author.login ?? info.author.name },
        writes: Object.fromEntries(Object.entries(after).filter(([path, v]) => before[path] === undefined || text(before[path]!) !== text(v)).map(([path, v]) => [path, text(v)])),
        deletes: Object.keys(before).filter((path) => !(path in after)).sort(),
      };
      this.createdPulls.push(created);
      this.addPullRequest(fullName, { number, base: { sha: baseSha, ref: input.base }, head: { sha: head } });
      return send(201, { number, state: 'open', title: input.title, html_url: `https://github.com/${fullName}/pull/${number}`, user: { login: user }, head: { ref: input.head, sha: head }, base: { ref: input.base, sha: baseSha } });
    }
    send(404, { message: `Not Found (the fake GitHub has no ${method} /repos/${fullName}${rest})` });
  }

  /** `POST /graphql`: GitHub's GraphQL endpoint, over the fake's repositories (fake-github-graphql.ts). */
  private graphql(method: string, body: unknown, req: IncomingMessage, record: RecordedRequest, send: (status: number, payload: unknown) => void): void {
    if (method !== 'POST') return send(404, { message: 'Not Found' });
    if (!/^(token|bearer) ghs_fake_/i.test(req.headers.authorization ?? '')) {
      return send(401, { message: 'This endpoint requires you to be authenticated.', documentation_url: 'https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql' });
    }
    if (typeof body !== 'object' || body === null) return send(400, { message: 'Problems parsing JSON' });
    send(200, answerGraphQL(body, this.graphqlResolvers(record)));
  }

  private graphqlResolvers(record: RecordedRequest): Resolvers {
    interface RepoView {
      fullName: string;
      repo: FakeRepo;
    }
    interface CommitView {
      __typename: 'Commit';
      fullName: string;
      repo: FakeRepo;
      sha: string;
      info: FakeCommitInfo;
    }
    const commitView = (view: RepoView, sha: string): CommitView => ({ __typename: 'Commit', ...view, sha, info: view.repo.info.get(sha)! });
    const actor = (c: CommitView) => ({
      name: c.info.author.name,
      email: c.info.author.email,
      date: c.info.committedDate,
      user: c.info.author.login ? { id: `U_${c.info.author.login}`, login: c.info.author.login, name: c.info.author.name } : null,
    });
    const history = (repo: FakeRepo) => ({ files: (sha: string) => repo.commits.get(sha), info: (sha: string) => repo.info.get(sha) });
    const threadView = (id: string) => {
      const root = this.reviewComments.find((c) => `PRRT_${c.id}` === id && c.in_reply_to_id === undefined);
      return root ? { id, root, isResolved: this.resolvedThreads.has(root.id) } : undefined;
    };
    return {
      Mutation: {
        resolveReviewThread: (_source, args) => {
          const { threadId } = args.input as { threadId: string };
          const thread = threadView(threadId);
          if (!thread) throw new FieldError(`Could not resolve to a node with the global id of '${threadId}'`, 'NOT_FOUND');
          this.resolvedThreads.add(thread.root.id);
          return { thread: threadView(threadId) };
        },
      },
      Query: {
        repository: (_source, args): RepoView => {
          const fullName = `${String(args.owner)}/${String(args.name)}`;
          record.repository = fullName;
          const repo = this.repos.get(fullName);
          if (!repo) throw new FieldError(`Could not resolve to a Repository with the name '${fullName}'.`, 'NOT_FOUND');
          return { fullName, repo };
        },
      },
      Repository: {
        pullRequest: (r: RepoView, args) => ({ fullName: r.fullName, number: Number(args.number) }),
        id: (r: RepoView) => Buffer.from(`Repository:${r.fullName}`).toString('base64'),
        name: (r: RepoView) => r.fullName.split('/')[1],
        nameWithOwner: (r: RepoView) => r.fullName,
        // A commit by its id or a branch by its name; other expressions (`sha:path`) are not served.
        object: (r: RepoView, args) => {
          const wanted = (args.oid ?? args.expression) as string | null;
          const sha = wanted === null ? undefined : (r.repo.branches.get(wanted) ?? (r.repo.commits.has(wanted) ? wanted : undefined));
          return sha ? commitView(r, sha) : null;
        },
      },
      PullRequest: {
        number: (p: { number: number }) => p.number,
        // A thread per top-level review comment, with its replies, in the order they were made.
        reviewThreads: (p: { fullName: string; number: number }, args) => {
          const first = args.first as number | null | undefined;
          if (first == null) throw new FieldError('You must provide a `first` or `last` value to properly paginate the `reviewThreads` connection.', 'MISSING_PAGINATION_BOUNDARIES');
          if (first > 100) throw new FieldError(`Requesting ${first} records on the \`reviewThreads\` connection exceeds the \`first\` limit of 100 records.`, 'EXCESSIVE_PAGINATION');
          const roots = this.reviewComments.filter((c) => c.repo === p.fullName && c.pull_number === p.number && c.in_reply_to_id === undefined);
          const start = args.after ? Number(Buffer.from(String(args.after), 'base64').toString().replace('cursor:', '')) : 0;
          const page = roots.slice(start, start + first);
          const end = start + page.length;
          return {
            totalCount: roots.length,
            pageInfo: { hasNextPage: end < roots.length, hasPreviousPage: start > 0, endCursor: page.length ? Buffer.from(`cursor:${end}`).toString('base64') : null, startCursor: null },
            nodes: page.map((root) => threadView(`PRRT_${root.id}`)),
          };
        },
      },
      PullRequestReviewThread: {
        comments: (t: { root: FakeReviewComment }, args) => {
          const all = [t.root, ...this.reviewComments.filter((c) => c.in_reply_to_id === t.root.id)];
          return { totalCount: all.length, nodes: all.slice(0, (args.first as number | null) ?? all.length) };
        },
      },
      PullRequestReviewComment: {
        databaseId: (c: FakeReviewComment) => c.id,
        id: (c: FakeReviewComment) => `PRRC_${c.id}`,
        body: (c: FakeReviewComment) => c.body,
      },
      Commit: {
        id: (c: CommitView) => Buffer.from(`Commit:${c.sha}`).toString('base64'),
        oid: (c: CommitView) => c.sha,
        abbreviatedOid: (c: CommitView) => c.sha.slice(0, 7),
        message: (c: CommitView) => c.info.message,
        messageHeadline: (c: CommitView) => c.info.message.split('\n')[0],
        committedDate: (c: CommitView) => c.info.committedDate,
        authoredDate: (c: CommitView) => c.info.committedDate,
        url: (c: CommitView) => `https://github.com/${c.fullName}/commit/${c.sha}`,
        author: actor,
        committer: actor,
        blame: (c: CommitView, args) => {
          const owners = blameLines(history(c.repo), c.sha, String(args.path));
          // GitHub's exact answer for a path missing at the commit is not documented; the fake
          // raises a field error, the harder case for a caller (it nulls the enclosing `object`).
          if (!owners) throw new FieldError(`Could not resolve file for path '${String(args.path)}'.`, 'NOT_FOUND');
          return { ranges: blameRanges(history(c.repo), owners).map((r) => ({ ...r, commit: commitView(c, r.commit) })) };
        },
        parents: (c: CommitView, args) => {
          const parents = c.info.parents.slice(0, (args.first as number | null | undefined) ?? c.info.parents.length);
          return { totalCount: c.info.parents.length, nodes: parents.map((sha) => commitView(c, sha)) };
        },
        // `git log` from the commit: every ancestor, newest commit date first, paged by cursor.
        history: (c: CommitView, args) => {
          const first = args.first as number | null | undefined;
          if (first == null) throw new FieldError('You must provide a `first` or `last` value to properly paginate the `history` connection.', 'MISSING_PAGINATION_BOUNDARIES');
          if (first > 100) throw new FieldError(`Requesting ${first} records on the \`history\` connection exceeds the \`first\` limit of 100 records.`, 'EXCESSIVE_PAGINATION');
          const seen = new Set<string>();
          const pending = [c.sha];
          while (pending.length > 0) {
            const sha = pending.pop()!;
            if (seen.has(sha)) continue;
            seen.add(sha);
            pending.push(...(c.repo.info.get(sha)?.parents ?? []));
          }
          const all = [...seen].sort((a, b) => Date.parse(c.repo.info.get(b)!.committedDate) - Date.parse(c.repo.info.get(a)!.committedDate));
          const start = args.after ? Number(Buffer.from(String(args.after), 'base64').toString().replace('cursor:', '')) : 0;
          const page = all.slice(start, start + first);
          const end = start + page.length;
          return {
            totalCount: all.length,
            pageInfo: { hasNextPage: end < all.length, hasPreviousPage: start > 0, endCursor: page.length ? Buffer.from(`cursor:${end}`).toString('base64') : null, startCursor: null },
            nodes: page.map((sha) => commitView(c, sha)),
          };
        },
        associatedPullRequests: (c: CommitView, args) => {
          if (args.first == null && args.last == null) {
            throw new FieldError('You must provide a `first` or `last` value to properly paginate the `associatedPullRequests` connection.', 'MISSING_PAGINATION_BOUNDARIES');
          }
          for (const bound of ['first', 'last'] as const) {
            if (typeof args[bound] === 'number' && (args[bound] as number) > 100) {
              throw new FieldError(`Requesting ${String(args[bound])} records on the \`associatedPullRequests\` connection exceeds the \`${bound}\` limit of 100 records.`, 'EXCESSIVE_PAGINATION');
            }
          }
          const number = c.info.pullRequest;
          const account = (login: string | undefined) => (login === undefined ? null : { __typename: 'User', login });
          const nodes =
            number === undefined || args.first === 0 || args.last === 0
              ? []
              : [
                  {
                    id: `PR_${number}`,
                    number,
                    title: `Pull request #${number}`,
                    url: `https://github.com/${c.fullName}/pull/${number}`,
                    merged: true,
                    mergedAt: c.info.committedDate,
                    author: account(c.info.pullRequestAuthor),
                    mergedBy: account(c.info.mergedBy),
                  },
                ];
          return { nodes, totalCount: number === undefined ? 0 : 1 };
        },
      },
    };
  }

  private applyUpdate(run: FakeCheckRun, input: Record<string, unknown>): void {
    if (typeof input.status === 'string') run.status = input.status as FakeCheckRun['status'];
    if (typeof input.conclusion === 'string') {
      run.conclusion = input.conclusion;
      run.status = 'completed';
    }
    run.statuses.push(run.status);
    const output = input.output as { title?: string; summary?: string; text?: string; annotations?: FakeAnnotation[] } | undefined;
    if (output) {
      const { annotations, ...text } = output;
      run.output = { ...run.output, ...text };
      run.annotations.push(...(annotations ?? []));
    }
  }

  /** A list endpoint's page (`per_page`, default 30, at most 100; `page`), with GitHub's `Link` header. */
  private sendPage(path: string, query: URLSearchParams, items: unknown[], send: (status: number, payload: unknown, headers?: Record<string, string>) => void): void {
    const perPage = Math.min(100, Number(query.get('per_page') ?? 30));
    const page = Number(query.get('page') ?? 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const headers: Record<string, string> = {};
    if (page < last) headers.link = `<${this.url}${path}?per_page=${perPage}&page=${page + 1}>; rel="next", <${this.url}${path}?per_page=${perPage}&page=${last}>; rel="last"`;
    send(200, items.slice((page - 1) * perPage, page * perPage), headers);
  }

  /** `POST .../pulls/{number}/reviews`, validated as GitHub does. */
  private createReview(fullName: string, number: number, input: Record<string, unknown> | undefined, send: (status: number, payload: unknown) => void): void {
    const pr = this.repos.get(fullName)?.pullRequests.get(number);
    if (!pr) return send(404, { message: 'Not Found' });
    const invalid = (problem: string) => send(422, { message: 'Unprocessable Entity', errors: [problem] });
    if (!input || typeof input !== 'object') return invalid('body must be a JSON object');
    if (!['COMMENT', 'APPROVE', 'REQUEST_CHANGES'].includes(input.event as string)) return invalid(`event ${String(input.event)} is invalid`);
    if (input.commit_id !== undefined && typeof input.commit_id !== 'string') return invalid('commit_id must be a string');
    const commitId = (input.commit_id as string | undefined) ?? pr.head.sha;
    if (!this.repos.get(fullName)!.commits.has(commitId)) return invalid(`No commit found for SHA: ${commitId}`);
    const comments = (input.comments ?? []) as Array<Record<string, unknown>>;
    if (!Array.isArray(comments)) return invalid('comments must be an array');
    if (input.event === 'COMMENT' && comments.length === 0 && !input.body) return invalid('body is required for a COMMENT review without comments');
    // Lines are checked against the diff of the pull request's current head, as GitHub does.
    const diff = new Map(this.pullFiles(fullName, number).map((f) => [f.filename, commentableLines(f.patch)]));
    for (const c of comments) {
      if (typeof c.path !== 'string' || typeof c.body !== 'string' || c.body === '' || !Number.isInteger(c.line)) return invalid('each comment needs path, line and body');
      if (c.side !== undefined && c.side !== 'RIGHT' && c.side !== 'LEFT') return invalid(`side ${String(c.side)} is invalid`);
      if (!diff.get(c.path)?.has(c.line as number)) return invalid(`Pull request review thread line must be part of the diff (${c.path}:${String(c.line)})`);
    }
    const review: FakeReview = { id: this.nextId++, repo: fullName, pull_number: number, commit_id: commitId, event: input.event as string, body: (input.body as string) ?? '', comments: [] };
    for (const c of comments) {
      const comment: FakeReviewComment = {
        id: this.nextId++,
        repo: fullName,
        pull_number: number,
        review_id: review.id,
        path: c.path as string,
        line: c.line as number,
        side: 'RIGHT',
        commit_id: commitId,
        body: c.body as string,
        user: { login: FAKE_BOT_LOGIN, type: 'Bot' },
      };
      review.comments.push(comment);
      this.reviewComments.push(comment);
    }
    this.reviews.push(review);
    send(200, { id: review.id, commit_id: commitId, state: 'COMMENTED', body: review.body });
  }

  private checkRunJson(run: FakeCheckRun): unknown {
    return { id: run.id, name: run.name, head_sha: run.head_sha, status: run.status, conclusion: run.conclusion, app: { id: run.app.id, slug: 'parapet' }, output: { title: run.output.title ?? null, summary: run.output.summary ?? null, annotations_count: run.annotations.length } };
  }
}

/** The validation GitHub applies to a check run body (the parts the App can get wrong). */
function checkRunProblem(input: Record<string, unknown> | undefined, creating: boolean): string | undefined {
  if (!input || typeof input !== 'object') return 'body must be a JSON object';
  if (creating && (typeof input.name !== 'string' || typeof input.head_sha !== 'string')) return 'name and head_sha are required';
  if (input.status !== undefined && !['queued', 'in_progress', 'completed'].includes(input.status as string)) return `status ${String(input.status)} is invalid`;
  if (input.status === 'completed' && typeof input.conclusion !== 'string') return 'conclusion is required when status is completed';
  const output = input.output as Record<string, unknown> | undefined;
  if (output !== undefined) {
    if (typeof output.title !== 'string' || typeof output.summary !== 'string') return 'output.title and output.summary are required';
    if (output.summary.length > 65535) return 'output.summary is too long (maximum is 65535 characters)';
    const annotations = output.annotations as FakeAnnotation[] | undefined;
    if (annotations !== undefined) {
      if (!Array.isArray(annotations)) return 'output.annotations must be an array';
      if (annotations.length > 50) return `output.annotations has ${annotations.length} items; at most 50 are allowed per request`;
      for (const a of annotations) {
        if (typeof a.path !== 'string' || !Number.isInteger(a.start_line) || !Number.isInteger(a.end_line) || typeof a.message !== 'string') return 'annotation needs path, start_line, end_line and message';
        if (!['notice', 'warning', 'failure'].includes(a.annotation_level)) return `annotation_level ${String(a.annotation_level)} is invalid`;
        if (a.start_line < 1 || a.end_line < a.start_line) return 'annotation lines are invalid';
      }
    }
  }
  return undefined;
}

/** Sends a webhook delivery as GitHub does, signed with `secret` (or with the given signature). */
export async function deliverWebhook(
  url: string,
  event: string,
  payload: unknown,
  secret: string,
  options: { signature?: string | null; deliveryId?: string } = {},
): Promise<{ status: number; text: string }> {
  const body = JSON.stringify(payload);
  const signature = options.signature === undefined ? `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` : options.signature;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/fake',
    'x-github-event': event,
    'x-github-delivery': options.deliveryId ?? randomUUID(),
    'x-github-hook-id': '1',
  };
  if (signature !== null) headers['x-hub-signature-256'] = signature;
  const response = await fetch(url, { method: 'POST', headers, body });
  return { status: response.status, text: await response.text() };
}
