import t from 'tap';
import * as http from 'node:http';
import {
  CreateBucketCommand, GetObjectCommand, ListBucketsCommand, ListObjectsV2Command, PutObjectCommand,
} from '@aws-sdk/client-s3';
import { startS3Server, sdkClient, ROOT } from './testing.js';
import { presignUrl, signRequest, signingKey, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER, sha256Hex } from './sigv4.js';
import { encodeAwsChunked } from './chunked.js';
import { checksumOf } from './checksums.js';
import type { User } from '../auth/users.js';

const ALICE: User = { accessKey: 'ALICEKEY', secretKey: 'alice-secret', account: 'alice' };
const BOB: User = { accessKey: 'BOBKEY', secretKey: 'bob-secret', account: 'bob' };

interface Answer { status: number; headers: http.IncomingHttpHeaders; body: string }

function send(url: URL, method: string, headers: Record<string, string>, body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const codeOf = (a: Answer) => /<Code>([^<]*)<\/Code>/.exec(a.body)?.[1];

t.test('signatures, presigned URLs, clock skew, anonymous access', async (t) => {
  const srv = await startS3Server({ users: [ROOT, ALICE] });
  t.teardown(() => srv.close());
  const s3 = sdkClient(srv.url, ROOT);
  t.teardown(() => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: 'auth-test' }));
  await s3.send(new PutObjectCommand({ Bucket: 'auth-test', Key: 'doc.txt', Body: 'secret doc' }));

  const wrong = sdkClient(srv.url, { ...ROOT, secretKey: 'not-it' });
  t.teardown(() => wrong.destroy());
  await t.rejects(wrong.send(new ListBucketsCommand({})), { name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } });
  const unknown = sdkClient(srv.url, { ...ROOT, accessKey: 'NOBODY' });
  t.teardown(() => unknown.destroy());
  await t.rejects(unknown.send(new ListBucketsCommand({})), { name: 'InvalidAccessKeyId' });

  const anon = await send(new URL(`${srv.url}/auth-test/doc.txt`), 'GET', {});
  t.equal(anon.status, 403);
  t.equal(codeOf(anon), 'AccessDenied');
  t.match(anon.body, /<Resource>\/auth-test\/doc.txt<\/Resource>/);
  t.match(anon.body, /<RequestId>[0-9A-F]+<\/RequestId>/);

  const url = new URL(`${srv.url}/auth-test/doc.txt`);
  const skewed = await send(url, 'GET', signRequest({ method: 'GET', url, accessKey: ROOT.accessKey, secretKey: ROOT.secretKey, now: Date.now() - 20 * 60 * 1000 }));
  t.equal(codeOf(skewed), 'RequestTimeTooSkewed');
  const fine = await send(url, 'GET', signRequest({ method: 'GET', url, accessKey: ROOT.accessKey, secretKey: ROOT.secretKey, now: Date.now() - 10 * 60 * 1000 }));
  t.equal(fine.body, 'secret doc', 'ten minutes of skew is accepted');

  // Presigned URLs from our own signer (no presigner package is installed).
  const pre = presignUrl({ method: 'GET', url, accessKey: ROOT.accessKey, secretKey: ROOT.secretKey, expiresIn: 60 });
  const got = await send(pre, 'GET', {});
  t.equal(got.status, 200);
  t.equal(got.body, 'secret doc');
  const expired = presignUrl({ method: 'GET', url, accessKey: ROOT.accessKey, secretKey: ROOT.secretKey, expiresIn: 60, now: Date.now() - 120 * 1000 });
  const ex = await send(expired, 'GET', {});
  t.equal(codeOf(ex), 'AccessDenied');
  t.match(ex.body, /expired/);
  const tampered = new URL(pre);
  tampered.pathname = '/auth-test/other.txt';
  t.equal(codeOf(await send(tampered, 'GET', {})), 'SignatureDoesNotMatch');
  const putUrl = presignUrl({ method: 'PUT', url: new URL(`${srv.url}/auth-test/uploaded.txt`), accessKey: ROOT.accessKey, secretKey: ROOT.secretKey, expiresIn: 60 });
  t.equal((await send(putUrl, 'PUT', { 'content-type': 'text/plain' }, Buffer.from('via presigned put'))).status, 200);
  const check = await s3.send(new GetObjectCommand({ Bucket: 'auth-test', Key: 'uploaded.txt' }));
  t.equal(await check.Body!.transformToString(), 'via presigned put');
  const overrides = new URL(`${srv.url}/auth-test/doc.txt?response-content-type=application%2Fjson&response-content-disposition=attachment`);
  const ov = await send(presignUrl({ method: 'GET', url: overrides, accessKey: ROOT.accessKey, secretKey: ROOT.secretKey, expiresIn: 60 }), 'GET', {});
  t.equal(ov.headers['content-type'], 'application/json');
  t.equal(ov.headers['content-disposition'], 'attachment');

  // A signed payload whose body differs from its hash is refused and not stored.
  const bad = new URL(`${srv.url}/auth-test/hashed.txt`);
  const badAnswer = await send(bad, 'PUT', signRequest({ method: 'PUT', url: bad, accessKey: ROOT.accessKey, secretKey: ROOT.secretKey, payloadHash: sha256Hex('other') }), Buffer.from('content'));
  t.equal(codeOf(badAnswer), 'XAmzContentSHA256Mismatch');
  await t.rejects(srv.backend.headObject('root', 'auth-test', 'hashed.txt'));
});

