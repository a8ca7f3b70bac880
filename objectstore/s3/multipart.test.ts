import t from 'tap';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand,
  CreateMultipartUploadCommand, DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand,
  ListMultipartUploadsCommand, ListObjectsV2Command, ListPartsCommand, PutObjectCommand, UploadPartCommand,
  UploadPartCopyCommand, ListBucketsCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { startS3Server, sdkClient, ROOT } from './testing.js';

const MiB = 1024 * 1024;
const md5 = (b: Buffer) => createHash('md5').update(b).digest();
/** Deterministic bytes that differ at every offset inside a part (so a misplaced range shows). */
function pattern(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) b.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  return b;
}

t.test('multipart with lib-storage Upload and raw commands', async (t) => {
  const srv = await startS3Server();
  t.teardown(() => srv.close());
  const s3 = sdkClient(srv.url, ROOT);
  t.teardown(() => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: 'mp-test' }));

  const data = pattern(12 * MiB + 123, 1);
  const up = new Upload({ client: s3, params: { Bucket: 'mp-test', Key: 'big/file.bin', Body: Readable.from([data]), ContentType: 'application/x-test', Metadata: { origin: 'lib-storage' } }, partSize: 5 * MiB, queueSize: 2 });
  const done = await up.done();
  const parts = [data.subarray(0, 5 * MiB), data.subarray(5 * MiB, 10 * MiB), data.subarray(10 * MiB)];
  const expectedEtag = `"${createHash('md5').update(Buffer.concat(parts.map(md5))).digest('hex')}-3"`;
  t.equal(done.ETag, expectedEtag, 'ETag is md5 of the part md5s, dash part count');

  const head = await s3.send(new HeadObjectCommand({ Bucket: 'mp-test', Key: 'big/file.bin' }));
  t.equal(head.ContentLength, data.length);
  t.equal(head.ETag, expectedEtag);
  t.equal(head.ContentType, 'application/x-test');
  t.same(head.Metadata, { origin: 'lib-storage' });
  const got = await s3.send(new GetObjectCommand({ Bucket: 'mp-test', Key: 'big/file.bin' }));
  t.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data), 'whole object is the concatenated parts');
  const start = 5 * MiB - 10;
  const end = 10 * MiB + 9;
  const ranged = await s3.send(new GetObjectCommand({ Bucket: 'mp-test', Key: 'big/file.bin', Range: `bytes=${start}-${end}` }));
  t.ok(Buffer.from(await ranged.Body!.transformToByteArray()).equals(data.subarray(start, end + 1)), 'a range across three parts');
  t.equal(ranged.ContentRange, `bytes ${start}-${end}/${data.length}`);

  // lib-storage sent a CRC32 per part: the object carries the composite checksum, and a GET
  // with checksum mode still succeeds (the SDK does not validate composite values).
  const withSum = await s3.send(new GetObjectCommand({ Bucket: 'mp-test', Key: 'big/file.bin', ChecksumMode: 'ENABLED' }));
  t.match(withSum.ChecksumCRC32, /^[A-Za-z0-9+/]{6}==-3$/);
  t.equal(Buffer.from(await withSum.Body!.transformToByteArray()).length, data.length);
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'mp-test' }));
  t.same(listed.Contents?.map((c) => [c.Key, c.Size, c.ETag]), [['big/file.bin', data.length, expectedEtag]]);
  t.same((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name), ['mp-test'], 'segments container is hidden');

  // Raw commands: list uploads and parts, too-small parts, wrong parts, part copy, abort.
  const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mp-test', Key: 'raw' }));
  const uploadId = created.UploadId!;
  const p1 = await s3.send(new UploadPartCommand({ Bucket: 'mp-test', Key: 'raw', UploadId: uploadId, PartNumber: 1, Body: Buffer.alloc(1000, 1) }));
  const p2 = await s3.send(new UploadPartCommand({ Bucket: 'mp-test', Key: 'raw', UploadId: uploadId, PartNumber: 2, Body: Buffer.alloc(1000, 2) }));
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'mp-test' }));
  t.same(uploads.Uploads?.map((u) => [u.Key, u.UploadId]), [['raw', uploadId]]);
  const lp = await s3.send(new ListPartsCommand({ Bucket: 'mp-test', Key: 'raw', UploadId: uploadId }));
  t.same(lp.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag]), [[1, 1000, p1.ETag], [2, 1000, p2.ETag]]);
  const lp1 = await s3.send(new ListPartsCommand({ Bucket: 'mp-test', Key: 'raw', UploadId: uploadId, MaxParts: 1 }));
  t.equal(lp1.IsTruncated, true);
  t.equal(lp1.NextPartNumberMarker, '1');
  await t.rejects(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'mp-test', Key: 'raw', UploadId: uploadId,
    MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag }] } })), { name: 'EntityTooSmall' });
  await t.rejects(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'mp-test', Key: 'raw', UploadId: uploadId,
    MultipartUpload: { Parts: [{ PartNumber: 2, ETag: p2.ETag }, { PartNumber: 1, ETag: p1.ETag }] } })), { name: 'InvalidPartOrder' });
  await t.rejects(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'mp-test', Key: 'raw', UploadId: uploadId,
    MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"0123"' }] } })), { name: 'InvalidPart' });
  await t.rejects(s3.send(new UploadPartCommand({ Bucket: 'mp-test', Key: 'raw', UploadId: uploadId, PartNumber: 10001, Body: 'x' })), { name: 'InvalidArgument' });
  // Part copy with a range from the multipart object, then a last small part: completes.
  const pc = await s3.send(new UploadPartCopyCommand({ Bucket: 'mp-test', Key: 'raw', UploadId: uploadId, PartNumber: 1,
    CopySource: 'mp-test/big/file.bin', CopySourceRange: `bytes=${MiB}-${7 * MiB - 1}` }));
  t.equal(pc.CopyPartResult?.ETag, `"${md5(data.subarray(MiB, 7 * MiB)).toString('hex')}"`);
  const fin = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'mp-test', Key: 'raw', UploadId: uploadId,
    MultipartUpload: { Parts: [{ PartNumber: 1, ETag: pc.CopyPartResult!.ETag }, { PartNumber: 2, ETag: p2.ETag }] } }));
  t.match(fin.ETag, /-2"$/);
  const raw = await s3.send(new GetObjectCommand({ Bucket: 'mp-test', Key: 'raw' }));
  t.ok(Buffer.from(await raw.Body!.transformToByteArray()).equals(Buffer.concat([data.subarray(MiB, 7 * MiB), Buffer.alloc(1000, 2)])));
  await t.rejects(s3.send(new ListPartsCommand({ Bucket: 'mp-test', Key: 'raw', UploadId: uploadId })), { name: 'NoSuchUpload' });

  // Copying a multipart object gives a plain object with the same bytes.
  await s3.send(new CopyObjectCommand({ Bucket: 'mp-test', Key: 'flat', CopySource: 'mp-test/raw' }));
  const flat = await s3.send(new GetObjectCommand({ Bucket: 'mp-test', Key: 'flat' }));
  t.equal(flat.ContentLength, 6 * MiB + 1000);
  t.notMatch(flat.ETag, /-/);
  await flat.Body!.transformToByteArray();

  const ab = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mp-test', Key: 'aborted' }));
  await s3.send(new UploadPartCommand({ Bucket: 'mp-test', Key: 'aborted', UploadId: ab.UploadId, PartNumber: 1, Body: 'x' }));
  await s3.send(new AbortMultipartUploadCommand({ Bucket: 'mp-test', Key: 'aborted', UploadId: ab.UploadId }));
  await t.rejects(s3.send(new AbortMultipartUploadCommand({ Bucket: 'mp-test', Key: 'aborted', UploadId: ab.UploadId })), { name: 'NoSuchUpload' });
  await t.rejects(s3.send(new UploadPartCommand({ Bucket: 'mp-test', Key: 'x', UploadId: 'f'.repeat(32), PartNumber: 1, Body: 'x' })), { name: 'NoSuchUpload' });
  t.notOk((await s3.send(new ListMultipartUploadsCommand({ Bucket: 'mp-test' }))).Uploads?.length);

  // Parts of a multipart object by number.
  const h2 = await s3.send(new HeadObjectCommand({ Bucket: 'mp-test', Key: 'big/file.bin', PartNumber: 2 }));
  t.equal(h2.ContentLength, 5 * MiB);
  t.equal(h2.PartsCount, 3);
  const g3 = await s3.send(new GetObjectCommand({ Bucket: 'mp-test', Key: 'big/file.bin', PartNumber: 3 }));
  t.ok(Buffer.from(await g3.Body!.transformToByteArray()).equals(parts[2]!));
  await t.rejects(s3.send(new GetObjectCommand({ Bucket: 'mp-test', Key: 'big/file.bin', PartNumber: 4 })), { name: 'InvalidPartNumber' });

  // Overwriting a multipart object frees its segments.
  const before = (await srv.backend.listObjects('root', 'mp-test+segments')).entries.length;
  await s3.send(new PutObjectCommand({ Bucket: 'mp-test', Key: 'raw', Body: 'small now' }));
  t.equal((await srv.backend.listObjects('root', 'mp-test+segments')).entries.length, before - 2, 'the two segments of "raw" are gone');
  t.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'mp-test', Key: 'raw' }))).Body!.transformToString(), 'small now');

  // Deleting the objects removes their segments; then the bucket can go.
  for (const k of ['big/file.bin', 'raw', 'flat']) await s3.send(new DeleteObjectCommand({ Bucket: 'mp-test', Key: k }));
  const seg = await srv.backend.listObjects('root', 'mp-test+segments');
  t.same(seg.entries, [], 'no segment left behind');
  await s3.send(new DeleteBucketCommand({ Bucket: 'mp-test' }));
  await t.rejects(srv.backend.headContainer('root', 'mp-test+segments'));
  // Overwriting with a small PUT works after all that.
  await s3.send(new CreateBucketCommand({ Bucket: 'mp-test' }));
  await s3.send(new PutObjectCommand({ Bucket: 'mp-test', Key: 'k', Body: 'v' }));
});

