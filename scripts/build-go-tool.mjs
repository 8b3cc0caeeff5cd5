#!/usr/bin/env node
// Builds a Go tool pinned in this repository (its own module under tools/) into tools/bin, which git
// ignores: no trustworthy prebuilt binaries exist in the registries these machines reach, and the Go
// module proxy serves the sources. A binary already built from the same pin is reused, from tools/bin
// or from the user's cache ($XDG_CACHE_HOME/parapet/tools, else ~/.cache/parapet/tools), so a
// checkout, a global install (`npm install -g parapet-*.tgz`) and every reinstall build it once.
//
//   node scripts/build-go-tool.mjs opa        the opa CLI that compiles templates (npm's postinstall)
//   node scripts/build-go-tool.mjs cel        parapet-cel, Gatekeeper's CEL driver as a helper (npm's postinstall)
//   node scripts/build-go-tool.mjs render     Parapet's renderer: kustomize and Flux builds (npm's postinstall)
//   node scripts/build-go-tool.mjs gator      Gatekeeper's gator, for the differential tests
//   node scripts/build-go-tool.mjs kustomize  the kustomize CLI of the renderer's pin, for the differential tests
//   node scripts/build-go-tool.mjs yamlcheck  sigs.k8s.io/yaml and kyaml decoding YAML, for the YAML differential test
//   node scripts/build-go-tool.mjs schemacheck  Gatekeeper's constraint framework on parameter schemas, for the schema differential test
//   node scripts/build-go-tool.mjs psa        parapet-psa: Kubernetes' Pod Security Admission checks, for the differential tests
//   node scripts/build-go-tool.mjs helm       the helm CLI of the renderer's pin, for the differential tests
//   node scripts/build-go-tool.mjs actionlint rhysd/actionlint, for the test that lints action.yml and the example workflow
// Several names build one after the other.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// `own`: the module's own Go source is part of the tool, so the stamp also hashes it and a changed
// helper is built again.
const TOOLS = {
  opa: { dir: 'tools', module: 'github.com/open-policy-agent/opa', pkg: 'github.com/open-policy-agent/opa', bin: 'opa' },
  cel: { dir: 'tools/cel', module: 'github.com/open-policy-agent/gatekeeper/v3', pkg: '.', bin: 'parapet-cel', own: true },
  render: { dir: 'tools/render', module: 'sigs.k8s.io/kustomize/api', pkg: '.', bin: 'render', own: true },
  gator: { dir: 'tools/gator', module: 'github.com/open-policy-agent/gatekeeper/v3', pkg: 'github.com/open-policy-agent/gatekeeper/v3/cmd/gator', bin: 'gator' },
  kustomize: { dir: 'tools/kustomize', module: 'sigs.k8s.io/kustomize/kustomize/v5', pkg: 'sigs.k8s.io/kustomize/kustomize/v5', bin: 'kustomize' },
  yamlcheck: { dir: 'tools/yamlcheck', module: 'sigs.k8s.io/yaml', pkg: '.', bin: 'yamlcheck', own: true },
  schemacheck: { dir: 'tools/schemacheck', module: 'github.com/open-policy-agent/frameworks/constraint', pkg: '.', bin: 'schemacheck', own: true },
  psa: { dir: 'tools/psa', module: 'k8s.io/pod-security-admission', pkg: '.', bin: 'parapet-psa', own: true },
  helm: { dir: 'tools/helm', module: 'helm.sh/helm/v3', pkg: 'helm.sh/helm/v3/cmd/helm', bin: 'helm' },
  actionlint: { dir: 'tools/actionlint', module: 'github.com/rhysd/actionlint', pkg: 'github.com/rhysd/actionlint/cmd/actionlint', bin: 'actionlint' },
};

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const userCache = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'parapet', 'tools');
const names = process.argv.slice(2);
if (names.length === 0 || names.some((n) => !TOOLS[n])) fail(`usage: node scripts/build-go-tool.mjs ${Object.keys(TOOLS).join('|')}...`);
for (const name of names) build(name, TOOLS[name]);

function build(name, tool) {
  const moduleDir = join(root, tool.dir);
  const goMod = readFileSync(join(moduleDir, 'go.mod'), 'utf8');
  const version = new RegExp(`${tool.module.replaceAll('.', '\\.')} (v[0-9][^\\s]*)`).exec(goMod)?.[1];
  if (!version) fail(`${tool.dir}/go.mod does not pin ${tool.module}`);
  const pinned = tool.own ? `${version} ${sourceHash(moduleDir)}` : version;

  const target = join(root, 'tools', 'bin', tool.bin);
  const stamp = `${target}.version`;
  const cached = join(userCache, `${tool.bin}-${pinned.replaceAll(' ', '-')}-${process.platform}-${process.arch}`);
  if (existsSync(target) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === pinned) {
    log(`${name} ${pinned} already built at tools/bin/${tool.bin}`);
    keepInCache(target, cached);
    return;
  }
  mkdirSync(dirname(target), { recursive: true });
  if (existsSync(cached)) {
    copyFileSync(cached, `${target}.partial`);
    chmodSync(`${target}.partial`, 0o755);
    renameSync(`${target}.partial`, target);
    writeFileSync(stamp, `${pinned}\n`);
    log(`${name} ${pinned} taken from ${cached} (built before)`);
    return;
  }

  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.status !== 0) {
    fail(`Go is needed to build the pinned ${name} (${tool.dir}/go.mod) but \`go\` was not found on PATH. Install Go 1.24 or later and run \`npm ci\` again.`);
  }

  log(`building ${name} ${pinned} with ${go.stdout.trim()} (takes a few minutes the first time)...`);
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
  writeFileSync(stamp, `${pinned}\n`);
  log(`${name} ${pinned} built at tools/bin/${tool.bin}`);
  keepInCache(target, cached);
}

/** A copy in the user's cache for the next install; a cache that cannot be written only costs a rebuild. */
function keepInCache(target, cached) {
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

/** The module's go.mod, go.sum and Go files, hashed: what decides the helper's binary besides Go itself. */
function sourceHash(dir) {
  const hash = createHash('sha256');
  for (const file of readdirSync(dir).filter((f) => f === 'go.mod' || f === 'go.sum' || f.endsWith('.go')).sort()) {
    hash.update(`${file}\0`).update(readFileSync(join(dir, file))).update('\0');
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
