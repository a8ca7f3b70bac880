/**
 * Object writes: PUT (Content-Length or chunked, 411 otherwise; ETag verified, 422 on
 * mismatch; If-None-Match: *), PUT with X-Copy-From and the COPY verb (server-side copy, large
 * objects copied as their content), and `?multipart-manifest=put` (static large objects).
 * X-Delete-At / X-Delete-After schedule expiry (expiry.ts); X-Object-Manifest makes a DLO.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { ObjectInfo } from '../proxy/backend.js';
import { guessContentType, splitSwiftBytes, withSwiftBytes } from './content-type.js';
import { isTrue, type SwiftContext, type SwiftResponse } from './context.js';
import { PLAIN_TEXT, SwiftError } from './errors.js';
import { deleteAtFromHeaders, scheduleExpiry } from './expiry.js';
import { httpDate } from './http-dates.js';
import { parseDloManifest } from './dlo.js';
import { header, metaHeaders, OBJECT_SETTABLE_HEADERS, pickHeaders, readMeta, replacementMeta } from './metadata.js';
import { resolveObject } from './object-source.js';
import { splitContainerObject } from './paths.js';
import {
  isSlo, MAX_MANIFEST_SIZE, parseManifestInput, SLO_ETAG_HEADER, SLO_HEADER, SLO_SIZE_HEADER, validateSegments,
  writeManifest,
} from './slo.js';

/** Swift's constraints.MAX_FILE_SIZE: the largest single object (5 GiB + 2). */
export const MAX_FILE_SIZE = 5 * 1024 * 1024 * 1024 + 2;

/** Content-Length of the request, undefined for chunked; 411 / 400 / 413 as Swift answers. */
export function requestLength(headers: IncomingHttpHeaders, max: number): number | undefined {
  const te = header(headers, 'transfer-encoding');
  const cl = header(headers, 'content-length');
  if (te !== undefined && te.toLowerCase().split(',').map((s) => s.trim()).includes('chunked')) return undefined;
  if (cl === undefined) throw new SwiftError(411);
  if (!/^\d+$/.test(cl.trim())) throw new SwiftError(400, 'Invalid Content-Length');
  const n = Number(cl);
  if (n > max) throw new SwiftError(413, 'Your request is too large.');
  return n;
}

interface WriteSettings {
  contentType?: string;
  meta: Record<string, string>;
  headers: Record<string, string>;
  deleteAt?: number;
}

/** Metadata, settable headers, content type and expiry from a write request. */
function writeSettings(ctx: SwiftContext): WriteSettings {
  const meta = replacementMeta(readMeta(ctx.headers, 'object'));
  const headers = pickHeaders(ctx.headers, OBJECT_SETTABLE_HEADERS);
  if (headers['x-object-manifest'] !== undefined) parseDloManifest(headers['x-object-manifest']);
  const deleteAt = deleteAtFromHeaders(header(ctx.headers, 'x-delete-at'), header(ctx.headers, 'x-delete-after'));
  if (deleteAt !== undefined) headers['x-delete-at'] = String(deleteAt);
  const ct = header(ctx.headers, 'content-type');
  return { contentType: ct && !isTrue(header(ctx.headers, 'x-detect-content-type')) ? ct : undefined, meta, headers, deleteAt };
}

function createdResponse(info: ObjectInfo, etag: string, extra: Record<string, string> = {}): SwiftResponse {
  return {
    status: 201,
    headers: {
      etag, 'last-modified': httpDate(info.lastModified), 'content-type': 'text/html; charset=UTF-8', 'content-length': '0', ...extra,
    },
  };
}

async function afterWrite(ctx: SwiftContext, container: string, object: string, settings: WriteSettings): Promise<void> {
  if (settings.deleteAt !== undefined) await scheduleExpiry(ctx.backend, ctx.account, container, object, settings.deleteAt);
}

function ifNoneMatchStar(ctx: SwiftContext): boolean {
  const v = header(ctx.headers, 'if-none-match');
  if (v === undefined) return false;
  if (v.trim() !== '*') throw new SwiftError(400, 'If-None-Match only supports *', PLAIN_TEXT);
  return true;
}

export async function handleObjectPut(ctx: SwiftContext): Promise<SwiftResponse> {
  const copyFrom = header(ctx.headers, 'x-copy-from');
  if (ctx.query.get('multipart-manifest') === 'put') {
    if (copyFrom) throw new SwiftError(405, 'Multipart Manifest PUTs cannot be COPY requests');
    return putSloManifest(ctx);
  }
  if (copyFrom !== undefined) {
    const source = splitContainerObject(copyFrom, 'X-Copy-From');
    return copyObject(ctx, source, ctx.container!, ctx.object!);
  }
  const contentLength = requestLength(ctx.headers, MAX_FILE_SIZE);
  const settings = writeSettings(ctx);
  const etagHeader = header(ctx.headers, 'etag');
  const info = await ctx.backend.putObject(ctx.account, ctx.container!, ctx.object!, {
    body: ctx.body, contentLength,
    contentType: settings.contentType ?? guessContentType(ctx.object!),
    meta: settings.meta, headers: settings.headers,
    expectedMd5: etagHeader ? etagHeader.trim().replace(/^"(.*)"$/, '$1').toLowerCase() : undefined,
    ifNoneMatchStar: ifNoneMatchStar(ctx),
  });
  await afterWrite(ctx, ctx.container!, ctx.object!, settings);
  return createdResponse(info, info.etag);
}

