/** fsyncDirs and syncFs (path-sync.ts; native/page-cache/src/fsync_dirs.c): a small write's directory fsyncs, and a filesystem's sync, in one pool trip each. */
import t from 'tap';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fsyncDirs, syncFs } from './path-sync.js';
import { nativeAddon } from '../common/native-addon.js';

const dir = mkdtempSync(join(tmpdir(), 'fsync-dirs-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'a', 'b'), { recursive: true });
writeFileSync(join(dir, 'file'), 'x');

t.test('the addon has fsyncDirs', async (t) => {
  t.ok(nativeAddon('fsyncDirs'), 'built by npm ci');
});

t.test('existing directories are synced', async (t) => {
  await t.resolves(fsyncDirs([join(dir, 'a', 'b'), join(dir, 'a'), dir]));
  await t.resolves(fsyncDirs([]), 'nothing to do');
});

t.test('a failure names the call, the errno and the directory', async (t) => {
  const missing = join(dir, 'a', 'gone');
  await t.rejects(fsyncDirs([join(dir, 'a'), missing, dir]), { code: 'ENOENT', syscall: 'open', path: missing });
  await t.rejects(fsyncDirs([join(dir, 'file')]), { code: 'ENOTDIR', path: join(dir, 'file') }, 'a file is not a directory');
});

t.test('bad arguments are refused at once', async (t) => {
  const addon = nativeAddon<{ fsyncDirs(p: unknown, cb: unknown): void }>('fsyncDirs')!;
  t.throws(() => addon.fsyncDirs('not-an-array', () => undefined), /expected \(paths: string\[\], callback: function\)/);
  t.throws(() => addon.fsyncDirs([dir, 7], () => undefined), /every path must be a string/);
});

t.test('syncFs syncs the filesystem of a directory; a failure names call and path', async (t) => {
  await t.resolves(syncFs(dir));
  const missing = join(dir, 'gone');
  await t.rejects(syncFs(missing), { code: 'ENOENT', syscall: 'open', path: missing });
  const addon = nativeAddon<{ syncFs(p: unknown, cb: unknown): void }>('syncFs')!;
  t.throws(() => addon.syncFs(7, () => undefined), /syncFs: expected \(path: string, callback: function\)/);
  t.throws(() => (addon.syncFs as (p: unknown) => void)(dir), /syncFs: expected \(path: string, callback: function\)/);
});
