/**
 * A minimal ISO 9660 image writer with Joliet names, enough for a cloud-init NoCloud seed:
 * one root directory holding a few small files, a volume label (`cidata`), reproducible bytes
 * for the same input. Written here rather than shelling out to genisoimage so agent hosts need
 * no extra tool and the seed can be streamed straight into a libvirt volume.
 *
 * Layout (2048-byte sectors): 0-15 system area, 16 primary volume descriptor, 17 Joliet
 * supplementary descriptor, 18 terminator, 19-22 path tables (primary L/M, Joliet L/M),
 * 23 primary root directory, 24 Joliet root directory, then each file from a sector boundary.
 * Both directory trees point at the same file extents.
 */

export const SECTOR = 2048;
/** ISO 9660 level 2 caps identifiers at 31 bytes; Joliet at 64 UCS-2 characters. */
const MAX_NAME = 30;
const FIRST_FILE_SECTOR = 25;
const ROOT_PRIMARY = 23;
const ROOT_JOLIET = 24;

export interface IsoFile {
  name: string;
  data: Buffer;
}

export interface IsoOptions {
  /** Volume label, e.g. "cidata" (cloud-init's NoCloud looks for it). At most 16 characters. */
  label: string;
  /** Timestamp written into the image; fixed by default so equal input gives equal bytes. */
  date?: Date;
}

export class IsoError extends Error {
  override name = 'IsoError';
}

/** Builds the whole image in memory (seeds are a few KiB). */
export function buildIso(files: IsoFile[], opts: IsoOptions): Buffer {
  if (opts.label.length === 0 || opts.label.length > 16) throw new IsoError(`volume label must be 1..16 characters, got "${opts.label}"`);
  const seen = new Set<string>();
  for (const f of files) {
    if (!/^[A-Za-z0-9._-]+$/.test(f.name) || f.name.length > MAX_NAME) {
      throw new IsoError(`file name "${f.name}" must be 1..${MAX_NAME} characters of letters, digits, '.', '_' or '-'`);
    }
    if (seen.has(f.name.toLowerCase())) throw new IsoError(`duplicate file name "${f.name}"`);
    seen.add(f.name.toLowerCase());
  }
  if (files.length > 40) throw new IsoError('at most 40 files fit in one directory sector');
  const date = opts.date ?? new Date(Date.UTC(2020, 0, 1));
  const sorted = [...files].sort((a, b) => primaryName(a.name) < primaryName(b.name) ? -1 : 1);

  // Place file extents.
  let next = FIRST_FILE_SECTOR;
  const extents = sorted.map((f) => {
    const at = next;
    next += Math.max(1, Math.ceil(f.data.length / SECTOR));
    return at;
  });
  const total = next;
  const image = Buffer.alloc(total * SECTOR);

  const primaryEntries = sorted.map((f, i) => ({ id: Buffer.from(primaryName(f.name), 'ascii'), extent: extents[i]!, size: f.data.length }));
  const jolietEntries = sorted
    .map((f, i) => ({ id: ucs2(f.name), extent: extents[i]!, size: f.data.length }))
    .sort((a, b) => Buffer.compare(a.id, b.id));

  writeDescriptor(image, 16, 1, opts.label, total, ROOT_PRIMARY, 19, 20, date, false);
  writeDescriptor(image, 17, 2, opts.label, total, ROOT_JOLIET, 21, 22, date, true);
  image.writeUInt8(255, 18 * SECTOR);
  image.write('CD001', 18 * SECTOR + 1, 'ascii');
  image.writeUInt8(1, 18 * SECTOR + 6);

  writePathTable(image, 19, ROOT_PRIMARY, 'le');
  writePathTable(image, 20, ROOT_PRIMARY, 'be');
  writePathTable(image, 21, ROOT_JOLIET, 'le');
  writePathTable(image, 22, ROOT_JOLIET, 'be');
  writeDirectory(image, ROOT_PRIMARY, primaryEntries, date);
  writeDirectory(image, ROOT_JOLIET, jolietEntries, date);
  sorted.forEach((f, i) => f.data.copy(image, extents[i]! * SECTOR));
  return image;
}

/** Level-2 style primary name: upper case, '-' → '_', with a dot and version ";1". */
function primaryName(name: string): string {
  const upper = name.toUpperCase().replace(/-/g, '_');
  return `${upper.includes('.') ? upper : upper + '.'};1`;
}

function ucs2(text: string): Buffer {
  const b = Buffer.alloc(text.length * 2);
  for (let i = 0; i < text.length; i++) b.writeUInt16BE(text.charCodeAt(i), i * 2);
  return b;
}

function both32(buf: Buffer, at: number, v: number): void {
  buf.writeUInt32LE(v, at);
  buf.writeUInt32BE(v, at + 4);
}

function both16(buf: Buffer, at: number, v: number): void {
  buf.writeUInt16LE(v, at);
  buf.writeUInt16BE(v, at + 2);
}

