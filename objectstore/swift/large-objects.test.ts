import { createHash } from 'node:crypto';
import t from 'tap';
import { swiftSession } from './test-server.js';

const md5 = (b: string | Buffer) => createHash('md5').update(b).digest('hex');
const SEGS = ['aaaaaaaaaa', 'bbbbbbbbbb', 'ccccc'];
const WHOLE = SEGS.join('');

async function withSegments(t: { teardown(fn: () => unknown): void }) {
  const s = await swiftSession(t);
  await s.call('/c', { method: 'PUT' });
  await s.call('/segs', { method: 'PUT' });
  for (const [i, seg] of SEGS.entries()) await s.call(`/segs/part/${i}`, { method: 'PUT', body: seg });
  return s;
}

const manifest = (extra: Array<Record<string, unknown>> = []) => JSON.stringify([
  ...SEGS.map((seg, i) => ({ path: `/segs/part/${i}`, etag: md5(seg), size_bytes: seg.length })), ...extra,
]);

t.test('static large object: put, get, head, ranges, listing, manifest get, delete', async (t) => {
  const { call } = await withSegments(t);
  const sloEtag = md5(SEGS.map(md5).join(''));
  const put = await call('/c/slo?multipart-manifest=put', { method: 'PUT', body: manifest(), headers: { 'content-type': 'text/x-big', 'x-object-meta-kind': 'slo' } });
  t.equal(put.status, 201, put.text);
  t.equal(put.headers.etag, `"${sloEtag}"`);

  const get = await call('/c/slo');
  t.equal(get.status, 200);
  t.equal(get.text, WHOLE);
  t.equal(get.headers.etag, `"${sloEtag}"`, 'quoted md5 of the segment etags');
  t.equal(get.headers['content-length'], String(WHOLE.length));
  t.equal(get.headers['content-type'], 'text/x-big');
  t.equal(get.headers['x-static-large-object'], 'True');
  t.equal(get.headers['x-object-meta-kind'], 'slo');
  t.equal(get.headers['x-object-sysmeta-slo-etag'], undefined, 'sysmeta stays inside');

  const head = await call('/c/slo', { method: 'HEAD' });
  t.equal(head.headers['content-length'], String(WHOLE.length));
  t.equal(head.headers.etag, `"${sloEtag}"`);
  t.ok(head.headers['x-manifest-etag']);

  let r = await call('/c/slo', { headers: { range: 'bytes=8-21' } });
  t.equal(r.status, 206);
  t.equal(r.text, WHOLE.slice(8, 22), 'range across segment boundaries');
  t.equal(r.headers['content-range'], `bytes 8-21/${WHOLE.length}`);
  t.equal((await call('/c/slo', { headers: { range: 'bytes=-3' } })).text, 'ccc');
  r = await call('/c/slo', { headers: { range: 'bytes=0-0,19-24' } });
  t.equal(r.status, 206);
  t.match(r.text, /Content-Range: bytes 0-0\/25\r\n\r\na\r\n/);
  t.match(r.text, /Content-Range: bytes 19-24\/25\r\n\r\nbccccc\r\n/);
  t.equal((await call('/c/slo', { headers: { 'if-none-match': `"${sloEtag}"` } })).status, 304, 'conditionals use the SLO etag');
  t.equal((await call('/c/slo', { headers: { 'if-match': sloEtag } })).status, 200);

  const rows = JSON.parse((await call('/c?format=json')).text);
  t.equal(rows[0].name, 'slo');
  t.equal(rows[0].bytes, WHOLE.length, 'listing shows the large object size');
  t.equal(rows[0].content_type, 'text/x-big');
  t.equal(rows[0].slo_etag, `"${sloEtag}"`);

  const m = await call('/c/slo?multipart-manifest=get');
  t.equal(m.status, 200);
  t.equal(m.headers['content-type'], 'application/json; charset=utf-8');
  t.equal(m.headers['x-static-large-object'], 'True');
  const stored = JSON.parse(m.text);
  t.same(stored.map((s: { name: string; bytes: number; hash: string }) => [s.name, s.bytes, s.hash]),
    SEGS.map((seg, i) => [`/segs/part/${i}`, seg.length, md5(seg)]));
  t.ok(stored[0].last_modified && stored[0].content_type);
  t.equal(m.headers.etag, md5(m.body), 'the manifest etag is the md5 of its JSON');
  const rawM = JSON.parse((await call('/c/slo?multipart-manifest=get&format=raw')).text);
  t.same(rawM[1], { path: '/segs/part/1', etag: md5(SEGS[1]!), size_bytes: 10 });

  // POST changes metadata, the object stays a large object with its size in listings.
  t.equal((await call('/c/slo', { method: 'POST', headers: { 'x-object-meta-kind': 'changed' } })).status, 202);
  const posted = await call('/c/slo');
  t.equal(posted.text, WHOLE);
  t.equal(posted.headers['x-object-meta-kind'], 'changed');
  t.equal(posted.headers['x-static-large-object'], 'True');
  t.equal(JSON.parse((await call('/c?format=json&prefix=slo')).text)[0].bytes, WHOLE.length);
  await call('/c/slo', { method: 'POST', headers: { 'content-type': 'application/x-new' } });
  const retyped = JSON.parse((await call('/c?format=json&prefix=slo')).text)[0];
  t.same([retyped.content_type, retyped.bytes], ['application/x-new', WHOLE.length], 'new type, same listed size');

  // A copy of an SLO is a plain object with the content.
  const copy = await call('/c/slo', { method: 'COPY', headers: { destination: 'c/slo-copy' } });
  t.equal(copy.status, 201);
  t.equal(copy.headers.etag, md5(WHOLE));
  const cget = await call('/c/slo-copy');
  t.equal(cget.text, WHOLE);
  t.equal(cget.headers['x-static-large-object'], undefined);

  // With multipart-manifest=get, COPY copies the manifest: a second SLO over the same segments.
  t.equal((await call('/c/slo?multipart-manifest=get', { method: 'COPY', headers: { destination: 'c/slo-manifest-copy' } })).status, 201);
  const mcopy = await call('/c/slo-manifest-copy');
  t.equal(mcopy.text, WHOLE);
  t.equal(mcopy.headers['x-static-large-object'], 'True');
  t.equal(mcopy.headers.etag, `"${sloEtag}"`);
  // A DLO copied is a plain object with the content.
  await call('/c/dlo-src', { method: 'PUT', body: '', headers: { 'x-object-manifest': 'segs/part/', 'content-length': '0' } });
  const dcopy = await call('/c/dlo-copy', { method: 'PUT', headers: { 'x-copy-from': 'c/dlo-src', 'content-length': '0' } });
  t.equal(dcopy.headers.etag, md5(WHOLE));
  t.equal((await call('/c/dlo-copy', { method: 'HEAD' })).headers['x-object-manifest'], undefined);

  const del = await call('/c/slo?multipart-manifest=delete', { method: 'DELETE' });
  t.equal(del.status, 200);
  t.match(del.text, /^Number Deleted: 4\nNumber Not Found: 0\n/);
  const broken = await call('/c/slo-manifest-copy');
  t.equal(broken.status, 409, 'the manifest copy lost its segments: 409 before any byte, as Swift');
  t.equal(broken.text, '<html><h1>Conflict</h1><p>There was a conflict when trying to complete your request.</p></html>');
  t.equal((await call('/c/slo')).status, 404);
  t.equal((await call('/segs')).status, 204, 'segments deleted');
});

