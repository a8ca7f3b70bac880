/**
 * A small file put in place whole: unnamed and linked where the filesystem allows it (no temp
 * name ever appears), else through a temp file renamed into place; either way the bytes at the
 * name are the ones given, an existing file is never replaced by the unnamed way, and nothing
 * is left behind.
 */
import t, { type Test } from 'tap';
import { mkdtemp, mkdir, readFile, readdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { placeFile, placesUnnamed, useTempFiles } from './place-file.js';

async function folders(t: Test) {
  const root = await mkdtemp(join(tmpdir(), 'ringstack-place-file-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'objects', 'abc');
  await mkdir(dir, { recursive: true });
  return { root, dir, tmp: join(root, 'tmp') };
}

t.test('unnamed: the bytes appear at their name, no temp name ever exists', async (t) => {
  t.ok(placesUnnamed(), 'the addon and this filesystem (ext4/tmpfs) take O_TMPFILE');
  const { root, dir, tmp } = await folders(t);
  const data = randomBytes(4096 + 77);
  placeFile(dir, join(dir, '1.data'), data, join(tmp, 'x.tmp'));
  t.same(await readFile(join(dir, '1.data')), data);
  t.same(await readdir(dir), ['1.data']);
  t.same((await readdir(root)).sort(), ['objects'], 'the temp folder was never made');

  placeFile(dir, join(dir, 'empty.ts'), Buffer.alloc(0), join(tmp, 'y.tmp'));
  t.equal((await readFile(join(dir, 'empty.ts'))).length, 0);
});

t.test('unnamed: an existing name is refused and kept', async (t) => {
  const { dir, tmp } = await folders(t);
  await writeFile(join(dir, '1.data'), 'old');
  t.throws(() => placeFile(dir, join(dir, '1.data'), Buffer.from('new'), join(tmp, 'x.tmp')), { code: 'EEXIST', syscall: 'linkat' });
  t.equal(await readFile(join(dir, '1.data'), 'utf8'), 'old');
  t.same(await readdir(dir), ['1.data']);
});

t.test('unnamed: a missing folder is an error, not a reason to give up unnamed files', async (t) => {
  const { dir, tmp } = await folders(t);
  t.throws(() => placeFile(join(dir, 'nope'), join(dir, 'nope', '1.data'), Buffer.from('x'), join(tmp, 'x.tmp')), { code: 'ENOENT', syscall: 'open' });
  t.ok(placesUnnamed());
  t.throws(() => (placeFile as (...a: unknown[]) => void)(dir, join(dir, '2.data'), 'not a buffer', join(tmp, 'x.tmp')), TypeError);
});

t.test('temp files (no O_TMPFILE): the same bytes at the name, the temp file gone', async (t) => {
  useTempFiles();
  t.notOk(placesUnnamed());
  const { dir, tmp } = await folders(t);
  const data = randomBytes(5000);
  placeFile(dir, join(dir, '1.data'), data, join(tmp, 'x.tmp'));
  t.same(await readFile(join(dir, '1.data')), data);
  t.same(await readdir(tmp), [], 'the temp folder was made and left empty');
  // A rename into a folder that is gone fails and takes its temp file with it.
  t.throws(() => placeFile(join(dir, 'nope'), join(dir, 'nope', '2.data'), data, join(tmp, 'y.tmp')), { code: 'ENOENT' });
  t.same(await readdir(tmp), []);
});
