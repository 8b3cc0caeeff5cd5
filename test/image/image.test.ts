// The container image, built from the Dockerfile with buildah and run (`npm run test:image`, run by
// .ci/run after `npm test`). No registry is reachable here, so the FROM lines resolve to stand-ins
// made from Debian and this machine's node and Go (stand-in-bases.ts); a real `docker build` pulls
// the official images. The image serves the setup page, runs `parapet check` on a repository, and
// stops on SIGTERM within 5 s releasing the embedded database's lock, so the next container starts.
// Without buildah or debootstrap the file is skipped with a message, except under CI (.ci/run
// installs both).
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chownSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fixturesDir, repoRoot } from '../helpers/engine.js';
import { freePort } from '../helpers/ports.js';
import { buildah, BUILDAH_ENV, ensureStandIns, missingTools, runLong } from './stand-in-bases.js';

const IMAGE = 'localhost/parapet:test-image';
const missing = missingTools();
if (missing && process.env.CI) throw new Error(`the image test needs buildah and debootstrap under CI: ${missing}`);
if (missing) console.warn(`\n[image test] SKIPPING: ${missing}\n`);

const made: string[] = [];
const containers: string[] = [];
const running: ChildProcess[] = [];

function tempDir(prefix: string, owner?: number): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  // The image's user (node, uid 1000) writes there, as into a volume it owns.
  if (owner !== undefined) chownSync(dir, owner, owner);
  return dir;
}

/** A container of the image with `env` over the image's own, as `docker create -e` makes one. */
function container(env: Record<string, string> = {}): string {
  const from = buildah(['from', '--pull=never', IMAGE]);
  if (from.status !== 0) throw new Error(from.stderr);
  const name = from.stdout.trim();
  containers.push(name);
  // buildah run mounts an anonymous volume on a declared VOLUME over the one given with -v (docker
  // run does not): the declaration is dropped from this working container, not from the image.
  const volume = buildah(['config', '--volume', '/data-', name]);
  if (volume.status !== 0) throw new Error(volume.stderr);
  if (Object.keys(env).length > 0) {
    const config = buildah(['config', ...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]), name]);
    if (config.status !== 0) throw new Error(config.stderr);
  }
  return name;
}

function imageConfig(): { Cmd: string[]; User: string; WorkingDir: string; Env: string[]; Volumes?: Record<string, unknown>; Healthcheck?: { Test: string[] } } {
  const run = buildah(['inspect', '--type', 'image', IMAGE]);
  return JSON.parse(run.stdout).Docker.config;
}

