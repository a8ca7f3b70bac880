/**
 * Listing rows on a storage node that is also the container replica: an object write naming
 * the node itself applies its row in process (no request to /rows or /cont), one naming another
 * node still sends it; and the relay of rows the proxy owes (POST with a row on an object).
 */
import t from 'tap';
import { startInProcessNode, TEST_HASH, TEST_PART_POWER, type InProcessNode } from './testing.js';
import { hashPath, partitionOf } from '../ring/hash.js';
import { encodeJsonHeader, H_CONTAINER_TARGET, H_ROW, nodePath, T_ETAG } from './protocol.js';
import { formatTarget } from './container-update.js';
import { ROWS_PATH } from './row-batch.js';
import { createHash } from 'node:crypto';

const cpart = (c: string) => partitionOf(hashPath('a', c, undefined, TEST_HASH), TEST_PART_POWER);
const opart = (o: string) => partitionOf(hashPath('a', 'c', o, TEST_HASH), TEST_PART_POWER);

/** Counts the row requests a node receives. */
function countRowRequests(n: InProcessNode): { rows: number } {
  const seen = { rows: 0 };
  n.node.server.on('request', (req) => {
    const url = req.url ?? '';
    // /rows, or a single row: /cont/<dev>/<part>/<account>/<container>/<object>
    if (url === ROWS_PATH || (url.startsWith('/cont/') && url.split('/').length > 6)) seen.rows++;
  });
  return seen;
}

async function createContainer(n: InProcessNode): Promise<void> {
  const r = await n.client.request({
    host: '127.0.0.1', port: n.node.port, method: 'PUT', path: nodePath('cont', 'sda', cpart('c'), 'a', 'c'), timestamp: n.clock.next(),
  });
  r.body.resume();
  if (r.status !== 201) throw new Error(`container PUT got ${r.status}`);
}

async function listed(n: InProcessNode): Promise<string[]> {
  const r = await n.client.fetchText({ host: '127.0.0.1', port: n.node.port, method: 'GET', path: nodePath('cont', 'sda', cpart('c'), 'a', 'c') });
  return (JSON.parse(r.text) as { entries: Array<{ name: string }> }).entries.map((e) => e.name);
}

async function putObject(n: InProcessNode, o: string, target: InProcessNode, ts = n.clock.next()): Promise<number> {
  const body = Buffer.from(`body of ${o}`);
  const r = await n.client.request({
    host: '127.0.0.1', port: n.node.port, method: 'PUT', path: nodePath('obj', 'sda', opart(o), 'a', 'c', o), timestamp: ts, body,
    headers: {
      [T_ETAG]: createHash('md5').update(body).digest('hex'),
      [H_CONTAINER_TARGET]: formatTarget({ host: '127.0.0.1', port: target.node.port, device: 'sda', part: cpart('c') }),
    },
  });
  r.body.resume();
  return r.status;
}

t.test('a row for the node\'s own container replica is applied in process', async (t) => {
  const a = await startInProcessNode(t, 'ringstack-local-rows-a-');
  const b = await startInProcessNode(t, 'ringstack-local-rows-b-');
  await createContainer(a);
  await createContainer(b);
  const toA = countRowRequests(a);
  const toB = countRowRequests(b);
  t.equal(await putObject(a, 'mine', a), 201);
  t.same(await listed(a), ['mine'], 'listed on the node itself');
  t.equal(toA.rows, 0, 'no row request reached the node');
  t.equal(await putObject(a, 'theirs', b), 201);
  t.same(await listed(b), ['theirs'], 'listed on the other node');
  t.equal(toB.rows, 1, 'the other node got the row over HTTP');
});

t.test('rows the proxy owes are relayed by a node that stored the version', async (t) => {
  const a = await startInProcessNode(t, 'ringstack-relay-a-');
  const b = await startInProcessNode(t, 'ringstack-relay-b-');
  await createContainer(b);
  const ts = a.clock.next();
  const relay = (o: string, rowTs: string, row: unknown, target = true) => a.client.request({
    host: '127.0.0.1', port: a.node.port, method: 'POST', path: nodePath('obj', 'sda', opart(o), 'a', 'c', o), timestamp: rowTs,
    headers: {
      [H_ROW]: encodeJsonHeader(row),
      ...(target ? { [H_CONTAINER_TARGET]: formatTarget({ host: '127.0.0.1', port: b.node.port, device: 'sda', part: cpart('c') }) } : {}),
    },
  }).then((r) => {
    r.body.resume();
    return r.status;
  });
  const row = { ts, size: 9, etag: 'e', contentType: 'text/plain' };
  t.equal(await relay('x', ts, row), 404, 'refused: the node holds no such version');
  t.same(await listed(b), [], 'nothing relayed');
  // The node stores the version (naming itself, so b hears of it only through the relay).
  t.equal(await putObject(a, 'x', a, ts), 201);
  t.equal(await relay('x', ts, { ...row, size: -1 }), 400, 'bad row refused');
  t.equal(await relay('x', ts, { ...row, ts: a.clock.next() }), 400, 'row and request timestamps differ');
  t.equal(await relay('x', ts, row, false), 400, 'no container target');
  t.equal(await relay('x', ts, row), 204, 'relayed');
  t.same(await listed(b), ['x'], 'the container replica lists it');
  const del = a.clock.next();
  const r = await a.client.request({
    host: '127.0.0.1', port: a.node.port, method: 'DELETE', path: nodePath('obj', 'sda', opart('x'), 'a', 'c', 'x'), timestamp: del,
  });
  r.body.resume();
  t.equal(await relay('x', del, { ts: del, size: 0, etag: '', contentType: '', deleted: true }), 204, 'tombstone relayed');
  t.same(await listed(b), [], 'the delete reached the container replica');
});
