/**
 * Checking bytes against what their footer records: a whole body in memory (verifyBody), or
 * chunk by chunk as it is served (digestFor; node/send-file.ts holds the last chunk back until
 * the checksum of everything is known, so a wrong body never completes).
 *
 * The check is the body's CRC-32C when the footer records one (diskfile.ts; the hardware CRC
 * costs a fraction of an MD5), else its MD5 against the ETag (files written before the CRC
 * was recorded). The auditor keeps checking the MD5 against the ETag (check-object.ts).
 */
import { createHash } from 'node:crypto';
import { crc32c } from '../common/crc32c.js';
import { storedCrc32c, type DiskMetadata } from '../node/diskfile.js';

/** What a body must hash to: its recorded CRC-32C, or (older files) the MD5 that is its ETag. */
export type BodyCheck =
  | { algorithm: 'crc32c'; expected: number }
  | { algorithm: 'md5'; expected: string };

export class BodyMismatch extends Error {
  constructor(readonly got: string, readonly expected: string, readonly algorithm: BodyCheck['algorithm'] = 'md5') {
    super(algorithm === 'md5' ? `body MD5 ${got} does not match ETag ${expected}`
      : `body CRC-32C ${got} does not match the recorded ${expected}`);
  }
}

/** The check a stored version's body gets on a whole-object read. */
export function bodyCheckOf(meta: DiskMetadata): BodyCheck {
  const crc = storedCrc32c(meta);
  return crc === undefined ? { algorithm: 'md5', expected: meta.etag } : { algorithm: 'crc32c', expected: crc };
}

/** An incremental digest for `check`: feed chunks, then compare. */
export interface Digest {
  update(chunk: Buffer): void;
  /** The mismatch, or undefined when the bytes fed are the expected ones. */
  mismatch(): BodyMismatch | undefined;
}

const hex32 = (n: number) => n.toString(16).padStart(8, '0');

export function digestFor(check: BodyCheck): Digest {
  if (check.algorithm === 'crc32c') {
    let crc = 0;
    return {
      update: (chunk) => { crc = crc32c(chunk, crc); },
      mismatch: () => (crc === check.expected ? undefined : new BodyMismatch(hex32(crc), hex32(check.expected), 'crc32c')),
    };
  }
  const md5 = createHash('md5');
  return {
    update: (chunk) => { md5.update(chunk); },
    mismatch: () => {
      const got = md5.digest('hex');
      return got === check.expected ? undefined : new BodyMismatch(got, check.expected, 'md5');
    },
  };
}

/** Checks a whole body held in memory; the mismatch, or undefined when it is intact. */
export function verifyBody(check: BodyCheck, body: Buffer): BodyMismatch | undefined {
  const d = digestFor(check);
  d.update(body);
  return d.mismatch();
}