/** COPY verb: Destination `<container>/<object>` in the same account. */
export async function handleObjectCopy(ctx: SwiftContext): Promise<SwiftResponse> {
  const destination = header(ctx.headers, 'destination');
  if (!destination) throw new SwiftError(412, 'Destination header required');
  const destAccount = header(ctx.headers, 'destination-account');
  if (destAccount && destAccount !== ctx.pathAccount) throw new SwiftError(403);
  const dest = splitContainerObject(destination, 'Destination');
  return copyObject(ctx, { container: ctx.container!, object: ctx.object! }, dest.container, dest.object);
}

/**
 * Server-side copy. The destination gets the source's content (for a large object, the
 * concatenated segments, unless `multipart-manifest=get` asks to copy the manifest), its user
 * metadata and settable headers (unless X-Fresh-Metadata), overlaid with the request's.
 */
async function copyObject(ctx: SwiftContext, source: { container: string; object: string },
  container: string, object: string): Promise<SwiftResponse> {
  const asManifest = ctx.query.get('multipart-manifest') === 'get';
  const src = await resolveObject(ctx.backend, ctx.account, source.container, source.object, { prefetch: true, asManifest });
  let body: Readable | undefined;
  try {
    const settings = writeSettings(ctx);
    const fresh = isTrue(header(ctx.headers, 'x-fresh-metadata'));
    const headers: Record<string, string> = {};
    if (!fresh) {
      for (const name of OBJECT_SETTABLE_HEADERS) {
        const v = src.info.headers[name];
        if (v && name !== 'x-object-manifest') headers[name] = v;
      }
    }
    const keepManifest = asManifest && isSlo(src.info);
    if (keepManifest) {
      for (const name of [SLO_HEADER, SLO_ETAG_HEADER, SLO_SIZE_HEADER]) {
        if (src.info.headers[name]) headers[name] = src.info.headers[name]!;
      }
    }
    Object.assign(headers, settings.headers);
    const meta = fresh ? settings.meta : { ...src.info.meta, ...settings.meta };
    // A copied manifest keeps its listing parameters; copied content does not.
    const contentType = settings.contentType ?? (keepManifest ? src.info.contentType : splitSwiftBytes(src.info.contentType).contentType);
    body = await src.open();
    const info = await ctx.backend.putObject(ctx.account, container, object, {
      body, contentLength: src.size, contentType, meta, headers,
      expectedMd5: src.kind === 'plain' ? src.info.etag : undefined,
    });
    await afterWrite(ctx, container, object, settings);
    return createdResponse(info, info.etag, {
      ...metaHeaders(info.meta, 'object'),
      'x-copied-from': `${encodeURIComponent(source.container)}/${encodeURI(source.object)}`,
      'x-copied-from-last-modified': httpDate(src.info.lastModified),
      'x-copied-from-account': ctx.pathAccount,
    });
  } catch (err) {
    src.dispose();
    body?.destroy();
    throw err;
  }
}

async function readLimited(body: Readable, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body) {
    size += (c as Buffer).length;
    if (size > max) throw new SwiftError(413, `Manifest File > ${max} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** `PUT ?multipart-manifest=put`: validates the segments and stores the SLO manifest. */
async function putSloManifest(ctx: SwiftContext): Promise<SwiftResponse> {
  const length = requestLength(ctx.headers, MAX_FILE_SIZE);
  if (length !== undefined && length > MAX_MANIFEST_SIZE) throw new SwiftError(413, `Manifest File > ${MAX_MANIFEST_SIZE} bytes`);
  const settings = writeSettings(ctx);
  const input = parseManifestInput(await readLimited(ctx.body, MAX_MANIFEST_SIZE), ctx.container!, ctx.object!);
  const manifest = await validateSegments(ctx.backend, ctx.account, input);
  const clientEtag = header(ctx.headers, 'etag')?.trim().replace(/^"(.*)"$/, '$1');
  if (clientEtag && clientEtag !== manifest.sloEtag) throw new SwiftError(422);
  delete settings.headers['x-object-manifest'];
  const contentType = withSwiftBytes(settings.contentType ?? guessContentType(ctx.object!), manifest.totalSize, manifest.sloEtag);
  const info = await writeManifest(ctx.backend, ctx.account, ctx.container!, ctx.object!, manifest, contentType,
    settings.meta, settings.headers);
  await afterWrite(ctx, ctx.container!, ctx.object!, settings);
  return createdResponse(info, `"${manifest.sloEtag}"`);
}
