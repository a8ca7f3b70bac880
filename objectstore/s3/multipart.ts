/**
 * Multipart uploads over the store: CreateMultipartUpload, UploadPart, UploadPartCopy,
 * CompleteMultipartUpload, AbortMultipartUpload, ListParts, ListMultipartUploads.
 *
 * Everything lives in the bucket's `<bucket>+segments` container, so any proxy can continue an
 * upload another one started:
 * - `<key>/<uploadId>`: the upload's state (JSON: key, initiated, content type, metadata,
 *   content headers, checksum algorithm), content type `application/x-ringstack-upload`;
 * - `<key>/<uploadId>/<part, 5 digits>`: the parts.
 * Completion writes an SLO manifest (objectstore/proxy/large-object.ts) at the key, whose ETag is
 * S3's `md5(binary part md5s)-N`; the parts become its segments.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { NotFound } from '../common/errors.js';
import type { ObjectEntry } from '../proxy/backend.js';
import { deleteSegments, writeManifest, type Segment } from '../proxy/large-object.js';
import { S3Error } from './errors.js';
import { readSmallBody } from './body.js';
import { checksumHeader, createChecksum, isChecksumAlgorithm, type ChecksumAlgorithm, CHECKSUM_ALGORITHMS } from './checksums.js';
import { copySource } from './copy.js';
import { contentHeadersFrom, metaFromHeaders, parseRange, quoteEtag, unquoteEtag } from './headers.js';
import { checkKey, header, SEGMENTS_SUFFIX, type S3Request } from './request.js';
import { isoDate, sendEmpty, sendXml } from './respond.js';
import { openObject, segmentsAt, storeBody, writeConditions } from './objects.js';
import { child, children, el, parseXml, textOf, XmlSyntaxError } from './xml.js';
import { resolveRange } from '../proxy/memory-backend.js';

export const MAX_PARTS = 10000;
/** Smallest part except the last (S3: 5 MiB). */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
/** Largest part (S3: 5 GiB). */
export const MAX_PART_BYTES = 5 * 1024 * 1024 * 1024;
export const UPLOAD_CONTENT_TYPE = 'application/x-ringstack-upload';
const MAX_COMPLETE_BODY = 4 * 1024 * 1024;
const DEFAULT_MAX_PARTS_LISTED = 1000;
const DEFAULT_MAX_UPLOADS = 1000;
const LIST_PAGE = 10000;

interface UploadState {
  key: string;
  uploadId: string;
  initiated: number;
  contentType: string;
  meta: Record<string, string>;
  headers: Record<string, string>;
  checksumAlgorithm?: ChecksumAlgorithm;
}

const segmentsOf = (bucket: string) => bucket + SEGMENTS_SUFFIX;
const stateName = (key: string, uploadId: string) => `${key}/${uploadId}`;
const partName = (key: string, uploadId: string, n: number) => `${key}/${uploadId}/${String(n).padStart(5, '0')}`;

function uploadIdOf(req: S3Request): string {
  const id = req.query.get('uploadId') ?? '';
  if (!/^[0-9a-f]{32}$/.test(id)) throw new S3Error('NoSuchUpload');
  return id;
}

async function loadState(req: S3Request, uploadId: string): Promise<UploadState> {
  try {
    const { body } = await req.opts.backend.getObject(req.user.account, segmentsOf(req.bucket!), stateName(req.key!, uploadId));
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as UploadState;
  } catch (e) {
    if (e instanceof NotFound) {
      await req.opts.backend.headContainer(req.user.account, req.bucket!);
      throw new S3Error('NoSuchUpload');
    }
    throw e;
  }
}

/** Parts already stored for an upload, by number. */
async function storedParts(req: S3Request, uploadId: string): Promise<Map<number, ObjectEntry>> {
  const prefix = `${stateName(req.key!, uploadId)}/`;
  const parts = new Map<number, ObjectEntry>();
  let marker: string | undefined;
  for (;;) {
    const page = await req.opts.backend.listObjects(req.user.account, segmentsOf(req.bucket!), { prefix, marker, limit: LIST_PAGE });
    for (const e of page.entries) {
      if (!('name' in e)) continue;
      marker = e.name;
      const n = Number(e.name.slice(prefix.length));
      if (Number.isInteger(n) && n >= 1 && n <= MAX_PARTS) parts.set(n, e);
    }
    if (!page.truncated) break;
  }
  return parts;
}

