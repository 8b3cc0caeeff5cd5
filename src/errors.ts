// Failures of Parapet's own operation (not problems in the user's repository, which are data).

/** A command line that cannot run: unknown flag, missing argument, unreadable path. CLI exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Configuration that prevents Parapet from running (environment, tools). */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Configuration that prevents Parapet from running, with every problem found: reading the
 * environment reports all of them at once rather than one per restart.
 */
export class ConfigProblemsError extends ConfigError {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** A GitHub API call that failed after retries, or an answer Parapet cannot use. */
export class GitHubError extends Error {
  override name = 'GitHubError';
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

/** An input beyond the limits the operator set (repository size, for example): says which setting to raise. */
export class LimitError extends Error {
  override name = 'LimitError';
}

/** A connection URL for a message: its password hidden (`***`); `what` names it when it does not parse. */
export function redactUrl(url: string, what = 'URL'): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return `(unparseable ${what})`;
  }
}
