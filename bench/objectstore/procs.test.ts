/**
 * The bench's disk readings (procs.ts): /proc/diskstats parsed for whole disks only, and the
 * rates between two readings (bytes written per second, the busiest disk's busy share).
 */
import t from 'tap';
import { diskCounters, diskRates, parseDiskstats } from './procs.js';

const line = (name: string, sectorsWritten: number, busyMs: number) =>
  ` 254       0 ${name} 144759 16185 27057082 101210 900957 1016324 ${sectorsWritten} 3379964 0 ${busyMs} 3997715 714535 93 80198576 424281 157107 92258`;

t.test('parseDiskstats counts the named disks, not their partitions or other devices', async (t) => {
  const text = [line('vda', 1000, 500), line('vda1', 999, 499), line('loop0', 7, 7), line('sdb', 24, 100), '', 'short line'].join('\n');
  const c = parseDiskstats(text, new Set(['vda', 'sdb']));
  t.equal(c.writtenBytes, (1000 + 24) * 512, 'sectors written of vda and sdb, 512 bytes each');
  t.same([...c.busyMs.entries()], [['vda', 500], ['sdb', 100]]);
});

t.test('diskRates: MB written per second and the busiest disk\'s share, at most 1', async (t) => {
  const a = parseDiskstats([line('vda', 0, 1000), line('sdb', 0, 0)].join('\n'), new Set(['vda', 'sdb']));
  const b = parseDiskstats([line('vda', 2_000_000, 1500), line('sdb', 1_906_250, 1800)].join('\n'), new Set(['vda', 'sdb']));
  t.same(diskRates(a, b, 2), { write_mb_s: 1000, busy_share: 0.9 }, '(2e6 + 1.9e6) sectors in 2 s; sdb busy 1.8 of 2 s');
  const c = parseDiskstats(line('vda', 0, 9000), new Set(['vda']));
  t.equal(diskRates(a, c, 2).busy_share, 1, 'the counters tick apart: never above 1');
});

t.test('diskCounters reads this host\'s disks', { skip: process.platform !== 'linux' }, async (t) => {
  const c = diskCounters();
  t.ok(c, '/proc/diskstats is there');
  t.ok(c!.busyMs.size >= 1, `at least one disk (${[...c!.busyMs.keys()].join(', ')})`);
  t.notOk([...c!.busyMs.keys()].some((d) => /^(loop|ram|zram)/.test(d)), 'no loop, RAM or zram device');
});
