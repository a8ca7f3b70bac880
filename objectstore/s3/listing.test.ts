import t from 'tap';
import {
  CreateBucketCommand, ListObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3ServiceException,
} from '@aws-sdk/client-s3';
import { startS3Server, sdkClient, ROOT } from './testing.js';
import { urlEncodeKey } from './listing.js';

const KEYS = ['a/1', 'a/2', 'a/b/3', 'b', 'c d+e', 'photos/2024/x.jpg', 'photos/2025/y.jpg', 'z', 'é'];

t.test('ListObjectsV2 and V1', async (t) => {
  const srv = await startS3Server();
  t.teardown(() => srv.close());
  const s3 = sdkClient(srv.url, ROOT);
  t.teardown(() => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: 'list-test' }));
  for (const k of KEYS) await s3.send(new PutObjectCommand({ Bucket: 'list-test', Key: k, Body: k }));

  const all = await s3.send(new ListObjectsV2Command({ Bucket: 'list-test' }));
  t.same(all.Contents?.map((c) => c.Key), KEYS);
  t.equal(all.KeyCount, KEYS.length);
  t.equal(all.IsTruncated, false);
  t.equal(all.Contents?.[0]?.Size, 3);
  t.match(all.Contents?.[0]?.ETag, /^"[0-9a-f]{32}"$/);

  const top = await s3.send(new ListObjectsV2Command({ Bucket: 'list-test', Delimiter: '/' }));
  t.same(top.CommonPrefixes?.map((p) => p.Prefix), ['a/', 'photos/']);
  t.same(top.Contents?.map((c) => c.Key), ['b', 'c d+e', 'z', 'é']);
  t.equal(top.KeyCount, 6);

  const photos = await s3.send(new ListObjectsV2Command({ Bucket: 'list-test', Prefix: 'photos/', Delimiter: '/' }));
  t.same(photos.CommonPrefixes?.map((p) => p.Prefix), ['photos/2024/', 'photos/2025/']);
  t.notOk(photos.Contents?.length);

  // Paging with continuation tokens, delimiter included: every entry exactly once.
  const seen: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: 'list-test', Delimiter: '/', MaxKeys: 2, ContinuationToken: token }));
    seen.push(...(page.CommonPrefixes ?? []).map((p) => `[${p.Prefix}]`), ...(page.Contents ?? []).map((c) => c.Key!));
    token = page.NextContinuationToken;
    pages++;
    if (page.IsTruncated) t.ok(token, 'a truncated page has a token');
  } while (token);
  t.same(seen.sort(), ['[a/]', '[photos/]', 'b', 'c d+e', 'z', 'é'].sort());
  t.equal(pages, 3);

  const after = await s3.send(new ListObjectsV2Command({ Bucket: 'list-test', StartAfter: 'photos/2025/y.jpg' }));
  t.same(after.Contents?.map((c) => c.Key), ['z', 'é']);

  const encoded = await s3.send(new ListObjectsV2Command({ Bucket: 'list-test', Prefix: 'c', EncodingType: 'url' }));
  t.same(encoded.Contents?.map((c) => c.Key), ['c+d%2Be']);
  t.equal(urlEncodeKey('a b/é'), 'a+b/%C3%A9');

  const v1 = await s3.send(new ListObjectsCommand({ Bucket: 'list-test', MaxKeys: 4 }));
  t.same(v1.Contents?.map((c) => c.Key), KEYS.slice(0, 4));
  t.equal(v1.IsTruncated, true);
  t.equal(v1.NextMarker, 'b');
  const v1b = await s3.send(new ListObjectsCommand({ Bucket: 'list-test', Marker: v1.NextMarker }));
  t.same(v1b.Contents?.map((c) => c.Key), KEYS.slice(4));
  t.equal(v1b.IsTruncated, false);

  await t.rejects(s3.send(new ListObjectsV2Command({ Bucket: 'list-test', ContinuationToken: '!!!' })), { name: 'InvalidArgument' });
  await t.rejects(s3.send(new ListObjectsV2Command({ Bucket: 'missing-bucket' })), { name: 'NoSuchBucket' });
  const zero = await s3.send(new ListObjectsV2Command({ Bucket: 'list-test', MaxKeys: 0 }));
  t.equal(zero.KeyCount, 0);
  try {
    await s3.send(new ListObjectsV2Command({ Bucket: 'list-test', MaxKeys: -1 }));
    t.fail('negative max-keys accepted');
  } catch (e) {
    t.ok(e instanceof S3ServiceException);
  }
});