/** Starts the image's CMD in `name`, with `volumes` (host:container). */
function start(name: string, volumes: string[]): ChildProcess {
  const cmd = imageConfig().Cmd;
  const storage = process.env.STORAGE_DRIVER ? ['--storage-driver', process.env.STORAGE_DRIVER] : [];
  const child = spawn('buildah', [...storage, 'run', ...volumes.flatMap((v) => ['-v', v]), name, '--', ...cmd], { env: BUILDAH_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  return child;
}

/** The process `cmdline` among `pid`'s descendants: what `docker stop` signals (the container's process 1). */
function descendant(pid: number, cmdline: string[]): number | undefined {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  for (const candidate of parents.keys()) {
    let up = parents.get(candidate);
    while (up !== undefined && up > 1 && up !== pid) up = parents.get(up);
    if (up !== pid) continue;
    try {
      const argv = readFileSync(`/proc/${candidate}/cmdline`, 'utf8').split('\0').filter(Boolean);
      // buildah runs the command by its resolved path (/usr/local/bin/node).
      if (argv.length === cmdline.length && argv.every((arg, i) => (i === 0 ? arg === cmdline[0] || arg.endsWith(`/${cmdline[0]}`) : arg === cmdline[i]))) return candidate;
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

async function waitFor(url: string, child: ChildProcess, output: () => string): Promise<Response> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the container exited with ${child.exitCode}:\n${output()}`);
    try {
      return await fetch(url, { redirect: 'manual' });
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

function collect(child: ChildProcess): () => string {
  let text = '';
  child.stdout?.on('data', (chunk) => (text += chunk));
  child.stderr?.on('data', (chunk) => (text += chunk));
  return () => text;
}

(missing ? describe.skip : describe)('the container image', () => {
  beforeAll(async () => {
    const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
    await ensureStandIns(dockerfile);
    // The Go module and build caches and npm's cache of this machine, mounted into the build stage:
    // the tools are still built there, by its Go, without fetching every module again.
    const goModCache = join(process.env.HOME ?? '/root', 'go', 'pkg', 'mod');
    const goBuildCache = join(process.env.HOME ?? '/root', '.cache', 'go-build');
    const npmCache = join(process.env.HOME ?? '/root', '.npm');
    const caches = [
      ...(existsSync(goModCache) ? ['-v', `${goModCache}:/go/pkg/mod`] : []),
      ...(existsSync(goBuildCache) ? ['-v', `${goBuildCache}:/root/.cache/go-build`] : []),
      ...(existsSync(npmCache) ? ['-v', `${npmCache}:/root/.npm`] : []),
    ];
    const storage = process.env.STORAGE_DRIVER ? ['--storage-driver', process.env.STORAGE_DRIVER] : [];
    await runLong('buildah', [...storage, 'bud', '--pull=never', '--format', 'docker', '--layers', ...caches, '-t', IMAGE, '.'], { cwd: repoRoot });
  }, 90 * 60_000);

  afterEach(async () => {
    for (const child of running.splice(0)) {
      if (child.exitCode === null) {
        // buildah passes SIGTERM on to the container's process; SIGKILL would orphan it.
        child.kill('SIGTERM');
        const exited = new Promise((resolve) => child.once('exit', resolve));
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
    }
  });
  afterAll(() => {
    for (const name of containers) buildah(['rm', name]);
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });

  it('runs node itself as the node user, with its data in the /data volume, a health check on /healthz and no dev dependencies', () => {
    const config = imageConfig();
    expect(config.Cmd).toEqual(['node', '/app/dist/main.js']);
    expect(config.User).toBe('node');
    expect(config.WorkingDir).toBe('/data');
    expect(Object.keys(config.Volumes ?? {})).toEqual(['/data']);
    expect(config.Healthcheck?.Test.join(' ')).toContain('/healthz');
    const name = container();
    const look = buildah(['run', name, '--', 'sh', '-c', 'command -v parapet; ls /app/node_modules/typescript /app/node_modules/vitest 2>&1; ls /app/prisma/migrations | head -n 1; ls /app/node_modules/.prisma/client/index.js']);
    expect(look.status).toBe(0);
    expect(look.stdout).toMatch(/^\/usr\/local\/bin\/parapet\n/);
    expect(look.stdout).toContain("ls: cannot access '/app/node_modules/typescript': No such file or directory");
    expect(look.stdout).toContain("ls: cannot access '/app/node_modules/vitest': No such file or directory");
    expect(look.stdout).toMatch(/\n\d{14}_\w+\n/);
    expect(look.stdout).toContain('/app/node_modules/.prisma/client/index.js');
  });

  it('runs `parapet check` on a repository mounted into it, and `parapet policies list`', () => {
    const repo = tempDir('parapet-image-repo-', 1000);
    cpSync(join(fixturesDir, 'repos', 'shop-cluster'), repo, { recursive: true });
    execChown(repo);
    const name = container();
    const check = buildah(['run', '-v', `${repo}:/repo`, name, '--', 'parapet', 'check', '/repo', '--quiet']);
    // buildah's own lines about the exit status aside, nothing on stderr.
    expect(check.stderr.replace(/^subprocess exited with status \d+\n|^Error: exit status \d+\n/gm, '')).toBe('');
    expect(check.status).toBe(1);
    expect(check.stdout).toContain('FAIL  shop-prod: 7 deny (3 accepted), 3 warn (1 accepted), 1 dryrun');
    const policies = buildah(['run', name, '--', 'parapet', 'policies', 'list']);
    expect(policies.status).toBe(0);
    expect(policies.stdout).toContain('containerresourcelimits');
  });

  it('serves the setup page without credentials and answers its health check', async () => {
    const port = await freePort();
    const data = tempDir('parapet-image-data-', 1000);
    const child = start(container({ PORT: String(port) }), [`${data}:/data`]);
    const output = collect(child);
    await waitFor(`http://127.0.0.1:${port}/healthz`, child, output);
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<label for="public_url">Public URL of this server</label>');
    const health = buildah(['run', containers.at(-1)!, '--', ...imageConfig().Healthcheck!.Test.slice(1)]);
    expect(health.status).toBe(0);
  });

  it('stops within 5 s of SIGTERM with the embedded database’s lock released, so the next container starts on the same volume', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    const data = tempDir('parapet-image-data-', 1000);
    const credentials = { APP_ID: '12345', PRIVATE_KEY: Buffer.from(privateKey).toString('base64'), WEBHOOK_SECRET: 'a-webhook-secret' };
    const port = await freePort();
    const first = start(container({ ...credentials, PORT: String(port) }), [`${data}:/data`]);
    const output = collect(first);
    await waitFor(`http://127.0.0.1:${port}/healthz`, first, output);
    expect(existsSync(join(data, 'db', 'parapet.lock'))).toBe(true);

    const app = descendant(first.pid!, imageConfig().Cmd);
    expect(app).toBeDefined();
    const stopped = Date.now();
    process.kill(app!, 'SIGTERM');
    const code = await new Promise<number | null>((resolve) => first.once('exit', (c) => resolve(c)));
    expect(Date.now() - stopped).toBeLessThan(5000);
    expect(code).toBe(0);
    expect(existsSync(join(data, 'db', 'parapet.lock'))).toBe(false);

    const again = await freePort();
    const second = start(container({ ...credentials, PORT: String(again) }), [`${data}:/data`]);
    const secondOutput = collect(second);
    expect((await waitFor(`http://127.0.0.1:${again}/healthz`, second, secondOutput)).status).toBe(200);
    expect(secondOutput()).not.toContain('is in use by process');
  });
});

/** The copy belongs to the image's user, as a checkout mounted by its owner would. */
function execChown(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) chownSync(join(entry.parentPath, entry.name), 1000, 1000);
}
