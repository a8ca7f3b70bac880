/**
 * A device's small-write log: how a storage node makes a small object version durable with a
 * share of one fdatasync instead of four fsyncs of its own (the file, then its hash, suffix and
 * partition directories, each new for nearly every new object).
 *
 *   <device>/wal/<sequence>.log   segments of records, appended in order
 *
 * A small write (diskfile.ts, up to SYNC_IO_BYTES) appends the complete file it is about to
 * place (body and footer) with its path inside the device. Records that arrive while an
 * fdatasync runs wait and go out together in the next one (group commit: a database's write-
 * ahead log). Once its record is durable the writer renames its file into place without any
 * fsync and is acknowledged; the file is then in the page cache, and on disk only once written
 * back. So the log must outlive every file it covers until that file is surely on disk:
 *
 * - checkpoint() closes the segment being appended to, waits until every record in the closed
 *   segments has been placed (or given up, e.g. lost to a newer version), runs one syncfs(2)
 *   of the device's filesystem (path-sync.ts, native/page-cache/src/fsync_dirs.c), then removes the segments.
 *   The node calls it every few seconds: one write-back of many files costs far less than an
 *   fsync per file and directory (measured in bench/objectstore/README.md, session 24).
 * - After a crash, DiskFiles.recoverLogs() replays the segments left before the node serves:
 *   each record whose file is missing or differs is written again through the durable path,
 *   unless a newer version supersedes it (the same newest-wins rule as a live write). A record
 *   of a handoff partition the replicator had already handed back and removed comes back with
 *   it, and is handed back again at the next pass (newest wins there too).
 *
 * Only records of a batch that fdatasync finished were acknowledged, and a batch is written
 * only after the one before it is durable, so a record that does not read back whole (short,
 * or a CRC that does not match) ends its segment: it and anything after it were never
 * acknowledged.
 *
 * Record: "RSL1" | uint32 BE payload length | uint32 BE CRC-32C of the payload | payload,
 * payload: uint16 BE path length | path (UTF-8, relative to the device) | uint8 flags | file.
 */
import { openSync, closeSync, writevSync, fdatasync, readdirSync, readFileSync, unlinkSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { crc32c } from '../common/crc32c.js';
import { fsyncDirs, syncFs, syncFsAvailable } from './path-sync.js';

const MAGIC = 'RSL1';
const HEADER_BYTES = 12;
/** Flag: the write ignored newer .meta files when it checked for a newer version (replication). */
const FLAG_IGNORE_META = 1;
/** A segment takes new batches until it holds this much; then the next batch starts another. */
export const SEGMENT_BYTES = 64 * 1024 * 1024;

/** One small write as the log holds it. */
export interface LoggedWrite {
  /** `objects/<part>/<suffix>/<hash>/<timestamp>.<ext>`, relative to the device folder. */
  path: string;
  ignoreMeta: boolean;
  /** The whole file: body, then footer. */
  file: Buffer;
}

/** What append() gives a writer. */
export interface LogTicket {
  /** Resolves once the record is on disk. */
  durable: Promise<void>;
  /** Call once the file is in place, or never will be; only after `durable` has settled. */
  release(): void;
}

/** True where the log can be used: it needs syncfs(2) from the addon to retire its segments. */
export const smallWriteLogAvailable = syncFsAvailable;

function fdatasyncFd(fd: number): Promise<void> {
  return new Promise((res, rej) => fdatasync(fd, (e) => (e ? rej(e) : res())));
}

export function encodeRecord(w: LoggedWrite): Buffer {
  const path = Buffer.from(w.path, 'utf8');
  const payload = Buffer.allocUnsafe(2 + path.length + 1 + w.file.length);
  payload.writeUInt16BE(path.length, 0);
  path.copy(payload, 2);
  payload[2 + path.length] = w.ignoreMeta ? FLAG_IGNORE_META : 0;
  w.file.copy(payload, 3 + path.length);
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.write(MAGIC, 0, 'latin1');
  header.writeUInt32BE(payload.length, 4);
  header.writeUInt32BE(crc32c(payload) >>> 0, 8);
  return Buffer.concat([header, payload]);
}

/** The whole records of a segment's bytes, in order; stops at the first that is torn. */
export function decodeRecords(buf: Buffer): LoggedWrite[] {
  const out: LoggedWrite[] = [];
  let pos = 0;
  while (pos + HEADER_BYTES <= buf.length) {
    if (buf.toString('latin1', pos, pos + 4) !== MAGIC) break;
    const len = buf.readUInt32BE(pos + 4);
    const end = pos + HEADER_BYTES + len;
    if (len < 3 || end > buf.length) break;
    const payload = buf.subarray(pos + HEADER_BYTES, end);
    if ((crc32c(payload) >>> 0) !== buf.readUInt32BE(pos + 8)) break;
    const pathLen = payload.readUInt16BE(0);
    if (3 + pathLen > payload.length) break;
    out.push({
      path: payload.toString('utf8', 2, 2 + pathLen),
      ignoreMeta: (payload[2 + pathLen] & FLAG_IGNORE_META) !== 0,
      file: Buffer.from(payload.subarray(3 + pathLen)),
    });
    pos = end;
  }
  return out;
}

/** The segment files of a log folder, oldest first (none when the folder does not exist). */
export function listSegments(walDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(walDir);
  } catch (e) {
    // No log here, or a file beside the device folders (not a device).
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw e;
  }
  return names.filter((n) => /^\d{16}\.log$/.test(n)).sort().map((n) => join(walDir, n));
}

