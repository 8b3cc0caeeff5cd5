// Failures of Parapet's own operation (not problems in the user's repository, which are data), in
// one place so that each edge recognises them by class, never by name: the CLI exits 2 on them,
// `npm start` stops with their message, the App shows them on the check run.

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

/** Parapet's own policy library does not load: a bug in Parapet's files, each problem naming its file. */
export class LibraryError extends Error {
  override name = 'LibraryError';
  constructor(readonly problems: string[]) {
    super(`the policy library is broken:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/** The database cannot be reached or opened: the App does not start half-way. */
export class DatabaseError extends Error {
  override name = 'DatabaseError';
}

/** The committed migrations cannot be read, or the database's history disagrees with them. */
export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** The embedded database's directory is held by another live process. */
export class DirectoryLockedError extends Error {
  override name = 'DirectoryLockedError';
  constructor(
    readonly dir: string,
    readonly holder: { pid: number; host: string; since: string },
    readonly lockFile: string,
  ) {
    super(
      `the embedded database in ${dir} is in use by process ${holder.pid} on ${holder.host} (since ${holder.since}); ` +
        `stop that process first, or give this one its own PARAPET_DB_DIR (or a PostgreSQL DATABASE_URL to share one database). ` +
        `If that process is gone, delete ${lockFile}.`,
    );
  }
}

/** A database write given up on: how often it was tried; the last failure is its cause. */
export class WriteFailedError extends Error {
  override name = 'WriteFailedError';
  constructor(
    readonly attempts: number,
    readonly permanent: boolean,
    cause: unknown,
  ) {
    super(`${permanent ? 'the database refused the write' : `the write failed ${attempts} ${attempts === 1 ? 'time' : 'times'}`}: ${lastLine(cause)}`, { cause });
  }
}

/** Redis cannot be reached at start-up (scale-out mode): the App does not start half-way. */
export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

/**
 * A job's failure that was already logged with its context and shown where users look (a check
 * run): the queue only notes that the delivery is released.
 */
export class ReportedJobFailure extends Error {
  override name = 'ReportedJobFailure';
}

/** A query-string value the overview cannot use; answered 400 with this message. */
export class QueryError extends Error {
  override name = 'QueryError';
}

/** The reason in an error's message: Prisma's start with the call site (several lines of source). */
export function lastLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? message;
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
