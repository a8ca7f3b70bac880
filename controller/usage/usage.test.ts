/**
 * Usage metering on a scripted timeline with an injectable clock: instances start and stop
 * at known times, the sampler writes interval records, and reports over any range are exact.
 */
import t from 'tap';
import { MemoryStateSource } from '../status/source.js';
import { buildStack } from '../status/test-fixtures.js';
import { integrate, usageReport } from './report.js';
import { UsageSampler } from './sampler.js';
import type { UsageRecord } from './record.js';

const H = 3_600_000;
const T0 = Date.parse('2026-10-31T22:00:00Z'); // crosses a month boundary on purpose

t.test('a scripted timeline gives exact instance-, vCPU-, memory- and volume-hours', async (t) => {
  const source = new MemoryStateSource();
  let clock = T0;
  const sampler = new UsageSampler(source, { now: () => clock, flushMs: 90 * 60_000 });
  // demo: vm-00000 and vm-00001 (2 vCPU, 2 GiB, m1.small, 10 GiB boot volumes), both on hv1.
  const stack = buildStack({ hosts: ['hv1'], instances: { demo: 2 } });
  const d = stack.desired;
  const ob = stack.observed[0]!;
  const inst = (id: string) => ob.instances[id]!;
  const at = async (hours: number, change: () => void) => { clock = T0 + hours * H; change(); return sampler.sample(d, [ob]); };

  inst('demo/vm-00001').state = 'SHUTOFF';
  delete ob.volumes['demo/vm-00001/boot'];
  await at(0, () => {}); // vm-00000 ACTIVE from 0h
  await at(1, () => { inst('demo/vm-00001').state = 'ACTIVE'; ob.volumes['demo/vm-00001/boot'] = { id: 'demo/vm-00001/boot', state: 'ACTIVE', updatedAt: '' }; }); // vm-00001 from 1h
  await at(2.5, () => {}); // unchanged at 2.5h: the 90-minute flush closes [1h, 2.5h)
  await at(3, () => { inst('demo/vm-00000').state = 'SHUTOFF'; }); // vm-00000 stops at 3h
  await at(4, () => { inst('demo/vm-00001').state = 'ERROR'; }); // vm-00001 stops counting at 4h
  const written = await at(5, () => {});
  t.same(written, [], 'nothing metered, nothing written');

  const keys = [...source.docs.keys()].filter((k) => k.startsWith('state/usage/')).sort();
  t.same(keys, [
    'state/usage/demo/2026-10/2026-10-31T230000.000Z.json',
    'state/usage/demo/2026-11/2026-11-01T003000.000Z.json',
    'state/usage/demo/2026-11/2026-11-01T010000.000Z.json',
    'state/usage/demo/2026-11/2026-11-01T020000.000Z.json',
  ]);
  const rec = JSON.parse(source.docs.get(keys[0]!)!) as UsageRecord;
  t.same([rec.from, rec.to, rec.resources.instances.map((i) => i.id)], ['2026-10-31T22:00:00.000Z', '2026-10-31T23:00:00.000Z', ['demo/vm-00000']]);

  // Whole timeline: vm-00000 ACTIVE 0h-3h, vm-00001 1h-4h => 6 instance-hours. The boot volumes
  // (10 GiB) count while held: vm-00000's from 0h, vm-00001's from 1h; the interval opened at 4h
  // is still open at 5h (no change, shorter than the flush interval), so records reach 4h.
  const all = await usageReport(source, 'demo', T0, T0 + 5 * H, sampler.flushMs);
  t.equal(all.instanceHours, 6);
  t.same(all.instanceHoursByFlavor, { 'm1.small': 6 });
  t.equal(all.vcpuHours, 12);
  t.equal(all.memoryGiBHours, 12);
  t.equal(all.volumeGiBHours, 10 * 4 + 10 * 3, 'vm-00000 boot volume 0h-4h, vm-00001 1h-4h in closed records');
  clock = T0 + 5.5 * H;
  await sampler.sample(d, [ob]); // the flush interval closes [4h, 5.5h)
  t.equal((await usageReport(source, 'demo', T0, T0 + 5 * H, sampler.flushMs)).volumeGiBHours, 10 * 5 + 10 * 4, 'then up to 5h');
  t.equal(all.records, 4);

  // A range clipping intervals on both ends: [0.5h, 3.5h)
  const mid = await usageReport(source, 'demo', T0 + 0.5 * H, T0 + 3.5 * H, sampler.flushMs);
  // vm-00000: 0.5h..3h = 2.5h; vm-00001: 1h..3.5h = 2.5h
  t.equal(mid.instanceHours, 5);
  t.equal(mid.vcpuHours, 10);
  // The other project has no records.
  t.equal((await usageReport(source, 'other', T0, T0 + 5 * H)).instanceHours, 0);
});

t.test('a failed write keeps the interval open and is retried at the next sample', async (t) => {
  const source = new MemoryStateSource();
  let clock = T0;
  const sampler = new UsageSampler(source, { now: () => clock });
  const stack = buildStack({ hosts: ['hv1'], instances: { demo: 1 } });
  await sampler.sample(stack.desired, stack.observed);
  clock = T0 + H;
  stack.observed[0]!.instances['demo/vm-00000']!.state = 'SHUTOFF';
  source.failing.add('state/usage/');
  await t.rejects(sampler.sample(stack.desired, stack.observed));
  source.failing.clear();
  clock = T0 + 2 * H;
  const written = await sampler.sample(stack.desired, stack.observed);
  t.same(written.map((r) => [r.from, r.to]), [['2026-10-31T22:00:00.000Z', '2026-11-01T00:00:00.000Z']], 'the retry covers the whole interval');
});

t.test('integrate clips partial intervals exactly and sums image bytes', async (t) => {
  const rec = (from: number, to: number, vcpus: number, bytes: number): UsageRecord => ({
    formatVersion: 1, kind: 'UsageRecord', project: 'p', from: new Date(from).toISOString(), to: new Date(to).toISOString(),
    resources: { instances: [{ id: 'p/a', flavor: 'f', vcpus, memoryMiB: 512 }], volumes: [], images: [{ id: 'img@hv1', bytes }] },
  });
  const r = integrate('p', [rec(0, 2 * H, 1, 2 ** 30), rec(2 * H, 3 * H, 4, 2 ** 31)], 0.25 * H, 2.5 * H);
  t.equal(r.instanceHours, 2.25);
  t.equal(r.vcpuHours, 1.75 + 2);
  t.equal(r.memoryGiBHours, 2.25 / 2);
  t.equal(r.imageGiBHours, 1.75 + 1);
  t.equal(r.imageBytesMax, 2 ** 31);
  t.equal(r.imageBytesAtEnd, 2 ** 31);
  t.equal(integrate('p', [rec(0, H, 1, 0)], H, 2 * H).records, 0, 'touching ranges do not overlap');
});
