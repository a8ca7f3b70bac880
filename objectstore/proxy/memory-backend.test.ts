import t from 'tap';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { MemoryBackend, compareNames, formatTimestamp } from './memory-backend.js';
import {
  BadRequest, ChecksumMismatch, Conflict, IncompleteBody, NotFound, PreconditionFailed, RangeNotSatisfiable,
} from '../common/errors.js';

const body = (s: string | Buffer) => Readable.from([Buffer.from(s)]);
const text = async (r: Readable) => {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts).toString();
};

t.test('containers and counts', async (t) => {
  const b = new MemoryBackend();
  t.same(await b.listContainers('a'), { entries: [], truncated: false });
  t.equal((await b.headAccount('a')).containerCount, 0);
  t.same(await b.putContainer('a', 'c1', { color: 'red' }), { created: true });
  t.same(await b.putContainer('a', 'c1'), { created: false });
  await b.putContainer('a', 'c2');
  await b.putObject('a', 'c1', 'x', { body: body('hello') });
  const info = await b.headContainer('a', 'c1');
  t.equal(info.objectCount, 1);
  t.equal(info.bytesUsed, 5);
  t.same(info.meta, { color: 'red' });
  const acct = await b.headAccount('a');
  t.match(acct, { containerCount: 2, objectCount: 1, bytesUsed: 5 });
  const list = await b.listContainers('a');
  t.same(list.entries.map((e) => ('name' in e ? [e.name, e.count, e.bytes] : e)), [['c1', 1, 5], ['c2', 0, 0]]);
  await t.rejects(b.deleteContainer('a', 'c1'), Conflict);
  await b.deleteContainer('a', 'c2');
  await t.rejects(b.headContainer('a', 'c2'), NotFound);
  await t.rejects(b.deleteContainer('a', 'c2'), NotFound);
  await t.rejects(b.putContainer('a', 'bad/name'), BadRequest);
  await t.rejects(b.putObject('a', 'c1', 'x'.repeat(1025), { body: body('') }), BadRequest);
  await t.rejects(b.putObject('a', 'nope', 'x', { body: body('') }), NotFound);
});

t.test('objects: etag, metadata, ranges, conditional put', async (t) => {
  const b = new MemoryBackend();
  await b.putContainer('a', 'c');
  const info = await b.putObject('a', 'c', 'o', {
    body: body('0123456789'), contentType: 'text/plain', meta: { k: 'v' }, headers: { 'cache-control': 'no-cache' },
  });
  t.equal(info.etag, createHash('md5').update('0123456789').digest('hex'));
  t.match(info.timestamp, /^\d{10}\.\d{5}$/);
  const got = await b.getObject('a', 'c', 'o');
  t.equal(await text(got.body), '0123456789');
  t.equal(got.info.contentType, 'text/plain');
  t.same(got.info.meta, { k: 'v' });
  t.same(got.info.headers, { 'cache-control': 'no-cache' });
  const r = await b.getObject('a', 'c', 'o', { range: { start: 2, end: 4 } });
  t.same(r.range, { start: 2, end: 4 });
  t.equal(await text(r.body), '234');
  t.equal(await text((await b.getObject('a', 'c', 'o', { range: { suffix: 3 } })).body), '789');
  t.equal(await text((await b.getObject('a', 'c', 'o', { range: { start: 8, end: 100 } })).body), '89');
  await t.rejects(b.getObject('a', 'c', 'o', { range: { start: 10 } }), RangeNotSatisfiable);
  await t.rejects(b.putObject('a', 'c', 'o', { body: body('x'), ifNoneMatchStar: true }), PreconditionFailed);
  await t.rejects(b.putObject('a', 'c', 'o', { body: body('x'), ifMatch: 'abc' }), PreconditionFailed);
  await b.putObject('a', 'c', 'o', { body: body('x'), ifMatch: info.etag });
  await b.putObject('a', 'c', 'new', { body: body('x'), ifNoneMatchStar: true });
  await t.rejects(b.putObject('a', 'c', 'o', { body: body('abc'), contentLength: 4 }), IncompleteBody);
  await t.rejects(b.putObject('a', 'c', 'o', { body: body('abc'), expectedMd5: 'f'.repeat(32) }), ChecksumMismatch);
  await b.postObject('a', 'c', 'o', { n: '1' }, { 'content-type': 'image/png' });
  const h = await b.headObject('a', 'c', 'o');
  t.same(h.meta, { n: '1' });
  t.equal(h.contentType, 'image/png');
  await b.deleteObject('a', 'c', 'o');
  await t.rejects(b.headObject('a', 'c', 'o'), NotFound);
  await t.rejects(b.deleteObject('a', 'c', 'o'), NotFound);
});

t.test('listings: prefix, delimiter, markers, limit, reverse', async (t) => {
  const b = new MemoryBackend();
  await b.putContainer('a', 'c');
  for (const n of ['a/1', 'a/2', 'b', 'c/x/y', 'c/z', 'd', 'é', 'z']) await b.putObject('a', 'c', n, { body: body(n) });
  const names = (p: { entries: Array<{ name: string } | { subdir: string }> }) =>
    p.entries.map((e) => ('subdir' in e ? `[${e.subdir}]` : e.name));
  t.same(names(await b.listObjects('a', 'c')), ['a/1', 'a/2', 'b', 'c/x/y', 'c/z', 'd', 'z', 'é']);
  t.same(names(await b.listObjects('a', 'c', { delimiter: '/' })), ['[a/]', 'b', '[c/]', 'd', 'z', 'é']);
  t.same(names(await b.listObjects('a', 'c', { prefix: 'c/', delimiter: '/' })), ['[c/x/]', 'c/z']);
  t.same(names(await b.listObjects('a', 'c', { delimiter: '/', marker: 'a/' })), ['b', '[c/]', 'd', 'z', 'é']);
  t.same(names(await b.listObjects('a', 'c', { marker: 'b', endMarker: 'd' })), ['c/x/y', 'c/z']);
  const page = await b.listObjects('a', 'c', { limit: 2, delimiter: '/' });
  t.same(names(page), ['[a/]', 'b']);
  t.equal(page.truncated, true);
  t.equal((await b.listObjects('a', 'c', { limit: 8 })).truncated, false);
  t.same(names(await b.listObjects('a', 'c', { reverse: true, limit: 3 })), ['é', 'z', 'd']);
  t.same(names(await b.listObjects('a', 'c', { reverse: true, marker: 'd', endMarker: 'a/2' })), ['c/z', 'c/x/y', 'b']);
  t.ok(compareNames('z', 'é') < 0, 'UTF-8 byte order');
  t.equal(formatTimestamp(1700000000123.4), '1700000000.12340');
});
