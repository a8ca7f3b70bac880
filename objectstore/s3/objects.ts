/**
 * Object operations: PutObject (metadata, content headers, Content-MD5, checksums, conditional
 * writes), GetObject and HeadObject (ranges, conditions, manifests of multipart objects served
 * as one object), DeleteObject (idempotent) and DeleteObjects (multi-delete, quiet mode).
 */
import { Readable } from 'node:stream';
import type { GetObjectResult, ObjectBackend, ObjectInfo } from '../proxy/backend.js';
import { NotFound } from '../common/errors.js';
import { payloadOf } from '../common/whole-body.js';
import {
  type Segment, cleanContentType, deleteSegments, isManifest, manifestSize, openSegments, readManifest, resolveManifestRange,
} from '../proxy/large-object.js';
import { resolveRange } from '../proxy/memory-backend.js';
import { S3Error, toS3Error } from './errors.js';
import { contentMd5Hex, openBody, readSmallBody } from './body.js';
import { checksumHeader, type ChecksumAlgorithm } from './checksums.js';
import {
  checkConditions, contentHeadersFrom, metaFromHeaders, objectResponseHeaders, parseRange, quoteEtag, s3Etag, unquoteEtag,
} from './headers.js';
import { checkKey, header, type S3Request } from './request.js';
import { sendEmpty, sendXml } from './respond.js';
import { child, children, el, parseXml, textOf, XmlSyntaxError, type XmlElement } from './xml.js';

/** Most keys in one DeleteObjects request. */
export const MAX_DELETE_KEYS = 1000;
const MAX_DELETE_BODY = 2 * 1024 * 1024;
/** Deletes in flight at once for DeleteObjects. */
const DELETE_CONCURRENCY = 16;

/** The conditional-write options of a PUT (If-None-Match: * and If-Match). */
export function writeConditions(req: S3Request): { ifNoneMatchStar?: boolean; ifMatch?: string } {
  const inm = header(req, 'if-none-match');
  const im = header(req, 'if-match');
  if (inm !== undefined && inm.trim() !== '*') throw new S3Error('NotImplemented', 'If-None-Match on writes only supports "*".');
  return { ifNoneMatchStar: inm !== undefined ? true : undefined, ifMatch: im !== undefined ? unquoteEtag(im) : undefined };
}

/** Marks which object version trailer checksums added after the write describe. */
export const CHECKSUM_ETAG_HEADER = 'x-object-sysmeta-s3-checksum-etag';

/**
 * Streams a request body into the store and returns the stored object's info and the verified
 * checksums. Used by PutObject and UploadPart. Checksums declared in headers are stored with
 * the object; ones that arrive in a trailer are known only after the body, so they are added
 * by a metadata update, tagged with the ETag they belong to (a concurrent overwrite in between
 * cannot inherit them: GET ignores a checksum whose tag is not the object's ETag).
 */
export async function storeBody(req: S3Request, container: string, object: string,
  extra: { contentType?: string; meta?: Record<string, string>; headers?: Record<string, string>; ifNoneMatchStar?: boolean; ifMatch?: string; keepTrailerChecksums?: boolean }): Promise<{ info: ObjectInfo; checksums: Partial<Record<ChecksumAlgorithm, string>> }> {
  const { backend } = req.opts;
  const headers = { ...(extra.headers ?? {}) };
  const body = openBody(req);
  for (const alg of body.algorithms) {
    const declared = header(req, checksumHeader(alg));
    if (declared !== undefined) headers[checksumHeader(alg)] = declared.trim();
  }
  let info: ObjectInfo;
  try {
    info = await backend.putObject(req.user.account, container, object, {
      body: body.stream, contentLength: body.contentLength, contentType: extra.contentType, meta: extra.meta, headers,
      expectedMd5: contentMd5Hex(req), ifNoneMatchStar: extra.ifNoneMatchStar, ifMatch: extra.ifMatch,
    });
  } catch (e) {
    body.abandon();
    throw body.failure() ?? e;
  }
  const checksums = body.checksums();
  const late: Record<string, string> = {};
  for (const [alg, v] of Object.entries(checksums)) {
    if (headers[checksumHeader(alg as ChecksumAlgorithm)] === undefined) late[checksumHeader(alg as ChecksumAlgorithm)] = v;
  }
  if (Object.keys(late).length > 0 && extra.keepTrailerChecksums !== false) {
    const added = { ...late, [CHECKSUM_ETAG_HEADER]: info.etag };
    await backend.postObject(req.user.account, container, object, info.meta, added);
    info = { ...info, headers: { ...info.headers, ...added } };
  }
  return { info, checksums };
}

