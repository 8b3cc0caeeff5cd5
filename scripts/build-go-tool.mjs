#!/usr/bin/env node
// Builds a Go tool pinned in this repository (its own module under tools/) into tools/bin, which git
// ignores: no trustworthy prebuilt binaries exist in the registries these machines reach, and the Go
// module proxy serves the sources. A binary already built from the same pin is reused, from tools/bin
// or from the user's cache ($XDG_CACHE_HOME/parapet/tools, else ~/.cache/parapet/tools), so a
// checkout, a global install (`npm install -g parapet-*.tgz`) and every reinstall build it once.
//
//   node scripts/build-go-tool.mjs opa     the opa CLI that compiles templates (npm's postinstall)
//   node scripts/build-go-tool.mjs render  Parapet's renderer: kustomize and Flux builds (npm's postinstall)
//   node scripts/build-go-tool.mjs gator   Gatekeeper's gator, for the differential tests
//   node scripts/build-go-tool.mjs kustomize  the kustomize CLI of the renderer's pin, for the differential tests
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TOOLS = {
  opa: { dir: 'tools', module: 'github.com/open-policy-agent/opa', pkg: 'github.com/open-policy-agent/opa' },
  gator: { dir: 'tools/gator', module: 'github.com/open-policy-agent/gatekeeper/v3', pkg: 'github.com/open-policy-agent/gatekeeper/v3/cmd/gator' },
  // Parapet's own Go code: the stamp also covers its sources, so an edit rebuilds it.
  render: { dir: 'tools/render', module: 'sigs.k8s.io/kustomize/api', pkg: '.', ownSources: true },
  kustomize: { dir: 'tools/kustomize', module: 'sigs.k8s.io/kustomize/kustomize/v5', pkg: 'sigs.k8s.io/kustomize/kustomize/v5' },
};

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const name = process.argv[2];
const tool = TOOLS[name];
if (!tool) fail(`usage: node scripts/build-go-tool.mjs ${Object.keys(TOOLS).join('|')}`);

const moduleDir = join(root, tool.dir);
const goMod = readFileSync(join(moduleDir, 'go.mod'), 'utf8');
const pinned = new RegExp(`${tool.module.replaceAll('.', '\\.')} (v[0-9][^\\s]*)`).exec(goMod)?.[1];
if (!pinned) fail(`${tool.dir}/go.mod does not pin ${tool.module}`);
const stampText = tool.ownSources ? `${pinned} ${sourcesHash(moduleDir)}` : pinned;

const target = join(root, 'tools', 'bin', name);
const stamp = `${target}.version`;
const cached = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'parapet', 'tools', `${name}-${stampText.replaceAll(' ', '-')}-${process.platform}-${process.arch}`);
if (existsSync(target) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === stampText) {
  log(`${name} ${pinned} already built at tools/bin/${name}`);
  keepInCache();
  process.exit(0);
}
if (existsSync(cached)) {
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(cached, `${target}.partial`);
  chmodSync(`${target}.partial`, 0o755);
  renameSync(`${target}.partial`, target);
  writeFileSync(stamp, `${stampText}\n`);
  log(`${name} ${pinned} taken from ${cached} (built before)`);
  process.exit(0);
}

const go = spawnSync('go', ['version'], { encoding: 'utf8' });
if (go.status !== 0) {
  fail(`Go is needed to build the pinned ${name} (${tool.dir}/go.mod) but \`go\` was not found on PATH. Install Go 1.24 or later and run \`npm ci\` again.`);
}

log(`building ${name} ${pinned} with ${go.stdout.trim()} (takes a few minutes the first time)...`);
mkdirSync(dirname(target), { recursive: true });
const partial = `${target}.partial`;
try {
  execFileSync('go', ['build', '-trimpath', '-o', partial, tool.pkg], {
    cwd: moduleDir,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
  });
} catch {
  fail(`go build of ${name} ${pinned} failed (see the output above)`);
}
renameSync(partial, target);
writeFileSync(stamp, `${stampText}\n`);
log(`${name} ${pinned} built at tools/bin/${name}`);
keepInCache();

/** A copy in the user's cache for the next install; a cache that cannot be written only costs a rebuild. */
function keepInCache() {
  if (existsSync(cached)) return;
  try {
    mkdirSync(dirname(cached), { recursive: true });
    const partial = `${cached}.${process.pid}.partial`;
    copyFileSync(target, partial);
    chmodSync(partial, 0o755);
    renameSync(partial, cached);
  } catch (error) {
    log(`could not keep a copy in ${cached} (${error.code ?? error.message}); the next install builds it again`);
  }
}

function sourcesHash(dir) {
  const hash = createHash('sha256');
  for (const name of readdirSync(dir).filter((n) => /\.go$|^go\.(mod|sum)$/.test(n)).sort()) {
    hash.update(name).update('\0').update(readFileSync(join(dir, name))).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

function log(message) {
  process.stderr.write(`parapet: ${message}\n`);
}

function fail(message) {
  log(message);
  process.exit(1);
}