export async function createUpload(req: S3Request): Promise<void> {
  checkKey(req.key!);
  const { backend } = req.opts;
  await backend.headContainer(req.user.account, req.bucket!);
  await backend.putContainer(req.user.account, segmentsOf(req.bucket!));
  const declared = header(req, 'x-amz-checksum-algorithm')?.toLowerCase();
  if (declared !== undefined && !isChecksumAlgorithm(declared)) throw new S3Error('InvalidRequest', `Checksum algorithm ${declared} is not supported.`);
  await req.opts.multipartBuckets.uploadStarted(req.user.account, req.bucket!);
  const { contentType, headers } = contentHeadersFrom(req);
  const state: UploadState = {
    key: req.key!, uploadId: randomBytes(16).toString('hex'), initiated: Date.now(),
    contentType: contentType ?? 'binary/octet-stream', meta: metaFromHeaders(req.headers), headers,
    checksumAlgorithm: declared as ChecksumAlgorithm | undefined,
  };
  const body = Buffer.from(JSON.stringify(state));
  await backend.putObject(req.user.account, segmentsOf(req.bucket!), stateName(req.key!, state.uploadId), {
    body: Readable.from([body]), contentLength: body.length, contentType: UPLOAD_CONTENT_TYPE,
  });
  sendXml(req, 200, el('InitiateMultipartUploadResult', el('Bucket', req.bucket!), el('Key', req.key!), el('UploadId', state.uploadId)),
    declared ? { 'x-amz-checksum-algorithm': declared.toUpperCase() } : {});
}

