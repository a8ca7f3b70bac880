/**
 * The on-disk layout of objects on one storage node (Swift's diskfile idea):
 *
 *   <devices>/<device>/objects/<part>/<hash[-3:]>/<hash>/<timestamp>.data | .ts | .meta
 *   <devices>/<device>/tmp/            temp files of larger writes, renamed into place once durable
 *
 * The path is built only from the partition and the MD5 hash of the name, never from the
 * name itself, so no object name can reach outside its device folder.
 *
 * Metadata travels with the bytes in the same file, as a footer:
 *   body | JSON metadata (UTF-8) | uint32 BE JSON length | "RSF1"
 * A footer (not a header) lets the body be streamed to disk before its MD5 and length are
 * known, keeps the body at offset 0 (ranges are plain offsets), and needs no xattrs (tmpfs
 * and many filesystems limit them) and no sidecar: one file, one fsync, one atomic rename.
 * A `.data` footer also holds `crc32c`, the CRC-32C of the body as the writer streamed it to
 * disk (computed here, in every ObjectWriter, so every writer of .data files records it):
 * whole-object reads check it instead of the MD5 (a hardware CRC costs ~1/15 of an MD5).
 * Files written before the field existed have none, nor do files written where the native
 * CRC is missing (no C toolchain: a JavaScript CRC would cost more than the MD5 it replaces);
 * those are checked against the ETag.
 *
 * Durability: temp file written, fsynced, renamed into the hash dir, hash dir fsynced (and
 * the parents of any directory that had to be created; never the tmp dir: a temp file that a
 * crash loses was never acknowledged). With the small-write log on (small-write-log.ts), a
 * small write (up to SYNC_IO_BYTES) instead appends its whole file to its device's log, shares
 * one fdatasync with the writes around it, and is put in place without fsyncs, straight from
 * memory as an unnamed file linked to its name (place-file.ts), never under a temp name; the log
 * keeps it until a checkpoint's syncfs has it on disk, and recoverLogs replays it after a
 * crash. The newest timestamp wins: a write
 * older than or equal to what is there gets ObjectConflict; after a write lands, older files
 * in the hash dir are removed. A DELETE writes a `.ts` tombstone (footer only). A POST writes
 * a `.meta` file (footer only) whose metadata replaces the user metadata of the .data.
 */
import { stat, statfs, mkdir, readdir, rename, type FileHandle } from 'node:fs/promises';
import {
  openSync, closeSync, close as fsClose, writev, readdirSync, mkdirSync, renameSync, unlinkSync,
  readSync, read, fstatSync, existsSync, readFileSync, constants as fsConstants,
} from 'node:fs';
import { join, dirname } from 'node:path';
import type { WireMetadata } from './protocol.js';
import { fsyncFile } from './page-cache.js';
import { uniqueIds } from '../common/unique-ids.js';
import { crc32c, nativeCrc32c } from '../common/crc32c.js';
import { cancelReceive, receiveToFile, type ReceiveHandle } from '../common/receive-to-file.js';
import {
  SmallWriteLog, listSegments, readSegment, smallWriteLogAvailable, type LoggedWrite,
} from './small-write-log.js';
import { fsyncDirs, fsyncPathAndParents, syncFs } from './path-sync.js';
import { createTempFile, placeFile, writeAllSync } from './place-file.js';

export const FOOTER_MAGIC = 'RSF1';
export const FOOTER_TAIL_BYTES = 8;
/** First read of a file's end: enough for almost every footer in one pread. */
export const FOOTER_READ_BYTES = 4096;
const STATFS_CACHE_MS = 1000;
const DEVICE_CACHE_MS = 1000;
/**
 * Writes and whole-body reads up to this size are made synchronously (a page-cache copy of
 * microseconds, cheaper than a trip through the libuv pool); larger ones go to the pool.
 */
