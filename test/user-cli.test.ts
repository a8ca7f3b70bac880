/**
 * `ringstack user` against `ringstack objectstore` as a user runs them (compiled CLI, child
 * processes, needs dist/): the root user from DIR/credentials.json adds a user, the new user
 * works over S3 at once, rotate-key and remove take effect, and the users survive a restart
 * because they live in the store's system account.
 */
import t from 'tap';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { S3Client, CreateBucketCommand, ListBucketsCommand, PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { freePort } from '../objectstore/cluster/local.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'ringstack');

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
  for (const k of ['RINGSTACK_ACCESS_KEY', 'RINGSTACK_SECRET_KEY', 'RINGSTACK_ENDPOINT', 'RINGSTACK_DATA_DIR']) delete env[k];
  return env;
}

function startStore(dataDir: string, port: number): Promise<ChildProcess> {
  return new Promise((res, rej) => {
    const child = spawn(CLI, ['objectstore', '--data-dir', dataDir, '--port', String(port)], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    createInterface({ input: child.stdout! }).once('line', () => res(child));
    child.on('exit', (code) => rej(new Error(`objectstore exited ${code}: ${err}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (child.exitCode !== null || child.signalCode !== null) return r();
    child.once('exit', () => r());
    child.kill('SIGINT');
  });
}

function user(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((res) => {
    execFile(CLI, ['user', ...args], { env: cleanEnv() }, (e, out, err) => res({ code: e ? Number(e.code ?? 1) : 0, out, err }));
  });
}

function client(port: number, accessKeyId: string, secretAccessKey: string): S3Client {
  return new S3Client({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
}

t.test('ringstack user on a running object store', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-users-'));
  const port = await freePort('127.0.0.1');
  let store = await startStore(dir, port);
  t.teardown(async () => {
    await stop(store);
    await rm(dir, { recursive: true, force: true });
  });
  const flags = ['--data-dir', dir, '--endpoint', `http://127.0.0.1:${port}`];

  const added = await user(['add', 'team-a', ...flags, '--json']);
  t.equal(added.code, 0, added.err);
  const alice = JSON.parse(added.out) as { accessKey: string; secretKey: string; account: string };
  const s3 = client(port, alice.accessKey, alice.secretKey);
  t.teardown(() => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: 'team-a-data' }));
  await s3.send(new PutObjectCommand({ Bucket: 'team-a-data', Key: 'k', Body: 'v' }));
  // The same user signs in through the Swift API and sees the bucket as a container.
  const auth = await fetch(`http://127.0.0.1:${port}/auth/v1.0`, { headers: { 'x-auth-user': alice.accessKey, 'x-auth-key': alice.secretKey } });
  t.equal(auth.status, 200, 'Swift auth accepts a user added with ringstack user');
  const listing = await fetch(`${auth.headers.get('x-storage-url')}?format=json`, { headers: { 'x-auth-token': auth.headers.get('x-auth-token')! } });
  t.same((await listing.json() as Array<{ name: string }>).map((c) => c.name), ['team-a-data']);
  const listed = await user(['list', ...flags]);
  t.match(listed.out, new RegExp(`${alice.accessKey}\tteam-a`));
  t.match(listed.out, /\(root\)/);

  // The user lives in the store: it still works after a restart.
  await stop(store);
  store = await startStore(dir, port);
  t.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'team-a-data', Key: 'k' }))).Body!.transformToString(), 'v');

  const rotated = await user(['rotate-key', alice.accessKey, ...flags, '--json']);
  t.equal(rotated.code, 0, rotated.err);
  const fresh = client(port, alice.accessKey, (JSON.parse(rotated.out) as { secretKey: string }).secretKey);
  t.teardown(() => fresh.destroy());
  t.same((await fresh.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name), ['team-a-data']);
  await t.rejects(s3.send(new ListBucketsCommand({})), { name: 'SignatureDoesNotMatch' });

  const denied = await user(['list', '--endpoint', `http://127.0.0.1:${port}`].concat([]));
  t.equal(denied.code, 1, 'no credentials, no listing');
  t.equal((await user(['remove', alice.accessKey, ...flags])).code, 0);
  await t.rejects(fresh.send(new ListBucketsCommand({})), { name: 'InvalidAccessKeyId' });
});
