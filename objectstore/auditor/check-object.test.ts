/** checkDataFile on real files written by the disk layer: good, flipped body, cut footer, wrong folder, wrong length. */
import t from 'tap';
import { mkdtemp, open, readdir, rename, mkdir, rm, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { DiskFiles, encodeFooter } from '../node/diskfile.js';
import { hashPath } from '../ring/hash.js';
import { checkDataFile } from './check-object.js';
import { quarantineHashDir, QUARANTINE_SUBDIR } from './quarantine.js';
import { md5HoldBack, BodyMismatch } from './verify-stream.js';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

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

t.test('md5HoldBack never lets a wrong body complete', async (t) => {
  const chunks = [Buffer.from('aaaa'), Buffer.from('bbbb'), Buffer.from('cccc')];
  const good = createHash('md5').update(Buffer.concat(chunks)).digest('hex');
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), md5HoldBack(good), async function* (src) {
    for await (const c of src) out.push(c as Buffer);
  });
  t.equal(Buffer.concat(out).toString(), 'aaaabbbbcccc', 'a good body passes whole');
  const got: Buffer[] = [];
  const err = await pipeline(Readable.from(chunks), md5HoldBack('0'.repeat(32)), async function* (src) {
    for await (const c of src) got.push(c as Buffer);
  }).then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof BodyMismatch, 'fails with BodyMismatch');
  t.ok(Buffer.concat(got).length < 12, 'a wrong body stops short of its length');
});
