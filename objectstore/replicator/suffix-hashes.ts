/**
 * What a node holds in one partition, summarised for comparison with its peers (Swift's
 * suffix hashes): for every suffix folder (`objects/<part>/<hash[-3:]>`) an MD5 over the
 * sorted hash folders it holds and, for each, the sorted names of its LIVE files:
 *
 *   - the newest `.data` or `.ts` (a tombstone wins a tie), and
 *   - the newest `.meta` when it is newer than that `.data`.
 *
 * Two replicas with the same live files have the same suffix hash, whatever leftovers a crash
 * left behind. While hashing, obsolete files (older versions, a `.meta` older than its `.data`
 * or behind a tombstone) are removed, and tombstones older than the reclaim age are removed
 * with their folder (Swift's reclaim_age: after that long every replica has the tombstone, so
 * it can go).
 *
 * Nothing is cached: hashes are recomputed from the folders on each call (one readdir per
 * suffix and per hash folder). So the PUT path needs no extra disk trip to invalidate a cache,
 * and the auditor's quarantine (a rename of the hash folder) is seen by the next call without
 * any invalidation file.
 *
 * Those readdirs are synchronous, one suffix folder at a time with a turn of the event loop
 * between suffixes. Each folder holds a handful of names, read in microseconds, while a trip
 * through the libuv pool waited 3-5 ms on a busy node: a REPLICATE of a partition with a few
 * objects took ~29 ms, most of a replication pass after a node came back.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { rmdir, unlink } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { join } from 'node:path';

/** Tombstones older than this many seconds are removed when hashing (a week, as Swift). */
export const DEFAULT_RECLAIM_AGE_SECONDS = 604_800;
const SUFFIX_RE = /^[0-9a-f]{3}$/;
const HASH_RE = /^[0-9a-f]{32}$/;
const FILE_RE = /^(\d{10}\.\d{5})\.(data|ts|meta)$/;

/** The live files of one hash folder, by timestamp. */
export interface LiveState {
  /** Timestamp of the newest `.data` (absent when a tombstone is newer or there is none). */
  data?: string;
  /** Timestamp of the newest `.ts` when it is the newest version. */
  ts?: string;
  /** Timestamp of the newest `.meta` newer than `data` (only with `data`). */
  meta?: string;
}

/** suffix -> hash -> live state: one suffix's objects, as REPLICATE lists them. */
export type SuffixListing = Record<string, LiveState>;

export interface HashOptions {
  /** Seconds after which a tombstone is removed. */
  reclaimAgeSeconds: number;
  /** Now, ms (tests). */
  now?: number;
}

export interface SuffixResult {
  /** MD5 of the live files, or undefined when the suffix holds nothing live. */
  hash?: string;
  listing: SuffixListing;
  reclaimed: number;
}

/** Reads a folder's entries; a missing folder is empty. */
function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw e;
  }
}

/** The live state of a hash folder's file names, and the names that are obsolete. */
export function liveState(files: string[]): { live: LiveState; obsolete: string[] } {
  let newest: { ts: string; ext: 'data' | 'ts' } | undefined;
  let meta: string | undefined;
  for (const f of files) {
    const m = FILE_RE.exec(f);
    if (!m) continue;
    const [, ts, ext] = m as unknown as [string, string, 'data' | 'ts' | 'meta'];
    if (ext === 'meta') {
      if (!meta || ts > meta) meta = ts;
    } else if (!newest || ts > newest.ts || (ts === newest.ts && ext === 'ts')) {
      newest = { ts, ext };
    }
  }
  const live: LiveState = {};
  if (newest?.ext === 'data') {
    live.data = newest.ts;
    if (meta && meta > newest.ts) live.meta = meta;
  } else if (newest?.ext === 'ts') {
    live.ts = newest.ts;
  }
  const keep = new Set(liveFileNames(live));
  const obsolete = files.filter((f) => FILE_RE.test(f) && !keep.has(f));
  return { live, obsolete };
}

/** The file names of a live state, sorted. */
export function liveFileNames(s: LiveState): string[] {
  const out: string[] = [];
  if (s.data) out.push(`${s.data}.data`);
  if (s.meta) out.push(`${s.meta}.meta`);
  if (s.ts) out.push(`${s.ts}.ts`);
  return out.sort();
}

