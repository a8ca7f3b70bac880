/**
 * Fault: kill -9 one of three storage nodes in the middle of 2,000 writes of random sizes and
 * keep writing. Every acknowledged write must read back byte for byte; once the node is back,
 * the replicator must restore the full replica count (dispersion over every acknowledged
 * object) within one replicator interval plus 60 s, and every container replica must list
 * every acknowledged object.
 */
import t from 'tap';
import { TestCluster } from '../../objectstore/cluster/test-cluster.js';
import { until } from '../support/wait.js';
import {
  ACCOUNT, namesOf, replicaListings, quickNodes, report, scaled, verifyAll, waitFullDispersion, writeMany, REPLICATOR_INTERVAL_MS, REPLICATION_SLACK_MS,
} from './support.js';
import { readRecon, REPLICATION_RECON_FILE, type ReplicationRecon } from '../../objectstore/node/recon.js';

const WRITES = scaled(2000);
const CONCURRENCY = 8;
const CONTAINER = 'kill-one';

t.test('kill -9 one of 3 nodes during writes', async (t) => {
  const cluster = await TestCluster.start({ extra: () => quickNodes() });
  t.teardown(() => cluster.stop());
  const b = cluster.backend;
  await b.putContainer(ACCOUNT, CONTAINER);
  const victim = Math.floor(Math.random() * 3);
  let killedAt = -1;
  const { acked, failed } = await writeMany(b, CONTAINER, WRITES, CONCURRENCY, async (done) => {
    if (killedAt < 0 && done >= WRITES / 3) {
      killedAt = done;
      await cluster.killNode(victim);
    }
  });
  t.comment(`node${victim + 1} killed after ${killedAt} writes; ${acked.length} acknowledged, ${failed} failed`);
  t.ok(acked.length > WRITES * 0.9, 'two of three nodes keep taking writes');
  const reads = await verifyAll(b, CONTAINER, acked);
  t.equal(reads.ok, acked.length, `every acknowledged write reads back byte for byte (${JSON.stringify(reads)})`);

  await cluster.startNode(victim);
  const limit = REPLICATOR_INTERVAL_MS + REPLICATION_SLACK_MS;
  const { seconds, last } = await waitFullDispersion(cluster, { names: namesOf(CONTAINER, acked) }, limit);
  // What the replicators did meanwhile (their recon), to tell a slow pass from a slow push.
  for (const n of cluster.nodes) {
    const r = await readRecon<ReplicationRecon>(n.devicesDir, REPLICATION_RECON_FILE);
    t.comment(`node${n.index + 1} replicator: ${r?.passes} passes, last ${r?.lastPassSeconds} s, ${r?.objectsPushed} objects pushed in it`);
  }
  t.equal(last.objects, acked.length, 'dispersion over every acknowledged object');
  t.ok(seconds !== null, `full replica count within ${limit / 1000} s (missing: ${JSON.stringify(last.missingCopies)})`);
  // Every container replica names every acknowledged object (the updater replays what the
  // dead node's container replica missed).
  const unlisted = await until('every container replica lists every acknowledged object', 60_000, async () => {
    const lists = await replicaListings(cluster, CONTAINER);
    const missing = lists.map((l) => acked.filter((w) => !l.has(w.name)).map((w) => w.name));
    return missing.every((m) => m.length === 0) ? missing : false;
  }, 1000).catch(async () => (await replicaListings(cluster, CONTAINER)).map((l) => acked.filter((w) => !l.has(w.name)).map((w) => w.name)));
  t.same(unlisted, [[], [], []], 'no acknowledged object missing from any container replica');
  const after = await verifyAll(b, CONTAINER, acked);
  t.equal(after.ok, acked.length, 'still all readable after the repair');
  report(t, {
    scenario: 'kill-one-of-three', attempted: WRITES, acknowledged: acked.length,
    lost: acked.length - Math.min(reads.ok, after.ok), corruptServed: reads.corrupt + after.corrupt,
    secondsToFullReplication: seconds,
  });
  t.equal(reads.corrupt + after.corrupt, 0, 'no corrupt body served');
});