function checksumResponse(checksums: Partial<Record<ChecksumAlgorithm, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [alg, v] of Object.entries(checksums)) out[checksumHeader(alg as ChecksumAlgorithm)] = v;
  return out;
}

/**
 * The segments of the multipart object now at a key: a write that replaces it deletes them
 * afterwards, so overwriting a multipart object frees its space (as S3 does).
 */
export async function segmentsAt(backend: ObjectBackend, account: string, container: string, key: string): Promise<Segment[]> {
  try {
    const info = await backend.headObject(account, container, key);
    if (!isManifest(info)) return [];
    return (await readManifest(backend, account, container, key)).segments;
  } catch (e) {
    if (e instanceof NotFound) return [];
    throw e;
  }
}

/** segmentsAt for PutObject and CopyObject: none in a bucket that cannot hold multipart objects. */
export async function replacedSegments(req: S3Request): Promise<Segment[]> {
  const { backend, multipartBuckets } = req.opts;
  if (!(await multipartBuckets.mayHoldMultipart(req.user.account, req.bucket!))) return [];
  return segmentsAt(backend, req.user.account, req.bucket!, req.key!);
}

export async function putObject(req: S3Request): Promise<void> {
  checkKey(req.key!);
  const { contentType, headers } = contentHeadersFrom(req);
  const replaced = await replacedSegments(req);
  const { info, checksums } = await storeBody(req, req.bucket!, req.key!, {
    contentType: contentType ?? 'binary/octet-stream', meta: metaFromHeaders(req.headers), headers, ...writeConditions(req),
  });
  if (replaced.length > 0) await deleteSegments(req.opts.backend, req.user.account, replaced);
  sendEmpty(req, 200, { etag: quoteEtag(info.etag), ...checksumResponse(checksums) });
}

/** The object's bytes as a stream (a manifest's segments one after another). */
export async function openObject(backend: ObjectBackend, account: string, container: string, object: string, info: ObjectInfo,
  range?: { start: number; end: number }): Promise<Readable> {
  if (isManifest(info)) {
    const { segments, info: current } = await readManifest(backend, account, container, object);
    if (current.etag !== info.etag) throw new S3Error('ServiceUnavailable', 'The object changed while being read; retry.');
    return openSegments(backend, account, segments, range);
  }
  const got = await backend.getObject(account, container, object, range ? { range } : {});
  if (got.info.etag !== info.etag) {
    got.body.destroy();
    throw new S3Error('ServiceUnavailable', 'The object changed while being read; retry.');
  }
  return got.body;
}

/** Size of the object as clients see it. */
export const objectSize = (info: ObjectInfo) => (isManifest(info) ? manifestSize(info) : info.contentLength);

/** The byte range of part `n` (GET/HEAD ?partNumber=n): a segment of a multipart object, or all of a plain one. */
async function partRange(req: S3Request, info: ObjectInfo, n: string, size: number): Promise<{ start: number; end: number } | undefined> {
  if (!/^\d+$/.test(n) || Number(n) < 1 || Number(n) > 10000) {
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { ArgumentName: 'partNumber' });
  }
  const num = Number(n);
  if (!isManifest(info)) {
    if (num !== 1) throw new S3Error('InvalidPartNumber');
    return size === 0 ? undefined : { start: 0, end: size - 1 };
  }
  const { segments } = await readManifest(req.opts.backend, req.user.account, req.bucket!, req.key!);
  if (num > segments.length) throw new S3Error('InvalidPartNumber');
  const start = segments.slice(0, num - 1).reduce((a, s) => a + s.bytes, 0);
  const bytes = segments[num - 1]!.bytes;
  return bytes === 0 ? undefined : { start, end: start + bytes - 1 };
}

