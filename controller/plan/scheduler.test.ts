/** Scheduler properties: filters, weighers, stickiness, grace period, determinism. */
import t from 'tap';
import { schedule, type SchedulerHost, type SchedulingRequest } from './scheduler.js';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const fresh = new Date(NOW - 5_000).toISOString();
const host = (name: string, zone = 'a', extra: Partial<SchedulerHost> = {}): SchedulerHost =>
  ({ name, zone, vcpus: 8, memoryMiB: 16384, diskGiB: 100, lastHeartbeat: fresh, ...extra });
const req = (id: string, extra: Partial<SchedulingRequest> = {}): SchedulingRequest =>
  ({ id, vcpus: 1, memoryMiB: 1024, diskGiB: 10, ...extra });

t.test('spread places equal instances on different hosts; pack fills one first', async (t) => {
  const hosts = [host('h1'), host('h2'), host('h3')];
  const requests = [req('p/a'), req('p/b'), req('p/c')];
  const spread = schedule({ hosts, requests, now: NOW });
  t.same(new Set(Object.values(spread.placements)).size, 3, 'one per host');
  const pack = schedule({ hosts, requests, now: NOW, options: { strategy: 'pack' } });
  t.same(new Set(Object.values(pack.placements)).size, 1, 'all on one host');
  t.same(pack.usage[pack.placements['p/a']!], { vcpus: 3, memoryMiB: 3072, diskGiB: 30 });
});

t.test('capacity with overcommit ratios, and the reason when nothing fits', async (t) => {
  const hosts = [host('h1', 'a', { vcpus: 2 })];
  const ok = schedule({ hosts, requests: [req('p/a', { vcpus: 8 })], now: NOW });
  t.equal(ok.placements['p/a'], 'h1', '8 vcpus fit on 2 cores with the default cpu ratio 4.0');
  const tight = schedule({ hosts, requests: [req('p/a', { vcpus: 8 })], now: NOW, options: { cpuAllocationRatio: 1 } });
  t.same(tight.unschedulable, { 'p/a': 'no host with 8 free vcpus' });
  const zoned = schedule({ hosts: [...hosts, host('h2', 'b', { vcpus: 1 })], requests: [req('p/a', { vcpus: 8, zone: 'b' })], now: NOW, options: { cpuAllocationRatio: 1 } });
  t.same(zoned.unschedulable, { 'p/a': 'no host with 8 free vcpus in zone b' });
  const mem = schedule({ hosts, requests: [req('p/a', { memoryMiB: 20000 })], now: NOW });
  t.same(mem.unschedulable, { 'p/a': 'no host with 20000 MiB free memory' });
  const disk = schedule({ hosts, requests: [req('p/a', { diskGiB: 101 })], now: NOW });
  t.same(disk.unschedulable, { 'p/a': 'no host with 101 GiB free disk' });
  const full = schedule({ hosts: [host('h1', 'a', { memoryMiB: 2048 })], requests: [req('p/a'), req('p/b'), req('p/c')], now: NOW });
  t.same(Object.keys(full.placements).sort(), ['p/a', 'p/b']);
  t.same(full.unschedulable, { 'p/c': 'no host with 1024 MiB free memory' });
  t.same(schedule({ hosts: [], requests: [req('p/a')], now: NOW }).unschedulable, { 'p/a': 'no hosts are registered' });
});

t.test('zones, host pins and network zones filter hosts', async (t) => {
  const hosts = [host('h1', 'a'), host('h2', 'b'), host('h3', 'b')];
  const r = schedule({
    hosts, now: NOW, requests: [
      req('p/z', { zone: 'b' }), req('p/pin', { host: 'h3' }), req('p/net', { allowedZones: ['a'] }),
      req('p/nozone', { zone: 'c' }), req('p/nohost', { host: 'h9' }), req('p/netnone', { allowedZones: ['c'] }),
    ],
  });
  t.match(r.placements['p/z'], /^h[23]$/);
  t.equal(r.placements['p/pin'], 'h3');
  t.equal(r.placements['p/net'], 'h1');
  t.same(r.unschedulable, {
    'p/nozone': 'no host is up in zone c',
    'p/nohost': 'pinned host h9 does not exist',
    'p/netnone': 'no host is up in a zone where all its networks exist (c)',
  });
});

