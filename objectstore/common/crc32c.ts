/**
 * CRC-32C (Castagnoli), the checksum storage nodes keep of every object body (diskfile.ts's
 * `crc32c` footer field) and check on whole-object reads instead of the MD5, and one of S3's
 * additional checksums (s3/checksums.ts).
 *
 * It runs in the project's Node-API addon (native/page-cache: the SSE4.2 `crc32` instruction,
 * ~14 GB/s here, or a slicing-by-8 loop in C, ~2 GB/s, on CPUs without it). Without the addon
 * (no C toolchain when `npm ci` ran) a table loop in JavaScript gives the same values at
 * ~0.45 GB/s, slower than MD5: storage nodes then record no CRC (see `nativeCrc32c`) and keep
 * checking MD5s; S3 checksums still work.
 *
 * Chaining follows zlib.crc32: start from 0 (the default) and pass the previous result to
 * continue, so crc32c(b, crc32c(a)) === crc32c(a ‖ b).
 */
import { nativeAddon } from './native-addon.js';

const CRC32C_POLY_REFLECTED = 0x82f63b78;

interface Crc32cAddon {
  crc32c(bytes: Uint8Array, previous?: number): number;
  crc32cSoftware(bytes: Uint8Array, previous?: number): number;
  crc32cHardware: boolean;
}

// An addon built before it carried CRC-32C has no such function: the JavaScript loop is used.
const addon = nativeAddon<Crc32cAddon>('crc32c');

/** True when the addon computes CRC-32C (the tests check that `npm ci` built it). */
export const nativeCrc32c = addon !== null;
/** True when the addon uses the CPU's CRC-32C instruction. */
export const hardwareCrc32c = addon?.crc32cHardware === true;

const table = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CRC32C_POLY_REFLECTED : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The JavaScript loop: the fallback without the addon, and the reference the tests compare against. */
export function crc32cJs(bytes: Uint8Array, previous = 0): number {
  let c = ~previous >>> 0;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC-32C of `bytes`, continuing `previous` (0 to start); an unsigned 32-bit integer. */
export const crc32c: (bytes: Uint8Array, previous?: number) => number = addon ? addon.crc32c : crc32cJs;

/** The addon's portable C loop, whatever the CPU (tests; undefined without the addon). */
export const crc32cSoftware: ((bytes: Uint8Array, previous?: number) => number) | undefined = addon?.crc32cSoftware;
