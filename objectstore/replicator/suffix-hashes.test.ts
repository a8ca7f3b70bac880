/** Suffix hashes: stable, change with the live files, ignore leftovers, reclaim old tombstones. */
import t from 'tap';
import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashSuffix, liveState, partitionHashes, toPush } from './suffix-hashes.js';

const H1 = 'a'.repeat(29) + 'abc';
const H2 = 'b'.repeat(29) + 'abc';
const opts = { reclaimAgeSeconds: 3600 };
const nowTs = (ageSeconds = 0) => (Date.now() / 1000 - ageSeconds).toFixed(5).padStart(16, '0');

t.test('liveState', async (t) => {
  t.same(liveState(['0000000001.00000.data', '0000000002.00000.data', '0000000003.00000.meta']).live,
    { data: '0000000002.00000', meta: '0000000003.00000' });
  t.same(liveState(['0000000002.00000.data', '0000000001.00000.meta']).obsolete, ['0000000001.00000.meta'], 'old meta is obsolete');
  t.same(liveState(['0000000002.00000.data', '0000000002.00000.ts']).live, { ts: '0000000002.00000' }, 'tombstone wins a tie');
  t.same(liveState(['junk.tmp']).live, {}, 'unknown files ignored');
});

t.test('toPush: newest wins', async (t) => {
  t.same(toPush({ data: '0000000002.00000' }, undefined), ['data']);
  t.same(toPush({ data: '0000000002.00000', meta: '0000000003.00000' }, { data: '0000000001.00000' }), ['data', 'meta']);
  t.same(toPush({ data: '0000000002.00000' }, { ts: '0000000003.00000' }), [], 'peer newer');
  t.same(toPush({ ts: '0000000003.00000' }, { data: '0000000002.00000' }), ['ts']);
  t.same(toPush({ data: '0000000002.00000', meta: '0000000004.00000' }, { data: '0000000002.00000', meta: '0000000003.00000' }), ['meta']);
  t.same(toPush({ data: '0000000002.00000' }, { data: '0000000002.00000' }), []);
});

t.test('suffix hash', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-suffix-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const part = join(dir, '7');
  const suffix = join(part, 'abc');
  await mkdir(join(suffix, H1), { recursive: true });
  const ts1 = nowTs(10);
  await writeFile(join(suffix, H1, `${ts1}.data`), 'x');
  const a = await hashSuffix(suffix, opts);
  const b = await hashSuffix(suffix, opts);
  t.ok(a.hash);
  t.equal(a.hash, b.hash, 'stable');
  t.same(a.listing, { [H1]: { data: ts1 } });

  await mkdir(join(suffix, H2), { recursive: true });
  await writeFile(join(suffix, H2, `${ts1}.data`), 'y');
  const c = await hashSuffix(suffix, opts);
  t.not(c.hash, a.hash, 'a new object changes the hash');

  // An older leftover next to the live file does not change the hash, and is removed.
  await writeFile(join(suffix, H2, `${nowTs(100)}.data`), 'old');
  const d = await hashSuffix(suffix, opts);
  t.equal(d.hash, c.hash, 'leftovers do not count');
  t.same(await readdir(join(suffix, H2)), [`${ts1}.data`], 'obsolete file removed');

  await rm(join(suffix, H2), { recursive: true });
  t.equal((await hashSuffix(suffix, opts)).hash, a.hash, 'removing it restores the old hash');

  const ts2 = nowTs(5);
  await writeFile(join(suffix, H1, `${ts2}.meta`), 'm');
  t.not((await hashSuffix(suffix, opts)).hash, a.hash, 'a .meta changes the hash');

  const p = await partitionHashes(part, opts);
  t.same(Object.keys(p.hashes), ['abc']);
  t.same(await partitionHashes(join(dir, 'missing'), opts), { hashes: {}, reclaimed: 0 }, 'missing partition is empty');
});

t.test('tombstone reclaim', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-reclaim-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const suffix = join(dir, 'abc');
  await mkdir(join(suffix, H1), { recursive: true });
  await mkdir(join(suffix, H2), { recursive: true });
  await writeFile(join(suffix, H1, `${nowTs(7200)}.ts`), '');
  await writeFile(join(suffix, H1, `${nowTs(9000)}.data`), 'gone');
  await writeFile(join(suffix, H2, `${nowTs(60)}.ts`), '');
  const r = await hashSuffix(suffix, opts);
  t.equal(r.reclaimed, 1, 'one tombstone older than the reclaim age');
  t.same(await readdir(suffix), [H2], 'its folder is gone, the young tombstone stays');
  t.ok(r.listing[H2]?.ts);
});

t.test('a partition is hashed a suffix folder at a time, with other work between', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-suffix-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const part = join(dir, '9');
  const suffixes = Array.from({ length: 40 }, (_, i) => (0x100 + i).toString(16));
  const ts = nowTs(10);
  for (const s of suffixes) {
    const h = 'c'.repeat(29) + s;
    await mkdir(join(part, s, h), { recursive: true });
    await writeFile(join(part, s, h, `${ts}.data`), s);
  }
  // Callbacks queued while hashing run before it ends: a request waiting on a busy node is not
  // held up for the whole partition.
  let turns = 0;
  let hashing = true;
  const tick = () => {
    if (!hashing) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  const r = await partitionHashes(part, opts);
  hashing = false;
  t.equal(Object.keys(r.hashes).length, suffixes.length, 'every suffix hashed');
  t.ok(turns >= suffixes.length / 2, `the event loop turned while hashing (${turns} turns for ${suffixes.length} suffixes)`);
});
