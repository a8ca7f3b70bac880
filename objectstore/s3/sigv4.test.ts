import t from 'tap';
import { Readable } from 'node:stream';
import { StaticUserDirectory } from '../auth/users.js';
import {
  authenticate, canonicalQuery, canonicalUri, headerValues, parseAmzDate, parseQuery, presignUrl, signingKey, signRequest, uriEncode,
  EMPTY_SHA256, STREAMING_SIGNED,
} from './sigv4.js';
import { AwsChunkedDecoder } from './chunked.js';
import { S3Error } from './errors.js';

// The examples of AWS's "Signature Version 4 for S3" documentation.
const AWS_EXAMPLE = { accessKey: 'AKIAIOSFODNN7EXAMPLE', secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', account: 'example' };
const users = new StaticUserDirectory([AWS_EXAMPLE]);
const WHEN = Date.UTC(2013, 4, 24, 0, 0, 0);
const raw = (h: Record<string, string>) => Object.entries(h).flat();

t.test('AWS example: GET object with a Range header', async (t) => {
  const headers = {
    Host: 'examplebucket.s3.amazonaws.com', Range: 'bytes=0-9', 'x-amz-content-sha256': EMPTY_SHA256, 'x-amz-date': '20130524T000000Z',
    Authorization: 'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
  };
  const r = await authenticate({ method: 'GET', rawUrl: '/test.txt', rawHeaders: raw(headers) }, users, WHEN);
  t.equal(r.user.account, 'example');
  await t.rejects(authenticate({ method: 'GET', rawUrl: '/test.txt', rawHeaders: raw({ ...headers, Range: 'bytes=0-10' }) }, users, WHEN),
    { code: 'SignatureDoesNotMatch' });
  await t.rejects(authenticate({ method: 'GET', rawUrl: '/test.txt', rawHeaders: raw(headers) }, users, WHEN + 16 * 60 * 1000),
    { code: 'RequestTimeTooSkewed' });
});

t.test('AWS example: presigned GET', async (t) => {
  const url = '/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';
  const r = await authenticate({ method: 'GET', rawUrl: url, rawHeaders: ['Host', 'examplebucket.s3.amazonaws.com'] }, users, WHEN + 3600 * 1000);
  t.equal(r.presigned, true);
  await t.rejects(authenticate({ method: 'GET', rawUrl: url, rawHeaders: ['Host', 'examplebucket.s3.amazonaws.com'] }, users, WHEN + 86401 * 1000),
    { code: 'AccessDenied', message: /expired/ });
  const ours = presignUrl({ method: 'GET', url: new URL('http://examplebucket.s3.amazonaws.com/test.txt'), ...AWS_EXAMPLE, expiresIn: 86400, now: WHEN });
  t.equal(ours.searchParams.get('X-Amz-Signature'), 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404', 'our presigner agrees');
});

t.test('AWS example: streaming PUT with chunk signatures', async (t) => {
  const headers = {
    Host: 's3.amazonaws.com', 'x-amz-date': '20130524T000000Z', 'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    'x-amz-content-sha256': STREAMING_SIGNED, 'Content-Encoding': 'aws-chunked', 'x-amz-decoded-content-length': '66560', 'Content-Length': '66824',
    Authorization: 'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
  };
  const r = await authenticate({ method: 'PUT', rawUrl: '/examplebucket/chunkObject.txt', rawHeaders: raw(headers) }, users, WHEN);
  const body = Buffer.concat([
    Buffer.from('10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n'), Buffer.alloc(65536, 'a'), Buffer.from('\r\n'),
    Buffer.from('400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n'), Buffer.alloc(1024, 'a'), Buffer.from('\r\n'),
    Buffer.from('0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n'),
  ]);
  t.equal(body.length, 66824);
  // Fed in awkward pieces: chunk boundaries never line up with reads.
  const pieces: Buffer[] = [];
  for (let i = 0; i < body.length; i += 7777) pieces.push(body.subarray(i, i + 7777));
  const out: Buffer[] = [];
  for await (const c of Readable.from(pieces).pipe(new AwsChunkedDecoder({ signing: r.signing }))) out.push(c as Buffer);
  t.equal(Buffer.concat(out).length, 66560);
  t.ok(Buffer.concat(out).equals(Buffer.alloc(66560, 'a')));
  const bad = Buffer.from(body);
  bad[100] = 'b'.charCodeAt(0);
  const dec = Readable.from([bad]).pipe(new AwsChunkedDecoder({ signing: r.signing }));
  await t.rejects((async () => { for await (const _ of dec); })(), S3Error);
});

t.test('canonical pieces', async (t) => {
  t.equal(uriEncode('a b/c~d', false), 'a%20b/c~d');
  t.equal(uriEncode('é+*'), '%C3%A9%2B%2A');
  t.equal(uriEncode("!'()*/"), '%21%27%28%29%2A%2F', 'what encodeURIComponent keeps, AWS escapes');
  t.equal(uriEncode('a/\uD800'), 'a%2F%EF%BF%BD', 'a lone surrogate is the UTF-8 of U+FFFD');
  t.equal(canonicalUri('/bucket/a%2Fb/c d'), '/bucket/a%2Fb/c%20d', 'an encoded slash stays encoded');
  t.equal(canonicalUri('/bucket/%7Euser/(x)'), '/bucket/~user/%28x%29');
  t.equal(canonicalUri('/bucket-1/dir/key_2.txt~'), '/bucket-1/dir/key_2.txt~', 'a plain path is its own canonical form');
  t.equal(canonicalUri(''), '/');
  t.equal(canonicalUri('/b/caf%C3%A9'), '/b/caf%C3%A9');
  t.equal(canonicalUri('/b/caf%c3%a9'), '/b/caf%C3%A9', 'escapes are upper-cased');
  t.same([...headerValues(['Host', ' h:1 ', 'X-A', 'a  b\t c', 'x-a', ' d ', 'X-B', '\tv'])], [['host', 'h:1'], ['x-a', 'a b c,d'], ['x-b', 'v']]);
  t.equal(canonicalQuery(parseQuery('b=2&a=&c&a=1')), 'a=&a=1&b=2&c=');
  t.equal(parseAmzDate('20130524T000000Z'), WHEN);
  t.ok(Number.isNaN(parseAmzDate('2013-05-24')));
  t.equal(signingKey('s', '20130524', 'us-east-1').length, 32);
  const url = new URL('http://127.0.0.1:9/b/k?uploads');
  const h = signRequest({ method: 'POST', url, ...AWS_EXAMPLE, now: WHEN });
  const r = await authenticate({ method: 'POST', rawUrl: '/b/k?uploads', rawHeaders: raw(h) }, users, WHEN);
  t.equal(r.user.accessKey, AWS_EXAMPLE.accessKey, 'our signer and verifier agree');
  await t.rejects(authenticate({ method: 'GET', rawUrl: '/', rawHeaders: ['Host', 'x', 'Authorization', 'AWS AKIA:abc'] }, users, WHEN), { code: 'InvalidRequest' });
  await t.rejects(authenticate({ method: 'GET', rawUrl: '/', rawHeaders: ['Host', 'x', 'Authorization', 'AWS4-HMAC-SHA256 Credential=x'] }, users, WHEN), { code: 'AuthorizationHeaderMalformed' });
  await t.rejects(authenticate({ method: 'GET', rawUrl: '/', rawHeaders: ['Host', 'x'] }, users, WHEN), { code: 'AccessDenied' });
  const noHash = { ...h };
  delete noHash['x-amz-content-sha256'];
  await t.rejects(authenticate({ method: 'POST', rawUrl: '/b/k?uploads', rawHeaders: raw(noHash) }, users, WHEN), { code: 'InvalidRequest' });
});
