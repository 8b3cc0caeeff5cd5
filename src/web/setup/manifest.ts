// The GitHub App's registration, from app.yml: what the setup page shows (each permission and event
// with the reason Parapet asks for it) and the manifest it posts to GitHub's manifest flow, with the
// webhook URL and the return addresses of the server being set up.
// https://docs.github.com/apps/sharing-github-apps/registering-a-github-app-from-a-manifest
import { parse } from 'yaml';
import { ConfigError } from '../../errors.js';

export interface AppDefinition {
  name: string;
  description: string;
  url: string;
  public: boolean;
  /** Permission -> `read` or `write`. */
  permissions: Record<string, string>;
  events: string[];
}

/**
 * Why Parapet asks for each permission and event: a person registering it sees this beside each.
 * A permission or event in app.yml without a reason here stops the setup page (the test reads
 * app.yml), so nothing is asked for without saying why.
 */
export const PERMISSION_REASONS: Record<string, string> = {
  checks: 'one check run per cluster on the pull request’s head commit, with annotations on the lines that break a policy',
  contents: 'reads the repository at the head, the merge base and the base branch (one archive download each) to evaluate its manifests with the base branch’s policies; writes only a new branch when someone changes policies from the compliance page (the change is a pull request, never a push to the default branch)',
  pull_requests: 'posts the review with comments on the changed lines, and finds the open pull requests of a commit when a check is re-run',
  metadata: 'required by GitHub for every App: the repository’s name, visibility and default branch',
};

export const EVENT_REASONS: Record<string, string> = {
  pull_request: 'a pull request opened, pushed to, reopened, marked ready or moved to another base branch is checked',
  check_run: '“Re-run” on one of Parapet’s check runs judges it again',
  check_suite: '“Re-run all checks” judges the commit again',
  push: 'a push to the default branch records its state for the overview (images, risks, compliance)',
  installation: 'the repositories of a new installation are recorded once',
  installation_repositories: 'repositories added to an installation are recorded once',
};

export class AppDefinitionError extends ConfigError {
  constructor(problem: string) {
    super(`app.yml: ${problem}`);
    this.name = 'AppDefinitionError';
  }
}

/** app.yml read and checked: every permission and event known, with its reason. */
export function readAppDefinition(text: string): AppDefinition {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    throw new AppDefinitionError(`not YAML: ${(error as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null) throw new AppDefinitionError('expected a mapping');
  const d = doc as Record<string, unknown>;
  const text_ = (key: string) => {
    if (typeof d[key] !== 'string' || d[key] === '') throw new AppDefinitionError(`${key} must be a non-empty string`);
    return d[key] as string;
  };
  const permissions = d.default_permissions;
  if (typeof permissions !== 'object' || permissions === null) throw new AppDefinitionError('default_permissions must be a mapping');
  for (const [name, level] of Object.entries(permissions)) {
    if (!PERMISSION_REASONS[name]) throw new AppDefinitionError(`permission ${name} has no reason in src/web/setup/manifest.ts`);
    if (level !== 'read' && level !== 'write') throw new AppDefinitionError(`permission ${name} must be read or write, got ${String(level)}`);
  }
  const events = d.default_events;
  if (!Array.isArray(events)) throw new AppDefinitionError('default_events must be a list');
  for (const event of events) if (typeof event !== 'string' || !EVENT_REASONS[event]) throw new AppDefinitionError(`event ${String(event)} has no reason in src/web/setup/manifest.ts`);
  return { name: text_('name'), description: text_('description'), url: text_('url'), public: d.public === true, permissions: permissions as Record<string, string>, events: events as string[] };
}

export interface ManifestAddresses {
  /** Where GitHub delivers webhooks (the server's webhook path, or a smee.io channel). */
  webhookUrl: string;
  /** The server as the person's browser reaches it: GitHub sends the browser back there. */
  siteUrl: string;
}

/** The manifest GitHub's `settings/apps/new` takes (a JSON form field). */
export function githubManifest(app: AppDefinition, at: ManifestAddresses): Record<string, unknown> {
  return {
    name: app.name,
    url: app.url,
    description: app.description,
    public: app.public,
    hook_attributes: { url: at.webhookUrl, active: true },
    redirect_url: `${at.siteUrl}/setup/done`,
    // The overview's sign-in (the App's OAuth client, written to .env with the credentials).
    callback_urls: [`${at.siteUrl}/auth/callback`],
    default_permissions: app.permissions,
    default_events: app.events,
  };
}
