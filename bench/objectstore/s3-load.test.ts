/**
 * The benchmark's S3 signer against ringstack's SigV4 verifier (the same check a server does):
 * its headers authenticate the request they were made for and no other, across a change of
 * day (the cached signing key is derived again).
 */
import t from 'tap';
import { StaticUserDirectory } from '../../objectstore/auth/users.js';
import { authenticate, UNSIGNED_PAYLOAD } from '../../objectstore/s3/sigv4.js';
import { S3Signer } from './s3-load.js';

const USER = { accessKey: 'test:tester', secretKey: 'testing', account: 'test' };
const users = new StaticUserDirectory([USER]);
const ENDPOINT = 'http://127.0.0.1:8391';

function raw(headers: Record<string, string>): string[] {
  return Object.entries(headers).flat();
}

t.test('a signed request verifies; another path, method or secret does not', async (t) => {
  const now = Date.UTC(2026, 10, 26, 8, 30, 0);
  const signer = new S3Signer({ endpoint: ENDPOINT, accessKey: USER.accessKey, secret: USER.secretKey });
  const h = signer.headers('PUT', '/bench-1/s-42', now);
  t.equal(h.host, '127.0.0.1:8391');
  t.equal(h['x-amz-content-sha256'], UNSIGNED_PAYLOAD);
  const ok = await authenticate({ method: 'PUT', rawUrl: '/bench-1/s-42', rawHeaders: raw(h) }, users, now);
  t.equal(ok.user.accessKey, 'test:tester');
  t.equal(ok.payloadHash, UNSIGNED_PAYLOAD);
  await t.rejects(authenticate({ method: 'PUT', rawUrl: '/bench-1/s-43', rawHeaders: raw(h) }, users, now), { code: 'SignatureDoesNotMatch' });
  await t.rejects(authenticate({ method: 'GET', rawUrl: '/bench-1/s-42', rawHeaders: raw(h) }, users, now), { code: 'SignatureDoesNotMatch' });
  const wrong = new S3Signer({ endpoint: ENDPOINT, accessKey: USER.accessKey, secret: 'not-the-secret' });
  const w = wrong.headers('PUT', '/bench-1/s-42', now);
  await t.rejects(authenticate({ method: 'PUT', rawUrl: '/bench-1/s-42', rawHeaders: raw(w) }, users, now), { code: 'SignatureDoesNotMatch' });
});

t.test('the cached key and date follow the clock across midnight', async (t) => {
  const signer = new S3Signer({ endpoint: ENDPOINT, accessKey: USER.accessKey, secret: USER.secretKey });
  const before = Date.UTC(2026, 10, 26, 23, 59, 59);
  const after = before + 2000;
  const a = signer.headers('GET', '/b/k', before);
  const b = signer.headers('GET', '/b/k', after);
  t.equal(a['x-amz-date'], '20261126T235959Z');
  t.equal(b['x-amz-date'], '20261127T000001Z');
  t.match(b.authorization, /Credential=test:tester\/20261127\/us-east-1\/s3\/aws4_request/);
  await authenticate({ method: 'GET', rawUrl: '/b/k', rawHeaders: raw(a) }, users, before);
  await authenticate({ method: 'GET', rawUrl: '/b/k', rawHeaders: raw(b) }, users, after);
  t.pass('both days verify');
});
