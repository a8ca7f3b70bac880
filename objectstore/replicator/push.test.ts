/**
 * Replication pushes of single objects (push.ts) between real node processes: a body up to
 * SYNC_IO_BYTES is read at once and sent with the request head, a larger one is streamed; both
 * land byte for byte. A damaged local copy is never spread: a body that no longer matches its
 * ETag is refused by the peer (422) and a file without a readable footer is not sent; both
 * raise LocalFileCorrupt so the replicator quarantines the copy.
 */
import t from 'tap';
import { readdir, truncate, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { TestCluster } from '../cluster/test-cluster.js';
import { SYNC_IO_BYTES } from '../node/diskfile.js';
import { nodePath } from '../node/protocol.js';
import { LocalFileCorrupt, pushObject } from './push.js';
import { liveState } from './suffix-hashes.js';
import { ACCOUNT, CONTAINER, dataFileOn, flipByte, hashDirOn, placement, put } from './test-helpers.js';

const QUIET = { replicator: { intervalMs: 3_600_000 }, auditor: { intervalMs: 3_600_000 } };
const FROM = 0;
const TO = 2;

t.test('pushes land byte for byte; damaged copies are refused', async (t) => {
  const c = await TestCluster.start({ extra: () => QUIET });
  t.teardown(() => c.stop());
  await c.backend.putContainer(ACCOUNT, CONTAINER);
  await c.killNode(TO);
  const bodies = new Map<string, Buffer>([
    ['small', randomBytes(4096)],
    ['at-limit', randomBytes(SYNC_IO_BYTES)],
    ['large', randomBytes(SYNC_IO_BYTES * 3 + 17)],
    ['flipped-small', randomBytes(1000)],
    ['flipped-large', randomBytes(SYNC_IO_BYTES * 2)],
    ['no-footer', randomBytes(2000)],
  ]);
  for (const [name, body] of bodies) await put(c, name, body);
  await c.startNode(TO);
  const peer = c.rings.object.getNodes(ACCOUNT, CONTAINER, 'small').nodes.find((d) => d.device === c.nodes[TO]!.device)!;

  /** Pushes the object's data from node FROM to node TO. */
  const push = async (name: string) => {
    const { part, hash } = placement(c, name);
    const dir = hashDirOn(c, FROM, part, hash);
    const { live } = liveState(await readdir(dir));
    return pushObject(c.backend.client, peer, part, dir, live, ['data']);
  };
  /** The error a push fails with (undefined when it succeeds). */
  const pushError = (name: string) => push(name).then(() => undefined, (e: Error) => e);
  /** The body node TO serves for the object (undefined when it has none). */
  const served = async (name: string) => {
    const { part } = placement(c, name);
    const r = await c.backend.client.request({ host: peer.ip, port: peer.port, method: 'GET', path: nodePath('obj', peer.device, part, ACCOUNT, CONTAINER, name) });
    const chunks: Buffer[] = [];
    for await (const ch of r.body) chunks.push(ch as Buffer);
    return r.status === 200 ? Buffer.concat(chunks) : undefined;
  };
  for (const name of ['small', 'at-limit', 'large']) {
    t.equal(await served(name), undefined, `${name}: the peer lacks it before the push`);
    t.equal(await push(name), 1, `${name}: one file sent`);
    t.same(await served(name), bodies.get(name), `${name}: the peer serves the same bytes`);
  }
  t.equal(await push('small'), 1, 'a push the peer already holds counts as done (409)');

  // One byte of the body flipped in the local copy.
  for (const name of ['flipped-small', 'flipped-large']) {
    await flipByte(c, FROM, name, 10);
    t.type(await pushError(name), LocalFileCorrupt, `${name}: the peer refuses a body that does not match its ETag`);
    t.equal(await served(name), undefined, `${name}: the peer stores nothing`);
  }

  // The footer cut off: nothing says what the bytes are.
  const file = (await dataFileOn(c, FROM, 'no-footer'))!;
  await truncate(file, bodies.get('no-footer')!.length);
  t.equal((await stat(file)).size, 2000, 'footer removed');
  t.type(await pushError('no-footer'), LocalFileCorrupt, 'a copy without its footer is not sent');
  t.equal(await served('no-footer'), undefined, 'the peer stores nothing');
});
