// A POST whose body is sent piece by piece, as a client on a slow or hostile connection sends it,
// watching for the server's answer between pieces: what it answered, and how much of the body it
// had been sent by then. The server answering (or dropping the connection) before the end is the
// evidence that it did not wait for the whole body.
import { request } from 'node:http';

export interface SlowPostResult {
  /** The status the server answered, if it answered. */
  status?: number;
  body?: string;
  /** The error that ended the request instead (ECONNRESET, EPIPE), if any. */
  error?: string;
  /** Body bytes written before the server answered or the connection ended. */
  bytesSent: number;
}

export interface SlowPostOptions {
  headers: Record<string, string>;
  /** The body; sent in `chunkBytes` pieces. Empty: only the headers are sent. */
  body: Buffer | ((offset: number, size: number) => Buffer);
  totalBytes: number;
  chunkBytes?: number;
  /** How long to wait for an answer after the last byte (or after the headers, without a body). */
  waitMs?: number;
}

export async function slowPost(url: string, options: SlowPostOptions): Promise<SlowPostResult> {
  const chunkBytes = options.chunkBytes ?? 1024 * 1024;
  const result: SlowPostResult = { bytesSent: 0 };
  const req = request(url, { method: 'POST', headers: options.headers });
  let ended = false;
  let settle!: () => void;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  const end = () => {
    ended = true;
    settle();
  };
  req.on('response', (res) => {
    result.status = res.statusCode;
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    res.on('end', () => {
      result.body = text;
      end();
    });
    res.on('error', end);
  });
  req.on('error', (error: NodeJS.ErrnoException) => {
    result.error ??= error.code ?? error.message;
    end();
  });
  req.flushHeaders();
  const piece = (offset: number, size: number) => (typeof options.body === 'function' ? options.body(offset, size) : options.body.subarray(offset, offset + size));
  while (!ended && result.status === undefined && result.bytesSent < options.totalBytes) {
    const size = Math.min(chunkBytes, options.totalBytes - result.bytesSent);
    const drained = req.write(piece(result.bytesSent, size));
    result.bytesSent += size;
    // Between pieces the event loop turns, so an answer is seen as soon as it arrives.
    if (!drained) await Promise.race([new Promise((resolve) => req.once('drain', resolve)), settled]);
    else await new Promise((resolve) => setImmediate(resolve));
  }
  if (!ended && result.status === undefined && result.bytesSent >= options.totalBytes && options.totalBytes > 0) req.end();
  await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, options.waitMs ?? 5000))]);
  req.destroy();
  return result;
}
