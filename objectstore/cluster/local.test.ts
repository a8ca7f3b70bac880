/**
 * `ringstack objectstore` as a user runs it (the compiled CLI as a child process): one ready
 * line, private secret and credentials files, S3 traffic through the proxy's front end,
 * Ctrl-C stops every child, and a second start resumes with the data.
 */
import t, { type Test } from 'tap';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { freePort, storageNodeEnv } from './local.js';
import { DATA_PATH_V8_FLAGS } from '../common/heap-flags.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'bin', 'ringstack');

function startStore(dataDir: string, port: number): Promise<{ child: ChildProcess; line: string; out: string[] }> {
  return new Promise((res, rej) => {
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
    delete env.RINGSTACK_ACCESS_KEY;
    delete env.RINGSTACK_SECRET_KEY;
    const child = spawn(CLI, ['objectstore', '--data-dir', dataDir, '--port', String(port)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: string[] = [];
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    createInterface({ input: child.stdout! }).on('line', (l) => {
      out.push(l);
      if (out.length === 1) res({ child, line: l, out });
    });
    child.on('exit', (code) => rej(new Error(`exited ${code}: ${err}`)));
  });
}

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)]).toString().trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function stop(child: ChildProcess, sig: NodeJS.Signals): Promise<number | null> {
  return new Promise((r) => {
    child.once('exit', (code) => r(code));
    child.kill(sig);
  });
}

/** A temp data folder and a free port for one test; what it started there is killed at its end. */
async function scratchStore(t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-local-'));
  const port = await freePort('127.0.0.1');
  let running: ChildProcess | undefined;
  t.teardown(async () => {
    if (running && running.exitCode === null) await stop(running, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });
  return {
    dir, port,
    async start() {
      const r = await startStore(dir, port);
      running = r.child;
      return r;
    },
  };
}

t.test('ringstack objectstore', async (t) => {
  const { dir, port, start } = await scratchStore(t);
  const first = await start();
  t.match(first.line, new RegExp(`ready at http://127\\.0\\.0\\.1:${port} \\(credentials in ${dir}/credentials\\.json\\)`));
  t.equal((await stat(join(dir, 'credentials.json'))).mode & 0o777, 0o600);
  t.equal((await stat(join(dir, 'cluster.yaml'))).mode & 0o777, 0o600);
  const creds = JSON.parse(await readFile(join(dir, 'credentials.json'), 'utf8'));
  t.ok(creds.accessKey && creds.secretKey && creds.account);
  const nodes = childrenOf(first.child.pid!);
  t.equal(nodes.length, 3, 'three storage node processes');
  for (const pid of [first.child.pid!, ...nodes]) {
    const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    t.ok(DATA_PATH_V8_FLAGS.every((f) => args.includes(f)), `process ${pid} runs with the data path's V8 flags`);
  }
  if (process.getuid?.() === 0) {
    // proxy.receiveBufferBytes' default (4 MiB), forced past rmem_max as root; Linux reports twice it.
    const listener = execFileSync('ss', ['-Htlmn', `sport = :${port}`], { encoding: 'utf8' });
    t.match(listener, /\brb8388608\b/, 'the proxy listens with a fixed 4 MiB receive buffer');
  }

  const s3 = new S3Client({
    endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', forcePathStyle: true,
    credentials: { accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey },
  });
  t.teardown(() => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: 'keep' }));
  await s3.send(new PutObjectCommand({ Bucket: 'keep', Key: 'hello.txt', Body: 'hello, ring' }));

  t.equal(await stop(first.child, 'SIGINT'), 0, 'Ctrl-C exits 0');
  t.same(first.out, [first.line], 'one line on stdout');
  await new Promise((r) => setTimeout(r, 200));
  t.same(nodes.filter(alive), [], 'no storage node left running');

  const second = await start();
  const got = await s3.send(new GetObjectCommand({ Bucket: 'keep', Key: 'hello.txt' }));
  t.equal(await got.Body!.transformToString(), 'hello, ring', 'data survives a restart');
  t.equal(await stop(second.child, 'SIGTERM'), 0);
});

t.test('storage nodes stop when the launcher is killed outright', async (t) => {
  // kill -9 (or the OOM killer) gives the launcher no chance to stop its children: left
  // running, they would hold their ports and devices, and the next start would fail.
  const { dir, port, start } = await scratchStore(t);
  const first = await start();
  const nodes = childrenOf(first.child.pid!);
  t.equal(nodes.length, 3, 'three storage node processes');
  await stop(first.child, 'SIGKILL');
  const deadline = Date.now() + 15_000;
  while (nodes.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  t.same(nodes.filter(alive), [], 'every storage node exited after its launcher was killed');
  const second = await start();
  t.match(second.line, /ready at/, 'a new start on the same folder and port comes up');
  t.equal(await stop(second.child, 'SIGTERM'), 0);
});

t.test('usage errors', async (t) => {
  const r = spawn(CLI, ['objectstore'], { env: { ...process.env, NODE_OPTIONS: '', RINGSTACK_DATA_DIR: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  r.stderr!.on('data', (d) => (err += d));
  const code = await new Promise((res) => r.on('exit', res));
  t.equal(code, 2);
  t.match(err, /missing --data-dir/);
});

t.test('the storage nodes share the background workers\' settings, not the per-node ones', async (t) => {
  const env = storageNodeEnv({
    PATH: '/usr/bin', RINGSTACK_REPLICATOR_INTERVAL_MS: '86400000', RINGSTACK_AUDITOR_BYTES_PER_SECOND: '1048576',
    RINGSTACK_RECLAIM_AGE_SECONDS: '3600', RINGSTACK_DEBUG: '1', RINGSTACK_NODE_RECEIVE: '0', RINGSTACK_NODE_WRITEBACK: '0', RINGSTACK_NODE_RCVLOWAT: '0', RINGSTACK_SMALL_WRITE_LOG: 'false', RINGSTACK_NODE_PORT: '6200',
    RINGSTACK_DEVICES_DIR: '/srv', RINGSTACK_PROXY_PORT: '8080', RINGSTACK_ACCESS_KEY: 'k',
  });
  t.same(env, {
    PATH: '/usr/bin', RINGSTACK_REPLICATOR_INTERVAL_MS: '86400000', RINGSTACK_AUDITOR_BYTES_PER_SECOND: '1048576',
    RINGSTACK_RECLAIM_AGE_SECONDS: '3600', RINGSTACK_DEBUG: '1', RINGSTACK_NODE_RECEIVE: '0', RINGSTACK_NODE_WRITEBACK: '0', RINGSTACK_NODE_RCVLOWAT: '0',
    RINGSTACK_SMALL_WRITE_LOG: 'false',
  });
});
