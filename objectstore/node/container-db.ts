/**
 * Container databases on a storage node: the container record (metadata, object count, bytes
 * used, put/delete timestamps) and its sorted object listing, one row per object name.
 * Rows obey newest-timestamp-wins like the objects; a DELETE row is kept as a tombstone so a
 * late, older PUT row cannot resurrect the name. Count and bytes change in the same atomic
 * LevelDB batch as the row, under a per-container lock, and a "dirty" marker written in that
 * batch tells the account rollup (see server.ts) to send the new totals to the account.
 */
import { randomBytes } from 'node:crypto';
import { KeyedLock } from '../common/keyed-lock.js';
import type { ListOptions, ListPage, ObjectEntry } from '../proxy/backend.js';
import type { LevelDb } from './device-db.js';
import { listRange } from './listing.js';
import { timestampMs } from './protocol.js';

export interface ContainerRecord {
  putTs: string;
  deleteTs?: string;
  metaTs: string;
  meta: Record<string, string>;
  headers: Record<string, string>;
  objectCount: number;
  bytesUsed: number;
  createdAt: number;
  /** Bumped on every stats change; the account rollup compares it. */
  statsTs: string;
}

export interface ObjectRow {
  ts: string;
  size: number;
  etag: string;
  contentType: string;
  deleted?: boolean;
}

export function isLive(r: ContainerRecord | undefined): boolean {
  return !!r && (!r.deleteTs || r.deleteTs < r.putTs);
}

const cKey = (a: string, c: string) => `C\0${a}\0${c}`;
const dKey = (a: string, c: string) => `D\0${a}\0${c}`;
const oBase = (a: string, c: string) => `O\0${a}\0${c}\0`;
/**
 * The container's change version: a fresh random value written in the same batch as every
 * change of its record or rows (never cleared, unlike the dirty mark, which the roll-up clears
 * and which metadata changes do not touch). The container replicator compares it with the
 * version it last sent to each peer.
 */
const vKey = (a: string, c: string) => `V\0${a}\0${c}`;
const versionOp = (a: string, c: string) => ({ type: 'put', key: vKey(a, c), value: randomBytes(8).toString('hex') });
/**
 * A fresh dirty mark. It must differ from every earlier mark, even when the stats timestamp
 * did not move (a row older than statsTs changed the count): the rollup clears the marker only
 * when it still holds the mark it read before sending, so a change made while it was sending
 * keeps the container dirty and is sent next time.
 */
const newMark = (statsTs: string) => `${statsTs}:${randomBytes(6).toString('hex')}`;

export type RowResult = 'applied' | 'older' | 'no-container';

interface QueuedRow {
  name: string;
  row: ObjectRow;
  resolve: (r: RowResult) => void;
  reject: (e: unknown) => void;
}

export class ContainerDb {
  private readonly lock = new KeyedLock();
  /** Rows waiting for the next group commit, per container key. */
  private readonly rowGroups = new Map<string, QueuedRow[]>();
  constructor(private readonly db: LevelDb, private readonly sync: boolean) {}

  async get(a: string, c: string): Promise<ContainerRecord | undefined> {
    return (await this.db.get(cKey(a, c))) as ContainerRecord | undefined;
  }

  /** Creates (or revives) the container, or updates its metadata. Returns whether it was created. */
  async put(a: string, c: string, ts: string, meta?: Record<string, string>,
    headers?: Record<string, string>): Promise<{ created: boolean; record: ContainerRecord }> {
    return this.lock.run(cKey(a, c), async () => {
      const old = await this.get(a, c);
      if (old && isLive(old)) {
        if (ts > old.metaTs && (meta || headers)) {
          if (meta) old.meta = meta;
          if (headers) old.headers = { ...old.headers, ...headers };
          old.metaTs = ts;
          await this.db.batch(<any[]>[{ type: 'put', key: cKey(a, c), value: old }, versionOp(a, c)], { sync: this.sync });
        }
        return { created: false, record: old };
      }
      if (old?.deleteTs && old.deleteTs >= ts) return { created: false, record: old };
      const rec: ContainerRecord = {
        putTs: ts, metaTs: ts, meta: meta ?? {}, headers: headers ?? {}, objectCount: 0, bytesUsed: 0,
        createdAt: timestampMs(ts), statsTs: ts,
      };
      await this.db.batch(<any[]>[
        { type: 'put', key: cKey(a, c), value: rec },
        { type: 'put', key: dKey(a, c), value: newMark(ts) },
        versionOp(a, c),
      ], { sync: this.sync });
      return { created: true, record: rec };
    });
  }