/** Space-padded text field; Joliet fields are UCS-2 big-endian. */
function text(buf: Buffer, at: number, len: number, value: string, joliet: boolean): void {
  if (joliet) {
    for (let i = 0; i + 1 < len; i += 2) buf.writeUInt16BE(0x20, at + i);
    ucs2(value.slice(0, Math.floor(len / 2))).copy(buf, at);
  } else {
    buf.fill(0x20, at, at + len);
    buf.write(value.slice(0, len), at, 'ascii');
  }
}

/** 17-byte descriptor date: "YYYYMMDDHHMMSScc" and a GMT offset byte. */
function longDate(buf: Buffer, at: number, d: Date | null): void {
  if (!d) {
    buf.write('0000000000000000', at, 'ascii');
    buf.writeUInt8(0, at + 16);
    return;
  }
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  buf.write(`${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}00`, at, 'ascii');
  buf.writeUInt8(0, at + 16);
}

/** 7-byte directory record date. */
function shortDate(buf: Buffer, at: number, d: Date): void {
  buf.writeUInt8(d.getUTCFullYear() - 1900, at);
  buf.writeUInt8(d.getUTCMonth() + 1, at + 1);
  buf.writeUInt8(d.getUTCDate(), at + 2);
  buf.writeUInt8(d.getUTCHours(), at + 3);
  buf.writeUInt8(d.getUTCMinutes(), at + 4);
  buf.writeUInt8(d.getUTCSeconds(), at + 5);
  buf.writeInt8(0, at + 6);
}

/** Writes one directory record at `at`; returns its length. */
function dirRecord(buf: Buffer, at: number, id: Buffer, extent: number, size: number, isDir: boolean, date: Date): number {
  const len = 33 + id.length + (id.length % 2 === 0 ? 1 : 0);
  buf.writeUInt8(len, at);
  buf.writeUInt8(0, at + 1);
  both32(buf, at + 2, extent);
  both32(buf, at + 10, size);
  shortDate(buf, at + 18, date);
  buf.writeUInt8(isDir ? 2 : 0, at + 25);
  both16(buf, at + 28, 1);
  buf.writeUInt8(id.length, at + 32);
  id.copy(buf, at + 33);
  return len;
}

function writeDescriptor(img: Buffer, sector: number, type: 1 | 2, label: string, total: number, root: number,
  lTable: number, mTable: number, date: Date, joliet: boolean): void {
  const at = sector * SECTOR;
  img.writeUInt8(type, at);
  img.write('CD001', at + 1, 'ascii');
  img.writeUInt8(1, at + 6);
  text(img, at + 8, 32, '', joliet);
  text(img, at + 40, 32, label, joliet);
  both32(img, at + 80, total);
  if (joliet) img.write('%/E', at + 88, 'ascii'); // UCS-2 level 3
  both16(img, at + 120, 1);
  both16(img, at + 124, 1);
  both16(img, at + 128, SECTOR);
  both32(img, at + 132, 10);
  img.writeUInt32LE(lTable, at + 140);
  img.writeUInt32BE(mTable, at + 148);
  dirRecord(img, at + 156, Buffer.from([0]), root, SECTOR, true, date);
  text(img, at + 190, 128, '', joliet);
  text(img, at + 318, 128, '', joliet);
  text(img, at + 446, 128, '', joliet);
  text(img, at + 574, 128, 'RINGSTACK', joliet);
  text(img, at + 702, 37, '', joliet);
  text(img, at + 739, 37, '', joliet);
  text(img, at + 776, 37, '', joliet);
  longDate(img, at + 813, date);
  longDate(img, at + 830, date);
  longDate(img, at + 847, null);
  longDate(img, at + 864, null);
  img.writeUInt8(1, at + 881);
}

/** A path table with only the root directory. */
function writePathTable(img: Buffer, sector: number, root: number, order: 'le' | 'be'): void {
  const at = sector * SECTOR;
  img.writeUInt8(1, at);
  img.writeUInt8(0, at + 1);
  if (order === 'le') {
    img.writeUInt32LE(root, at + 2);
    img.writeUInt16LE(1, at + 6);
  } else {
    img.writeUInt32BE(root, at + 2);
    img.writeUInt16BE(1, at + 6);
  }
  img.writeUInt8(0, at + 8);
}

function writeDirectory(img: Buffer, sector: number, entries: Array<{ id: Buffer; extent: number; size: number }>, date: Date): void {
  let at = sector * SECTOR;
  at += dirRecord(img, at, Buffer.from([0]), sector, SECTOR, true, date);
  at += dirRecord(img, at, Buffer.from([1]), sector, SECTOR, true, date);
  for (const e of entries) at += dirRecord(img, at, e.id, e.extent, e.size, false, date);
  if (at > (sector + 1) * SECTOR) throw new IsoError('directory does not fit in one sector');
}