t.test('aws-chunked: signed chunks, signed trailer, unsigned trailer', async (t) => {
  const srv = await startS3Server();
  t.teardown(() => srv.close());
  await srv.backend.putContainer('root', 'chunks');
  const chunks = [Buffer.alloc(70000, 'a'), Buffer.alloc(70000, 'b'), Buffer.from('tail')];
  const whole = Buffer.concat(chunks);

  async function put(key: string, mode: string, tamper?: (b: Buffer) => Buffer, trailer?: string) {
    const url = new URL(`${srv.url}/chunks/${key}`);
    const trailers = mode === STREAMING_SIGNED ? undefined : { 'x-amz-checksum-crc32c': trailer ?? checksumOf('crc32c', whole) };
    const base: Record<string, string> = {
      'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(whole.length),
      ...(trailers ? { 'x-amz-trailer': 'x-amz-checksum-crc32c' } : {}),
    };
    const headers = signRequest({ method: 'PUT', url, headers: base, accessKey: ROOT.accessKey, secretKey: ROOT.secretKey, payloadHash: mode });
    const amzDate = headers['x-amz-date']!;
    const signature = /Signature=([0-9a-f]+)/.exec(headers.authorization!)![1]!;
    const signing = mode === STREAMING_UNSIGNED_TRAILER ? undefined : {
      amzDate, scope: `${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`, key: signingKey(ROOT.secretKey, amzDate.slice(0, 8), 'us-east-1'), signature,
    };
    let body = encodeAwsChunked(chunks, { signing, trailers });
    if (tamper) body = tamper(body);
    headers['content-length'] = String(body.length);
    return send(url, 'PUT', headers, body);
  }

  for (const mode of [STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER]) {
    const ok = await put(`ok-${mode}`, mode);
    t.equal(ok.status, 200, `${mode} accepted`);
    const { body } = await srv.backend.getObject('root', 'chunks', `ok-${mode}`);
    const stored: Buffer[] = [];
    for await (const c of body) stored.push(c as Buffer);
    t.ok(Buffer.concat(stored).equals(whole), `${mode} stored decoded bytes`);
  }
  const flip = (b: Buffer) => {
    const c = Buffer.from(b);
    const at = c.indexOf('bbbb');
    c[at] = 'c'.charCodeAt(0);
    return c;
  };
  const tampered = await put('tampered', STREAMING_SIGNED, flip);
  t.equal(codeOf(tampered), 'SignatureDoesNotMatch');
  await t.rejects(srv.backend.headObject('root', 'chunks', 'tampered'), 'a tampered chunk stores nothing');
  const badSum = await put('badsum', STREAMING_UNSIGNED_TRAILER, undefined, 'AAAAAA==');
  t.equal(codeOf(badSum), 'BadDigest');
  await t.rejects(srv.backend.headObject('root', 'chunks', 'badsum'));
  const badTrailerSig = await put('badtrailer', STREAMING_SIGNED_TRAILER, (b) => Buffer.from(b.toString('latin1').replace(/x-amz-trailer-signature:[0-9a-f]{4}/, 'x-amz-trailer-signature:0000'), 'latin1'));
  t.equal(codeOf(badTrailerSig), 'SignatureDoesNotMatch');
  const truncated = await put('short', STREAMING_UNSIGNED_TRAILER, (b) => b.subarray(0, 1000));
  t.not(truncated.status, 200, 'a truncated body fails');
  await t.rejects(srv.backend.headObject('root', 'chunks', 'short'));
});

