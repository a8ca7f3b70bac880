import t from 'tap';
import { mkdtemp, readFile, writeFile, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { decodeRing, encodeRing, readRingFile, writeRingFile, RING_GZIP_MTIME, type RingData } from './ring-file.js';
import { RingFileError } from './errors.js';
import { pythonJson } from './python-json.js';

function sample(parts = 16, replicas = 3, lastLen = parts): RingData {
  const devs = [0, 1, 2, 3].map((id) => ({
    id, region: 1, zone: id + 1, ip: `10.0.0.${id}`, port: 6200, device: 'sdb', weight: 100, meta: '',
    replication_ip: `10.0.0.${id}`, replication_port: 6200,
  }));
  const arrays = Array.from({ length: replicas }, (_, r) =>
    Uint16Array.from({ length: r === replicas - 1 ? lastLen : parts }, (_, p) => (p + r) % 4));
  return { devs: [...devs, null], partShift: 32 - Math.log2(parts), replica2part2dev: arrays, version: 7 };
}

t.test('encode/decode round trip, gzip header as Swift writes it', async (t) => {
  const data = sample();
  const bytes = encodeRing(data, 'object.ring.gz');
  t.equal(bytes.readUInt32LE(4), RING_GZIP_MTIME, 'fixed mtime');
  t.equal(bytes[3], 0x08, 'FNAME flag');
  t.equal(bytes.toString('latin1', 10, 21), 'object.ring', 'name without .gz');
  const raw = gunzipSync(bytes);
  t.equal(raw.toString('latin1', 0, 4), 'R1NG');
  t.equal(raw.readUInt16BE(4), 1, 'format version 1');
  const json = JSON.parse(raw.toString('utf8', 10, 10 + raw.readUInt32BE(6)));
  t.equal(json.byteorder, 'little');
  t.equal(json.replica_count, 3);
  t.equal(json.part_shift, 28);
  t.equal(json.devs[4], null, 'holes stay null');
  const back = decodeRing(bytes);
  t.same(back.devs, data.devs);
  t.same(back.replica2part2dev.map((a) => [...a]), data.replica2part2dev.map((a) => [...a]));
  t.equal(back.version, 7);
  t.same(encodeRing(back, 'object.ring.gz'), bytes, 'equal rings give equal bytes');
});

t.test('header JSON is byte-identical to Python json.dumps(sort_keys=True)', async (t) => {
  t.equal(pythonJson({ b: 1, a: [null, true, 'é"\\\n'], weight: 100 }), '{"a": [null, true, "\\u00e9\\"\\\\\\n"], "b": 1, "weight": 100.0}');
  t.equal(pythonJson({ weight: 0.00001 }), '{"weight": 1e-05}');
  t.equal(pythonJson({ weight: 2.5, x: 2.5 }), '{"weight": 2.5, "x": 2.5}');
  t.equal(pythonJson({ s: '😀' }), '{"s": "\\ud83d\\ude00"}');
});

t.test('reads big-endian arrays and a fractional last replica', async (t) => {
  const data = sample(16, 3, 8);
  const header = Buffer.from(pythonJson({ devs: data.devs, part_shift: 28, replica_count: 3, byteorder: 'big' }));
  const pre = Buffer.alloc(10);
  pre.write('R1NG', 0, 'latin1');
  pre.writeUInt16BE(1, 4);
  pre.writeUInt32BE(header.length, 6);
  const arrays = data.replica2part2dev.map((a) => {
    const b = Buffer.alloc(a.length * 2);
    a.forEach((v, i) => b.writeUInt16BE(v, i * 2));
    return b;
  });
  const back = decodeRing(gzipSync(Buffer.concat([pre, header, ...arrays])));
  t.same(back.replica2part2dev.map((a) => [...a]), data.replica2part2dev.map((a) => [...a]));
  t.equal(back.replica2part2dev[2]!.length, 8);
});

t.test('corrupt and truncated files fail with RingFileError naming the file', async (t) => {
  const good = encodeRing(sample());
  const raw = gunzipSync(good);
  const bad = (b: Buffer) => gzipSync(b);
  t.throws(() => decodeRing(good.subarray(0, good.length - 20), 'x.ring.gz'), { name: 'RingFileError', message: /^x\.ring\.gz: / });
  t.throws(() => decodeRing(Buffer.from('not gzip'), 'x'), RingFileError);
  t.throws(() => decodeRing(bad(Buffer.concat([Buffer.from('XXXX'), raw.subarray(4)]))), /magic/);
  const v2 = Buffer.from(raw);
  v2.writeUInt16BE(2, 4);
  t.throws(() => decodeRing(bad(v2)), /unknown ring format version 2/);
  t.throws(() => decodeRing(bad(raw.subarray(0, raw.length - 3))), /truncated|odd/);
  t.throws(() => decodeRing(bad(raw.subarray(0, 40))), /truncated/);
  t.throws(() => decodeRing(bad(Buffer.concat([raw, Buffer.alloc(2)]))), /unexpected bytes/);
  const pointsNowhere = Buffer.from(raw);
  pointsNowhere.writeUInt16LE(99, raw.length - 2);
  t.throws(() => decodeRing(bad(pointsNowhere)), /missing device 99/);
  const brokenJson = Buffer.from(raw);
  brokenJson[10] = 0x5d; // ']' where the header's '{' was
  t.throws(() => decodeRing(bad(brokenJson)), RingFileError);
});

t.test('writeRingFile is atomic and readRingFile reports md5 and size', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ring-file-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'object.ring.gz');
  await writeRingFile(file, sample());
  t.same(await readdir(dir), ['object.ring.gz'], 'no temp file left');
  const { data, info } = await readRingFile(file);
  t.equal(info.size, (await readFile(file)).length);
  t.match(info.md5, /^[0-9a-f]{32}$/);
  t.equal(data.devs.length, 5);
  await t.rejects(readRingFile(join(dir, 'none.ring.gz')), { name: 'RingFileError', message: /none\.ring\.gz.*ENOENT/ });
  await writeFile(join(dir, 'empty.ring.gz'), '');
  await t.rejects(readRingFile(join(dir, 'empty.ring.gz')), RingFileError);
});
