/**
 * Compatibility with OpenStack Swift 2.30.1 (Debian python3-swift): for rings built by
 * swift-ring-builder and by ringstack, Swift's Ring and ringstack's Ring agree on partition,
 * primaries and the first 2×replicas handoffs for 10,000 random UTF-8 paths with a
 * non-default hash prefix/suffix. Each side loads the other's ring files.
 */
import t, { type Test } from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Ring } from '../ring.js';
import { RingBuilder, type NewDevice } from '../builder.js';
import { decodeRing, encodeRing, writeRingFile } from '../ring-file.js';
import { randomPaths, swiftAvailable, swiftBuilderStats, swiftLookUp, swiftRingBuilder } from './swift-oracle.js';

const PREFIX = 'ringstack-prefix-é';
const SUFFIX = 'sufﬁx-日本';
const PATHS = 10_000;

if (!swiftAvailable()) {
  t.fail('Debian python3-swift is not installed: apt-get install -y --no-install-recommends python3-swift swift');
  process.exit(1);
}

interface Layout { regions: number; zones: number; hostsPerZone: number; disksPerHost: number; weights?: (i: number) => number }

function devices(l: Layout): NewDevice[] {
  const out: NewDevice[] = [];
  let i = 0;
  for (let z = 1; z <= l.zones; z++) {
    for (let h = 1; h <= l.hostsPerZone; h++) {
      for (let d = 1; d <= l.disksPerHost; d++) {
        const region = 1 + ((z - 1) % l.regions);
        out.push({ region, zone: z, ip: `10.${region}.${z}.${h}`, port: 6200 + (d % 2), device: `sd${String.fromCharCode(97 + d)}`,
          weight: l.weights ? l.weights(i) : 100, meta: i % 3 === 0 ? `m${i}` : '' });
        i++;
      }
    }
  }
  return out;
}

const spec = (d: NewDevice) => `r${d.region}z${d.zone}-${d.ip}:${d.port}/${d.device}${d.meta ? `_${d.meta}` : ''}`;

async function compare(t: Test, ringFile: string, label: string): Promise<void> {
  const paths = randomPaths(PATHS, label.length * 7919);
  const ring = await Ring.load(ringFile, { prefix: PREFIX, suffix: SUFFIX });
  const handoffs = 2 * Math.ceil(ring.replicaCount);
  const swift = swiftLookUp(ringFile, PREFIX, SUFFIX, handoffs, paths);
  t.equal(swift.length, paths.length, `${label}: oracle answered every path`);
  let mismatches = 0;
  let first = '';
  paths.forEach((p, i) => {
    const { part, nodes } = ring.getNodes(p[0], p[1] ?? undefined, p[2] ?? undefined);
    const more: number[] = [];
    for (const h of ring.getMoreNodes(part)) {
      if (more.length >= handoffs) break;
      more.push(h.id);
    }
    const ours = { part, primaries: nodes.map((n) => n.id), handoffs: more };
    if (JSON.stringify(ours) !== JSON.stringify(swift[i])) {
      mismatches++;
      if (!first) first = `${JSON.stringify(p)}: ours ${JSON.stringify(ours)} swift ${JSON.stringify(swift[i])}`;
    }
  });
  t.equal(mismatches, 0, `${label}: partition, primaries and ${handoffs} handoffs agree for ${PATHS} paths ${first}`);
}

