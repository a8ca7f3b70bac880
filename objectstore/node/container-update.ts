/**
 * Listing updates from object nodes to container nodes, and the async_pending queue that
 * keeps them when the container node cannot be reached (Swift's object updater idea).
 *
 * Once an object version is in place, its listing row(s) are sent (PUT or DELETE of
 * /cont/<dev>/<part>/a/c/o) to the container nodes the proxy named, waiting at most
 * CONTAINER_UPDATE_TIMEOUT_MS; a row no container node took is queued durably (PendingQueue, in
 * the device's LevelDB) before the write is acknowledged (Swift's async_pending: written only
 * when the update fails). The updater loop replays the queue until a container node accepts
 * each row (or reports the container gone): no update of an acknowledged write is ever lost.
 * (A node that dies after the rename and before the row went out never acknowledged the write;
 * the proxy then has a replica that did relay that node's rows, see proxy/rows-owed.ts.)
 */
import { uniqueIds } from '../common/unique-ids.js';
import { GroupedWrites } from './grouped-writes.js';
import type { DeviceDbs } from './device-db.js';
import type { ObjectRow } from './container-db.js';
import { encodeJsonHeader, H_ROW, nodePath } from './protocol.js';
import type { NodeClient } from './node-client.js';

/**
 * Queued updates younger than this are left alone by the updater (besides those of requests
 * still in flight in this process, which it never touches).
 */
export const PENDING_GRACE_MS = 1_000;
/** How long the object write waits for the container node before queueing the update. */
export const CONTAINER_UPDATE_TIMEOUT_MS = 2000;
/** Queue entries read at once by the updater. */
export const REPLAY_PAGE = 1000;
/** Rows the updater sends at once. */
export const REPLAY_CONCURRENCY = 8;

/** A container node that holds the listing: `ip:port/device/partition`. */
export interface Target {
  host: string;
  port: number;
  device: string;
  part: number;
}

export function formatTarget(t: Target): string {
  return `${t.host}:${t.port}/${encodeURIComponent(t.device)}/${t.part}`;
}

export function parseTarget(s: string): Target | undefined {
  const m = /^([^/]+):(\d+)\/([^/]+)\/(\d+)$/.exec(s);
  if (!m) return undefined;
  const host = m[1]!.replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(m[2]), device: decodeURIComponent(m[3]!), part: Number(m[4]) };
}

export interface PendingUpdate {
  target: Target;
  account: string;
  container: string;
  object: string;
  row: ObjectRow;
  /** Where the object lives on this node, to check that the write really landed. */
  part: number;
  hash: string;
  /** When it was queued (ms); the updater leaves fresh entries to the request that made them. */
  queuedAt: number;
}

/** Sends one row; resolves to the HTTP status, rejects on network failure or timeout. */
export async function sendRow(client: NodeClient, u: PendingUpdate, timeoutMs = CONTAINER_UPDATE_TIMEOUT_MS): Promise<number> {
  const path = nodePath('cont', u.target.device, u.target.part, u.account, u.container, u.object);
  const res = await client.request({
    host: u.target.host, port: u.target.port, method: u.row.deleted ? 'DELETE' : 'PUT', path,
    timestamp: u.row.ts, headers: { [H_ROW]: encodeJsonHeader(u.row) }, timeoutMs,
  });
  res.body.resume();
  return res.status;
}

/** True when the container node took the row or will never want it (container gone). */
export function finalStatus(status: number): boolean {
  return (status >= 200 && status < 300) || status === 404;
}

const P_START = 'P\0';
const P_END = 'P\x01';

/**
 * The durable queue of listing updates of each device, kept in the device's LevelDB
 * (`P\0<ts>\0<unique id>`). A write stages its entries unsynced while its object is fsynced
 * (the entries of concurrent writes merged into one batch, grouped-writes.ts); an entry a
 * container node took is removed with a later batch, one it did not is synced before the
 * write is acknowledged and replayed by the updater.
 */
export class PendingQueue {
  /** Keys whose object write or first delivery is still running in this process. */
  private readonly inflight = new Set<string>();
  /** Each device's unsynced queue writes, merged across concurrent requests. */
  private readonly groups = new Map<string, GroupedWrites>();
  private readonly keySuffix = uniqueIds();
  constructor(private readonly dbs: DeviceDbs) {}

  private group(device: string): GroupedWrites {
    let g = this.groups.get(device);
    if (!g) {
      g = new GroupedWrites(async (ops) => (await this.dbs.get(device)).batch(<any[]>ops));
      this.groups.set(device, g);
    }
    return g;
  }

  /** Writes the removals still waiting to ride along with a later batch (before a close). */
  async flush(): Promise<void> {
    await Promise.all([...this.groups.values()].map((g) => g.flush()));
  }