async function getOrHead(req: S3Request, withBody: boolean): Promise<void> {
  checkKey(req.key!);
  const { backend } = req.opts;
  const partNumber = req.query.get('partNumber');
  // A whole-object GET reads the object at once: its reply says what a HEAD would, so a plain
  // object costs one quorum read instead of two. Ranges, part numbers and multipart manifests
  // need the object's info before the bytes are chosen.
  let whole: GetObjectResult | undefined;
  if (withBody && partNumber === undefined && header(req, 'range') === undefined) {
    whole = await backend.getObject(req.user.account, req.bucket!, req.key!);
    if (isManifest(whole.info)) {
      whole.body.destroy();
      whole = undefined;
    }
  }
  const info = whole?.info ?? await backend.headObject(req.user.account, req.bucket!, req.key!);
  const etag = s3Etag(info);
  try {
    checkConditions(req.headers, etag, info.lastModified);
  } catch (e) {
    whole?.body.destroy();
    throw e;
  }
  const size = objectSize(info);
  let range: { start: number; end: number } | undefined;
  if (partNumber !== undefined) {
    range = await partRange(req, info, partNumber, size);
  } else {
    const requested = parseRange(header(req, 'range'));
    range = requested ? (isManifest(info) ? resolveManifestRange(requested, size) : resolveRange(requested, size)) : undefined;
  }
  const headers = objectResponseHeaders(info, etag, req.query, !range && header(req, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED',
    cleanContentType(info.contentType));
  if (isManifest(info)) headers['x-amz-mp-parts-count'] = String(Math.max(1, Number(etag.split('-')[1] ?? 1)));
  headers['content-length'] = String(range ? range.end - range.start + 1 : size);
  if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${size}`;
  const status = range ? 206 : 200;
  if (!withBody) {
    sendEmpty(req, status, headers);
    return;
  }
  const body = whole?.body ?? await openObject(backend, req.user.account, req.bucket!, req.key!, info, range);
  req.reply.code(status).headers(headers).send(payloadOf(body));
}

export const getObject = (req: S3Request) => getOrHead(req, true);
export const headObject = (req: S3Request) => getOrHead(req, false);

/** Deletes an object (and a manifest's segments); absent objects are not an error. */
export async function removeObject(backend: ObjectBackend, account: string, container: string, object: string): Promise<void> {
  let info: ObjectInfo;
  try {
    info = await backend.headObject(account, container, object);
  } catch (e) {
    if (e instanceof NotFound && e.what === 'object') return;
    throw e;
  }
  if (!isManifest(info)) {
    await backend.deleteObject(account, container, object).catch((e) => {
      if (!(e instanceof NotFound && e.what === 'object')) throw e;
    });
    return;
  }
  const { segments } = await readManifest(backend, account, container, object);
  await backend.deleteObject(account, container, object).catch((e) => {
    if (!(e instanceof NotFound && e.what === 'object')) throw e;
  });
  await deleteSegments(backend, account, segments);
}

export async function deleteObject(req: S3Request): Promise<void> {
  checkKey(req.key!);
  await req.opts.backend.headContainer(req.user.account, req.bucket!);
  await removeObject(req.opts.backend, req.user.account, req.bucket!, req.key!);
  sendEmpty(req, 204);
}

export async function deleteObjects(req: S3Request): Promise<void> {
  const data = await readSmallBody(req, MAX_DELETE_BODY);
  let keys: string[];
  let quiet: boolean;
  try {
    const doc = parseXml(data.toString('utf8'));
    if (doc.name !== 'Delete') throw new XmlSyntaxError('root is not Delete');
    const objects = children(doc, 'Object');
    keys = objects.map((o) => {
      const k = textOf(child(o, 'Key'));
      if (k === undefined) throw new XmlSyntaxError('Object without Key');
      return k;
    });
    quiet = textOf(child(doc, 'Quiet'))?.trim().toLowerCase() === 'true';
  } catch (e) {
    if (e instanceof XmlSyntaxError) throw new S3Error('MalformedXML');
    throw e;
  }
  if (keys.length === 0 || keys.length > MAX_DELETE_KEYS) throw new S3Error('MalformedXML', `Delete needs 1 to ${MAX_DELETE_KEYS} keys.`);
  await req.opts.backend.headContainer(req.user.account, req.bucket!);
  // Deleted DELETE_CONCURRENCY at a time; the answer keeps the request's order.
  const results: Array<XmlElement | undefined> = new Array(keys.length);
  const deleteOne = async (key: string, i: number) => {
    try {
      checkKey(key);
      await removeObject(req.opts.backend, req.user.account, req.bucket!, key);
      results[i] = quiet ? undefined : el('Deleted', el('Key', key));
    } catch (e) {
      const err = toS3Error(e);
      results[i] = el('Error', el('Key', key), el('Code', err.code), el('Message', err.message));
    }
  };
  for (let i = 0; i < keys.length; i += DELETE_CONCURRENCY) {
    await Promise.all(keys.slice(i, i + DELETE_CONCURRENCY).map((k, j) => deleteOne(k, i + j)));
  }
  sendXml(req, 200, el('DeleteResult', ...results));
}
