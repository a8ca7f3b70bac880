/**
 * Static Large Objects, with Swift's manifest formats and rules (slo middleware), written
 * against the ObjectBackend only (no dependency on the S3 front end).
 *
 * Stored form: the manifest object's body is Swift's stored manifest, a JSON list of
 * `{name: "/container/object", bytes, hash, content_type, last_modified[, range]}`; its
 * headers carry `x-static-large-object: True`, `x-object-sysmeta-slo-etag` (md5 of the
 * segments' etags, `etag:range;` for ranged segments) and `x-object-sysmeta-slo-size`.
 *
 * - `?multipart-manifest=put`: the client's list of `{path, etag?, size_bytes?, range?}` is
 *   validated (at most MAX_MANIFEST_SEGMENTS, every segment exists, etag and size match when
 *   given, ranges satisfiable, no empty segment except the last), then stored.
 * - GET/HEAD: the concatenation of the segments (see object-source.ts).
 * - `?multipart-manifest=get`: the stored manifest (`&format=raw`: the PUT format).
 * - `?multipart-manifest=delete`: deletes the segments, then the manifest.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ObjectBackend, ObjectInfo } from '../proxy/backend.js';
import { NotFound } from '../common/errors.js';
import { PLAIN_TEXT, SwiftError } from './errors.js';
import { listingDate } from './http-dates.js';
import { parseRangeHeader, rangesForLength } from './ranges.js';
import type { Segment } from './segments.js';

/** slo.DEFAULT_MAX_MANIFEST_SEGMENTS. */
export const MAX_MANIFEST_SEGMENTS = 1000;
/** slo.DEFAULT_MAX_MANIFEST_SIZE (bytes of manifest JSON). */
export const MAX_MANIFEST_SIZE = 8 * 1024 * 1024;
/** Segments HEADed at once while validating a manifest. */
const HEAD_CONCURRENCY = 8;

export const SLO_HEADER = 'x-static-large-object';
export const SLO_ETAG_HEADER = 'x-object-sysmeta-slo-etag';
export const SLO_SIZE_HEADER = 'x-object-sysmeta-slo-size';

/** One entry of the stored manifest (Swift's names). */
export interface StoredSegment {
  name: string;
  bytes: number;
  hash: string;
  content_type: string;
  last_modified: string;
  range?: string;
  /** The segment is itself a static large object (bytes and hash are its total size and SLO etag). */
  sub_slo?: boolean;
}

/** Deepest nesting of manifests served (Swift's max_slo_recursion_depth). */
export const MAX_SLO_RECURSION_DEPTH = 10;

interface InputSegment {
  path: string;
  etag?: string | null;
  size_bytes?: number | null;
  range?: string;
}

export function isSlo(info: ObjectInfo): boolean {
  const v = info.headers[SLO_HEADER];
  return v !== undefined && ['true', '1', 'yes', 'on', 't', 'y'].includes(v.toLowerCase());
}

function badManifest(errors: string[]): SwiftError {
  return new SwiftError(400, errors.map((e) => `${e}\n`).join(''), PLAIN_TEXT);
}

