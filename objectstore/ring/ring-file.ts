/**
 * Swift's ring file format, version 1, read and written byte for byte:
 *
 *   gzip( "R1NG" | uint16 BE version=1 | uint32 BE json length | JSON header |
 *         replica_count arrays of uint16 device ids, 2^part_power entries each )
 *
 * The JSON header holds `devs`, `part_shift`, `replica_count`, `byteorder` ("little" or "big":
 * the byte order of the arrays) and optionally `version` and `next_part_power`. With a
 * fractional replica count the last array is shorter. The gzip header carries a fixed mtime
 * (1300507380) so equal rings give equal bytes and a checksum compares rings.
 * Swift 2.30.1 writes and reads only version 1; older pickled rings are not supported.
 */
import { readFile } from 'node:fs/promises';
import { crc32, deflateRawSync, gunzipSync } from 'node:zlib';
import { basename } from 'node:path';
import { createHash } from 'node:crypto';
import { normalizeDevice, type RingDevice } from './device.js';
import { pythonJson } from './python-json.js';
import { RingFileError } from './errors.js';
import { writeFileAtomic } from './atomic-write.js';

export const RING_MAGIC = 'R1NG';
export const RING_FORMAT_VERSION = 1;
/** gzip mtime Swift writes into every ring file. */
export const RING_GZIP_MTIME = 1300507380;
const GZIP_LEVEL = 9;
const PREAMBLE_BYTES = 4 + 2 + 4;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** No sane ring header is larger; a bigger length means a corrupt file. */
const MAX_HEADER_BYTES = 64 * 1024 * 1024;

/** Everything a ring file holds. */
export interface RingData {
  devs: Array<RingDevice | null>;
  partShift: number;
  /** One array per replica; the last may be shorter for a fractional replica count. */
  replica2part2dev: Uint16Array[];
  version?: number;
  nextPartPower?: number;
}

/** What Ring needs to notice a changed file. */
export interface RingFileInfo {
  md5: string;
  size: number;
}

/** Parses the bytes of a ring file; `file` only names it in errors. */
export function decodeRing(raw: Buffer, file = 'ring'): RingData {
  let buf: Buffer;
  try {
    buf = gunzipSync(raw);
  } catch (e) {
    throw new RingFileError(file, `not a readable gzip ring file (${(e as Error).message})`);
  }
  if (buf.length < PREAMBLE_BYTES || buf.toString('latin1', 0, 4) !== RING_MAGIC) {
    throw new RingFileError(file, `not a ring file: missing "${RING_MAGIC}" magic (pickled rings are not supported)`);
  }
  const formatVersion = buf.readUInt16BE(4);
  if (formatVersion !== RING_FORMAT_VERSION) {
    throw new RingFileError(file, `unknown ring format version ${formatVersion}`);
  }
  const jsonLen = buf.readUInt32BE(6);
  if (jsonLen > MAX_HEADER_BYTES || PREAMBLE_BYTES + jsonLen > buf.length) {
    throw new RingFileError(file, 'truncated: the JSON header is cut short');
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.toString('utf8', PREAMBLE_BYTES, PREAMBLE_BYTES + jsonLen));
  } catch (e) {
    throw new RingFileError(file, `corrupt JSON header (${(e as Error).message})`);
  }
  const partShift = header.part_shift;
  const replicaCount = header.replica_count;
  if (typeof partShift !== 'number' || !Number.isInteger(partShift) || partShift < 0 || partShift > 32) {
    throw new RingFileError(file, 'corrupt header: part_shift missing or out of range');
  }
  if (typeof replicaCount !== 'number' || !Number.isInteger(replicaCount) || replicaCount < 0) {
    throw new RingFileError(file, 'corrupt header: replica_count missing or not a whole number');
  }
  if (!Array.isArray(header.devs)) throw new RingFileError(file, 'corrupt header: devs is not a list');
  const byteorder = header.byteorder ?? 'little';
  if (byteorder !== 'little' && byteorder !== 'big') {
    throw new RingFileError(file, `corrupt header: byteorder "${String(byteorder)}"`);
  }
  const devs = (header.devs as unknown[]).map((d, i) =>
    d === null || d === undefined ? null : normalizeDevice(d as Record<string, unknown>, i));

  const parts = 2 ** (32 - partShift);
  const replica2part2dev: Uint16Array[] = [];
  let offset = PREAMBLE_BYTES + jsonLen;
  for (let r = 0; r < replicaCount; r++) {
    const want = 2 * parts;
    const have = Math.min(want, buf.length - offset);
    const isLast = r === replicaCount - 1;
    if (have < want && !(isLast && have > 0)) {
      throw new RingFileError(file, `truncated: replica ${r} has ${have} of ${want} bytes`);
    }
    if (have % 2 !== 0) throw new RingFileError(file, `truncated: replica ${r} has an odd byte count`);
    const arr = new Uint16Array(have / 2);
    const bytes = buf.subarray(offset, offset + have);
    if (byteorder === 'little') {
      for (let i = 0, j = 0; i < arr.length; i++, j += 2) arr[i] = bytes[j]! | (bytes[j + 1]! << 8);
    } else {
      for (let i = 0, j = 0; i < arr.length; i++, j += 2) arr[i] = (bytes[j]! << 8) | bytes[j + 1]!;
    }
    replica2part2dev.push(arr);
    offset += have;
  }
  if (offset !== buf.length) {
    throw new RingFileError(file, `corrupt: ${buf.length - offset} unexpected bytes after the replica arrays`);
  }
  for (let r = 0; r < replica2part2dev.length; r++) {
    const arr = replica2part2dev[r]!;
    for (let p = 0; p < arr.length; p++) {
      const id = arr[p]!;
      if (id >= devs.length || devs[id] === null) {
        throw new RingFileError(file, `corrupt: partition ${p} replica ${r} points to missing device ${id}`);
      }
    }
  }
  const data: RingData = { devs, partShift, replica2part2dev };
  if (typeof header.version === 'number') data.version = header.version;
  if (typeof header.next_part_power === 'number') data.nextPartPower = header.next_part_power;
  return data;
}

