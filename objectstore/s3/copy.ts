/**
 * CopyObject and the copy-source rules shared with UploadPartCopy: `x-amz-copy-source`
 * (`[/]bucket/key`, URL-encoded, in the same account), the `x-amz-copy-source-if-*` conditions,
 * and the metadata directive (COPY keeps the source's metadata and content headers, REPLACE
 * takes the request's). The bytes are streamed from the source into the new object.
 */
import type { ObjectInfo } from '../proxy/backend.js';
import { S3Error } from './errors.js';
import { checkConditions, contentHeadersFrom, metaFromHeaders, quoteEtag, s3Etag } from './headers.js';
import { checkKey, header, type S3Request } from './request.js';
import { cleanContentType, deleteSegments, isManifest } from '../proxy/large-object.js';
import { openObject, objectSize, replacedSegments, writeConditions } from './objects.js';
import { sendXml, isoDate } from './respond.js';
import { el } from './xml.js';
import { CHECKSUM_HEADER_PREFIX } from './checksums.js';

/** Largest object a single CopyObject may copy (S3: 5 GiB). */
export const MAX_COPY_BYTES = 5 * 1024 * 1024 * 1024;

export interface CopySource {
  bucket: string;
  key: string;
  info: ObjectInfo;
}

/** Resolves and checks the copy source of a request (conditions included). */
export async function copySource(req: S3Request): Promise<CopySource> {
  let raw = header(req, 'x-amz-copy-source')!;
  const q = raw.indexOf('?');
  if (q >= 0) {
    if (!/^versionId=(null)?$/.test(raw.slice(q + 1))) throw new S3Error('NotImplemented', 'Copying a specific versionId is not implemented (no versioning).');
    raw = raw.slice(0, q);
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw.replace(/^\//, ''));
  } catch {
    throw new S3Error('InvalidArgument', 'x-amz-copy-source is not valid percent-encoded UTF-8.', { ArgumentName: 'x-amz-copy-source' });
  }
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) {
    throw new S3Error('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', { ArgumentName: 'x-amz-copy-source' });
  }
  const bucket = decoded.slice(0, slash);
  const key = decoded.slice(slash + 1);
  checkKey(key);
  const info = await req.opts.backend.headObject(req.user.account, bucket, key);
  checkConditions(req.headers, s3Etag(info), info.lastModified, 'x-amz-copy-source-');
  return { bucket, key, info };
}

export async function copyObject(req: S3Request): Promise<void> {
  checkKey(req.key!);
  const { backend } = req.opts;
  const src = await copySource(req);
  const directive = (header(req, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') throw new S3Error('InvalidArgument', 'Unknown metadata directive.', { ArgumentName: 'x-amz-metadata-directive' });
  if (src.bucket === req.bucket && src.key === req.key && directive === 'COPY') {
    throw new S3Error('InvalidRequest', 'This copy request is illegal because it is trying to copy an object to itself without changing the object\'s metadata, storage class, website redirect location or encryption attributes.');
  }
  const size = objectSize(src.info);
  if (size > MAX_COPY_BYTES) throw new S3Error('InvalidRequest', 'The specified copy source is larger than the maximum allowable size for a copy source: 5368709120');
  const tag = src.info.headers['x-object-sysmeta-s3-checksum-etag'];
  const checksumsValid = tag === undefined || tag === src.info.etag;
  let meta: Record<string, string>;
  let headers: Record<string, string>;
  let contentType: string;
  if (directive === 'COPY') {
    meta = { ...src.info.meta };
    delete meta['s3-etag'];
    headers = {};
    for (const [k, v] of Object.entries(src.info.headers)) {
      if (['content-encoding', 'content-disposition', 'content-language', 'cache-control', 'expires'].includes(k)) headers[k] = v;
      // A multipart object's checksum is composite ("-N"): it does not describe the copy.
      if (checksumsValid && k.startsWith(CHECKSUM_HEADER_PREFIX) && !(isManifest(src.info) && v.includes('-'))) headers[k] = v;
    }
    contentType = cleanContentType(src.info.contentType);
  } else {
    meta = metaFromHeaders(req.headers);
    const c = contentHeadersFrom(req);
    headers = c.headers;
    contentType = c.contentType ?? 'binary/octet-stream';
    for (const [k, v] of Object.entries(src.info.headers)) if (checksumsValid && k.startsWith(CHECKSUM_HEADER_PREFIX) && !v.includes('-')) headers[k] = v;
  }
  const replaced = await replacedSegments(req);
  const body = await openObject(backend, req.user.account, src.bucket, src.key, src.info);
  const info = await backend.putObject(req.user.account, req.bucket!, req.key!, {
    body, contentLength: size, contentType, meta, headers, ...writeConditions(req),
  });
  if (replaced.length > 0) await deleteSegments(backend, req.user.account, replaced);
  sendXml(req, 200, el('CopyObjectResult', el('LastModified', isoDate(info.lastModified)), el('ETag', quoteEtag(info.etag))));
}