export const SYNC_IO_BYTES = 64 * 1024;
/** A logged write's path inside its device: objects/<part>/<suffix>/<hash>/<timestamp>.<ext>. */
const LOGGED_PATH = /^objects\/(\d{1,9})\/([0-9a-f]{3})\/([0-9a-f]{32})\/([^/]+)\.(data|ts|meta)$/;

/** What is stored about one object version (or tombstone, or metadata update). */
export interface DiskMetadata extends WireMetadata {
  /** "/account/container/object" (kept for the replicator and for humans). */
  name: string;
  timestamp: string;
  etag: string;
  contentLength: number;
  /**
   * `.data` only: CRC-32C (common/crc32c.ts) of the body, an unsigned 32-bit integer, set by
   * the ObjectWriter from the bytes it wrote. Absent in files written before it existed or
   * without the native addon.
   */
  crc32c?: number;
}

/** The body CRC-32C a footer records, or undefined when it has none (older file) or a malformed one. */
export function storedCrc32c(meta: DiskMetadata): number | undefined {
  const v = meta.crc32c;
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? v : undefined;
}

export class DeviceUnavailable extends Error {}
export class DeviceFull extends Error {}
/** Something at least as new is already on disk. */
export class ObjectConflict extends Error {
  constructor(readonly existing: string) {
    super(`newer or equal timestamp ${existing} exists`);
  }
}

/** Temporary file names (opened with O_EXCL: even a collision could not overwrite another writer's file). */
const tmpName = uniqueIds();

/** Writes all of `chunks` at the file's current offset: small writes at once, large ones in the pool. */
async function writeAll(fd: number, chunks: Buffer[]): Promise<void> {
  const total = chunks.reduce((a, c) => a + c.length, 0);
  if (total <= SYNC_IO_BYTES) return writeAllSync(fd, chunks);
  let written = await new Promise<number>((res, rej) => writev(fd, chunks, (e, n) => (e ? rej(e) : res(n))));
  // Rare short write: finish the rest chunk by chunk.
  for (const c of chunks) {
    if (written >= c.length) {
      written -= c.length;
      continue;
    }
    writeAllSync(fd, [c.subarray(written)]);
    written = 0;
  }
}

/** listSync with the readdir in the pool. */
async function listInPool(dir: string): Promise<HashDirListing> {
  try {
    return parseListing(await readdir(dir));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { files: [] };
    throw e;
  }
}

function parseListing(files: string[]): HashDirListing {
  const out: HashDirListing = { files };
  for (const f of files) {
    const dot = f.lastIndexOf('.');
    const ts = f.slice(0, dot);
    const ext = f.slice(dot + 1);
    if (ext === 'data' || ext === 'ts') {
      if (!out.newest || ts > out.newest.ts || (ts === out.newest.ts && ext === 'ts')) out.newest = { ts, ext };
    } else if (ext === 'meta') {
      if (!out.newestMeta || ts > out.newestMeta) out.newestMeta = ts;
    }
  }
  return out;
}

/**
 * The versions in a hash dir (none when it does not exist), read synchronously. A write
 * (`write`) asks first with access(2) whether the dir exists (about 1 us): a new object's does
 * not, and the ENOENT a readdir throws costs 8 us of stack capture, twice per new object. A
 * read mostly finds the dir and skips that call.
 */
function listSync(dir: string, write = false): HashDirListing {
  if (write && !existsSync(dir)) return { files: [] };
  try {
    return parseListing(readdirSync(dir));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { files: [] };
    throw e;
  }
}

function parseFooter(buf: Buffer, fileSize: number): { meta: DiskMetadata; footerBytes: number } | number {
  if (buf.length < FOOTER_TAIL_BYTES) throw new Error('file too short for a footer');
  const tail = buf.subarray(buf.length - FOOTER_TAIL_BYTES);
  if (tail.toString('latin1', 4) !== FOOTER_MAGIC) throw new Error('missing footer magic');
  const len = tail.readUInt32BE(0);
  const total = len + FOOTER_TAIL_BYTES;
  if (total > fileSize) throw new Error('footer longer than file');
  if (total > buf.length) return total; // caller must read more
  const json = buf.subarray(buf.length - total, buf.length - FOOTER_TAIL_BYTES).toString('utf8');
  return { meta: JSON.parse(json) as DiskMetadata, footerBytes: total };
}