/** Reads and parses a ring file, with the md5 and size of its bytes. */
export async function readRingFile(file: string): Promise<{ data: RingData; info: RingFileInfo }> {
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (e) {
    throw new RingFileError(file, `cannot read ring file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const data = decodeRing(raw, file);
  return { data, info: { md5: createHash('md5').update(raw).digest('hex'), size: raw.length } };
}

/** A gzip member with Python's header: fixed mtime, the file name (minus ".gz"), level 9. */
function gzipLikePython(payload: Buffer, name: string, mtime: number): Buffer {
  const fname = name.endsWith('.gz') ? name.slice(0, -3) : name;
  const nameBytes = fname ? Buffer.concat([Buffer.from(fname, 'latin1'), Buffer.from([0])]) : Buffer.alloc(0);
  const head = Buffer.alloc(10);
  head[0] = 0x1f; head[1] = 0x8b; head[2] = 8;
  head[3] = fname ? 0x08 : 0;
  head.writeUInt32LE(mtime >>> 0, 4);
  head[8] = 2; // maximum compression
  head[9] = 255; // OS unknown, as Python writes
  const tail = Buffer.alloc(8);
  tail.writeUInt32LE(crc32(payload) >>> 0, 0);
  tail.writeUInt32LE(payload.length >>> 0, 4);
  return Buffer.concat([head, nameBytes, deflateRawSync(payload, { level: GZIP_LEVEL }), tail]);
}

/** Serialises ring data as Swift does; arrays are written little-endian. */
export function encodeRing(data: RingData, fileName = '', mtime = RING_GZIP_MTIME): Buffer {
  const header: Record<string, unknown> = {
    devs: data.devs,
    part_shift: data.partShift,
    replica_count: data.replica2part2dev.length,
    byteorder: 'little',
  };
  if (data.version !== undefined) header.version = data.version;
  if (data.nextPartPower !== undefined) header.next_part_power = data.nextPartPower;
  const json = Buffer.from(pythonJson(header), 'ascii');
  const pre = Buffer.alloc(PREAMBLE_BYTES);
  pre.write(RING_MAGIC, 0, 'latin1');
  pre.writeUInt16BE(RING_FORMAT_VERSION, 4);
  pre.writeUInt32BE(json.length, 6);
  const arrays = data.replica2part2dev.map((a) => {
    if (LITTLE_ENDIAN) return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    const b = Buffer.alloc(a.length * 2);
    for (let i = 0; i < a.length; i++) b.writeUInt16LE(a[i]!, i * 2);
    return b;
  });
  return gzipLikePython(Buffer.concat([pre, json, ...arrays]), fileName, mtime);
}

/** Writes a ring file atomically (temp file, fsync, rename, fsync of the directory). */
export async function writeRingFile(file: string, data: RingData): Promise<void> {
  await writeFileAtomic(file, encodeRing(data, basename(file)));
}
