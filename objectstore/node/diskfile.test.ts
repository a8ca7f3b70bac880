/**
 * The disk layer's ObjectWriter records the body's CRC-32C in a `.data` footer, from the bytes
 * it wrote however they were split, and only its own (not one passed in the metadata); where
 * the native CRC is missing it records none, so reads fall back to the MD5.
 */
import t, { type Test } from 'tap';
import { tempDevicesDir } from './testing.js';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as crcModule from '../common/crc32c.js';
import { DiskFiles, readFooter, type DiskMetadata } from './diskfile.js';

const TS = '1700000000.00000';
const HASH = 'a'.repeat(32);

const tempDevices = (t: Test) => tempDevicesDir(t, 'ringstack-diskfile-');

/** Writes `parts` (write, then writev of the rest) as one version; returns its footer. */
async function writeAndRead(Disk: typeof DiskFiles, devicesDir: string, parts: Buffer[], extra: Partial<DiskMetadata> = {}): Promise<DiskMetadata> {
  const disk = new Disk({ devicesDir, reserveBytes: 0 });
  const w = await disk.createWriter('d1', 3, HASH, 'data');
  await w.write(parts[0]!);
  await w.writev(parts.slice(1));
  const size = parts.reduce((a, p) => a + p.length, 0);
  await w.finish({
    name: '/a/c/o', timestamp: TS, etag: 'e'.repeat(32), contentLength: size, contentType: 'x', meta: {}, headers: {}, ...extra,
  });
  const fh = await open(join(disk.hashDir('d1', 3, HASH), `${TS}.data`), 'r');
  try {
    return (await readFooter(fh, (await fh.stat()).size)).meta;
  } finally {
    await fh.close();
  }
}

t.test('a .data footer records the CRC-32C of the bytes written', async (t) => {
  const dir = await tempDevices(t);
  const parts = [randomBytes(1), randomBytes(70_001), randomBytes(3), randomBytes(2_000_000)];
  const meta = await writeAndRead(DiskFiles, dir, parts, { crc32c: 42 });
  t.equal(meta.crc32c, crcModule.crc32c(Buffer.concat(parts)), 'the CRC of the whole body, not the one passed in');
});

t.test('without the native CRC no CRC is recorded (reads check the MD5)', async (t) => {
  const { DiskFiles: NoNative } = await t.mockImport<typeof import('./diskfile.js')>('./diskfile.js', {
    '../common/crc32c.js': { ...crcModule, nativeCrc32c: false },
  });
  const dir = await tempDevices(t);
  const meta = await writeAndRead(NoNative, dir, [randomBytes(10), randomBytes(100)], { crc32c: 42 });
  t.equal(meta.crc32c, undefined, 'no crc32c field, not even the one passed in');
});
