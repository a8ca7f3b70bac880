/**
 * ListObjectsV2 and ListObjects (V1): prefix, delimiter and CommonPrefixes, start-after,
 * max-keys, opaque continuation tokens (base64url of the last name returned), marker and
 * NextMarker, encoding-type=url, KeyCount and IsTruncated — over the store's container listing.
 */
import { S3Error } from './errors.js';
import { el, type XmlElement } from './xml.js';
import type { S3Request } from './request.js';
import { sendXml, isoDate } from './respond.js';
import { quoteEtag } from './headers.js';
import { listingEntry } from '../proxy/large-object.js';
import type { ObjectEntry } from '../proxy/backend.js';
import { compareNames } from '../proxy/memory-backend.js';

/** S3's default and largest page. */
export const MAX_KEYS = 1000;

/** S3's `encoding-type=url`: form-style percent-encoding, '/' kept, space as '+'. */
export function urlEncodeKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function maxKeys(req: S3Request): number {
  const v = req.query.get('max-keys');
  if (v === undefined) return MAX_KEYS;
  if (!/^\d+$/.test(v)) throw new S3Error('InvalidArgument', 'max-keys must be a non-negative integer.', { ArgumentName: 'max-keys', ArgumentValue: v });
  return Math.min(Number(v), MAX_KEYS);
}

interface Page {
  contents: Array<ObjectEntry & { s3Etag?: string }>;
  prefixes: string[];
  truncated: boolean;
  last?: string;
}

async function listPage(req: S3Request, marker: string | undefined, limit: number): Promise<Page> {
  const prefix = req.query.get('prefix') ?? '';
  const delimiter = req.query.get('delimiter') || undefined;
  const page: Page = { contents: [], prefixes: [], truncated: false };
  if (limit === 0) {
    await req.opts.backend.headContainer(req.user.account, req.bucket!);
    return page;
  }
  const res = await req.opts.backend.listObjects(req.user.account, req.bucket!, { prefix, delimiter, marker, limit });
  for (const e of res.entries) {
    if ('subdir' in e) {
      // A common prefix already returned on an earlier page is not repeated.
      if (marker !== undefined && compareNames(e.subdir, marker) <= 0) continue;
      page.prefixes.push(e.subdir);
      page.last = e.subdir;
    } else {
      page.contents.push(listingEntry(e));
      page.last = e.name;
    }
  }
  page.truncated = res.truncated;
  return page;
}

function entries(req: S3Request, page: Page, enc: (s: string) => string, withOwner: boolean): XmlElement[] {
  const owner = withOwner ? el('Owner', el('ID', req.user.account), el('DisplayName', req.user.account)) : undefined;
  return [
    ...page.contents.map((c) => el('Contents', el('Key', enc(c.name)), el('LastModified', isoDate(c.lastModified)),
      el('ETag', quoteEtag(c.s3Etag ?? c.etag)), el('Size', c.bytes), owner, el('StorageClass', 'STANDARD'))),
    ...page.prefixes.map((p) => el('CommonPrefixes', el('Prefix', enc(p)))),
  ];
}

function encoder(req: S3Request): (s: string) => string {
  const type = req.query.get('encoding-type');
  if (type === undefined) return (s) => s;
  if (type !== 'url') throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', { ArgumentName: 'encoding-type' });
  return urlEncodeKey;
}

export async function listObjectsV2(req: S3Request): Promise<void> {
  const enc = encoder(req);
  const limit = maxKeys(req);
  const token = req.query.get('continuation-token');
  let marker = req.query.get('start-after') || undefined;
  if (token !== undefined) {
    const decoded = Buffer.from(token, 'base64url').toString('utf8');
    if (token === '' || Buffer.from(decoded, 'utf8').toString('base64url') !== token) {
      throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
    }
    marker = decoded;
  }
  const page = await listPage(req, marker, limit);
  const q = req.query;
  sendXml(req, 200, el('ListBucketResult',
    el('Name', req.bucket!), el('Prefix', enc(q.get('prefix') ?? '')),
    q.has('delimiter') ? el('Delimiter', enc(q.get('delimiter')!)) : undefined,
    el('MaxKeys', limit), q.has('encoding-type') ? el('EncodingType', 'url') : undefined,
    el('KeyCount', page.contents.length + page.prefixes.length),
    token !== undefined ? el('ContinuationToken', token) : undefined,
    q.has('start-after') ? el('StartAfter', enc(q.get('start-after')!)) : undefined,
    el('IsTruncated', page.truncated),
    page.truncated && page.last !== undefined ? el('NextContinuationToken', Buffer.from(page.last, 'utf8').toString('base64url')) : undefined,
    entries(req, page, enc, q.get('fetch-owner') === 'true')));
}

export async function listObjectsV1(req: S3Request): Promise<void> {
  const enc = encoder(req);
  const limit = maxKeys(req);
  const marker = req.query.get('marker') || undefined;
  const page = await listPage(req, marker, limit);
  const q = req.query;
  sendXml(req, 200, el('ListBucketResult',
    el('Name', req.bucket!), el('Prefix', enc(q.get('prefix') ?? '')), el('Marker', enc(marker ?? '')),
    page.truncated && page.last !== undefined ? el('NextMarker', enc(page.last)) : undefined,
    el('MaxKeys', limit), q.has('delimiter') ? el('Delimiter', enc(q.get('delimiter')!)) : undefined,
    q.has('encoding-type') ? el('EncodingType', 'url') : undefined,
    el('IsTruncated', page.truncated), entries(req, page, enc, true)));
}
