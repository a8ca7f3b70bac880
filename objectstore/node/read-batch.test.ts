/**
 * Small GETs and version checks in batches (read-batch.ts), against a real storage node over
 * HTTP: the node answers each read as its own request would (bodies included up to 64 KiB,
 * verified first); reads queued at once go in one request; a node that refuses the route gets
 * single HEADs (and GETs are left to their own requests); a dead node answers status 0.
 */
import t from 'tap';
import net from 'node:net';
import { readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ReadBatcher, READS_PATH, MAX_BATCHED_BODY_BYTES, type ReadAnswer } from './read-batch.js';
import { H_BACKEND_TIMESTAMP, H_CONTENT_LENGTH, H_METADATA, TimestampClock, UNKNOWN_DEVICE_STATUS, encodeJsonHeader, nodePath } from './protocol.js';
import { hashPath, partitionOf } from '../ring/hash.js';
import { TEST_HASH, TEST_PART_POWER, putReplica, startBatchTestNode } from './testing.js';

const part = (o: string) => partitionOf(hashPath('a', 'c', o, TEST_HASH), TEST_PART_POWER);
const hashOf = (o: string) => hashPath('a', 'c', o, TEST_HASH).toString('hex');
const path = (o: string, device = 'd1') => nodePath('obj', device, part(o), 'a', 'c', o);

