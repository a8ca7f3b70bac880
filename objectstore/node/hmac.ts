/**
 * Cluster authentication between the proxy and the storage nodes. A request carries
 * `x-ringstack-auth: <unix seconds>:<hex HMAC-SHA256>` computed with the cluster secret over
 * the method, the raw request path (with query) and the X-Timestamp header. A node refuses
 * (401) anything unsigned, wrongly signed or signed outside the validity window, so only
 * holders of the secret can read or write a device.
 *
 * The signature authenticates its connection: once a request on a connection passed, the node
 * trusts that connection's later requests without a signature, and says so in that answer
 * (`x-ringstack-auth-scope: connection`); the project's lean client (lean-http.ts) stops
 * signing on that connection. This is as strong as signing every request: the signature
 * never covered bodies or other headers, so whoever could inject into an open TCP connection
 * could already change what it carried, and a new connection still needs the secret. It saves
 * an HMAC on each side of every internal request (about 8 % of a 4 KiB GET's CPU, measured in
 * bench/objectstore/README.md "Session 23"). A client that ignores the answer header, or a node
 * that never sends it (an older version), just keeps signing every request.
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

export const AUTH_HEADER = 'x-ringstack-auth';
/** In a node's answer: the connection is now trusted, later requests on it need no signature. */
export const H_AUTH_SCOPE = 'x-ringstack-auth-scope';
export const CONNECTION_SCOPE = 'connection';
/** How far a signature's time may be from the node's clock (clock skew + queueing), seconds. */
export const SIGNATURE_WINDOW_SECONDS = 300;

/** The cluster secret as a key object, made once: an HMAC keyed with a string derives its key every time. */
let cachedKey: { secret: string; key: KeyObject } | undefined;
function keyOf(secret: string): KeyObject {
  if (cachedKey?.secret !== secret) cachedKey = { secret, key: createSecretKey(Buffer.from(secret, 'utf8')) };
  return cachedKey.key;
}

function mac(secret: string, method: string, path: string, timestamp: string, signedAt: number): string {
  return createHmac('sha256', keyOf(secret))
    .update(`${method.toUpperCase()}\n${path}\n${timestamp}\n${signedAt}`)
    .digest('hex');
}

/** The header value authorising `method path` with this X-Timestamp (may be ''). */
export function signRequest(secret: string, method: string, path: string, timestamp = '',
  now = Date.now()): string {
  const signedAt = Math.floor(now / 1000);
  return `${signedAt}:${mac(secret, method, path, timestamp, signedAt)}`;
}

/** True when `header` is a valid, current signature of this request. */
export function verifyRequest(secret: string, method: string, path: string, timestamp: string,
  header: string | undefined, now = Date.now()): boolean {
  if (!header) return false;
  const m = /^(\d{1,12}):([0-9a-f]{64})$/.exec(header);
  if (!m) return false;
  const signedAt = Number(m[1]);
  if (Math.abs(now / 1000 - signedAt) > SIGNATURE_WINDOW_SECONDS) return false;
  const want = Buffer.from(mac(secret, method, path, timestamp, signedAt), 'hex');
  return timingSafeEqual(want, Buffer.from(m[2]!, 'hex'));
}
