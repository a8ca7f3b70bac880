/**
 * Handing a partition back (Swift's handoff revert): this device holds a partition it is not
 * a primary for (it took writes while a primary was down, or a ring rebalance moved the
 * partition away). Everything is pushed to every primary; then REPLICATE is asked again and
 * only when every primary holds every object of the partition (the same version or newer) is
 * the local copy removed. A primary that cannot be reached means: keep the copy and try again
 * next pass.
 *
 * The removal takes only what was checked: a suffix folder goes only if its hash still equals
 * the one every primary was checked against, and then only its live files and folders; a write
 * that lands meanwhile leaves a file (or a new suffix) behind, so its folders are kept for the
 * next pass. (A write whose hash folder is removed between its mkdir and its rename fails and
 * is not acknowledged by this node.)
 */
import { readdir, rm, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeClient } from '../node/node-client.js';
import type { PeerDevice } from './replicate-protocol.js';
import { localHashes, partDirOf, planPush, syncPartitionTo, type PartitionRef, type SyncCounters } from './sync-partition.js';
import { hashSuffix, liveFileNames, type HashOptions } from './suffix-hashes.js';

const OBJECT_FILE_RE = /^\d{10}\.\d{5}\.(data|ts|meta)$/;

/** Returns true when the partition was handed back and removed. */
export async function revertHandoff(client: NodeClient, p: PartitionRef, primaries: PeerDevice[], opts: HashOptions,
  counters: SyncCounters, log: (m: string) => void, onPeerError: (peer: PeerDevice, e: Error) => void): Promise<boolean> {
  if (primaries.length === 0) return false;
  let allSynced = true;
  for (const peer of primaries) {
    try {
      if (!(await syncPartitionTo(client, p, peer, opts, counters, log))) allSynced = false;
    } catch (e) {
      counters.errors++;
      onPeerError(peer, e as Error);
      allSynced = false;
    }
  }
  if (!allSynced) return false;
  // Every primary is checked against one snapshot of the local suffix hashes.
  const checked = await localHashes(p, opts, counters);
  for (const peer of primaries) {
    const missing = await planPush(client, p, peer, opts, counters, checked).catch(() => undefined);
    if (!missing || missing.length > 0) return false;
  }
  return removeChecked(p, checked, opts);
}

/** Removes the suffixes whose hash is still `checked`; true when the partition folder is gone. */
export async function removeChecked(p: PartitionRef, checked: Record<string, string>, opts: HashOptions): Promise<boolean> {
  const dir = partDirOf(p);
  for (const [suffix, hash] of Object.entries(checked)) {
    const sdir = join(dir, suffix);
    const now = await hashSuffix(sdir, opts);
    if (now.hash !== hash) continue; // changed since the check: next pass
    for (const [h, live] of Object.entries(now.listing)) {
      const hdir = join(sdir, h);
      await Promise.all(liveFileNames(live).map((f) => unlink(join(hdir, f)).catch(() => undefined)));
      const left = await readdir(hdir).catch(() => [] as string[]);
      // Only leftovers that are not object files (a crashed tool's junk) are removed with the folder.
      if (!left.some((f) => OBJECT_FILE_RE.test(f))) await rm(hdir, { recursive: true, force: true });
    }
  }
  // Empty hash and suffix folders, then the partition folder: a folder that is not empty stays.
  for (const s of await readdir(dir).catch(() => [] as string[])) {
    for (const h of await readdir(join(dir, s)).catch(() => [] as string[])) await rmdir(join(dir, s, h)).catch(() => undefined);
    await rmdir(join(dir, s)).catch(() => undefined);
  }
  return rmdir(dir).then(() => true, () => false);
}
