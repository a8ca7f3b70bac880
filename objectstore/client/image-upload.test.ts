/**
 * Image uploads against a real local object store (proxy + 3 storage nodes): the stored bytes
 * equal the file, an interrupted upload resumes with only the missing parts, a format mismatch
 * is refused. The command (`ringstack image push`) is tested in bin/commands/image.test.ts.
 */
import t from 'tap';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runLocalObjectStore } from '../cluster/local.js';
import {
  ImageFileEmptyError, ImageFileMissingError, ImageFormatMismatchError, ImageStoreAuthError, QCOW2_MAGIC,
  imageManifest, probeImage, uploadImage,
} from './image-upload.js';

const MIB = 1024 * 1024;
const PART = 5 * MIB;

const root = mkdtempSync(join(tmpdir(), 'rs-imgup-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const store = await runLocalObjectStore({ dataDir: join(root, 'store'), port: 0, log: () => {} });
t.teardown(() => store.stop());
const creds = JSON.parse(readFileSync(store.credentialsFile!, 'utf8'));
const s3 = new S3Client({
  endpoint: store.url, region: 'us-east-1', forcePathStyle: true,
  credentials: { accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey },
});
t.teardown(() => s3.destroy());
const base = { endpoint: store.url, accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey, partBytes: PART, stateDir: join(root, 'state') };

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

async function download(bucket: string, key: string): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

/** A fake qcow2: the magic, a version, and the virtual size at bytes 24..31, then random bytes. */
function qcow2Like(bytes: number, virtualBytes: bigint): Buffer {
  const b = randomBytes(bytes);
  QCOW2_MAGIC.copy(b, 0);
  b.writeUInt32BE(3, 4);
  b.writeBigUInt64BE(virtualBytes, 24);
  return b;
}

t.test('a qcow2 image is stored byte for byte, hashed, and its manifest printed', async (t) => {
  const data = qcow2Like(11 * MIB + 123, 3n * 1024n ** 3n + 1n);
  const file = join(root, 'disk.qcow2');
  writeFileSync(file, data);
  const progress: number[] = [];
  const r = await uploadImage({ ...base, file, key: 'disk.qcow2', bucket: 'fresh-images', onProgress: (d) => progress.push(d) });
  t.equal(r.format, 'qcow2', 'format found from the magic');
  t.equal(r.parts, 3);
  t.equal(r.partsSent, 3);
  t.equal(r.resumed, false);
  t.equal(r.sha256, sha256(data), 'sha256 computed while reading');
  t.equal(progress.at(-1), data.length, 'progress reaches the whole size');
  t.equal(sha256(await download('fresh-images', 'disk.qcow2')), sha256(data), 'the stored object is the file (bucket created)');
  const m = parse(imageManifest('disk', r));
  t.same(m, {
    apiVersion: 'ringstack.dev/v1', kind: 'Image', metadata: { name: 'disk' },
    spec: { source: { bucket: 'fresh-images', key: 'disk.qcow2' }, format: 'qcow2', sha256: sha256(data), minDiskGiB: 4, minMemoryMiB: 256 },
  }, 'minDiskGiB is the virtual size rounded up');
  t.same(readdirSync(join(root, 'state')), [], 'no resume state left after success');
});

t.test('an interrupted upload resumes and sends only the missing parts', async (t) => {
  const data = randomBytes(4 * PART + 7);
  const file = join(root, 'big.raw');
  writeFileSync(file, data);
  const stored: number[] = [];
  await t.rejects(uploadImage({
    ...base, file, key: 'big.raw', bucket: 'images', concurrency: 1,
    afterPart: (n) => { stored.push(n); if (stored.length === 2) throw new Error('interrupted'); },
  }), /interrupted/);
  t.same(stored, [1, 2], 'two parts were stored before the interruption');
  t.equal(readdirSync(join(root, 'state')).length, 1, 'resume state kept');

  const sent: number[] = [];
  const r = await uploadImage({ ...base, file, key: 'big.raw', bucket: 'images', afterPart: (n) => { sent.push(n); } });
  t.equal(r.resumed, true);
  t.same(sent.sort((a, b) => a - b), [3, 4, 5], 'only the missing parts are sent');
  t.equal(r.partsSent, 3);
  t.equal(r.format, 'raw');
  t.equal(r.sha256, sha256(data), 'the resumed upload hashes the whole file');
  t.equal(sha256(await download('images', 'big.raw')), sha256(data), 'the stored object is the file');
  t.same(readdirSync(join(root, 'state')), []);
});

t.test('a changed file starts a fresh upload', async (t) => {
  const file = join(root, 'changing.raw');
  writeFileSync(file, randomBytes(2 * PART + 1));
  await t.rejects(uploadImage({ ...base, file, key: 'changing.raw', concurrency: 1, afterPart: () => { throw new Error('stop'); } }));
  const data = randomBytes(2 * PART + 2);
  writeFileSync(file, data);
  const r = await uploadImage({ ...base, file, key: 'changing.raw' });
  t.equal(r.resumed, false);
  t.equal(r.partsSent, 3);
  t.equal(sha256(await download('images', 'changing.raw')), sha256(data));
});

t.test('refusals: format mismatch, missing or empty file, bad credentials', async (t) => {
  const raw = join(root, 'plain.img');
  writeFileSync(raw, randomBytes(1000));
  await t.rejects(uploadImage({ ...base, file: raw, key: 'x', format: 'qcow2' }), ImageFormatMismatchError);
  const q = join(root, 'q.qcow2');
  writeFileSync(q, qcow2Like(1000, 1024n));
  await t.rejects(uploadImage({ ...base, file: q, key: 'x', format: 'raw' }), ImageFormatMismatchError);
  await t.rejects(uploadImage({ ...base, file: join(root, 'nope'), key: 'x' }), ImageFileMissingError);
  const empty = join(root, 'empty.img');
  writeFileSync(empty, '');
  await t.rejects(uploadImage({ ...base, file: empty, key: 'x' }), ImageFileEmptyError);
  await t.rejects(uploadImage({ ...base, file: raw, key: 'x', secretAccessKey: 'wrong' }), ImageStoreAuthError);
  t.equal((await probeImage(q)).virtualBytes, 1024);
});