export function encodeFooter(meta: DiskMetadata): Buffer {
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  const tail = Buffer.alloc(FOOTER_TAIL_BYTES);
  tail.writeUInt32BE(json.length, 0);
  tail.write(FOOTER_MAGIC, 4, 'latin1');
  return Buffer.concat([json, tail]);
}

/** readFooter with synchronous reads (the request path: see openObject). */
export function readFooterSync(fd: number, size: number): { meta: DiskMetadata; footerBytes: number } {
  let want = Math.min(size, FOOTER_READ_BYTES);
  for (;;) {
    const buf = Buffer.alloc(want);
    readSync(fd, buf, 0, want, size - want);
    const r = parseFooter(buf, size);
    if (typeof r !== 'number') return r;
    want = r;
  }
}

export async function readFooter(fh: FileHandle, size: number): Promise<{ meta: DiskMetadata; footerBytes: number }> {
  let want = Math.min(size, FOOTER_READ_BYTES);
  for (;;) {
    const buf = Buffer.alloc(want);
    await fh.read(buf, 0, want, size - want);
    const r = parseFooter(buf, size);
    if (typeof r !== 'number') return r;
    want = r;
  }
}

/** Reads [0, length) of a file synchronously (from the page cache: see SYNC_IO_BYTES). */
function readWholeSync(fd: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let pos = 0;
  while (pos < length) {
    const n = readSync(fd, buf, pos, length - pos, pos);
    if (n === 0) throw new Error('object file shorter than its footer says');
    pos += n;
  }
  return buf;
}

/**
 * Reads [0, length) of an object file: small bodies synchronously (see SYNC_IO_BYTES), larger
 * ones in the pool so a cold read never stalls the event loop.
 */
export async function readObjectBody(fd: number, length: number): Promise<Buffer> {
  if (length <= SYNC_IO_BYTES) return readWholeSync(fd, length);
  const buf = Buffer.allocUnsafe(length);
  let pos = 0;
  while (pos < length) {
    const n = await new Promise<number>((res, rej) => read(fd, buf, pos, length - pos, pos, (e, got) => (e ? rej(e) : res(got))));
    if (n === 0) throw new Error('object file shorter than its footer says');
    pos += n;
  }
  return buf;
}

/** An open object version: read its body from `fd` at [0, bodySize). Close (closeSync) when done. */
export interface OpenObject {
  fd: number;
  meta: DiskMetadata;
  bodySize: number;
  /** The whole body, when the file was small enough to be read in the same call as its footer. */
  body?: Buffer;
}

/**
 * Opens for reading without updating the access time (O_NOATIME): under relatime the first read
 * of a new file would dirty its inode for nothing the store uses (ext4's touch_atime was ~1 % of a
 * node's GET). Only the file's owner (or root) may ask for it; anyone else opens it plainly.
 */
let noAtime = fsConstants.O_NOATIME ?? 0;
function openForRead(path: string): number {
  if (noAtime) {
    try {
      return openSync(path, fsConstants.O_RDONLY | noAtime);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
      noAtime = 0;
    }
  }
  return openSync(path, 'r');
}

/**
 * Opens a stored file (.data, .meta, .ts) and reads its footer, synchronously: microseconds
 * from the page cache, where each trip through the libuv pool waited milliseconds on a busy
 * node. The file is closed again when its footer cannot be read; errors keep their `syscall`
 * ('open', 'fstat', 'read'), a footer that does not parse throws a plain Error.
 */