function partNumberOf(req: S3Request): number {
  const v = req.query.get('partNumber') ?? '';
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > MAX_PARTS) {
    throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${MAX_PARTS}, inclusive`, { ArgumentName: 'partNumber', ArgumentValue: v });
  }
  return n;
}

export async function uploadPart(req: S3Request): Promise<void> {
  checkKey(req.key!);
  const n = partNumberOf(req);
  const uploadId = uploadIdOf(req);
  await loadState(req, uploadId);
  const { info, checksums } = await storeBody(req, segmentsOf(req.bucket!), partName(req.key!, uploadId, n), { contentType: 'application/octet-stream', keepTrailerChecksums: false });
  const out: Record<string, string> = { etag: quoteEtag(info.etag) };
  for (const [alg, v] of Object.entries(checksums)) out[checksumHeader(alg as ChecksumAlgorithm)] = v;
  sendEmpty(req, 200, out);
}

export async function uploadPartCopy(req: S3Request): Promise<void> {
  checkKey(req.key!);
  const n = partNumberOf(req);
  const uploadId = uploadIdOf(req);
  await loadState(req, uploadId);
  const src = await copySource(req);
  const size = src.info.headers['x-static-large-object'] ? Number(src.info.headers['x-object-sysmeta-slo-size'] ?? 0) : src.info.contentLength;
  const rangeHeader = header(req, 'x-amz-copy-source-range');
  let range: { start: number; end: number } | undefined;
  if (rangeHeader !== undefined) {
    const r = parseRange(rangeHeader);
    if (!r || r.suffix !== undefined || r.end === undefined || r.end >= size) {
      throw new S3Error('InvalidArgument', 'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy', { ArgumentName: 'x-amz-copy-source-range' });
    }
    range = resolveRange(r, size);
  }
  const length = range ? range.end - range.start + 1 : size;
  if (length > MAX_PART_BYTES) throw new S3Error('EntityTooLarge');
  const body = await openObject(req.opts.backend, req.user.account, src.bucket, src.key, src.info, range);
  const info = await req.opts.backend.putObject(req.user.account, segmentsOf(req.bucket!), partName(req.key!, uploadId, n), {
    body, contentLength: length, contentType: 'application/octet-stream',
  });
  sendXml(req, 200, el('CopyPartResult', el('LastModified', isoDate(info.lastModified)), el('ETag', quoteEtag(info.etag))));
}

interface RequestedPart { number: number; etag: string; checksums: Partial<Record<ChecksumAlgorithm, string>> }

function parseComplete(data: Buffer): RequestedPart[] {
  try {
    const doc = parseXml(data.toString('utf8'));
    if (doc.name !== 'CompleteMultipartUpload') throw new XmlSyntaxError('root is not CompleteMultipartUpload');
    return children(doc, 'Part').map((p) => {
      const num = textOf(child(p, 'PartNumber'))?.trim() ?? '';
      const etag = textOf(child(p, 'ETag'));
      if (!/^\d+$/.test(num) || etag === undefined) throw new XmlSyntaxError('Part needs PartNumber and ETag');
      const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
      for (const alg of CHECKSUM_ALGORITHMS) {
        const v = textOf(child(p, `Checksum${alg.toUpperCase()}`));
        if (v !== undefined) checksums[alg] = v.trim();
      }
      return { number: Number(num), etag: unquoteEtag(etag), checksums };
    });
  } catch (e) {
    if (e instanceof XmlSyntaxError) throw new S3Error('MalformedXML');
    throw e;
  }
}

export async function completeUpload(req: S3Request): Promise<void> {
  checkKey(req.key!);
  const { backend } = req.opts;
  const account = req.user.account;
  const uploadId = uploadIdOf(req);
  const data = await readSmallBody(req, MAX_COMPLETE_BODY);
  const requested = parseComplete(data);
  const state = await loadState(req, uploadId);
  if (requested.length === 0) throw new S3Error('MalformedXML', 'The XML you provided did not list any part.');
  if (requested.length > MAX_PARTS) throw new S3Error('MalformedXML', `At most ${MAX_PARTS} parts.`);
  for (let i = 1; i < requested.length; i++) {
    if (requested[i]!.number <= requested[i - 1]!.number) throw new S3Error('InvalidPartOrder');
  }
  const stored = await storedParts(req, uploadId);
  const segments: Segment[] = [];
  const md5s: Buffer[] = [];
  const composite = state.checksumAlgorithm ?? (requested.every((p) => Object.keys(p.checksums).length === 1) ? Object.keys(requested[0]!.checksums)[0] as ChecksumAlgorithm | undefined : undefined);
  const compositeSum = composite ? createChecksum(composite) : undefined;
  // Listings may lag behind writes on the replicated store: ask for a part the listing misses.
  for (const p of requested) {
    const listed = stored.get(p.number);
    if (listed && listed.etag === p.etag) continue;
    const name = partName(req.key!, uploadId, p.number);
    try {
      const info = await backend.headObject(account, segmentsOf(req.bucket!), name);
      stored.set(p.number, { name, bytes: info.contentLength, etag: info.etag, contentType: info.contentType, lastModified: info.lastModified });
    } catch (e) {
      if (!(e instanceof NotFound)) throw e;
    }
  }
  requested.forEach((p, i) => {
    const part = stored.get(p.number);
    if (!part || part.etag !== p.etag) throw new S3Error('InvalidPart', undefined, { PartNumber: String(p.number), ETag: p.etag });
    if (i < requested.length - 1 && part.bytes < MIN_PART_BYTES) {
      throw new S3Error('EntityTooSmall', undefined, { ProposedSize: String(part.bytes), MinSizeAllowed: String(MIN_PART_BYTES), PartNumber: String(p.number) });
    }
    segments.push({ name: `/${segmentsOf(req.bucket!)}/${part.name}`, hash: part.etag, bytes: part.bytes });
    md5s.push(Buffer.from(part.etag, 'hex'));
    const partSum = composite ? p.checksums[composite] : undefined;
    if (compositeSum && partSum) compositeSum.update(Buffer.from(partSum, 'base64'));
  });
  const etag = `${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${requested.length}`;
  const headers = { ...state.headers };
  if (composite && compositeSum && requested.every((p) => p.checksums[composite] !== undefined)) {
    headers[checksumHeader(composite)] = `${compositeSum.digest()}-${requested.length}`;
  }
  const replaced = await segmentsAt(backend, account, req.bucket!, req.key!);
  await writeManifest(backend, account, req.bucket!, req.key!, segments, {
    contentType: state.contentType, meta: state.meta, headers, s3Etag: etag, ...writeConditions(req),
  });
  const kept = new Set(segments.map((s) => s.name));
  await deleteSegments(backend, account, replaced.filter((s) => !kept.has(s.name)));
  const used = new Set(requested.map((p) => p.number));
  for (const [n, part] of stored) {
    if (!used.has(n)) await backend.deleteObject(account, segmentsOf(req.bucket!), part.name).catch(() => undefined);
  }
  await backend.deleteObject(account, segmentsOf(req.bucket!), stateName(req.key!, uploadId)).catch(() => undefined);
  sendXml(req, 200, el('CompleteMultipartUploadResult',
    el('Location', `/${req.bucket}/${req.key}`), el('Bucket', req.bucket!), el('Key', req.key!), el('ETag', quoteEtag(etag)),
    composite && headers[checksumHeader(composite)] ? el(`Checksum${composite.toUpperCase()}`, headers[checksumHeader(composite)]!) : undefined));
}

export async function abortUpload(req: S3Request): Promise<void> {
  checkKey(req.key!);
  const uploadId = uploadIdOf(req);
  await loadState(req, uploadId);
  const stored = await storedParts(req, uploadId);
  for (const part of stored.values()) await req.opts.backend.deleteObject(req.user.account, segmentsOf(req.bucket!), part.name).catch(() => undefined);
  await req.opts.backend.deleteObject(req.user.account, segmentsOf(req.bucket!), stateName(req.key!, uploadId)).catch(() => undefined);
  sendEmpty(req, 204);
}

function intQuery(req: S3Request, name: string, dflt: number, max: number): number {
  const v = req.query.get(name);
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v)) throw new S3Error('InvalidArgument', `${name} must be a non-negative integer.`, { ArgumentName: name });
  return Math.min(Number(v), max);
}

export async function listParts(req: S3Request): Promise<void> {
  checkKey(req.key!);
  const uploadId = uploadIdOf(req);
  const state = await loadState(req, uploadId);
  const maxParts = intQuery(req, 'max-parts', DEFAULT_MAX_PARTS_LISTED, DEFAULT_MAX_PARTS_LISTED);
  const after = intQuery(req, 'part-number-marker', 0, MAX_PARTS);
  const parts = [...(await storedParts(req, uploadId)).entries()].filter(([n]) => n > after).sort((a, b) => a[0] - b[0]);
  const page = parts.slice(0, maxParts);
  const truncated = parts.length > page.length;
  const owner = el('ID', req.user.account);
  sendXml(req, 200, el('ListPartsResult', el('Bucket', req.bucket!), el('Key', req.key!), el('UploadId', uploadId),
    el('Initiator', owner, el('DisplayName', req.user.account)), el('Owner', el('ID', req.user.account), el('DisplayName', req.user.account)),
    el('StorageClass', 'STANDARD'), el('PartNumberMarker', after),
    el('NextPartNumberMarker', page.length > 0 ? page[page.length - 1]![0] : after), el('MaxParts', maxParts), el('IsTruncated', truncated),
    state.checksumAlgorithm ? el('ChecksumAlgorithm', state.checksumAlgorithm.toUpperCase()) : undefined,
    page.map(([n, p]) => el('Part', el('PartNumber', n), el('LastModified', isoDate(p.lastModified)), el('ETag', quoteEtag(p.etag)), el('Size', p.bytes)))));
}

export async function listUploads(req: S3Request): Promise<void> {
  const { backend } = req.opts;
  await backend.headContainer(req.user.account, req.bucket!);
  const prefix = req.query.get('prefix') ?? '';
  const keyMarker = req.query.get('key-marker') ?? '';
  const idMarker = req.query.get('upload-id-marker') ?? '';
  const maxUploads = intQuery(req, 'max-uploads', DEFAULT_MAX_UPLOADS, DEFAULT_MAX_UPLOADS);
  const uploads: Array<{ key: string; uploadId: string; lastModified: number }> = [];
  let truncated = false;
  let marker: string | undefined = keyMarker === '' ? undefined : (idMarker ? stateName(keyMarker, idMarker) : `${keyMarker}/\uffff`);
  try {
    outer: for (;;) {
      const page = await backend.listObjects(req.user.account, segmentsOf(req.bucket!), { prefix, marker, limit: LIST_PAGE });
      for (const e of page.entries) {
        if (!('name' in e)) continue;
        marker = e.name;
        if (e.contentType !== UPLOAD_CONTENT_TYPE) continue;
        if (uploads.length >= maxUploads) {
          truncated = true;
          break outer;
        }
        const slash = e.name.lastIndexOf('/');
        uploads.push({ key: e.name.slice(0, slash), uploadId: e.name.slice(slash + 1), lastModified: e.lastModified });
      }
      if (!page.truncated) break;
    }
  } catch (e) {
    if (!(e instanceof NotFound)) throw e;
  }
  const last = uploads[uploads.length - 1];
  sendXml(req, 200, el('ListMultipartUploadsResult', el('Bucket', req.bucket!), el('KeyMarker', keyMarker), el('UploadIdMarker', idMarker),
    truncated && last ? el('NextKeyMarker', last.key) : undefined, truncated && last ? el('NextUploadIdMarker', last.uploadId) : undefined,
    prefix ? el('Prefix', prefix) : undefined, el('MaxUploads', maxUploads), el('IsTruncated', truncated),
    uploads.map((u) => el('Upload', el('Key', u.key), el('UploadId', u.uploadId),
      el('Initiator', el('ID', req.user.account), el('DisplayName', req.user.account)),
      el('Owner', el('ID', req.user.account), el('DisplayName', req.user.account)),
      el('StorageClass', 'STANDARD'), el('Initiated', isoDate(u.lastModified))))));
}
