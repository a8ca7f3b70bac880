/**
 * A GET's version checks in batches (head-batch.ts), against a real storage node over HTTP:
 * the node answers each path as a HEAD would; checks queued at once go in one request; a node
 * that refuses the batch route gets single HEADs; a dead node answers status 0.
 */
import t from 'tap';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { startNodeServer } from './server.js';
import { NodeClient } from './node-client.js';
import { HeadBatcher, HEADS_PATH, type HeadAnswer } from './head-batch.js';
import { H_BACKEND_TIMESTAMP, H_CONTENT_LENGTH, T_ETAG, TimestampClock, UNKNOWN_DEVICE_STATUS, nodePath } from './protocol.js';
import { hashPath, partitionOf } from '../ring/hash.js';
import { TEST_HASH, TEST_PART_POWER, TEST_SECRET, tempDevicesDir } from './testing.js';

const part = (o: string) => partitionOf(hashPath('a', 'c', o, TEST_HASH), TEST_PART_POWER);
const path = (o: string, device = 'd1') => nodePath('obj', device, part(o), 'a', 'c', o);

t.test('head batches against a storage node', async (t) => {
  const dir = await tempDevicesDir(t, 'ringstack-head-batch-');
  let batches = 0;
  let singles = 0;
  let refuse = false;
  const node = await startNodeServer({
    devicesDir: dir, secret: TEST_SECRET, hash: TEST_HASH, partPower: TEST_PART_POWER, log: () => undefined,
    routes: async (method, url, _req, res) => {
      if (url === HEADS_PATH) {
        batches++;
        if (refuse) {
          res.writeHead(400, { 'content-length': '0' });
          res.end();
          return true;
        }
      } else if (method === 'HEAD') {
        singles++;
      }
      return false;
    },
  });
  const client = new NodeClient(TEST_SECRET);
  t.teardown(async () => {
    client.close();
    await node.close();
  });
  const clock = new TimestampClock();
  const host = '127.0.0.1';

  async function put(o: string): Promise<string> {
    const body = Buffer.from(`body of ${o}`);
    const ts = clock.next();
    const req = client.open({
      host, port: node.port, method: 'PUT', path: path(o), timestamp: ts,
      headers: { [H_CONTENT_LENGTH]: String(body.length), 'transfer-encoding': 'chunked' },
    });
    const status = new Promise<number>((resolve, reject) => {
      req.on('response', (r) => {
        r.resume();
        resolve(r.statusCode!);
      });
      req.on('error', reject);
    });
    req.write(body);
    req.addTrailers({ [T_ETAG]: createHash('md5').update(body).digest('hex') });
    req.end();
    t.equal(await status, 201, `PUT ${o}`);
    return ts;
  }

  /** What a single HEAD of the path answers. */
  async function single(h: string, port: number, p: string): Promise<HeadAnswer> {
    try {
      const r = await client.request({ host: h, port, method: 'HEAD', path: p, timeoutMs: 2000 });
      r.body.resume();
      return { status: r.status, timestamp: String(r.headers[H_BACKEND_TIMESTAMP] ?? '') };
    } catch {
      return { status: 0, timestamp: '' };
    }
  }

  const kept = await put('kept');
  const gone = await put('gone');
  const del = await client.request({ host, port: node.port, method: 'DELETE', path: path('gone'), timestamp: clock.next() });
  del.body.resume();
  t.equal(del.status, 204, 'DELETE gone');
  const tombstone = String(del.headers[H_BACKEND_TIMESTAMP] ?? '');
  t.ok(tombstone > gone, 'the tombstone is newer than the version it deletes');

  const heads = new HeadBatcher(client, 2000, single);
  const cases: Array<[string, string]> = [
    ['kept', path('kept')],
    ['deleted', path('gone')],
    ['never written', path('never')],
    ['wrong partition', nodePath('obj', 'd1', (part('kept') + 1) % 2 ** TEST_PART_POWER, 'a', 'c', 'kept')],
    ['unknown device', path('kept', 'nosuch')],
    ['container path', nodePath('cont', 'd1', 0, 'a', 'c')],
    ['not a node path', '/obj/d1'],
  ];

  await t.test('each path answered as a HEAD would, all in one request', async (t) => {
    batches = 0;
    singles = 0;
    const got = await Promise.all(cases.map(([, p]) => heads.head(host, node.port, p)));
    t.equal(batches, 1, 'one request for every check queued at once');
    t.equal(singles, 0, 'no single HEAD');
    t.same(got[0], { status: 200, timestamp: kept }, 'a stored version: 200 and its timestamp');
    t.same(got[1], { status: 404, timestamp: tombstone }, 'a tombstone: 404 with its timestamp');
    t.same(got[2], { status: 404, timestamp: '' }, 'nothing: 404 without a timestamp');
    t.same(got[3], { status: 400, timestamp: '' }, 'a name outside the partition: 400');
    t.same(got[4], { status: UNKNOWN_DEVICE_STATUS, timestamp: '' }, 'unknown device');
    t.same(got[5], { status: 400, timestamp: '' }, 'only object paths');
    t.same(got[6], { status: 400, timestamp: '' }, 'a malformed path');
    // The same questions as single HEADs agree where a HEAD can be asked at all.
    for (const i of [0, 1, 2]) t.same(await single(host, node.port, cases[i]![1]), got[i], `single HEAD agrees: ${cases[i]![0]}`);
  });

  await t.test('checks that arrive while a batch is out go together in the next', async (t) => {
    batches = 0;
    const first = heads.head(host, node.port, path('kept'));
    await new Promise((r) => setImmediate(r));
    const later = Array.from({ length: 5 }, () => heads.head(host, node.port, path('kept')));
    const all = await Promise.all([first, ...later]);
    t.equal(batches, 2, 'two requests for six checks');
    for (const a of all) t.same(a, { status: 200, timestamp: kept });
  });

  await t.test('a node that refuses the batch route gets single HEADs', async (t) => {
    refuse = true;
    t.teardown(() => {
      refuse = false;
    });
    singles = 0;
    const got = await Promise.all([heads.head(host, node.port, path('kept')), heads.head(host, node.port, path('gone'))]);
    t.equal(singles, 2, 'each check asked alone');
    t.same(got, [{ status: 200, timestamp: kept }, { status: 404, timestamp: tombstone }]);
  });

  await t.test('the node refuses a malformed batch', async (t) => {
    const ask = (body: string, method = 'POST') => client.fetchText({
      host, port: node.port, method, path: HEADS_PATH, timestamp: clock.next(), body, headers: { 'content-type': 'application/json' },
    });
    t.equal((await ask('{"paths": [1, 2]}')).status, 400, 'paths must be strings');
    t.equal((await ask('not json')).status, 400, 'unreadable body');
    t.equal((await ask(JSON.stringify({ paths: Array(257).fill(path('kept')) }))).status, 400, 'more than 256 paths');
    t.equal((await ask('', 'GET')).status, 400, 'only POST');
  });

  await t.test('a node that does not answer: status 0 for each check', async (t) => {
    const free = net.createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', () => r()));
    const port = (free.address() as net.AddressInfo).port;
    await new Promise<void>((r) => free.close(() => r()));
    const got = await Promise.all([heads.head(host, port, path('kept')), heads.head(host, port, path('gone'))]);
    t.same(got, [{ status: 0, timestamp: '' }, { status: 0, timestamp: '' }]);
  });
});
