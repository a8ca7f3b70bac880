/**
 * The bench's workload (load.ts): the warm-up runs every phase's operation before any is
 * measured; each phase reports the host's idle share, the CPU busy outside the systems and
 * what the disks wrote.
 */
import t from 'tap';
import { cpus, tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runWorkload, warmUp, type StoreClient, type WorkloadOptions } from './load.js';

const OPTIONS: WorkloadOptions = {
  concurrency: 4, largeConcurrency: 3, smallCount: 5000, smallSize: 16, largeCount: 32, largeSize: 64,
  capSeconds: 20, container: 'bench-1',
};

/** A store in memory that records what it was asked. */
function recordingClient() {
  const objects = new Map<string, number>();
  const calls: string[] = [];
  const client: StoreClient = {
    async createContainer(c) { calls.push(`create ${c}`); },
    async put(c, k, body) { objects.set(`${c}/${k}`, body.length); calls.push(`put ${c}/${k} ${body.length}`); return true; },
    async get(c, k) { calls.push(`get ${c}/${k}`); return objects.get(`${c}/${k}`) ?? -1; },
  };
  return { client, calls };
}

t.test('warmUp writes and reads small and large objects in a container of its own', async (t) => {
  const { client, calls } = recordingClient();
  await warmUp(client, OPTIONS, 0.4);
  t.equal(calls[0], 'create bench-1-warm', 'its own container, not the measured one');
  t.notOk(calls.some((c) => / bench-1\//.test(c)), 'nothing in the measured container');
  const smallPuts = calls.filter((c) => c.startsWith('put') && c.endsWith(' 16'));
  const smallGets = calls.filter((c) => c.startsWith('get bench-1-warm/s-'));
  t.ok(smallPuts.length >= 64, `small PUTs ran (${smallPuts.length})`);
  t.ok(smallGets.length >= 1, `small GETs ran (${smallGets.length})`);
  const largePuts = calls.filter((c) => c.startsWith('put') && c.endsWith(' 64')).map((c) => c.split(' ')[1]);
  t.same(largePuts.sort(), ['0', '1', '2', '3', '4', '5'].map((i) => `bench-1-warm/l-${i}`).sort(),
    'two waves of large PUTs, one per large client each');
  const largeGets = calls.filter((c) => c.startsWith('get bench-1-warm/l-')).map((c) => c.slice(4));
  t.same(largeGets.sort(), largePuts.sort(), 'each large object read back');
  const lastPut = calls.map((c) => c.startsWith('put')).lastIndexOf(true);
  const firstLargeGet = calls.findIndex((c) => c.startsWith('get bench-1-warm/l-'));
  t.ok(firstLargeGet > lastPut, 'the large GETs come after every PUT');
});

t.test('warmUp stops its small PUTs within its time', async (t) => {
  const slow: StoreClient = {
    async createContainer() {},
    put: async () => { await new Promise((r) => setTimeout(r, 20)); return true; },
    get: async () => 16,
  };
  const t0 = Date.now();
  await warmUp(slow, { ...OPTIONS, smallCount: 1_000_000 }, 1);
  const took = Date.now() - t0;
  t.ok(took < 3000, `a million small PUTs were not all made: took ${took} ms`);
});

t.test('each phase reports how idle the host was and the CPU no measured process took', async (t) => {
  // Every operation keeps this process's CPU busy for 2 ms: the host cannot have been idle then.
  const spin = () => {
    const end = performance.now() + 2;
    while (performance.now() < end);
  };
  const spinning: StoreClient = {
    async createContainer() {},
    put: async () => (spin(), true),
    get: async () => (spin(), 16),
  };
  const o = { ...OPTIONS, smallCount: 200, largeCount: 1, concurrency: 1, largeConcurrency: 1 };
  const [put, get] = await runWorkload(spinning, o);
  const cores = cpus().length;
  t.ok(put!.host_idle_share! >= 0 && put!.host_idle_share! <= 1 - 0.7 / cores,
    `a phase that kept a core busy: idle share ${put!.host_idle_share} on ${cores} cores`);
  t.ok(get!.host_idle_share! >= 0 && get!.host_idle_share! <= 1 - 0.7 / cores, `and the GETs: ${get!.host_idle_share}`);
  t.equal(put!.other_cpu_cores, undefined, 'no "other" without the servers\' CPU to take off');

  // Servers that claim more CPU than the host had: nothing is left over, never less than none.
  let claimed = 0;
  const [put2] = await runWorkload(spinning, o, () => ({ proxy: (claimed += 1000) }));
  t.equal(put2!.other_cpu_cores, 0, 'never below zero');
  t.ok(put2!.server_cpu_cores! > 0, 'the servers\' CPU as counted');
});

t.test('a write phase lasts until what it wrote is on disk; a read phase does not sync', async (t) => {
  // Each PUT takes 10 ms, so a phase lasts long enough for its rate to be checked.
  const { client } = recordingClient();
  const slowPuts: StoreClient = { ...client, put: async (c, k, b) => { await new Promise((r) => setTimeout(r, 10)); return client.put(c, k, b); } };
  const o = { ...OPTIONS, smallCount: 200, largeCount: 60 };
  const phases = await runWorkload(slowPuts, o);
  for (const p of phases) {
    if (p.phase.startsWith('put')) {
      t.ok(p.sync_s !== undefined && p.sync_s >= 0, `${p.phase} timed its sync (${p.sync_s} s)`);
      t.ok(p.seconds >= p.sync_s!, `${p.phase}: the sync is part of the phase's ${p.seconds} s`);
      const rate = p.ops / p.seconds;
      t.ok(Math.abs(p.ops_s - rate) <= rate * 0.05, `${p.phase}: ${p.ops_s} op/s over the whole phase (${rate.toFixed(1)})`);
    } else {
      t.equal(p.sync_s, undefined, `${p.phase} does not sync`);
    }
  }
});

t.test('a phase that writes to disk reports the MB/s the disks took and how busy they were', { skip: process.platform !== 'linux' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rs-load-disk-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const block = randomBytes(256 * 1024);
  const writing: StoreClient = {
    async createContainer() {},
    async put(_c, k) {
      await writeFile(join(dir, k), block, { flush: true });
      return true;
    },
    get: async () => 16,
  };
  const [put, get] = await runWorkload(writing, { ...OPTIONS, smallCount: 40, largeCount: 1, concurrency: 2, largeConcurrency: 1 });
  const mb = (40 * block.length) / 1e6;
  t.ok(put!.disk_write_mb_s! * put!.seconds >= mb * 0.9, `${put!.disk_write_mb_s} MB/s for ${put!.seconds} s: at least the ${mb} MB written`);
  t.ok(put!.disk_busy_share! > 0 && put!.disk_busy_share! <= 1, `busy share ${put!.disk_busy_share}`);
  t.ok(get!.disk_write_mb_s! >= 0, 'every phase has the reading');
});
