/**
 * A ring change with real node processes: a fourth node's device is added and the rings are
 * rebalanced while a client keeps reading and writing. Every read succeeds with the right bytes,
 * every acknowledged write stays readable, the data ends on the new primaries (the new node
 * included) and the old holders that are no longer primaries drop their copies.
 */
import t from 'tap';
import { access } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { TestCluster } from '../cluster/test-cluster.js';
import { until } from '../../test/support/wait.js';
import { ACCOUNT, CONTAINER, filesOn, get, md5, partitionDirOn, placement, put } from './test-helpers.js';

const EXTRA = { ringWatchMs: 200, replicator: { intervalMs: 300, concurrency: 4 } };

t.test('add a node and rebalance while reading and writing', async (t) => {
  const c = await TestCluster.start({ extra: () => EXTRA });
  t.teardown(() => c.stop());
  await c.backend.putContainer(ACCOUNT, CONTAINER);
  const objects = new Map<string, string>(); // name -> md5 of every acknowledged write
  for (let k = 0; k < 30; k++) {
    const b = randomBytes(k % 10 === 9 ? 200_000 : 100 + k * 37);
    await put(c, `before-${k}`, b);
    objects.set(`before-${k}`, md5(b));
  }

  const readFailures: string[] = [];
  let reads = 0;
  let writeFailures = 0;
  let running = true;
  const reader = (async () => {
    while (running) {
      for (const [name, want] of [...objects]) {
        const r = await get(c, name);
        reads++;
        if (!r.body || md5(r.body) !== want) readFailures.push(`${name}: ${r.error?.message ?? 'wrong bytes'}`);
        if (!running) break;
      }
    }
  })();
  let k = 0;
  const writer = (async () => {
    while (running) {
      const name = `during-${k++}`;
      const b = randomBytes(500 + k);
      try {
        await put(c, name, b);
        objects.set(name, md5(b));
      } catch {
        writeFailures++;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();

  const added = await c.addNode(EXTRA);
  const moved = await c.rebalance();
  t.ok(moved > 0, `part-replicas moved: ${(moved * 100).toFixed(1)} %`);
  let settledChecks = 0;
  const settled = async () => {
    for (const name of [...objects.keys()]) {
      const { primaries, part } = placement(c, name);
      for (const p of primaries) if ((await filesOn(c, p, name)).length !== 1) return false;
      for (let i = 0; i < c.nodes.length; i++) {
        if (!primaries.includes(i) && await access(partitionDirOn(c, i, part)).then(() => true, () => false)) return false;
      }
    }
    return true;
  };
  await until('every object on its new primaries only', 120_000, async () => {
    if (!(await settled())) return false;
    return ++settledChecks >= 2; // stays settled while the writer goes on
  }, 500);
  running = false;
  await Promise.all([reader, writer]);
  t.ok(await until('the last writes settled too', 60_000, settled, 300), 'writes made during the change settled too');

  t.same(readFailures, [], `no read failed (${reads} reads)`);
  t.equal(writeFailures, 0, `no write failed (${k} during the change)`);
  const onNew = [...objects.keys()].filter((n) => placement(c, n).primaries.includes(added));
  t.ok(onNew.length > 0, `${onNew.length} objects now have the new node as a primary`);
  for (const n of onNew) t.equal((await filesOn(c, added, n)).length, 1, `${n} is on the new node`);
  for (const [name, want] of objects) {
    const r = await get(c, name);
    if (!r.body || md5(r.body) !== want) t.fail(`${name} does not read back`);
  }
  t.pass(`${objects.size} objects read back`);
});
