/** Removing a handed-back partition takes only what was checked: a write that lands meanwhile stays. */
import t from 'tap';
import { access, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { partitionHashes } from './suffix-hashes.js';
import { removeChecked } from './revert-handoff.js';

const H1 = '1'.repeat(29) + 'abc';
const H2 = '2'.repeat(29) + 'abc';
const H3 = '3'.repeat(29) + 'def';
const TS = (Date.now() / 1000).toFixed(5);
const opts = { reclaimAgeSeconds: 3600 };

t.test('removeChecked', async (t) => {
  const devicesDir = await mkdtemp(join(tmpdir(), 'ringstack-revert-'));
  t.teardown(() => rm(devicesDir, { recursive: true, force: true }));
  const p = { devicesDir, device: 'd1', part: 5 };
  const part = join(devicesDir, 'd1', 'objects', '5');
  await mkdir(join(part, 'abc', H1), { recursive: true });
  await writeFile(join(part, 'abc', H1, `${TS}.data`), 'x');
  const checked = (await partitionHashes(part, opts)).hashes;

  // A write lands after the check, in the same suffix and in a new one.
  await mkdir(join(part, 'abc', H2), { recursive: true });
  await writeFile(join(part, 'abc', H2, `${TS}.data`), 'y');
  await mkdir(join(part, 'def', H3), { recursive: true });
  await writeFile(join(part, 'def', H3, `${TS}.ts`), '');
  t.equal(await removeChecked(p, checked, opts), false, 'the partition stays');
  t.same((await readdir(join(part, 'abc'))).sort(), [H1, H2], 'a changed suffix is left whole');
  t.same(await readdir(join(part, 'def', H3)), [`${TS}.ts`], 'a suffix that was not checked stays');

  // Checked again (now including everything), it all goes, empty leftovers too.
  await mkdir(join(part, 'fff', 'f'.repeat(32)), { recursive: true });
  const again = (await partitionHashes(part, opts)).hashes;
  t.equal(await removeChecked(p, again, opts), true, 'removed');
  t.equal(await access(part).then(() => true, () => false), false, 'the partition folder is gone');
});
