/**
 * CRC-32C: the addon (hardware and portable C paths) and the JavaScript loop against the
 * RFC 3720 (iSCSI) test vectors and against each other on random buffers of odd sizes and
 * alignments, chained in pieces the way a streamed body is.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { crc32c, crc32cJs, crc32cSoftware, hardwareCrc32c, nativeCrc32c } from './crc32c.js';

/** RFC 3720, appendix B.4 (CRC-32C results as the integer they read as). */
const VECTORS: Array<[string, Buffer, number]> = [
  ['32 bytes of zeros', Buffer.alloc(32, 0), 0x8a9136aa],
  ['32 bytes of 0xff', Buffer.alloc(32, 0xff), 0x62a8ab43],
  ['32 incrementing bytes', Buffer.from(Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e],
  ['32 decrementing bytes', Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c],
  ['"123456789" (the check value)', Buffer.from('123456789'), 0xe3069283],
  ['nothing', Buffer.alloc(0), 0],
];

const IMPLEMENTATIONS: Array<[string, (b: Uint8Array, prev?: number) => number]> = [
  ['crc32c (addon)', crc32c],
  ['crc32cSoftware (addon, portable C)', crc32cSoftware ?? crc32cJs],
  ['crc32cJs', crc32cJs],
];

t.test('the addon was built with CRC-32C by npm ci, and this CPU has the instruction', async (t) => {
  t.equal(nativeCrc32c, true, 'native/page-cache exports crc32c');
  t.type(crc32cSoftware, 'function', 'and its portable loop');
  // Every x86-64 CPU since 2008 has SSE4.2; the CI and development machines are x86-64.
  if (process.arch === 'x64') t.equal(hardwareCrc32c, true, 'SSE4.2 crc32 is used');
});

t.test('RFC 3720 test vectors', async (t) => {
  for (const [impl, f] of IMPLEMENTATIONS) {
    for (const [name, bytes, want] of VECTORS) {
      t.equal(f(bytes), want, `${impl}: ${name} -> 0x${want.toString(16)}`);
    }
  }
});

t.test('all implementations agree on random buffers of odd sizes and offsets, whole or chained', async (t) => {
  const big = randomBytes(300_007);
  // Around the hardware path's lane blocks (3 x 256 and 3 x 8192 bytes) too.
  const sizes = [1, 3, 7, 8, 9, 15, 63, 64, 65, 255, 767, 768, 769, 1021, 4099, 24_575, 24_576, 24_577, 25_344, 65_537, 299_999];
  for (const size of sizes) {
    for (const offset of [0, 1, 5]) {
      const piece = big.subarray(offset, offset + size);
      const want = crc32cJs(piece);
      t.equal(crc32c(piece), want, `addon, ${size} bytes at offset ${offset}`);
      if (crc32cSoftware) t.equal(crc32cSoftware(piece), want, `portable C, ${size} bytes at offset ${offset}`);
      // Chained in three uneven parts, as chunks of a streamed body arrive.
      const a = Math.floor(size / 3);
      const b = Math.floor(size / 2) + 1;
      const chained = crc32c(piece.subarray(b), crc32c(piece.subarray(a, b), crc32c(piece.subarray(0, a))));
      t.equal(chained, want, `addon chained, ${size} bytes`);
      t.equal(crc32cJs(piece.subarray(a), crc32cJs(piece.subarray(0, a))), want, `JS chained, ${size} bytes`);
    }
  }
  const flipped = Buffer.from(big);
  flipped[123_456] ^= 0x01;
  t.not(crc32c(flipped), crc32c(big), 'one flipped bit changes the CRC');
});

t.test('the addon refuses what is not bytes', async (t) => {
  t.throws(() => crc32c('abc' as unknown as Uint8Array), TypeError, 'a string');
  t.throws(() => crc32c(new Uint32Array(4) as unknown as Uint8Array), TypeError, 'a Uint32Array');
  t.throws(() => crc32c(Buffer.from('a'), 'x' as unknown as number), TypeError, 'a previous value that is not a number');
  t.equal(crc32c(new Uint8Array([0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39])), 0xe3069283, 'a plain Uint8Array');
});
