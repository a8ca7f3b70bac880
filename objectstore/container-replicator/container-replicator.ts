/**
 * The container replicator of a storage node: keeps the container databases (listings) of the
 * container ring's primaries in step, and moves a container to its new primaries after a ring
 * change. Object files have their own replicator (objectstore/replicator); without this one a
 * container replica that missed rows (down, crashed) never got them, and a container whose
 * partition moved to a new node had no database there.
 *
 * A pass, every `intervalMs` after the previous one ended, goes over every container record of
 * every local device (ContainerDb.containers()):
 * - its primaries come from the container ring (reloaded in place by its watcher);
 * - to each primary other than this device, if the container changed since the last successful
 *   push to that peer (ContainerDb.version() against the sync point stored under `R\0a\0c\0peer`
 *   in the device's LevelDB), it sends the container record (PUT with the put timestamp, POST
 *   with the metadata timestamp when metadata changed later, DELETE for a deleted container)
 *   and then EVERY row, tombstones included, over the existing `POST /rows` batch endpoint
 *   (row-batch.ts). Sending all rows is the v1 choice: rows are idempotent and newest wins, so a
 *   row the peer has costs a 202 and nothing else; a peer that applies nothing keeps its
 *   version, so two replicas stop pushing to each other after one exchange;
 * - when this device is not a primary (the ring changed, or it held a handoff copy), it pushes
 *   to every primary and, once all of them acknowledged everything, drops the container
 *   (record and rows) so listings come from the primaries only; a container that changed
 *   during the push is kept for the next pass.
 * Errors never stop the node: each peer that fails is logged once per pass and tried again on
 * the next pass. Not covered (v1): account databases, and a deleted container whose peer still
 * has rows (the peer answers 409 and the push is retried every pass).
 */
import { logToStderr } from '../common/log.js';
import type { Ring, RingDevice } from '../ring/ring.js';
import { NodeClient } from '../node/node-client.js';
import { LocalNode } from '../common/local-node.js';
import { PassLoop } from '../common/pass-loop.js';
import type { LevelDb } from '../node/device-db.js';
import { isLive, type ContainerDb, type ContainerRecord } from '../node/container-db.js';
import { encodeJsonHeader, formatTimestamp, H_METADATA, nodePath } from '../node/protocol.js';
import { MAX_ROWS_PER_BATCH, ROWS_PATH, type WireRow } from '../node/row-batch.js';

/** Row batches sent to one peer at once. */
export const ROW_BATCHES_IN_FLIGHT = 2;
/** Peers (primaries) of one container pushed to at once. */
const PEERS_IN_PARALLEL = 3;
/** Time allowed for a peer's answer to one request. */
export const PEER_TIMEOUT_MS = 15_000;
const syncBase = (a: string, c: string) => `R\0${a}\0${c}\0`;
const syncEnd = (a: string, c: string) => `R\0${a}\0${c}\x01`;

/** What the container replicator needs of the running storage node (server.ts StorageNode). */
export interface ContainerStorage {
  containerDb(device: string): Promise<ContainerDb>;
  dbs: { get(device: string): Promise<LevelDb> };
  devicesWithDb(): Promise<string[]>;
}

export interface ContainerReplicatorOptions {
  /** The container ring (reloaded in place by its watcher). */
  ring: Ring;
  storage: ContainerStorage;
  secret: string;
  /** The address and port this node listens on (to find its own devices in the ring). */
  host: string;
  port: number;
  intervalMs: number;
  log?: (m: string) => void;
}

export interface ContainerPassStats {
  containersChecked: number;
  /** Pushes of a container to one peer that completed. */
  pushes: number;
  rowsSent: number;
  /** Containers removed from this node after their primaries got them. */
  dropped: number;
  errors: number;
}

/** A peer answered something other than success. */
export class ContainerPushError extends Error {
  constructor(readonly peer: string, readonly status: number, what: string) {
    super(`${what} to ${peer} got ${status}`);
  }
}

const peerId = (d: RingDevice) => `${d.ip}:${d.port}/${d.device}`;

export class ContainerReplicator {
  readonly client: NodeClient;
  /** Stats of the last complete pass. */
  lastPass?: ContainerPassStats;
  private readonly local: LocalNode;
  private readonly loop: PassLoop;
  private stopped = false;
  /** Peers that failed in the running pass (logged once each). */
  private readonly failedLogged = new Set<string>();

  constructor(private readonly opts: ContainerReplicatorOptions) {
    this.client = new NodeClient(opts.secret);
    this.local = new LocalNode(opts.host, opts.port);
    this.loop = new PassLoop('container-replicator', opts.intervalMs, () => this.runPass(), (m) => this.log(m));
  }

  private log(m: string): void {
    (this.opts.log ?? logToStderr)(m);
  }

  /** Starts the pass loop (first pass after one interval). */
  start(): void {
    this.loop.start();
  }

  /** Stops the loop; requests in flight are cut so shutdown does not wait on a slow peer. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.client.close();
    await this.loop.stop();
  }

  /** One pass over every container of every local device. */
  async runPass(): Promise<ContainerPassStats> {
    this.failedLogged.clear();
    const stats: ContainerPassStats = { containersChecked: 0, pushes: 0, rowsSent: 0, dropped: 0, errors: 0 };
    for (const device of await this.opts.storage.devicesWithDb()) {
      if (this.stopped) break;
      const cdb = await this.opts.storage.containerDb(device);
      const db = await this.opts.storage.dbs.get(device);
      const names: Array<[string, string]> = [];
      for await (const { account, container } of cdb.containers()) names.push([account, container]);
      for (const [a, c] of names) {
        if (this.stopped) break;
        stats.containersChecked++;
        try {
          await this.replicateContainer(device, cdb, db, a, c, stats);
        } catch (e) {
          stats.errors++;
          if (!this.stopped) this.log(`container-replicator: ${device} /${a}/${c}: ${(e as Error).message}`);
        }
      }
    }
    this.lastPass = stats;
    return stats;
  }

