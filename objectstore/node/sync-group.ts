/**
 * Group commit of small writes on one device (issue 4: "group or batch your syncs").
 *
 * A small version costs the disk more in syncs than in bytes: its temp file's fsync, then
 * after the rename the fsync of its hash dir and of every directory just created for it (two to
 * four flushes of the device, each its own trip through the libuv pool and its own wake-ups).
 * Under load many small writes on one device wait for a sync at the same moment. A SyncGroup
 * lets them share one: syncfs(2) on the device's filesystem makes everything written to it so
 * far durable, files and directories alike, followed by an fsync of the device folder for one
 * last flush of the disk's cache (native/page-cache/src/page_cache.c says why). Measured on
 * this project's 2-core VM (16 writers of durable 4 KiB files, file per object): 0.71-1.16 ms
 * of host CPU per object with fsyncs, 0.33-0.47 ms with a syncfs per batch.
 *
 * The order of a write does not change: its data is durable (one group sync) before it is
 * renamed into place, and the rename is durable (a second group sync) before the write is
 * acknowledged. A caller joins with `sync()`; the promise settles once a sync that started
 * after the call has finished: while one is running, callers wait for the next, which starts as
 * soon as the running one ends and serves all of them. A failed sync fails every write that
 * waited for it.
 *
 * Because syncfs writes back everything unwritten on the filesystem, not only these writes,
 * small writes share syncs only while the host has little unwritten data (`littleUnwritten`:
 * the kernel's Dirty + Writeback under MAX_UNWRITTEN_BYTES); otherwise, as while large bodies or
 * a virtual machine's disk are being written, each fsyncs its own file and directories again
 * (diskfile.ts decides per write): a small write must not wait for someone else's megabytes.
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { nativeAddon } from '../common/native-addon.js';

interface SyncFsAddon {
  syncFs(fd: number, cb: (err: NodeJS.ErrnoException | null) => void): void;
}

const addon = nativeAddon<SyncFsAddon>('syncFs');

/** True when syncfs is there (the addon is built): devices then group their small writes' syncs. */
export const groupSyncAvailable = addon !== null;

/** Above this much unwritten data on the host, small writes fsync their own files. */
export const MAX_UNWRITTEN_BYTES = 16 * 1024 * 1024;
/** How long one reading of /proc/meminfo is trusted. */
const MEMINFO_CACHE_MS = 50;

let unwrittenAt = -Infinity;
let unwrittenLittle = false;

/**
 * True while the host's unwritten page-cache data (Dirty + Writeback in /proc/meminfo) is
 * below MAX_UNWRITTEN_BYTES, so a syncfs has little else to write; false where /proc/meminfo
 * cannot be read. Read at most every MEMINFO_CACHE_MS.
 */
export function littleUnwritten(now = performance.now()): boolean {
  if (now - unwrittenAt < MEMINFO_CACHE_MS) return unwrittenLittle;
  unwrittenAt = now;
  unwrittenLittle = unwrittenBytes(readMeminfo()) < MAX_UNWRITTEN_BYTES;
  return unwrittenLittle;
}

function readMeminfo(): string {
  try {
    return readFileSync('/proc/meminfo', 'latin1');
  } catch {
    return '';
  }
}

/** Dirty + Writeback of a /proc/meminfo text, in bytes; Infinity when either is missing. */
export function unwrittenBytes(meminfo: string): number {
  const kb = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(meminfo);
    return m ? Number(m[1]) * 1024 : Infinity;
  };
  return kb('Dirty') + kb('Writeback');
}

/** syncfs(2) of the filesystem holding `path`, then fsync(2) of `path`, in one libuv pool trip. */
export function syncFilesystem(path: string): Promise<void> {
  if (!addon) return Promise.reject(new Error('syncfs needs the native addon (native/page-cache)'));
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    return Promise.reject(e);
  }
  return new Promise<void>((res, rej) => {
    addon.syncFs(fd, (err) => {
      closeSync(fd);
      if (err) rej(err);
      else res();
    });
  });
}

/** The shared syncs of one device. */
export class SyncGroup {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  /** Syncs started. */
  syncs = 0;
  /** Callers served. */
  joined = 0;

  constructor(private readonly syncOnce: () => Promise<void>) {}

  /** Settles once a sync that started after this call has finished (rejects if it failed). */
  sync(): Promise<void> {
    this.joined++;
    if (!this.running) return this.start();
    // The running sync may have started before this caller's writes: wait for the next one.
    this.next ??= this.running.then(() => this.start(), () => this.start());
    return this.next;
  }

  private start(): Promise<void> {
    this.next = undefined;
    this.syncs++;
    const p = this.syncOnce().finally(() => {
      if (this.running === p) this.running = undefined;
    });
    this.running = p;
    return p;
  }
}
