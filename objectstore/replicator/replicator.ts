/**
 * The replicator of a storage node (Swift's object replicator): a pass over every partition
 * folder of every local device, then a pause of `intervalMs`, then the next pass.
 *
 * - A partition this device is a primary for (object ring, reloaded when it changes) is
 *   compared with each other primary and whatever they lack is pushed (sync-partition.ts).
 *   A peer that is down is counted as an error and tried again next pass; a peer whose device is
 *   full or missing (507/421) is also replaced by a handoff for the pass (Swift does the same).
 * - A partition this device is not a primary for is handed back to the primaries and removed
 *   (revert-handoff.ts).
 * - Hashing reclaims tombstones older than `reclaimAgeSeconds` (suffix-hashes.ts).
 *
 * `concurrency` partitions are worked on at once. Stats go to `<devicesDir>/.recon/replication.json`
 * (node/recon.ts) at the start, every few seconds during, and at the end of each pass.
 */
import { logToStderr } from '../common/log.js';
import { LocalNode } from '../common/local-node.js';
import { PassLoop } from '../common/pass-loop.js';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Ring, RingDevice } from '../ring/ring.js';
import { shuffled } from '../ring/prng.js';
import { NodeClient } from '../node/node-client.js';
import { UNKNOWN_DEVICE_STATUS } from '../node/protocol.js';
import {
  emptyReplicationRecon, REPLICATION_RECON_FILE, writeRecon, type ReplicationRecon,
} from '../node/recon.js';
import { revertHandoff } from './revert-handoff.js';
import { localHashes, syncPartitionTo, type PartitionRef, type SyncCounters } from './sync-partition.js';
import { askReplicate, PeerError, type PeerDevice } from './replicate-protocol.js';
import type { HashOptions } from './suffix-hashes.js';

/** How often the running pass's progress is written to the recon file. */
const PROGRESS_WRITE_MS = 2_000;
/** Handoffs tried beyond one per unavailable primary when some of them fail too. */
const MAX_EXTRA_HANDOFF_TRIES = 2;

export interface ReplicatorOptions {
  devicesDir: string;
  /** The object ring (reloaded in place by its watcher). */
  ring: Ring;
  secret: string;
  /** The address and port this node listens on (to find its own devices in the ring). */
  host: string;
  port: number;
  intervalMs: number;
  concurrency: number;
  reclaimAgeSeconds: number;
  log?: (m: string) => void;
}

async function dirNames(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
}

export class Replicator {
  readonly client: NodeClient;
  /** Stats of the last complete pass (with the running pass's progress). */
  recon: ReplicationRecon = emptyReplicationRecon();
  private readonly local: LocalNode;
  private readonly loop: PassLoop;
  /** Tombstones reclaimed while answering peers' REPLICATE requests, added to the next pass. */
  private reclaimedByPeers = 0;
  /** Peers found unreachable in the running pass (logged once each). */
  private readonly unreachableLogged = new Set<string>();
  /** Partitions of the running pass whose sync with a peer failed because it could not be reached, by peer. */
  private readonly missedByPeer = new Map<string, { peer: PeerDevice; parts: Map<string, PartitionRef> }>();

  constructor(private readonly opts: ReplicatorOptions) {
    this.client = new NodeClient(opts.secret);
    this.local = new LocalNode(opts.host, opts.port);
    this.loop = new PassLoop('replicator', opts.intervalMs, () => this.runPass(), (m) => this.log(m));
  }

  get hashOptions(): HashOptions {
    return { reclaimAgeSeconds: this.opts.reclaimAgeSeconds };
  }

  /** Called by the REPLICATE route. */
  noteReclaimed(n: number): void {
    this.reclaimedByPeers += n;
  }

  private log(m: string): void {
    (this.opts.log ?? logToStderr)(m);
  }

  /** Starts the pass loop. */
  start(): void {
    this.loop.start();
  }

