/**
 * Bucket operations: ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation.
 * A bucket is a container in the user's account; bucket names are per account (two accounts
 * may each have a bucket called "photos"), a simplification of S3's global namespace. The
 * bucket's `<bucket>+segments` container (multipart state and parts) never shows as a bucket.
 */
import { S3Error } from './errors.js';
import { el, parseXml, child, textOf, XmlSyntaxError } from './xml.js';
import { checkBucketName, SEGMENTS_SUFFIX, type S3Request } from './request.js';
import { sendEmpty, sendXml, isoDate } from './respond.js';
import { readSmallBody } from './body.js';
import type { ContainerEntry } from '../proxy/backend.js';
import { NotFound } from '../common/errors.js';

/** Largest CreateBucketConfiguration body. */
const MAX_CONFIG_BYTES = 64 * 1024;
const LIST_PAGE = 10000;
/** Container HEADs in flight at once while listing buckets. */
const HEAD_CONCURRENCY = 16;

export async function listBuckets(req: S3Request): Promise<void> {
  const { backend } = req.opts;
  const buckets: ContainerEntry[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await backend.listContainers(req.user.account, { marker, limit: LIST_PAGE });
    for (const e of page.entries) {
      if ('name' in e) {
        marker = e.name;
        if (!e.name.endsWith(SEGMENTS_SUFFIX)) buckets.push(e);
      }
    }
    if (!page.truncated || page.entries.length === 0) break;
  }
  // Creation dates come from each container's HEAD, a few at a time.
  const infos: Array<{ createdAt: number } | undefined> = [];
  for (let i = 0; i < buckets.length; i += HEAD_CONCURRENCY) {
    infos.push(...await Promise.all(buckets.slice(i, i + HEAD_CONCURRENCY)
      .map((b) => backend.headContainer(req.user.account, b.name).catch(() => undefined))));
  }
  sendXml(req, 200, el('ListAllMyBucketsResult',
    el('Owner', el('ID', req.user.account), el('DisplayName', req.user.account)),
    el('Buckets', buckets.map((b, i) => el('Bucket', el('Name', b.name), el('CreationDate', isoDate(infos[i]?.createdAt ?? b.lastModified)))))));
}

export async function createBucket(req: S3Request): Promise<void> {
  const bucket = req.bucket!;
  checkBucketName(bucket);
  const body = await readSmallBody(req, MAX_CONFIG_BYTES);
  if (body.length > 0) {
    try {
      const doc = parseXml(body.toString('utf8'));
      if (doc.name !== 'CreateBucketConfiguration') throw new XmlSyntaxError('root is not CreateBucketConfiguration');
      const location = textOf(child(doc, 'LocationConstraint'));
      if (location && location !== req.opts.region && !(location === 'US' && req.opts.region === 'us-east-1')) {
        throw new S3Error('InvalidArgument' as const, `LocationConstraint ${location} is not this store's region ${req.opts.region}.`, { ArgumentName: 'LocationConstraint' });
      }
    } catch (e) {
      if (e instanceof XmlSyntaxError) throw new S3Error('MalformedXML');
      throw e;
    }
  }
  const { created } = await req.opts.backend.putContainer(req.user.account, bucket);
  if (!created) throw new S3Error('BucketAlreadyOwnedByYou', undefined, { BucketName: bucket });
  sendEmpty(req, 200, { location: `/${bucket}` });
}

export async function headBucket(req: S3Request): Promise<void> {
  await req.opts.backend.headContainer(req.user.account, req.bucket!);
  sendEmpty(req, 200, { 'x-amz-bucket-region': req.opts.region });
}

export async function getBucketLocation(req: S3Request): Promise<void> {
  await req.opts.backend.headContainer(req.user.account, req.bucket!);
  const region = req.opts.region === 'us-east-1' ? undefined : req.opts.region;
  sendXml(req, 200, el('LocationConstraint', region));
}

/** Deletes an empty bucket and its segments container (with any unfinished uploads). */
export async function deleteBucket(req: S3Request): Promise<void> {
  const { backend } = req.opts;
  const account = req.user.account;
  const bucket = req.bucket!;
  await backend.headContainer(account, bucket);
  const page = await backend.listObjects(account, bucket, { limit: 1 });
  if (page.entries.length > 0) throw new S3Error('BucketNotEmpty', undefined, { BucketName: bucket });
  const segments = bucket + SEGMENTS_SUFFIX;
  try {
    for (;;) {
      const seg = await backend.listObjects(account, segments, { limit: LIST_PAGE });
      for (const e of seg.entries) if ('name' in e) await backend.deleteObject(account, segments, e.name).catch(() => undefined);
      if (!seg.truncated) break;
    }
    await backend.deleteContainer(account, segments);
  } catch (e) {
    if (!(e instanceof NotFound)) throw e;
  }
  await backend.deleteContainer(account, bucket);
  sendEmpty(req, 204);
}