t.test('a proxy that saw no multipart upload in a bucket still frees the segments of one another proxy made', async (t) => {
  // Proxy A writes "k" into a bucket without multipart uploads: it learns (and caches) that the
  // bucket has no segments container, so it skips the HEAD before writes. Proxy B, on the same
  // store, then makes "k" a multipart object; A overwrites it right after.
  const a = await startS3Server();
  t.teardown(() => a.close());
  const b = await startS3Server({ backend: a.backend });
  t.teardown(() => b.close());
  const sa = sdkClient(a.url, ROOT);
  const sb = sdkClient(b.url, ROOT);
  t.teardown(() => { sa.destroy(); sb.destroy(); });
  await sa.send(new CreateBucketCommand({ Bucket: 'two-proxies' }));
  await sa.send(new PutObjectCommand({ Bucket: 'two-proxies', Key: 'k', Body: 'plain' }));
  const started = Date.now();
  const up = await sb.send(new CreateMultipartUploadCommand({ Bucket: 'two-proxies', Key: 'k' }));
  t.ok(Date.now() - started >= 900, 'the first upload into the bucket waits for every proxy to learn of it');
  const part = await sb.send(new UploadPartCommand({ Bucket: 'two-proxies', Key: 'k', UploadId: up.UploadId, PartNumber: 1, Body: 'multi' }));
  await sb.send(new CompleteMultipartUploadCommand({
    Bucket: 'two-proxies', Key: 'k', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
  }));
  t.equal(await (await sa.send(new GetObjectCommand({ Bucket: 'two-proxies', Key: 'k' }))).Body!.transformToString(), 'multi');
  t.equal((await a.backend.listObjects('root', 'two-proxies+segments')).entries.length, 1, 'one segment');
  await sa.send(new PutObjectCommand({ Bucket: 'two-proxies', Key: 'k', Body: 'plain again' }));
  t.same((await a.backend.listObjects('root', 'two-proxies+segments')).entries, [], 'its segment freed by proxy A');
});
