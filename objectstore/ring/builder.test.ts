import t from 'tap';
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { RingBuilder, type NewDevice } from './builder.js';
import { readBuilderFile, writeBuilderFile } from './builder-file.js';
import { BuilderError, RingFileError } from './errors.js';

const HOUR = 3600;
const T0 = 1_800_000_000;

function dev(z: number, host: number, disk: number, weight = 100, region = 1): NewDevice {
  return { region, zone: z, ip: `10.${region}.${z}.${host}`, port: 6200, device: `d${disk}`, weight, meta: '' };
}

function cluster(b: RingBuilder, zones: number, hosts: number, disks: number, regions = 1): void {
  for (let z = 1; z <= zones; z++) {
    for (let h = 1; h <= hosts; h++) for (let d = 1; d <= disks; d++) b.addDevice(dev(z, h, d, 100, 1 + (z % regions)));
  }
}

/** Snapshot of the assignment arrays. */
const snap = (b: RingBuilder) => b.state.replica2part2dev!.map((a) => a.slice());

/** Max replicas of one partition in one (region, zone). */
function worstZoneCount(b: RingBuilder): number {
  const a = b.state.replica2part2dev!;
  let worst = 0;
  for (let p = 0; p < b.parts; p++) {
    const zones = a.map((arr) => { const d = b.devs[arr[p]!]!; return `${d.region}/${d.zone}`; });
    const counts = new Map<string, number>();
    for (const z of zones) counts.set(z, (counts.get(z) ?? 0) + 1);
    worst = Math.max(worst, ...counts.values());
  }
  return worst;
}

t.test('first rebalance: balanced, dispersed, valid, repeatable with a seed', async (t) => {
  const b = new RingBuilder(12, 3, 1);
  cluster(b, 5, 2, 2);
  const r = b.rebalance({ seed: 5, now: T0 });
  t.equal(r.changed, 3 * 4096);
  t.ok(r.balance < 1, `balance ${r.balance}`);
  t.equal(r.dispersion, 0);
  t.equal(worstZoneCount(b), 1, 'no partition has two replicas in one zone');
  b.validate();
  const again = new RingBuilder(12, 3, 1);
  cluster(again, 5, 2, 2);
  again.rebalance({ seed: 5, now: T0 });
  t.same(snap(again), snap(b), 'same seed, same ring');
});

t.test('zones >= replicas in several layouts: never two replicas in one zone', async (t) => {
  for (const [zones, hosts, disks, replicas, regions] of [[3, 1, 4, 3, 1], [4, 3, 1, 4, 2], [10, 1, 2, 3, 4], [6, 2, 3, 5, 3]] as const) {
    const b = new RingBuilder(10, replicas, 1);
    cluster(b, zones, hosts, disks, regions);
    const r = b.rebalance({ seed: 1, now: T0 });
    t.equal(worstZoneCount(b), 1, `${zones} zones, ${replicas} replicas, ${regions} regions`);
    t.equal(r.dispersion, 0);
    b.validate();
  }
});

t.test('adding 10% capacity moves about the fair share, one replica per partition at most', async (t) => {
  const b = new RingBuilder(14, 3, 1);
  cluster(b, 5, 4, 5);
  b.rebalance({ seed: 7, now: T0 });
  const before = snap(b);
  for (let z = 1; z <= 5; z++) for (let d = 1; d <= 2; d++) b.addDevice(dev(z, 5, d));
  // within min_part_hours nothing may move
  const locked = b.rebalance({ seed: 7, now: T0 + 60 });
  t.equal(locked.changed, 0, 'nothing moves within min_part_hours');
  const r = b.rebalance({ seed: 7, now: T0 + 2 * HOUR });
  const total = 3 * b.parts;
  const fair = total * 10 / 110;
  t.ok(r.changed <= fair + 0.01 * total, `moved ${r.changed}, fair share ${fair.toFixed(0)}`);
  t.ok(r.changed >= fair * 0.95, 'the new devices got their share');
  t.ok(r.balance <= 1, `balance ${r.balance}`);
  t.equal(r.dispersion, 0);
  const after = snap(b);
  let worst = 0;
  for (let p = 0; p < b.parts; p++) {
    let moved = 0;
    for (let rep = 0; rep < 3; rep++) if (before[rep]![p] !== after[rep]![p]) moved++;
    worst = Math.max(worst, moved);
  }
  t.equal(worst, 1, 'no partition moved more than one replica');
  // the parts that just moved are locked again for an hour
  b.setWeight(0, 300);
  const soon = b.rebalance({ seed: 7, now: T0 + 2 * HOUR + 60 });
  const later = snap(b);
  for (let p = 0; p < b.parts; p++) {
    const movedBefore = before.some((a, rep) => a[p] !== after[rep]![p]);
    const movedNow = after.some((a, rep) => a[p] !== later[rep]![p]);
    if (movedBefore && movedNow) {
      t.fail(`partition ${p} moved twice within min_part_hours`);
      break;
    }
  }
  t.ok(soon.changed > 0, 'unlocked partitions did move towards the new weight');
  b.validate();
});

