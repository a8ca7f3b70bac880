/**
 * Dynamic Large Objects (Swift's dlo middleware): an object written with
 * `X-Object-Manifest: <container>/<prefix>` is served as the concatenation, in listing order,
 * of every object in <container> whose name starts with <prefix>, as listed at read time.
 * ETag: the quoted md5 of the segments' etags concatenated; Content-Length: their sum.
 */
import { createHash } from 'node:crypto';
import type { ObjectBackend, ObjectInfo } from '../proxy/backend.js';
import { NotFound } from '../common/errors.js';
import { SwiftError } from './errors.js';
import type { Segment } from './segments.js';

export const DLO_HEADER = 'x-object-manifest';
/** Listing page used to gather segments. */
const PAGE = 10000;
/** Refuse to assemble more segments than this (Swift caps DLO GETs by time instead). */
export const MAX_DLO_SEGMENTS = 100000;

export function dloManifestOf(info: ObjectInfo): string | undefined {
  return info.headers[DLO_HEADER] || undefined;
}

/** Parses `<container>/<prefix>` (URL-encoded as Swift allows); 400 when malformed. */
export function parseDloManifest(value: string): { container: string; prefix: string } {
  let text: string;
  try {
    text = decodeURIComponent(value);
  } catch {
    text = value;
  }
  text = text.replace(/^\/+/, '');
  const slash = text.indexOf('/');
  if (slash <= 0) throw new SwiftError(400, 'X-Object-Manifest must be in the format container/prefix');
  return { container: text.slice(0, slash), prefix: text.slice(slash + 1) };
}

export interface DloView {
  segments: Segment[];
  etag: string;
  size: number;
}

/** Lists the DLO's segments now; an absent segment container gives an empty object. */
export async function resolveDlo(backend: ObjectBackend, account: string, manifest: string): Promise<DloView> {
  const { container, prefix } = parseDloManifest(manifest);
  const segments: Segment[] = [];
  const h = createHash('md5');
  let size = 0;
  let marker: string | undefined;
  for (;;) {
    let page;
    try {
      page = await backend.listObjects(account, container, { prefix, marker, limit: PAGE });
    } catch (err) {
      if (err instanceof NotFound) break;
      throw err;
    }
    for (const e of page.entries) {
      if (!('name' in e)) continue;
      marker = e.name;
      h.update(e.etag, 'ascii');
      size += e.bytes;
      segments.push({ container, object: e.name, objectBytes: e.bytes, first: 0, last: e.bytes - 1 });
      if (segments.length > MAX_DLO_SEGMENTS) throw new SwiftError(409, `Too many segments in ${container}/${prefix}`);
    }
    if (!page.truncated || page.entries.length === 0) break;
  }
  return { segments, etag: h.digest('hex'), size };
}