t.test('anti-affinity: no two instances of a group on one host', async (t) => {
  const hosts = [host('h1'), host('h2')];
  const r = schedule({
    hosts, now: NOW, options: { strategy: 'pack' },
    requests: [req('p/a', { antiAffinityGroup: 'p/web' }), req('p/b', { antiAffinityGroup: 'p/web' }), req('p/c', { antiAffinityGroup: 'p/web' }),
      req('q/a', { antiAffinityGroup: 'q/web' })],
  });
  t.not(r.placements['p/a'], r.placements['p/b'], 'packing does not override anti-affinity');
  t.same(r.unschedulable, { 'p/c': 'every host with room already runs an instance of anti-affinity group web' });
  t.ok(r.placements['q/a'], 'groups are per project');
});

t.test('soft anti-affinity: spreads while it can, then doubles up on the least crowded host', async (t) => {
  const hosts = [host('h1'), host('h2'), host('h3', 'a', { memoryMiB: 1024 })];
  const soft = (id: string) => req(id, { antiAffinityGroup: 'p/web', antiAffinityPolicy: 'Soft' });
  const r = schedule({ hosts, now: NOW, options: { strategy: 'pack' }, requests: [soft('p/a'), soft('p/b'), soft('p/c'), soft('p/d'), soft('p/e')] });
  t.same(r.unschedulable, {}, 'Soft never makes an instance unschedulable because of its group');
  const count = (h: string) => Object.values(r.placements).filter((p) => p === h).length;
  t.same([count('h1'), count('h2'), count('h3')], [2, 2, 1], 'one per host first, then the host with the fewest members');
  const again = schedule({ hosts: [...hosts].reverse(), now: NOW, options: { strategy: 'pack' }, requests: [soft('p/e'), soft('p/d'), soft('p/c'), soft('p/b'), soft('p/a')] });
  t.same(again.placements, r.placements, 'deterministic tie-break');

  const strict = schedule({ hosts: [host('h1')], now: NOW, requests: [req('p/a', { antiAffinityGroup: 'p/web', antiAffinityPolicy: 'Strict' }), soft('p/b')] });
  t.same(strict.placements, { 'p/a': 'h1', 'p/b': 'h1' }, 'a Soft member may join a host holding a Strict one');
  const strictLater = schedule({ hosts: [host('h1')], now: NOW, requests: [soft('p/a'), req('p/b', { antiAffinityGroup: 'p/web' })] });
  t.same(strictLater.unschedulable, { 'p/b': 'every host with room already runs an instance of anti-affinity group web' }, 'Strict (the default) still refuses');

  const sticky = schedule({ hosts: [host('h1'), host('h2')], now: NOW, previous: { 'p/a': 'h1', 'p/b': 'h1' }, requests: [soft('p/a'), soft('p/b')] });
  t.same(sticky.placements, { 'p/a': 'h1', 'p/b': 'h1' }, 'Soft members are not moved off a shared host');
  t.same(sticky.moved, {});
});

t.test('down hosts get no new instances', async (t) => {
  const stale = new Date(NOW - 120_000).toISOString();
  const r = schedule({ hosts: [host('h1', 'a', { lastHeartbeat: stale }), host('h2')], requests: [req('p/a')], now: NOW });
  t.equal(r.placements['p/a'], 'h2');
  t.same(r.up, { h1: false, h2: true });
  const none = schedule({ hosts: [host('h1', 'a', { lastHeartbeat: stale })], requests: [req('p/a')], now: NOW });
  t.same(none.unschedulable, { 'p/a': 'no host is up (1 registered, none with a fresh heartbeat)' });
});

t.test('sticky placement: stays on its host, even down, until the grace period ends', async (t) => {
  const hosts = [host('h1'), host('h2')];
  const kept = schedule({ hosts, requests: [req('p/a')], previous: { 'p/a': 'h2' }, now: NOW, options: { strategy: 'pack' } });
  t.equal(kept.placements['p/a'], 'h2', 'stays although packing would not choose it');
  const downShort = [host('h1'), host('h2', 'a', { lastHeartbeat: new Date(NOW - 200_000).toISOString() })];
  const stay = schedule({ hosts: downShort, requests: [req('p/a')], previous: { 'p/a': 'h2' }, now: NOW });
  t.equal(stay.placements['p/a'], 'h2', 'down for 200 s, within the 300 s grace period');
  t.same(stay.moved, {});
  const downLong = [host('h1'), host('h2', 'a', { lastHeartbeat: new Date(NOW - 400_000).toISOString() })];
  const moved = schedule({ hosts: downLong, requests: [req('p/a')], previous: { 'p/a': 'h2' }, now: NOW });
  t.equal(moved.placements['p/a'], 'h1');
  t.same(moved.moved, { 'p/a': { from: 'h2', reason: 'host h2 is down for 400 s, longer than the 300 s grace period' } });
  const custom = schedule({ hosts: downLong, requests: [req('p/a')], previous: { 'p/a': 'h2' }, now: NOW, options: { gracePeriodSeconds: 600 } });
  t.equal(custom.placements['p/a'], 'h2', 'configurable grace period');
});

