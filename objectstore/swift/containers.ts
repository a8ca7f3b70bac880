/**
 * Container requests: PUT (201 created / 202 existed), GET (object listing in json, xml or
 * plain with prefix, delimiter, marker, end_marker, limit, reverse), HEAD (counts and
 * metadata), POST (metadata, merged as Swift does), DELETE (409 while objects remain).
 */
import type { ContainerInfo, ObjectEntry, SubdirEntry } from '../proxy/backend.js';
import { splitSwiftBytes } from './content-type.js';
import type { SwiftContext, SwiftResponse } from './context.js';
import { defaultBody, SwiftError } from './errors.js';
import { sweepExpired } from './expiry.js';
import { xTimestamp } from './http-dates.js';
import { listingContentType, listingTypeHeaders, listOptions, renderContainerListing, type ObjectRow } from './listing-format.js';
import {
  CONTAINER_SETTABLE_HEADERS, header, mergeMeta, metaHeaders, pickHeaders, readMeta, replacementMeta,
} from './metadata.js';

const HTML_EMPTY = { 'content-type': 'text/html; charset=UTF-8', 'content-length': '0' };

function containerHeaders(info: ContainerInfo): Record<string, string> {
  const out: Record<string, string> = {
    'x-container-object-count': String(info.objectCount),
    'x-container-bytes-used': String(info.bytesUsed),
    'x-timestamp': xTimestamp(info.createdAt || Date.now()),
    'x-put-timestamp': xTimestamp(info.createdAt || Date.now()),
    'x-storage-policy': 'Policy-0',
    'accept-ranges': 'bytes',
    ...metaHeaders(info.meta, 'container'),
  };
  for (const [k, v] of Object.entries(info.headers)) if (v !== '') out[k] = v;
  return out;
}

/** A listing row as the client sees it: large objects show their own size (swift_bytes). */
function toRow(e: ObjectEntry): ObjectRow {
  const { contentType, swiftBytes, sloEtag } = splitSwiftBytes(e.contentType);
  const row: ObjectRow = { name: e.name, hash: e.etag, bytes: swiftBytes ?? e.bytes, contentType, lastModified: e.lastModified };
  if (sloEtag) row.sloEtag = `"${sloEtag}"`;
  return row;
}

async function sweep(ctx: SwiftContext): Promise<void> {
  try {
    await sweepExpired(ctx.backend, ctx.account);
  } catch (err) {
    ctx.log.warn({ err }, 'expiry sweep failed');
  }
}

export async function handleContainer(ctx: SwiftContext): Promise<SwiftResponse> {
  const container = ctx.container!;
  const { backend, account } = ctx;
  switch (ctx.method) {
    case 'PUT': {
      const changes = readMeta(ctx.headers, 'container');
      const settable = pickHeaders(ctx.headers, CONTAINER_SETTABLE_HEADERS);
      const { created } = await backend.putContainer(account, container, replacementMeta(changes), settable);
      const removes = changes.remove.length > 0 || Object.values(changes.set).some((v) => v === '');
      if (!created && removes) {
        const info = await backend.headContainer(account, container);
        await backend.postContainer(account, container, mergeMeta(info.meta, changes, 'container'), settable);
      }
      if (created) return { status: 201, headers: HTML_EMPTY };
      return { status: 202, headers: { 'content-type': 'text/html; charset=UTF-8' }, body: defaultBody(202) };
    }
    case 'HEAD': {
      const type = listingContentType(ctx.query.get('format'), header(ctx.headers, 'accept'));
      await sweep(ctx);
      const info = await backend.headContainer(account, container);
      return { status: 204, headers: { ...containerHeaders(info), ...listingTypeHeaders(ctx, type), 'content-length': '0' } };
    }
    case 'GET': {
      const type = listingContentType(ctx.query.get('format'), header(ctx.headers, 'accept'));
      const opts = listOptions(ctx.query);
      await sweep(ctx);
      const info = await backend.headContainer(account, container);
      const page = await backend.listObjects(account, container, opts);
      const rows: Array<ObjectRow | SubdirEntry> = page.entries.map((e) => ('subdir' in e ? e : toRow(e)));
      const body = renderContainerListing(type, container, rows);
      const headers = { ...containerHeaders(info), ...listingTypeHeaders(ctx, type) };
      if (!body) return { status: 204, headers: { ...headers, 'content-length': '0' } };
      return { status: 200, headers, body };
    }
    case 'POST': {
      const changes = readMeta(ctx.headers, 'container');
      const info = await backend.headContainer(account, container);
      await backend.postContainer(account, container, mergeMeta(info.meta, changes, 'container'),
        pickHeaders(ctx.headers, CONTAINER_SETTABLE_HEADERS));
      return { status: 204, headers: HTML_EMPTY };
    }
    case 'DELETE': {
      await sweep(ctx);
      await backend.deleteContainer(account, container);
      return { status: 204, headers: HTML_EMPTY };
    }
    default:
      throw new SwiftError(405);
  }
}
