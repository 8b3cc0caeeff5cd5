// Loopback ports for tests: one nothing listens on (for a server to start on, or to be refused
// at), and one that accepts connections and never answers (a server behind a black-holing firewall).
import { createServer, type Socket } from 'node:net';

/** A loopback port free a moment ago (the OS's choice); a caller that races for it retries. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A loopback port that accepts connections and never answers; `close` drops them and stops it. */
export async function silentPort(): Promise<{ port: number; close(): Promise<void> }> {
  const connections = new Set<Socket>();
  const server = createServer((socket) => void connections.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    close: async () => {
      for (const socket of connections) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