/** The newest timestamp of a live state ('' when empty). */
export function newestOf(s: LiveState | undefined): string {
  if (!s) return '';
  return [s.data, s.ts, s.meta].reduce<string>((a, b) => (b && b > a ? b : a), '');
}

function isExpiredTombstone(ts: string, opts: HashOptions): boolean {
  const now = opts.now ?? Date.now();
  return Number(ts) < now / 1000 - opts.reclaimAgeSeconds;
}

/** Hashes one suffix folder (cleaning obsolete files and reclaiming old tombstones on the way). */
export async function hashSuffix(suffixDir: string, opts: HashOptions): Promise<SuffixResult> {
  const hashes = entries(suffixDir).filter((h) => HASH_RE.test(h)).sort();
  const listing: SuffixListing = {};
  const md5 = createHash('md5');
  let reclaimed = 0;
  let any = false;
  for (const h of hashes) {
    const dir = join(suffixDir, h);
    const files = entries(dir);
    const { live, obsolete } = liveState(files);
    await Promise.all(obsolete.map((f) => unlink(join(dir, f)).catch(() => undefined)));
    if (live.ts && isExpiredTombstone(live.ts, opts)) {
      await unlink(join(dir, `${live.ts}.ts`)).catch(() => undefined);
      await rmdir(dir).catch(() => undefined);
      reclaimed++;
      continue;
    }
    const names = liveFileNames(live);
    if (names.length === 0) continue;
    any = true;
    listing[h] = live;
    md5.update(`${h}\n${names.join('\n')}\n`);
  }
  return { hash: any ? md5.digest('hex') : undefined, listing, reclaimed };
}

/** The suffix folders of a partition folder. */
export function suffixesOf(partDir: string): string[] {
  return entries(partDir).filter((s) => SUFFIX_RE.test(s)).sort();
}

/** suffix -> hash of every suffix with live files in a partition folder; counts reclaimed tombstones. */
export async function partitionHashes(partDir: string, opts: HashOptions): Promise<{ hashes: Record<string, string>; reclaimed: number }> {
  const hashes: Record<string, string> = {};
  let reclaimed = 0;
  for (const s of suffixesOf(partDir)) {
    await nextTurn(); // requests waiting on this node go between suffix folders
    const r = await hashSuffix(join(partDir, s), opts);
    reclaimed += r.reclaimed;
    if (r.hash) hashes[s] = r.hash;
  }
  return { hashes, reclaimed };
}

/** The listings (and hashes) of the given suffixes (suffixes not present are empty, without a hash). */
export async function listSuffixes(partDir: string, suffixes: string[], opts: HashOptions): Promise<{
  listings: Record<string, SuffixListing>; hashes: Record<string, string>; reclaimed: number;
}> {
  const listings: Record<string, SuffixListing> = {};
  const hashes: Record<string, string> = {};
  let reclaimed = 0;
  for (const s of suffixes) {
    if (!SUFFIX_RE.test(s)) continue;
    await nextTurn();
    const r = await hashSuffix(join(partDir, s), opts);
    reclaimed += r.reclaimed;
    listings[s] = r.listing;
    if (r.hash) hashes[s] = r.hash;
  }
  return { listings, hashes, reclaimed };
}

/**
 * What of `local` the peer (`remote`) lacks, newest timestamp winning: the data or tombstone
 * when the peer's is older or absent, then the metadata update when the peer's is older.
 * Empty when the peer has the same or something newer.
 */
export function toPush(local: LiveState, remote: LiveState | undefined): Array<'data' | 'ts' | 'meta'> {
  const lv = local.data ?? local.ts;
  if (!lv) return [];
  const rv = remote?.data ?? remote?.ts ?? '';
  if (rv > lv) return [];
  if (rv < lv) {
    const out: Array<'data' | 'ts' | 'meta'> = [local.data ? 'data' : 'ts'];
    if (local.meta) out.push('meta');
    return out;
  }
  // Same version: a tombstone beats data of the same timestamp.
  if (local.ts && remote?.data) return ['ts'];
  if (local.meta && (!remote?.meta || remote.meta < local.meta) && remote?.data) return ['meta'];
  return [];
}
