/**
 * Object headers between S3 and the store: user metadata (`x-amz-meta-*` <-> meta), the
 * content headers kept verbatim, stored checksums, HTTP dates, ETag quoting, and the
 * conditional request rules (If-Match, If-None-Match, If-(Un)Modified-Since) for GET and HEAD.
 */
import type { ObjectInfo } from '../proxy/backend.js';
import { S3Error } from './errors.js';
import { CHECKSUM_HEADER_PREFIX } from './checksums.js';
import { header } from './request.js';

/** Headers a client sets on PUT and gets back on GET/HEAD. */
export const CONTENT_HEADERS = ['content-encoding', 'content-disposition', 'content-language', 'cache-control', 'expires'] as const;
export const META_PREFIX = 'x-amz-meta-';
/** Largest total user metadata (AWS: 2 KB). */
export const MAX_META_BYTES = 2048;
/** GET query parameters that override response headers (presigned downloads use them). */
const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type', 'response-content-language': 'content-language',
  'response-expires': 'expires', 'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition', 'response-content-encoding': 'content-encoding',
};

type Headers = Record<string, string | string[] | undefined>;

/** User metadata from x-amz-meta-* request headers. */
export function metaFromHeaders(headers: Headers): Record<string, string> {
  const meta: Record<string, string> = {};
  let size = 0;
  for (const [k, v] of Object.entries(headers)) {
    if (!k.startsWith(META_PREFIX) || v === undefined) continue;
    const name = k.slice(META_PREFIX.length);
    const value = Array.isArray(v) ? v.join(',') : v;
    size += name.length + value.length;
    meta[name] = value;
  }
  if (size > MAX_META_BYTES) throw new S3Error('InvalidArgument' as const, `Your metadata headers exceed the maximum allowed metadata size (${MAX_META_BYTES} bytes).`);
  return meta;
}

/** The content headers to store (content-type separately), without the aws-chunked coding. */
export function contentHeadersFrom(req: { headers: Headers }): { contentType?: string; headers: Record<string, string> } {
  const out: Record<string, string> = {};
  for (const name of CONTENT_HEADERS) {
    let v = header(req, name);
    if (v === undefined) continue;
    if (name === 'content-encoding') {
      v = v.split(',').map((s) => s.trim()).filter((s) => s !== '' && s.toLowerCase() !== 'aws-chunked').join(',');
      if (v === '') continue;
    }
    out[name] = v;
  }
  return { contentType: header(req, 'content-type'), headers: out };
}

export const quoteEtag = (etag: string) => `"${etag}"`;
export const unquoteEtag = (etag: string) => etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');

export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** The S3 ETag of an object: a manifest's own etag (`md5-N`) or the MD5 of the bytes. */
export function s3Etag(info: ObjectInfo): string {
  return info.headers['x-object-sysmeta-s3-etag'] ?? info.meta['s3-etag'] ?? info.etag;
}

/** The headers GET and HEAD answer with for an object (size given separately). */
export function objectResponseHeaders(info: ObjectInfo, etag: string, query: Map<string, string>, withChecksums: boolean, contentType: string): Record<string, string> {
  const out: Record<string, string> = {
    etag: quoteEtag(etag), 'last-modified': httpDate(info.lastModified), 'content-type': contentType,
    'accept-ranges': 'bytes',
  };
  for (const name of CONTENT_HEADERS) if (info.headers[name] !== undefined) out[name] = info.headers[name]!;
  for (const [k, v] of Object.entries(info.meta)) {
    if (k === 's3-etag') continue;
    out[META_PREFIX + k] = v;
  }
  // Trailer checksums are tagged with the ETag they were computed for (objects.ts).
  const tag = info.headers['x-object-sysmeta-s3-checksum-etag'];
  if (withChecksums && (tag === undefined || tag === info.etag)) {
    for (const [k, v] of Object.entries(info.headers)) if (k.startsWith(CHECKSUM_HEADER_PREFIX)) out[k] = v;
  }
  for (const [q, h] of Object.entries(RESPONSE_OVERRIDES)) {
    const v = query.get(q);
    if (v !== undefined) out[h] = v;
  }
  return out;
}

function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

const etagMatches = (list: string, etag: string) =>
  list.split(',').map((s) => s.trim()).some((s) => s === '*' || unquoteEtag(s) === etag);

/**
 * Applies GET/HEAD conditions (S3's precedence: a true If-Match wins over a false
 * If-Unmodified-Since; a false If-None-Match wins over a true If-Modified-Since).
 * `prefix` is '' for the request's own headers, 'x-amz-copy-source-' for CopyObject's source.
 */
export function checkConditions(headers: Headers, etag: string, lastModified: number, prefix = ''): void {
  const get = (n: string) => header({ headers }, prefix + n);
  const ifMatch = get('if-match');
  const ifNoneMatch = get('if-none-match');
  const ifModified = parseHttpDate(get('if-modified-since'));
  const ifUnmodified = parseHttpDate(get('if-unmodified-since'));
  const seconds = Math.floor(lastModified / 1000) * 1000;
  const copy = prefix !== '';
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, etag)) throw new S3Error('PreconditionFailed');
  } else if (ifUnmodified !== undefined && seconds > ifUnmodified) {
    throw new S3Error('PreconditionFailed');
  }
  if (ifNoneMatch !== undefined) {
    if (etagMatches(ifNoneMatch, etag)) throw new S3Error(copy ? 'PreconditionFailed' : 'NotModified');
  } else if (ifModified !== undefined && seconds <= ifModified && ifModified <= Date.now()) {
    throw new S3Error(copy ? 'PreconditionFailed' : 'NotModified');
  }
}

/** Parses a single `bytes=` range; undefined when absent or not parsable (then ignored, per HTTP). */
export function parseRange(value: string | undefined): { start?: number; end?: number; suffix?: number } | undefined {
  if (value === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') return { suffix: Number(m[2]) };
  const start = Number(m[1]);
  const end = m[2] === '' ? undefined : Number(m[2]);
  if (end !== undefined && end < start) return undefined;
  return { start, end };
}