  /** Replaces metadata (POST). Returns false if the container does not exist. */
  async post(a: string, c: string, ts: string, meta: Record<string, string>,
    headers?: Record<string, string>): Promise<boolean> {
    return this.lock.run(cKey(a, c), async () => {
      const old = await this.get(a, c);
      if (!old || !isLive(old)) return false;
      if (ts > old.metaTs) {
        old.meta = meta;
        if (headers) old.headers = { ...old.headers, ...headers };
        old.metaTs = ts;
        await this.db.batch(<any[]>[{ type: 'put', key: cKey(a, c), value: old }, versionOp(a, c)], { sync: this.sync });
      }
      return true;
    });
  }

  /** Deletes an empty container. */
  async delete(a: string, c: string, ts: string): Promise<'deleted' | 'missing' | 'not-empty'> {
    return this.lock.run(cKey(a, c), async () => {
      const old = await this.get(a, c);
      if (!old || !isLive(old)) return 'missing';
      if (old.objectCount > 0) return 'not-empty';
      if (ts <= old.putTs) return 'deleted';
      old.deleteTs = ts;
      old.statsTs = ts;
      await this.db.batch(<any[]>[
        { type: 'put', key: cKey(a, c), value: old },
        { type: 'put', key: dKey(a, c), value: newMark(ts) },
        versionOp(a, c),
      ], { sync: this.sync });
      // Tombstone rows of the old incarnation are no longer needed.
      await this.db.clear({ gte: oBase(a, c), lt: `O\0${a}\0${c}\x01` });
      return 'deleted';
    });
  }

  /**
   * Applies an object row sent by an object node (newest timestamp wins).
   *
   * Group commit: rows of one container that arrive while an earlier group is being written
   * wait together and go to disk in ONE synced LevelDB batch (with one container record
   * update), so concurrent PUTs into a container cost one fsync per group, not one each.
   * Every caller still resolves only after its row is durable.
   */
  applyRow(a: string, c: string, name: string, row: ObjectRow): Promise<RowResult> {
    return new Promise<RowResult>((resolve, reject) => {
      const k = cKey(a, c);
      let group = this.rowGroups.get(k);
      if (!group) {
        group = [];
        this.rowGroups.set(k, group);
        // The group closes when it gets the lock (the previous group has been written).
        void this.lock.run(k, () => this.commitRows(a, c));
      }
      group.push({ name, row, resolve, reject });
    });
  }

  /** Writes every row queued for the container in one synced batch. Runs under the lock. */
  private async commitRows(a: string, c: string): Promise<void> {
    const k = cKey(a, c);
    const group = this.rowGroups.get(k) ?? [];
    this.rowGroups.delete(k);
    try {
      const results = await this.writeRows(a, c, group);
      group.forEach((p, i) => p.resolve(results[i]!));
    } catch (e) {
      for (const p of group) p.reject(e);
    }
  }

