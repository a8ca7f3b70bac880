/** The bench's wait for removed files to age out of ext4's inode allocator (settle.ts). */
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSettleSeconds, settle } from './settle.js';

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
  await settle(0, (m) => said.push(m));
  t.same(said, [], 'no wait, no message');
  const t0 = Date.now();
  await settle(1, (m) => said.push(m));
  t.ok(Date.now() - t0 >= 950, 'waited a second');
  t.match(said[0], /waiting 1 s/);
});
