/**
 * Fault: kill -9 two of three storage nodes. No write may be acknowledged (a majority is
 * gone), and every object written before is still served, byte for byte, by the survivor.
 * Once the two are back, the replicator brings every object to full replica count.
 */
import t from 'tap';
import { TestCluster } from '../../objectstore/cluster/test-cluster.js';
import {
  ACCOUNT, quickNodes, report, scaled, verifyAll, waitFullDispersion, writeMany, REPLICATOR_INTERVAL_MS, REPLICATION_SLACK_MS,
} from './support.js';

const BEFORE = scaled(200);
const DURING = scaled(100);
const CONTAINER = 'kill-two';

t.test('kill -9 two of 3 nodes', async (t) => {
  const cluster = await TestCluster.start({ extra: () => quickNodes() });
  t.teardown(() => cluster.stop());
  const b = cluster.backend;
  await b.putContainer(ACCOUNT, CONTAINER);
  const before = await writeMany(b, CONTAINER, BEFORE, 8);
  t.equal(before.failed, 0, 'all writes taken while every node is up');
  // Let the last replicas of the post-quorum grace land before the kill.
  await waitFullDispersion(cluster, { containers: [CONTAINER] }, 30_000);

  const survivor = Math.floor(Math.random() * 3);
  await Promise.all([0, 1, 2].filter((i) => i !== survivor).map((i) => cluster.killNode(i)));
  const during = await writeMany(b, CONTAINER, DURING, 8, undefined, 'during');
  t.equal(during.acked.length, 0, 'no write acknowledged with one node of three');
  t.equal(during.failed, DURING);
  const reads = await verifyAll(b, CONTAINER, before.acked);
  t.equal(reads.ok, before.acked.length, `the survivor serves every object (${JSON.stringify(reads)})`);

  await Promise.all([0, 1, 2].filter((i) => i !== survivor).map((i) => cluster.startNode(i)));
  const limit = REPLICATOR_INTERVAL_MS + REPLICATION_SLACK_MS;
  const { seconds, last } = await waitFullDispersion(cluster, { containers: [CONTAINER] }, limit);
  t.ok(seconds !== null, `full replica count within ${limit / 1000} s after the restart (${JSON.stringify(last.missingCopies)})`);
  const after = await verifyAll(b, CONTAINER, before.acked);
  report(t, {
    scenario: 'kill-two-of-three', attempted: DURING, acknowledged: during.acked.length,
    lost: before.acked.length - Math.min(reads.ok, after.ok), corruptServed: reads.corrupt + after.corrupt,
    secondsToFullReplication: seconds, existingObjects: before.acked.length,
  });
  t.equal(after.ok, before.acked.length, 'all readable after the restart');
  t.equal(reads.corrupt + after.corrupt, 0, 'no corrupt body served');
});
