/**
 * Token authentication of the Git endpoint. Git sends credentials as HTTP basic auth; the
 * password is the token and the user name is ignored (`https://x:<token>@host/git/r.git`).
 * Without valid credentials the answer is 401 with `WWW-Authenticate`, so the git CLI asks
 * its credential helpers or the terminal, or fails with "Authentication failed".
 */

import { timingSafeEqual, createHash } from 'node:crypto';
import { Forbidden, Unauthenticated } from './errors.js';

/** Realm named in the WWW-Authenticate challenge. */
export const AUTH_REALM = 'ringstack git';

/** What a request wants to do, for the authorizer. */
export interface GitAccess {
  repo: string;
  write: boolean;
}

/**
 * Decides whether `token` may do `access`: true allows, false answers 401 (unknown token).
 * An authorizer may throw Forbidden (403) for a known token that lacks the right, e.g. a
 * read-only token that tries to push.
 */
export type Authorize = (token: string, access: GitAccess) => boolean | Promise<boolean>;

/** The token of a basic `Authorization` header, or undefined when there is none. */
export function tokenFromHeader(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const token = colon >= 0 ? decoded.slice(colon + 1) : decoded;
  return token.length > 0 ? token : undefined;
}

/** Compares two strings in constant time (over their SHA-256, so lengths leak nothing). */
function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** An authorizer that lets each of `tokens` read and write every repository. */
export function tokenListAuthorizer(tokens: string[]): Authorize {
  const list = tokens.filter((t) => t.length > 0);
  return (token) => list.some((t) => sameSecret(t, token));
}

/** Throws Unauthenticated (no or unknown token) or Forbidden unless `access` is allowed. */
export async function checkAccess(header: string | undefined, access: GitAccess, authorize: Authorize): Promise<void> {
  const token = tokenFromHeader(header);
  if (token === undefined) throw new Unauthenticated('authentication required');
  if (!(await authorize(token, access))) throw new Unauthenticated('invalid token');
}

export { Forbidden };
