/**
 * Listing rows sent in batches (row-batch.ts) to a real storage node over HTTP: rows that wait
 * at once share requests, each row gets the status its single-row request would have had, and
 * the rows are in the container listing.
 */
import { startInProcessNode, TEST_HASH, TEST_PART_POWER } from './testing.js';
import t from 'tap';
import { hashPath, partitionOf } from '../ring/hash.js';
import { nodePath } from './protocol.js';
import { RowBatcher, ROWS_PATH } from './row-batch.js';
import type { PendingUpdate } from './container-update.js';

const HASH = TEST_HASH;
const PART_POWER = TEST_PART_POWER;

t.test('row batches', async (t) => {
  const { node, client, clock } = await startInProcessNode(t, 'ringstack-rows-');
  let batchRequests = 0;
  node.server.on('request', (req) => {
    if (req.url === ROWS_PATH) batchRequests++;
  });
  const cpart = (c: string) => partitionOf(hashPath('a', c, undefined, HASH), PART_POWER);
  const put = await client.request({
    host: '127.0.0.1', port: node.port, method: 'PUT', path: nodePath('cont', 'sda', cpart('c'), 'a', 'c'), timestamp: clock.next(),
  });
  put.body.resume();
  t.equal(put.status, 201, 'container created');

  const update = (o: string, over: Partial<PendingUpdate['target']> = {}, c = 'c', ts = clock.next()): PendingUpdate => ({
    target: { host: '127.0.0.1', port: node.port, device: 'sda', part: cpart(c), ...over },
    account: 'a', container: c, object: o, row: { ts, size: o.length, etag: 'e', contentType: 'text/plain' },
    part: 0, hash: '', queuedAt: Date.now(),
  });
  const batcher = new RowBatcher(client);
  const names = Array.from({ length: 40 }, (_, i) => `o${String(i).padStart(2, '0')}`);
  const statuses = await Promise.all(names.map((n) => batcher.send(update(n))));
  t.same(statuses, names.map(() => 201), 'every row stored');
  t.ok(batchRequests < names.length, `40 rows sent at once shared ${batchRequests} requests`);

  const list = await client.fetchText({
    host: '127.0.0.1', port: node.port, method: 'GET', path: nodePath('cont', 'sda', cpart('c'), 'a', 'c'),
  });
  t.same((JSON.parse(list.text) as { entries: Array<{ name: string }> }).entries.map((e) => e.name), names, 'all listed');

  const older = update('o00', {}, 'c', '0000000001.00000');
  const gone = update('x', {}, 'nosuch');
  const wrongPart = update('y', { part: (cpart('c') + 1) % 2 ** PART_POWER });
  const noDevice = update('z', { device: 'sdz' });
  const deleted = update('o01');
  deleted.row = { ...deleted.row, deleted: true };
  t.same(await Promise.all([older, gone, wrongPart, noDevice, deleted].map((u) => batcher.send(u))), [202, 404, 400, 421, 201],
    'older row, missing container, wrong partition, unknown device, delete');
  const after = await client.fetchText({
    host: '127.0.0.1', port: node.port, method: 'GET', path: nodePath('cont', 'sda', cpart('c'), 'a', 'c'),
  });
  t.notOk((JSON.parse(after.text) as { entries: Array<{ name: string }> }).entries.some((e) => e.name === 'o01'), 'deleted row gone');

  const unsigned = await fetch(`http://127.0.0.1:${node.port}${ROWS_PATH}`, { method: 'POST', body: '{"rows":[]}' });
  t.equal(unsigned.status, 401, 'unsigned batch refused');
  const bad = await client.fetchText({ host: '127.0.0.1', port: node.port, method: 'POST', path: ROWS_PATH, body: 'not json' });
  t.equal(bad.status, 400, 'unreadable batch refused');

  const dead = new RowBatcher(client, 1000);
  await t.rejects(dead.send(update('w', { port: 1 })), 'a node that cannot be reached fails the row (the caller queues it)');
});
