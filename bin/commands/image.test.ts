/**
 * `ringstack image push` in process against a real local object store: the manifest it prints,
 * its progress output, and one clear line (exit 1) or the usage (exit 2) for each mistake.
 */
import t from 'tap';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runLocalObjectStore } from '../../objectstore/cluster/local.js';
import { QCOW2_MAGIC } from '../../objectstore/client/image-upload.js';
import { main } from '../cli.js';
import { progressReporter } from './image.js';

const MIB = 1024 * 1024;

const root = mkdtempSync(join(tmpdir(), 'rs-imgcli-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const store = await runLocalObjectStore({ dataDir: join(root, 'store'), port: 0, log: () => {} });
t.teardown(() => store.stop());
const creds = JSON.parse(readFileSync(store.credentialsFile!, 'utf8'));
const s3 = new S3Client({
  endpoint: store.url, region: 'us-east-1', forcePathStyle: true,
  credentials: { accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey },
});
t.teardown(() => s3.destroy());

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

async function download(bucket: string, key: string): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

function qcow2Like(bytes: number, virtualBytes: bigint): Buffer {
  const b = randomBytes(bytes);
  QCOW2_MAGIC.copy(b, 0);
  b.writeUInt32BE(3, 4);
  b.writeBigUInt64BE(virtualBytes, 24);
  return b;
}

async function cli(args: string[]) {
  let out = '';
  let err = '';
  const code = await main(args, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, out, err };
}

t.test('progress: a bar with rate and ETA on a terminal, lines every few seconds otherwise', async (t) => {
  let now = 0;
  let tty = '';
  const bar = progressReporter((s) => { tty += s; }, true, () => now);
  now = 1000;
  bar.update(0, 10 * MIB);
  now = 2000;
  bar.update(5 * MIB, 10 * MIB);
  t.match(tty, /\r\[#{15}\.{15}\]  50%  5\.0 MiB \/ 10\.0 MiB  2\.5 MiB\/s  ETA 00:02/);
  now = 4000;
  bar.update(10 * MIB, 10 * MIB, true);
  t.match(tty, /100%.*ETA 00:00\x1b\[K\n$/, 'the last redraw ends the line');
  let plain = '';
  now = 0;
  const lines = progressReporter((s) => { plain += s; }, false, () => now);
  lines.update(0, 10 * MIB);
  now = 1000;
  lines.update(MIB, 10 * MIB);
  t.equal(plain, '', 'no line before a few seconds');
  now = 6000;
  lines.update(3 * MIB, 10 * MIB);
  t.match(plain, /^uploaded 30%  3\.0 MiB \/ 10\.0 MiB  512\.0 KiB\/s  ETA 00:14\n$/);
});

t.test('ringstack image push', async (t) => {
  const data = qcow2Like(6 * MIB, 512n * 1024n * 1024n);
  const file = join(root, 'cli.qcow2');
  writeFileSync(file, data);
  const common = ['--endpoint', store.url, '--credentials', store.credentialsFile!, '--part-mib', '5'];
  process.env.XDG_CACHE_HOME = join(root, 'cache');
  const ok = await cli(['image', 'push', file, '--name', 'cli-disk', ...common]);
  t.equal(ok.code, 0, ok.err);
  const m = parse(ok.out);
  t.equal(m.kind, 'Image');
  t.equal(m.spec.sha256, sha256(data));
  t.equal(m.spec.format, 'qcow2');
  t.same(m.spec.source, { bucket: 'images', key: 'cli.qcow2' });
  t.equal(m.spec.minDiskGiB, 1);
  t.match(ok.err, /uploaded 100%.*ETA/, 'a progress line without a terminal');
  t.equal(sha256(await download('images', 'cli.qcow2')), sha256(data));

  const wrong = await cli(['image', 'push', file, '--name', 'x', '--format', 'raw', ...common]);
  t.equal(wrong.code, 1);
  t.match(wrong.err, /is a qcow2 image, but --format raw was given/);
  t.equal(wrong.err.trim().split('\n').length, 1, 'one line');
  const missing = await cli(['image', 'push', join(root, 'absent.img'), '--name', 'x', ...common]);
  t.equal(missing.code, 1);
  t.match(missing.err, /absent\.img: no such file/);
  const empty = join(root, 'cli-empty.img');
  writeFileSync(empty, '');
  t.match((await cli(['image', 'push', empty, '--name', 'x', ...common])).err, /the file is empty/);
  const badKey = await cli(['image', 'push', file, '--name', 'x', '--endpoint', store.url, '--access-key', 'AKNOPE', '--secret-key', 'nope']);
  t.equal(badKey.code, 1);
  t.match(badKey.err, /refused the credentials/);
  const refused = await cli(['image', 'push', file, '--name', 'x', '--endpoint', 'http://127.0.0.1:1', '--access-key', 'a', '--secret-key', 'b']);
  t.equal(refused.code, 1);
  t.match(refused.err, /^ringstack image: cannot reach the object store at http:\/\/127\.0\.0\.1:1 /);
  const noCreds = await cli(['image', 'push', join(root, 'absent.img'), '--name', 'x', '--data-dir', join(root, 'no-such-dir')]);
  t.match(noCreds.err, /absent\.img: no such file/, 'the file is checked before the credentials');
  t.equal((await cli(['image', 'push', file])).code, 2, 'missing --name is a usage error');
  t.equal((await cli(['image', 'push', file, '--name', 'x', '--format', 'vmdk'])).code, 2);
  t.equal((await cli(['image', 'pull', file, '--name', 'x'])).code, 2);
});
