/**
 * A cluster run the way an operator runs one: storage nodes from their YAML configs and
 * `ringstack proxy --config F` as its own process, used with the S3 SDK.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { stringify as toYaml } from 'yaml';
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { TestCluster } from './test-cluster.js';
import { freePort, writePrivate } from './local.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'bin', 'ringstack');

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((res) => {
    const c = spawn(CLI, args, { env: { ...process.env, NODE_OPTIONS: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout!.on('data', (d) => (out += d));
    c.stderr!.on('data', (d) => (err += d));
    c.on('exit', (code) => res({ code, out, err }));
  });
}

t.test('storage-node and proxy commands: help and usage errors', async (t) => {
  for (const cmd of ['storage-node', 'proxy']) {
    const h = await run([cmd, '--help']);
    t.equal(h.code, 0);
    t.match(h.out, new RegExp(`usage: ringstack ${cmd} --config FILE`));
    const u = await run([cmd]);
    t.equal(u.code, 2);
    t.match(u.err, /missing --config/);
    const bad = await run([cmd, '--config', '/nonexistent/x.yaml']);
    t.equal(bad.code, 1);
    t.match(bad.err, /cannot read config/);
  }
});

t.test('ringstack proxy over storage nodes', async (t) => {
  const cluster = await TestCluster.start();
  t.teardown(() => cluster.stop());
  const port = await freePort('127.0.0.1');
  const file = join(cluster.dir, 'proxy.yaml');
  await writePrivate(file, toYaml({
    secret: cluster.secret, hashSuffix: cluster.hash.suffix, ringDir: join(cluster.dir, 'rings'),
    proxy: { host: '127.0.0.1', port },
  }));
  const proxy: ChildProcess = spawn(CLI, ['proxy', '--config', file], {
    env: { ...process.env, NODE_OPTIONS: '', RINGSTACK_ACCESS_KEY: 'OPERATOR', RINGSTACK_SECRET_KEY: 'operator-secret' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => new Promise<void>((r) => {
    if (proxy.exitCode !== null) return r();
    proxy.once('exit', () => r());
    proxy.kill('SIGTERM');
  }));
  const line = await new Promise<string>((res) => createInterface({ input: proxy.stdout! }).once('line', res));
  t.match(line, `ringstack proxy listening on http://127.0.0.1:${port}`);
  const s3 = new S3Client({
    endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', forcePathStyle: true,
    credentials: { accessKeyId: 'OPERATOR', secretAccessKey: 'operator-secret' },
  });
  t.teardown(() => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: 'ops' }));
  await s3.send(new PutObjectCommand({ Bucket: 'ops', Key: 'dir/a.txt', Body: 'A' }));
  await s3.send(new PutObjectCommand({ Bucket: 'ops', Key: 'dir/b.txt', Body: 'BB' }));
  const got = await s3.send(new GetObjectCommand({ Bucket: 'ops', Key: 'dir/b.txt' }));
  t.equal(await got.Body!.transformToString(), 'BB');
  const list = await s3.send(new ListObjectsV2Command({ Bucket: 'ops', Prefix: 'dir/' }));
  t.same(list.Contents?.map((c) => c.Key), ['dir/a.txt', 'dir/b.txt']);
});
