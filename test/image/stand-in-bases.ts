// Stand-ins for the official base images the Dockerfile names (node:20-bookworm, node:20-bookworm-slim,
// golang:1.26-bookworm), for machines that reach no container registry: a Debian bookworm root file
// system from debootstrap (Debian's mirror), this machine's node and npm laid out as the official
// node images lay them out (/usr/local/bin, a `node` user with uid 1000), and this machine's Go in
// /usr/local/go as the golang image has it. They are kept in buildah's storage under the very names
// the FROM lines use, labelled with what they were made from, and remade only when that changes; the
// Debian root is kept in the user's cache. A real `docker build` pulls the official images instead.
import { execFileSync, spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export const BASES_DIR = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'parapet', 'image-bases');
const DEBIAN_MIRROR = process.env.PARAPET_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';

/**
 * buildah as it runs inside a container: chroot isolation instead of runc and new namespaces, in
 * buildah's default storage (overlay); STORAGE_DRIVER=vfs, passed on as `--storage-driver`, where
 * overlay mounts are refused.
 */
export const BUILDAH_ENV = { ...process.env, BUILDAH_ISOLATION: 'chroot' };

export function buildah(args: string[], options: { cwd?: string; inherit?: boolean } = {}): SpawnSyncReturns<string> {
  const storage = process.env.STORAGE_DRIVER ? ['--storage-driver', process.env.STORAGE_DRIVER] : [];
  return spawnSync('buildah', [...storage, ...args], { cwd: options.cwd, env: BUILDAH_ENV, encoding: 'utf8', maxBuffer: 1 << 28, stdio: options.inherit ? ['ignore', 'inherit', 'inherit'] : 'pipe' });
}

function buildahOk(args: string[]): string {
  const run = buildah(args);
  if (run.status !== 0) throw new Error(`buildah ${args.join(' ')} failed (${run.status}):\n${run.stderr}`);
  return run.stdout.trim();
}

/**
 * A long command (debootstrap, a copy of a root file system, the image build) without blocking the
 * event loop, so the test runner's worker keeps talking to its parent meanwhile.
 */
export function runLong(command: string, args: string[], options: { cwd?: string } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: BUILDAH_ENV, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} failed with ${code} (its output is above)`))));
  });
}

/** Why the image cannot be built here, or null. */
export function missingTools(): string | null {
  for (const tool of ['buildah', 'debootstrap']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} not found (apt-get install buildah debootstrap)`;
  }
  return null;
}

