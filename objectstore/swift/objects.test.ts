import { createHash } from 'node:crypto';
import t from 'tap';
import { swiftSession } from './test-server.js';
import { rawExchange } from './test-client.js';

const md5 = (b: string | Buffer) => createHash('md5').update(b).digest('hex');
const BODY = 'The quick brown fox jumps over the lazy dog';

t.test('PUT, GET, HEAD, metadata and headers round trip', async (t) => {
  const { call } = await swiftSession(t);
  await call('/c', { method: 'PUT' });
  const put = await call('/c/fox.txt', {
    method: 'PUT', body: BODY,
    headers: {
      'x-object-meta-color': 'Brown', 'content-disposition': 'attachment; filename="fox.txt"',
      'content-encoding': 'identity', etag: md5(BODY),
    },
  });
  t.equal(put.status, 201);
  t.equal(put.headers.etag, md5(BODY));
  t.ok(put.headers['last-modified']);

  const get = await call('/c/fox.txt');
  t.equal(get.status, 200);
  t.equal(get.text, BODY);
  t.equal(get.headers['content-length'], String(BODY.length));
  t.equal(get.headers['content-type'], 'text/plain', 'guessed from the name when not sent');
  t.equal(get.headers.etag, md5(BODY));
  t.equal(get.headers['x-object-meta-color'], 'Brown');
  t.equal(get.headers['content-disposition'], 'attachment; filename="fox.txt"');
  t.equal(get.headers['content-encoding'], 'identity');
  t.equal(get.headers['accept-ranges'], 'bytes');
  t.match(get.headers['x-timestamp'], /^\d{10}\.\d{5}$/);
  t.match(get.headers['last-modified'], /GMT$/);

  const head = await call('/c/fox.txt', { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.body.length, 0);
  t.equal(head.headers['content-length'], String(BODY.length));
  t.equal(head.headers['x-object-meta-color'], 'Brown');

  const post = await call('/c/fox.txt', { method: 'POST', headers: { 'x-object-meta-size': 'small', 'content-type': 'text/x-fox' } });
  t.equal(post.status, 202);
  t.equal(post.text, '<html><h1>Accepted</h1><p>The request is accepted for processing.</p></html>');
  const after = await call('/c/fox.txt', { method: 'HEAD' });
  t.equal(after.headers['x-object-meta-size'], 'small');
  t.equal(after.headers['x-object-meta-color'], undefined, 'POST replaces object metadata');
  t.equal(after.headers['content-disposition'], undefined, 'and the settable headers not sent');
  t.equal(after.headers['content-type'], 'text/x-fox');
  t.equal(after.headers.etag, md5(BODY), 'the bytes stay');
  t.equal((await call('/c/fox.txt')).text, BODY);

  t.equal((await call('/c/missing')).status, 404);
  const headMissing = await call('/c/missing', { method: 'HEAD' });
  t.equal(headMissing.status, 404);
  t.equal(headMissing.headers['content-length'], '0', 'HEAD errors carry no body length, as in Swift');
  t.equal((await call('/c/missing', { method: 'POST' })).status, 404);
  t.equal((await call('/nocontainer/x', { method: 'PUT', body: 'x' })).status, 404);
  t.equal((await call('/c/fox.txt', { method: 'DELETE' })).status, 204);
  t.equal((await call('/c/fox.txt', { method: 'DELETE' })).status, 404);
  t.equal((await call('/c/fox.txt')).status, 404);
});

t.test('PUT body rules: 411, chunked, 422, If-None-Match, metadata limits', async (t) => {
  const { call, storageUrl, token } = await swiftSession(t);
  await call('/c', { method: 'PUT' });
  const path = new URL(`${storageUrl}/c/x`).pathname;
  const noLength = await rawExchange(storageUrl, `PUT ${path} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${token}\r\nConnection: close\r\n\r\n`);
  t.equal(noLength.status, 411, 'neither Content-Length nor chunked');
  t.match(noLength.text, /<html><h1>Length Required<\/h1><p>Content-Length header required.<\/p><\/html>$/);
  const chunked = await call('/c/chunked', { method: 'PUT', body: BODY, chunked: true });
  t.equal(chunked.status, 201);
  t.equal(chunked.headers.etag, md5(BODY));
  t.equal((await call('/c/chunked')).text, BODY);
  const empty = await call('/c/empty', { method: 'PUT', body: '' , headers: { 'content-length': '0' } });
  t.equal(empty.status, 201);
  t.equal(empty.headers.etag, 'd41d8cd98f00b204e9800998ecf8427e');

  const bad = await call('/c/bad', { method: 'PUT', body: BODY, headers: { etag: md5('other') } });
  t.equal(bad.status, 422);
  t.equal(bad.text, '<html><h1>Unprocessable Entity</h1><p>Unable to process the contained instructions</p></html>');
  t.equal((await call('/c/bad')).status, 404, 'nothing written on a bad ETag');
  t.equal((await call('/c/q', { method: 'PUT', body: 'x', headers: { etag: `"${md5('x')}"` } })).status, 201, 'quoted ETag accepted');

  t.equal((await call('/c/chunked', { method: 'PUT', body: 'new', headers: { 'if-none-match': '*' } })).status, 412);
  t.equal((await call('/c/fresh', { method: 'PUT', body: 'new', headers: { 'if-none-match': '*' } })).status, 201);
  t.equal((await call('/c/fresh', { method: 'PUT', body: 'new', headers: { 'if-none-match': 'abc' } })).status, 400);
  t.equal((await call('/c/m', { method: 'PUT', body: 'x', headers: { 'x-object-meta-big': 'v'.repeat(257) } })).status, 400);
  t.equal((await call('/c/m', { method: 'PUT', body: 'x', headers: { [`x-object-meta-${'k'.repeat(129)}`]: 'v' } })).status, 400);
  t.equal((await call('/c/m', { method: 'PUT', body: 'x', headers: { 'content-length': 'abc' } })).status, 400);
});

t.test('ranges', async (t) => {
  const { call } = await swiftSession(t);
  await call('/c', { method: 'PUT' });
  await call('/c/o', { method: 'PUT', body: BODY, headers: { 'content-type': 'text/plain' } });
  const get = (range: string) => call('/c/o', { headers: { range } });

  let r = await get('bytes=4-8');
  t.equal(r.status, 206);
  t.equal(r.text, 'quick');
  t.equal(r.headers['content-range'], `bytes 4-8/${BODY.length}`);
  t.equal(r.headers['content-length'], '5');
  t.equal((await get('bytes=-3')).text, 'dog', 'suffix');
  t.equal((await get('bytes=40-')).text, 'dog', 'open end');
  t.equal((await get('bytes=40-1000')).text, 'dog', 'end clamped');
  r = await get('bytes=1000-');
  t.equal(r.status, 416);
  t.equal(r.headers['content-range'], `bytes */${BODY.length}`);
  t.equal(r.headers.etag, md5(BODY), 'a 416 carries the object headers');
  t.equal(r.text, '<html><h1>Requested Range Not Satisfiable</h1><p>The Range requested is not available.</p></html>');
  r = await get('bytes=8-4');
  t.equal(r.status, 200, 'a malformed range is ignored');
  t.equal(r.text, BODY);
  t.equal((await get('items=0-1')).status, 200);

  r = await get('bytes=0-2,-3');
  t.equal(r.status, 206);
  const ct = String(r.headers['content-type']);
  const m = /^multipart\/byteranges;boundary=([0-9a-f]{32})$/.exec(ct);
  t.ok(m, ct);
  const boundary = m![1]!;
  t.equal(r.text, `--${boundary}\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-2/${BODY.length}\r\n\r\nThe\r\n`
    + `--${boundary}\r\nContent-Type: text/plain\r\nContent-Range: bytes 40-42/${BODY.length}\r\n\r\ndog\r\n--${boundary}--`);
  t.equal(r.headers['content-length'], String(r.body.length));
  r = await get('bytes=0-2,1000-2000');
  t.equal(r.status, 206, 'unsatisfiable parts are dropped');
  t.equal(r.text, 'The');
  const head = await call('/c/o', { method: 'HEAD', headers: { range: 'bytes=0-9' } });
  t.equal(head.status, 206);
  t.equal(head.headers['content-length'], '10');
});

t.test('conditional requests', async (t) => {
  const { call } = await swiftSession(t);
  await call('/c', { method: 'PUT' });
  const etag = (await call('/c/o', { method: 'PUT', body: BODY })).headers.etag as string;
  const lm = (await call('/c/o', { method: 'HEAD' })).headers['last-modified'] as string;
  const get = (headers: Record<string, string>) => call('/c/o', { headers });
  t.equal((await get({ 'if-match': etag })).status, 200);
  t.equal((await get({ 'if-match': `"${etag}"` })).status, 200);
  t.equal((await get({ 'if-match': '*' })).status, 200);
  const failed = await get({ 'if-match': 'nope' });
  t.equal(failed.status, 412);
  t.equal(failed.text, '', 'a failed condition has no body, as in Swift');
  t.equal(failed.headers.etag, etag, 'but the object headers');
  const nm = await get({ 'if-none-match': etag });
  t.equal(nm.status, 304);
  t.equal(nm.body.length, 0);
  t.equal(nm.headers.etag, etag);
  t.equal((await get({ 'if-none-match': 'other' })).status, 200);
  t.equal((await call('/c/o', { method: 'HEAD', headers: { 'if-none-match': '*' } })).status, 304);
  const later = new Date(Date.parse(lm) + 60_000).toUTCString();
  const earlier = new Date(Date.parse(lm) - 60_000).toUTCString();
  t.equal((await get({ 'if-modified-since': lm })).status, 304);
  t.equal((await get({ 'if-modified-since': later })).status, 304);
  t.equal((await get({ 'if-modified-since': earlier })).status, 200);
  t.equal((await get({ 'if-unmodified-since': earlier })).status, 412);
  t.equal((await get({ 'if-unmodified-since': lm })).status, 200);
  t.equal((await get({ 'if-modified-since': 'not a date' })).status, 200);
});

t.test('X-Delete-After and X-Delete-At expire objects', async (t) => {
  const { call } = await swiftSession(t);
  await call('/c', { method: 'PUT' });
  // Expiry times are whole seconds: 3 s leaves at least 2 s before the checks below, even under load.
  t.equal((await call('/c/short', { method: 'PUT', body: 'bye', headers: { 'x-delete-after': '3' } })).status, 201);
  await call('/c/keep', { method: 'PUT', body: 'stay' });
  const at = Math.floor(Date.now() / 1000) + 3;
  await call('/c/at', { method: 'PUT', body: 'x' });
  t.equal((await call('/c/at', { method: 'POST', headers: { 'x-delete-at': String(at) } })).status, 202);
  const head = await call('/c/short', { method: 'HEAD' });
  t.match(head.headers['x-delete-at'], /^\d+$/);
  t.equal((await call('/c/at', { method: 'HEAD' })).headers['x-delete-at'], String(at));
  t.equal((await call('/c')).text, 'at\nkeep\nshort\n');
  t.equal((await call('/c/p', { method: 'PUT', body: 'x', headers: { 'x-delete-at': '1000' } })).status, 400, 'X-Delete-At in the past');
  t.equal((await call('/c/p', { method: 'PUT', body: 'x', headers: { 'x-delete-after': 'soon' } })).status, 400);

  await new Promise((r) => setTimeout(r, 4200));
  t.equal((await call('/c/short')).status, 404, 'GET after the time');
  t.equal((await call('/c/at', { method: 'HEAD' })).status, 404, 'HEAD after the time');
  t.equal((await call('/c')).text, 'keep\n', 'listing hides expired objects');
  const c = await call('/c', { method: 'HEAD' });
  t.equal(c.headers['x-container-object-count'], '1');
  t.equal((await call('/c/keep')).text, 'stay');

  // Rewriting without expiry cancels it; POST without X-Delete-At removes it.
  await call('/c/rewrite', { method: 'PUT', body: 'x', headers: { 'x-delete-after': '2' } });
  await call('/c/rewrite', { method: 'PUT', body: 'y' });
  await call('/c/posted', { method: 'PUT', body: 'x', headers: { 'x-delete-after': '2' } });
  await call('/c/posted', { method: 'POST', headers: { 'x-object-meta-a': 'b' } });
  t.equal((await call('/c/posted', { method: 'HEAD' })).headers['x-delete-at'], undefined);
  await new Promise((r) => setTimeout(r, 2200));
  t.equal((await call('/c')).text, 'keep\nposted\nrewrite\n');
  t.equal((await call('/c/rewrite')).text, 'y');
});

t.test('the background expirer removes expired objects nobody reads', async (t) => {
  const { call, server } = await swiftSession(t, { expirerIntervalMs: 300 });
  await call('/c', { method: 'PUT' });
  await call('/c/gone', { method: 'PUT', body: 'x', headers: { 'x-delete-after': '2' } });
  await call('/c/kept', { method: 'PUT', body: 'y' });
  t.equal((await server.backend.headObject('test', 'c', 'gone')).contentLength, 1, 'stored until its time');
  await new Promise((r) => setTimeout(r, 3500));
  await t.rejects(server.backend.headObject('test', 'c', 'gone'), { name: 'NotFound' }, 'removed from the backend without any request');
  t.equal((await server.backend.headObject('test', 'c', 'kept')).contentLength, 1);
  t.same((await server.backend.listObjects('.expiring_objects', 'test')).entries, [], 'index entry dropped');
});

t.test('server-side copy: X-Copy-From and COPY', async (t) => {
  const { call } = await swiftSession(t);
  await call('/c', { method: 'PUT' });
  await call('/d', { method: 'PUT' });
  await call('/c/src', { method: 'PUT', body: BODY, headers: { 'x-object-meta-a': '1', 'content-type': 'text/x-src' } });
  const put = await call('/d/copy1', { method: 'PUT', headers: { 'x-copy-from': '/c/src', 'content-length': '0', 'x-object-meta-b': '2' } });
  t.equal(put.status, 201);
  t.equal(put.headers.etag, md5(BODY));
  t.equal(put.headers['x-copied-from'], 'c/src');
  t.ok(put.headers['x-copied-from-last-modified']);
  let h = await call('/d/copy1');
  t.equal(h.text, BODY);
  t.equal(h.headers['x-object-meta-a'], '1', 'source metadata copied');
  t.equal(h.headers['x-object-meta-b'], '2', 'request metadata added');
  t.equal(h.headers['content-type'], 'text/x-src');

  const copy = await call('/c/src', { method: 'COPY', headers: { destination: 'd/copy%202', 'x-fresh-metadata': 'true', 'x-object-meta-c': '3' } });
  t.equal(copy.status, 201);
  h = await call('/d/copy%202');
  t.equal(h.text, BODY);
  t.equal(h.headers['x-object-meta-a'], undefined, 'X-Fresh-Metadata drops the source metadata');
  t.equal(h.headers['x-object-meta-c'], '3');

  t.equal((await call('/c/src', { method: 'COPY' })).status, 412, 'COPY without Destination');
  t.equal((await call('/c/src', { method: 'COPY', headers: { destination: 'nocontainer' } })).status, 412);
  t.equal((await call('/c/none', { method: 'COPY', headers: { destination: 'd/x' } })).status, 404);
  t.equal((await call('/d/x', { method: 'PUT', headers: { 'x-copy-from': 'c/none', 'content-length': '0' } })).status, 404);
  t.equal((await call('/c/src', { method: 'COPY', headers: { destination: 'd/x', 'destination-account': 'AUTH_other' } })).status, 403);
});
