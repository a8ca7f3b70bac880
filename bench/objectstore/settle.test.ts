/** The bench's wait for removed files to age out of ext4's inode allocator (settle.ts). */
import t from 'tap';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSettleSeconds, recordRemoval, removalWaitSeconds, removeData, settle } from './settle.js';

t.test('settle time: ext4\'s 60 s, or longer while dirty inode tables wait for write-back', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-settle-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'dirty_expire_centisecs');
  await writeFile(file, '1500\n');
  t.equal(defaultSettleSeconds(file), 61, 'write-back within 20 s: the 60 s of RECENTCY_MIN + 1');
  await writeFile(file, '9000\n');
  t.equal(defaultSettleSeconds(file), 96, 'write-back after 90 s + 5 s: until then the inode table block is dirty');
  await writeFile(file, 'garbage\n');
  t.equal(defaultSettleSeconds(file), 61, 'unreadable value: the kernel default of 30 s');
  t.equal(defaultSettleSeconds(join(dir, 'missing')), 61, 'no such file: the kernel default');
});

t.test('settle waits the given time and says why', async (t) => {
  const said: string[] = [];
  const stamp = join(tmpdir(), `ringstack-settle-none-${process.pid}`);
  await settle(0, (m) => said.push(m), stamp);
  t.same(said, [], 'no wait, no message');
  const t0 = Date.now();
  await settle(1, (m) => said.push(m), stamp);
  t.ok(Date.now() - t0 >= 950, 'waited a second');
  t.match(said[0], /waiting 1 s/);
});

t.test('a recorded removal holds the next settle until it is 361 s old', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-settle-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const stamp = join(dir, 'removed-at');
  t.equal(removalWaitSeconds(stamp), 0, 'nothing recorded: no extra wait');
  recordRemoval(stamp, 1_000_000);
  t.equal(removalWaitSeconds(stamp, 1_000_000), 361, 'just removed: ext4\'s 60 s + 300 s while dirty, + 1');
  t.equal(removalWaitSeconds(stamp, 1_000_000 + 300_500), 61, 'rounded up');
  t.equal(removalWaitSeconds(stamp, 1_000_000 + 361_000), 0, 'old enough');
  await writeFile(stamp, 'garbage\n');
  t.equal(removalWaitSeconds(stamp), 0, 'unreadable stamp: no extra wait');

  recordRemoval(stamp, Date.now() - 360_000);
  const said: string[] = [];
  const t0 = Date.now();
  await settle(0, (m) => said.push(m), stamp);
  t.ok(Date.now() - t0 >= 950, 'waited for the removal to age although --settle was 0');
  t.match(said[0], /waiting 1 s until files removed by an earlier run are 361 s old/);
});

t.test('removeData removes every folder and notes the time', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-settle-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const a = join(dir, 'a', 'objects');
  const b = join(dir, 'b');
  await mkdir(a, { recursive: true });
  await mkdir(b);
  await writeFile(join(a, 'x.data'), 'x');
  const stamp = join(dir, 'removed-at');
  await removeData([join(dir, 'a'), b, join(dir, 'never-made')], stamp);
  t.notOk(existsSync(join(dir, 'a')), 'a removed with its files');
  t.notOk(existsSync(b), 'b removed');
  t.ok(removalWaitSeconds(stamp) >= 360, 'the removal is recorded as just now');
});
