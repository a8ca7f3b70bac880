/**
 * Group commit of small writes (sync-group.ts): a caller is served only by a sync that started
 * after it asked, callers waiting together share one sync, a failed sync fails its callers;
 * and through DiskFiles, concurrent small writes land whole with fewer syncs than writes, and
 * a write whose sync fails is neither acknowledged nor put in place.
 */
import t, { type Test } from 'tap';
import { closeSync } from 'node:fs';
import { mkdtemp, mkdir, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_UNWRITTEN_BYTES, SyncGroup, groupSyncAvailable, syncFilesystem, unwrittenBytes } from './sync-group.js';
import * as syncGroupModule from './sync-group.js';
import { DiskFiles, openStoredFile, type DiskMetadata } from './diskfile.js';

/** A SyncGroup whose syncs end when the test says so. */
function controlledGroup() {
  const pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const group = new SyncGroup(() => new Promise<void>((resolve, reject) => pending.push({ resolve, reject })));
  return { group, pending };
}

const tick = () => new Promise((r) => setImmediate(r));

t.test('a caller that arrives during a sync waits for the next one, which serves all such callers', async (t) => {
  const { group, pending } = controlledGroup();
  const settled: string[] = [];
  const first = group.sync().then(() => settled.push('first'));
  t.equal(pending.length, 1, 'the first caller starts a sync at once');
  const second = group.sync().then(() => settled.push('second'));
  const third = group.sync().then(() => settled.push('third'));
  t.equal(pending.length, 1, 'callers during a running sync do not start another');
  pending[0]!.resolve();
  await first;
  await tick();
  t.same(settled, ['first'], 'the running sync may have started before their writes: it does not serve them');
  t.equal(pending.length, 2, 'the next sync starts as soon as the running one ends');
  pending[1]!.resolve();
  await Promise.all([second, third]);
  t.same(settled, ['first', 'second', 'third']);
  t.equal(group.syncs, 2, 'three callers, two syncs');
  t.equal(group.joined, 3);
});

t.test('a failed sync fails every caller it served, and the next caller starts afresh', async (t) => {
  const { group, pending } = controlledGroup();
  const a = group.sync();
  const b = group.sync();
  pending[0]!.reject(Object.assign(new Error('EIO'), { code: 'EIO' }));
  await t.rejects(a, { code: 'EIO' }, 'the caller of the failed sync sees its error');
  await tick();
  pending[1]!.reject(new Error('second failed'));
  await t.rejects(b, /second failed/);
  const c = group.sync();
  t.equal(pending.length, 3, 'a new sync after the failures');
  pending[2]!.resolve();
  await t.resolves(c);
});

t.test('unwrittenBytes adds Dirty and Writeback from /proc/meminfo, Infinity when unknown', async (t) => {
  const meminfo = 'MemTotal:       24576000 kB\nDirty:              1200 kB\nWriteback:            16 kB\nWritebackTmp:      999 kB\n';
  t.equal(unwrittenBytes(meminfo), 1216 * 1024);
  t.equal(unwrittenBytes('MemTotal: 1 kB\n'), Infinity, 'a missing field never reads as "little"');
  t.ok(MAX_UNWRITTEN_BYTES > 0);
});

t.test('syncFilesystem syncs a real filesystem and rejects a missing path', { skip: !groupSyncAvailable && 'no native addon' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-syncfs-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await t.resolves(syncFilesystem(dir));
  await t.rejects(syncFilesystem(join(dir, 'missing')), { code: 'ENOENT' });
});

const TS = '1700000000.00000';

function meta(i: number, size: number, timestamp = TS): DiskMetadata {
  return { name: `/a/c/o${i}`, timestamp, etag: 'e'.repeat(32), contentLength: size, contentType: 'x', meta: {}, headers: {} };
}

async function devices(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-group-sync-'));
  await mkdir(join(dir, 'd1'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const hashOf = (i: number) => i.toString(16).padStart(32, '0');

/** Writes `n` small versions at once; returns what each finish did. */
async function writeMany(disk: DiskFiles, n: number): Promise<PromiseSettledResult<void>[]> {
  const body = Buffer.alloc(4096, 7);
  const writers = await Promise.all(Array.from({ length: n }, (_, i) => disk.createWriter('d1', i % 4, hashOf(i), 'data')));
  await Promise.all(writers.map((w) => w.write(body)));
  return Promise.allSettled(writers.map((w, i) => w.finish(meta(i, body.length))));
}

t.test('concurrent small writes share syncs and all land whole', { skip: !groupSyncAvailable && 'no native addon' }, async (t) => {
  const dir = await devices(t);
  const disk = new DiskFiles({ devicesDir: dir, reserveBytes: 0 });
  const results = await writeMany(disk, 16);
  t.same(results.map((r) => r.status), Array(16).fill('fulfilled'));
  for (let i = 0; i < 16; i++) {
    const f = openStoredFile(join(disk.hashDir('d1', i % 4, hashOf(i)), `${TS}.data`));
    closeSync(f.fd);
    t.equal(f.meta.name, `/a/c/o${i}`);
    t.equal(f.bodySize, 4096);
  }
  const { syncs, joined } = disk.groupSyncStats();
  t.equal(joined, 32, 'each write waited for two group syncs (before and after its rename)');
  t.ok(syncs < joined, `fewer syncs (${syncs}) than waits (${joined})`);
});

t.test('with groupSync off every write syncs its own files', async (t) => {
  const dir = await devices(t);
  const disk = new DiskFiles({ devicesDir: dir, reserveBytes: 0, groupSync: false });
  const results = await writeMany(disk, 4);
  t.same(results.map((r) => r.status), Array(4).fill('fulfilled'));
  t.same(disk.groupSyncStats(), { syncs: 0, joined: 0 });
});

t.test('a write whose group sync fails is not acknowledged and not put in place', async (t) => {
  const { DiskFiles: FailingDisk } = await t.mockImport<typeof import('./diskfile.js')>('./diskfile.js', {
    './sync-group.js': {
      ...syncGroupModule,
      groupSyncAvailable: true,
      littleUnwritten: () => true,
      syncFilesystem: () => Promise.reject(Object.assign(new Error('EIO: i/o error, syncfs'), { code: 'EIO' })),
    },
  });
  const dir = await devices(t);
  const disk = new FailingDisk({ devicesDir: dir, reserveBytes: 0 });
  const results = await writeMany(disk, 3);
  for (const r of results) t.match(r, { status: 'rejected', reason: { code: 'EIO' } });
  for (let i = 0; i < 3; i++) {
    const names = await readdir(disk.hashDir('d1', i % 4, hashOf(i))).catch(() => []);
    t.same(names, [], `no version of object ${i} in place`);
  }
});

t.test('while the host has much unwritten data, small writes fsync their own files', async (t) => {
  const { DiskFiles: BusyDisk } = await t.mockImport<typeof import('./diskfile.js')>('./diskfile.js', {
    './sync-group.js': { ...syncGroupModule, groupSyncAvailable: true, littleUnwritten: () => false },
  });
  const dir = await devices(t);
  const disk = new BusyDisk({ devicesDir: dir, reserveBytes: 0 });
  const results = await writeMany(disk, 4);
  t.same(results.map((r) => r.status), Array(4).fill('fulfilled'));
  t.same(disk.groupSyncStats(), { syncs: 0, joined: 0 });
});
