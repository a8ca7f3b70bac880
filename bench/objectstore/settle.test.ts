/** The bench's wait for removed files to age out of ext4's inode allocator (settle.ts). */
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSettleSeconds, settle } from './settle.js';

t.test('settle time follows dirty_expire_centisecs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-settle-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'dirty_expire_centisecs');
  await writeFile(file, '1500\n');
  t.equal(defaultSettleSeconds(file), 21, '15 s + 5 s for a dirty inode table block + 1');
  await writeFile(file, 'garbage\n');
  t.equal(defaultSettleSeconds(file), 36, 'unreadable value: the kernel default of 30 s');
  t.equal(defaultSettleSeconds(join(dir, 'missing')), 36, 'no such file: the kernel default');
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
