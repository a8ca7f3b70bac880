/**
 * The replicator with real node processes and real files: a node that was down while objects
 * were written, deleted and overwritten gets every newest version back (tombstones included),
 * the handoff copies written meanwhile go back to the primaries and leave the handoff nodes,
 * and the nodes' recon shows the work.
 */
import t from 'tap';
import { access, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { TestCluster } from '../cluster/test-cluster.js';
import { until } from '../../test/support/wait.js';
import { NodeClient } from '../node/node-client.js';
import { RECON_PATHS, type ReplicationRecon } from '../node/recon.js';
import { ACCOUNT, CONTAINER, filesOn, get, partitionDirOn, placement, put } from './test-helpers.js';
import { shuffled } from '../ring/prng.js';
import { Replicator } from './replicator.js';

const REPLICATOR = { replicator: { intervalMs: 300 } };

t.test('each pass takes the partitions in a new random order', async (t) => {
  const parts = Array.from({ length: 64 }, (_, i) => i);
  const orders = Array.from({ length: 4 }, () => shuffled(parts));
  for (const o of orders) t.same([...o].sort((a, b) => a - b), parts, 'every partition, once');
  t.same(parts, Array.from({ length: 64 }, (_, i) => i), 'the list given is left as it was');
  // Two nodes walking the same partitions in the same order push a returning peer's missing
  // objects twice; four equal orders of 64 would be a broken shuffle (chance 64!^-3).
  t.ok(new Set(orders.map((o) => o.join())).size > 1, 'orders differ');
  t.not(orders[0]!.join(), parts.join(), 'not the listed order');
});

t.test('a node back from the dead is brought up to date and handoffs are handed back', async (t) => {
  const c = await TestCluster.start({ nodes: 4, extra: () => REPLICATOR });
  t.teardown(() => c.stop());
  await c.backend.putContainer(ACCOUNT, CONTAINER);
  const victim = 0;
  // Objects the victim is a primary for (they need a handoff while it is down), and a few others.
  const mine: string[] = [];
  const others: string[] = [];
  for (let i = 0; mine.length < 12 || others.length < 3; i++) {
    const n = `dir/obj-${i}/ü.txt`; // slashes and non-ASCII survive the trip through the footer
    if (placement(c, n).primaries.includes(victim)) {
      if (mine.length < 12) mine.push(n);
    } else if (others.length < 3) others.push(n);
  }
  const [doomed, changed, ...fresh] = mine as [string, string, ...string[]];
  await put(c, doomed, Buffer.from('soon deleted'));
  await put(c, changed, Buffer.from('version 1'));
  await until('the victim holds the first versions', 15_000, async () =>
    (await filesOn(c, victim, doomed)).length === 1 && (await filesOn(c, victim, changed)).length === 1);
  const oldChanged = (await filesOn(c, victim, changed))[0];

  await c.killNode(victim);
  for (const n of [...fresh, ...others]) await put(c, n, Buffer.from(`body of ${n}`));
  await c.backend.deleteObject(ACCOUNT, CONTAINER, doomed);
  const ts2 = await put(c, changed, Buffer.from('version 2'));
  const posted = fresh[1]!;
  await c.backend.postObject(ACCOUNT, CONTAINER, posted, { color: 'blue' });

  // Handoff copies exist now: some node that is not a primary holds a fresh object.
  const handoffHolders = async () => {
    let n = 0;
    for (const o of [...fresh, doomed, changed]) {
      const { primaries } = placement(c, o);
      for (let i = 0; i < c.nodes.length; i++) if (!primaries.includes(i) && (await filesOn(c, i, o)).length) n++;
    }
    return n;
  };
  t.ok(await handoffHolders() > 0, 'writes went to handoffs while the victim was down');
  t.same(await filesOn(c, victim, changed), [oldChanged], 'the victim still has the old version');

  await c.startNode(victim);
  await until('every primary holds the newest version of every object and handoffs are gone', 90_000, async () => {
    for (const o of [...mine, ...others]) {
      const { primaries, part } = placement(c, o);
      for (const p of primaries) {
        const files = await filesOn(c, p, o);
        if (o === posted) {
          if (files.length !== 2 || !files[0]!.endsWith('.data') || !files[1]!.endsWith('.meta')) return false;
          continue;
        }
        if (files.length !== 1) return false;
        if (o === doomed && !files[0]!.endsWith('.ts')) return false;
        if (o === changed && files[0] !== `${ts2}.data`) return false;
        if (o !== doomed && !files[0]!.endsWith('.data')) return false;
      }
      for (let i = 0; i < c.nodes.length; i++) {
        if (primaries.includes(i)) continue;
        if (await access(partitionDirOn(c, i, part)).then(() => true, () => false)) return false;
      }
    }
    return true;
  }, 250);
  t.pass('all primaries have every object; no handoff partition remains');
  t.same(await filesOn(c, victim, changed), [`${ts2}.data`], 'newest version won on the victim');
  t.ok((await filesOn(c, victim, doomed))[0]!.endsWith('.ts'), 'the tombstone reached the victim');
  t.equal((await get(c, changed)).body?.toString(), 'version 2');
  t.equal((await get(c, fresh[0]!)).body?.toString(), `body of ${fresh[0]}`);
  await c.killNode((victim + 1) % 4); // reads now need the victim's copies
  const meta = await c.backend.headObject(ACCOUNT, CONTAINER, posted, { newest: true }).catch(() => undefined);
  t.same(meta?.meta, { color: 'blue' }, 'the metadata update (.meta) reached every primary');
  await c.startNode((victim + 1) % 4);
  t.match((await get(c, doomed)).error, { status: 404 }, 'deleted stays deleted');

  // Recon over the node protocol: the work shows up (stats are those of the last complete pass,
  // so wait for a pass that saw the revert: sum over nodes of a few passes).
  const client = new NodeClient(c.secret);
  t.teardown(() => client.close());
  const recon = async (i: number) => JSON.parse((await client.fetchText({
    host: '127.0.0.1', port: c.nodes[i]!.port, method: 'GET', path: RECON_PATHS.replication,
  })).text) as ReplicationRecon;
  const all = await Promise.all(c.nodes.map((_, i) => recon(i)));
  for (const r of all) {
    t.ok(r.passes >= 1 && typeof r.lastPassCompleted === 'number', 'passes completed');
    t.type(r.partitionsTotal, 'number');
  }
  const dev = await client.fetchText({ host: '127.0.0.1', port: c.nodes[0]!.port, method: 'GET', path: RECON_PATHS.devices });
  const devices = JSON.parse(dev.text) as { devices: Array<{ device: string; size: number; available: number }> };
  t.equal(devices.devices[0]?.device, c.nodes[0]!.device);
  t.ok(devices.devices[0]!.size > 0 && devices.devices[0]!.available > 0, 'device sizes from statfs');
  const unsigned = await fetch(`http://127.0.0.1:${c.nodes[0]!.port}${RECON_PATHS.replication}`);
  t.equal(unsigned.status, 401, 'recon needs the cluster signature');
});

t.test('a primary whose device is missing: its partitions go to a handoff until it is back', async (t) => {
  const c = await TestCluster.start({ nodes: 4, extra: () => REPLICATOR });
  t.teardown(() => c.stop());
  await c.backend.putContainer(ACCOUNT, CONTAINER);
  const missing = 1;
  const names: string[] = [];
  for (let i = 0; names.length < 8; i++) if (placement(c, `m-${i}`).primaries.includes(missing)) names.push(`m-${i}`);
  for (const n of names) await put(c, n, Buffer.from(n));
  const onPrimaries = async () => {
    for (const n of names) for (const p of placement(c, n).primaries) if ((await filesOn(c, p, n)).length !== 1) return false;
    return true;
  };
  await until('three copies of each', 15_000, onPrimaries);
  const handoffOf = (n: string) => [0, 1, 2, 3].find((i) => !placement(c, n).primaries.includes(i))!;
  for (const n of names) t.same(await filesOn(c, handoffOf(n), n), [], `${n} is not on its handoff yet`);

  const away = join(c.dir, 'away');
  await rename(c.devicePath(missing), away); // the node now answers 421 for its device
  await until('the handoffs hold a copy of every object of the missing device', 60_000, async () => {
    for (const n of names) if ((await filesOn(c, handoffOf(n), n)).length !== 1) return false;
    return true;
  }, 250);
  t.pass('handoffs took the missing device\'s partitions');

  await rename(away, c.devicePath(missing));
  await until('the device is back and the handoffs gave their copies up', 60_000, async () => {
    if (!(await onPrimaries())) return false;
    for (const n of names) {
      if (await access(partitionDirOn(c, handoffOf(n), placement(c, n).part)).then(() => true, () => false)) return false;
    }
    return true;
  }, 250);
  t.pass('handoff copies removed once the primary is back');
});

t.test('tombstones older than the reclaim age are removed', async (t) => {
  const c = await TestCluster.start({ extra: () => ({ replicator: { intervalMs: 300, reclaimAgeSeconds: 2 } }) });
  t.teardown(() => c.stop());
  await c.backend.putContainer(ACCOUNT, CONTAINER);
  await put(c, 'short-lived', Buffer.from('bye'));
  await put(c, 'kept', Buffer.from('stay'));
  await c.backend.deleteObject(ACCOUNT, CONTAINER, 'short-lived');
  const { primaries } = placement(c, 'short-lived');
  await until('the tombstones are written', 15_000, async () =>
    (await Promise.all(primaries.map((i) => filesOn(c, i, 'short-lived')))).every((f) => f.length === 1 && f[0]!.endsWith('.ts')));
  await until('the tombstones are reclaimed on every node', 30_000, async () =>
    (await Promise.all(primaries.map((i) => filesOn(c, i, 'short-lived')))).every((f) => f.length === 0), 250);
  t.pass('no file of the deleted object is left');
  t.match((await get(c, 'short-lived')).error, { status: 404 }, 'still not found');
  t.equal((await get(c, 'kept')).body?.toString(), 'stay', 'live objects are untouched');
});

t.test('a node that missed a PUT but got the POST after it gets the new body under that metadata', async (t) => {
  const idle = { replicator: { intervalMs: 3_600_000 } };
  const c = await TestCluster.start({ extra: () => idle });
  t.teardown(() => c.stop());
  await c.backend.putContainer(ACCOUNT, CONTAINER);
  const name = 'posted-after';
  const victim = placement(c, name).primaries[0]!;
  await put(c, name, Buffer.from('body 1'));
  await until('the victim has body 1', 15_000, async () => (await filesOn(c, victim, name)).length === 1);
  await c.killNode(victim);
  const ts2 = await put(c, name, Buffer.from('body 2'));
  await c.startNode(victim);
  await c.backend.postObject(ACCOUNT, CONTAINER, name, { note: 'after body 2' });
  await until('every replica has the .meta', 15_000, async () =>
    (await Promise.all(placement(c, name).primaries.map((i) => filesOn(c, i, name)))).every((f) => f.some((x) => x.endsWith('.meta'))));
  const stale = await filesOn(c, victim, name);
  t.notOk(stale.includes(`${ts2}.data`), 'the victim holds the old body under the new metadata');

  // Now let the replicators run.
  for (let i = 0; i < c.nodes.length; i++) {
    await c.setNodeExtra(i, REPLICATOR);
    await c.killNode(i, 'SIGTERM');
    await c.startNode(i);
  }
  await until('the victim has body 2 and keeps the .meta', 60_000, async () => {
    const f = await filesOn(c, victim, name);
    return f.length === 2 && f[0] === `${ts2}.data` && f[1]!.endsWith('.meta');
  }, 250);
  t.pass('the newer body landed beside the newer .meta');
  for (const i of placement(c, name).primaries) {
    t.same(await filesOn(c, i, name), await filesOn(c, victim, name), `node ${i} holds the same files`);
  }
});

t.test('a peer that comes back while a pass runs gets what it missed at the end of that pass', async (t) => {
  const idle = { replicator: { intervalMs: 3_600_000 }, auditor: { intervalMs: 3_600_000 } };
  const c = await TestCluster.start({ extra: () => idle });
  t.teardown(() => c.stop());
  await c.backend.putContainer(ACCOUNT, CONTAINER);
  const DOWN = 2;
  await c.killNode(DOWN);
  const names = Array.from({ length: 12 }, (_, i) => `missed-${i}`);
  for (const n of names) await put(c, n, Buffer.from(n));
  await c.startNode(DOWN);
  // Node 0's replicator, run here so the test decides when node 2 is reachable: its REPLICATE
  // requests to node 2 fail as "connection refused" for the first `refuse` of them.
  const r = new Replicator({
    devicesDir: c.nodes[0]!.devicesDir, ring: c.rings.object, secret: c.secret, host: '127.0.0.1',
    port: c.nodes[0]!.port, intervalMs: 3_600_000, concurrency: 2, reclaimAgeSeconds: 604_800, log: () => undefined,
  });
  t.teardown(() => r.client.close());
  const parts = (await readdir(join(c.devicePath(0), 'objects'))).length;
  let refuse = 0;
  let asked = 0;
  const fetchText = r.client.fetchText.bind(r.client);
  r.client.fetchText = async (q) => {
    if (q.port === c.nodes[DOWN]!.port) {
      asked++;
      if (refuse > 0) {
        refuse--;
        throw new Error('connect ECONNREFUSED (test)');
      }
    }
    return fetchText(q);
  };
  const onDown = async () => (await Promise.all(names.map((n) => filesOn(c, DOWN, n)))).filter((f) => f.length > 0).length;

  // Down for every partition of the pass, and still down at its end: one probe, nothing more.
  refuse = Infinity;
  let recon = await r.runPass();
  t.equal(asked, parts + 1, `one refused exchange per partition (${parts}) and one probe`);
  t.equal(recon.partitionsRetried, 0, 'nothing retried while the peer stays away');
  t.equal(await onDown(), 0, 'the peer got nothing');

  // Down for every partition of the pass, back at its end: the missed partitions go at once.
  refuse = parts;
  asked = 0;
  recon = await r.runPass();
  t.equal(recon.partitionsRetried, parts, 'every partition it missed worked on again in the same pass');
  t.equal(await onDown(), names.length, 'the peer holds every object after that one pass');
  t.ok(recon.objectsPushed >= names.length, `the pushes are counted (${recon.objectsPushed})`);
});
