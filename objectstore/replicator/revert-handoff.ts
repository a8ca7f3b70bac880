/**
 * Handing a partition back (Swift's handoff revert): this device holds a partition it is not
 * a primary for (it took writes while a primary was down, or a ring rebalance moved the
 * partition away). Everything is pushed to every primary; then REPLICATE is asked again and
 * only when every primary holds every object of the partition (the same version or newer) is
 * the local partition folder removed. A primary that cannot be reached means: keep the copy
 * and try again next pass.
 *
 * Known race (as in Swift): a write that lands in this handoff partition between the check and
 * the removal is lost on this node; the proxy acknowledged it only with a majority elsewhere.
 */
import { rm } from 'node:fs/promises';
import type { NodeClient } from '../node/node-client.js';
import type { PeerDevice } from './replicate-protocol.js';
import { partDirOf, planPush, syncPartitionTo, type PartitionRef, type SyncCounters } from './sync-partition.js';
import type { HashOptions } from './suffix-hashes.js';

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
  for (const peer of primaries) {
    const missing = await planPush(client, p, peer, opts, counters).catch(() => undefined);
    if (!missing || missing.length > 0) return false;
  }
  await rm(partDirOf(p), { recursive: true, force: true });
  return true;
}
