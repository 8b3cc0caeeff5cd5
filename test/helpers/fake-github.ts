// A fake GitHub: a real HTTP server on 127.0.0.1 that answers the REST calls the App makes, from
// repositories held as file maps at commits, and records what the App did (every request, every
// check run with its updates). Like GitHub, it refuses more than 50 annotations in one request.
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildTarball } from './fake-github-tarball.js';

export interface RecordedRequest {
  method: string;
  path: string;
  status: number;
  body: unknown;
  /** Milliseconds since the fake started. */
  at: number;
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
}

interface FakeRepo {
  commits: Map<string, Record<string, string | Buffer>>;
  mergeBases: Map<string, string>;
  pulls: Map<string, Array<{ number: number; state: string; base: { sha: string }; head: { sha: string } }>>;
}

export class FakeGitHub {
  readonly requests: RecordedRequest[] = [];
  readonly checkRuns: FakeCheckRun[] = [];
  private readonly repos = new Map<string, FakeRepo>();
  /** Paths (regular expressions over `METHOD /path`) answered with this status instead. */
  private readonly failures: Array<{ pattern: RegExp; status: number }> = [];
  private nextId = 1;
  private readonly started = performance.now();

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

  /** Adds a commit with exactly these files. */
  addCommit(fullName: string, sha: string, files: Record<string, string | Buffer>): void {
    this.repo(fullName).commits.set(sha, files);
  }

  setMergeBase(fullName: string, base: string, head: string, mergeBase: string): void {
    this.repo(fullName).mergeBases.set(`${base}...${head}`, mergeBase);
  }

  /** An open pull request, listed by `GET /repos/{owner}/{repo}/commits/{head}/pulls`. */
  addPullRequest(fullName: string, pr: { number: number; base: { sha: string }; head: { sha: string } }): void {
    const pulls = this.repo(fullName).pulls;
    pulls.set(pr.head.sha, [...(pulls.get(pr.head.sha) ?? []), { ...pr, state: 'open' }]);
  }

  /** Answers `METHOD /path` requests matching `pattern` with `status` from now on. */
  failWith(pattern: RegExp, status: number): void {
    this.failures.push({ pattern, status });
  }

  reset(): void {
    this.requests.length = 0;
    this.checkRuns.length = 0;
    this.failures.length = 0;
  }

  /** API requests made for a repository (token requests and archive downloads from codeload excluded). */
  apiRequests(fullName: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith(`/repos/${fullName}/`));
  }

  private repo(fullName: string): FakeRepo {
    let repo = this.repos.get(fullName);
    if (!repo) {
      repo = { commits: new Map(), mergeBases: new Map(), pulls: new Map() };
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
    const path = (req.url ?? '/').split('?')[0]!;
    const method = req.method ?? 'GET';
    const record: RecordedRequest = { method, path, status: 0, body, at: Math.round(performance.now() - this.started) };
    this.requests.push(record);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      const isBuffer = Buffer.isBuffer(payload);
      res.writeHead(status, { 'content-type': isBuffer ? 'application/x-gzip' : 'application/json; charset=utf-8', ...headers });
      res.end(isBuffer ? payload : payload === undefined ? '' : JSON.stringify(payload));
    };
    const failure = this.failures.find((f) => f.pattern.test(`${method} ${path}`));
    if (failure) return send(failure.status, { message: `fake failure ${failure.status}` });
    try {
      this.route(method, path, body, req, send);
    } catch (error) {
      send(500, { message: String(error) });
    }
  }

  private route(method: string, path: string, body: unknown, req: IncomingMessage, send: (status: number, payload: unknown, headers?: Record<string, string>) => void): void {
    let m: RegExpExecArray | null;
    if (method === 'POST' && (m = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path))) {
      if (!/^bearer /i.test(req.headers.authorization ?? '')) return send(401, { message: 'A JSON web token could not be decoded' });
      return send(201, { token: `ghs_fake_${m[1]}`, expires_at: new Date(Date.now() + 3600_000).toISOString(), permissions: { checks: 'write', contents: 'read' }, repository_selection: 'all' });
    }
    // Repository endpoints need the installation token.
    if (path.startsWith('/repos/') && !/^token ghs_fake_/.test(req.headers.authorization ?? '')) return send(401, { message: 'Bad credentials' });

    if (method === 'GET' && (m = /^\/repos\/([^/]+)\/([^/]+)\/tarball\/(.+)$/.exec(path))) {
      const files = this.repos.get(`${m[1]}/${m[2]}`)?.commits.get(m[3]!);
      if (!files) return send(404, { message: 'Not Found' });
      // GitHub redirects to codeload; follow the same path.
      return send(302, undefined, { location: `${this.url}/_codeload/${m[1]}/${m[2]}/legacy.tar.gz/${m[3]}` });
    }
    if (method === 'GET' && (m = /^\/_codeload\/([^/]+)\/([^/]+)\/legacy\.tar\.gz\/(.+)$/.exec(path))) {
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

  private checkRunJson(run: FakeCheckRun): unknown {
    return { id: run.id, name: run.name, head_sha: run.head_sha, status: run.status, conclusion: run.conclusion, output: { title: run.output.title ?? null, summary: run.output.summary ?? null, annotations_count: run.annotations.length } };
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
