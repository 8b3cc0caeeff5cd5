// `parapet`: binds arguments to commands, runs them, and turns failures of Parapet itself into exit
// code 2 with a message (never a stack trace on stdout).
import { ConfigError, UsageError } from '../errors.js';
import { checkCommand, checkHelp } from './commands/check.js';
import { initCommand, initHelp } from './commands/init.js';
import { policiesCommand, policiesHelp } from './commands/policies.js';
import { verifyCommand, verifyHelp } from './commands/verify.js';
import type { CliIo } from './io.js';
import { version } from './version.js';


const help = `parapet ${version}: Gatekeeper's verdicts on a GitOps repository, before merge.

Usage:
  parapet init [PATH] [--name NAME] [--standard ID] [--force]
  parapet check [PATH] [--cluster NAME]... [--format text|json|sarif] [--base REF] [--quiet]
  parapet verify [--format text|json] PATH...
  parapet policies list|show|enable|disable|status [options]
  parapet --help | --version

Start with 'parapet init' in a GitOps repository, then 'parapet check'.

Commands:
  init     Set up a repository: a .securitytower Cluster file and a policies folder per cluster,
           from the layout it finds (Flux, Argo CD, Security Tower's template, kustomize overlays,
           plain manifests).
  check    Evaluate every cluster's manifests against its Gatekeeper policies.
  verify   Run gator verify test suites (kind: Suite).
  policies Parapet's policy library: list and show policies, enable them in a cluster's policies
           folder, disable them, and report which are enabled and how far each standard is covered.

Run 'parapet <command> --help' for a command's options.
`;

const commands: Record<string, { run: (args: string[], io: CliIo) => Promise<number>; help: string }> = {
  init: { run: initCommand, help: initHelp },
  check: { run: checkCommand, help: checkHelp },
  verify: { run: verifyCommand, help: verifyHelp },
  policies: { run: policiesCommand, help: policiesHelp },
};

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    // No command is a usage error: the help goes to stderr, so nothing piped from stdout mistakes it for output.
    io.stderr(help);
    return 2;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    io.stdout(help);
    return 0;
  }
  if (first === '--version' || first === '-v') {
    io.stdout(`${version}\n`);
    return 0;
  }
  const command = commands[first];
  if (!command) {
    io.stderr(`parapet: unknown command "${first}"\n\n${help}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(command.help);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (isParseArgsError(error)) {
      // Node's own text goes on about `--` and positionals after its first sentence; the help says more.
      io.stderr(`parapet ${first}: ${(error as Error).message.split('. ')[0]} (see 'parapet ${first} --help')\n`);
      return 2;
    }
    if (error instanceof UsageError || error instanceof ConfigError) {
      io.stderr(`parapet ${first}: ${error.message}\n`);
      return 2;
    }
    io.stderr(`parapet ${first}: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 2;
  }
}

function isParseArgsError(error: unknown): boolean {
  return error instanceof Error && 'code' in error && String((error as { code: unknown }).code).startsWith('ERR_PARSE_ARGS');
}
