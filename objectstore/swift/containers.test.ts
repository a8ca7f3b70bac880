import t from 'tap';
import { swiftSession } from './test-server.js';

const setup = swiftSession;

t.test('container lifecycle, metadata and counts', async (t) => {
  const { call } = await setup(t);
  const created = await call('/photos', { method: 'PUT', headers: { 'x-container-meta-color': 'red', 'x-container-read': '.r:*' } });
  t.equal(created.status, 201);
  const again = await call('/photos', { method: 'PUT' });
  t.equal(again.status, 202, 'existing container');
  t.equal(again.text, '<html><h1>Accepted</h1><p>The request is accepted for processing.</p></html>');
  t.equal((await call('/photos/a.txt', { method: 'PUT', body: 'hello' })).status, 201);
  t.equal((await call('/photos/b.txt', { method: 'PUT', body: 'world!' })).status, 201);

  const head = await call('/photos', { method: 'HEAD' });
  t.equal(head.status, 204);
  t.equal(head.headers['x-container-object-count'], '2');
  t.equal(head.headers['x-container-bytes-used'], '11');
  t.equal(head.headers['x-container-meta-color'], 'red');
  t.equal(head.headers['x-container-read'], '.r:*');
  t.match(head.headers['x-timestamp'], /^\d{10}\.\d{5}$/);
  t.match(head.headers['x-trans-id'], /^tx[0-9a-f]{21}-[0-9a-f]{10}$/);

  t.equal((await call('/photos', { method: 'POST', headers: { 'x-container-meta-size': 'big' } })).status, 204);
  let h = (await call('/photos', { method: 'HEAD' })).headers;
  t.equal(h['x-container-meta-color'], 'red', 'POST merges metadata');
  t.equal(h['x-container-meta-size'], 'big');
  await call('/photos', { method: 'POST', headers: { 'x-remove-container-meta-color': 'x', 'x-container-meta-size': '' } });
  h = (await call('/photos', { method: 'HEAD' })).headers;
  t.equal(h['x-container-meta-color'], undefined, 'X-Remove-Container-Meta-* removes');
  t.equal(h['x-container-meta-size'], undefined, 'an empty value removes');

  const acct = await call('', { method: 'HEAD' });
  t.equal(acct.status, 204);
  t.equal(acct.headers['x-account-container-count'], '1');
  t.equal(acct.headers['x-account-object-count'], '2');
  t.equal(acct.headers['x-account-bytes-used'], '11');
  await call('', { method: 'POST', headers: { 'x-account-meta-owner': 'ops' } });
  t.equal((await call('', { method: 'HEAD' })).headers['x-account-meta-owner'], 'ops');
  t.equal((await call('', { method: 'PUT' })).status, 405, 'accounts are not managed over the API');

  const busy = await call('/photos', { method: 'DELETE' });
  t.equal(busy.status, 409);
  t.equal(busy.text, '<html><h1>Conflict</h1><p>There was a conflict when trying to complete your request.</p></html>');
  await call('/photos/a.txt', { method: 'DELETE' });
  await call('/photos/b.txt', { method: 'DELETE' });
  t.equal((await call('/photos', { method: 'DELETE' })).status, 204);
  const gone = await call('/photos', { method: 'GET' });
  t.equal(gone.status, 404);
  t.equal(gone.text, '<html><h1>Not Found</h1><p>The resource could not be found.</p></html>');
  t.equal((await call('/photos', { method: 'DELETE' })).status, 404);
});

