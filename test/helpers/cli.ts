// Runs `parapet` in-process through main(), capturing what it prints: the CLI's contract without
// spawning a process (test/cli/binary.test.ts covers the real binary).
import { cpSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { main } from '../../src/cli/main.js';
import { testCacheDir } from './engine.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  cwd: string;
  /** Added to a minimal environment; the developer's own PARAPET_* variables never leak in. */
  env?: Record<string, string>;
  /** Whether stderr is a terminal (progress is printed only then). */
  interactive?: boolean;
  /** Whether stdout is a terminal (colours). */
  color?: boolean;
}

/** The environment every CLI test starts from: the shared compile cache, a small worker pool. */
export const cliTestEnv: Readonly<Record<string, string>> = { PARAPET_CACHE_DIR: testCacheDir, PARAPET_WORKERS: '2' };

export async function runCli(argv: string[], options: CliRunOptions): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    cwd: options.cwd,
    env: { ...cliTestEnv, ...options.env },
    interactive: options.interactive ?? false,
    color: options.color ?? false,
  });
  return { code, stdout, stderr };
}

/** Copies a directory to a new temporary one, so a test may change it (and check nothing else did). */
export function copyToTemp(dir: string, label = 'repo'): string {
  const copy = mkdtempSync(join(tmpdir(), `parapet-${label}-`));
  cpSync(dir, copy, { recursive: true });
  return copy;
}

/** Every file under `dir` with its content: compared before and after a run to prove it wrote nothing. */
export function treeSnapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (current: string) => {
    for (const entry of readdirSync(current).sort()) {
      const path = join(current, entry);
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(dir, path).split(sep).join('/')] = readFileSync(path, 'utf8');
    }
  };
  walk(dir);
  return files;
}
