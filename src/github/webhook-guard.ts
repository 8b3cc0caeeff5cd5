// In front of Probot's webhook middleware, which reads a whole body into memory before it checks
// the signature: an unsigned 256 MiB request cost the process 721 MiB. Here the body is capped at
// what GitHub sends at most, and its HMAC-SHA256 is computed while it arrives; only a delivery
// whose signature matches reaches Probot (as the string it already read), which parses and
// dispatches it as before. Nothing else is parsed.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readLimitedBody, refuseTooLarge, type LimitedBody } from '../http-body.js';

/** GitHub caps webhook payloads at 25 MB; a larger body is no delivery of GitHub's. */
export const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024;

// As @octokit/webhooks decides them, so that the guard sees every request Probot would read.
const JSON_CONTENT = /^\s*application\/json\s*(?:;|$)/;
const REQUIRED_HEADERS = ['x-github-event', 'x-hub-signature-256', 'x-github-delivery'];
const SIGNATURE = /^sha256=([0-9a-f]{64})$/;
// Probot's own answer to a signature that does not match, so a client sees no difference.
const MISMATCH = '[@octokit/webhooks] signature does not match event payload and secret';

/**
 * A handler for POST at `paths`: answers 413 to a body over `maxBytes` and 400 to a malformed or
 * wrong signature, the connection closed after either; a matching delivery is left (false) to
 * Probot with its body attached. Requests Probot refuses without reading the body (no JSON
 * content type, a missing header) go to Probot, the connection closed after its answer.
 */
export function webhookGuard(options: { paths: string[]; secret: string; maxBytes?: number }) {
  const paths = new Set(options.paths.map(withoutTrailingSlashes));
  const maxBytes = options.maxBytes ?? MAX_WEBHOOK_BYTES;
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== 'POST' || !paths.has(pathOf(req.url ?? '/'))) return false;
    const refuse = (status: number, error: string) => {
      res.writeHead(status, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ error }));
      return true;
    };
    if (Number(req.headers['content-length']) > maxBytes) return tooLarge(res, maxBytes);
    if (!JSON_CONTENT.test(req.headers['content-type'] ?? '') || REQUIRED_HEADERS.some((name) => req.headers[name] === undefined)) {
      res.setHeader('connection', 'close');
      return false;
    }
    const given = SIGNATURE.exec(String(req.headers['x-hub-signature-256']))?.[1];
    if (!given) return refuse(400, `Error: ${MISMATCH}`);

    const hmac = createHmac('sha256', options.secret);
    let body: LimitedBody;
    try {
      body = await readLimitedBody(req, maxBytes, (chunk) => hmac.update(chunk));
    } catch {
      // The client went away mid-body: nobody to answer.
      req.destroy();
      return true;
    }
    if (body === 'too-large') return tooLarge(res, maxBytes);
    if (!timingSafeEqual(hmac.digest(), Buffer.from(given, 'hex'))) return refuse(400, `Error: ${MISMATCH}`);
    // @octokit/webhooks takes a body already read when it is a string (as under Express).
    (req as IncomingMessage & { body?: string }).body = body.toString('utf8');
    return false;
  };
}

function tooLarge(res: ServerResponse, maxBytes: number): true {
  refuseTooLarge(res, 'application/json', JSON.stringify({ error: `the body is larger than ${maxBytes} bytes, more than GitHub sends` }));
  return true;
}

function withoutTrailingSlashes(path: string): string {
  return path.replace(/\/+$/, '') || '/';
}

/** The path @octokit/webhooks matches: dot segments applied, backslashes read as slashes. */
function pathOf(url: string): string {
  try {
    return new URL(withoutTrailingSlashes(url), 'http://localhost').pathname;
  } catch {
    return '';
  }
}
