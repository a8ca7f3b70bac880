/**
 * Small PUTs in batches (write-batch.ts), against a real storage node over HTTP: each write is
 * stored and answered as its own PUT would be (201 with the ETag, 409 with the newer version,
 * 422 for a body that is not what its ETag says, 400, 421); writes queued at once go in one
 * request; a node that refuses the route gets single PUTs; a dead node answers status 0; the node
 * refuses malformed batches.
 */
import t from 'tap';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { WriteBatcher, WRITES_PATH, MAX_BATCHED_WRITE_BYTES, MAX_WRITES_PER_BATCH, encodeWrites, type WriteAnswer } from './write-batch.js';
import { H_BACKEND_TIMESTAMP, H_CONTENT_LENGTH, H_TIMESTAMP, T_ETAG, TimestampClock, UNKNOWN_DEVICE_STATUS, nodePath } from './protocol.js';
import { hashPath, partitionOf } from '../ring/hash.js';
import { TEST_HASH, TEST_PART_POWER, putReplica, startBatchTestNode } from './testing.js';

const part = (o: string) => partitionOf(hashPath('a', 'c', o, TEST_HASH), TEST_PART_POWER);
const path = (o: string, device = 'd1') => nodePath('obj', device, part(o), 'a', 'c', o);
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

