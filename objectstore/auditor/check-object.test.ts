/**
 * checkDataFile on real files written by the disk layer: good, flipped body, cut footer, wrong
 * folder, wrong length; the body CRC-32C the writer records, a wrong or malformed one, a file
 * from before the field (none).
 */
import t from 'tap';
import { mkdtemp, open, readdir, rename, mkdir, rm, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { DiskFiles, encodeFooter, readFooter, type DiskMetadata } from '../node/diskfile.js';
import { crc32c } from '../common/crc32c.js';
import { hashPath } from '../ring/hash.js';
import { checkDataFile } from './check-object.js';
import { quarantineHashDir, QUARANTINE_SUBDIR } from './quarantine.js';
import { bodyCheckOf } from './verify-stream.js';

const HASH = { prefix: '', suffix: 'test' };
const TS = '1700000000.00000';

async function writeObject(devicesDir: string, name: string, body: Buffer): Promise<string> {
  const disk = new DiskFiles({ devicesDir, reserveBytes: 0 });
  const [, a, c, o] = /^\/([^/]+)\/([^/]+)\/(.+)$/.exec(name)!;
  const hash = hashPath(a!, c!, o!, HASH).toString('hex');
  const w = await disk.createWriter('d1', 7, hash, 'data');
  await w.write(body);
  await w.finish({
    name, timestamp: TS, etag: createHash('md5').update(body).digest('hex'), contentLength: body.length,
    contentType: 'application/octet-stream', meta: {}, headers: {},
  });
  return join(disk.hashDir('d1', 7, hash), `${TS}.data`);
}

t.test('checkDataFile', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-audit-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'd1'));
  const body = randomBytes(300_000);
  const path = await writeObject(dir, '/a/c/o/1', body);
  t.same(await checkDataFile(path, HASH), { kind: 'ok', bytes: body.length }, 'a good file');

  const fh = await open(path, 'r+');
  await fh.write(Buffer.from([body[1000]! ^ 1]), 0, 1, 1000);
  await fh.close();
  t.match(await checkDataFile(path, HASH), { kind: 'bad', reason: /body MD5/ }, 'a flipped byte');

  const p2 = await writeObject(dir, '/a/c/o/2', Buffer.from('hello'));
  const raw = await readFile(p2);
  await writeFile(p2, raw.subarray(0, raw.length - 2));
  t.match(await checkDataFile(p2, HASH), { kind: 'bad', reason: /footer unreadable/ }, 'a cut footer');

  const p3 = await writeObject(dir, '/a/c/o/3', Buffer.from('hello'));
  const lying = Buffer.concat([Buffer.from('hello'), encodeFooter({
    name: '/a/c/o/3', timestamp: TS, etag: createHash('md5').update('hello').digest('hex'), contentLength: 4,
    contentType: '', meta: {}, headers: {},
  })]);
  await writeFile(p3, lying);
  t.match(await checkDataFile(p3, HASH), { kind: 'bad', reason: /footer length 4/ }, 'a footer whose length disagrees');

  const p4 = await writeObject(dir, '/a/c/o/4', Buffer.from('x'));
  const elsewhere = join(dir, 'd1', 'objects', '7', 'fff', 'f'.repeat(32));
  await mkdir(elsewhere, { recursive: true });
  await rename(p4, join(elsewhere, `${TS}.data`));
  t.match(await checkDataFile(join(elsewhere, `${TS}.data`), HASH), { kind: 'bad', reason: /does not hash/ }, 'a file in the wrong folder');
  t.same(await checkDataFile(join(dir, 'nope.data'), HASH), { kind: 'gone' }, 'a file that went away');

  const to = await quarantineHashDir(join(dir, 'd1'), join(path, '..'));
  t.ok(to?.startsWith(join(dir, 'd1', QUARANTINE_SUBDIR)), 'quarantined into the device');
  t.same(await readdir(to!), [`${TS}.data`], 'with its files');
  t.equal(await quarantineHashDir(join(dir, 'd1'), join(path, '..')), undefined, 'a folder already gone');
});

/** Rewrites a .data file's footer through `edit` (the body stays). */
async function editFooter(path: string, edit: (m: DiskMetadata) => DiskMetadata): Promise<void> {
  const fh = await open(path, 'r');
  const size = (await fh.stat()).size;
  const { meta, footerBytes } = await readFooter(fh, size);
  await fh.close();
  const raw = await readFile(path);
  await writeFile(path, Buffer.concat([raw.subarray(0, size - footerBytes), encodeFooter(edit(meta))]));
}

async function footerOf(path: string): Promise<DiskMetadata> {
  const fh = await open(path, 'r');
  try {
    return (await readFooter(fh, (await fh.stat()).size)).meta;
  } finally {
    await fh.close();
  }
}

t.test('the body CRC-32C in the footer', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-audit-crc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'd1'));
  const body = randomBytes(200_001);
  const path = await writeObject(dir, '/a/c/crc/1', body);
  const meta = await footerOf(path);
  t.equal(meta.crc32c, crc32c(body), 'the writer records the CRC-32C of the body it wrote');
  t.same(bodyCheckOf(meta), { algorithm: 'crc32c', expected: crc32c(body) }, 'and reads check it');
  t.same(await checkDataFile(path, HASH), { kind: 'ok', bytes: body.length }, 'a good file passes');

  await editFooter(path, (m) => ({ ...m, crc32c: (m.crc32c! ^ 1) >>> 0 }));
  t.match(await checkDataFile(path, HASH), { kind: 'bad', reason: /CRC-32C/ }, 'a footer CRC that disagrees with a good body');
  await editFooter(path, (m) => ({ ...m, crc32c: 'abc' as unknown as number }));
  t.match(await checkDataFile(path, HASH), { kind: 'bad', reason: /not a 32-bit number/ }, 'a malformed footer CRC');
  t.same(bodyCheckOf(await footerOf(path)), { algorithm: 'md5', expected: meta.etag }, 'which reads do not trust (MD5 instead)');

  const { crc32c: _dropped, ...legacy } = meta;
  await editFooter(path, () => legacy);
  t.same(await checkDataFile(path, HASH), { kind: 'ok', bytes: body.length }, 'a file from before the field: MD5 only');
  t.same(bodyCheckOf(legacy), { algorithm: 'md5', expected: meta.etag }, 'its reads check the MD5');
  const fh = await open(path, 'r+');
  await fh.write(Buffer.from([body[5]! ^ 0x40]), 0, 1, 5);
  await fh.close();
  t.match(await checkDataFile(path, HASH), { kind: 'bad', reason: /body MD5/ }, 'and a flipped byte in it is found');

  const ts = await new DiskFiles({ devicesDir: dir, reserveBytes: 0 }).createWriter('d1', 7, 'f'.repeat(32), 'ts');
  await ts.finish({ name: '/a/c/x', timestamp: TS, etag: '', contentLength: 0, contentType: '', meta: {}, headers: {} });
  const tsMeta = await footerOf(join(dir, 'd1', 'objects', '7', 'fff', 'f'.repeat(32), `${TS}.ts`));
  t.equal(tsMeta.crc32c, undefined, 'tombstones (no body) record none');
});
