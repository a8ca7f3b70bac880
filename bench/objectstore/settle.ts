/**
 * Waits, before a system is measured, until the files removed just before (the previous
 * system's data, or the previous run's) no longer slow down file creation.
 *
 * ext4 without a journal (this host's root filesystem) prefers not to reuse an inode freed in
 * the last 60 seconds (RECENTCY_MIN), or 300 while its inode table block is dirty, that is until
 * write-back, dirty_expire_centisecs / 100 + 5 seconds or so (fs/ext4/ialloc.c, find_inode_bit
 * and recently_deleted): every file or directory it creates first walks past each such free
 * inode of its block group, a buffer-cache lookup apiece. Right after a store's data was removed
 * (tens of thousands of files), that walk took 8.6 % of the host's CPU during 4 KiB PUTs (perf,
 * session 15), and it fell on whichever system ran next: in a run, Swift after ringstack's
 * removal; in back-to-back runs, ringstack after Swift's. Both systems now start on a settled
 * filesystem. Until session 24 the wait was only the write-back time (36 s here): 40 s after
 * removing 40,000 objects, `recently_deleted` still took 37 % of the host's samples while a
 * storage node created new ones (README, "Session 24").
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const DIRTY_EXPIRE = '/proc/sys/vm/dirty_expire_centisecs';
/** The kernel's default dirty_expire_centisecs. */
const DEFAULT_CENTISECS = 3000;
/** ext4's RECENTCY_MIN (60 s since Linux 5.x; it was 5). */
const RECENTCY_MIN_SECONDS = 60;

/** Seconds a freed inode counts as recently deleted, plus one. */
export function defaultSettleSeconds(dirtyExpirePath = DIRTY_EXPIRE): number {
  let centisecs = DEFAULT_CENTISECS;
  try {
    const v = Number(readFileSync(dirtyExpirePath, 'utf8').trim());
    if (Number.isFinite(v) && v > 0) centisecs = v;
  } catch {
    // not Linux: keep the kernel's default
  }
  return Math.max(RECENTCY_MIN_SECONDS, Math.ceil(centisecs / 100) + 5) + 1;
}

export async function settle(seconds: number, log: (m: string) => void = (m) => process.stderr.write(`${m}\n`)): Promise<void> {
  if (seconds <= 0) return;
  log(`bench: waiting ${seconds} s for recently removed files to age out of ext4's inode allocator`);
  await sleep(seconds * 1000);
}