  private async writeRows(a: string, c: string, group: QueuedRow[]): Promise<RowResult[]> {
    const rec = await this.get(a, c);
    if (!rec || !isLive(rec)) return group.map(() => 'no-container');
    const keys = [...new Set(group.map((p) => oBase(a, c) + p.name))];
    const stored = (await this.db.getMany(keys)) as Array<ObjectRow | undefined>;
    // The newest row of each name, as stored or as decided earlier in this group.
    const current = new Map<string, ObjectRow | undefined>(keys.map((key, i) => [key, stored[i] ?? undefined]));
    const writes = new Map<string, ObjectRow>();
    let changed = false;
    const results: RowResult[] = [];
    for (const { name, row } of group) {
      const key = oBase(a, c) + name;
      const old = current.get(key);
      if (old && old.ts >= row.ts) {
        results.push('older');
        continue;
      }
      if (old && !old.deleted) {
        rec.objectCount -= 1;
        rec.bytesUsed -= old.size;
      }
      if (!row.deleted) {
        rec.objectCount += 1;
        rec.bytesUsed += row.size;
      }
      if ((old && !old.deleted) || !row.deleted) {
        changed = true;
        if (row.ts > rec.statsTs) rec.statsTs = row.ts;
      }
      current.set(key, row);
      writes.set(key, row);
      results.push('applied');
    }
    if (writes.size === 0) return results;
    const ops: any[] = [...writes].map(([key, value]) => ({ type: 'put', key, value }));
    ops.push(versionOp(a, c));
    if (changed) ops.push({ type: 'put', key: cKey(a, c), value: rec }, { type: 'put', key: dKey(a, c), value: newMark(rec.statsTs) });
    await this.db.batch(ops, { sync: this.sync });
    return results;
  }

  async list(a: string, c: string, opts: ListOptions): Promise<ListPage<ObjectEntry>> {
    return listRange<ObjectRow, ObjectEntry>(this.db, oBase(a, c), opts, (name, r) => r.deleted ? undefined : {
      name, bytes: r.size, etag: r.etag, contentType: r.contentType, lastModified: timestampMs(r.ts),
    });
  }

  /** The container's change version ('' for a container last changed before versions existed). */
  async version(a: string, c: string): Promise<string> {
    return ((await this.db.get(vKey(a, c))) as string | undefined) ?? '';
  }

  /** Every container record of the device (live and deleted), in key order. */
  async *containers(): AsyncGenerator<{ account: string; container: string; record: ContainerRecord }> {
    for await (const [k, v] of this.db.iterator({ gte: 'C\0', lt: 'C\x01' })) {
      const [, account, container] = k.split('\0') as [string, string, string];
      yield { account, container, record: v as ContainerRecord };
    }
  }

  /** Every row of the container, tombstones included, in name order. */
  async *rows(a: string, c: string): AsyncGenerator<{ name: string; row: ObjectRow }> {
    const base = oBase(a, c);
    for await (const [k, v] of this.db.iterator({ gte: base, lt: `O\0${a}\0${c}\x01` })) {
      yield { name: k.slice(base.length), row: v as ObjectRow };
    }
  }

  /**
   * Removes the container (record, rows, dirty mark, version) from this device if its version
   * is still `version`: used once a copy that is not a primary was handed to every primary.
   * Returns false (and keeps everything) when it changed meanwhile.
   */
  async dropIfUnchanged(a: string, c: string, version: string): Promise<boolean> {
    return this.lock.run(cKey(a, c), async () => {
      if ((await this.version(a, c)) !== version) return false;
      // One batch, so a crash cannot leave rows without their record or the reverse.
      const ops: any[] = [{ type: 'del', key: cKey(a, c) }, { type: 'del', key: dKey(a, c) }, { type: 'del', key: vKey(a, c) }];
      for await (const k of this.db.keys({ gte: oBase(a, c), lt: `O\0${a}\0${c}\x01` })) ops.push({ type: 'del', key: k });
      await this.db.batch(ops, { sync: this.sync });
      return true;
    });
  }

  /** Containers whose stats have not reached the account yet. */
  async dirty(max = 1000): Promise<Array<{ account: string; container: string; mark: string }>> {
    const out: Array<{ account: string; container: string; mark: string }> = [];
    for await (const [k, v] of this.db.iterator({ gte: 'D\0', lt: 'D\x01', limit: max })) {
      const [, account, container] = k.split('\0') as [string, string, string];
      out.push({ account, container, mark: v as string });
    }
    return out;
  }

  /** The container's current dirty mark ('' when clean); read it before the stats you send. */
  async mark(a: string, c: string): Promise<string> {
    return ((await this.db.get(dKey(a, c))) as string | undefined) ?? '';
  }

  /** Clears the dirty marker unless it changed since `mark` was read. */
  async clean(a: string, c: string, mark: string): Promise<void> {
    await this.lock.run(cKey(a, c), async () => {
      const cur = await this.db.get(dKey(a, c));
      if (cur === mark) await this.db.del(dKey(a, c));
    });
  }
}