t.test('bad names', async (t) => {
  const { call } = await setup(t);
  const long = await call(`/${'c'.repeat(257)}`, { method: 'PUT' });
  t.equal(long.status, 400);
  t.equal(long.text, 'Container name length of 257 longer than 256');
  t.equal((await call(`/${'c'.repeat(256)}`, { method: 'PUT' })).status, 201);
  await call('/c', { method: 'PUT' });
  const longObj = await call(`/c/${'o'.repeat(1025)}`, { method: 'PUT', body: 'x' });
  t.equal(longObj.status, 400);
  t.equal(longObj.text, 'Object name length of 1025 longer than 1024');
  t.equal((await call(`/c/${'o'.repeat(1024)}`, { method: 'PUT', body: 'x' })).status, 201, '1024 bytes is fine');
  const utf = '\u00e9'.repeat(512); // 1024 bytes
  t.equal((await call(`/c/${encodeURIComponent(utf)}`, { method: 'PUT', body: 'x' })).status, 201);
  t.equal((await call(`/c/${encodeURIComponent(utf + 'x')}`, { method: 'PUT', body: 'x' })).status, 400, 'limit counts UTF-8 bytes');
  t.equal((await call('/c/bad%FFname', { method: 'PUT', body: 'x' })).status, 412, 'invalid UTF-8');
  t.equal((await call('/c/nul%00name', { method: 'PUT', body: 'x' })).status, 412, 'NUL');
  const slash = await call('/c/dir%2Fwith%2Fslashes', { method: 'PUT', body: 'x' });
  t.equal(slash.status, 201);
  t.equal((await call('/c/dir/with/slashes')).text, 'x', 'encoded and plain slashes name the same object');
});

