/**
 * The disk layer's ObjectWriter records the body's CRC-32C in a `.data` footer, from the bytes
 * it wrote however they were split, and only its own (not one passed in the metadata); where
 * the native CRC is missing it records none, so reads fall back to the MD5.
 */
import t, { type Test } from 'tap';
import { tempDevicesDir } from './testing.js';
import { open, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as crcModule from '../common/crc32c.js';
import { DiskFiles, ObjectConflict, SYNC_IO_BYTES, readFooter, type DiskMetadata } from './diskfile.js';
import { listSegments, readSegment } from './small-write-log.js';

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

t.test('a small logged write goes from memory into the log and into place, with no temp file', async (t) => {
  const dir = await tempDevices(t);
  const disk = new DiskFiles({ devicesDir: dir, reserveBytes: 0, smallWriteLog: true });
  t.teardown(() => disk.closeLogs());
  const body = randomBytes(4096);
  const meta: DiskMetadata = {
    name: '/a/c/o', timestamp: TS, etag: 'e'.repeat(32), contentLength: body.length, contentType: 'x', meta: {}, headers: {},
  };
  const w = await disk.createWriter('d1', 3, HASH, 'data');
  await w.write(body.subarray(0, 1000));
  await w.writev([body.subarray(1000)]);
  await w.finish(meta);
  const data = await readFile(join(disk.hashDir('d1', 3, HASH), `${TS}.data`));
  t.same(data.subarray(0, body.length), body, 'the body, then its footer');
  t.same(await readdir(join(dir, 'd1')), ['objects', 'wal'], 'no tmp folder was ever needed');
  const logged = (await Promise.all(listSegments(join(dir, 'd1', 'wal')).map(readSegment))).flat();
  t.same(logged.map((r) => [r.path, r.file.equals(data)]), [[`objects/3/aaa/${HASH}/${TS}.data`, true]], 'the log holds the same file');

  // An older version loses, leaves nothing, and keeps the newer one.
  const older = await disk.createWriter('d1', 3, HASH, 'data');
  await older.write(Buffer.from('older'));
  const lost = await older.finish({ ...meta, timestamp: '1600000000.00000', contentLength: 5 }).then(() => undefined, (e: unknown) => e);
  t.ok(lost instanceof ObjectConflict, 'the older version gets ObjectConflict');
  t.same(await readdir(disk.hashDir('d1', 3, HASH)), [`${TS}.data`]);
  t.same(await readdir(join(dir, 'd1')), ['objects', 'wal']);

  // Past SYNC_IO_BYTES a body goes to a temp file, what was held first.
  const big = randomBytes(SYNC_IO_BYTES + 10);
  const ts2 = '1800000000.00000';
  const w2 = await disk.createWriter('d1', 3, HASH, 'data');
  await w2.write(big.subarray(0, 100));
  await w2.write(big.subarray(100));
  await w2.finish({ ...meta, timestamp: ts2, contentLength: big.length });
  const data2 = await readFile(join(disk.hashDir('d1', 3, HASH), `${ts2}.data`));
  t.same(data2.subarray(0, big.length), big);
  t.same(await readdir(join(dir, 'd1', 'tmp')), [], 'its temp file was renamed away');
});
