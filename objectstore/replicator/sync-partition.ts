/**
 * Bringing one peer up to date with one local partition: compare suffix hashes (REPLICATE),
 * list the differing suffixes on both sides, and push every object the peer lacks or holds in
 * an older version (push.ts). The same comparison, run again after pushing, tells whether the
 * peer now holds everything this partition holds (used before a handoff partition is removed).
 */
import { join } from 'node:path';
import type { NodeClient } from '../node/node-client.js';
import { quarantineHashDir } from '../auditor/quarantine.js';
import { askReplicate, PeerError, type PeerDevice } from './replicate-protocol.js';
import { LocalFileCorrupt, pushObject } from './push.js';
import { listSuffixes, partitionHashes, toPush, type HashOptions, type LiveState, type SuffixListing } from './suffix-hashes.js';

/** Suffixes listed per REPLICATE request (keeps the URL short). */
const LIST_BATCH = 200;

/** One local partition on one device. */
export interface PartitionRef {
  devicesDir: string;
  device: string;
  part: number;
}

/** Counters a sync adds to. */
export interface SyncCounters {
  suffixesPushed: number;
  objectsPushed: number;
  tombstonesReclaimed: number;
  errors: number;
}

interface PushItem {
  suffix: string;
  hash: string;
  live: LiveState;
  what: Array<'data' | 'ts' | 'meta'>;
}

export function partDirOf(p: PartitionRef): string {
  return join(p.devicesDir, p.device, 'objects', String(p.part));
}

/** Local suffix hashes of a partition (counting reclaimed tombstones). */
export async function localHashes(p: PartitionRef, opts: HashOptions, counters: SyncCounters): Promise<Record<string, string>> {
  const local = await partitionHashes(partDirOf(p), opts);
  counters.tombstonesReclaimed += local.reclaimed;
  return local.hashes;
}

/**
 * What the peer lacks of this partition (REPLICATE twice: hashes, then listings of differing
 * suffixes). `hashes`: the local suffix hashes when just computed (else they are computed now).
 */
export async function planPush(client: NodeClient, p: PartitionRef, peer: PeerDevice, opts: HashOptions,
  counters: SyncCounters, hashes?: Record<string, string>): Promise<PushItem[]> {
  const dir = partDirOf(p);
  const local = { hashes: hashes ?? await localHashes(p, opts, counters) };
  const remote = await askReplicate(client, peer, p.part);
  const differing = Object.keys(local.hashes).filter((s) => remote.hashes[s] !== local.hashes[s]);
  if (differing.length === 0) return [];
  const remoteListings: Record<string, SuffixListing> = {};
  for (let i = 0; i < differing.length; i += LIST_BATCH) {
    const a = await askReplicate(client, peer, p.part, differing.slice(i, i + LIST_BATCH));
    Object.assign(remoteListings, a.listings);
  }
  const localL = await listSuffixes(dir, differing, opts);
  counters.tombstonesReclaimed += localL.reclaimed;
  const items: PushItem[] = [];
  for (const suffix of differing) {
    for (const [hash, live] of Object.entries(localL.listings[suffix] ?? {})) {
      const what = toPush(live, remoteListings[suffix]?.[hash]);
      if (what.length) items.push({ suffix, hash, live, what });
    }
  }
  return items;
}

/**
 * Pushes what the peer lacks. Returns true when every push succeeded (the peer then holds all
 * of this partition, or something newer). A peer that cannot be reached throws PeerError.
 */
export async function syncPartitionTo(client: NodeClient, p: PartitionRef, peer: PeerDevice, opts: HashOptions,
  counters: SyncCounters, log: (m: string) => void, hashes?: Record<string, string>): Promise<boolean> {
  const items = await planPush(client, p, peer, opts, counters, hashes);
  const dir = partDirOf(p);
  let complete = true;
  const pushedSuffixes = new Set<string>();
  for (const it of items) {
    const hashDir = join(dir, it.suffix, it.hash);
    try {
      const n = await pushObject(client, peer, p.part, hashDir, it.live, it.what);
      counters.objectsPushed += n;
      if (n) pushedSuffixes.add(it.suffix);
    } catch (e) {
      complete = false;
      counters.errors++;
      if (e instanceof LocalFileCorrupt) {
        log(`replicator: ${hashDir}: ${e.message}; quarantined`);
        await quarantineHashDir(join(p.devicesDir, p.device), hashDir).catch(() => undefined);
      } else if (e instanceof PeerError && e.deviceUnavailable) {
        throw e; // the peer went away or is full: stop talking to it this pass
      } else if (e instanceof PeerError) {
        log(`replicator: ${e.message}`);
      } else {
        throw e;
      }
    }
  }
  counters.suffixesPushed += pushedSuffixes.size;
  return complete;
}
