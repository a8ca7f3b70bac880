/**
 * Waits, before a system is measured, until the files removed earlier (a previous run's data)
 * no longer slow down file creation.
 *
 * ext4 without a journal (this host's root filesystem) prefers not to reuse an inode freed in
 * the last 60 seconds (RECENTCY_MIN), or 360 while its inode table block is dirty
 * (RECENTCY_MIN + RECENTCY_DIRTY; fs/ext4/ialloc.c, find_inode_bit and recently_deleted): every
 * file or directory it creates first walks, from the start of its block group, past each such
 * free inode, a buffer-cache lookup apiece. Write-back cleans the blocks of a removal within
 * dirty_expire_centisecs, but a store writing new objects allocates into that freed region and
 * dirties its blocks again, so each block's other freed inodes count as recent for 360 s and the
 * walk grows with every inode created (session 32: from 3 to 21 % of the host's samples over one
 * 20 s phase of 4 KiB PUTs, 61-120 s after the previous run's data was removed; with nothing
 * removed for 6 minutes, 0-2 %, and 388 PUTs/s against 266). It falls on the system that creates
 * the most files, ringstack (about ten times Swift's PUTs per second).
 *
 * So the bench removes data only once a run has measured every system, records when
 * (recordRemoval), and the next run waits until 361 s have passed since (settle). The shorter
 * default settle (defaultSettleSeconds) still lets the previous system's write-back finish.
 * Journaled ext4 and XFS have no such rule.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const DIRTY_EXPIRE = '/proc/sys/vm/dirty_expire_centisecs';
/** The kernel's default dirty_expire_centisecs. */
const DEFAULT_CENTISECS = 3000;
/** ext4's RECENTCY_MIN (60 s since Linux 5.x; it was 5). */
const RECENTCY_MIN_SECONDS = 60;
/** ext4's RECENTCY_DIRTY, added while the inode's table block is dirty. */
const RECENTCY_DIRTY_SECONDS = 300;
/** How old a removal must be before nothing it freed slows file creation, plus one. */
const REMOVAL_AGE_SECONDS = RECENTCY_MIN_SECONDS + RECENTCY_DIRTY_SECONDS + 1;
/** Where the bench notes when it last removed a store's data (wall-clock ms, as ext4's dtime). */
export const REMOVAL_STAMP = join(tmpdir(), 'ringstack-bench-removed-at');

/** Seconds each system settles before it is measured: ext4's 60 s, or the write-back time if longer, plus one. */
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

/** Notes that a store's data was removed just now. */
export function recordRemoval(stamp = REMOVAL_STAMP, now = Date.now()): void {
  writeFileSync(stamp, `${now}\n`);
}

/** Removes the folders of a run's stores and notes when (recordRemoval). */
export async function removeData(dirs: string[], stamp = REMOVAL_STAMP): Promise<void> {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  recordRemoval(stamp);
}

/**
 * Seconds until the last recorded removal is REMOVAL_AGE_SECONDS old (0 when none is recorded or
 * the stamp is unreadable).
 */
export function removalWaitSeconds(stamp = REMOVAL_STAMP, now = Date.now()): number {
  let at: number;
  try {
    at = Number(readFileSync(stamp, 'utf8').trim());
  } catch {
    return 0;
  }
  if (!Number.isFinite(at) || at <= 0) return 0;
  const left = (at + REMOVAL_AGE_SECONDS * 1000 - now) / 1000;
  return Math.max(0, Math.ceil(left));
}

/** Waits `seconds`, or longer while a recorded removal is recent (removalWaitSeconds). */
export async function settle(seconds: number, log: (m: string) => void = (m) => process.stderr.write(`${m}\n`),
  stamp = REMOVAL_STAMP): Promise<void> {
  const wait = Math.max(seconds, removalWaitSeconds(stamp));
  if (wait <= 0) return;
  log(wait > seconds
    ? `bench: waiting ${wait} s until files removed by an earlier run are ${REMOVAL_AGE_SECONDS} s old (ext4's inode allocator skips them until then)`
    : `bench: waiting ${wait} s for recently removed files to age out of ext4's inode allocator`);
  await sleep(wait * 1000);
}
