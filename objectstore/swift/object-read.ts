/**
 * GET and HEAD of objects: plain objects, static and dynamic large objects alike (through
 * object-source.ts), with conditional requests (304/412), single ranges (206), several ranges
 * (206 multipart/byteranges), unsatisfiable ranges (416) and `multipart-manifest=get`.
 */
import { createHash } from 'node:crypto';
import { splitSwiftBytes } from './content-type.js';
import { isTrue, type SwiftContext, type SwiftResponse } from './context.js';
import type { Readable } from 'node:stream';
import type { ByteRange } from '../proxy/backend.js';
import { NotFound } from '../common/errors.js';
import { defaultBody, SwiftError } from './errors.js';
import { primeFirstSegment, SegmentMismatch } from './segments.js';
import { httpDate } from './http-dates.js';
import { header, metaHeaders } from './metadata.js';
import { resolveObject, type ObjectSource } from './object-source.js';
import { multipartByteranges, newBoundary, parseRangeHeader, rangesForLength } from './ranges.js';
import { rawManifestJson, storedManifestJson } from './slo.js';
import { evaluateConditions } from './conditional.js';

/** Stored headers never shown to clients. */
function isInternalHeader(name: string): boolean {
  return name.startsWith('x-object-sysmeta-') || name === 'x-static-large-object';
}

/** The headers of a GET/HEAD response for a resolved object (without length). */
export function objectHeaders(src: ObjectSource): Record<string, string> {
  const { info } = src;
  const out: Record<string, string> = {
    'content-type': splitSwiftBytes(info.contentType).contentType,
    etag: src.etag,
    'last-modified': httpDate(info.lastModified),
    'x-timestamp': info.timestamp,
    'accept-ranges': 'bytes',
    ...metaHeaders(info.meta, 'object'),
  };
  for (const [k, v] of Object.entries(info.headers)) if (v !== '' && !isInternalHeader(k)) out[k] = v;
  return { ...out, ...src.extraHeaders };
}

/**
 * Opens a body; for a large object, only once its first segment answered: a segment that is
 * gone or changed gives Swift's 409 Conflict before any byte is sent.
 */
async function openChecked(src: ObjectSource, range?: ByteRange): Promise<Readable> {
  const body = await src.open(range);
  if (src.kind === 'plain') return body;
  try {
    return await primeFirstSegment(body);
  } catch (err) {
    if (err instanceof NotFound || err instanceof SegmentMismatch) throw new SwiftError(409);
    throw err;
  }
}

export async function handleObjectRead(ctx: SwiftContext): Promise<SwiftResponse> {
  const isHead = ctx.method === 'HEAD';
  const asManifest = ctx.query.get('multipart-manifest') === 'get';
  const rangeHeader = header(ctx.headers, 'range');
  const src = await resolveObject(ctx.backend, ctx.account, ctx.container!, ctx.object!, {
    prefetch: !isHead && !rangeHeader && !asManifest,
    newest: isTrue(header(ctx.headers, 'x-newest')),
    asManifest,
  });
  try {
    if (asManifest && src.manifest) return manifestResponse(ctx, src, isHead);
    const headers = objectHeaders(src);
    const outcome = evaluateConditions(ctx.headers, src.etag, src.info.lastModified);
    if (outcome === 'precondition-failed') {
      // Swift answers a failed condition with the object's headers and no body.
      src.dispose();
      const { 'accept-ranges': _ignored, ...rest } = headers;
      return { status: 412, headers: { ...rest, 'content-type': 'text/html; charset=UTF-8', 'content-length': '0' } };
    }
    if (outcome === 'not-modified') {
      src.dispose();
      return { status: 304, headers: { ...headers, 'content-length': '0' } };
    }
    const specs = parseRangeHeader(rangeHeader);
    if (specs) {
      const ranges = rangesForLength(specs, src.size);
      if (ranges.length === 0) {
        src.dispose();
        const body = defaultBody(416);
        return {
          status: 416,
          headers: { ...headers, 'content-range': `bytes */${src.size}`, 'content-length': String(isHead ? 0 : body.length) },
          body: isHead ? undefined : body,
        };
      }
      if (ranges.length === 1) {
        const r = ranges[0]!;
        const length = r.end - r.start + 1;
        return {
          status: 206,
          headers: { ...headers, 'content-range': `bytes ${r.start}-${r.end}/${src.size}`, 'content-length': String(length) },
          body: isHead ? undefined : await openChecked(src, r),
        };
      }
      const boundary = newBoundary();
      const multi = multipartByteranges(ranges, src.size, headers['content-type']!, boundary, (r) => src.open(r));
      return {
        status: 206,
        headers: { ...headers, 'content-type': `multipart/byteranges;boundary=${boundary}`, 'content-length': String(multi.length) },
        body: isHead ? undefined : multi.body,
      };
    }
    return {
      status: 200,
      headers: { ...headers, 'content-length': String(src.size) },
      body: isHead ? undefined : await openChecked(src),
    };
  } catch (err) {
    src.dispose();
    throw err;
  }
}

/** `?multipart-manifest=get` on a static large object: the manifest itself. */
function manifestResponse(ctx: SwiftContext, src: ObjectSource, isHead: boolean): SwiftResponse {
  const raw = ctx.query.get('format') === 'raw';
  const body = raw ? Buffer.from(rawManifestJson(src.manifest!), 'utf8') : src.manifestBody ?? Buffer.from(storedManifestJson(src.manifest!));
  const headers = objectHeaders(src);
  // Swift keeps the object's type for the PUT format and says JSON for the stored one.
  if (!raw) headers['content-type'] = 'application/json; charset=utf-8';
  headers['content-length'] = String(body.length);
  if (raw) headers.etag = createHash('md5').update(body).digest('hex');
  return { status: 200, headers, body: isHead ? undefined : body };
}