t.test('rings built by swift-ring-builder', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ring-compat-swift-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const configs: Array<{ name: string; pp: number; replicas: string; layout: Layout; remove?: string }> = [
    { name: 'pp8-1zone', pp: 8, replicas: '3', layout: { regions: 1, zones: 1, hostsPerZone: 2, disksPerHost: 2 } },
    { name: 'pp12-2regions-5zones', pp: 12, replicas: '3', layout: { regions: 2, zones: 5, hostsPerZone: 2, disksPerHost: 2 } },
    { name: 'pp13-4regions-10zones-removed', pp: 13, replicas: '4', remove: 'd3',
      layout: { regions: 4, zones: 10, hostsPerZone: 1, disksPerHost: 3, weights: (i) => 50 + (i % 4) * 25 } },
    { name: 'pp10-fractional-2.5', pp: 10, replicas: '2.5', layout: { regions: 1, zones: 3, hostsPerZone: 2, disksPerHost: 1 } },
  ];
  for (const c of configs) {
    const builder = join(dir, `${c.name}.builder`);
    swiftRingBuilder([builder, 'create', String(c.pp), c.replicas, '1']);
    swiftRingBuilder([builder, 'add', ...devices(c.layout).flatMap((d) => [spec(d), String(d.weight)])]);
    swiftRingBuilder([builder, 'rebalance', '--seed', '3']);
    if (c.remove) {
      swiftRingBuilder([builder, 'remove', c.remove]);
      swiftRingBuilder([builder, 'pretend_min_part_hours_passed']);
      swiftRingBuilder([builder, 'rebalance', '--seed', '4']);
    }
    const ringFile = join(dir, `${c.name}.ring.gz`);
    await compare(t, ringFile, `swift ${c.name}`);
    const raw = await readFile(ringFile);
    t.same(gunzipSync(encodeRing(decodeRing(raw))), gunzipSync(raw), `${c.name}: re-encoded payload is byte-identical`);
  }
});

t.test('rings built by ringstack, loaded by Swift', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ring-compat-ours-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const configs: Array<{ name: string; pp: number; replicas: number; layout: Layout; remove?: number }> = [
    { name: 'pp18-5zones', pp: 18, replicas: 3, layout: { regions: 1, zones: 5, hostsPerZone: 5, disksPerHost: 1 } },
    { name: 'pp9-3regions-7zones-removed', pp: 9, replicas: 3, remove: 4, layout: { regions: 3, zones: 7, hostsPerZone: 2, disksPerHost: 1 } },
    { name: 'pp16-2zones', pp: 16, replicas: 2, layout: { regions: 1, zones: 2, hostsPerZone: 3, disksPerHost: 2 } },
    { name: 'pp11-4regions-10zones-5replicas', pp: 11, replicas: 5,
      layout: { regions: 4, zones: 10, hostsPerZone: 2, disksPerHost: 1, weights: (i) => 100 + (i % 3) * 50 } },
  ];
  for (const c of configs) {
    const b = new RingBuilder(c.pp, c.replicas, 1);
    for (const d of devices(c.layout)) b.addDevice(d);
    b.rebalance({ seed: 3 });
    if (c.remove !== undefined) {
      b.removeDevice(c.remove);
      b.rebalance({ seed: 4 });
    }
    const ringFile = join(dir, `${c.name}.ring.gz`);
    await writeRingFile(ringFile, b.toRingData());
    await compare(t, ringFile, `ringstack ${c.name}`);
  }
});

t.test('balance with equal weights is no worse than swift-ring-builder on the same devices', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ring-compat-balance-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const [pp, layout] of [[12, { regions: 1, zones: 5, hostsPerZone: 2, disksPerHost: 2 }],
    [11, { regions: 2, zones: 4, hostsPerZone: 3, disksPerHost: 1 }]] as const) {
    const builder = join(dir, `b${pp}.builder`);
    swiftRingBuilder([builder, 'create', String(pp), '3', '1']);
    swiftRingBuilder([builder, 'add', ...devices(layout).flatMap((d) => [spec(d), '100'])]);
    swiftRingBuilder([builder, 'rebalance', '--seed', '1']);
    const swift = swiftBuilderStats(builder);
    const ours = new RingBuilder(pp, 3, 1);
    for (const d of devices(layout)) ours.addDevice(d);
    const r = ours.rebalance({ seed: 1 });
    t.ok(r.balance <= swift.balance + 1e-9, `pp ${pp}: balance ${r.balance.toFixed(4)} <= swift ${swift.balance.toFixed(4)}`);
    t.ok(r.dispersion <= swift.dispersion + 1e-9, `pp ${pp}: dispersion ${r.dispersion} <= swift ${swift.dispersion}`);
  }
});
