/**
 * Account databases on a storage node: the account record (metadata and totals) and its
 * sorted container listing. Container nodes send one row per container with its put/delete
 * timestamps and its current object count and bytes; newest wins per field, and the account
 * totals change in the same batch as the row. Accounts are created on first use (Swift's
 * account_autocreate).
 */
import { KeyedLock } from '../common/keyed-lock.js';
import type { ContainerEntry, ListOptions, ListPage } from '../proxy/backend.js';
import type { LevelDb } from './device-db.js';
import { listRange } from './listing.js';
import { timestampMs } from './protocol.js';

export interface AccountRecord {
  putTs: string;
  metaTs: string;
  meta: Record<string, string>;
  createdAt: number;
  containerCount: number;
  objectCount: number;
  bytesUsed: number;
}

/** What a container node reports about one container. */
export interface ContainerRow {
  putTs: string;
  deleteTs?: string;
  count: number;
  bytes: number;
  statsTs: string;
}

const aKey = (a: string) => `A\0${a}`;
const lBase = (a: string) => `L\0${a}\0`;
const liveRow = (r: ContainerRow | undefined) => !!r && (!r.deleteTs || r.deleteTs < r.putTs);

export class AccountDb {
  private readonly lock = new KeyedLock();
  constructor(private readonly db: LevelDb, private readonly sync: boolean) {}

  async get(a: string): Promise<AccountRecord | undefined> {
    return (await this.db.get(aKey(a))) as AccountRecord | undefined;
  }

  private fresh(ts: string): AccountRecord {
    return { putTs: ts, metaTs: ts, meta: {}, createdAt: timestampMs(ts), containerCount: 0, objectCount: 0, bytesUsed: 0 };
  }

  /** Creates the account if needed. */
  async put(a: string, ts: string): Promise<boolean> {
    return this.lock.run(aKey(a), async () => {
      if (await this.get(a)) return false;
      await this.db.put(aKey(a), this.fresh(ts), { sync: this.sync });
      return true;
    });
  }

  async post(a: string, ts: string, meta: Record<string, string>): Promise<void> {
    await this.lock.run(aKey(a), async () => {
      const rec = (await this.get(a)) ?? this.fresh(ts);
      if (ts > rec.metaTs || rec.metaTs === rec.putTs) {
        rec.meta = { ...rec.meta, ...meta };
        for (const [k, v] of Object.entries(meta)) if (v === '') delete rec.meta[k];
        rec.metaTs = ts;
      }
      await this.db.put(aKey(a), rec, { sync: this.sync });
    });
  }

  /** Merges a container row (newest wins per field) and updates the account totals. */
  async applyRow(a: string, c: string, row: ContainerRow): Promise<void> {
    await this.lock.run(aKey(a), async () => {
      const rec = (await this.get(a)) ?? this.fresh(row.putTs);
      const key = lBase(a) + c;
      const old = (await this.db.get(key)) as ContainerRow | undefined;
      const merged: ContainerRow = old ? { ...old } : { ...row };
      if (old) {
        if (row.putTs > merged.putTs) merged.putTs = row.putTs;
        if (row.deleteTs && (!merged.deleteTs || row.deleteTs > merged.deleteTs)) merged.deleteTs = row.deleteTs;
        if (row.statsTs >= merged.statsTs) {
          merged.count = row.count;
          merged.bytes = row.bytes;
          merged.statsTs = row.statsTs;
        }
      }
      if (old && liveRow(old)) {
        rec.containerCount -= 1;
        rec.objectCount -= old.count;
        rec.bytesUsed -= old.bytes;
      }
      if (liveRow(merged)) {
        rec.containerCount += 1;
        rec.objectCount += merged.count;
        rec.bytesUsed += merged.bytes;
      }
      await this.db.batch(<any[]>[
        { type: 'put', key, value: merged },
        { type: 'put', key: aKey(a), value: rec },
      ], { sync: this.sync });
    });
  }

  async list(a: string, opts: ListOptions): Promise<ListPage<ContainerEntry>> {
    return listRange<ContainerRow, ContainerEntry>(this.db, lBase(a), opts, (name, r) => liveRow(r) ? {
      name, count: r.count, bytes: r.bytes, lastModified: timestampMs(r.putTs),
    } : undefined);
  }
}
