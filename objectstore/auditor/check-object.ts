/**
 * Checks one stored object version (a `.data` file): its footer must be readable and agree
 * with the file (timestamp = file name, contentLength = body size, a 32-hex ETag, a name whose
 * hash is the hash folder's), and the MD5 of the body, re-read from disk, must be the ETag.
 * When the footer records the body's CRC-32C (what whole-object GETs check, see
 * verify-stream.ts), that must match too: the MD5 stays the end-to-end check against what the
 * client sent, the CRC (a fraction of the MD5's cost on the same read) makes sure a version the
 * auditor passes is one a GET will serve.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { readFooter, storedCrc32c } from '../node/diskfile.js';
import { crc32c } from '../common/crc32c.js';
import { hashPath, type HashConfig } from '../ring/hash.js';
import type { Pacer } from './pacer.js';

/** Bytes read from disk at a time. */
export const AUDIT_READ_BYTES = 256 * 1024;
const ETAG_RE = /^[0-9a-f]{32}$/;

export type AuditResult =
  | { kind: 'ok'; bytes: number }
  | { kind: 'bad'; bytes: number; reason: string }
  /** The file went away while looked at (replaced by a newer version). */
  | { kind: 'gone' };

function nameHash(name: string, hash: HashConfig): string | undefined {
  const i = name.indexOf('/', 1);
  const j = i < 0 ? -1 : name.indexOf('/', i + 1);
  if (!name.startsWith('/') || j < 0) return undefined;
  return hashPath(name.slice(1, i), name.slice(i + 1, j), name.slice(j + 1), hash).toString('hex');
}

/** Audits `path` (`.../<hash>/<timestamp>.data`), reading its body at the pacer's rate. */
export async function checkDataFile(path: string, hash: HashConfig, pacer?: Pacer): Promise<AuditResult> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'gone' };
    throw e;
  }
  try {
    const size = (await fh.stat()).size;
    let meta;
    let footerBytes;
    try {
      ({ meta, footerBytes } = await readFooter(fh, size));
    } catch (e) {
      return { kind: 'bad', bytes: 0, reason: `footer unreadable: ${(e as Error).message}` };
    }
    const bodySize = size - footerBytes;
    const ts = basename(path).replace(/\.data$/, '');
    if (!meta || typeof meta !== 'object') return { kind: 'bad', bytes: 0, reason: 'footer is not an object' };
    if (meta.timestamp !== ts) return { kind: 'bad', bytes: 0, reason: `footer timestamp ${meta.timestamp} is not the file's ${ts}` };
    if (meta.contentLength !== bodySize) return { kind: 'bad', bytes: 0, reason: `footer length ${meta.contentLength}, body has ${bodySize} bytes` };
    if (typeof meta.etag !== 'string' || !ETAG_RE.test(meta.etag)) return { kind: 'bad', bytes: 0, reason: 'footer ETag is not an MD5' };
    if (typeof meta.name !== 'string' || nameHash(meta.name, hash) !== basename(dirname(path))) {
      return { kind: 'bad', bytes: 0, reason: 'footer name does not hash to this folder' };
    }
    const wantCrc = storedCrc32c(meta);
    if (meta.crc32c !== undefined && wantCrc === undefined) {
      return { kind: 'bad', bytes: 0, reason: 'footer CRC-32C is not a 32-bit number' };
    }
    let crc = 0;
    const md5 = createHash('md5');
    const buf = Buffer.alloc(Math.min(AUDIT_READ_BYTES, Math.max(1, bodySize)));
    let pos = 0;
    while (pos < bodySize) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, bodySize - pos), pos);
      if (bytesRead === 0) return { kind: 'bad', bytes: pos, reason: 'file shorter than its footer says' };
      md5.update(buf.subarray(0, bytesRead));
      if (wantCrc !== undefined) crc = crc32c(buf.subarray(0, bytesRead), crc);
      pos += bytesRead;
      await pacer?.read(bytesRead);
    }
    const got = md5.digest('hex');
    if (got !== meta.etag) return { kind: 'bad', bytes: pos, reason: `body MD5 ${got}, ETag ${meta.etag}` };
    if (wantCrc !== undefined && crc !== wantCrc) return { kind: 'bad', bytes: pos, reason: `body CRC-32C ${crc}, footer ${wantCrc}` };
    return { kind: 'ok', bytes: pos };
  } finally {
    await fh.close();
  }
}
