/**
 * Syncs by path that a storage node makes beside its data fsyncs: directories after a rename
 * (fsyncDirs), a file and its folders, and a whole filesystem (syncFs, for the small-write
 * log's checkpoints). With the addon (native/page-cache/src/fsync_dirs.c) each call is one
 * trip through the libuv pool, open and close included; fsyncDirs and syncFsPath fall back to
 * Node's fs without it, syncFs needs it.
 */
import { open } from 'node:fs/promises';
import { openSync, closeSync, fsync } from 'node:fs';
import { dirname } from 'node:path';
import { nativeAddon } from '../common/native-addon.js';

type Callback = (err: NodeJS.ErrnoException | null) => void;
const addon = nativeAddon<{ fsyncDirs(paths: string[], cb: Callback): void; syncFs(path: string, cb: Callback): void }>('fsyncDirs');
const syncFsAddon = addon && typeof addon.syncFs === 'function' ? addon : null;

/** True where syncFs works (the addon is built and has it). */
export const syncFsAvailable = syncFsAddon !== null;

/** Opens a directory, fsyncs it in the pool, closes it (fsyncDirs without the addon). */
async function fsyncDir(path: string): Promise<void> {
  const fd = openSync(path, 'r');
  try {
    await new Promise<void>((res, rej) => fsync(fd, (e) => (e ? rej(e) : res())));
  } finally {
    closeSync(fd);
  }
}

/** A file or directory opened, fsynced and closed, every call in the pool. */
async function fsyncPathInPool(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * fsyncs directories: with the addon, all of them in one pool trip; without it, one trip
 * each, opened on the event loop unless `inPool` (large writes, the auditor's quarantine).
 */
export function fsyncDirs(paths: string[], inPool = true): Promise<void> {
  if (addon) return new Promise((res, rej) => addon.fsyncDirs(paths, (e) => (e ? rej(e) : res())));
  return Promise.all(paths.map(inPool ? fsyncPathInPool : fsyncDir)).then(() => undefined);
}

/** fsync of a file and of its folders up to (not including) `top`. */
export async function fsyncPathAndParents(path: string, top: string): Promise<void> {
  await fsyncPathInPool(path);
  const dirs: string[] = [];
  for (let d = dirname(path); d.length > top.length; d = dirname(d)) dirs.push(d);
  await fsyncDirs(dirs);
}

/** syncfs(2) of the filesystem holding directory `path`, in the libuv pool. */
export function syncFs(path: string): Promise<void> {
  if (!syncFsAddon) return Promise.reject(new Error('syncfs needs the native addon (native/page-cache)'));
  return new Promise((res, rej) => syncFsAddon.syncFs(path, (e) => (e ? rej(e) : res())));
}