t.test('SLO manifest validation', async (t) => {
  const { call } = await withSegments(t);
  const put = (body: string, headers: Record<string, string> = {}) => call('/c/m?multipart-manifest=put', { method: 'PUT', body, headers });
  let r = await put('not json');
  t.equal(r.status, 400);
  t.equal(r.text, 'Manifest must be valid JSON.\n');
  t.equal((await put('{}')).text, 'Manifest must be a list.\n');
  r = await put(JSON.stringify([{ path: '/segs/part/0', size_bytes: 11 }]));
  t.equal(r.status, 400);
  t.equal(r.text, 'Errors:\n/segs/part/0, Size Mismatch\n');
  r = await put(JSON.stringify([{ path: '/segs/part/0', etag: 'nope' }, { path: '/segs/missing' }]));
  t.equal(r.text, 'Errors:\n/segs/part/0, Etag Mismatch\n/segs/missing, 404 Not Found\n');
  r = await put(JSON.stringify([{ path: 'nocontainer' }]));
  t.match(r.text, /Index 0: path does not refer to an object/);
  r = await put(JSON.stringify([{ path: '/segs/part/0', bogus: 1 }]));
  t.match(r.text, /Index 0: extraneous keys "bogus"/);
  r = await put(JSON.stringify([{ path: '/c/m' }]));
  t.match(r.text, /manifest must not include itself/);
  r = await put(JSON.stringify(Array.from({ length: 1001 }, () => ({ path: '/segs/part/0' }))));
  t.equal(r.status, 413, 'more than 1000 segments');
  t.equal((await put(manifest(), { etag: md5('wrong') })).status, 422, 'ETag of the manifest checked');
  t.equal((await put(manifest(), { etag: md5(SEGS.map(md5).join('')) })).status, 201);
  t.equal((await put(JSON.stringify([{ path: '/segs/part/0' }, { path: '/segs/part/2' }]))).status, 201, 'etag and size optional');
  t.equal((await call('/c/m')).text, SEGS[0]! + SEGS[2]!);
  t.equal((await call('/c/m?multipart-manifest=put', { method: 'PUT', body: manifest(), headers: { 'x-copy-from': 'segs/part/0' } })).status, 405);
});

