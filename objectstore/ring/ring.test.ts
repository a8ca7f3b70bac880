import t from 'tap';
import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ring } from './ring.js';
import { RingBuilder } from './builder.js';
import { writeRingFile } from './ring-file.js';
import { RingFileError } from './errors.js';
import { writeFile } from 'node:fs/promises';

const HASH = { prefix: 'pre', suffix: 'suf' };

function build(zones: number, perZone: number, partPower = 8, replicas = 3, seed = 1): RingBuilder {
  const b = new RingBuilder(partPower, replicas, 1);
  for (let z = 1; z <= zones; z++) {
    for (let d = 0; d < perZone; d++) {
      b.addDevice({ region: 1 + (z % 2), zone: z, ip: `10.0.${z}.${d % 2}`, port: 6200, device: `d${d}`, weight: 100, meta: '' });
    }
  }
  b.rebalance({ seed });
  return b;
}

t.test('getNodes, getPartNodes and handoffs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ring-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'object.ring.gz');
  const b = build(4, 3);
  await writeRingFile(file, b.toRingData());
  const ring = await Ring.load(file, HASH);
  t.equal(ring.partPower, 8);
  t.equal(ring.replicaCount, 3);
  t.equal(ring.devices.length, 12);
  const { part, nodes } = ring.getNodes('AUTH_a', 'c', 'o');
  t.equal(part, ring.getPart('AUTH_a', 'c', 'o'));
  t.ok(part >= 0 && part < 256);
  t.equal(nodes.length, 3);
  t.same(nodes.map((n) => n.index), [0, 1, 2]);
  t.same(ring.getPartNodes(part), nodes);
  t.equal(new Set(nodes.map((n) => n.zone)).size, 3, 'primaries in 3 zones');
  const handoffs = [...ring.getMoreNodes(part)];
  t.equal(handoffs.length, 9, 'every other device once');
  t.same(handoffs.map((h) => h.handoff_index), [...handoffs.keys()]);
  const all = new Set([...nodes.map((n) => n.id), ...handoffs.map((h) => h.id)]);
  t.equal(all.size, 12, 'no device repeats');
  t.not(handoffs[0]!.zone, undefined);
  t.ok(!nodes.some((n) => n.zone === handoffs[0]!.zone), 'first handoff is in a zone without a primary');
  const gen = ring.getMoreNodes(part);
  t.equal(gen.next().value?.id, handoffs[0]!.id, 'lazy generator');
});

t.test('reloadIfChanged and watch', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ring-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'object.ring.gz');
  await writeRingFile(file, build(4, 3).toRingData());
  const ring = await Ring.load(file, HASH);
  t.teardown(() => ring.close());
  t.equal(await ring.reloadIfChanged(), false, 'unchanged');
  const future = new Date(Date.now() + 5000);
  await utimes(file, future, future);
  t.equal(await ring.reloadIfChanged(), false, 'touched but same bytes');
  const bigger = build(5, 3, 8, 3, 2);
  await writeRingFile(file, bigger.toRingData());
  t.equal(await ring.reloadIfChanged(), true, 'new ring');
  t.equal(ring.devices.length, 15);
  await writeFile(file, 'garbage');
  await t.rejects(ring.reloadIfChanged(), RingFileError);
  t.equal(ring.devices.length, 15, 'keeps the old ring when the new file is bad');

  await writeRingFile(file, build(6, 2).toRingData());
  const errors: Error[] = [];
  ring.onReloadError = (e) => errors.push(e);
  ring.watch(20);
  for (let i = 0; i < 200 && ring.devices.length !== 12; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(ring.devices.length, 12, 'watch picked up the new ring');
  ring.close();
  t.same(errors, []);
});

t.test('load errors', async (t) => {
  await t.rejects(Ring.load('/nonexistent/x.ring.gz', HASH), RingFileError);
  const r = Ring.fromData(build(3, 1).toRingData(), HASH);
  t.equal(await r.reloadIfChanged(), false);
  t.equal(r.getPartNodes(0).length, 3);
  t.same([...r.getMoreNodes(0)], [], 'no handoffs with only 3 devices');
});
