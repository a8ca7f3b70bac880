/**
 * Builder files: ringstack's own format for a RingBuilder's whole state, so a later rebalance
 * moves as little as possible. gzip of JSON:
 *   { "format": "ringstack-builder", "format_version": 1, part_power, replicas, min_part_hours,
 *     overload, version, devs, remove_dev_ids, last_part_moves_epoch, dispersion, devs_changed,
 *     "last_part_moves": base64 bytes, "replica2part2dev": [base64 uint16 little-endian, …] | null }
 * Written atomically. A truncated or corrupt file gives a RingFileError naming the file.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { RingBuilder, type BuilderState } from './builder.js';
import { normalizeDevice, type RingDevice } from './device.js';
import { RingFileError } from './errors.js';
import { writeFileAtomic } from './atomic-write.js';

export const BUILDER_FORMAT = 'ringstack-builder';
export const BUILDER_FORMAT_VERSION = 1;
/** Fast compression: builder files are rewritten on every command and read only by ringstack. */
const BUILDER_GZIP_LEVEL = 1;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function u16ToBase64(a: Uint16Array): string {
  if (LITTLE_ENDIAN) return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
  const b = Buffer.alloc(a.length * 2);
  for (let i = 0; i < a.length; i++) b.writeUInt16LE(a[i]!, i * 2);
  return b.toString('base64');
}

function base64ToU16(text: unknown, length: number, file: string, what: string): Uint16Array {
  if (typeof text !== 'string') throw new RingFileError(file, `corrupt builder: ${what} is missing`);
  const b = Buffer.from(text, 'base64');
  if (b.length !== length * 2) throw new RingFileError(file, `corrupt builder: ${what} has ${b.length / 2} entries, expected ${length}`);
  const a = new Uint16Array(length);
  if (LITTLE_ENDIAN) new Uint8Array(a.buffer).set(b);
  else for (let i = 0; i < length; i++) a[i] = b.readUInt16LE(i * 2);
  return a;
}

export function encodeBuilder(b: RingBuilder): Buffer {
  const s = b.state;
  const doc = {
    format: BUILDER_FORMAT,
    format_version: BUILDER_FORMAT_VERSION,
    part_power: s.partPower,
    replicas: s.replicas,
    min_part_hours: s.minPartHours,
    overload: s.overload,
    version: s.version,
    devs: s.devs,
    remove_dev_ids: s.removeDevIds,
    last_part_moves_epoch: s.lastPartMovesEpoch,
    dispersion: s.dispersion,
    devs_changed: s.devsChanged,
    last_part_moves: s.lastPartMoves
      ? Buffer.from(s.lastPartMoves.buffer, s.lastPartMoves.byteOffset, s.lastPartMoves.length).toString('base64') : null,
    replica2part2dev: s.replica2part2dev ? s.replica2part2dev.map(u16ToBase64) : null,
  };
  return gzipSync(JSON.stringify(doc), { level: BUILDER_GZIP_LEVEL });
}

function num(doc: Record<string, unknown>, key: string, file: string): number {
  const v = doc[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RingFileError(file, `corrupt builder: ${key} is not a number`);
  return v;
}

export function decodeBuilder(raw: Buffer, file = 'builder'): RingBuilder {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(gunzipSync(raw).toString('utf8'));
  } catch (e) {
    throw new RingFileError(file, `not a readable builder file (${(e as Error).message})`);
  }
  if (!doc || typeof doc !== 'object' || doc.format !== BUILDER_FORMAT) {
    throw new RingFileError(file, 'not a ringstack builder file');
  }
  if (doc.format_version !== BUILDER_FORMAT_VERSION) {
    throw new RingFileError(file, `unknown builder format version ${String(doc.format_version)}`);
  }
  const partPower = num(doc, 'part_power', file);
  const replicas = num(doc, 'replicas', file);
  if (!Number.isInteger(partPower) || partPower < 1 || partPower > 32) throw new RingFileError(file, 'corrupt builder: part_power out of range');
  if (!Number.isInteger(replicas) || replicas < 1) throw new RingFileError(file, 'corrupt builder: replicas out of range');
  const parts = 2 ** partPower;
  if (doc.replica2part2dev !== null && partPower > 30) throw new RingFileError(file, 'corrupt builder: part_power too large');
  if (!Array.isArray(doc.devs)) throw new RingFileError(file, 'corrupt builder: devs is not a list');
  const devs = (doc.devs as unknown[]).map((d, i): RingDevice | null => {
    if (d === null) return null;
    if (typeof d !== 'object') throw new RingFileError(file, `corrupt builder: device ${i} is not an object`);
    return normalizeDevice(d as Record<string, unknown>, i);
  });
  let lastPartMoves: Uint8Array | null = null;
  if (doc.last_part_moves !== null) {
    const lpm = typeof doc.last_part_moves === 'string' ? Buffer.from(doc.last_part_moves, 'base64') : Buffer.alloc(0);
    if (lpm.length !== parts) throw new RingFileError(file, 'corrupt builder: last_part_moves has the wrong length');
    lastPartMoves = new Uint8Array(lpm);
  }
  let r2p2d: Uint16Array[] | null = null;
  if (doc.replica2part2dev !== null) {
    if (!Array.isArray(doc.replica2part2dev) || doc.replica2part2dev.length !== replicas) {
      throw new RingFileError(file, 'corrupt builder: replica2part2dev does not match the replica count');
    }
    r2p2d = doc.replica2part2dev.map((t, r) => base64ToU16(t, parts, file, `replica ${r}`));
    for (const arr of r2p2d) {
      for (let p = 0; p < parts; p++) {
        const id = arr[p]!;
        if (id !== 0xffff && (id >= devs.length || !devs[id])) {
          throw new RingFileError(file, `corrupt builder: partition ${p} points to missing device ${id}`);
        }
      }
    }
  }
  const removeDevIds = Array.isArray(doc.remove_dev_ids) ? (doc.remove_dev_ids as unknown[]).map(Number) : [];
  if (removeDevIds.some((id) => !devs[id])) throw new RingFileError(file, 'corrupt builder: remove_dev_ids names a missing device');
  const state: BuilderState = {
    partPower, replicas,
    minPartHours: num(doc, 'min_part_hours', file),
    overload: num(doc, 'overload', file),
    version: num(doc, 'version', file),
    devs, removeDevIds,
    replica2part2dev: r2p2d,
    lastPartMoves,
    lastPartMovesEpoch: num(doc, 'last_part_moves_epoch', file),
    dispersion: typeof doc.dispersion === 'number' ? doc.dispersion : 0,
    devsChanged: doc.devs_changed === true,
  };
  return RingBuilder.fromState(state);
}

export async function readBuilderFile(file: string): Promise<RingBuilder> {
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (e) {
    throw new RingFileError(file, `cannot read builder file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return decodeBuilder(raw, file);
}

export async function writeBuilderFile(file: string, b: RingBuilder): Promise<void> {
  await writeFileAtomic(file, encodeBuilder(b));
}