t.test('read batches against a storage node', async (t) => {
  const bn = await startBatchTestNode(t, 'ringstack-read-batch-', READS_PATH, ['HEAD', 'GET']);
  const { dir, node, client, counts } = bn;
  const clock = new TimestampClock();
  const host = '127.0.0.1';

  async function put(o: string, body = Buffer.from(`body of ${o}`)): Promise<string> {
    const ts = clock.next();
    t.equal(await putReplica(client, node.port, path(o), ts, body), 201, `PUT ${o}`);
    return ts;
  }

  /** What a request of its own answers. */
  async function single(h: string, port: number, p: string, method = 'HEAD'): Promise<ReadAnswer> {
    try {
      const r = await client.request({ host: h, port, method, path: p, timeoutMs: 2000 });
      const chunks: Buffer[] = [];
      for await (const c of r.body) chunks.push(c as Buffer);
      return { status: r.status, headers: r.headers, body: Buffer.concat(chunks) };
    } catch {
      return { status: 0, headers: {} };
    }
  }
  const ts = (a: ReadAnswer) => String(a.headers[H_BACKEND_TIMESTAMP] ?? '');

  const kept = await put('kept');
  const gone = await put('gone');
  const del = await client.request({ host, port: node.port, method: 'DELETE', path: path('gone'), timestamp: clock.next() });
  del.body.resume();
  t.equal(del.status, 204, 'DELETE gone');
  const tombstone = String(del.headers[H_BACKEND_TIMESTAMP] ?? '');
  t.ok(tombstone > gone, 'the tombstone is newer than the version it deletes');

  await put('empty', Buffer.alloc(0));
  const large = Buffer.alloc(MAX_BATCHED_BODY_BYTES + 1, 7);
  await put('large', large);

  const reads = new ReadBatcher(client, 2000, (h, port, p) => single(h, port, p));
  const read = (p: string, m: 'GET' | 'HEAD' = 'GET', port = node.port) => reads.read(host, port, p, m);

  await t.test('each read answered as its own request would be, all in one request', async (t) => {
    counts.batches = 0;
    counts.singles = 0;
    const [get, head, delGet, delHead, never, wrongPart, noDevice, container, malformed, empty, big] = await Promise.all([
      read(path('kept')), read(path('kept'), 'HEAD'), read(path('gone')), read(path('gone'), 'HEAD'), read(path('never'), 'HEAD'),
      read(nodePath('obj', 'd1', (part('kept') + 1) % 2 ** TEST_PART_POWER, 'a', 'c', 'kept'), 'HEAD'),
      read(path('kept', 'nosuch')), read(nodePath('cont', 'd1', 0, 'a', 'c'), 'HEAD'), read('/obj/d1', 'HEAD'),
      read(path('empty')), read(path('large')),
    ]);
    t.equal(counts.batches, 1, 'one request for every read queued at once');
    t.equal(counts.singles, 0, 'no request of its own');
    const alone = await single(host, node.port, path('kept'), 'GET');
    t.equal(get.status, 200, 'GET: 200');
    t.same(get.body, Buffer.from('body of kept'), 'GET: the body');
    for (const h of ['etag', H_BACKEND_TIMESTAMP, H_METADATA, H_CONTENT_LENGTH, 'content-length']) {
      t.equal(get.headers[h], alone.headers[h], `GET: ${h} as a single GET has it`);
    }
    t.same([head.status, ts(head)], [200, kept], 'HEAD of a stored version: 200 and its timestamp');
    t.same([delGet.status, ts(delGet), delGet.body?.length], [404, tombstone, 0], 'GET of a tombstone: 404 with its timestamp');
    t.same([delHead.status, ts(delHead)], [404, tombstone], 'HEAD of a tombstone: 404 with its timestamp');
    t.same([never.status, ts(never)], [404, ''], 'nothing: 404 without a timestamp');
    t.equal(wrongPart.status, 400, 'a name outside the partition: 400');
    t.equal(noDevice.status, UNKNOWN_DEVICE_STATUS, 'unknown device');
    t.equal(container.status, 400, 'only object paths');
    t.equal(malformed.status, 400, 'a malformed path');
    t.same([empty.status, empty.body?.length], [200, 0], 'an empty object');
    t.same([big.status, big.askAlone, big.body], [200, true, undefined], 'a body over 64 KiB is left to its own request');
    for (const [name, p, a] of [['kept', path('kept'), head], ['gone', path('gone'), delHead], ['never', path('never'), never]] as const) {
      const s = await single(host, node.port, p);
      t.same([s.status, ts(s)], [a.status, ts(a)], `a single HEAD agrees: ${name}`);
    }
  });

  await t.test('reads that arrive while a batch is out go together in the next', async (t) => {
    counts.batches = 0;
    const first = read(path('kept'), 'HEAD');
    await new Promise((r) => setImmediate(r));
    const later = Array.from({ length: 5 }, () => read(path('kept')));
    const all = await Promise.all([first, ...later]);
    t.equal(counts.batches, 2, 'two requests for six reads');
    t.same(all.map((a) => [a.status, ts(a)]), Array(6).fill([200, kept]));
  });

  await t.test('a version check after a POST: the metadata\'s timestamp, as a single HEAD gives it', async (t) => {
    const data = await put('posted');
    const metaTs = clock.next();
    const r = await client.fetchText({
      host, port: node.port, method: 'POST', path: path('posted'), timestamp: metaTs,
      headers: { [H_METADATA]: encodeJsonHeader({ contentType: 'text/x', meta: { a: '1' }, headers: {} }) },
    });
    t.equal(r.status, 202, 'POST');
    const [head, get] = await Promise.all([read(path('posted'), 'HEAD'), read(path('posted'))]);
    const alone = await single(host, node.port, path('posted'));
    t.ok(metaTs > data, 'the metadata is newer than the data');
    t.same([head.status, ts(head)], [200, metaTs], 'batched HEAD: 200 and the metadata\'s timestamp');
    t.equal(ts(alone), metaTs, 'a single HEAD agrees');
    t.same([get.status, ts(get), get.body], [200, metaTs, Buffer.from('body of posted')], 'batched GET: the same version, the body');
  });

  await t.test('a body of exactly 64 KiB comes whole in the batch', async (t) => {
    const body = Buffer.alloc(MAX_BATCHED_BODY_BYTES);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
    const written = await put('max', body);
    const a = await read(path('max'));
    t.same([a.status, ts(a), a.askAlone], [200, written, undefined], 'served in the batch');
    t.ok(a.body?.equals(body), 'every byte');
  });

  await t.test('reads leave the files\' access times alone', async (t) => {
    await put('atime');
    const hashDir = join(dir, 'd1', 'objects', String(part('atime')));
    const suffix = (await readdir(hashDir)).find((s) => s === hashOf('atime').slice(-3))!;
    const file = join(hashDir, suffix, hashOf('atime'), (await readdir(join(hashDir, suffix, hashOf('atime'))))[0]!);
    // An access time older than the file's change: relatime would update it on the next read.
    const old = new Date(Date.now() - 3600_000);
    await utimes(file, old, (await stat(file)).mtime);
    const before = (await stat(file)).atimeMs;
    t.equal((await read(path('atime'))).status, 200, 'GET');
    t.equal((await stat(file)).atimeMs, before, 'the access time did not move');
  });

  await t.test('a corrupt small body is quarantined, never served', async (t) => {
    await put('rot');
    const hashDir = join(dir, 'd1', 'objects', String(part('rot')));
    const suffix = (await readdir(hashDir))[0]!;
    const hash = (await readdir(join(hashDir, suffix)))[0]!;
    const file = join(hashDir, suffix, hash, (await readdir(join(hashDir, suffix, hash)))[0]!);
    const bytes = await readFile(file);
    bytes[0] ^= 0xff;
    await writeFile(file, bytes);
    const a = await read(path('rot'));
    t.same([a.status, a.body?.length ?? 0], [500, 0], 'a 500 and no byte of the body');
    t.equal((await read(path('rot'), 'HEAD')).status, 404, 'the copy is gone (quarantined)');
  });

  await t.test('a node that refuses the batch route: single HEADs, GETs on their own', async (t) => {
    bn.refuse = true;
    t.teardown(() => {
      bn.refuse = false;
    });
    counts.singles = 0;
    const got = await Promise.all([read(path('kept'), 'HEAD'), read(path('gone'), 'HEAD'), read(path('kept'))]);
    t.equal(counts.singles, 2, 'each HEAD asked alone');
    t.same(got.slice(0, 2).map((a) => [a.status, ts(a)]), [[200, kept], [404, tombstone]]);
    t.equal(got[2]!.askAlone, true, 'the GET is left to its own request');
  });

  await t.test('the node refuses a malformed batch', async (t) => {
    const ask = (body: string, method = 'POST') => client.fetchText({
      host, port: node.port, method, path: READS_PATH, timestamp: clock.next(), body, headers: { 'content-type': 'application/json' },
    });
    t.equal((await ask('{"reads": [[1, "GET"]]}')).status, 400, 'paths must be strings');
    t.equal((await ask(JSON.stringify({ reads: [[path('kept'), 'PUT']] }))).status, 400, 'only GET and HEAD');
    t.equal((await ask('not json')).status, 400, 'unreadable body');
    t.equal((await ask(JSON.stringify({ reads: Array(257).fill([path('kept'), 'HEAD']) }))).status, 400, 'more than 256 reads');
    t.equal((await ask('', 'GET')).status, 400, 'only POST');
  });

  await t.test('a node that does not answer: status 0 for each check', async (t) => {
    const free = net.createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', () => r()));
    const port = (free.address() as net.AddressInfo).port;
    await new Promise<void>((r) => free.close(() => r()));
    const got = await Promise.all([read(path('kept'), 'HEAD', port), read(path('gone'), 'GET', port)]);
    t.same(got.map((a) => a.status), [0, 0]);
  });
});
