/**
 * Segmented (large) objects, Swift SLO-compatible, shared by the S3 front end (multipart
 * uploads) and the Swift front end (SLO): a manifest object whose body is the JSON list of its
 * segments `[{name: "/<container>/<object>", hash, bytes}]`, marked by the header
 * `x-static-large-object: True`, with the whole object's size and etag kept in sysmeta headers.
 * Reading a manifest streams its segments one after the other (ranges may cross segment
 * boundaries), never holding more than one segment chunk.
 *
 * Container listings only know the manifest's own body, so (as Swift does) the manifest's
 * stored content type carries `;swift_bytes=<total>;slo_etag=<etag>` (and `;s3_etag=<md5-N>` for
 * S3 multipart); `listingEntry` turns a listing row back into what clients should see and
 * `cleanContentType` strips those parameters from GET/HEAD answers.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ObjectBackend, ObjectEntry, ObjectInfo } from './backend.js';
import { BadRequest, ServiceUnavailable } from '../common/errors.js';
import { resolveRange } from './memory-backend.js';

export const SLO_HEADER = 'x-static-large-object';
export const SLO_ETAG_HEADER = 'x-object-sysmeta-slo-etag';
export const SLO_SIZE_HEADER = 'x-object-sysmeta-slo-size';
/** The S3 multipart etag (`md5-N`) of a manifest written by the S3 front end. */
export const S3_ETAG_HEADER = 'x-object-sysmeta-s3-etag';
/** Most segments in one manifest (S3's 10,000 parts; Swift's default is 1,000). */
export const MAX_SEGMENTS = 10000;
/** Largest manifest body read back (10,000 segments with long names fit). */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
const LISTING_PARAMS = ['swift_bytes', 'slo_etag', 's3_etag'];

export interface Segment {
  /** `/<container>/<object>` in the same account. */
  name: string;
  /** MD5 hex of the segment's bytes (its ETag). */
  hash: string;
  bytes: number;
}

export interface WriteManifestOptions {
  contentType?: string;
  meta?: Record<string, string>;
  headers?: Record<string, string>;
  /** S3's multipart etag to present instead of the SLO etag. */
  s3Etag?: string;
  ifNoneMatchStar?: boolean;
  ifMatch?: string;
}

export function isManifest(info: Pick<ObjectInfo, 'headers'>): boolean {
  return (info.headers[SLO_HEADER] ?? '').toLowerCase() === 'true';
}

/** Size of the whole object a manifest describes. */
export function manifestSize(info: ObjectInfo): number {
  return Number(info.headers[SLO_SIZE_HEADER] ?? 0);
}

/** SLO etag: MD5 of the concatenated segment etags (hex). */
export function sloEtag(segments: Segment[]): string {
  return createHash('md5').update(segments.map((s) => s.hash).join('')).digest('hex');
}

/** Removes the listing parameters a manifest's content type carries. */
export function cleanContentType(contentType: string): string {
  return contentType.split(';').filter((p, i) => i === 0 || !LISTING_PARAMS.includes(p.trim().split('=')[0]!)).join(';');
}

/** What a listing row means for clients: the whole object's size and etag for manifests. */
export function listingEntry(entry: ObjectEntry): ObjectEntry & { s3Etag?: string } {
  if (!entry.contentType.includes('swift_bytes=')) return entry;
  const params = new Map(entry.contentType.split(';').slice(1).map((p) => {
    const [k, v] = p.trim().split('=');
    return [k!, v ?? ''] as [string, string];
  }));
  return {
    ...entry, bytes: Number(params.get('swift_bytes') ?? entry.bytes), etag: params.get('slo_etag') ?? entry.etag,
    contentType: cleanContentType(entry.contentType), s3Etag: params.get('s3_etag'),
  };
}

/** Splits `/<container>/<object>`. */
export function parseSegmentName(name: string): { container: string; object: string } {
  const m = /^\/([^/]+)\/(.+)$/s.exec(name);
  if (!m) throw new BadRequest(`bad segment name "${name}"`);
  return { container: m[1]!, object: m[2]! };
}

