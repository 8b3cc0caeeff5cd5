#!/usr/bin/env node
// Builds the pinned `opa` CLI from the Go module proxy into tools/bin (ignored by git), because no
// trustworthy prebuilt opa exists in the registries these machines reach. The version is pinned once,
// in tools/go.mod; a binary of that version already in place is reused.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const toolsDir = join(root, 'tools');
const target = join(toolsDir, 'bin', 'opa');

const goMod = readFileSync(join(toolsDir, 'go.mod'), 'utf8');
const pinned = /github\.com\/open-policy-agent\/opa (v[0-9][^\s]*)/.exec(goMod)?.[1];
if (!pinned) fail('tools/go.mod does not pin github.com/open-policy-agent/opa');

if (existsSync(target)) {
  const out = spawnSync(target, ['version'], { encoding: 'utf8' });
  if (out.status === 0 && out.stdout.includes(`Version: ${pinned.slice(1)}\n`)) {
    log(`opa ${pinned} already built at tools/bin/opa`);
    process.exit(0);
  }
}

const go = spawnSync('go', ['version'], { encoding: 'utf8' });
if (go.status !== 0) {
  fail('Go is needed to build the pinned opa CLI (tools/go.mod) but `go` was not found on PATH. Install Go 1.24 or later and run `npm ci` again.');
}

log(`building opa ${pinned} with ${go.stdout.trim()} (takes about two minutes the first time)...`);
mkdirSync(dirname(target), { recursive: true });
const partial = `${target}.partial`;
try {
  execFileSync('go', ['build', '-trimpath', '-o', partial, 'github.com/open-policy-agent/opa'], {
    cwd: toolsDir,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
  });
} catch {
  fail(`go build of opa ${pinned} failed (see the output above)`);
}
renameSync(partial, target);
log(`opa ${pinned} built at tools/bin/opa`);

function log(message) {
  process.stderr.write(`parapet: ${message}\n`);
}

function fail(message) {
  log(message);
  process.exit(1);
}
