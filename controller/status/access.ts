/**
 * Who may read the status API. With tokens configured, a request needs
 * `Authorization: Bearer <token>` (the event stream also takes `?access_token=`, because
 * browsers cannot set headers on EventSource); a token bound to a project sees only that
 * project. With no tokens, reads are open to clients on the loopback address only.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface StatusToken {
  token: string;
  /** When set, the token sees only this project (and shared resources). */
  project?: string;
}

/** What the caller may see: everything, or one project. */
export interface Scope {
  project?: string;
}

export class AccessDenied extends Error {
  override name = 'AccessDenied';
  constructor(readonly statusCode: 401 | 403, message: string) {
    super(message);
  }
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export class StatusAccess {
  private readonly tokens: Array<{ hash: Buffer; project?: string }>;

  constructor(tokens: StatusToken[]) {
    this.tokens = tokens.map((t) => ({ hash: digest(t.token), ...(t.project ? { project: t.project } : {}) }));
  }

  /** The caller's scope; throws AccessDenied. */
  check(authorization: string | undefined, queryToken: string | undefined, remoteAddress: string | undefined): Scope {
    if (this.tokens.length === 0) {
      if (remoteAddress && LOOPBACK.has(remoteAddress)) return {};
      throw new AccessDenied(403, 'no status tokens are configured: reads are open on the loopback address only');
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const given = m?.[1] ?? queryToken;
    if (!given) throw new AccessDenied(401, 'a read token is required (Authorization: Bearer <token>)');
    const h = digest(given);
    const found = this.tokens.find((t) => timingSafeEqual(t.hash, h));
    if (!found) throw new AccessDenied(401, 'unknown read token');
    return found.project ? { project: found.project } : {};
  }
}

/** Parses `token` or `token:project`, comma separated (RINGSTACK_STATUS_TOKENS). */
export function parseStatusTokens(text: string): StatusToken[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const i = s.indexOf(':');
    return i > 0 ? { token: s.slice(0, i), project: s.slice(i + 1) } : { token: s };
  });
}