  /** Stops the loop; requests in flight are cut (closing the client) so shutdown does not wait on a slow peer. */
  async stop(): Promise<void> {
    const done = this.loop.stop();
    this.client.close();
    await done;
  }

  /** The partition folders of every local device. */
  private async partitions(): Promise<PartitionRef[]> {
    const out: PartitionRef[] = [];
    for (const device of await dirNames(this.opts.devicesDir)) {
      if (device.startsWith('.')) continue;
      for (const p of await dirNames(join(this.opts.devicesDir, device, 'objects'))) {
        if (/^\d{1,10}$/.test(p)) out.push({ devicesDir: this.opts.devicesDir, device, part: Number(p) });
      }
    }
    return out;
  }

  /** One pass over every local partition. */
  async runPass(): Promise<ReplicationRecon> {
    const started = Date.now();
    this.unreachableLogged.clear();
    this.missedByPeer.clear();
    const counters: SyncCounters = { suffixesPushed: 0, objectsPushed: 0, tombstonesReclaimed: 0, errors: 0 };
    // In a random order, as Swift's replicator does: nodes holding the same partitions would
    // otherwise reach each one at the same moment and both push what a returning peer lacks.
    const parts = shuffled(await this.partitions());
    this.recon.lastPassStarted = started;
    this.recon.inProgress = { started, partitionsDone: 0, partitionsTotal: parts.length };
    await this.writeRecon();
    let lastWrite = Date.now();
    const pass = await this.replicateAll(parts, counters, async (done) => {
      if (Date.now() - lastWrite > PROGRESS_WRITE_MS) {
        lastWrite = Date.now();
        this.recon.inProgress = { started, partitionsDone: done, partitionsTotal: parts.length };
        await this.writeRecon();
      }
    });
    const retried = await this.retryReturnedPeers(counters);
    const ended = Date.now();
    counters.tombstonesReclaimed += this.reclaimedByPeers;
    this.reclaimedByPeers = 0;
    this.recon = {
      lastPassStarted: started,
      lastPassCompleted: ended,
      lastPassSeconds: (ended - started) / 1000,
      partitionsChecked: pass.done,
      partitionsTotal: parts.length,
      partitionsRetried: retried.done,
      suffixesPushed: counters.suffixesPushed,
      objectsPushed: counters.objectsPushed,
      handoffPartitionsReverted: pass.reverted + retried.reverted,
      tombstonesReclaimed: counters.tombstonesReclaimed,
      errors: counters.errors,
      passes: this.recon.passes + 1,
    };
    await this.writeRecon();
    return this.recon;
  }

  /** Works on `parts`, `concurrency` at once; `onEach` hears the count done after each one. */
  private async replicateAll(parts: PartitionRef[], counters: SyncCounters,
    onEach: (done: number) => Promise<void> = async () => undefined): Promise<{ done: number; reverted: number }> {
    const queue = parts.slice();
    let done = 0;
    let reverted = 0;
    const worker = async () => {
      for (;;) {
        const p = queue.shift();
        if (!p || this.loop.isStopped) return;
        try {
          if (await this.replicatePartition(p, counters)) reverted++;
        } catch (e) {
          counters.errors++;
          this.log(`replicator: ${p.device}/${p.part}: ${(e as Error).message}`);
        }
        done++;
        await onEach(done);
      }
    };
    await Promise.all(Array.from({ length: this.opts.concurrency }, worker));
    return { done, reverted };
  }

  /**
   * A peer that could not be reached during the pass but answers now (it came back while the
   * pass ran) gets the partitions it missed at once, instead of after the pause and most of
   * the next pass: a node back from a crash is whole again up to one interval sooner. One
   * REPLICATE probes each such peer; a peer still down costs nothing more.
   */
  private async retryReturnedPeers(counters: SyncCounters): Promise<{ done: number; reverted: number }> {
    const missed = [...this.missedByPeer.values()];
    this.missedByPeer.clear();
    const again = new Map<string, PartitionRef>();
    for (const { peer, parts } of missed) {
      if (this.loop.isStopped) break;
      const probe = parts.values().next().value!;
      try {
        await askReplicate(this.client, peer, probe.part);
      } catch {
        continue; // still away: the next pass tries it again
      }
      for (const [k, p] of parts) again.set(k, p);
    }
    return this.replicateAll([...again.values()], counters);
  }