/** Reads a segment's whole records. */
export function readSegment(path: string): LoggedWrite[] {
  return decodeRecords(readFileSync(path));
}

interface Segment {
  path: string;
  fd: number;
  bytes: number;
  /** Records assigned to it and not yet released. */
  unreleased: number;
  /** Resolves when `unreleased` falls to 0 (set while a checkpoint waits). */
  drained?: () => void;
  /** Its directory entry still has to be made durable (with its first batch). */
  newEntry: boolean;
  /** Closed and unlinked by a checkpoint. */
  removed?: boolean;
}

interface Waiting {
  record: Buffer;
  resolve: () => void;
  reject: (e: unknown) => void;
  segment?: Segment;
  released: boolean;
}

export class SmallWriteLog {
  private active?: Segment;
  private closed: Segment[] = [];
  private queue: Waiting[] = [];
  private writing = false;
  private nextSeq: number;
  private checkpointing?: Promise<void>;

  /**
   * `walDir` is `<device>/wal`; `deviceDir` is what syncfs is called on. Segments left by a
   * crash must have been replayed (DiskFiles.recoverLogs) before a log is opened on them:
   * new segments number after any found.
   */
  constructor(private readonly walDir: string, private readonly deviceDir: string) {
    const last = listSegments(walDir).pop();
    this.nextSeq = last ? Number(last.slice(-20, -4)) + 1 : 1;
  }

  /** Queues the record; it goes out with the next batch. */
  append(w: LoggedWrite): LogTicket {
    const waiting: Waiting = { record: encodeRecord(w), resolve: () => undefined, reject: () => undefined, released: false };
    const durable = new Promise<void>((resolve, reject) => {
      waiting.resolve = resolve;
      waiting.reject = reject;
    });
    this.queue.push(waiting);
    this.writeBatch();
    return {
      durable,
      release: () => {
        if (waiting.released) return;
        waiting.released = true;
        const s = waiting.segment;
        if (s && --s.unreleased === 0) s.drained?.();
      },
    };
  }

  /** Writes every waiting record in one writev and one fdatasync, unless a batch is under way. */
  private writeBatch(): void {
    if (this.writing || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.writing = true;
    let segment: Segment;
    try {
      segment = this.segmentForBatch();
    } catch (e) {
      for (const w of batch) w.reject(e);
      this.writing = false;
      return this.writeBatch();
    }
    let bytes = 0;
    for (const w of batch) {
      w.segment = segment;
      segment.unreleased++;
      bytes += w.record.length;
    }
    const newEntry = segment.newEntry;
    segment.newEntry = false;
    let synced: Promise<unknown>;
    try {
      let written = writevSync(segment.fd, batch.map((w) => w.record));
      // A short write (rare) is finished record by record.
      for (const w of batch) {
        if (written >= w.record.length) {
          written -= w.record.length;
          continue;
        }
        let off = written;
        while (off < w.record.length) off += writevSync(segment.fd, [w.record.subarray(off)]);
        written = 0;
      }
      segment.bytes += bytes;
      synced = Promise.all([fdatasyncFd(segment.fd), newEntry ? fsyncDirs([this.walDir]) : undefined]);
    } catch (e) {
      synced = Promise.reject(e);
    }
    synced.then(() => {
      for (const w of batch) w.resolve();
    }, (e) => {
      // Whatever reached the segment is torn or unacknowledged: later batches start a new one.
      if (this.active === segment) this.retire(segment);
      for (const w of batch) w.reject(e);
    }).finally(() => {
      this.writing = false;
      this.writeBatch();
    });
  }

  private segmentForBatch(): Segment {
    if (this.active && this.active.bytes >= SEGMENT_BYTES) this.retire(this.active);
    if (!this.active) {
      mkdirSync(this.walDir, { recursive: true });
      const path = join(this.walDir, `${String(this.nextSeq++).padStart(16, '0')}.log`);
      this.active = { path, fd: openSync(path, 'wx'), bytes: 0, unreleased: 0, newEntry: true };
    }
    return this.active;
  }

  private retire(s: Segment): void {
    if (this.active === s) this.active = undefined;
    this.closed.push(s);
  }

  /**
   * Retires the segment being appended to and every one before it: waits for their files to
   * be placed, syncs the filesystem, removes them. Concurrent calls share one pass.
   */
  checkpoint(): Promise<void> {
    this.checkpointing ??= this.checkpointOnce().finally(() => {
      this.checkpointing = undefined;
    });
    return this.checkpointing;
  }

  private async checkpointOnce(): Promise<void> {
    if (this.active) this.retire(this.active);
    const segments = this.closed;
    this.closed = [];
    if (segments.length === 0) return;
    try {
      await Promise.all(segments.map((s) => (s.unreleased === 0 ? undefined : new Promise<void>((r) => {
        s.drained = r;
      }))));
      await syncFs(this.deviceDir);
      for (const s of segments) {
        closeSync(s.fd);
        s.removed = true;
        unlinkSync(s.path);
      }
      await fsyncDirs([this.walDir]);
    } catch (e) {
      // Kept for the next checkpoint (or a replay after a crash): nothing is lost by waiting.
      this.closed = [...segments.filter((s) => !s.removed), ...this.closed];
      throw e;
    }
  }

  /** Retires everything (a clean shutdown leaves no segment to replay). */
  async close(): Promise<void> {
    // A checkpoint already under way may have begun before the last records: loop until none is left.
    for (;;) {
      while (this.writing || this.queue.length > 0) await new Promise((r) => setImmediate(r));
      if (!this.active && this.closed.length === 0) return;
      await this.checkpoint();
    }
  }
}