t.test('removing a device moves only its part-replicas, even within min_part_hours', async (t) => {
  const b = new RingBuilder(12, 3, 24);
  cluster(b, 4, 2, 3);
  b.rebalance({ seed: 3, now: T0 });
  const before = snap(b);
  const held = b.partsPerDevice()[5]!;
  b.removeDevice(5);
  t.throws(() => b.removeDevice(5), BuilderError, 'already marked');
  t.throws(() => b.setWeight(5, 10), BuilderError);
  const r = b.rebalance({ seed: 3, now: T0 + 60 });
  t.equal(r.removed, 1);
  t.equal(b.devs[5], null);
  t.equal(r.changed, held, 'exactly the removed device’s part-replicas moved');
  const after = snap(b);
  for (let rep = 0; rep < 3; rep++) {
    for (let p = 0; p < b.parts; p++) {
      if (before[rep]![p] !== after[rep]![p] && before[rep]![p] !== 5) {
        t.fail(`partition ${p} replica ${rep} moved off a live device`);
        return;
      }
    }
  }
  t.equal(worstZoneCount(b), 1);
  b.validate();
  t.equal(b.addDevice(dev(9, 9, 9)), 5, 'the freed id is reused');
});

t.test('weights, overload and uneven zones', async (t) => {
  const b = new RingBuilder(12, 3, 0);
  cluster(b, 3, 2, 2);
  b.addDevice(dev(1, 3, 1, 400)); // zone 1 gets much heavier
  b.rebalance({ seed: 1, now: T0 });
  t.ok(b.dispersion() >= 0);
  b.validate();
  b.setOverload(0.1);
  t.equal(b.overload, 0.1);
  t.throws(() => b.setOverload(-1), BuilderError);
  b.rebalance({ seed: 1, now: T0 + 10 });
  b.validate();
  const parts = b.partsPerDevice();
  t.ok(parts[12]! > parts[0]!, 'heavier device holds more');
});

t.test('overload trades balance for dispersion as in Swift', async (t) => {
  const make = (overload: number) => {
    const b = new RingBuilder(10, 3, 0);
    for (let z = 1; z <= 3; z++) for (let d = 1; d <= 2; d++) b.addDevice({ ...dev(z, 1, d), weight: z === 1 ? 400 : 100 });
    b.setOverload(overload);
    return b.rebalance({ seed: 1, now: T0 });
  };
  // swift-ring-builder on the same devices: balance 0.00 / dispersion 33.33; 10.16 / 29.98; 100.00 / 0.00
  const none = make(0);
  t.ok(none.balance < 1, `overload 0: balance ${none.balance.toFixed(2)} follows weights`);
  t.ok(none.dispersion > 30, `overload 0: dispersion ${none.dispersion.toFixed(2)}`);
  const some = make(0.1);
  t.ok(Math.abs(some.balance - 10.16) < 0.5, `overload 10%: balance ${some.balance.toFixed(2)} near Swift's 10.16`);
  t.ok(some.dispersion < none.dispersion, `overload 10%: dispersion ${some.dispersion.toFixed(2)} improves`);
  const full = make(10);
  t.equal(full.dispersion, 0, 'enough overload: fully dispersed');
  t.ok(Math.abs(full.balance - 100) < 0.5, 'at the cost of balance (Swift: 100.00)');
});