t.test('users see only their own buckets; virtual-host addressing', async (t) => {
  const srv = await startS3Server({ users: [ROOT, ALICE, BOB], domain: 's3.test' });
  t.teardown(() => srv.close());
  const alice = sdkClient(`http://s3.test:${srv.port}`, ALICE, { virtualHost: true });
  const bob = sdkClient(srv.url, BOB);
  t.teardown(() => { alice.destroy(); bob.destroy(); });
  await alice.send(new CreateBucketCommand({ Bucket: 'alice-photos' }));
  await alice.send(new CreateBucketCommand({ Bucket: 'same-name' }));
  await bob.send(new CreateBucketCommand({ Bucket: 'same-name' }));
  t.ok(srv.requests.some((r) => r.headers.host === `alice-photos.s3.test:${srv.port}`), 'the SDK used virtual-host style');
  await alice.send(new PutObjectCommand({ Bucket: 'same-name', Key: 'who', Body: 'alice' }));
  await bob.send(new PutObjectCommand({ Bucket: 'same-name', Key: 'who', Body: 'bob' }));
  t.same((await alice.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name), ['alice-photos', 'same-name']);
  t.same((await bob.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name), ['same-name']);
  t.equal(await (await alice.send(new GetObjectCommand({ Bucket: 'same-name', Key: 'who' }))).Body!.transformToString(), 'alice');
  t.equal(await (await bob.send(new GetObjectCommand({ Bucket: 'same-name', Key: 'who' }))).Body!.transformToString(), 'bob');
  await t.rejects(bob.send(new ListObjectsV2Command({ Bucket: 'alice-photos' })), { name: 'NoSuchBucket' });
  // Path style still works on the same server.
  const url = new URL(`${srv.url}/alice-photos`);
  const listed = await send(url, 'GET', signRequest({ method: 'GET', url, accessKey: ALICE.accessKey, secretKey: ALICE.secretKey }));
  t.match(listed.body, /<Name>alice-photos<\/Name>/);
});

t.test('unsupported subresources, bad XML, wrong methods', async (t) => {
  const srv = await startS3Server();
  t.teardown(() => srv.close());
  await srv.backend.putContainer('root', 'misc');
  const call = (method: string, path: string, body?: string) => {
    const url = new URL(`${srv.url}${path}`);
    const payload = body === undefined ? undefined : Buffer.from(body);
    return send(url, method, signRequest({ method, url, accessKey: ROOT.accessKey, secretKey: ROOT.secretKey, payloadHash: sha256Hex(payload ?? '') }), payload);
  };
  // A body without Content-Type, and bodies whose length differs from what was declared.
  const url = new URL(`${srv.url}/misc/no-type`);
  const noType = await send(url, 'PUT', signRequest({ method: 'PUT', url, accessKey: ROOT.accessKey, secretKey: ROOT.secretKey, payloadHash: 'UNSIGNED-PAYLOAD' }), Buffer.from('plain bytes'));
  t.equal(noType.status, 200, noType.body);
  t.equal((await srv.backend.headObject('root', 'misc', 'no-type')).contentLength, 11);
  const short = new URL(`${srv.url}/misc/short`);
  const resigned = signRequest({ method: 'PUT', url: short, accessKey: ROOT.accessKey, secretKey: ROOT.secretKey, payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
    headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': '10' } });
  const mismatch = await send(short, 'PUT', resigned, Buffer.from('5\r\nhello\r\n0\r\n\r\n'));
  t.equal(codeOf(mismatch), 'IncompleteBody', 'decoded length differs from x-amz-decoded-content-length');
  await t.rejects(srv.backend.headObject('root', 'misc', 'short'));

  const acl = await call('GET', '/misc?acl');
  t.equal(acl.status, 501);
  t.equal(codeOf(acl), 'NotImplemented');
  t.match(acl.body, /The &quot;acl&quot; subresource/);
  t.notMatch(acl.body, /xmlns/, 'error documents carry no namespace');
  t.equal(codeOf(await call('PUT', '/misc/o?tagging', 'x')), 'NotImplemented');
  t.equal(codeOf(await call('POST', '/misc?delete', '<Delete><Object><Key>a</Key></Object>')), 'MalformedXML');
  t.equal(codeOf(await call('POST', '/misc?delete', '<!DOCTYPE x [<!ENTITY a "b">]><Delete/>')), 'MalformedXML');
  t.equal(codeOf(await call('DELETE', '/')), 'MethodNotAllowed');
  t.equal(codeOf(await call('PUT', '/new-bucket', '<CreateBucketConfiguration><LocationConstraint>eu-west-9</LocationConstraint></CreateBucketConfiguration>')), 'InvalidArgument');
  t.equal((await call('PUT', '/new-bucket', '<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>')).status, 200);
  t.equal(codeOf(await call('POST', '/misc/o?uploadId=' + 'a'.repeat(32), '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>')), 'NoSuchUpload');
});
