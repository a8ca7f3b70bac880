import t from 'tap';
import { issueToken, verifyToken } from './auth.js';
import { startTestSwiftServer } from './test-server.js';
import { raw, swiftLogin } from './test-client.js';

t.test('tokens are signed, carry their account and expire', async (t) => {
  const { token, expiresAt } = issueToken('s3cret', 'alice', 'alice:a', 60, 1_000_000);
  t.match(token, /^AUTH_tk/);
  t.same(verifyToken('s3cret', token, 1_000_000), { account: 'alice', accessKey: 'alice:a', expiresAt });
  t.equal(verifyToken('other-secret', token, 1_000_000), undefined, 'another cluster secret rejects it');
  t.equal(verifyToken('s3cret', token, (expiresAt) * 1000), undefined, 'expired at its expiry second');
  const [body, mac] = token.slice('AUTH_tk'.length).split('.');
  const forged = Buffer.from(JSON.stringify({ a: 'bob', u: 'alice:a', e: expiresAt })).toString('base64url');
  t.equal(verifyToken('s3cret', `AUTH_tk${forged}.${mac}`, 1_000_000), undefined, 'edited claims fail the HMAC');
  t.ok(body);
  t.equal(verifyToken('s3cret', 'garbage', 1_000_000), undefined);
});

t.test('v1 auth over HTTP', async (t) => {
  const server = await startTestSwiftServer();
  t.teardown(() => server.close());
  for (const path of ['/auth/v1.0', '/auth/v1.0/', '/v1.0']) {
    const res = await raw(`${server.url}${path}`, { headers: { 'x-auth-user': 'test:tester', 'x-auth-key': 'testing' } });
    t.equal(res.status, 200, path);
    t.equal(res.headers['x-storage-url'], `${server.url}/v1/AUTH_test`);
    t.equal(res.headers['x-auth-token'], res.headers['x-storage-token']);
    t.equal(res.headers['x-auth-token-expires'], '86400');
  }
  const plain = await swiftLogin(server.url, 'PLAINKEY', 'plainsecret');
  t.equal(plain.storageUrl, `${server.url}/v1/AUTH_PLAINKEY`, 'a plain key is its own account');

  const bad = await raw(`${server.url}/auth/v1.0`, { headers: { 'x-auth-user': 'test:tester', 'x-auth-key': 'wrong' } });
  t.equal(bad.status, 401);
  t.equal(bad.text, '<html><h1>Unauthorized</h1><p>This server could not verify that you are authorized to access the document you requested.</p></html>');
  t.match(bad.headers['www-authenticate'], /^Swift realm=/);
  t.equal((await raw(`${server.url}/auth/v1.0`, { headers: { 'x-auth-user': 'nobody:x', 'x-auth-key': 'k' } })).status, 401);
  t.equal((await raw(`${server.url}/auth/v1.0`)).status, 401, 'no credentials');

  const { storageUrl, token } = await swiftLogin(server.url, 'test:tester', 'testing');
  t.equal((await raw(storageUrl, { method: 'HEAD' })).status, 401, 'no token');
  t.equal((await raw(storageUrl, { method: 'HEAD', headers: { 'x-auth-token': 'AUTH_tkbogus.x' } })).status, 401, 'bad token');
  t.equal((await raw(storageUrl, { method: 'HEAD', headers: { 'x-auth-token': token } })).status, 204);
  t.equal((await raw(storageUrl, { method: 'HEAD', headers: { 'x-storage-token': token } })).status, 204, 'X-Storage-Token works too');
  const other = await raw(`${server.url}/v1/AUTH_other`, { headers: { 'x-auth-token': token } });
  t.equal(other.status, 403, 'a token for another account');
  t.equal(other.text, '<html><h1>Forbidden</h1><p>Access was denied to this resource.</p></html>');
  const put = await raw(`${server.url}/v1/AUTH_other/c`, { method: 'PUT', headers: { 'x-auth-token': token } });
  t.equal(put.status, 403);
});

t.test('expired tokens get 401; another proxy with the same secret accepts tokens', async (t) => {
  // Expiry is a whole second: a 2 s token lives at least 1 s, enough for the first checks.
  const a = await startTestSwiftServer({ tokenTtlSeconds: 2 });
  const b = await startTestSwiftServer({ backend: a.backend });
  const c = await startTestSwiftServer({ backend: a.backend, secret: 'different' });
  t.teardown(async () => { await a.close(); await b.close(); await c.close(); });
  const { token } = await swiftLogin(a.url, 'test:tester', 'testing');
  t.equal((await raw(`${b.url}/v1/AUTH_test`, { method: 'HEAD', headers: { 'x-auth-token': token } })).status, 204);
  t.equal((await raw(`${c.url}/v1/AUTH_test`, { method: 'HEAD', headers: { 'x-auth-token': token } })).status, 401);
  await new Promise((r) => setTimeout(r, 3100));
  t.equal((await raw(`${a.url}/v1/AUTH_test`, { method: 'HEAD', headers: { 'x-auth-token': token } })).status, 401);
});

t.test('/info and /healthcheck need no token', async (t) => {
  const server = await startTestSwiftServer();
  t.teardown(() => server.close());
  const info = await raw(`${server.url}/info`);
  t.equal(info.status, 200);
  const caps = JSON.parse(info.text);
  t.equal(caps.swift.max_object_name_length, 1024);
  t.equal(caps.swift.container_listing_limit, 10000);
  t.equal(caps.slo.max_manifest_segments, 1000);
  t.ok(caps.tempauth);
  const hc = await raw(`${server.url}/healthcheck`);
  t.equal(hc.status, 200);
  t.equal(hc.text, 'OK');
});