/** Parses and checks the client's manifest (slo.parse_and_validate_input). */
export function parseManifestInput(body: Buffer, selfContainer: string, selfObject: string): InputSegment[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new SwiftError(400, 'Manifest must be valid JSON.\n');
  }
  if (!Array.isArray(parsed)) throw new SwiftError(400, 'Manifest must be a list.\n');
  if (parsed.length > MAX_MANIFEST_SEGMENTS) {
    throw new SwiftError(413, `Number of object-backed segments must be <= ${MAX_MANIFEST_SEGMENTS}`);
  }
  const errors: string[] = [];
  const out: InputSegment[] = [];
  parsed.forEach((raw: unknown, i: number) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      errors.push(`Index ${i}: not a JSON object`);
      return;
    }
    const seg = raw as Record<string, unknown>;
    if (!('path' in seg)) {
      errors.push(`Index ${i}: expected keys to include one of 'path'`);
      return;
    }
    const extra = Object.keys(seg).filter((k) => !['path', 'etag', 'size_bytes', 'range'].includes(k)).sort();
    if (extra.length) {
      errors.push(`Index ${i}: extraneous keys ${extra.map((k) => JSON.stringify(k)).join(', ')}`);
      return;
    }
    if (typeof seg.path !== 'string') {
      errors.push(`Index ${i}: "path" must be a string`);
      return;
    }
    if (!(seg.etag === undefined || seg.etag === null || typeof seg.etag === 'string')) {
      errors.push(`Index ${i}: "etag" must be a string or null (if provided)`);
      return;
    }
    const trimmed = seg.path.replace(/^\/+|\/+$/g, '');
    if (!trimmed.includes('/')) {
      errors.push(`Index ${i}: path does not refer to an object. Path must be of the form /container/object.`);
      return;
    }
    let size: number | undefined;
    if (seg.size_bytes !== undefined && seg.size_bytes !== null) {
      size = Number(seg.size_bytes);
      if (!Number.isInteger(size)) {
        errors.push(`Index ${i}: invalid size_bytes`);
        return;
      }
      if (size < 1 && i !== parsed.length - 1) {
        errors.push(`Index ${i}: too small; each segment must be at least 1 byte.`);
        return;
      }
    }
    if (seg.path.replace(/^\/+/, '') === `${selfContainer}/${selfObject}`) {
      errors.push(`Index ${i}: manifest must not include itself as a segment`);
      return;
    }
    const item: InputSegment = { path: seg.path, etag: seg.etag as string | null | undefined, size_bytes: size };
    if (seg.range !== undefined && seg.range !== null && seg.range !== '') {
      const specs = typeof seg.range === 'string' ? parseRangeHeader(`bytes=${seg.range}`) : undefined;
      if (!specs) {
        errors.push(`Index ${i}: invalid range`);
        return;
      }
      if (specs.length > 1) {
        errors.push(`Index ${i}: multiple ranges (only one allowed)`);
        return;
      }
      if (size !== undefined && rangesForLength(specs, size).length !== 1) {
        errors.push(`Index ${i}: unsatisfiable range`);
        return;
      }
      item.range = seg.range as string;
    }
    out.push(item);
  });
  if (errors.length) throw badManifest(errors);
  return out;
}

/** Splits a segment path `/container/object` (not URL-encoded inside the JSON). */
export function segmentPath(path: string): { container: string; object: string } {
  const p = path.replace(/^\/+/, '');
  const slash = p.indexOf('/');
  return { container: p.slice(0, slash), object: p.slice(slash + 1) };
}

