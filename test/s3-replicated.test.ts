/**
 * The S3 front end over the replicated store: real storage node processes (from dist/), the
 * ReplicatedBackend, and the SDK at default settings — objects, listings, conditional writes,
 * copies, multipart uploads stored as segments, and users kept in the system account.
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand, CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand,
  ListObjectsV2Command, PutObjectCommand, ListBucketsCommand, ListMultipartUploadsCommand, CreateMultipartUploadCommand,
  DeleteObjectsCommand, UploadPartCommand, CompleteMultipartUploadCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { TestCluster } from '../objectstore/cluster/test-cluster.js';
import { startS3Server, sdkClient, ROOT } from '../objectstore/s3/testing.js';
import { StoreUserDirectory } from '../objectstore/auth/store-user-directory.js';

const MiB = 1024 * 1024;
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

/** Container listings are updated asynchronously by the storage nodes: retry for a while. */
async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 15000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const v = await fn();
      if (ok(v) || Date.now() > end) return v;
    } catch (e) {
      if (Date.now() > end) throw e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

t.test('S3 on the replicated store', async (t) => {
  const cluster = await TestCluster.start();
  t.teardown(() => cluster.stop());
  const directory = new StoreUserDirectory(cluster.backend, { staticUsers: [ROOT] });
  const srv = await startS3Server({ backend: cluster.backend, directory });
  t.teardown(() => srv.close());
  const s3 = sdkClient(srv.url, ROOT);
  t.teardown(() => s3.destroy());

  await s3.send(new CreateBucketCommand({ Bucket: 'replicated' }));
  await t.rejects(s3.send(new CreateBucketCommand({ Bucket: 'replicated' })), { name: 'BucketAlreadyOwnedByYou' });
  const body = randomBytes(200 * 1024);
  const put = await s3.send(new PutObjectCommand({ Bucket: 'replicated', Key: 'dir/one.bin', Body: Readable.from([body]), ContentLength: body.length, Metadata: { a: '1' } }));
  t.equal(put.ETag, `"${md5(body)}"`);
  const got = await s3.send(new GetObjectCommand({ Bucket: 'replicated', Key: 'dir/one.bin', ChecksumMode: 'ENABLED' }));
  t.equal(md5(Buffer.from(await got.Body!.transformToByteArray())), md5(body));
  t.same(got.Metadata, { a: '1' });
  t.equal(got.ChecksumCRC32, put.ChecksumCRC32, 'trailer checksum stored with the object');
  const part = await s3.send(new GetObjectCommand({ Bucket: 'replicated', Key: 'dir/one.bin', Range: 'bytes=100-199' }));
  t.ok(Buffer.from(await part.Body!.transformToByteArray()).equals(body.subarray(100, 200)));

  await t.rejects(s3.send(new PutObjectCommand({ Bucket: 'replicated', Key: 'dir/one.bin', Body: 'x', IfNoneMatch: '*' })), { name: 'PreconditionFailed' });
  for (let i = 0; i < 5; i++) await s3.send(new PutObjectCommand({ Bucket: 'replicated', Key: `dir/n${i}`, Body: `n${i}` }));
  await s3.send(new CopyObjectCommand({ Bucket: 'replicated', Key: 'copy.bin', CopySource: 'replicated/dir/one.bin' }));
  const listed = await eventually(() => s3.send(new ListObjectsV2Command({ Bucket: 'replicated', Delimiter: '/' })), (l) => l.Contents?.length === 1);
  t.same(listed.CommonPrefixes?.map((p) => p.Prefix), ['dir/']);
  t.same(listed.Contents?.map((c) => c.Key), ['copy.bin']);
  const pagedKeys = async () => {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: 'replicated', Prefix: 'dir/', MaxKeys: 2, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((c) => c.Key!));
      token = page.NextContinuationToken;
    } while (token);
    return keys;
  };
  const paged = await eventually(pagedKeys, (k) => k.length === 6);
  t.same(paged, ['dir/n0', 'dir/n1', 'dir/n2', 'dir/n3', 'dir/n4', 'dir/one.bin']);

  // Multipart: 11 MiB in 5 MiB parts, served back across part boundaries.
  const big = randomBytes(11 * MiB);
  const done = await new Upload({ client: s3, params: { Bucket: 'replicated', Key: 'big.bin', Body: Readable.from([big]) }, partSize: 5 * MiB, queueSize: 2 }).done();
  t.match(done.ETag, /-3"$/);
  const head = await s3.send(new HeadObjectCommand({ Bucket: 'replicated', Key: 'big.bin' }));
  t.equal(head.ContentLength, big.length);
  const across = await s3.send(new GetObjectCommand({ Bucket: 'replicated', Key: 'big.bin', Range: `bytes=${5 * MiB - 3}-${5 * MiB + 2}` }));
  t.ok(Buffer.from(await across.Body!.transformToByteArray()).equals(big.subarray(5 * MiB - 3, 5 * MiB + 3)));
  const whole = await s3.send(new GetObjectCommand({ Bucket: 'replicated', Key: 'big.bin' }));
  t.equal(md5(Buffer.from(await whole.Body!.transformToByteArray())), md5(big));
  // An upload started through one proxy is visible to another (state lives in the store).
  const other = await startS3Server({ backend: cluster.backend, directory });
  t.teardown(() => other.close());
  const s3b = sdkClient(other.url, ROOT);
  t.teardown(() => s3b.destroy());
  const started = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'replicated', Key: 'pending' }));
  const uploads = await eventually(() => s3b.send(new ListMultipartUploadsCommand({ Bucket: 'replicated' })), (u) => !!u.Uploads?.length);
  t.same(uploads.Uploads?.map((u) => u.UploadId), [started.UploadId]);
  const p1 = randomBytes(5 * MiB);
  const up1 = await s3b.send(new UploadPartCommand({ Bucket: 'replicated', Key: 'pending', UploadId: started.UploadId, PartNumber: 1, Body: p1 }));
  const up2 = await s3.send(new UploadPartCommand({ Bucket: 'replicated', Key: 'pending', UploadId: started.UploadId, PartNumber: 2, Body: 'end' }));
  await s3b.send(new CompleteMultipartUploadCommand({ Bucket: 'replicated', Key: 'pending', UploadId: started.UploadId,
    MultipartUpload: { Parts: [{ PartNumber: 1, ETag: up1.ETag }, { PartNumber: 2, ETag: up2.ETag }] } }));
  const pending = await s3.send(new GetObjectCommand({ Bucket: 'replicated', Key: 'pending' }));
  t.equal(md5(Buffer.from(await pending.Body!.transformToByteArray())), md5(Buffer.concat([p1, Buffer.from('end')])), 'parts through both proxies, completed on the other');

  // A user added in the store works through the other proxy.
  const alice = await directory.add('alice');
  const as = sdkClient(other.url, alice);
  t.teardown(() => as.destroy());
  await as.send(new CreateBucketCommand({ Bucket: 'replicated' }));
  t.same((await as.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name), ['replicated']);
  t.notOk((await as.send(new ListObjectsV2Command({ Bucket: 'replicated' }))).Contents?.length, 'same bucket name, other account, empty');

  await t.rejects(s3.send(new DeleteBucketCommand({ Bucket: 'replicated' })), { name: 'BucketNotEmpty' });
  const keys = ['copy.bin', 'big.bin', 'pending', 'dir/one.bin', ...[0, 1, 2, 3, 4].map((i) => `dir/n${i}`)];
  const deleted = await s3.send(new DeleteObjectsCommand({ Bucket: 'replicated', Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
  t.same(deleted.Errors ?? [], [], 'every key deleted');
  await s3.send(new DeleteObjectCommand({ Bucket: 'replicated', Key: 'never-was' }));
  await eventually(() => s3.send(new DeleteBucketCommand({ Bucket: 'replicated' })), () => true);
  t.notOk((await s3.send(new ListBucketsCommand({}))).Buckets?.length);
});
