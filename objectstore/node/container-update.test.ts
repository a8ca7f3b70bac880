/**
 * The updater's replay of queued listing updates: a dead container node must not hold back
 * the updates of live ones, whatever the queue's length and order.
 */
import t from 'tap';
import http from 'node:http';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceDbs } from './device-db.js';
import { NodeClient } from './node-client.js';
import { PendingQueue, REPLAY_PAGE, type PendingUpdate, type Target } from './container-update.js';
import { freePort } from '../cluster/local.js';

const ts = (n: number) => `${String(1_700_000_000 + n).padStart(10, '0')}.00000`;

function update(target: Target, n: number, object: string): PendingUpdate {
  return {
    target, account: 'a', container: 'c', object, part: 0, hash: 'h', queuedAt: 0,
    row: { ts: ts(n), size: 1, etag: 'e', contentType: 'text/plain' },
  };
}

t.test('a dead container node does not starve the queue', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-pending-'));
  await mkdir(join(dir, 'd1'));
  const dbs = new DeviceDbs(dir);
  const client = new NodeClient('secret-secret-secret');
  const got: string[] = [];
  const live = http.createServer((req, res) => {
    got.push(decodeURIComponent(req.url!.split('/').pop()!));
    res.writeHead(201, { 'content-length': '0' }).end();
  });
  await new Promise<void>((r) => live.listen(0, '127.0.0.1', r));
  t.teardown(async () => {
    client.close();
    live.close();
    await dbs.close();
    await rm(dir, { recursive: true, force: true });
  });
  const deadTarget: Target = { host: '127.0.0.1', port: await freePort('127.0.0.1'), device: 'd9', part: 0 };
  const liveTarget: Target = { host: '127.0.0.1', port: (live.address() as { port: number }).port, device: 'd2', part: 0 };
  const q = new PendingQueue(dbs);
  // More entries for the dead node than one page, all older than the live node's.
  const dead = Array.from({ length: REPLAY_PAGE + 5 }, (_, i) => update(deadTarget, i, `dead${i}`));
  await q.add('d1', dead);
  await q.add('d1', [update(liveTarget, 5000, 'x'), update(liveTarget, 5001, 'y')]);
  // As after a restart: a new queue object, with no write of its own in flight.
  const restarted = new PendingQueue(dbs);
  const sent = await restarted.replay(client, 'd1', async () => true, 0);
  t.equal(sent, 2, 'both live updates sent in the first pass');
  t.same(got.sort(), ['x', 'y']);
  const db = await dbs.get('d1');
  let left = 0;
  for await (const _ of db.keys({ gte: 'P\0', lt: 'P\x01' })) left++;
  t.equal(left, REPLAY_PAGE + 5, 'the dead node\'s updates stay queued');
});

t.test('sendStaged: delivered rows leave the queue, refused ones stay for the updater', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-pending-'));
  await mkdir(join(dir, 'd1'));
  const dbs = new DeviceDbs(dir);
  t.teardown(async () => {
    await dbs.close();
    await rm(dir, { recursive: true, force: true });
  });
  const target: Target = { host: '127.0.0.1', port: 1, device: 'd2', part: 0 };
  const q = new PendingQueue(dbs);
  const updates = [update(target, 1, 'took'), update(target, 2, 'refused'), update(target, 3, 'unreachable')];
  // Staged as a write stages them (unsynced, merged with other requests' writes).
  const keys = await q.add('d1', updates, false);
  const left = async () => {
    const out: string[] = [];
    for await (const v of (await dbs.get('d1')).values({ gte: 'P\0', lt: 'P\x01' })) out.push((v as PendingUpdate).object);
    return out.sort();
  };
  t.same(await left(), ['refused', 'took', 'unreachable'], 'staged before the object is in place');
  await q.sendStaged('d1', updates, keys, async (u) => {
    if (u.object === 'unreachable') throw new Error('ECONNREFUSED');
    return u.object === 'took' ? 201 : 503;
  });
  await q.flush();
  t.same(await left(), ['refused', 'unreachable'], 'only the delivered row is gone');
  t.equal(new Set(keys).size, 3, 'each entry its own key');
});
