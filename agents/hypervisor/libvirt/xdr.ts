/**
 * XDR (RFC 4506) encoding and decoding for libvirt's RPC protocol.
 *
 * libvirt's wire format is Sun RPC-style XDR: every item is big-endian and padded to a multiple
 * of four bytes. This module offers a writer and a reader for the primitive types the protocol
 * uses (int, unsigned int, hyper, unsigned hyper, bool, string, fixed and variable opaque,
 * optional pointers, variable arrays) and codecs for the four "nonnull" object references that
 * almost every procedure carries (remote_nonnull_domain, _network, _storage_pool, _storage_vol).
 *
 * XDR encodes `char`, `unsigned char`, `short` and `unsigned short` as a full 4-byte int; callers
 * read those with int()/uint().
 */

/** Size in bytes of a libvirt UUID (VIR_UUID_BUFLEN). */
export const UUID_BYTES = 16;
/** Largest string the protocol allows (VIR_NET_MESSAGE_STRING_MAX). */
export const STRING_MAX = 4194304;
/** Initial capacity of a writer's buffer; it doubles as needed. */
const INITIAL_WRITER_BYTES = 256;

/** Thrown when a buffer cannot be decoded (truncated, over a limit, bad boolean). */
export class XdrError extends Error {
  override name = 'XdrError';
}

function padding(length: number): number {
  return (4 - (length % 4)) % 4;
}

/** Appends XDR items to a growing buffer; finish() returns the encoded bytes. */
export class XdrWriter {
  private buf = Buffer.alloc(INITIAL_WRITER_BYTES);
  private pos = 0;

  private reserve(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + bytes) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int(value: number): this {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
      throw new XdrError(`int out of range: ${value}`);
    }
    this.reserve(4);
    this.buf.writeInt32BE(value, this.pos);
    this.pos += 4;
    return this;
  }

  uint(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new XdrError(`unsigned int out of range: ${value}`);
    }
    this.reserve(4);
    this.buf.writeUInt32BE(value, this.pos);
    this.pos += 4;
    return this;
  }

  hyper(value: bigint | number): this {
    this.reserve(8);
    this.buf.writeBigInt64BE(BigInt(value), this.pos);
    this.pos += 8;
    return this;
  }

  uhyper(value: bigint | number): this {
    const v = BigInt(value);
    if (v < 0n) throw new XdrError(`unsigned hyper out of range: ${value}`);
    this.reserve(8);
    this.buf.writeBigUInt64BE(v, this.pos);
    this.pos += 8;
    return this;
  }

  bool(value: boolean): this {
    return this.int(value ? 1 : 0);
  }

  /** Fixed-length opaque data: exactly `length` bytes, padded. */
  opaqueFixed(data: Uint8Array, length: number): this {
    if (data.length !== length) {
      throw new XdrError(`fixed opaque needs ${length} bytes, got ${data.length}`);
    }
    this.reserve(length + padding(length));
    this.buf.set(data, this.pos);
    this.pos += length;
    this.buf.fill(0, this.pos, this.pos + padding(length));
    this.pos += padding(length);
    return this;
  }

  /** Variable-length opaque data: a length word, the bytes, padding. */
  opaque(data: Uint8Array): this {
    this.uint(data.length);
    return this.opaqueFixed(data, data.length);
  }

  string(value: string): this {
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length > STRING_MAX) throw new XdrError(`string longer than ${STRING_MAX} bytes`);
    return this.opaque(bytes);
  }

  /** An optional value (XDR pointer): a boolean "present" word, then the value if present. */
  optional<T>(value: T | null | undefined, encode: (w: XdrWriter, v: T) => void): this {
    if (value === null || value === undefined) return this.bool(false);
    this.bool(true);
    encode(this, value);
    return this;
  }

  /** A variable-length array: a count word, then each item. */
  array<T>(items: readonly T[], encode: (w: XdrWriter, v: T) => void): this {
    this.uint(items.length);
    for (const item of items) encode(this, item);
    return this;
  }

  /** The bytes written so far (a copy). */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

