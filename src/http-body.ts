// Request bodies read with a limit, for the App's server and the overview alike: an anonymous
// client decides how much it sends, so nothing is buffered past the limit. A Content-Length over
// it is refused before a byte is read; a body without one (chunked) is cut at the first byte over.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The whole body, or 'too-large' (nothing more is read: answer with `refuseTooLarge`). */
export type LimitedBody = Buffer | 'too-large';

/**
 * The body of `req`, at most `maxBytes`; each chunk goes to `onChunk` as it arrives (a signature
 * computed while reading). Rejects when the client goes away before the end.
 */
export function readLimitedBody(req: IncomingMessage, maxBytes: number, onChunk?: (chunk: Buffer) => void): Promise<LimitedBody> {
  if (Number(req.headers['content-length']) > maxBytes) return Promise.resolve('too-large');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        stop();
        // Paused, not destroyed: the 413 still has to reach the client.
        req.pause();
        chunks.length = 0;
        resolve('too-large');
        return;
      }
      onChunk?.(chunk);
      chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      stop();
      reject(error);
    };
    const onClose = () => {
      stop();
      reject(new Error('the client closed the connection before the end of the request body'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** 413, and the connection closed once it is sent: the rest of the body is never read. */
export function refuseTooLarge(res: ServerResponse, contentType: string, body: string): void {
  res.writeHead(413, { 'content-type': contentType, connection: 'close' }).end(body);
}
