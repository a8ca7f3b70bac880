import t from 'tap';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand, CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, DeleteObjectsCommand,
  GetBucketLocationCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListBucketsCommand,
  PutObjectCommand, S3ServiceException,
} from '@aws-sdk/client-s3';
import { startS3Server, sdkClient, ROOT } from './testing.js';

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof S3ServiceException) return `${e.name}:${e.$metadata.httpStatusCode}`;
    throw e;
  }
  return 'ok';
}

t.test('buckets and objects with SDK defaults', async (t) => {
  const srv = await startS3Server();
  t.teardown(() => srv.close());
  const s3 = sdkClient(srv.url, ROOT);
  t.teardown(() => s3.destroy());

  await s3.send(new CreateBucketCommand({ Bucket: 'photos' }));
  t.equal(await code(s3.send(new CreateBucketCommand({ Bucket: 'photos' }))), 'BucketAlreadyOwnedByYou:409');
  t.equal(await code(s3.send(new CreateBucketCommand({ Bucket: 'Bad_Name' }))), 'InvalidBucketName:400');
  for (const bad of ['ab', 'a'.repeat(64), '-abc', 'abc-', 'a..b', '192.168.1.1', 'xn--abc', 'info', 'healthcheck']) {
    t.equal(await code(s3.send(new CreateBucketCommand({ Bucket: bad }))), 'InvalidBucketName:400', `"${bad}" is not a bucket name`);
  }
  await s3.send(new HeadBucketCommand({ Bucket: 'photos' }));
  t.equal(await code(s3.send(new HeadBucketCommand({ Bucket: 'nope' }))), 'NotFound:404');
  const loc = await s3.send(new GetBucketLocationCommand({ Bucket: 'photos' }));
  t.notOk(loc.LocationConstraint, 'us-east-1 is the empty location');
  const buckets = await s3.send(new ListBucketsCommand({}));
  t.same(buckets.Buckets?.map((b) => b.Name), ['photos']);

  const put = await s3.send(new PutObjectCommand({
    Bucket: 'photos', Key: 'a/b c+d.txt', Body: 'hello world', ContentType: 'text/plain',
    Metadata: { color: 'blue' }, CacheControl: 'no-cache', ContentDisposition: 'inline', ContentLanguage: 'en',
  }));
  t.equal(put.ETag, `"${md5('hello world')}"`);
  const got = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'a/b c+d.txt' }));
  t.equal(await got.Body!.transformToString(), 'hello world');
  t.equal(got.ContentType, 'text/plain');
  t.same(got.Metadata, { color: 'blue' });
  t.equal(got.CacheControl, 'no-cache');
  t.equal(got.ContentDisposition, 'inline');
  t.equal(got.ContentLanguage, 'en');
  t.equal(got.ContentLength, 11);

  // A stream body: the SDK sends aws-chunked with a CRC32 trailer.
  const big = Buffer.alloc(300 * 1024, 7);
  const streamed = await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'stream.bin', Body: Readable.from([big]), ContentLength: big.length }));
  t.equal(streamed.ETag, `"${md5(big)}"`);
  t.ok(streamed.ChecksumCRC32, 'checksum echoed');
  const seen = srv.requests.find((r) => r.method === 'PUT' && r.url.startsWith('/photos/stream.bin'));
  t.equal(seen?.headers['content-encoding'], 'aws-chunked', 'the SDK streamed aws-chunked');
  t.match(String(seen?.headers['x-amz-content-sha256']), /^STREAMING-/);
  const head = await s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'stream.bin', ChecksumMode: 'ENABLED' }));
  t.equal(head.ContentLength, big.length);
  t.equal(head.ChecksumCRC32, streamed.ChecksumCRC32, 'stored checksum returned with checksum mode');
  const g2 = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'stream.bin', ChecksumMode: 'ENABLED' }));
  t.equal(md5(Buffer.from(await g2.Body!.transformToByteArray())), md5(big));

  // Ranges and conditions.
  const r = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'a/b c+d.txt', Range: 'bytes=6-' }));
  t.equal(await r.Body!.transformToString(), 'world');
  t.equal(r.ContentRange, 'bytes 6-10/11');
  t.equal(r.$metadata.httpStatusCode, 206);
  const sfx = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'a/b c+d.txt', Range: 'bytes=-3' }));
  t.equal(await sfx.Body!.transformToString(), 'rld');
  t.equal(await code(s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'a/b c+d.txt', Range: 'bytes=20-30' }))), 'InvalidRange:416');
  t.equal(await code(s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'a/b c+d.txt', IfMatch: '"nope"' }))), 'PreconditionFailed:412');
  t.equal(await code(s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'a/b c+d.txt', IfNoneMatch: put.ETag }))), 'Unknown:304', 'Not Modified');
  t.equal(await code(s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'a/b c+d.txt', IfModifiedSince: new Date(Date.now() + 60000) }))), 'ok',
    'a future If-Modified-Since is ignored');
  t.equal(await code(s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'a/b c+d.txt', IfModifiedSince: new Date(Date.now() - 1000 * 3600 * 24 * 365 * 10) }))), 'ok');
  t.equal(await code(s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'a/b c+d.txt', IfUnmodifiedSince: new Date(Date.now() - 1000 * 3600) }))), 'PreconditionFailed:412');
  t.equal(await code(s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'missing' }))), 'NoSuchKey:404');
  t.equal(await code(s3.send(new GetObjectCommand({ Bucket: 'nobucket', Key: 'x' }))), 'NoSuchBucket:404');
  t.equal(await code(s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'missing' }))), 'NotFound:404');
  t.equal(await code(s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'k'.repeat(1025) }))), 'KeyTooLongError:400');

  // Conditional PUT.
  t.equal(await code(s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'stream.bin', Body: 'x', IfNoneMatch: '*' }))), 'PreconditionFailed:412');
  t.equal(await code(s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'fresh', Body: 'x', IfNoneMatch: '*' }))), 'ok');
  t.equal(await code(s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'fresh', Body: 'y', IfMatch: '"0000"' }))), 'PreconditionFailed:412');
  t.equal(await code(s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'fresh', Body: 'y', IfMatch: `"${md5('x')}"` }))), 'ok');
  // Content-MD5.
  t.equal(await code(s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'md5', Body: 'abc', ContentMD5: Buffer.from(md5('abd'), 'hex').toString('base64') }))), 'BadDigest:400');
  t.equal(await code(s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'md5', Body: 'abc', ContentMD5: Buffer.from(md5('abc'), 'hex').toString('base64') }))), 'ok');
  t.equal(await code(s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'crc', Body: 'abc', ChecksumCRC32: 'AAAAAA==' }))), 'BadDigest:400');
  t.equal(await code(s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'sha', Body: 'abc', ChecksumAlgorithm: 'SHA256' }))), 'ok');
  const sha = await s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'sha', ChecksumMode: 'ENABLED' }));
  t.equal(sha.ChecksumSHA256, createHash('sha256').update('abc').digest('base64'));

  // Copy.
  const copied = await s3.send(new CopyObjectCommand({ Bucket: 'photos', Key: 'copy.txt', CopySource: 'photos/a/b%20c%2Bd.txt' }));
  t.equal(copied.CopyObjectResult?.ETag, put.ETag);
  const c1 = await s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'copy.txt' }));
  t.same(c1.Metadata, { color: 'blue' });
  t.equal(c1.ContentType, 'text/plain');
  await s3.send(new CopyObjectCommand({ Bucket: 'photos', Key: 'copy.txt', CopySource: 'photos/copy.txt', MetadataDirective: 'REPLACE', Metadata: { size: 'l' }, ContentType: 'text/html' }));
  const c2 = await s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'copy.txt' }));
  t.same(c2.Metadata, { size: 'l' });
  t.equal(c2.ContentType, 'text/html');
  t.equal(await code(s3.send(new CopyObjectCommand({ Bucket: 'photos', Key: 'copy.txt', CopySource: 'photos/copy.txt' }))), 'InvalidRequest:400');
  t.equal(await code(s3.send(new CopyObjectCommand({ Bucket: 'photos', Key: 'c3', CopySource: 'photos/copy.txt', CopySourceIfMatch: '"zz"' }))), 'PreconditionFailed:412');
  t.equal(await code(s3.send(new CopyObjectCommand({ Bucket: 'photos', Key: 'c3', CopySource: 'photos/copy.txt', CopySourceIfNoneMatch: put.ETag }))), 'PreconditionFailed:412');
  t.equal(await code(s3.send(new CopyObjectCommand({ Bucket: 'photos', Key: 'c3', CopySource: 'photos/none' }))), 'NoSuchKey:404');

  // Awkward keys and the remaining content headers, streamed (aws-chunked must not leak into Content-Encoding).
  for (const key of ['dir/ü ñ/%41?#&=+.txt', ' lead and trail ', 'a//double', '☃/\u00e9\u0301', '~!$\'()*,;:@[]']) {
    await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: key, Body: key }));
    const o = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: key }));
    t.equal(await o.Body!.transformToString(), key, `key ${JSON.stringify(key)} round-trips`);
    await s3.send(new DeleteObjectCommand({ Bucket: 'photos', Key: key }));
  }
  const expires = new Date('2030-01-01T00:00:00Z');
  await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'gz', Body: Readable.from([Buffer.from('not really gzip')]), ContentLength: 15, ContentEncoding: 'gzip', Expires: expires }));
  const gz = await s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'gz' }));
  t.equal(gz.ContentEncoding, 'gzip');
  t.equal(gz.Expires?.toISOString(), expires.toISOString());
  await s3.send(new DeleteObjectCommand({ Bucket: 'photos', Key: 'gz' }));

  // Delete.
  t.equal(await code(s3.send(new DeleteBucketCommand({ Bucket: 'photos' }))), 'BucketNotEmpty:409');
  await s3.send(new DeleteObjectCommand({ Bucket: 'photos', Key: 'copy.txt' }));
  await s3.send(new DeleteObjectCommand({ Bucket: 'photos', Key: 'copy.txt' }));
  t.equal(await code(s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'copy.txt' }))), 'NotFound:404');
  const multi = await s3.send(new DeleteObjectsCommand({ Bucket: 'photos', Delete: { Objects: [{ Key: 'fresh' }, { Key: 'never' }, { Key: 'k'.repeat(1100) }] } }));
  t.same(multi.Deleted?.map((d) => d.Key), ['fresh', 'never']);
  t.same(multi.Errors?.map((e) => e.Code), ['KeyTooLongError']);
  const quiet = await s3.send(new DeleteObjectsCommand({ Bucket: 'photos', Delete: { Quiet: true, Objects: [{ Key: 'a/b c+d.txt' }, { Key: 'stream.bin' }, { Key: 'md5' }, { Key: 'sha' }] } }));
  t.notOk(quiet.Deleted?.length, 'quiet mode lists no deleted keys');
  await s3.send(new DeleteBucketCommand({ Bucket: 'photos' }));
  t.equal(await code(s3.send(new DeleteBucketCommand({ Bucket: 'photos' }))), 'NoSuchBucket:404');
});