/** Reads XDR items from a buffer in order; every read checks bounds. */
export class XdrReader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(bytes: number): void {
    if (this.pos + bytes > this.buf.length) {
      throw new XdrError(`truncated XDR data: need ${bytes} bytes at offset ${this.pos}, have ${this.remaining}`);
    }
  }

  int(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  hyper(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  uhyper(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** An unsigned hyper as a JS number; throws if it exceeds Number.MAX_SAFE_INTEGER. */
  uhyperNumber(): number {
    const v = this.uhyper();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new XdrError(`unsigned hyper too large for a number: ${v}`);
    return Number(v);
  }

  /** A hyper as a JS number; throws outside the safe integer range. */
  hyperNumber(): number {
    const v = this.hyper();
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new XdrError(`hyper too large for a number: ${v}`);
    }
    return Number(v);
  }

  bool(): boolean {
    const v = this.int();
    if (v !== 0 && v !== 1) throw new XdrError(`invalid XDR boolean ${v}`);
    return v === 1;
  }

  opaqueFixed(length: number): Buffer {
    this.need(length + padding(length));
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + length));
    this.pos += length + padding(length);
    return out;
  }

  opaque(max = STRING_MAX): Buffer {
    const length = this.uint();
    if (length > max) throw new XdrError(`opaque length ${length} exceeds limit ${max}`);
    return this.opaqueFixed(length);
  }

  string(max = STRING_MAX): string {
    return this.opaque(max).toString('utf8');
  }

  optional<T>(decode: (r: XdrReader) => T): T | null {
    return this.bool() ? decode(this) : null;
  }

  array<T>(decode: (r: XdrReader) => T, max = STRING_MAX): T[] {
    const count = this.uint();
    if (count > max) throw new XdrError(`array length ${count} exceeds limit ${max}`);
    const out: T[] = [];
    for (let i = 0; i < count; i++) out.push(decode(this));
    return out;
  }

  /** The unread bytes (used for raw stream payloads). */
  rest(): Buffer {
    const out = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return out;
  }
}

/** remote_nonnull_domain: how the protocol names a domain. id is -1 when inactive. */
export interface RemoteDomain {
  name: string;
  uuid: Buffer;
  id: number;
}

/** remote_nonnull_network. */
export interface RemoteNetwork {
  name: string;
  uuid: Buffer;
}

/** remote_nonnull_storage_pool. */
export interface RemoteStoragePool {
  name: string;
  uuid: Buffer;
}

/** remote_nonnull_storage_vol: the pool's name, the volume's name and its key (usually the path). */
export interface RemoteStorageVol {
  pool: string;
  name: string;
  key: string;
}

export function writeDomain(w: XdrWriter, d: RemoteDomain): void {
  w.string(d.name).opaqueFixed(d.uuid, UUID_BYTES).int(d.id);
}

export function readDomain(r: XdrReader): RemoteDomain {
  return { name: r.string(), uuid: r.opaqueFixed(UUID_BYTES), id: r.int() };
}

export function writeNetwork(w: XdrWriter, n: RemoteNetwork): void {
  w.string(n.name).opaqueFixed(n.uuid, UUID_BYTES);
}

export function readNetwork(r: XdrReader): RemoteNetwork {
  return { name: r.string(), uuid: r.opaqueFixed(UUID_BYTES) };
}

export function writeStoragePool(w: XdrWriter, p: RemoteStoragePool): void {
  w.string(p.name).opaqueFixed(p.uuid, UUID_BYTES);
}

export function readStoragePool(r: XdrReader): RemoteStoragePool {
  return { name: r.string(), uuid: r.opaqueFixed(UUID_BYTES) };
}

export function writeStorageVol(w: XdrWriter, v: RemoteStorageVol): void {
  w.string(v.pool).string(v.name).string(v.key);
}

export function readStorageVol(r: XdrReader): RemoteStorageVol {
  return { pool: r.string(), name: r.string(), key: r.string() };
}

/** Formats a 16-byte UUID as the canonical 8-4-4-4-12 lowercase hex string. */
export function uuidToString(uuid: Uint8Array): string {
  const hex = Buffer.from(uuid).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Parses a UUID string (with or without dashes) into 16 bytes. */
export function uuidFromString(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new XdrError(`not a UUID: ${uuid}`);
  return Buffer.from(hex, 'hex');
}
