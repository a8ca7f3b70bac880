import t from 'tap';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropAfterRead, fsyncFile, KEEP_CACHE_BYTES, pageCacheControl } from './page-cache.js';

/** Resident pages of a file, read by util-linux's fincore (an observer independent of the addon). */
function residentPages(path: string): number {
  return Number(execFileSync('fincore', ['--noheadings', '--raw', '--output', 'PAGES', path]).toString().trim());
}

const dir = mkdtempSync(join(tmpdir(), 'page-cache-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function writeFile(name: string, bytes: number): { path: string; fd: number } {
  const path = join(dir, name);
  const fd = openSync(path, 'w+');
  writeSync(fd, Buffer.alloc(bytes, 7));
  return { path, fd };
}

t.test('the addon was built by npm ci', async (t) => {
  t.equal(pageCacheControl, true, 'native/page-cache compiled (node-gyp during npm ci)');
});

t.test('a large file is durable and out of the cache after fsyncFile; a small one stays cached', async (t) => {
  const big = writeFile('big', 4 * KEEP_CACHE_BYTES);
  const small = writeFile('small', 64 * 1024);
  t.ok(residentPages(big.path) > 0, 'written pages start in the cache');
  await fsyncFile(big.fd, 4 * KEEP_CACHE_BYTES);
  await fsyncFile(small.fd, 64 * 1024);
  t.equal(residentPages(big.path), 0, 'large file dropped');
  t.equal(residentPages(small.path), 16, 'small file kept');
  closeSync(big.fd);
  closeSync(small.fd);
  t.equal(readFileSync(big.path).length, 4 * KEEP_CACHE_BYTES, 'bytes intact');
});

t.test('dropAfterRead drops a large file read back into the cache', async (t) => {
  const f = writeFile('read', 2 * KEEP_CACHE_BYTES);
  await fsyncFile(f.fd, 2 * KEEP_CACHE_BYTES);
  readFileSync(f.path);
  t.ok(residentPages(f.path) > 0, 'read brought pages back');
  await dropAfterRead(f.fd, 2 * KEEP_CACHE_BYTES);
  t.equal(residentPages(f.path), 0);
  closeSync(f.fd);
});

t.test('errors come back as fs errors; a failed drop never fails a read', async (t) => {
  const f = writeFile('closed', 2 * KEEP_CACHE_BYTES);
  closeSync(f.fd);
  await t.rejects(fsyncFile(f.fd, 2 * KEEP_CACHE_BYTES), { code: 'EBADF', syscall: 'fsync' });
  await t.resolves(dropAfterRead(f.fd, 2 * KEEP_CACHE_BYTES));
});
