/**
 * The small-write log: records read back in order and whole, a torn tail ends a segment, a
 * checkpoint waits for the files its records cover and then removes the segments, and after a
 * crash DiskFiles.recoverLogs puts back every small write the log holds (missing or torn files)
 * except the ones a newer version replaced.
 */
import t, { type Test } from 'tap';
import { tempDevicesDir } from './testing.js';
import { mkdir, readdir, readFile, writeFile, truncate, unlink, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DiskFiles, type DiskMetadata } from './diskfile.js';
import {
  SmallWriteLog, decodeRecords, encodeRecord, listSegments, readSegment, smallWriteLogAvailable, type LoggedWrite,
} from './small-write-log.js';

const HASH_A = 'a'.repeat(32);
const HASH_B = 'b'.repeat(32);

const tempDevices = (t: Test) => tempDevicesDir(t, 'ringstack-wal-');

function record(i: number): LoggedWrite {
  return { path: `objects/1/aaa/${HASH_A}/17000000${String(i).padStart(2, '0')}.00000.data`, ignoreMeta: i % 2 === 0, file: randomBytes(100 + i) };
}

function meta(ts: string, size: number): DiskMetadata {
  return { name: '/a/c/o', timestamp: ts, etag: 'e'.repeat(32), contentLength: size, contentType: 'x', meta: {}, headers: {} };
}

/** A small write through `disk`; resolves when acknowledged. */
async function put(disk: DiskFiles, hash: string, ts: string, body: Buffer, ext: 'data' | 'ts' = 'data'): Promise<void> {
  const w = await disk.createWriter('d1', 1, hash, ext);
  if (body.length) await w.write(body);
  await w.finish(meta(ts, body.length));
}

async function body(disk: DiskFiles, hash: string): Promise<string> {
  const s = await disk.openObject('d1', 1, hash);
  if (s.kind !== 'present') return s.kind;
  const buf = Buffer.alloc(s.obj.bodySize);
  const { readSync, closeSync } = await import('node:fs');
  readSync(s.obj.fd, buf, 0, buf.length, 0);
  closeSync(s.obj.fd);
  return buf.toString();
}

t.test('records decode in order, whole, and a torn record ends the segment', async (t) => {
  const recs = [record(1), record(2), record(3)];
  const bytes = Buffer.concat(recs.map(encodeRecord));
  t.same(decodeRecords(bytes), recs);
  t.same(decodeRecords(bytes.subarray(0, bytes.length - 1)), recs.slice(0, 2), 'short last record: dropped');
  const flipped = Buffer.from(bytes);
  flipped[encodeRecord(recs[0]!).length + 20]! ^= 1;
  t.same(decodeRecords(flipped), recs.slice(0, 1), 'a CRC that does not match ends the segment');
  t.same(decodeRecords(Buffer.concat([bytes.subarray(0, encodeRecord(recs[0]!).length), Buffer.alloc(4096)])), recs.slice(0, 1),
    'zeros where a crash left the file longer than its data');
});

t.test('the log needs the addon here (npm ci builds it)', async (t) => {
  t.ok(smallWriteLogAvailable);
});

t.test('concurrent appends are durable, in one segment, and a checkpoint removes it after their files are placed', async (t) => {
  const dir = await tempDevices(t);
  const log = new SmallWriteLog(join(dir, 'd1', 'wal'), join(dir, 'd1'));
  const recs = Array.from({ length: 20 }, (_, i) => record(i));
  const tickets = recs.map((r) => log.append(r));
  await Promise.all(tickets.map((x) => x.durable));
  const segments = listSegments(join(dir, 'd1', 'wal'));
  t.equal(segments.length, 1);
  t.same(readSegment(segments[0]!), recs, 'every record, in the order appended');

  let checkpointed = false;
  const cp = log.checkpoint().then(() => {
    checkpointed = true;
  });
  for (const x of tickets.slice(0, 19)) x.release();
  await new Promise((r) => setTimeout(r, 50));
  t.notOk(checkpointed, 'waits while a record\'s file is not yet placed');
  t.equal(listSegments(join(dir, 'd1', 'wal')).length, 1);
  tickets[19]!.release();
  await cp;
  t.same(listSegments(join(dir, 'd1', 'wal')), [], 'segment removed once all are placed and synced');

  const later = log.append(record(30));
  await later.durable;
  const next = listSegments(join(dir, 'd1', 'wal'));
  t.equal(next.length, 1);
  t.not(next[0], segments[0], 'later writes start a new segment');
  // A checkpoint still waiting on `later` when newer records arrive and the log is closed:
  // close leaves nothing behind, the newer segment included.
  const waiting = log.checkpoint();
  const newer = log.append(record(31));
  await newer.durable;
  const closing = log.close();
  later.release();
  newer.release();
  await Promise.all([waiting, closing]);
  t.same(listSegments(join(dir, 'd1', 'wal')), [], 'a clean close leaves nothing to replay');
});

