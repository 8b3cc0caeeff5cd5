// Temporary git repositories for `--base`: real git, with an identity and settings of their own so
// neither the developer's git configuration nor a CI's changes what gets committed.
import { execFileSync } from 'node:child_process';

const isolated = ['-c', 'user.name=Parapet Test', '-c', 'user.email=test@parapet.invalid', '-c', 'commit.gpgsign=false', '-c', 'core.autocrlf=false'];

/** Runs git in `dir` and returns its stdout; throws with git's stderr when it fails. */
export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', [...isolated, '-C', dir, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0' },
  });
}

/** Makes `dir` a git repository whose only commit holds everything in it. */
export function commitAll(dir: string, message = 'Initial commit'): string {
  git(dir, 'init', '--quiet', '--initial-branch=main');
  git(dir, 'add', '--all');
  git(dir, 'commit', '--quiet', '--message', message);
  return git(dir, 'rev-parse', 'HEAD').trim();
}