  /** Syncs one partition with its peers, or hands it back; true when a handoff was removed. */
  private async replicatePartition(p: PartitionRef, counters: SyncCounters): Promise<boolean> {
    const ring = this.opts.ring;
    if (p.part >= ring.partitionCount) throw new Error(`partition ${p.part} is outside the ring`);
    const primaries = ring.getPartNodes(p.part);
    const me = primaries.find((d) => d.device === p.device && this.local.owns(d));
    const opts = this.hashOptions;
    const log = (m: string) => this.log(m);
    const onPeerError = (peer: PeerDevice, e: Error) => this.peerError(p, peer, e);
    if (!me) return revertHandoff(this.client, p, primaries, opts, counters, log, onPeerError);
    const hashes = await localHashes(p, opts, counters); // once for every peer: pushing does not change them
    let unmounted = 0;
    for (const peer of primaries) {
      if (peer === me) continue;
      try {
        await syncPartitionTo(this.client, p, peer, opts, counters, log, hashes);
      } catch (e) {
        counters.errors++;
        onPeerError(peer, e as Error);
        if (e instanceof PeerError && (e.status === 507 || e.status === UNKNOWN_DEVICE_STATUS)) unmounted++;
      }
    }
    if (unmounted > 0) await this.pushToHandoffs(p, me, unmounted, hashes, counters);
    return false;
  }

  /**
   * A primary's device is full or missing (its node answers 507/421): as Swift does, the
   * partition also goes to the next handoffs, one per such primary, so the replica count holds
   * until the device is back; those handoffs hand it back then (revert-handoff.ts).
   */
  private async pushToHandoffs(p: PartitionRef, me: RingDevice, count: number, hashes: Record<string, string>,
    counters: SyncCounters): Promise<void> {
    let tries = 0;
    for (const h of this.opts.ring.getMoreNodes(p.part)) {
      if (count === 0 || tries++ >= count + MAX_EXTRA_HANDOFF_TRIES) return;
      if (h.device === me.device && this.local.owns(h)) continue;
      try {
        await syncPartitionTo(this.client, p, h, this.hashOptions, counters, (m) => this.log(m), hashes);
        count--;
      } catch (e) {
        counters.errors++;
        this.peerError(p, h, e as Error);
      }
    }
  }

  /**
   * Notes a failed exchange: a peer that cannot be reached is logged once per pass, not per
   * partition, and the partition is kept for the end-of-pass retry (retryReturnedPeers).
   */
  private peerError(p: PartitionRef, peer: PeerDevice, e: Error): void {
    const key = `${peer.ip}:${peer.port}/${peer.device}`;
    if (e instanceof PeerError && e.status === 0) {
      const m = this.missedByPeer.get(key) ?? { peer, parts: new Map<string, PartitionRef>() };
      m.parts.set(`${p.device}/${p.part}`, p);
      this.missedByPeer.set(key, m);
    }
    if (e instanceof PeerError && e.deviceUnavailable) {
      if (this.unreachableLogged.has(key)) return;
      this.unreachableLogged.add(key);
      this.log(`replicator: ${key} unavailable (${e.message}); retrying next pass`);
      return;
    }
    this.log(`replicator: ${p.device}/${p.part} -> ${key}: ${e.message}`);
  }

  private async writeRecon(): Promise<void> {
    await writeRecon(this.opts.devicesDir, REPLICATION_RECON_FILE, this.recon)
      .catch((e: Error) => this.log(`replicator: cannot write recon: ${e.message}`));
  }
}