/** The Debian bookworm root, made once (a few minutes) and kept in BASES_DIR. */
async function debianRoot(): Promise<string> {
  const root = join(BASES_DIR, 'bookworm');
  if (existsSync(join(root, '.complete'))) return root;
  const partial = `${root}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(BASES_DIR, { recursive: true });
  await runLong('debootstrap', ['--variant=minbase', '--include=ca-certificates', 'bookworm', partial, DEBIAN_MIRROR]);
  writeFileSync(join(partial, '.complete'), `${new Date().toISOString()}\n`);
  rmSync(root, { recursive: true, force: true });
  renameSync(partial, root);
  return root;
}

/** The stand-in image `name`, made from the Debian root and `populate`, unless one with `stamp` exists. */
async function standIn(name: string, stamp: string, env: string[], populate: (rootfs: string) => void): Promise<void> {
  const inspect = buildah(['inspect', '--type', 'image', '--format', '{{index .ImageAnnotations "parapet.stand-in"}}{{index .Docker.Config.Labels "parapet.stand-in"}}', name]);
  if (inspect.status === 0 && inspect.stdout.includes(stamp)) return;
  const root = await debianRoot();
  const container = buildahOk(['from', 'scratch']);
  try {
    const mount = buildahOk(['mount', container]);
    await runLong('cp', ['-a', `${root}/.`, mount]);
    rmSync(join(mount, '.complete'), { force: true });
    trustMachineCAs(mount);
    populate(mount);
    buildahOk(['config', '--label', `parapet.stand-in=${stamp}`, ...env.flatMap((e) => ['--env', e]), '--cmd', '["bash"]', container]);
    buildahOk(['commit', '--format', 'docker', '--rm', container, name]);
  } catch (error) {
    buildah(['rm', container]);
    throw error;
  }
}

/**
 * This machine's CA bundle in the image: where HTTPS goes through an inspecting proxy (these
 * machines' egress), npm and the Go module proxy are reached from the build stage only with it.
 */
function trustMachineCAs(rootfs: string): void {
  const bundle = '/etc/ssl/certs/ca-certificates.crt';
  if (!existsSync(bundle)) return;
  mkdirSync(join(rootfs, 'etc/ssl/certs'), { recursive: true });
  cpSync(bundle, join(rootfs, bundle.slice(1)));
}

/** The FROM names of the Dockerfile, with its ARG defaults. */
export function baseNames(dockerfile: string): { node: string; nodeSlim: string; golang: string } {
  const arg = (name: string) => new RegExp(`^ARG ${name}=(\\S+)$`, 'm').exec(dockerfile)?.[1];
  const node = arg('NODE_VERSION');
  const go = arg('GO_VERSION');
  if (!node || !go) throw new Error('the Dockerfile declares no ARG NODE_VERSION or GO_VERSION');
  return { node: `docker.io/library/node:${node}-bookworm`, nodeSlim: `docker.io/library/node:${node}-bookworm-slim`, golang: `docker.io/library/golang:${go}-bookworm` };
}

/** Makes the stand-ins the Dockerfile's FROM lines name, from this machine's node and Go. */
export async function ensureStandIns(dockerfile: string): Promise<void> {
  const names = baseNames(dockerfile);
  const nodeMajor = process.versions.node.split('.')[0];
  if (!names.node.includes(`:${nodeMajor}-`)) throw new Error(`this machine runs node ${process.versions.node}, the Dockerfile asks for ${names.node}`);
  const goRoot = execFileSync('go', ['env', 'GOROOT'], { encoding: 'utf8' }).trim();
  const goVersion = execFileSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' }).trim();
  const npmDir = realpathSync(join(dirname(realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim())), '..'));
  const npmVersion = JSON.parse(readFileSync(join(npmDir, 'package.json'), 'utf8')).version as string;

  const nodeStamp = `node ${process.versions.node} npm ${npmVersion} ca ${caHash()}`;
  const withNode = (rootfs: string) => {
    mkdirSync(join(rootfs, 'usr/local/bin'), { recursive: true });
    cpSync(process.execPath, join(rootfs, 'usr/local/bin/node'));
    cpSync(npmDir, join(rootfs, 'usr/local/lib/node_modules/npm'), { recursive: true });
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm'));
    symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(rootfs, 'usr/local/bin/npx'));
    // The official images' unprivileged user.
    writeFileSync(join(rootfs, 'etc/passwd'), `${readFileSync(join(rootfs, 'etc/passwd'), 'utf8')}node:x:1000:1000::/home/node:/bin/bash\n`);
    writeFileSync(join(rootfs, 'etc/group'), `${readFileSync(join(rootfs, 'etc/group'), 'utf8')}node:x:1000:\n`);
    mkdirSync(join(rootfs, 'home/node'), { recursive: true });
    execFileSync('chown', ['1000:1000', join(rootfs, 'home/node')]);
  };
  const nodeEnv = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `NODE_VERSION=${process.versions.node}`];
  await standIn(names.node, nodeStamp, nodeEnv, withNode);
  await standIn(names.nodeSlim, nodeStamp, nodeEnv, withNode);
  await standIn(names.golang, `${goVersion} ca ${caHash()}`, ['PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'GOPATH=/go'], (rootfs) => {
    cpSync(goRoot, join(rootfs, 'usr/local/go'), { recursive: true });
  });
}

function caHash(): string {
  const bundle = '/etc/ssl/certs/ca-certificates.crt';
  return existsSync(bundle) ? createHash('sha256').update(readFileSync(bundle)).digest('hex').slice(0, 12) : 'none';
}