export function openStoredFile(path: string, wholeUpTo = 0): OpenObject {
  const fd = openForRead(path);
  try {
    const size = fstatSync(fd).size;
    if (size <= wholeUpTo) {
      // Small: footer and body in one read instead of two.
      const file = readWholeSync(fd, size);
      const r = parseFooter(file, size);
      if (typeof r === 'number') throw new Error('footer longer than file');
      return { fd, meta: r.meta, bodySize: size - r.footerBytes, body: file.subarray(0, size - r.footerBytes) };
    }
    const { meta, footerBytes } = readFooterSync(fd, size);
    return { fd, meta, bodySize: size - footerBytes };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** No version to read: nothing at all, or a tombstone (with its timestamp). */
export type AbsentObject = { kind: 'missing' } | { kind: 'deleted'; timestamp: string };

export type ObjectState = AbsentObject | { kind: 'present'; obj: OpenObject };

export type VersionState = AbsentObject | { kind: 'present'; timestamp: string };

/** What a hash dir without a live .data holds; undefined when its newest version is a .data. */
function absentIn(l: HashDirListing): AbsentObject | undefined {
  if (!l.newest) return { kind: 'missing' };
  if (l.newest.ext === 'ts') return { kind: 'deleted', timestamp: l.newest.ts };
  return undefined;
}

/** A temp file being written; finish() makes it the object's newest version. */
export interface ObjectWriter {
  write(chunk: Buffer): Promise<void>;
  /** Writes several buffers in one system call (large bodies are written in ~1 MiB batches). */
  writev(chunks: Buffer[]): Promise<void>;
  /**
   * Takes the next `bytes` body bytes straight from socket `sockFd` into the file
   * (common/receive-to-file.ts), continuing the CRC; only when `receiveToFileAvailable`.
   * `signal` cancels it (the promise then rejects with ECANCELED).
   */
  receive(sockFd: number, bytes: number, signal?: AbortSignal): Promise<void>;
  /**
   * Appends the footer, fsyncs (or, for a small write with the log on, logs the whole file),
   * renames into place, fsyncs the dir (not for a logged write), cleans older files. A
   * `.data` footer gets the `crc32c` of the bytes written when the native CRC is there (a
   * `crc32c` in `meta` is never written).
   * `whileDirSyncs` (if given) runs once the version is in place (readable), at the same time
   * as the directory fsync; finish resolves when both are done and rejects if either fails.
   * `beforePlace` (if given) is awaited before the rename: what must exist whenever the version
   * does (the listing rows' queue entries) is written meanwhile, during the data fsync.
   */
  finish(meta: DiskMetadata, whileDirSyncs?: () => Promise<void>, beforePlace?: Promise<unknown>): Promise<void>;
  /** Removes the temp file. Safe to call after finish or twice. */
  abort(): Promise<void>;
}

/** Options of the disk layer. */
export interface DiskOptions {
  /** Folder holding one sub-folder per device. */
  devicesDir: string;
  /** Refuse writes (507) that would leave less than this many bytes free (Swift's fallocate_reserve). */
  reserveBytes: number;
  /**
   * Small writes are made durable through each device's small-write log (small-write-log.ts)
   * instead of fsyncs of their own. Needs the addon's syncFs (`smallWriteLogAvailable`).
   */
  smallWriteLog?: boolean;
}

/** What a small-write log replay did (DiskFiles.recoverLogs). */
export interface LogRecovery {
  segments: number;
  records: number;
  /** Files written again: missing, or not what the log holds (torn by the crash). */
  restored: number;
  /** Records whose version a newer one had replaced. */
  superseded: number;
}

interface HashDirListing {
  newest?: { ts: string; ext: 'data' | 'ts' };
  newestMeta?: string;
  files: string[];
}

/** The objects of all devices of one node. */
export class DiskFiles {
  private readonly freeCache = new Map<string, { at: number; free: number }>();
  private readonly deviceSeen = new Map<string, number>();
  private readonly logs = new Map<string, SmallWriteLog>();
  constructor(private readonly opts: DiskOptions) {
    if (opts.smallWriteLog && !smallWriteLogAvailable) throw new Error('the small-write log needs the native addon (native/page-cache)');
  }

  /** The device's small-write log, opened on first use; undefined when the option is off. */
  private logFor(device: string): SmallWriteLog | undefined {
    if (!this.opts.smallWriteLog) return undefined;
    let log = this.logs.get(device);
    if (!log) {
      log = new SmallWriteLog(join(this.devicePath(device), 'wal'), this.devicePath(device));
      this.logs.set(device, log);
    }
    return log;
  }

  /** Retires every log segment written so far (see SmallWriteLog.checkpoint). */
  async checkpointLogs(): Promise<void> {
    await Promise.all([...this.logs.values()].map((l) => l.checkpoint()));
  }

  /** Retires all logs: a clean shutdown leaves nothing to replay. */
  async closeLogs(): Promise<void> {
    await Promise.all([...this.logs.values()].map((l) => l.close()));
    this.logs.clear();
  }

  /**
   * Replays the small-write log segments a crash left on every device, before the node
   * serves (whether or not the log is still switched on). A record whose file is in place and
   * whole needs nothing but the final sync; a missing or different one is written again
   * through the durable path, unless a newer version replaced it meanwhile. Segments are
   * removed only once all of that is on disk.
   */
  async recoverLogs(): Promise<LogRecovery> {
    const out: LogRecovery = { segments: 0, records: 0, restored: 0, superseded: 0 };
    let devices: string[];
    try {
      devices = readdirSync(this.opts.devicesDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
      throw e;
    }
    for (const device of devices) {
      const walDir = join(this.devicePath(device), 'wal');
      const segments = listSegments(walDir);
      if (segments.length === 0) continue;
      const intact: string[] = [];
      for (const segment of segments) {
        for (const record of readSegment(segment)) {
          out.records++;
          const r = await this.restore(device, record);
          if (r === 'restored') out.restored++;
          else if (r === 'superseded') out.superseded++;
          else intact.push(join(this.devicePath(device), record.path));
        }
      }
      // Files found whole may be in the page cache only (the process died, not the host).
      if (smallWriteLogAvailable) await syncFs(this.devicePath(device));
      else for (const f of intact) await fsyncPathAndParents(f, this.devicePath(device));
      for (const segment of segments) unlinkSync(segment);
      await fsyncDirs([walDir]);
      out.segments += segments.length;
    }
    return out;
  }

  /** Puts one logged write back in place (see recoverLogs). */
  private async restore(device: string, record: LoggedWrite): Promise<'intact' | 'restored' | 'superseded'> {
    const m = LOGGED_PATH.exec(record.path);
    if (!m || m[2] !== m[3].slice(-3)) throw new Error(`small-write log of device ${device}: bad path ${record.path}`);
    const [, part, , hash, , ext] = m;
    const full = join(this.devicePath(device), record.path);
    let existing: Buffer | undefined;
    try {
      existing = readFileSync(full);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (existing?.equals(record.file)) return 'intact';
    if (existing) unlinkSync(full);
    const parsed = parseFooter(record.file, record.file.length);
    if (typeof parsed === 'number') throw new Error(`small-write log of device ${device}: bad footer in ${record.path}`);
    const w = await this.createWriter(device, Number(part), hash, ext as 'data' | 'ts' | 'meta',
      { ignoreMeta: record.ignoreMeta, unlogged: true });
    try {
      await w.write(record.file.subarray(0, record.file.length - parsed.footerBytes));
      await w.finish(parsed.meta);
      return 'restored';
    } catch (e) {
      await w.abort();
      if (e instanceof ObjectConflict) return 'superseded';
      throw e;
    }
  }

  devicePath(device: string): string {
    return join(this.opts.devicesDir, device);
  }

  /** True when the device folder exists (a positive answer is trusted for a second). */
  async hasDevice(device: string): Promise<boolean> {
    const seen = this.deviceSeen.get(device);
    if (seen !== undefined && Date.now() - seen < DEVICE_CACHE_MS) return true;
    const ok = (await stat(this.devicePath(device)).catch(() => undefined))?.isDirectory() ?? false;
    if (ok) this.deviceSeen.set(device, Date.now());
    return ok;
  }

  /** Throws DeviceUnavailable unless the device folder exists. */
  async checkDevice(device: string): Promise<void> {
    try {
      const s = await stat(join(this.devicePath(device)));
      if (!s.isDirectory()) throw new DeviceUnavailable(`device ${device} is not a folder`);
    } catch (e) {
      if (e instanceof DeviceUnavailable) throw e;
      throw new DeviceUnavailable(`unknown device ${device}`);
    }
  }

  /** Throws DeviceFull when writing `bytes` would eat into the reserve. */
  async checkSpace(device: string, bytes: number): Promise<void> {
    const now = Date.now();
    let c = this.freeCache.get(device);
    if (!c || now - c.at > STATFS_CACHE_MS) {
      const s = await statfs(this.devicePath(device));
      c = { at: now, free: Number(s.bavail) * Number(s.bsize) };
      this.freeCache.set(device, c);
    }
    if (c.free - bytes < this.opts.reserveBytes) throw new DeviceFull(`device ${device} is full`);
  }

  hashDir(device: string, part: number, hash: string): string {
    return join(this.devicePath(device), 'objects', String(part), hash.slice(-3), hash);
  }

  /**
   * The newest timestamp of any .data/.ts/.meta in the hash dir, or undefined; of the
   * .data/.ts only with `ignoreMeta` (replication pushes, see H_REPLICATION).
   */
  async newestTimestamp(device: string, part: number, hash: string, ignoreMeta = false): Promise<string | undefined> {
    // A readdir of a few names: made synchronously (see createWriter).
    const l = listSync(this.hashDir(device, part, hash), true);
    return ignoreMeta ? l.newest?.ts : newestOf(l);
  }

  /**
   * The newest version's kind and timestamp, from the hash dir's names alone (no file is
   * opened): what a replica's version check needs. The timestamp is a newer .meta's when there
   * is one, as openObject gives it.
   */
  versionOf(device: string, part: number, hash: string): VersionState {
    const l = listSync(this.hashDir(device, part, hash));
    return absentIn(l) ?? { kind: 'present', timestamp: newestOf(l)! };
  }

  /**
   * Opens the newest version; metadata of a newer .meta replaces the user metadata. The
   * readdir, open, fstat and footer read are made synchronously, like the metadata calls of a
   * small write (see createWriter): each is microseconds from the page cache, while four trips
   * through the libuv pool cost more than the rest of a small GET on a busy 2-core host.
   * A .data file of at most `wholeUpTo` bytes is read whole with its footer (OpenObject.body).
   */
  async openObject(device: string, part: number, hash: string, wholeUpTo = 0): Promise<ObjectState> {
    const dir = this.hashDir(device, part, hash);
    for (let attempt = 0; ; attempt++) {
      const l = listSync(dir);
      const absent = absentIn(l);
      if (absent) return absent;
      const dataTs = l.newest!.ts;
      let obj: OpenObject;
      try {
        obj = openStoredFile(join(dir, `${dataTs}.data`), wholeUpTo);
      } catch (e) {
        // Replaced between readdir and open: look again once.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && attempt === 0) continue;
        throw e;
      }
      try {
        if (l.newestMeta && l.newestMeta > dataTs) {
          const m = readMetaFile(join(dir, `${l.newestMeta}.meta`));
          if (m) {
            obj.meta.meta = m.meta;
            obj.meta.headers = { ...obj.meta.headers, ...m.headers };
            if (m.contentType) obj.meta.contentType = m.contentType;
            obj.meta.timestamp = m.timestamp;
          }
        }
        return { kind: 'present', obj };
      } catch (e) {
        closeSync(obj.fd);
        throw e;
      }
    }
  }

  /**
   * Starts a new version. Its bytes stay in memory while they are few (up to SYNC_IO_BYTES): a
   * small write with the log on then needs no temp file at all, its file goes from memory into
   * the log and, once that is durable, into place whole (place-file.ts). Larger bodies, bodies
   * taken straight from a socket, and small writes without the log go to a temp file in
   * `<device>/tmp`, renamed into place once durable.
   * The cheap metadata calls of a write (open, close, readdir, mkdir, rename, small writes) are
   * made synchronously, as Swift's object server makes them: each trip through the libuv pool
   * cost 3-5 ms of scheduling on a busy 2-core host, more than the call itself; fsyncs and
   * large writes still run in the pool. Once a body is large (over SYNC_IO_BYTES), its
   * finishing calls go to the pool as well: under heavy write-back a metadata call can block
   * for 100+ ms, which must not stall the event loop that serves every other request, and one
   * more trip is nothing next to a large body.
   */
  async createWriter(device: string, part: number, hash: string, ext: 'data' | 'ts' | 'meta',
    opts: { ignoreMeta?: boolean; unlogged?: boolean } = {}): Promise<ObjectWriter> {
    const tmpPath = join(this.devicePath(device), 'tmp', `${hash}.${tmpName()}.tmp`);
    /** The body so far while it is small and in memory (copied: a sender may reuse its chunks). */
    let held: Buffer[] | undefined = [];
    /** The temp file, once there is one. */
    let fd = -1;
    let done = false;
    let closed = false;
    let bytes = 0;
    const recordCrc = ext === 'data' && nativeCrc32c;
    let crc = 0;
    /** The temp file, made (with what was held) the first time it is needed. */
    const file = (): number => {
      if (fd >= 0) return fd;
      // Readable too: a logged small write that went to a file reads it back for the log.
      fd = createTempFile(tmpPath, true);
      writeAllSync(fd, held!);
      held = undefined;
      return fd;
    };
    const close = () => {
      if (fd >= 0 && !closed) {
        closed = true;
        closeSync(fd);
      }
    };
    const dir = this.hashDir(device, part, hash);
    return {
      // The CRC is taken when a write is issued; writes are issued in body order.
      write: async (chunk) => {
        bytes += chunk.length;
        if (recordCrc) crc = crc32c(chunk, crc);
        if (held && bytes <= SYNC_IO_BYTES) held.push(Buffer.from(chunk));
        else await writeAll(file(), [chunk]);
      },
      writev: async (chunks) => {
        for (const c of chunks) {
          bytes += c.length;
          if (recordCrc) crc = crc32c(c, crc);
        }
        if (held && bytes <= SYNC_IO_BYTES) for (const c of chunks) held.push(Buffer.from(c));
        else await writeAll(file(), chunks);
      },
      receive: (sockFd, count, signal) => new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        let handle: ReceiveHandle | undefined;
        const onAbort = () => {
          if (handle) cancelReceive(handle);
        };
        try {
          handle = receiveToFile(sockFd, file(), count, crc, (err, written, newCrc) => {
            signal?.removeEventListener('abort', onAbort);
            bytes += written;
            if (err) return reject(err);
            crc = newCrc;
            resolve();
          });
        } catch (e) {
          return reject(e);
        }
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
      finish: async (meta, whileDirSyncs, beforePlace) => {
        const inPool = bytes > SYNC_IO_BYTES;
        // Only the writer's own CRC is ever recorded (not one that came in with the metadata).
        const { crc32c: _given, ...rest } = meta;
        const footer = encodeFooter(recordCrc ? { ...rest, crc32c: crc } : rest);
        const log = inPool || opts.unlogged ? undefined : this.logFor(device);
        const name = `${meta.timestamp}.${ext}`;
        const whole = held && log ? Buffer.concat([...held, footer]) : undefined;
        if (!whole) writeAllSync(file(), [footer]);
        // A small write's file goes into the log whole (when it went to a temp file, read back
        // from the page cache); its fsyncs are the log's.
        let ticket = log?.append({
          path: `objects/${part}/${hash.slice(-3)}/${hash}/${name}`,
          ignoreMeta: !!opts.ignoreMeta,
          file: whole ?? await readObjectBody(fd, bytes + footer.length),
        });
        try {
          await Promise.all([ticket ? ticket.durable : fsyncFile(fd, bytes), beforePlace]);
          if (inPool) {
            closed = true;
            await new Promise<void>((res, rej) => fsClose(fd, (e) => (e ? rej(e) : res())));
          } else {
            close();
          }
          const l = inPool ? await listInPool(dir) : listSync(dir, true);
          // A dir created for a write that then loses to a newer version stays empty, which
          // reads as "missing".
          const created = l.files.length > 0 ? undefined
            : inPool ? await mkdir(dir, { recursive: true }) : mkdirSync(dir, { recursive: true });
          const newest = opts.ignoreMeta ? l.newest?.ts : newestOf(l);
          if (newest && newest >= meta.timestamp) {
            if (!whole) {
              try {
                unlinkSync(tmpPath);
              } catch {
                // already gone
              }
            }
            done = true;
            throw new ObjectConflict(newest);
          }
          if (whole) placeFile(dir, join(dir, name), whole, tmpPath);
          else if (inPool) await rename(tmpPath, join(dir, name));
          else renameSync(tmpPath, join(dir, name));
          done = true;
          if (ticket) {
            // In place: the log's next checkpoint syncs it with everything else.
            ticket.release();
            ticket = undefined;
            await whileDirSyncs?.();
          } else {
            // The hash dir, and the parents of every directory just created, fsynced at once
            // (concurrent fsyncs share one journal commit).
            const dirs = [dir];
            if (created) {
              let d = dirname(dir);
              const stop = dirname(created);
              for (;;) {
                dirs.push(d);
                if (d === stop || d.length <= stop.length) break;
                d = dirname(d);
              }
            }
            await Promise.all([fsyncDirs(dirs, inPool), whileDirSyncs?.()]);
          }
          this.cleanup(dir, l, meta.timestamp, ext);
        } finally {
          if (ticket) {
            // Failed before its file was placed: the checkpoint must not wait for it.
            await ticket.durable.catch(() => undefined);
            ticket.release();
          }
        }
      },
      abort: async () => {
        held = undefined;
        try {
          close();
        } catch {
          // already closed
        }
        if (!done && fd >= 0) {
          done = true;
          try {
            unlinkSync(tmpPath);
          } catch {
            // never created or already gone
          }
        }
      },
    };
  }

  /** Removes files made obsolete by the version just written. */
  private cleanup(dir: string, before: HashDirListing, ts: string, ext: string): void {
    for (const f of before.files) {
      const dot = f.lastIndexOf('.');
      const fts = f.slice(0, dot);
      const fext = f.slice(dot + 1);
      if (ext === 'meta' ? fext === 'meta' && fts < ts : fts < ts) {
        try {
          unlinkSync(join(dir, f));
        } catch {
          // removed by someone else
        }
      }
    }
  }
}

/** The metadata of a .meta file, or undefined when it is gone (replaced meanwhile). */
function readMetaFile(path: string): DiskMetadata | undefined {
  let f: OpenObject;
  try {
    f = openStoredFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).syscall === 'open') return undefined;
    throw e;
  }
  closeSync(f.fd);
  return f.meta;
}

function newestOf(l: HashDirListing): string | undefined {
  const a = l.newest?.ts;
  const b = l.newestMeta;
  if (a && b) return a > b ? a : b;
  return a ?? b;
}