t.test('a vanished host keeps its instances for the grace period after it was last seen', async (t) => {
  const hosts = [host('h1')];
  const recent = schedule({ hosts, requests: [req('p/a')], previous: { 'p/a': 'gone' }, lastSeen: { gone: NOW - 60_000 }, now: NOW });
  t.equal(recent.placements['p/a'], 'gone');
  const old = schedule({ hosts, requests: [req('p/a')], previous: { 'p/a': 'gone' }, lastSeen: { gone: NOW - 600_000 }, now: NOW });
  t.equal(old.placements['p/a'], 'h1');
  t.same(old.moved['p/a'], { from: 'gone', reason: 'host gone is gone for 600 s, longer than the 300 s grace period' });
  const unknown = schedule({ hosts, requests: [req('p/a')], previous: { 'p/a': 'gone' }, now: NOW });
  t.equal(unknown.placements['p/a'], 'h1', 'never seen: rescheduled at once');
});

t.test('sticky instances move when their constraints change', async (t) => {
  const hosts = [host('h1', 'a'), host('h2', 'b')];
  const r = schedule({
    hosts, now: NOW, previous: { 'p/a': 'h1', 'p/b': 'h1', 'p/c': 'h1', 'p/d': 'h1' },
    requests: [req('p/a', { zone: 'b' }), req('p/b', { host: 'h2' }), req('p/c', { antiAffinityGroup: 'p/g' }), req('p/d', { antiAffinityGroup: 'p/g' })],
  });
  t.same(r.placements, { 'p/a': 'h2', 'p/b': 'h2', 'p/c': 'h1', 'p/d': 'h2' });
  t.same(r.moved, {
    'p/a': { from: 'h1', reason: 'host h1 is not in zone b' },
    'p/b': { from: 'h1', reason: 'pinned to host h2' },
    'p/d': { from: 'h1', reason: 'anti-affinity group g already on host h1' },
  });
});

t.test('required host (volume data) constrains placement', async (t) => {
  const r = schedule({ hosts: [host('h1'), host('h2')], now: NOW, requests: [req('p/a', { requiredHost: { host: 'h2', reason: 'volume d lives on host h2' } })] });
  t.equal(r.placements['p/a'], 'h2');
  const down = schedule({
    hosts: [host('h1'), host('h2', 'a', { lastHeartbeat: 0 })], now: NOW,
    requests: [req('p/a', { requiredHost: { host: 'h2', reason: 'volume d lives on host h2' } })],
  });
  t.same(down.unschedulable, { 'p/a': 'volume d lives on host h2, and host h2 is down or excluded' });
});

t.test('deterministic: same input in any order gives the same placements', async (t) => {
  const hosts = Array.from({ length: 12 }, (_, i) => host(`h${i}`, i % 3 === 0 ? 'a' : 'b', { vcpus: 4 + (i % 4) }));
  const requests = Array.from({ length: 60 }, (_, i) => req(`p/i${i}`, { vcpus: 1 + (i % 3), memoryMiB: 512 * (1 + (i % 5)), ...(i % 7 === 0 ? { antiAffinityGroup: 'p/g' } : {}) }));
  const a = schedule({ hosts, requests, now: NOW });
  const b = schedule({ hosts: [...hosts].reverse(), requests: [...requests].reverse(), now: NOW });
  t.same(a, b);
  t.same(JSON.stringify(a), JSON.stringify(b), 'identical serialisation');
  t.equal(Object.keys(a.placements).length, 60);
  const used = new Set(Object.values(a.placements));
  t.ok(used.size >= 10, `spread uses most hosts (${used.size})`);
});
