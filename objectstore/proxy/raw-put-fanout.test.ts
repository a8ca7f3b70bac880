/**
 * The fan-out of a large PUT (put-fanout.ts) to real in-process storage nodes: bodies of at
 * least RAW_BODY_MIN_BYTES go unframed (raw-put-client.ts), and a node of an older version,
 * which answers a plain `100 Continue`, gets the same body chunked instead: every replica
 * holds it and reads back byte for byte.
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startNodeServer, type RunningNode } from '../node/server.js';
import { NodeClient } from '../node/node-client.js';
import { H_CONTENT_LENGTH, nodePath } from '../node/protocol.js';
import { TEST_HASH, TEST_PART_POWER, TEST_SECRET } from '../node/testing.js';
import { hashPath, partitionOf } from '../ring/hash.js';
import { fanoutPut, RAW_BODY_MIN_BYTES } from './put-fanout.js';

t.test('a large PUT reaches new and old nodes alike', async (t) => {
  const nodes: RunningNode[] = [];
  const dirs: string[] = [];
  for (const rawBodies of [true, false, true]) {
    const dir = await mkdtemp(join(tmpdir(), 'rs-fanout-'));
    await mkdir(join(dir, 'sda'));
    dirs.push(dir);
    nodes.push(await startNodeServer({ devicesDir: dir, secret: TEST_SECRET, hash: TEST_HASH, partPower: TEST_PART_POWER, rawBodies }));
  }
  const client = new NodeClient(TEST_SECRET);
  t.teardown(async () => {
    client.close();
    for (const n of nodes) await n.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const part = partitionOf(hashPath('a', 'c', 'o', TEST_HASH), TEST_PART_POWER);
  const path = nodePath('obj', 'sda', part, 'a', 'c', 'o');
  const body = randomBytes(RAW_BODY_MIN_BYTES * 3 + 777);
  const md5 = createHash('md5').update(body).digest('hex');
  const targets = nodes.map((n) => ({ host: '127.0.0.1', port: n.port, path, headers: { [H_CONTENT_LENGTH]: String(body.length) } }));
  // Chunks as a client's upload arrives.
  const chunks = Array.from({ length: Math.ceil(body.length / 65536) }, (_, i) => body.subarray(i * 65536, (i + 1) * 65536));
  const r = await fanoutPut(client, {
    nodes: targets[Symbol.iterator](), replicas: 3, timestamp: '1700000000.00001', body: Readable.from(chunks),
    contentLength: body.length,
  });
  t.equal(r.etag, md5);
  t.equal(r.successes, 3, 'all three replicas stored it, the older node too');
  for (const [i, n] of nodes.entries()) {
    const res = await client.request({ host: '127.0.0.1', port: n.port, method: 'GET', path });
    const got: Buffer[] = [];
    for await (const c of res.body) got.push(c as Buffer);
    t.equal(res.status, 200);
    t.ok(Buffer.concat(got).equals(body), `node ${i + 1} returns the body`);
    t.same(await readdir(join(dirs[i]!, 'sda', 'tmp')).catch(() => []), [], `node ${i + 1} left no temp file`);
  }
});