t.test('small writes go through the log; a crash that loses their files is repaired before serving', async (t) => {
  const dir = await tempDevices(t);
  const disk = new DiskFiles({ devicesDir: dir, reserveBytes: 0, smallWriteLog: true });
  await put(disk, HASH_A, '1700000001.00000', Buffer.from('first of a'));
  await put(disk, HASH_B, '1700000001.00000', Buffer.from('only b'));
  await put(disk, HASH_A, '1700000002.00000', Buffer.from('second of a'));
  t.equal(await body(disk, HASH_A), 'second of a', 'readable as soon as acknowledged');
  t.equal(listSegments(join(dir, 'd1', 'wal')).length, 1, 'the writes are in the log');

  // The host crashed before write-back: one file never reached the disk, the other is torn.
  await unlink(join(disk.hashDir('d1', 1, HASH_A), '1700000002.00000.data'));
  await truncate(join(disk.hashDir('d1', 1, HASH_B), '1700000001.00000.data'), 3);

  await writeFile(join(dir, 'not-a-device'), 'a file beside the devices');
  const after = new DiskFiles({ devicesDir: dir, reserveBytes: 0, smallWriteLog: true });
  const r = await after.recoverLogs();
  // The first version of a finds an empty hash dir (the second's file is lost too), so it is
  // written again, and removed once the second is.
  t.match(r, { segments: 1, records: 3, restored: 3, superseded: 0 });
  t.equal(await body(after, HASH_A), 'second of a');
  t.equal(await body(after, HASH_B), 'only b');
  t.same(await readdir(disk.hashDir('d1', 1, HASH_A)), ['1700000002.00000.data'], 'no older version brought back');
  t.same(listSegments(join(dir, 'd1', 'wal')), [], 'segments removed once replayed');
  t.match(await after.recoverLogs(), { segments: 0, records: 0 }, 'nothing left to replay');
});

t.test('a replayed record never overrides a newer version, a tombstone included', async (t) => {
  const dir = await tempDevices(t);
  const disk = new DiskFiles({ devicesDir: dir, reserveBytes: 0, smallWriteLog: true });
  await put(disk, HASH_A, '1700000001.00000', Buffer.from('deleted later'));
  const unlogged = new DiskFiles({ devicesDir: dir, reserveBytes: 0 });
  await put(unlogged, HASH_A, '1700000005.00000', Buffer.alloc(0), 'ts');
  t.equal(await body(unlogged, HASH_A), 'deleted');
  const r = await new DiskFiles({ devicesDir: dir, reserveBytes: 0 }).recoverLogs();
  t.match(r, { records: 1, restored: 0, superseded: 1 }, 'replayed even with the log switched off');
  t.equal(await body(unlogged, HASH_A), 'deleted');
});

t.test('a torn tail is not replayed and a bad record path is refused', async (t) => {
  const dir = await tempDevices(t);
  const disk = new DiskFiles({ devicesDir: dir, reserveBytes: 0, smallWriteLog: true });
  await put(disk, HASH_A, '1700000001.00000', Buffer.from('kept'));
  const [segment] = listSegments(join(dir, 'd1', 'wal'));
  // An unacknowledged batch cut short by the crash.
  const torn = encodeRecord({ path: `objects/1/bbb/${HASH_B}/1700000001.00000.data`, ignoreMeta: false, file: Buffer.from('x') });
  await appendFile(segment!, torn.subarray(0, torn.length - 2));
  const r = await new DiskFiles({ devicesDir: dir, reserveBytes: 0 }).recoverLogs();
  t.match(r, { records: 1 });
  t.equal(await body(disk, HASH_B), 'missing');

  await writeFile(join(dir, 'd1', 'wal', '0000000000000009.log'),
    encodeRecord({ path: '../../etc/passwd', ignoreMeta: false, file: Buffer.from('x') }));
  await t.rejects(new DiskFiles({ devicesDir: dir, reserveBytes: 0 }).recoverLogs(), /bad path \.\.\/\.\.\/etc\/passwd/);
  t.ok((await readFile(join(dir, 'd1', 'wal', '0000000000000009.log'))).length > 0, 'kept for a person to look at');
});

t.test('a checkpoint that cannot sync keeps its segments for the next one', async (t) => {
  const dir = await tempDevices(t);
  const log = new SmallWriteLog(join(dir, 'd1', 'wal'), join(dir, 'gone'));
  const x = log.append(record(1));
  await x.durable;
  x.release();
  await t.rejects(log.checkpoint(), { code: 'ENOENT', syscall: 'open', path: join(dir, 'gone') });
  t.equal(listSegments(join(dir, 'd1', 'wal')).length, 1, 'the segment is still there');
  await mkdir(join(dir, 'gone'));
  await log.checkpoint();
  t.same(listSegments(join(dir, 'd1', 'wal')), [], 'retired by the next checkpoint');
});
