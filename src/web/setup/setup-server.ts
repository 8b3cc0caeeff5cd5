// The setup page on a server of its own: what `npm start` runs until the App has credentials.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseEnv } from 'node:util';
import { createSetupApp, type SetupOptions } from './setup-app.js';

export interface SetupServer {
  /** http://host:port, without a trailing slash. */
  url: string;
  close(): Promise<void>;
}

export async function startSetupServer(options: Omit<SetupOptions, 'saveCredentials'> & { host: string; envFile: string; onError(error: unknown): void }): Promise<SetupServer> {
  const app = createSetupApp({ ...options, saveCredentials: (values) => saveDotEnv(options.envFile, values) });
  const server = createServer(async (req, res) => {
    try {
      if (await app.handle(req, res)) return;
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: the setup page is at /\n');
    } catch (error) {
      options.onError(error);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('The setup failed; the server log says why.\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * `values` merged into the .env file (what is there stays unless replaced), readable by its owner
 * only: it holds the App's private key.
 */
export function saveDotEnv(path: string, values: Record<string, string>): void {
  let existing: Record<string, string> = {};
  try {
    existing = parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const merged = { ...existing, ...values };
  writeFileSync(path, `${Object.entries(merged).map(([name, value]) => `${name}=${dotEnvValue(value)}`).join('\n')}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/**
 * A value as Node's .env reading gives it back: multi-line ones double-quoted with `\n` (expanded
 * there), others in the first of ' ` " they do not contain (single and back quotes are literal).
 */
function dotEnvValue(value: string): string {
  if (/^[A-Za-z0-9_.:/@+=,-]*$/.test(value)) return value;
  if (value.includes('\n')) {
    if (value.includes('"') || value.includes('\\n')) throw new Error('a multi-line value with a double quote or a backslash-n cannot be written to .env');
    return `"${value.replace(/\r?\n/g, '\\n')}"`;
  }
  for (const quote of ["'", '`']) if (!value.includes(quote)) return `${quote}${value}${quote}`;
  if (!value.includes('"') && !value.includes('\\n')) return `"${value}"`;
  throw new Error('a value holding every kind of quote cannot be written to .env');
}