t.test('write batches against a storage node', async (t) => {
  const bn = await startBatchTestNode(t, 'ringstack-write-batch-', WRITES_PATH, ['PUT']);
  const { node, client, counts } = bn;
  const clock = new TimestampClock();
  const host = '127.0.0.1';
  const writes = new WriteBatcher(client, 2000);

  /** A write as smallPut sends it: length, timestamp and the body's MD5 as headers. */
  const write = (p: string, body: Buffer, opts: { ts?: string; etag?: string; port?: number; headers?: Record<string, string> } = {}) =>
    writes.write(host, opts.port ?? node.port, p, {
      [H_TIMESTAMP]: opts.ts ?? clock.next(), [H_CONTENT_LENGTH]: String(body.length), [T_ETAG]: opts.etag ?? md5(body), ...opts.headers,
    }, body);
  /** What a GET of its own answers. */
  async function get(p: string): Promise<{ status: number; ts: string; body: Buffer }> {
    const r = await client.request({ host, port: node.port, method: 'GET', path: p, timeoutMs: 2000 });
    const chunks: Buffer[] = [];
    for await (const c of r.body) chunks.push(c as Buffer);
    return { status: r.status, ts: String(r.headers[H_BACKEND_TIMESTAMP] ?? ''), body: Buffer.concat(chunks) };
  }
  const ts = (a: WriteAnswer) => String(a.headers[H_BACKEND_TIMESTAMP] ?? '');

  await t.test('each write stored and answered as its own PUT would be, all in one request', async (t) => {
    const newer = clock.next();
    const older = clock.next();
    // 'taken' holds a version newer than the batched write; the twin cases go as single PUTs.
    t.equal(await putReplica(client, node.port, path('taken'), older, Buffer.from('newer')), 201);
    counts.batches = 0;
    counts.singles = 0;
    const body = Buffer.from('a small object');
    const [stored, empty, conflict, badEtag, noTs, wrongPart, noDevice, container, malformed] = await Promise.all([
      write(path('stored'), body),
      write(path('empty'), Buffer.alloc(0)),
      write(path('taken'), body, { ts: newer }),
      write(path('bad-etag'), body, { etag: md5(Buffer.from('something else')) }),
      write(path('no-ts'), body, { headers: { [H_TIMESTAMP]: 'soon' } }),
      write(nodePath('obj', 'd1', (part('stored') + 1) % 2 ** TEST_PART_POWER, 'a', 'c', 'stored'), body),
      write(path('stored', 'nosuch'), body),
      write(nodePath('cont', 'd1', 0, 'a', 'c'), body),
      write('/obj/d1', body),
    ]);
    t.equal(counts.batches, 1, 'one request for every write queued at once');
    t.equal(counts.singles, 0, 'no PUT of its own');

    t.same([stored.status, stored.headers.etag], [201, md5(body)], 'stored: 201 with the MD5');
    const back = await get(path('stored'));
    t.same([back.status, back.ts, back.body.toString()], [200, ts(stored), 'a small object'], 'a GET reads it back at its timestamp');
    t.same([empty.status, (await get(path('empty'))).body.length], [201, 0], 'an empty object');
    t.same([conflict.status, ts(conflict)], [409, older], 'an older write: 409 naming the version here');
    t.equal((await get(path('taken'))).body.toString(), 'newer', 'the newer version stays');
    t.equal(badEtag.status, 422, 'a body that is not what its MD5 says: 422');
    t.equal((await get(path('bad-etag'))).status, 404, '... and nothing stored');
    t.equal(noTs.status, 400, 'a bad X-Timestamp: 400');
    t.equal(wrongPart.status, 400, 'a name outside the partition: 400');
    t.equal(noDevice.status, UNKNOWN_DEVICE_STATUS, 'unknown device');
    t.equal(container.status, 400, 'only object paths');
    t.equal(malformed.status, 400, 'a malformed path');

    // The same cases as single PUTs answer the same statuses.
    const alone = [
      await putReplica(client, node.port, path('stored-alone'), clock.next(), body),
      await putReplica(client, node.port, path('taken'), newer, body),
      await putReplica(client, node.port, path('bad-etag-alone'), clock.next(), body, {}, md5(Buffer.from('something else'))),
    ];
    t.same(alone, [stored.status, conflict.status, badEtag.status], 'single PUTs agree');
  });

  await t.test('writes that arrive while batches are out go together in the next', async (t) => {
    counts.batches = 0;
    const first = [write(path('w0'), Buffer.from('0')), write(path('w1'), Buffer.from('1'))];
    await new Promise((r) => setImmediate(r));
    const second = write(path('w2'), Buffer.from('2'));
    await new Promise((r) => setImmediate(r));
    const later = Array.from({ length: 5 }, (_, i) => write(path(`w${i + 3}`), Buffer.from(String(i + 3))));
    const all = await Promise.all([...first, second, ...later]);
    t.equal(counts.batches, 3, 'two batches in flight, then one for the five that waited');
    t.same(all.map((a) => a.status), Array(8).fill(201));
    for (let i = 0; i < 8; i++) t.equal((await get(path(`w${i}`))).body.toString(), String(i), `w${i} reads back`);
  });

  await t.test('a node that refuses the batch route: each write as its own PUT', async (t) => {
    bn.refuse = true;
    t.teardown(() => {
      bn.refuse = false;
    });
    counts.singles = 0;
    const got = await Promise.all([write(path('r1'), Buffer.from('one')), write(path('r2'), Buffer.from('two'))]);
    t.equal(counts.singles, 2, 'each write sent alone');
    t.same(got.map((a) => a.status), [201, 201]);
    t.equal((await get(path('r2'))).body.toString(), 'two');
  });

  await t.test('a body over the limit is not batched', async (t) => {
    t.throws(() => write(path('big'), Buffer.alloc(MAX_BATCHED_WRITE_BYTES + 1)), RangeError);
  });

  await t.test('the node refuses a malformed batch', async (t) => {
    const ask = async (body: Buffer, method = 'POST') => (await client.fetchText({
      host, port: node.port, method, path: WRITES_PATH, timestamp: clock.next(), body, headers: { 'content-type': 'application/octet-stream' },
    })).status;
    const one = { path: path('m'), headers: { [H_TIMESTAMP]: clock.next() }, body: Buffer.from('x') };
    const good = encodeWrites([one]);
    t.equal(await ask(good.subarray(0, good.length - 1)), 400, 'a body shorter than declared');
    t.equal(await ask(Buffer.concat([good, Buffer.from('y')])), 400, 'bytes after the last body');
    t.equal(await ask(Buffer.from('not a batch')), 400, 'unreadable');
    const lie = Buffer.from(JSON.stringify({ writes: [[one.path, { [H_TIMESTAMP]: 5 }, 1]] }));
    const head = Buffer.alloc(4);
    head.writeUInt32BE(lie.length);
    t.equal(await ask(Buffer.concat([head, lie, Buffer.from('x')])), 400, 'header values must be strings');
    t.equal(await ask(encodeWrites(Array(MAX_WRITES_PER_BATCH + 1).fill(one))), 400, `more than ${MAX_WRITES_PER_BATCH} writes`);
    t.equal(await ask(good, 'PUT'), 400, 'only POST');
    t.equal((await get(path('m'))).status, 404, 'nothing of a refused batch is stored');
  });

  await t.test('a node that does not answer: status 0 for each write', async (t) => {
    const free = net.createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', () => r()));
    const port = (free.address() as net.AddressInfo).port;
    await new Promise<void>((r) => free.close(() => r()));
    const got = await Promise.all([write(path('d1'), Buffer.from('a'), { port }), write(path('d2'), Buffer.from('b'), { port })]);
    t.same(got.map((a) => a.status), [0, 0]);
  });
});
