/**
 * One listing row per object replica, on a real 3-node cluster: when the object replica that was
 * to name a container replica does not store the write, the proxy has another replica relay
 * the row before it answers, so every container replica lists the write (or its delete) at once.
 */
import t from 'tap';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { TestCluster } from '../cluster/test-cluster.js';
import { formatTimestamp, nodePath } from '../node/protocol.js';
import { targetsOfSlot } from './put-fanout.js';

const HOUR_MS = 3_600_000;

/** The names each container replica lists, read from each node directly. */
async function listedOnEachReplica(c: TestCluster, a: string, ct: string): Promise<string[][]> {
  const { part, nodes } = c.rings.container.getNodes(a, ct);
  return Promise.all(nodes.map(async (n) => {
    const r = await c.backend.client.fetchText({ host: n.ip, port: n.port, method: 'GET', path: nodePath('cont', n.device, part, a, ct) });
    return (JSON.parse(r.text) as { entries: Array<{ name: string }> }).entries.map((e) => e.name);
  }));
}

/**
 * Stores a version an hour ahead on the object's first primary, so that replica refuses the
 * proxy's write (409) and sends no row; nothing names a container for it.
 */
async function newerOnFirstPrimary(c: TestCluster, a: string, ct: string, o: string): Promise<void> {
  const { part, nodes } = c.rings.object.getNodes(a, ct, o);
  const n = nodes[0]!;
  const r = await c.backend.client.request({
    host: n.ip, port: n.port, method: 'PUT', path: nodePath('obj', n.device, part, a, ct, o),
    timestamp: formatTimestamp(Date.now() + HOUR_MS), body: Buffer.from('from the future'),
  });
  r.body.resume();
  if (r.status !== 201) throw new Error(`placing the newer version got ${r.status}`);
}

t.test('each container target goes to exactly one replica', async (t) => {
  const targets = ['c0', 'c1', 'c2'];
  t.same([0, 1, 2].map((i) => targetsOfSlot(targets, i, 3)), [['c0'], ['c1'], ['c2']]);
  t.same([0, 1].map((i) => targetsOfSlot(targets, i, 2)), [['c0', 'c2'], ['c1']], 'two replicas left: one takes two');
  t.same([0, 1, 2].map((i) => targetsOfSlot(['c0'], i, 3)), [['c0'], [], []], 'fewer targets than replicas');
});

t.test('a replica that refuses the write: every container replica lists it at once', async (t) => {
  const cluster = await TestCluster.start();
  t.teardown(() => cluster.stop());
  const b = cluster.backend;
  await b.putContainer('acct', 'photos');
  await newerOnFirstPrimary(cluster, 'acct', 'photos', 'small');
  await b.putObject('acct', 'photos', 'small', { body: Readable.from([Buffer.from('a cat')]), contentLength: 5 });
  t.same(await listedOnEachReplica(cluster, 'acct', 'photos'), [['small'], ['small'], ['small']], 'small object (one request per replica)');

  // A large body: the refusing replica gets no connection, its target goes to the others.
  await newerOnFirstPrimary(cluster, 'acct', 'photos', 'large');
  const big = randomBytes(2 * 1024 * 1024);
  await b.putObject('acct', 'photos', 'large', { body: Readable.from([big]), contentLength: big.length });
  t.same(await listedOnEachReplica(cluster, 'acct', 'photos'), Array(3).fill(['large', 'small']), 'large object (streamed)');
});

t.test('a replica that refuses the delete: every container replica drops it at once', async (t) => {
  const cluster = await TestCluster.start();
  t.teardown(() => cluster.stop());
  const b = cluster.backend;
  await b.putContainer('acct', 'photos');
  await b.putObject('acct', 'photos', 'dog', { body: Readable.from([Buffer.from('a dog')]), contentLength: 5 });
  t.same(await listedOnEachReplica(cluster, 'acct', 'photos'), Array(3).fill(['dog']), 'listed after the write');
  await newerOnFirstPrimary(cluster, 'acct', 'photos', 'dog');
  await b.deleteObject('acct', 'photos', 'dog');
  t.same(await listedOnEachReplica(cluster, 'acct', 'photos'), [[], [], []], 'gone from every replica after the delete');
});