export interface ValidatedManifest {
  stored: StoredSegment[];
  sloEtag: string;
  totalSize: number;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * HEADs every segment and builds the stored manifest; 400 with Swift's list of problem
 * segments (`Errors:` body) when any is missing or differs.
 */
export async function validateSegments(backend: ObjectBackend, account: string, input: InputSegment[]): Promise<ValidatedManifest> {
  const problems: Array<[string, string]> = [];
  const heads = await mapLimit(input, HEAD_CONCURRENCY, async (seg) => {
    const { container, object } = segmentPath(seg.path);
    try {
      return await backend.headObject(account, container, object);
    } catch (err) {
      if (err instanceof NotFound) return undefined;
      throw err;
    }
  });
  const stored: StoredSegment[] = [];
  let totalSize = 0;
  input.forEach((seg, i) => {
    const head = heads[i];
    const quotedPath = encodeURI(seg.path);
    if (!head) {
      problems.push([quotedPath, '404 Not Found']);
      return;
    }
    // A nested manifest counts as its whole object: its total size and its SLO etag.
    const sub = isSlo(head);
    const objectBytes = sub ? Number(head.headers[SLO_SIZE_HEADER] ?? NaN) : head.contentLength;
    const objectEtag = sub ? head.headers[SLO_ETAG_HEADER] ?? '' : head.etag;
    if (sub && (!Number.isFinite(objectBytes) || !objectEtag)) {
      problems.push([quotedPath, 'Nested manifest without size or etag']);
      return;
    }
    let length = objectBytes;
    let range: string | undefined;
    if (seg.range) {
      const ranges = rangesForLength(parseRangeHeader(`bytes=${seg.range}`)!, objectBytes);
      if (ranges.length === 0) {
        problems.push([quotedPath, 'Unsatisfiable Range']);
      } else if (!(ranges[0]!.start === 0 && ranges[0]!.end === objectBytes - 1)) {
        range = `${ranges[0]!.start}-${ranges[0]!.end}`;
        length = ranges[0]!.end - ranges[0]!.start + 1;
      }
    }
    if (length < 1 && i !== input.length - 1) problems.push([quotedPath, 'Too small; each segment must be at least 1 byte.']);
    if (seg.size_bytes !== undefined && seg.size_bytes !== null && seg.size_bytes !== objectBytes) {
      problems.push([quotedPath, 'Size Mismatch']);
    }
    if (seg.etag !== undefined && seg.etag !== null && seg.etag.replace(/"/g, '') !== objectEtag) {
      problems.push([quotedPath, 'Etag Mismatch']);
    }
    totalSize += length;
    const entry: StoredSegment = {
      name: `/${seg.path.replace(/^\/+/, '')}`, bytes: objectBytes, hash: objectEtag,
      content_type: head.contentType.replace(/;\s*(swift_bytes|slo_etag|s3_etag)=[^;]*/g, ''),
      last_modified: listingDate(head.lastModified),
    };
    if (range) entry.range = range;
    if (sub) entry.sub_slo = true;
    stored.push(entry);
  });
  if (problems.length) {
    throw new SwiftError(400, `Errors:\n${problems.map(([p, s]) => `${p}, ${s}\n`).join('')}`, PLAIN_TEXT);
  }
  return { stored, sloEtag: sloEtagOf(stored), totalSize };
}

/** Swift's SLO ETag: md5 over each segment's etag (`etag:range;` for ranged segments). */
export function sloEtagOf(stored: StoredSegment[]): string {
  const h = createHash('md5');
  for (const s of stored) h.update(s.range ? `${s.hash}:${s.range};` : s.hash, 'ascii');
  return h.digest('hex');
}

/** The stored manifest as Python's json.dumps writes it (what Swift keeps and returns). */
function pyString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function storedManifestJson(stored: StoredSegment[]): string {
  const str = pyString;
  return `[${stored.map((s) => {
    const parts = [`"name": ${str(s.name)}`, `"bytes": ${s.bytes}`, `"hash": ${str(s.hash)}`,
      `"content_type": ${str(s.content_type)}`, `"last_modified": ${str(s.last_modified)}`];
    if (s.range) parts.push(`"range": ${str(s.range)}`);
    if (s.sub_slo) parts.push('"sub_slo": true');
    return `{${parts.join(', ')}}`;
  }).join(', ')}]`;
}

/** Writes a validated manifest as the object; returns the stored manifest object's info. */
export async function writeManifest(backend: ObjectBackend, account: string, container: string, object: string,
  manifest: ValidatedManifest, contentType: string, meta: Record<string, string>, headers: Record<string, string>): Promise<ObjectInfo> {
  const body = Buffer.from(storedManifestJson(manifest.stored), 'utf8');
  return backend.putObject(account, container, object, {
    body: Readable.from([body]), contentLength: body.length, contentType, meta,
    headers: {
      ...headers, [SLO_HEADER]: 'True', [SLO_ETAG_HEADER]: manifest.sloEtag, [SLO_SIZE_HEADER]: String(manifest.totalSize),
    },
  });
}

/** Parses a stored manifest body; 500-class failure if it is not one. */
export function parseStoredManifest(body: Buffer): StoredSegment[] {
  const parsed = JSON.parse(body.toString('utf8')) as StoredSegment[];
  if (!Array.isArray(parsed)) throw new Error('stored SLO manifest is not a list');
  return parsed;
}

/** The stored manifest as segments to stream. */
export function sloSegments(stored: StoredSegment[]): Segment[] {
  return stored.map((s) => {
    const { container, object } = segmentPath(s.name);
    let first = 0;
    let last = s.bytes - 1;
    if (s.range) {
      const r = rangesForLength(parseRangeHeader(`bytes=${s.range}`) ?? [], s.bytes)[0];
      if (r) {
        first = r.start;
        last = r.end;
      }
    }
    return { container, object, objectBytes: s.bytes, first, last };
  });
}

/** Keeps bytes `first..last` (inclusive) of the concatenation of `segments`. */
export function sliceSegments(segments: Segment[], first: number, last: number): Segment[] {
  const out: Segment[] = [];
  let offset = 0;
  for (const s of segments) {
    const len = s.last - s.first + 1;
    const start = offset;
    const end = offset + len - 1;
    offset += len;
    if (len <= 0 || end < first || start > last) continue;
    out.push({ ...s, first: s.first + Math.max(0, first - start), last: s.first + Math.min(len - 1, last - start) });
  }
  return out;
}

/**
 * The segments to stream for a stored manifest, with nested manifests (`sub_slo`) expanded
 * by reading them, at most MAX_SLO_RECURSION_DEPTH deep.
 */
export async function expandSloSegments(backend: ObjectBackend, account: string, stored: StoredSegment[], depth = 0): Promise<Segment[]> {
  if (!stored.some((s) => s.sub_slo)) return sloSegments(stored);
  if (depth >= MAX_SLO_RECURSION_DEPTH) throw new SwiftError(409, `Max recursion depth exceeded on ${stored[0]?.name}`);
  const out: Segment[] = [];
  for (const s of stored) {
    const [flat] = sloSegments([s]);
    if (!s.sub_slo) {
      out.push(flat!);
      continue;
    }
    const { container, object } = segmentPath(s.name);
    const { body } = await backend.getObject(account, container, object);
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    const inner = await expandSloSegments(backend, account, parseStoredManifest(Buffer.concat(chunks)), depth + 1);
    out.push(...sliceSegments(inner, flat!.first, flat!.last));
  }
  return out;
}

/**
 * What `multipart-manifest=delete` removes, segments first: every segment, and for a nested
 * manifest its own segments before it (as Swift does).
 */
export async function sloDeleteTargets(backend: ObjectBackend, account: string, stored: StoredSegment[], depth = 0): Promise<Array<{ container: string; object: string }>> {
  const out: Array<{ container: string; object: string }> = [];
  for (const s of stored) {
    const path = segmentPath(s.name);
    if (s.sub_slo && depth < MAX_SLO_RECURSION_DEPTH) {
      try {
        const { body } = await backend.getObject(account, path.container, path.object);
        const chunks: Buffer[] = [];
        for await (const c of body) chunks.push(c as Buffer);
        out.push(...await sloDeleteTargets(backend, account, parseStoredManifest(Buffer.concat(chunks)), depth + 1));
      } catch (err) {
        if (!(err instanceof NotFound)) throw err;
      }
    }
    out.push(path);
  }
  return out;
}

/** The manifest in the PUT format (`?multipart-manifest=get&format=raw`). */
export function rawManifestJson(stored: StoredSegment[]): string {
  // As Swift writes it: keys sorted, Python separators.
  return `[${stored.map((s) => {
    const parts = [`"etag": ${pyString(s.hash)}`, `"path": ${pyString(s.name)}`];
    if (s.range) parts.push(`"range": ${pyString(s.range)}`);
    parts.push(`"size_bytes": ${s.bytes}`);
    return `{${parts.join(', ')}}`;
  }).join(', ')}]`;
}

/** Swift's bulk-style response body for `multipart-manifest=delete`. */
export function deleteResponseBody(json: boolean, deleted: number, notFound: number, errors: Array<[string, string]>): string {
  if (json) {
    return JSON.stringify({
      'Number Deleted': deleted, 'Number Not Found': notFound, 'Response Body': '',
      'Response Status': errors.length ? '400 Bad Request' : '200 OK', Errors: errors,
    });
  }
  return `Number Deleted: ${deleted}\nNumber Not Found: ${notFound}\nResponse Body: \n`
    + `Response Status: ${errors.length ? '400 Bad Request' : '200 OK'}\nErrors:\n${errors.map(([p, s]) => `${p}, ${s}\n`).join('')}`;
}
