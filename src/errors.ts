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

/**
 * A URL for a message, with what would let its reader act as the App hidden (see redactSecrets);
 * `what` names it when it does not parse.
 */
export function redactUrl(url: string, what = 'URL'): string {
  try {
    return redactSecrets(new URL(url).toString());
  } catch {
    return `(unparseable ${what})`;
  }
}

const HIDDEN = '***';
// Each rule keeps what says where the secret was (the parameter, the scheme, the user name) and
// hides the value. Values end where a URL, a header or a JSON string would end them; they never
// hold a backslash, so one escaped in a JSON log line ends there too.
const SECRET_PATTERNS: [RegExp, string | ((...groups: string[]) => string)][] = [
  // PEM private keys (the App's own, in a configuration error), raw or with escaped newlines.
  [/-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, `-----BEGIN $1PRIVATE KEY-----${HIDDEN}-----END $1PRIVATE KEY-----`],
  // Authorization headers in any notation: `authorization: token x`, `"authorization":"Bearer x"`, `Authorization=x`.
  [/\b((?:proxy-)?authorization|x-api-key|private-token)(["']?\s*[:=]\s*["']?)(?:(bearer|token|basic|digest|jwt)\s+)?[^\s"',;\\]+/gi, (_, name, separator, scheme) => `${name}${separator}${scheme ? `${scheme} ` : ''}${HIDDEN}`],
  // Query parameters that carry credentials: GitHub's archive links (`?token=`), OAuth
  // (`code`, `access_token`, `client_secret`), signed links (`sig`, `X-Amz-Signature`, `jwt`).
  [/([?&;](?:[\w.-]*(?:token|secret|passw(?:or)?d|signature|credential|api[_-]?key)[\w.-]*|code|jwt|sig|key|auth)=)[^&\s"'<>#\\]+/gi, `$1${HIDDEN}`],
  // A password in a URL's userinfo: `scheme://user:password@host`.
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:"'<>\\]*:)[^\s/?#@"'<>\\]+@/gi, `$1${HIDDEN}@`],
  // Credentials recognisable by their form wherever they stand: GitHub's tokens and JSON web tokens.
  [/\b(gh[pousr]_|github_pat_)[A-Za-z0-9_]{8,}/g, `$1${HIDDEN}`],
  [/\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*/g, HIDDEN],
  [/\b(bearer)\s+[\w.~+/=-]{8,}/gi, `$1 ${HIDDEN}`],
];

/**
 * `text` with credentials hidden (`***`): URL query parameters such as `token`, `access_token`,
 * `code`, `client_secret`, `jwt`, `sig`; passwords in URLs; Authorization-like header values;
 * GitHub tokens and JSON web tokens. Everything the App logs passes through here.
 */
export function redactSecrets(text: string): string {
  let redacted = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) redacted = redacted.replace(pattern, replacement as string);
  return redacted;
}

/** The renderer (tools/bin/render) stopped or could not be used while a check ran. */
export class RendererError extends Error {
  override name = 'RendererError';
}
