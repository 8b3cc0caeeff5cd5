// Sessions: the cookie holds a random session id signed with HMAC-SHA256 (`id.signature`); the
// session itself is a row of the database (src/web/queries/sessions.ts), so it outlives a restart and is
// shared by every process of the App. The row never holds what would let its reader act as the
// user: the id is stored as its SHA-256, and the user's GitHub token encrypted with AES-256-GCM
// under a key derived from the session secret (HKDF), bound to its row. Each session has its own
// CSRF token, required by every form that changes state.
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { deleteExpiredSessions, deleteSession, findSession, insertSession } from './queries/sessions.js';
import type { PrismaClient } from '@prisma/client';

export interface Session {
  id: string;
  login: string;
  token: string;
  csrf: string;
  expiresAt: number;
}

export function sign(value: string, secret: string): string {
  return `${value}.${createHmac('sha256', secret).update(value).digest('base64url')}`;
}

/** The signed value, or null when the signature does not match. */
export function unsign(signed: string, secret: string): string | null {
  const dot = signed.lastIndexOf('.');
  if (dot <= 0) return null;
  const value = signed.slice(0, dot);
  const expected = Buffer.from(sign(value, secret));
  const actual = Buffer.from(signed);
  return expected.length === actual.length && timingSafeEqual(expected, actual) ? value : null;
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

const TOKEN_FORMAT = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The key that encrypts GitHub tokens at rest: derived, so it is never the cookies' HMAC key itself. */
export function tokenKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'parapet', 'session-token-encryption', 32));
}

/** How a session id is stored: its SHA-256, so the table's rows cannot be replayed as cookies. */
export function sessionIdHash(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

/** `v1.<iv>.<ciphertext>.<tag>`; `idHash` is authenticated with it, so a token cannot be moved to another row. */
export function encryptToken(key: Buffer, token: string, idHash: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(idHash));
  const ciphertext = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  return [TOKEN_FORMAT, iv, ciphertext, cipher.getAuthTag()].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
}

/** The token, or null when it cannot be decrypted (another secret, another row, altered). */
export function decryptToken(key: Buffer, encrypted: string, idHash: string): string | null {
  const [format, iv, ciphertext, tag, ...rest] = encrypted.split('.');
  if (format !== TOKEN_FORMAT || iv === undefined || ciphertext === undefined || tag === undefined || rest.length > 0) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(idHash));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}

/** The overview's sessions, in the database. */
export class SessionStore {
  private readonly key: Buffer;

  constructor(
    private readonly db: PrismaClient,
    secret: string,
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.key = tokenKey(secret);
  }

  async create(login: string, token: string): Promise<Session> {
    const now = this.now();
    // Expired sessions go when new ones come: the table stays the size of the active users.
    await deleteExpiredSessions(this.db, new Date(now));
    const session: Session = { id: randomToken(), login, token, csrf: randomToken(), expiresAt: now + this.maxAgeMs };
    const idHash = sessionIdHash(session.id);
    await insertSession(this.db, {
      idHash,
      login,
      encryptedToken: encryptToken(this.key, token, idHash),
      csrf: session.csrf,
      createdAt: new Date(now),
      expiresAt: new Date(session.expiresAt),
    });
    return session;
  }

  /** The session of `id`; null when there is none, it expired, or its token cannot be read (the secret changed). */
  async get(id: string): Promise<Session | null> {
    const idHash = sessionIdHash(id);
    const row = await findSession(this.db, idHash);
    if (!row) return null;
    const token = row.expiresAt.getTime() > this.now() ? decryptToken(this.key, row.encryptedToken, idHash) : null;
    if (token === null) {
      await deleteSession(this.db, idHash);
      return null;
    }
    return { id, login: row.login, token, csrf: row.csrf, expiresAt: row.expiresAt.getTime() };
  }

  async delete(id: string): Promise<void> {
    await deleteSession(this.db, sessionIdHash(id));
  }
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    try {
      if (name && !cookies.has(name)) cookies.set(name, decodeURIComponent(part.slice(eq + 1).trim()));
    } catch {
      // a malformed cookie is ignored
    }
  }
  return cookies;
}

export interface CookieOptions {
  secure: boolean;
  maxAgeSeconds?: number;
  path?: string;
}

export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, `Path=${options.path ?? '/'}`, 'HttpOnly', 'SameSite=Lax'];
  if (options.maxAgeSeconds !== undefined) parts.push(`Max-Age=${options.maxAgeSeconds}`);
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}