/** Writes a manifest object over existing segments. */
export async function writeManifest(backend: ObjectBackend, account: string, container: string, object: string,
  segments: Segment[], opts: WriteManifestOptions = {}): Promise<ObjectInfo> {
  if (segments.length === 0 || segments.length > MAX_SEGMENTS) throw new BadRequest(`a manifest needs 1 to ${MAX_SEGMENTS} segments`);
  for (const s of segments) parseSegmentName(s.name);
  const size = segments.reduce((n, s) => n + s.bytes, 0);
  const etag = sloEtag(segments);
  const body = Buffer.from(JSON.stringify(segments.map((s) => ({ name: s.name, hash: s.hash, bytes: s.bytes }))));
  const ct = cleanContentType(opts.contentType ?? 'application/octet-stream');
  const headers: Record<string, string> = {
    ...(opts.headers ?? {}), [SLO_HEADER]: 'True', [SLO_ETAG_HEADER]: etag, [SLO_SIZE_HEADER]: String(size),
  };
  if (opts.s3Etag) headers[S3_ETAG_HEADER] = opts.s3Etag;
  const listing = `;swift_bytes=${size};slo_etag=${etag}${opts.s3Etag ? `;s3_etag=${opts.s3Etag}` : ''}`;
  return backend.putObject(account, container, object, {
    body: Readable.from([body]), contentLength: body.length, contentType: ct + listing, meta: opts.meta, headers,
    ifNoneMatchStar: opts.ifNoneMatchStar, ifMatch: opts.ifMatch,
  });
}

/** Reads a manifest's segment list. */
export async function readManifest(backend: ObjectBackend, account: string, container: string, object: string): Promise<{ info: ObjectInfo; segments: Segment[] }> {
  const { info, body } = await backend.getObject(account, container, object);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body) {
    size += (c as Buffer).length;
    if (size > MAX_MANIFEST_BYTES) throw new BadRequest('manifest too large');
    chunks.push(c as Buffer);
  }
  if (!isManifest(info)) throw new BadRequest(`${container}/${object} is not a manifest`);
  const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Array<Record<string, unknown>>;
  const segments = parsed.map((s) => ({ name: String(s.name), hash: String(s.hash), bytes: Number(s.bytes) }));
  return { info, segments };
}

/**
 * Streams the bytes of `segments` (optionally only `range` of the whole, inclusive), fetching
 * one segment at a time. A segment whose etag changed since the manifest was written fails the
 * stream (the object is damaged or being rewritten).
 */
export function openSegments(backend: ObjectBackend, account: string, segments: Segment[], range?: { start: number; end: number }): Readable {
  async function* bytes(): AsyncGenerator<Buffer> {
    let offset = 0;
    for (const seg of segments) {
      const segStart = offset;
      const segEnd = offset + seg.bytes - 1;
      offset += seg.bytes;
      if (seg.bytes === 0) continue;
      if (range && (segEnd < range.start || segStart > range.end)) continue;
      const from = range ? Math.max(range.start, segStart) - segStart : 0;
      const to = range ? Math.min(range.end, segEnd) - segStart : seg.bytes - 1;
      const { container, object } = parseSegmentName(seg.name);
      const whole = from === 0 && to === seg.bytes - 1;
      const got = await backend.getObject(account, container, object, whole ? {} : { range: { start: from, end: to } });
      if (got.info.etag !== seg.hash) {
        got.body.destroy();
        throw new ServiceUnavailable(`segment ${seg.name} changed since the manifest was written`);
      }
      for await (const c of got.body) yield c as Buffer;
    }
  }
  return Readable.from(bytes(), { objectMode: false });
}

/** Resolves a range against a manifest's total size (same rules as a plain object). */
export function resolveManifestRange(range: { start?: number; end?: number; suffix?: number }, size: number): { start: number; end: number } {
  return resolveRange(range, size);
}

/** Deletes segments, ignoring ones already gone. */
export async function deleteSegments(backend: ObjectBackend, account: string, segments: Segment[]): Promise<void> {
  for (const seg of segments) {
    const { container, object } = parseSegmentName(seg.name);
    await backend.deleteObject(account, container, object).catch(() => undefined);
  }
}
