/**
 * AWS Signature Version 4 for S3: verification of the Authorization header and of presigned
 * URLs (canonical request, string to sign, signing key), the clock-skew and expiry rules, and
 * the matching signer used by ringstack's own clients (the `ringstack user` command, tests).
 *
 * The canonical URI is rebuilt from the raw request path: each '/'-separated segment is
 * percent-decoded and encoded again with AWS's rules (S3 encodes once, no normalisation), so
 * clients that escape different characters still verify. The signing region is the one the
 * client put in its credential scope.
 */
import crypto, { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { User, UserDirectory } from '../auth/users.js';
import { S3Error } from './errors.js';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const SERVICE = 's3';
/** Largest difference between the request's time and ours (AWS: 15 minutes). */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
/** Longest validity of a presigned URL (AWS: 7 days). */
export const MAX_PRESIGN_EXPIRES_S = 7 * 24 * 3600;
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
export const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
const KEY_CACHE_SIZE = 256;

/** Node's one-shot digest (20.12+): a third of the CPU of a Hash object for a short input. */
const oneShot: ((alg: string, data: string | Buffer, enc: 'hex') => string) | undefined = (crypto as { hash?: typeof crypto.hash }).hash;
export const sha256Hex = (data: string | Buffer): string =>
  (oneShot ? oneShot('sha256', data, 'hex') : createHash('sha256').update(data).digest('hex'));
export const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** What encodeURIComponent leaves as it is and AWS's UriEncode does not. */
const KEPT_BY_JS_ONLY = /[!'()*]/g;

/**
 * AWS's UriEncode: everything but A-Z a-z 0-9 - . _ ~ is %XX (UTF-8); '/' kept unless asked.
 * Built on encodeURIComponent (upper-case escapes, UTF-8) rather than a loop over the bytes:
 * most names need no escape at all, and the loop cost 1.5-3 µs of a 13 µs verification.
 */
export function uriEncode(text: string, encodeSlash = true): string {
  let out: string;
  try {
    out = encodeURIComponent(text);
  } catch {
    // A lone surrogate: encoded as the U+FFFD that its UTF-8 bytes become.
    out = encodeURIComponent(Buffer.from(text, 'utf8').toString('utf8'));
  }
  out = out.replace(KEPT_BY_JS_ONLY, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return encodeSlash ? out : out.replace(/%2F/g, '/');
}

function safeDecode(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The canonical URI of a raw request path (no query). */
export function canonicalUri(rawPath: string): string {
  return rawPath.split('/').map((seg) => uriEncode(safeDecode(seg))).join('/') || '/';
}

/** Splits a raw query string into decoded [name, value] pairs, in order. */
export function parseQuery(rawQuery: string): Array<[string, string]> {
  if (!rawQuery) return [];
  return rawQuery.split('&').filter((p) => p !== '').map((p) => {
    const eq = p.indexOf('=');
    return eq < 0 ? [safeDecode(p), ''] : [safeDecode(p.slice(0, eq)), safeDecode(p.slice(eq + 1))];
  });
}

/** The canonical query string, leaving out `exclude` (the presigned signature). */
export function canonicalQuery(pairs: Array<[string, string]>, exclude?: string): string {
  return pairs.filter(([k]) => k !== exclude)
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`).join('&');
}

const NO_INNER_SPACE = /^\s*\S*\s*$/;

/** Groups raw headers by lower-case name; values trimmed, inner spaces collapsed, joined by ','. */
export function headerValues(rawHeaders: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const raw = rawHeaders[i + 1]!;
    // Collapsing is rarely needed: a value without whitespace inside is kept as it came.
    const value = NO_INNER_SPACE.test(raw) ? raw.trim() : raw.trim().replace(/\s+/g, ' ');
    out.set(name, out.has(name) ? `${out.get(name)},${value}` : value);
  }
  return out;
}

export function canonicalRequest(method: string, uri: string, query: string, headers: Map<string, string>,
  signedHeaders: string[], payloadHash: string): string {
  const canon = signedHeaders.map((h) => `${h}:${headers.get(h) ?? ''}\n`).join('');
  return [method, uri, query, canon, signedHeaders.join(';'), payloadHash].join('\n');
}

const keyCache = new Map<string, Buffer>();

/** The derived signing key for a day, region and service (cached: it changes once a day). */
export function signingKey(secret: string, date: string, region: string, service = SERVICE): Buffer {
  const id = `${secret}\n${date}\n${region}\n${service}`;
  let key = keyCache.get(id);
  if (!key) {
    key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
    if (keyCache.size >= KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value!);
    keyCache.set(id, key);
  }
  return key;
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return [ALGORITHM, amzDate, scope, sha256Hex(canonical)].join('\n');
}

/** Parses `20250102T030405Z` into milliseconds; NaN when malformed. */
export function parseAmzDate(value: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

export function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** What a verified request carries on: needed to verify aws-chunked chunk signatures. */
export interface SigningContext {
  amzDate: string;
  scope: string;
  key: Buffer;
  /** The request's signature: the seed of the chunk signature chain. */
  signature: string;
}

export interface AuthResult {
  user: User;
  /** x-amz-content-sha256 (UNSIGNED-PAYLOAD for presigned URLs). */
  payloadHash: string;
  signing: SigningContext;
  presigned: boolean;
}

/** The parts of a request the verifier reads. */
export interface SignedRequest {
  method: string;
  /** Path and query exactly as received. */
  rawUrl: string;
  rawHeaders: string[];
}

function equalHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

interface Credential { accessKey: string; date: string; region: string; service: string; scope: string }

function parseCredential(value: string): Credential {
  const parts = value.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || !/^\d{8}$/.test(parts[1]!)) {
    throw new S3Error('AuthorizationHeaderMalformed', `The credential "${value}" is malformed.`);
  }
  const [accessKey, date, region, service] = parts as [string, string, string, string];
  if (service !== SERVICE) throw new S3Error('AuthorizationHeaderMalformed', `The credential scope names service "${service}", expected "s3".`);
  return { accessKey, date, region, service, scope: parts.slice(1).join('/') };
}

/**
 * Verifies a request signed with SigV4 (Authorization header or presigned query) and returns
 * the user. Throws S3Error: AccessDenied (anonymous, expired), InvalidAccessKeyId,
 * SignatureDoesNotMatch, RequestTimeTooSkewed, AuthorizationHeaderMalformed.
 */
export async function authenticate(req: SignedRequest, users: UserDirectory, now = Date.now()): Promise<AuthResult> {
  const q = req.rawUrl.indexOf('?');
  const rawPath = q < 0 ? req.rawUrl : req.rawUrl.slice(0, q);
  const pairs = parseQuery(q < 0 ? '' : req.rawUrl.slice(q + 1));
  const query = new Map(pairs);
  const headers = headerValues(req.rawHeaders);
  const auth = headers.get('authorization');
  let cred: Credential;
  let signedHeaders: string[];
  let signature: string;
  let amzDate: string;
  let payloadHash: string;
  let presigned = false;
  if (auth !== undefined) {
    if (!auth.startsWith(`${ALGORITHM} `)) {
      if (auth.startsWith('AWS ')) throw new S3Error('InvalidRequest', 'Signature version 2 is not supported; use AWS4-HMAC-SHA256.');
      throw new S3Error('AuthorizationHeaderMalformed', 'Unsupported authorization type.');
    }
    const fields = new Map(auth.slice(ALGORITHM.length + 1).split(',').map((f) => {
      const t = f.trim();
      const eq = t.indexOf('=');
      return [t.slice(0, eq), t.slice(eq + 1)] as [string, string];
    }));
    const c = fields.get('Credential');
    const sh = fields.get('SignedHeaders');
    const sig = fields.get('Signature');
    if (!c || !sh || !sig) throw new S3Error('AuthorizationHeaderMalformed');
    cred = parseCredential(c);
    signedHeaders = sh.split(';');
    signature = sig;
    amzDate = headers.get('x-amz-date') ?? '';
    let when = parseAmzDate(amzDate);
    if (Number.isNaN(when)) {
      const date = headers.get('date');
      when = date ? Date.parse(date) : NaN;
      if (Number.isNaN(when)) throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
    }
    if (Math.abs(now - when) > MAX_CLOCK_SKEW_MS) throw new S3Error('RequestTimeTooSkewed');
    const ph = headers.get('x-amz-content-sha256');
    if (ph === undefined) throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    payloadHash = ph;
  } else if (query.has('X-Amz-Signature')) {
    presigned = true;
    if (query.get('X-Amz-Algorithm') !== ALGORITHM) throw new S3Error('AuthorizationQueryParametersError', 'X-Amz-Algorithm must be AWS4-HMAC-SHA256');
    cred = parseCredential(query.get('X-Amz-Credential') ?? '');
    signedHeaders = (query.get('X-Amz-SignedHeaders') ?? '').split(';');
    signature = query.get('X-Amz-Signature')!;
    amzDate = query.get('X-Amz-Date') ?? '';
    const when = parseAmzDate(amzDate);
    const expires = Number(query.get('X-Amz-Expires'));
    if (Number.isNaN(when) || !Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGN_EXPIRES_S) {
      throw new S3Error('AccessDenied', 'X-Amz-Date or X-Amz-Expires is missing or invalid');
    }
    if (when - now > MAX_CLOCK_SKEW_MS) throw new S3Error('AccessDenied', 'Request is not valid yet');
    if (now > when + expires * 1000) throw new S3Error('AccessDenied', 'Request has expired');
    payloadHash = headers.get('x-amz-content-sha256') ?? UNSIGNED_PAYLOAD;
  } else {
    throw new S3Error('AccessDenied', 'Anonymous access is not allowed; sign requests with AWS Signature Version 4.');
  }
  if (!signedHeaders.includes('host')) throw new S3Error('AuthorizationHeaderMalformed', 'The host header must be signed.');
  const user = await users.lookup(cred.accessKey);
  if (!user) throw new S3Error('InvalidAccessKeyId');
  const key = signingKey(user.secretKey, cred.date, cred.region, cred.service);
  const canonical = canonicalRequest(req.method, canonicalUri(rawPath),
    canonicalQuery(pairs, presigned ? 'X-Amz-Signature' : undefined), headers, signedHeaders,
    presigned ? (headers.get('x-amz-content-sha256') ?? UNSIGNED_PAYLOAD) : payloadHash);
  const sts = stringToSign(amzDate, cred.scope, canonical);
  const expected = hmac(key, sts).toString('hex');
  if (!equalHex(expected, signature.toLowerCase())) {
    throw new S3Error('SignatureDoesNotMatch', undefined, { AWSAccessKeyId: cred.accessKey, StringToSign: sts, CanonicalRequest: canonical });
  }
  return { user, payloadHash, presigned, signing: { amzDate, scope: cred.scope, key, signature: expected } };
}

// ---- Signing (clients) ----

export interface SignOptions {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  accessKey: string;
  secretKey: string;
  region?: string;
  /** Hex SHA-256 of the body, or UNSIGNED-PAYLOAD. Default: hash of the empty body. */
  payloadHash?: string;
  now?: number;
}

function pathOf(url: URL): string {
  return url.pathname;
}

/** Returns the headers to send (given ones plus host, x-amz-date, x-amz-content-sha256, authorization). */
export function signRequest(o: SignOptions): Record<string, string> {
  const region = o.region ?? 'us-east-1';
  const amzDate = formatAmzDate(o.now ?? Date.now());
  const date = amzDate.slice(0, 8);
  const scope = `${date}/${region}/${SERVICE}/aws4_request`;
  const payloadHash = o.payloadHash ?? EMPTY_SHA256;
  const headers: Record<string, string> = { ...(o.headers ?? {}), host: o.url.host, 'x-amz-date': amzDate, 'x-amz-content-sha256': payloadHash };
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v.trim().replace(/\s+/g, ' ')]));
  const signed = [...lower.keys()].sort();
  const canonical = canonicalRequest(o.method, canonicalUri(pathOf(o.url)),
    canonicalQuery(parseQuery(o.url.search.slice(1))), lower, signed, payloadHash);
  const signature = hmac(signingKey(o.secretKey, date, region), stringToSign(amzDate, scope, canonical)).toString('hex');
  headers.authorization = `${ALGORITHM} Credential=${o.accessKey}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}`;
  return headers;
}

/** A presigned URL valid for `expiresIn` seconds (only the host header is signed). */
export function presignUrl(o: Omit<SignOptions, 'headers' | 'payloadHash'> & { expiresIn: number }): URL {
  const region = o.region ?? 'us-east-1';
  const amzDate = formatAmzDate(o.now ?? Date.now());
  const date = amzDate.slice(0, 8);
  const scope = `${date}/${region}/${SERVICE}/aws4_request`;
  const url = new URL(o.url);
  url.searchParams.set('X-Amz-Algorithm', ALGORITHM);
  url.searchParams.set('X-Amz-Credential', `${o.accessKey}/${scope}`);
  url.searchParams.set('X-Amz-Date', amzDate);
  url.searchParams.set('X-Amz-Expires', String(o.expiresIn));
  url.searchParams.set('X-Amz-SignedHeaders', 'host');
  const canonical = canonicalRequest(o.method, canonicalUri(pathOf(url)), canonicalQuery(parseQuery(url.search.slice(1))),
    new Map([['host', url.host]]), ['host'], UNSIGNED_PAYLOAD);
  url.searchParams.set('X-Amz-Signature', hmac(signingKey(o.secretKey, date, region), stringToSign(amzDate, scope, canonical)).toString('hex'));
  return url;
}
