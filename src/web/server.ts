// The overview on a server of its own (the App mounts `createWebApp(...).handle` on its server instead).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWebApp, type WebAppOptions } from './app.js';

export interface WebServer {
  /** http://host:port, without a trailing slash. */
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function startWebServer(options: WebAppOptions & { host?: string; port?: number }): Promise<WebServer> {
  const app = createWebApp(options);
  const server = createServer(app.listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