t.test('SLO segments with ranges', async (t) => {
  const { call } = await withSegments(t);
  const body = JSON.stringify([{ path: '/segs/part/0', range: '2-4' }, { path: '/segs/part/1', range: '-3' }, { path: '/segs/part/2' }]);
  const put = await call('/c/r?multipart-manifest=put', { method: 'PUT', body });
  t.equal(put.status, 201, put.text);
  const want = SEGS[0]!.slice(2, 5) + SEGS[1]!.slice(-3) + SEGS[2]!;
  t.equal(put.headers.etag, `"${md5(`${md5(SEGS[0]!)}:2-4;${md5(SEGS[1]!)}:7-9;${md5(SEGS[2]!)}`)}"`, 'ranged segments count as etag:range;');
  t.equal((await call('/c/r')).text, want);
  t.equal((await call('/c/r', { headers: { range: 'bytes=2-6' } })).text, want.slice(2, 7));
  t.equal((await call('/c/bad?multipart-manifest=put', { method: 'PUT', body: JSON.stringify([{ path: '/segs/part/2', range: '10-20' }]) })).text,
    'Errors:\n/segs/part/2, Unsatisfiable Range\n');
});

t.test('dynamic large object', async (t) => {
  const { call } = await withSegments(t);
  const put = await call('/c/dlo', { method: 'PUT', body: '', headers: { 'x-object-manifest': 'segs/part/', 'content-length': '0' } });
  t.equal(put.status, 201);
  const etag = `"${md5(SEGS.map(md5).join(''))}"`;
  const get = await call('/c/dlo');
  t.equal(get.text, WHOLE);
  t.equal(get.headers.etag, etag);
  t.equal(get.headers['x-object-manifest'], 'segs/part/');
  t.equal(get.headers['content-length'], String(WHOLE.length));
  t.equal((await call('/c/dlo', { headers: { range: 'bytes=5-14' } })).text, WHOLE.slice(5, 15));
  t.equal((await call('/c/dlo', { method: 'HEAD' })).headers['content-length'], String(WHOLE.length));
  // Segments added later are served: the listing is read at GET time.
  await call('/segs/part/3', { method: 'PUT', body: 'dd' });
  t.equal((await call('/c/dlo')).text, `${WHOLE}dd`);
  await call('/c/dlo', { method: 'POST', headers: { 'x-object-meta-a': 'b' } });
  t.equal((await call('/c/dlo')).text, `${WHOLE}dd`, 'POST keeps the manifest');
  t.equal((await call('/c/dlo?multipart-manifest=get')).text, '', 'the manifest object itself');
  t.equal((await call('/c/bad', { method: 'PUT', body: '', headers: { 'x-object-manifest': 'noslash', 'content-length': '0' } })).status, 400);
  const empty = await call('/c/none', { method: 'PUT', body: '', headers: { 'x-object-manifest': 'nothing/here', 'content-length': '0' } });
  t.equal(empty.status, 201);
  t.equal((await call('/c/none')).headers['content-length'], '0', 'no segments, empty object');
});

t.test('nested static large objects', async (t) => {
  const { call } = await withSegments(t);
  const innerEtag = md5(md5(SEGS[0]!) + md5(SEGS[1]!));
  t.equal((await call('/c/inner?multipart-manifest=put', { method: 'PUT', body: JSON.stringify([{ path: '/segs/part/0' }, { path: '/segs/part/1' }]) })).status, 201);
  const bad = await call('/c/outer?multipart-manifest=put', { method: 'PUT', body: JSON.stringify([{ path: '/c/inner', size_bytes: 10 }]) });
  t.equal(bad.text, 'Errors:\n/c/inner, Size Mismatch\n', 'a nested manifest is checked against its total size');
  const outer = JSON.stringify([{ path: '/c/inner', etag: innerEtag, size_bytes: 20, range: '5-14' }, { path: '/segs/part/2' }]);
  const put = await call('/c/outer?multipart-manifest=put', { method: 'PUT', body: outer });
  t.equal(put.status, 201, put.text);
  t.equal(put.headers.etag, `"${md5(`${innerEtag}:5-14;${md5(SEGS[2]!)}`)}"`);
  const want = WHOLE.slice(5, 15) + SEGS[2]!;
  const get = await call('/c/outer');
  t.equal(get.text, want, 'the inner manifest is expanded, then cut to its range');
  t.equal(get.headers['content-length'], String(want.length));
  t.equal((await call('/c/outer', { headers: { range: 'bytes=3-12' } })).text, want.slice(3, 13));
  const stored = JSON.parse((await call('/c/outer?multipart-manifest=get')).text);
  t.equal(stored[0].sub_slo, true);
  t.equal(stored[0].bytes, 20);
  const del = await call('/c/outer?multipart-manifest=delete', { method: 'DELETE' });
  t.match(del.text, /^Number Deleted: 5\n/, 'outer, inner, and the inner segments and the own segment');
  t.equal((await call('/segs')).status, 204);
  t.equal((await call('/c/inner')).status, 404);
});
