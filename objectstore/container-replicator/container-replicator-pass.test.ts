/**
 * ContainerReplicator passes run by hand against in-process storage node servers (real HTTP,
 * real LevelDB, a ring built in memory): replicas stop pushing once they agree, a copy on a
 * device that is not a primary is handed over and dropped, and a peer that is down is counted
 * and logged once per pass without stopping the others.
 */
import t from 'tap';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNodeServer, type RunningNode } from '../node/server.js';
import { RingBuilder } from '../ring/builder.js';
import { Ring } from '../ring/ring.js';
import type { ObjectRow } from '../node/container-db.js';
import { ContainerReplicator } from './container-replicator.js';

const PART_POWER = 4;
const SECRET = 'container-replicator-test';
const HASH = { prefix: '', suffix: 'cr-test' };
const ts = (n: number) => `${String(1_700_000_000 + n).padStart(10, '0')}.00000`;
const row = (n: number): ObjectRow => ({ ts: ts(n), size: n, etag: `e${n}`, contentType: 'text/plain' });

async function names(node: RunningNode, device: string, a: string, c: string): Promise<string[]> {
  const page = await (await node.storage.containerDb(device)).list(a, c, {});
  return page.entries.map((e) => (e as { name: string }).name);
}

t.test('passes: agreement, handoff drop, a peer down', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-crp-'));
  const nodes: RunningNode[] = [];
  const closed = new Set<number>();
  t.teardown(async () => {
    await Promise.all(nodes.map((n, i) => (closed.has(i) ? undefined : n.close())));
    await rm(dir, { recursive: true, force: true });
  });
  // Four nodes; the ring has the first three only, so d4 holds only handoff copies.
  for (let i = 1; i <= 4; i++) {
    await mkdir(join(dir, `n${i}`, `d${i}`), { recursive: true });
    nodes.push(await startNodeServer({ devicesDir: join(dir, `n${i}`), secret: SECRET, hash: HASH, partPower: PART_POWER, dbSync: false }));
  }
  const b = new RingBuilder(PART_POWER, 3, 1);
  for (let i = 0; i < 3; i++) {
    b.addDevice({ region: 1, zone: i + 1, ip: '127.0.0.1', port: nodes[i]!.port, device: `d${i + 1}`, meta: '', weight: 1 });
  }
  b.rebalance({ seed: 1 });
  const ring = Ring.fromData(b.toRingData(), HASH);
  const logs: string[][] = [[], [], [], []];
  const reps = nodes.map((n, i) => new ContainerReplicator({
    ring, storage: n.storage, secret: SECRET, host: '127.0.0.1', port: n.port,
    intervalMs: 60_000, log: (m) => logs[i]!.push(m),
  }));
  t.teardown(() => Promise.all(reps.map((r) => r.stop())));
  const db = (i: number) => nodes[i]!.storage.containerDb(`d${i + 1}`);

  // A container only node 1 has.
  await (await db(0)).put('a', 'c', ts(1));
  for (let n = 2; n < 12; n++) await (await db(0)).applyRow('a', 'c', `o${n}`, row(n));
  let s = await reps[0]!.runPass();
  t.match(s, { containersChecked: 1, pushes: 2, rowsSent: 20, errors: 0 }, 'node 1 pushes to both peers');
  for (const i of [1, 2]) t.equal((await names(nodes[i]!, `d${i + 1}`, 'a', 'c')).length, 10, `d${i + 1} lists the rows`);
  s = await reps[1]!.runPass();
  t.match(s, { pushes: 2, errors: 0 }, 'node 2 changed, so it pushes once too');
  s = await reps[0]!.runPass();
  t.match(s, { pushes: 0, errors: 0 }, 'node 1 applied nothing new: nothing to push');
  s = await reps[1]!.runPass();
  t.match(s, { pushes: 0 }, 'and node 2 has nothing left to push either');

  // A copy on d4 (not a primary) with a row nobody else has: handed over, then dropped.
  await (await db(3)).put('a', 'c', ts(1));
  await (await db(3)).applyRow('a', 'c', 'handoff-only', row(20));
  s = await reps[3]!.runPass();
  t.match(s, { pushes: 3, dropped: 1, errors: 0 }, 'the handoff copy went to the three primaries and was dropped');
  for (const i of [0, 1, 2]) t.ok((await names(nodes[i]!, `d${i + 1}`, 'a', 'c')).includes('handoff-only'), `d${i + 1} has the handoff's row`);
  t.equal(await (await db(3)).get('a', 'c'), undefined, 'd4 no longer has the container');

  // Node 3 down: node 1's change reaches node 2; node 3 is counted and logged once.
  await nodes[2]!.close();
  closed.add(2);
  await (await db(0)).applyRow('a', 'c', 'late', row(30));
  await (await db(0)).put('a', 'c2', ts(31));
  s = await reps[0]!.runPass();
  t.match(s, { containersChecked: 2, pushes: 2, errors: 2 }, 'both containers pushed to node 2, both failed to node 3');
  t.equal(logs[0]!.filter((l) => l.includes(`/d3`)).length, 1, 'the down peer is logged once in the pass');
  t.ok((await names(nodes[1]!, 'd2', 'a', 'c')).includes('late'), 'node 2 got the new row');
  s = await reps[0]!.runPass();
  t.match(s, { pushes: 0, errors: 2 }, 'next pass: node 2 is in step, node 3 is tried again');
});