  private async replicateContainer(device: string, cdb: ContainerDb, db: LevelDb, a: string, c: string,
    stats: ContainerPassStats): Promise<void> {
    const { part, nodes } = this.opts.ring.getNodes(a, c);
    const me = nodes.find((n) => n.device === device && this.local.owns(n));
    const peers = nodes.filter((n) => n !== me);
    // The version before the record and rows are read: a change made during the push leaves a
    // newer version, so the stored sync point does not match it and the next pass pushes again.
    const version = await cdb.version(a, c);
    const rec = await cdb.get(a, c);
    if (!rec) return;
    let allAcked = true;
    const queue = peers.slice();
    const worker = async () => {
      for (let peer = queue.shift(); peer && !this.stopped; peer = queue.shift()) {
        const key = syncBase(a, c) + peerId(peer);
        if ((await db.get(key)) === version) continue;
        try {
          const sent = await this.push(cdb, peer, part, a, c, rec); // (not `+= await`: workers run at once)
          stats.rowsSent += sent;
          // Not synced: a sync point lost in a crash only costs one more (idempotent) push.
          await db.put(key, version);
          stats.pushes++;
        } catch (e) {
          allAcked = false;
          stats.errors++;
          if (!this.stopped && !this.failedLogged.has(peerId(peer))) {
            this.failedLogged.add(peerId(peer));
            this.log(`container-replicator: push of /${a}/${c} to ${peerId(peer)} failed: ${(e as Error).message}`);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PEERS_IN_PARALLEL, peers.length) }, worker));
    if (me || !allAcked || this.stopped) return;
    if (await cdb.dropIfUnchanged(a, c, version)) {
      await db.clear({ gte: syncBase(a, c), lt: syncEnd(a, c) });
      stats.dropped++;
    }
  }

  /** Sends the container record and every row to one peer; returns the rows sent. */
  private async push(cdb: ContainerDb, peer: RingDevice, part: number, a: string, c: string,
    rec: ContainerRecord): Promise<number> {
    const path = nodePath('cont', peer.device, part, a, c);
    const id = peerId(peer);
    const call = async (method: string, ts: string, ok: number[], headers: Record<string, string> = {}) => {
      const r = await this.client.request({
        host: peer.ip, port: peer.port, method, path, timestamp: ts, headers, timeoutMs: PEER_TIMEOUT_MS,
      });
      r.body.resume();
      if (!ok.includes(r.status)) throw new ContainerPushError(id, r.status, `container ${method}`);
    };
    await call('PUT', rec.putTs, [201, 202], { [H_METADATA]: encodeJsonHeader({ meta: rec.meta, headers: rec.headers }) });
    if (!isLive(rec)) {
      // 404: the peer has no live container (never had it, or deleted it already).
      await call('DELETE', rec.deleteTs!, [204, 404]);
      return 0;
    }
    if (rec.metaTs > rec.putTs) {
      await call('POST', rec.metaTs, [204], { [H_METADATA]: encodeJsonHeader({ meta: rec.meta, headers: rec.headers }) });
    }
    let sent = 0;
    let batch: WireRow[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    const flush = async (rows: WireRow[]) => {
      const p = this.sendRows(peer, rows).catch((e) => { failure ??= e; });
      inFlight.add(p);
      void p.then(() => inFlight.delete(p));
      if (inFlight.size >= ROW_BATCHES_IN_FLIGHT) await Promise.race(inFlight);
    };
    for await (const { name, row } of cdb.rows(a, c)) {
      if (failure || this.stopped) break;
      batch.push({ device: peer.device, part, account: a, container: c, object: name, row });
      sent++;
      if (batch.length >= MAX_ROWS_PER_BATCH) {
        await flush(batch);
        batch = [];
      }
    }
    if (batch.length > 0 && !failure) await flush(batch);
    await Promise.all(inFlight);
    if (failure) throw failure;
    if (this.stopped) throw new Error('stopped');
    return sent;
  }

  /** One `POST /rows` batch; every row must be applied (201) or already known (202). */
  private async sendRows(peer: RingDevice, rows: WireRow[]): Promise<void> {
    const r = await this.client.fetchText({
      host: peer.ip, port: peer.port, method: 'POST', path: ROWS_PATH, timestamp: formatTimestamp(Date.now()),
      headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rows }), timeoutMs: PEER_TIMEOUT_MS,
    });
    if (r.status !== 200) throw new ContainerPushError(peerId(peer), r.status, 'row batch');
    const statuses = (JSON.parse(r.text) as { statuses?: unknown }).statuses;
    if (!Array.isArray(statuses) || statuses.length !== rows.length) throw new ContainerPushError(peerId(peer), r.status, 'row batch (bad answer)');
    const bad = statuses.find((s) => s !== 201 && s !== 202);
    if (bad !== undefined) throw new ContainerPushError(peerId(peer), Number(bad), 'row');
  }
}