t.test('a device set to weight 0 drains, one replica per partition per min_part_hours', async (t) => {
  const b = new RingBuilder(10, 3, 1);
  cluster(b, 4, 2, 1);
  b.rebalance({ seed: 1, now: T0 });
  b.setWeight(0, 0);
  const soon = b.rebalance({ seed: 1, now: T0 + 60 });
  t.equal(soon.changed, 0, 'locked within min_part_hours');
  t.ok(b.partsPerDevice()[0]! > 0);
  const later = b.rebalance({ seed: 1, now: T0 + 2 * HOUR });
  t.ok(later.changed > 0);
  t.equal(b.partsPerDevice()[0], 0, 'drained');
  t.ok(later.balance < 1, `balance ${later.balance}`);
  b.validate();
});

t.test('bad input', async (t) => {
  t.throws(() => new RingBuilder(0, 3, 1), BuilderError);
  t.throws(() => new RingBuilder(33, 3, 1), BuilderError);
  t.throws(() => new RingBuilder(8, 0, 1), BuilderError);
  t.throws(() => new RingBuilder(8, 2.5, 1), BuilderError);
  t.throws(() => new RingBuilder(8, 3, -1), BuilderError);
  const huge = new RingBuilder(32, 3, 1);
  for (let z = 1; z <= 3; z++) huge.addDevice(dev(z, 1, 1));
  t.throws(() => huge.rebalance(), /rebalance supports part power up to 24; this builder has 32/);
  const b = new RingBuilder(8, 3, 1);
  b.addDevice(dev(1, 1, 1));
  t.throws(() => b.addDevice(dev(1, 1, 1)), { message: /already uses 10\.1\.1\.1:6200\/d1/ });
  t.throws(() => b.addDevice({ ...dev(1, 1, 2), weight: -1 }), BuilderError);
  t.throws(() => b.addDevice({ ...dev(1, 1, 2), weight: Number.NaN }), BuilderError);
  t.throws(() => b.addDevice({ ...dev(1, 1, 2), port: 0 }), BuilderError);
  t.throws(() => b.setWeight(7, 1), /no device with id 7/);
  t.throws(() => b.rebalance(), /3 replicas need at least 3 devices/);
  t.throws(() => b.toRingData(), /never been rebalanced/);
  t.throws(() => b.validate(), BuilderError);
  t.throws(() => b.searchDevices('d9'), /no device matches/);
  t.same(b.searchDevices('10.1.1.1:6200/d1').map((d) => d.id), [0]);
});

t.test('builder file round trip; corrupt files are named', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'builder-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'object.builder');
  const b = new RingBuilder(10, 3, 1);
  await writeBuilderFile(file, b);
  t.equal((await readBuilderFile(file)).everRebalanced, false);
  cluster(b, 4, 1, 2);
  b.removeDevice(7);
  b.rebalance({ seed: 2, now: T0 });
  b.addDevice(dev(3, 3, 3, 50));
  b.removeDevice(1);
  await writeBuilderFile(file, b);
  const back = await readBuilderFile(file);
  t.same(back.state.devs, b.state.devs);
  t.same(back.state.removeDevIds, [1]);
  t.same(snap(back), snap(b));
  t.same([...back.state.lastPartMoves!], [...b.state.lastPartMoves!]);
  t.equal(back.version, b.version);
  // continuing from the file equals continuing in memory
  back.rebalance({ seed: 4, now: T0 + 5 * HOUR });
  b.rebalance({ seed: 4, now: T0 + 5 * HOUR });
  t.same(snap(back), snap(b));

  const raw = await readFile(file);
  await writeFile(file, raw.subarray(0, raw.length - 10));
  await t.rejects(readBuilderFile(file), { name: 'RingFileError', message: new RegExp(`^${file}: `) });
  await writeFile(file, gzipSync('{"format":"ringstack-builder","format_version":1,"part_power":4}'));
  await t.rejects(readBuilderFile(file), RingFileError);
  await writeFile(file, gzipSync('[1,2]'));
  await t.rejects(readBuilderFile(file), /not a ringstack builder file/);
  await t.rejects(readBuilderFile(join(dir, 'missing.builder')), /ENOENT/);
});