t.test('listings: formats and parameters', async (t) => {
  const { call } = await setup(t);
  await call('/c', { method: 'PUT' });
  const names = ['a', 'b/1', 'b/2', 'b/3/x', 'c', 'caf\u00e9', 'd&<>'];
  for (const n of names) {
    await call(`/c/${encodeURIComponent(n)}`, { method: 'PUT', body: n, headers: { 'content-type': 'text/x-test' } });
  }
  const list = async (q: string, headers: Record<string, string> = {}) => call(`/c${q}`, { headers });

  const plain = await list('');
  t.equal(plain.status, 200);
  t.equal(plain.headers['content-type'], 'text/plain; charset=utf-8');
  t.equal(plain.text, names.map((n) => `${n}\n`).join(''));

  const json = await list('?format=json');
  t.equal(json.headers['content-type'], 'application/json; charset=utf-8');
  const rows = JSON.parse(json.text);
  t.equal(rows.length, names.length);
  t.same(Object.keys(rows[0]), ['bytes', 'hash', 'name', 'content_type', 'last_modified'], "Swift's container server order");
  t.equal(rows[0].hash, '0cc175b9c0f1b6a831c399e269772661');
  t.equal(rows[0].bytes, 1);
  t.equal(rows[0].content_type, 'text/x-test');
  t.match(rows[0].last_modified, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
  t.match(json.text, /"caf\\u00e9"/, 'JSON is ASCII, as Python writes it');
  t.match(json.text, /^\[\{"bytes": 1, "hash": "0cc175b9c0f1b6a831c399e269772661", "name": "a", /, 'Python separators');
  t.same(JSON.parse((await list('', { accept: 'application/json' })).text).map((r: { name: string }) => r.name), names, 'Accept header');

  const xml = await list('?format=xml');
  t.equal(xml.headers['content-type'], 'application/xml; charset=utf-8');
  t.match(xml.text, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<container name="c"><object><name>a<\/name><hash>0cc175b9c0f1b6a831c399e269772661<\/hash><bytes>1<\/bytes><content_type>text\/x-test<\/content_type><last_modified>/);
  t.match(xml.text, /<name>d&amp;&lt;&gt;<\/name>/, 'XML escapes');
  t.equal((await list('', { accept: 'text/xml' })).headers['content-type'], 'text/xml; charset=utf-8');
  t.equal((await list('', { accept: 'text/xml' })).headers.vary, 'Accept', 'Vary: Accept when Accept chose the format');
  t.equal(xml.headers.vary, undefined, 'no Vary with format=');
  t.equal((await list('', { accept: 'image/png' })).status, 406);

  t.equal((await list('?prefix=b/')).text, 'b/1\nb/2\nb/3/x\n', 'prefix');
  t.equal((await list('?delimiter=/')).text, 'a\nb/\nc\ncaf\u00e9\nd&<>\n', 'delimiter rolls up');
  t.equal((await list('?prefix=b/&delimiter=/')).text, 'b/1\nb/2\nb/3/\n', 'prefix and delimiter');
  t.equal((await list('?delimiter=/3/')).text, 'a\nb/1\nb/2\nb/3/\nc\ncaf\u00e9\nd&<>\n', 'a longer delimiter');
  const sub = JSON.parse((await list('?prefix=b/&delimiter=/&format=json')).text);
  t.same(sub[2], { subdir: 'b/3/' });
  t.match((await list('?delimiter=/&format=xml')).text, /<subdir name="b\/"><name>b\/<\/name><\/subdir>/);
  t.equal((await list('?marker=b/2')).text, 'b/3/x\nc\ncaf\u00e9\nd&<>\n', 'marker');
  t.equal((await list('?end_marker=b/2')).text, 'a\nb/1\n', 'end_marker');
  t.equal((await list('?marker=a&end_marker=c')).text, 'b/1\nb/2\nb/3/x\n');
  t.equal((await list('?limit=2')).text, 'a\nb/1\n', 'limit');
  t.equal((await list('?limit=2&marker=b/1')).text, 'b/2\nb/3/x\n', 'paging with marker');
  t.equal((await list('?reverse=true&limit=3')).text, 'd&<>\ncaf\u00e9\nc\n', 'reverse');
  t.equal((await list('?reverse=on&marker=b/2')).text, 'b/1\na\n', 'reverse with marker');
  t.equal((await list('?limit=10000')).status, 200);
  const over = await list('?limit=10001');
  t.equal(over.status, 412);
  t.equal(over.text, 'Maximum limit is 10000');
  t.equal((await list('?limit=abc')).text, names.map((n) => `${n}\n`).join(''), 'a limit that is not a number is ignored');

  const empty = await list('?prefix=zzz');
  t.equal(empty.status, 204, 'empty plain listing is 204');
  t.equal(empty.text, '');
  const emptyJson = await list('?prefix=zzz&format=json');
  t.equal(emptyJson.status, 200);
  t.equal(emptyJson.text, '[]');
  const emptyXml = await list('?prefix=zzz&format=xml');
  t.equal(emptyXml.text, '<?xml version="1.0" encoding="UTF-8"?>\n<container name="c" />');
});

t.test('account listings', async (t) => {
  const { call } = await setup(t);
  t.equal((await call('')).status, 204, 'empty account');
  t.equal((await call('?format=json')).text, '[]');
  for (const c of ['alpha', 'beta', 'beta_segments', 'gamma']) await call(`/${c}`, { method: 'PUT' });
  await call('/beta/o', { method: 'PUT', body: '12345' });
  const plain = await call('');
  t.equal(plain.status, 200);
  t.equal(plain.text, 'alpha\nbeta\nbeta_segments\ngamma\n');
  t.equal(plain.headers['x-account-container-count'], '4');
  const rows = JSON.parse((await call('?format=json&prefix=beta')).text);
  t.equal(rows.length, 2);
  t.same(Object.keys(rows[0]), ['name', 'count', 'bytes', 'last_modified']);
  t.equal(rows[0].count, 1);
  t.equal(rows[0].bytes, 5);
  const xml = (await call('?format=xml&limit=1')).text;
  t.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<account name="AUTH_test">\n<container><name>alpha<\/name><count>0<\/count><bytes>0<\/bytes><last_modified>/);
  t.equal((await call('?marker=alpha&end_marker=gamma')).text, 'beta\nbeta_segments\n');
  t.equal((await call('?delimiter=_')).text, 'alpha\nbeta\nbeta_\ngamma\n');
  t.equal((await call('?reverse=true&limit=1')).text, 'gamma\n');
  t.equal((await call('?limit=99999')).status, 412);
});
