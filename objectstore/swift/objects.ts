/**
 * Object requests: dispatches GET/HEAD (object-read.ts), PUT/COPY (object-write.ts), and
 * handles POST (replaces user metadata and the settable headers, keeps the bytes: 202) and
 * DELETE (204; `?multipart-manifest=delete` removes an SLO's segments and then its manifest,
 * answering with Swift's bulk-delete report).
 */
import { NotFound } from '../common/errors.js';
import { splitSwiftBytes } from './content-type.js';
import type { SwiftContext, SwiftResponse } from './context.js';
import { defaultBody, SwiftError } from './errors.js';
import { deleteAtFromHeaders, isExpired, reapIfExpired, scheduleExpiry } from './expiry.js';
import { header, OBJECT_SETTABLE_HEADERS, pickHeaders, readMeta, replacementMeta } from './metadata.js';
import { handleObjectRead } from './object-read.js';
import { handleObjectCopy, handleObjectPut } from './object-write.js';
import { resolveObject } from './object-source.js';
import { deleteResponseBody, sloDeleteTargets } from './slo.js';
import { parseDloManifest } from './dlo.js';

const HTML_EMPTY = { 'content-type': 'text/html; charset=UTF-8', 'content-length': '0' };

export async function handleObject(ctx: SwiftContext): Promise<SwiftResponse> {
  switch (ctx.method) {
    case 'GET':
    case 'HEAD':
      return handleObjectRead(ctx);
    case 'PUT':
      return handleObjectPut(ctx);
    case 'COPY':
      return handleObjectCopy(ctx);
    case 'POST':
      return postObject(ctx);
    case 'DELETE':
      return ctx.query.get('multipart-manifest') === 'delete' ? deleteSlo(ctx) : deleteObject(ctx);
    default:
      throw new SwiftError(405);
  }
}

/** Head that treats an expired object as absent (and removes it). */
async function headLive(ctx: SwiftContext) {
  const info = await ctx.backend.headObject(ctx.account, ctx.container!, ctx.object!);
  if (isExpired(info)) {
    await reapIfExpired(ctx.backend, ctx.account, ctx.container!, ctx.object!);
    throw new NotFound('expired', 'object');
  }
  return info;
}

/**
 * POST replaces the user metadata and the settable headers (a header not sent is removed, as
 * in Swift), except X-Object-Manifest, kept unless given so that `swift post -m` does not
 * turn a DLO into an empty object. Content-Type changes only when sent.
 */
async function postObject(ctx: SwiftContext): Promise<SwiftResponse> {
  const meta = replacementMeta(readMeta(ctx.headers, 'object'));
  const given = pickHeaders(ctx.headers, OBJECT_SETTABLE_HEADERS);
  if (given['x-object-manifest'] !== undefined) parseDloManifest(given['x-object-manifest']);
  const deleteAt = deleteAtFromHeaders(header(ctx.headers, 'x-delete-at'), header(ctx.headers, 'x-delete-after'));
  const current = await headLive(ctx);
  const headers: Record<string, string> = {};
  for (const name of OBJECT_SETTABLE_HEADERS) {
    if (name === 'x-object-manifest') continue;
    headers[name] = given[name] ?? '';
  }
  if (given['x-object-manifest'] !== undefined) headers['x-object-manifest'] = given['x-object-manifest'];
  headers['x-delete-at'] = deleteAt === undefined ? '' : String(deleteAt);
  const ct = header(ctx.headers, 'content-type');
  if (ct) {
    // A manifest keeps its listing parameters under the new type.
    const stored = splitSwiftBytes(current.contentType);
    headers['content-type'] = stored.swiftBytes === undefined ? ct : `${ct}${current.contentType.slice(stored.contentType.length)}`;
  }
  await ctx.backend.postObject(ctx.account, ctx.container!, ctx.object!, meta, headers);
  if (deleteAt !== undefined) await scheduleExpiry(ctx.backend, ctx.account, ctx.container!, ctx.object!, deleteAt);
  return { status: 202, headers: { 'content-type': 'text/html; charset=UTF-8' }, body: defaultBody(202) };
}

async function deleteObject(ctx: SwiftContext): Promise<SwiftResponse> {
  await headLive(ctx);
  await ctx.backend.deleteObject(ctx.account, ctx.container!, ctx.object!);
  return { status: 204, headers: HTML_EMPTY };
}

/** `DELETE ?multipart-manifest=delete`: the segments, then the manifest (bulk-delete report). */
async function deleteSlo(ctx: SwiftContext): Promise<SwiftResponse> {
  const json = (header(ctx.headers, 'accept') ?? '').includes('application/json');
  const src = await resolveObject(ctx.backend, ctx.account, ctx.container!, ctx.object!, { prefetch: false, asManifest: true });
  const targets = await sloDeleteTargets(ctx.backend, ctx.account, src.manifest ?? []);
  targets.push({ container: ctx.container!, object: ctx.object! });
  let deleted = 0;
  let notFound = 0;
  const errors: Array<[string, string]> = [];
  for (const t of targets) {
    try {
      await ctx.backend.deleteObject(ctx.account, t.container, t.object);
      deleted++;
    } catch (err) {
      if (err instanceof NotFound) notFound++;
      else errors.push([`/${encodeURIComponent(t.container)}/${encodeURI(t.object)}`, err instanceof Error ? err.message : String(err)]);
    }
  }
  return {
    status: 200,
    headers: { 'content-type': json ? 'application/json' : 'text/plain' },
    body: deleteResponseBody(json, deleted, notFound, errors),
  };
}
