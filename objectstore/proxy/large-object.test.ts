import t from 'tap';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { MemoryBackend } from './memory-backend.js';
import {
  cleanContentType, deleteSegments, isManifest, listingEntry, manifestSize, openSegments, readManifest, sloEtag, writeManifest,
  type Segment,
} from './large-object.js';
import { BadRequest, NotFound, ServiceUnavailable } from '../common/errors.js';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
async function bytes(r: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of r) out.push(c as Buffer);
  return Buffer.concat(out);
}

t.test('a manifest over segments reads as one object', async (t) => {
  const b = new MemoryBackend();
  await b.putContainer('acct', 'segs');
  await b.putContainer('acct', 'c');
  const parts = [Buffer.from('0123456789'), Buffer.from(''), Buffer.from('abcdef'), Buffer.from('XYZ')];
  const segments: Segment[] = [];
  for (const [i, p] of parts.entries()) {
    await b.putObject('acct', 'segs', `obj/${i}`, { body: Readable.from([p]) });
    segments.push({ name: `/segs/obj/${i}`, hash: md5(p), bytes: p.length });
  }
  const whole = Buffer.concat(parts);
  await writeManifest(b, 'acct', 'c', 'big', segments, { contentType: 'text/plain', meta: { k: 'v' }, s3Etag: 'abc-4' });
  const info = await b.headObject('acct', 'c', 'big');
  t.ok(isManifest(info));
  t.equal(manifestSize(info), whole.length);
  t.equal(cleanContentType(info.contentType), 'text/plain');
  t.equal(info.headers['x-object-sysmeta-slo-etag'], sloEtag(segments));
  t.equal(sloEtag(segments), md5(Buffer.from(segments.map((s) => s.hash).join(''))));
  const { segments: read } = await readManifest(b, 'acct', 'c', 'big');
  t.same(read, segments);
  t.ok((await bytes(openSegments(b, 'acct', read))).equals(whole));
  for (const [start, end] of [[0, 0], [8, 12], [9, 10], [10, 18], [15, 18], [0, 18], [16, 16]] as const) {
    t.ok((await bytes(openSegments(b, 'acct', read, { start, end }))).equals(whole.subarray(start, end + 1)), `range ${start}-${end}`);
  }
  const [row] = (await b.listObjects('acct', 'c')).entries;
  const entry = listingEntry(row as never);
  t.match(entry, { name: 'big', bytes: whole.length, etag: sloEtag(segments), contentType: 'text/plain', s3Etag: 'abc-4' });
  const plain = { name: 'p', bytes: 1, etag: 'e', contentType: 'text/plain; charset=utf-8', lastModified: 0 };
  t.same(listingEntry(plain), plain);
  // A segment rewritten after the manifest was written fails the read.
  await b.putObject('acct', 'segs', 'obj/2', { body: Readable.from([Buffer.from('ABCDEF')]) });
  await t.rejects(bytes(openSegments(b, 'acct', read)), ServiceUnavailable);
  await deleteSegments(b, 'acct', read);
  await deleteSegments(b, 'acct', read);
  t.same((await b.listObjects('acct', 'segs')).entries, []);
  await t.rejects(writeManifest(b, 'acct', 'c', 'x', []), BadRequest);
  await t.rejects(writeManifest(b, 'acct', 'c', 'x', [{ name: 'no-slash', hash: 'h', bytes: 1 }]), BadRequest);
  await b.putObject('acct', 'c', 'notmanifest', { body: Readable.from([Buffer.from('x')]) });
  await t.rejects(readManifest(b, 'acct', 'c', 'notmanifest'), BadRequest);
  await t.rejects(readManifest(b, 'acct', 'c', 'missing'), NotFound);
});
