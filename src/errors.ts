// Failures of Parapet's own operation (not problems in the user's repository, which are data).

/** A command line that cannot run: unknown flag, missing argument, unreadable path. CLI exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Configuration that prevents Parapet from running (environment, tools). */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
