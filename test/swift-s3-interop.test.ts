/**
 * The S3 and Swift front ends on one server and one backend, as the proxy mounts them:
 * objects, metadata, containers/buckets and large objects written through one API are listed
 * and read through the other.
 */
import { createHash, randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import t from 'tap';
import {
  CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListBucketsCommand, ListObjectsV2Command, PutObjectCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { StaticUserDirectory, type User } from '../objectstore/auth/users.js';
import { MemoryBackend } from '../objectstore/proxy/memory-backend.js';
import { s3Plugin } from '../objectstore/s3/plugin.js';
import { sdkClient } from '../objectstore/s3/testing.js';
import { swiftPlugin } from '../objectstore/swift/index.js';
import { raw, swiftLogin, type RawRequest } from '../objectstore/swift/test-client.js';

const USER: User = { accessKey: 'INTEROPKEY', secretKey: 'interop-secret', account: 'interop' };
const md5 = (b: string | Buffer) => createHash('md5').update(b).digest('hex');

const backend = new MemoryBackend();
const app = Fastify({ logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
const users = new StaticUserDirectory([USER]);
await app.register(s3Plugin, { backend, users });
await app.register(swiftPlugin, { backend, users, secret: 'interop-cluster-secret' });
await app.listen({ host: '127.0.0.1', port: 0 });
const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
t.teardown(() => app.close());

const s3 = sdkClient(url, USER);
const { storageUrl, token } = await swiftLogin(url, USER.accessKey, USER.secretKey);
const swift = (path: string, req: RawRequest = {}) =>
  raw(`${storageUrl}${path}`, { ...req, headers: { 'x-auth-token': token, ...(req.headers ?? {}) } });

t.test('written with S3, read with Swift', async (t) => {
  await s3.send(new CreateBucketCommand({ Bucket: 'from-s3' }));
  await s3.send(new PutObjectCommand({
    Bucket: 'from-s3', Key: 'dir/hello.txt', Body: 'hello from s3', ContentType: 'text/plain', Metadata: { color: 'blue' },
  }));
  t.equal((await swift('')).text, 'from-s3\n', 'the bucket is a container');
  t.equal((await swift('/from-s3')).text, 'dir/hello.txt\n');
  const got = await swift('/from-s3/dir/hello.txt');
  t.equal(got.status, 200);
  t.equal(got.text, 'hello from s3');
  t.equal(got.headers.etag, md5('hello from s3'));
  t.equal(got.headers['x-object-meta-color'], 'blue');
  t.equal(got.headers['content-type'], 'text/plain');
});

t.test('written with Swift, read with S3', async (t) => {
  t.equal((await swift('/from-swift', { method: 'PUT' })).status, 201);
  t.equal((await swift('/from-swift/obj.bin', { method: 'PUT', body: 'hello from swift', headers: { 'x-object-meta-shape': 'round', 'content-type': 'application/x-test' } })).status, 201);
  const buckets = await s3.send(new ListBucketsCommand({}));
  t.same(buckets.Buckets?.map((b) => b.Name), ['from-s3', 'from-swift']);
  const list = await s3.send(new ListObjectsV2Command({ Bucket: 'from-swift' }));
  t.same(list.Contents?.map((c) => [c.Key, c.Size]), [['obj.bin', 16]]);
  const got = await s3.send(new GetObjectCommand({ Bucket: 'from-swift', Key: 'obj.bin' }));
  t.equal(await got.Body!.transformToString(), 'hello from swift');
  t.same(got.Metadata, { shape: 'round' });
  t.equal(got.ContentType, 'application/x-test');
  t.equal(got.ETag, `"${md5('hello from swift')}"`);
});

t.test('S3 multipart upload is a Swift static large object', async (t) => {
  const part = 5 * 1024 * 1024;
  const data = randomBytes(2 * part + 1234);
  await new Upload({ client: s3, params: { Bucket: 'from-s3', Key: 'big.img', Body: data }, partSize: part, queueSize: 1 }).done();
  const head = await swift('/from-s3/big.img', { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.headers['content-length'], String(data.length));
  t.equal(head.headers['x-static-large-object'], 'True');
  const got = await swift('/from-s3/big.img');
  t.ok(got.body.equals(data), 'Swift GET serves the concatenated parts');
  const ranged = await swift('/from-s3/big.img', { headers: { range: `bytes=${part - 10}-${part + 9}` } });
  t.ok(ranged.body.equals(data.subarray(part - 10, part + 10)), 'a range across parts');
  const rows = JSON.parse((await swift('/from-s3?format=json&prefix=big')).text);
  t.equal(rows[0].bytes, data.length, 'Swift listing shows the whole size');
  t.equal(rows[0].content_type.includes('swift_bytes'), false);
});

t.test('Swift SLO and DLO are read whole through S3', async (t) => {
  await swift('/segs', { method: 'PUT' });
  await swift('/segs/p/1', { method: 'PUT', body: 'first-' });
  await swift('/segs/p/2', { method: 'PUT', body: 'second' });
  const manifest = JSON.stringify([{ path: '/segs/p/1' }, { path: '/segs/p/2' }]);
  t.equal((await swift('/from-swift/slo?multipart-manifest=put', { method: 'PUT', body: manifest })).status, 201);
  const slo = await s3.send(new GetObjectCommand({ Bucket: 'from-swift', Key: 'slo' }));
  t.equal(await slo.Body!.transformToString(), 'first-second');
  const head = await s3.send(new HeadObjectCommand({ Bucket: 'from-swift', Key: 'slo' }));
  t.equal(head.ContentLength, 12);
  const list = await s3.send(new ListObjectsV2Command({ Bucket: 'from-swift', Prefix: 'slo' }));
  t.equal(list.Contents?.[0]?.Size, 12, 'S3 listing shows the whole size');
});
