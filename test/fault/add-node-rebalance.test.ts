/**
 * Fault: a fourth node joins and the rings are rebalanced while a client reads and writes
 * continuously. No read may fail, no acknowledged write may be lost, and the data must end on
 * the new primaries: dispersion complete with the new ring, the new node holding its share,
 * and no copy left on a node that is no longer a primary.
 */
import t from 'tap';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TestCluster } from '../../objectstore/cluster/test-cluster.js';
import { hashPath } from '../../objectstore/ring/hash.js';
import { until } from '../support/wait.js';
import { listedObjects } from '../../objectstore/dispersion/objects.js';
import {
  ACCOUNT, namesOf, putRandom, quickNodes, randomSize, readBack, report, scaled, verifyAll, waitFullDispersion, writeMany,
  type ReadOutcome, type Written, REPLICATOR_INTERVAL_MS, REPLICATION_SLACK_MS,
} from './support.js';

const BEFORE = scaled(300);
const CONTAINER = 'rebalance';

/** Devices (by index) holding a .data file of the object. */
async function holders(c: TestCluster, name: string): Promise<number[]> {
  const { part } = c.rings.object.getNodes(ACCOUNT, CONTAINER, name);
  const hash = hashPath(ACCOUNT, CONTAINER, name, c.hash).toString('hex');
  const out: number[] = [];
  for (const n of c.nodes) {
    const files = await readdir(join(c.devicePath(n.index), 'objects', String(part), hash.slice(-3), hash)).catch(() => [] as string[]);
    if (files.some((f) => f.endsWith('.data'))) out.push(n.index);
  }
  return out;
}

t.test('add a fourth node and rebalance under load', async (t) => {
  const cluster = await TestCluster.start({ extra: () => quickNodes() });
  t.teardown(() => cluster.stop());
  const b = cluster.backend;
  await b.putContainer(ACCOUNT, CONTAINER);
  const initial = await writeMany(b, CONTAINER, BEFORE, 8);
  t.equal(initial.failed, 0);
  const acked: Written[] = [...initial.acked];
  await waitFullDispersion(cluster, { containers: [CONTAINER] }, 30_000);

  // Client load: one reader and one writer, until told to stop.
  const reads: Record<ReadOutcome, number> = { ok: 0, missing: 0, corrupt: 0, error: 0 };
  let writesAttempted = 0;
  let writesFailed = 0;
  let running = true;
  const reader = (async () => {
    while (running) reads[await readBack(b, CONTAINER, acked[Math.floor(Math.random() * acked.length)]!)]++;
  })();
  const writer = (async () => {
    for (let i = 0; running; i++) {
      writesAttempted++;
      try {
        acked.push(await putRandom(b, CONTAINER, `during${String(i).padStart(6, '0')}`, randomSize(i)));
      } catch {
        writesFailed++;
      }
    }
  })();

  const added = await cluster.addNode(quickNodes());
  const moved = await cluster.rebalance();
  const started = Date.now();
  t.comment(`node${added + 1} added; ${(moved * 100).toFixed(1)} % of part-replicas moved`);
  const limit = 3 * REPLICATOR_INTERVAL_MS + REPLICATION_SLACK_MS;
  // The load runs until the objects written so far are all in place with the new ring; then
  // every acknowledged object, the last writes included, must get there too.
  const { seconds, last } = await waitFullDispersion(cluster, { names: namesOf(CONTAINER, acked) }, limit);
  running = false;
  await Promise.all([reader, writer]);
  t.ok(seconds !== null, `dispersion complete with the new ring (${JSON.stringify(last.missingCopies)})`);
  const check = await waitFullDispersion(cluster, { names: namesOf(CONTAINER, acked) }, REPLICATION_SLACK_MS);
  t.equal(check.last.complete, acked.length, 'including the last writes');
  // The container replicator (objectstore/container-replicator) moves a container whose
  // partition moved to its new primaries; the listing names every object once it has run.
  let unlisted = acked.length;
  await until('the listing names every acknowledged object', 3 * REPLICATOR_INTERVAL_MS + REPLICATION_SLACK_MS, async () => {
    const listed = new Set((await listedObjects(b, ACCOUNT, CONTAINER)).map((n) => n.object));
    unlisted = acked.filter((w) => !listed.has(w.name)).length;
    return unlisted === 0;
  }, 1000).catch(() => undefined);
  t.equal(unlisted, 0, `the listing names every acknowledged object (${unlisted} of ${acked.length} missing)`);
  t.equal(reads.ok, reads.ok + reads.missing + reads.error + reads.corrupt, `no read failed (${JSON.stringify(reads)})`);

  const verify = await verifyAll(b, CONTAINER, acked);
  t.equal(verify.ok, acked.length, `every acknowledged write readable (${JSON.stringify(verify)})`);
  const onNew = (await Promise.all(acked.slice(0, 200).map((w) => holders(cluster, w.name)))).filter((h) => h.includes(added)).length;
  t.ok(onNew > 0, `the new node holds its share (${onNew} of the first 200 objects)`);
  // Copies on nodes that are no longer primaries go away once the primaries have them.
  const strays = await until('no copy left outside the primaries', REPLICATION_SLACK_MS, async () => {
    let n = 0;
    for (const w of acked.slice(0, 200)) {
      const primaries = cluster.rings.object.getNodes(ACCOUNT, CONTAINER, w.name).nodes.map((d) => cluster.nodeOf(d.device));
      n += (await holders(cluster, w.name)).filter((h) => !primaries.includes(h)).length;
    }
    return n === 0 ? 0 : false;
  }, 1000).catch(() => -1);
  t.equal(strays, 0, 'old copies removed from the former primaries');
  report(t, {
    scenario: 'add-node-rebalance', attempted: BEFORE + writesAttempted, acknowledged: acked.length,
    lost: acked.length - verify.ok, corruptServed: reads.corrupt + verify.corrupt, unlistedAfterRebalance: unlisted,
    secondsToFullReplication: seconds === null ? null : (Date.now() - started) / 1000,
    readsDuring: reads, writesFailedDuring: writesFailed, partReplicasMoved: moved,
  });
});
