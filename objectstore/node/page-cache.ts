/**
 * Keeps large objects out of the page cache, as Swift's object server does (it drops an
 * object's pages once the write is durable and after serving a read). A stream of large PUTs
 * otherwise grows the cache by every replica's bytes, and fresh page-cache pages are the
 * costliest part of a large write: measured on this project's 2-core VMs, writing 16 MiB
 * into new pages took 35-40 ms of kernel time against ~5 ms into recycled ones.
 *
 * Node has no posix_fadvise, so this uses the project's small Node-API addon
 * (native/page-cache: fsync + POSIX_FADV_DONTNEED in one pool trip). Without it (no C
 * toolchain when `npm ci` ran) everything still works and stays correct; large objects just
 * stay cached.
 */
import { nativeAddon } from '../common/native-addon.js';
import { fsync } from 'node:fs';

/** Objects up to this size stay cached (hot small objects are read from memory). */
export const KEEP_CACHE_BYTES = 1024 * 1024;

interface PageCacheAddon {
  fsyncDropCache(fd: number, cb: (err: NodeJS.ErrnoException | null) => void): void;
  dropCache(fd: number, cb: (err: NodeJS.ErrnoException | null) => void): void;
}

const addon = nativeAddon<PageCacheAddon>('fsyncDropCache');

/** True when the addon is built (the tests check that `npm ci` built it). */
export const pageCacheControl = addon !== null;

/** fsync(fd); then, for a file over KEEP_CACHE_BYTES, its pages leave the cache (same pool trip). */
export function fsyncFile(fd: number, bytes: number): Promise<void> {
  return new Promise((res, rej) => {
    const done = (e: NodeJS.ErrnoException | null) => (e ? rej(e) : res());
    if (addon && bytes > KEEP_CACHE_BYTES) addon.fsyncDropCache(fd, done);
    else fsync(fd, done);
  });
}

/** After a read of `bytes`: a large file's pages leave the cache. Never fails the read. */
export function dropAfterRead(fd: number, bytes: number): Promise<void> {
  if (!addon || bytes <= KEEP_CACHE_BYTES) return Promise.resolve();
  return new Promise((res) => addon.dropCache(fd, () => res()));
}