  /**
   * Queues updates (marked in flight: the updater leaves them to the request that made them);
   * returns their keys. `sync: false` hands the entries to the OS without an fsync: they survive
   * a crash of this process, not a power loss.
   */
  async add(device: string, updates: PendingUpdate[], sync = true): Promise<string[]> {
    if (updates.length === 0) return [];
    const keys = updates.map((u) => `${P_START}${u.row.ts}\0${this.keySuffix()}`);
    for (const k of keys) this.inflight.add(k);
    const ops = updates.map((u, i) => ({ type: 'put' as const, key: keys[i]!, value: u }));
    if (sync) await (await this.dbs.get(device)).batch(<any[]>ops, { sync: true });
    else await this.group(device).write(ops);
    return keys;
  }

  /**
   * Sends updates staged with `add(…, false)` before their object version was put in place:
   * delivered ones are removed; the others are written again with sync (which makes them
   * durable) and left to the updater. Resolves once every row was delivered or durably queued.
   */
  async sendStaged(device: string, updates: PendingUpdate[], keys: string[],
    send: (u: PendingUpdate) => Promise<number>): Promise<void> {
    const delivered: string[] = [];
    const failed: number[] = [];
    await Promise.all(updates.map(async (u, i) => {
      try {
        if (finalStatus(await send(u))) delivered.push(keys[i]!);
        else failed.push(i);
      } catch {
        failed.push(i);
      }
    }));
    if (failed.length > 0) {
      await (await this.dbs.get(device)).batch(<any[]>failed.map((i) => ({ type: 'put', key: keys[i], value: updates[i] })), { sync: true });
    }
    for (const k of keys) this.inflight.delete(k);
    // Not awaited: an entry whose removal is lost (a crash) is only sent again, and a row is
    // idempotent. The updater leaves it alone meanwhile (PENDING_GRACE_MS is longer).
    if (delivered.length > 0) {
      this.group(device).writeLater(delivered.map((key) => ({ type: 'del' as const, key }))).catch(() => undefined);
    }
  }

  /**
   * After a failed write: entries of a version that was certainly not put in place (`placed`
   * false, e.g. a newer version exists) are removed; otherwise they are only released to the
   * updater, which sends them if the version is on disk and drops them if not.
   */
  async settleFailed(device: string, keys: string[], placed: boolean): Promise<void> {
    if (!placed) return this.remove(device, keys);
    for (const k of keys) this.inflight.delete(k);
  }

  async remove(device: string, keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    for (const k of keys) this.inflight.delete(k);
    const db = await this.dbs.get(device);
    await db.batch(<any[]>keys.map((key) => ({ type: 'del', key })));
  }

  /** Sends each update now; removes the delivered ones. */
  async deliver(client: NodeClient, device: string, updates: PendingUpdate[], keys: string[]): Promise<void> {
    await Promise.all(updates.map(async (u, i) => {
      try {
        if (finalStatus(await sendRow(client, u))) await this.remove(device, [keys[i]!]);
      } catch {
        // left for the updater
      } finally {
        this.inflight.delete(keys[i]!);
      }
    }));
  }

  /**
   * Replays the queue of a device, all of it, page by page. `landed` says whether the object
   * write an entry belongs to reached the disk (an entry whose write failed is dropped, never
   * sent). A container node that does not answer is skipped for the rest of the pass, so
   * entries for a dead node cost one failed request per pass, not one each, and can never
   * hold back the entries of the other nodes (they used to: the pass looked at the oldest
   * `max` entries only, one after another with a timeout each).
   */
  async replay(client: NodeClient, device: string, landed: (u: PendingUpdate) => Promise<boolean>,
    graceMs = PENDING_GRACE_MS, pageSize = REPLAY_PAGE): Promise<number> {
    const db = await this.dbs.get(device);
    const now = Date.now();
    const unreachable = new Set<string>();
    let done = 0;
    let after: string | undefined;
    for (;;) {
      const page: Array<[string, PendingUpdate]> = [];
      const range = after === undefined ? { gte: P_START, lt: P_END, limit: pageSize } : { gt: after, lt: P_END, limit: pageSize };
      for await (const [k, v] of db.iterator(range)) page.push([k, v as PendingUpdate]);
      if (page.length === 0) return done;
      after = page[page.length - 1]![0];
      let next = 0;
      const worker = async () => {
        while (next < page.length) {
          const [key, u] = page[next++]!;
          const target = formatTarget(u.target);
          if (this.inflight.has(key) || now - u.queuedAt < graceMs || unreachable.has(target)) continue;
          try {
            if (!(await landed(u))) {
              await this.remove(device, [key]);
              continue;
            }
            if (finalStatus(await sendRow(client, u))) {
              await this.remove(device, [key]);
              done++;
            }
          } catch {
            unreachable.add(target); // still down: try again next pass
          }
        }
      };
      await Promise.all(Array.from({ length: REPLAY_CONCURRENCY }, worker));
      if (page.length < pageSize) return done;
    }
  }
}
