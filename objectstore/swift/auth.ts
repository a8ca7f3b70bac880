/**
 * Swift v1 authentication (tempauth's protocol) over the object store's UserDirectory.
 *
 * `GET /auth/v1.0` with X-Auth-User (an S3 access key: `<account>:<user>` or a plain key) and
 * X-Auth-Key (its secret) answers with X-Auth-Token, X-Storage-Token, X-Storage-Url and
 * X-Auth-Token-Expires. Tokens are stateless: `AUTH_tk` + base64url(JSON {a, u, e}) + `.` +
 * HMAC-SHA256 over that payload with the cluster secret, so every proxy of the cluster
 * validates a token another proxy issued, without shared memory (tempauth keeps them in
 * memcache). The expiry inside the token is enforced on every request.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { UserDirectory } from '../auth/users.js';
import { SwiftError } from './errors.js';

/** Token lifetime when the plugin is not told otherwise (tempauth's token_life). */
export const DEFAULT_TOKEN_TTL_SECONDS = 86400;
/** Swift's reseller prefix: storage URLs name accounts `AUTH_<account>`. */
export const RESELLER_PREFIX = 'AUTH_';
const TOKEN_PREFIX = 'AUTH_tk';

interface TokenClaims {
  /** Account, without the reseller prefix. */
  a: string;
  /** The access key that logged in. */
  u: string;
  /** Expiry, seconds since the epoch. */
  e: number;
}

export interface TokenHolder {
  account: string;
  accessKey: string;
  expiresAt: number;
}

function sign(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(`swift-token:${payload}`).digest('base64url');
}

/** Issues a token for `account` valid `ttlSeconds` from `nowMs`. */
export function issueToken(secret: string, account: string, accessKey: string, ttlSeconds: number, nowMs = Date.now()): { token: string; expiresAt: number } {
  const expiresAt = Math.floor(nowMs / 1000) + ttlSeconds;
  const claims: TokenClaims = { a: account, u: accessKey, e: expiresAt };
  const payload = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
  return { token: `${TOKEN_PREFIX}${payload}.${sign(secret, payload)}`, expiresAt };
}

/**
 * Tokens this proxy has verified, with their holders: a client sends the same token with
 * every request, and its HMAC and JSON cost more than the rest of a small GET's
 * authorisation. The expiry is still checked on every request. Cleared when full.
 */
const verified = new Map<string, { secret: string; holder: TokenHolder }>();
export const MAX_VERIFIED_TOKENS = 10_000;

/** The holder of a valid, unexpired token, or undefined for anything else. */
export function verifyToken(secret: string, token: string, nowMs = Date.now()): TokenHolder | undefined {
  const seen = verified.get(token);
  if (seen && seen.secret === secret) return seen.holder.expiresAt * 1000 > nowMs ? seen.holder : undefined;
  const holder = checkToken(secret, token, nowMs);
  if (holder) {
    if (verified.size >= MAX_VERIFIED_TOKENS) verified.clear();
    verified.set(token, { secret, holder });
  }
  return holder;
}

function checkToken(secret: string, token: string, nowMs: number): TokenHolder | undefined {
  if (!token.startsWith(TOKEN_PREFIX)) return undefined;
  const [payload, mac, extra] = token.slice(TOKEN_PREFIX.length).split('.');
  if (!payload || !mac || extra !== undefined) return undefined;
  const expected = Buffer.from(sign(secret, payload));
  const given = Buffer.from(mac);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
  let claims: TokenClaims;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims;
  } catch {
    return undefined;
  }
  if (typeof claims.a !== 'string' || typeof claims.u !== 'string' || typeof claims.e !== 'number') return undefined;
  if (claims.e * 1000 <= nowMs) return undefined;
  return { account: claims.a, accessKey: claims.u, expiresAt: claims.e };
}

export interface LoginResult {
  token: string;
  expiresAt: number;
  account: string;
}

/**
 * Checks X-Auth-User / X-Auth-Key against the directory. 401 (with Swift's
 * WWW-Authenticate) for an unknown user or a wrong key.
 */
export async function login(users: UserDirectory, secret: string, ttlSeconds: number,
  user: string | undefined, key: string | undefined): Promise<LoginResult> {
  if (!user || key === undefined) {
    throw new SwiftError(401, undefined, { 'www-authenticate': 'Swift realm="unknown"' });
  }
  const record = await users.lookup(user);
  const given = Buffer.from(key, 'utf8');
  const wanted = Buffer.from(record?.secretKey ?? '', 'utf8');
  if (!record || given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    const realm = user.includes(':') ? user.split(':', 1)[0] : 'unknown';
    throw new SwiftError(401, undefined, { 'www-authenticate': `Swift realm="${encodeURIComponent(realm)}"` });
  }
  const { token, expiresAt } = issueToken(secret, record.account, record.accessKey, ttlSeconds);
  return { token, expiresAt, account: record.account };
}

/**
 * Authorises a request on `/v1/<pathAccount>`: 401 without a valid token, 403 when the token
 * belongs to another account. Returns the backend account name (without `AUTH_`).
 */
export function authorize(secret: string, token: string | undefined, pathAccount: string): TokenHolder {
  const holder = token ? verifyToken(secret, token) : undefined;
  if (!holder) {
    throw new SwiftError(401, undefined, { 'www-authenticate': `Swift realm="${encodeURIComponent(pathAccount)}"` });
  }
  if (pathAccount !== `${RESELLER_PREFIX}${holder.account}`) throw new SwiftError(403);
  return holder;
}
