/**
 * An external object store instead of the built-in one: OpenStack Swift from Debian's packages
 * (proxy with s3api + tempauth, 3 storage nodes, 3 replicas), started by this test on loopback
 * ports (test/support/swift-s3api/). The controller and an agent are pointed at Swift's S3
 * endpoint only; a valid manifests repo is pushed with the real `git` CLI. Swift's own API (a
 * tempauth token and plain HTTP GETs) is the independent observer: the desired state and the
 * repository backup are in Swift, the agent registers, heartbeats, is given instances, pulls
 * the image from Swift and converges, and an unchanged desired.json answers 304 to If-None-Match.
 * A controller started afresh (empty data dir) restores the repository from the backup in Swift.
 *
 * The agent runs on the fake hypervisor: startAgent always opens libvirt, and libvirt's
 * test:///default cannot upload volumes (no images), so the agent is built the way startAgent
 * builds it (StateClientAgentStore from the resolved AgentConfig, then Agent.create) with a
 * FakeHypervisor; everything between the agent and the store is the real S3 path. Also covered:
 * StateClient.putStream (lib-storage) and the `ringstack image push` uploader (multipart,
 * resumed) against Swift, and Swift's one refusal: conditional PUTs (501), which ringstack does
 * not use.
 *
 * Without Swift installed (or not root) the test skips with a message; with CI set it fails.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import pino from 'pino';
import { StateClient } from '../objectstore/client/state-client.js';
import { uploadImage } from '../objectstore/client/image-upload.js';
import { controllerConfigFrom } from '../controller/service/config.js';
import { startController, type RunningController } from '../controller/service/server.js';
import { BACKUP_PREFIX } from '../controller/git/backup.js';
import { Agent } from '../agents/agent/agent.js';
import { resolveAgentConfig } from '../agents/agent/config.js';
import { StateClientAgentStore } from '../agents/agent/store.js';
import { fakeQcow2, sha256Hex } from '../agents/agent/test-fixtures.js';
import { FakeHypervisor } from '../agents/hypervisor/fake-hypervisor.js';
import {
  CURRENT_DESIRED_KEY, desiredKey, hostDesiredKey, hostInfoKey, hostObservedKey,
  type CurrentDesired, type DesiredState, type HostDesiredState, type HostInfo, type HostObservedState,
} from '../agents/contract/index.js';
import { until } from './support/wait.js';
import { controllerRemote, gitEnv, initWorkingCopy } from './support/git.js';

const SUPPORT = join(process.cwd(), 'test/support/swift-s3api');
const USER = 'test:tester';
const KEY = 'testing';
const BUCKET = 'ringstack-state';
const IMAGE_BUCKET = 'images';
const IMAGE_KEY = 'debian-12-genericcloud-amd64.qcow2';
const HOST = 'hv-swift';
const TOKEN = 'swift-push-token';
const GIB = 1024 ** 3;
const WAIT_MS = 60_000;
/** Swift's s3api, like S3, refuses non-final parts under 5 MiB. */
const PUSH_PART_BYTES = 5 * 1024 * 1024;
const REQUIRED = ['/usr/bin/swift-proxy-server', '/usr/bin/swift-object-server', '/usr/bin/swift-container-server',
  '/usr/bin/swift-account-server', '/usr/bin/memcached', '/usr/bin/curl'];

function unavailable(): string | undefined {
  const missing = REQUIRED.filter((p) => !existsSync(p));
  if (missing.length) return `Swift is not installed (missing ${missing.join(', ')}; apt-get install swift swift-proxy swift-object swift-container swift-account memcached curl)`;
  if (process.getuid?.() !== 0) return 'starting Swift needs root (it writes /etc/swift/swift.conf)';
  return undefined;
}

const reason = unavailable();
if (reason) {
  if (process.env.CI) t.fail(`external-store test cannot run in CI: ${reason}`);
  else t.plan(0, `skipping external-store test: ${reason}`);
} else {
  await main();
}

/** Runs a command without blocking the event loop (the controller answers git from here). */
function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', (e) => resolve({ status: -1, stdout, stderr: stderr + String(e) }));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** `n` distinct free loopback ports (all held open together, then released). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<import('node:net').Server>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}


async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'rs-ext-store-'));
  // Cleanups run last-in first-out: agent and controller before Swift, Swift before the files.
  const cleanups: Array<() => unknown> = [() => rmSync(root, { recursive: true, force: true })];
  t.teardown(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  // ---- Swift ----
  const [proxyPort, memcachedPort, logPort, ...nodePorts] = await freePorts(12);
  const swiftRoot = join(root, 'swift');
  const swiftEnv = {
    ...process.env, SWIFT_PROXY_PORT: String(proxyPort), SWIFT_MEMCACHED_PORT: String(memcachedPort),
    SWIFT_LOG_UDP_PORT: String(logPort), SWIFT_NODE_PORTS: nodePorts.join(' '),
  };
  // Registered before starting: a failed start still stops whatever came up (by recorded pids).
  cleanups.push(() => run(join(SUPPORT, 'stop.sh'), [swiftRoot], { env: swiftEnv }));
  const setup = await run(join(SUPPORT, 'setup.sh'), [swiftRoot], { env: swiftEnv });
  if (setup.status !== 0) throw new Error(`Swift setup failed: ${setup.stderr}`);
  const started = await run(join(SUPPORT, 'start.sh'), [swiftRoot], { env: swiftEnv });
  if (started.status !== 0) throw new Error(`Swift did not start: ${started.stderr}`);
  const endpoint = `http://127.0.0.1:${proxyPort}`;

  // Swift's own API, the independent observer.
  const auth = await fetch(`${endpoint}/auth/v1.0`, { headers: { 'X-Auth-User': USER, 'X-Auth-Key': KEY } });
  const storageUrl = auth.headers.get('x-storage-url')!;
  const swiftToken = auth.headers.get('x-auth-token')!;
  const swiftGet = (container: string, key: string, method = 'GET') =>
    fetch(`${storageUrl}/${container}/${key.split('/').map(encodeURIComponent).join('/')}`, { method, headers: { 'X-Auth-Token': swiftToken } });
  const swiftJson = async <T>(key: string): Promise<T | undefined> => {
    const res = await swiftGet(BUCKET, key);
    return res.status === 200 ? (await res.json()) as T : undefined;
  };

  const client = new StateClient({ endpoint, accessKeyId: USER, secretAccessKey: KEY, bucket: BUCKET });
  cleanups.push(() => client.close());

  // The image the manifests name, uploaded through S3 with a Buffer body.
  const image = fakeQcow2(64 * 1024 * 1024);
  await client.s3.send(new CreateBucketCommand({ Bucket: IMAGE_BUCKET }));
  await client.s3.send(new PutObjectCommand({ Bucket: IMAGE_BUCKET, Key: IMAGE_KEY, Body: image }));

  // ---- controller and the manifests repo ----
  const ctlConfig = controllerConfigFrom({
    dataDir: join(root, 'ctl'), port: 0, gitTokens: [TOKEN], resyncIntervalMs: 300,
    store: { endpoint, accessKey: USER, secretKey: KEY, bucket: BUCKET },
  }, {});
  let ctl: RunningController = await startController(ctlConfig, { logger: false });
  cleanups.push(() => ctl.close());

  const work = join(root, 'work');
  cpSync(join(process.cwd(), 'controller/manifests/fixtures/valid'), work, { recursive: true });
  const imageYaml = join(work, 'images', 'debian.yaml');
  writeFileSync(imageYaml, readFileSync(imageYaml, 'utf8').replace(/sha256: [0-9a-f]{64}/, `sha256: ${sha256Hex(image)}`));
  const remote = (c: RunningController) => controllerRemote(c.url, TOKEN);
  const git = await initWorkingCopy(work, gitEnv(join(root, 'home')), { name: 'origin', url: remote(ctl) });
  await git('add', '-A');
  await git('commit', '-qm', 'infra on swift');
  const commit = (await git('rev-parse', 'HEAD')).stdout.trim();

  await t.test('a push publishes the desired state and the repo backup into Swift', async (t) => {
    const push = await git('push', 'origin', 'main');
    t.equal(push.status, 0, 'the push is accepted');
    if (push.status !== 0) t.comment(push.stderr);
    t.match(push.stderr, /remote: Plan: \d+ to create/);
    const current = await swiftJson<CurrentDesired>(CURRENT_DESIRED_KEY);
    t.equal(current?.revision, commit, 'current.json (read through the Swift API) names the pushed commit');
    const desired = await swiftJson<DesiredState>(desiredKey(commit));
    t.same(Object.keys(desired?.instances ?? {}).sort(), ['demo/db', 'demo/web-1', 'demo/web-2']);
    const viaS3 = await client.getJson<DesiredState>(desiredKey(commit));
    const native = await swiftGet(BUCKET, desiredKey(commit), 'HEAD');
    t.equal(viaS3.status, 'ok');
    t.equal(native.headers.get('etag')?.replace(/"/g, ''), viaS3.status === 'ok' ? viaS3.etag : '', 'S3 and Swift see the same object');

    const backupKey = `${BACKUP_PREFIX}infra.tar`;
    const backup = await until('the repo backup in Swift', WAIT_MS, async () => {
      const res = await swiftGet(BUCKET, backupKey);
      return res.status === 200 ? Buffer.from(await res.arrayBuffer()) : undefined;
    });
    t.ok(backup.length > 1024, `git/infra.tar in Swift (${backup.length} bytes)`);
    t.ok(backup.includes(Buffer.from('packed-refs')) || backup.includes(Buffer.from(commit)), 'the archive holds the repository refs');
  });

  await t.test('an agent on the same Swift registers, is given instances and converges', async (t) => {
    const cfg = resolveAgentConfig({
      host: HOST, dataDir: join(root, 'agent'), pollIntervalMs: 300, resyncIntervalMs: 2000, shutdownTimeoutMs: 500,
      state: { endpoint, accessKeyId: USER, secretAccessKey: KEY, bucket: BUCKET },
    }, root, {});
    const store = new StateClientAgentStore({
      endpoint: cfg.state.endpoint, accessKeyId: cfg.state.accessKeyId, secretAccessKey: cfg.state.secretAccessKey,
      bucket: cfg.state.bucket, region: cfg.state.region,
    });
    const fake = new FakeHypervisor({ host: { cpus: 16, memoryBytes: 64 * GIB, freeMemoryBytes: 64 * GIB }, poolCapacityBytes: 500 * GIB });
    const agent = await Agent.create({
      host: cfg.host, zone: cfg.zone, store, dataDir: cfg.dataDir, namePrefix: cfg.namePrefix,
      pollIntervalMs: cfg.pollIntervalMs, resyncIntervalMs: cfg.resyncIntervalMs, shutdownTimeoutMs: cfg.shutdownTimeoutMs,
      log: pino({ level: 'silent' }), connect: async () => fake,
    });
    agent.start();
    t.teardown(async () => { await agent.stop(); store.close(); });

    const info = await until('info.json in Swift', WAIT_MS, () => swiftJson<HostInfo>(hostInfoKey(HOST)));
    t.equal(info.host, HOST, 'the agent registered (read through the Swift API)');

    const desired = await until('instances placed on the agent', WAIT_MS, async () => {
      const d = await swiftJson<HostDesiredState>(hostDesiredKey(HOST));
      return d && Object.keys(d.instances).length > 0 ? d : undefined;
    });
    const placed = Object.keys(desired.instances).sort();
    t.ok(placed.includes('demo/db'), `instances on ${HOST}: ${placed.join(', ')}`);
    // Host files are published before the whole state (the pointer last): the revision
    // document catches up within the same publication.
    const onHost = (r: DesiredState | undefined) =>
      Object.entries(r?.placements.instances ?? {}).filter(([, h]) => h === HOST).map(([id]) => id).sort();
    const inRevision = await until('the revision document names the same placements', WAIT_MS, async () => {
      const mine = onHost(await swiftJson<DesiredState>(desiredKey(commit)));
      return mine.join('\n') === placed.join('\n') ? mine : undefined;
    });
    t.same(inRevision, placed, 'the revision document and the host file agree');

    const observed = await until('observed.json with every placed instance ACTIVE', WAIT_MS, async () => {
      const o = await swiftJson<HostObservedState>(hostObservedKey(HOST));
      return o && placed.every((id) => o.instances[id]?.state === 'ACTIVE') ? o : undefined;
    });
    t.ok(Date.parse(observed.heartbeat) > Date.now() - WAIT_MS, 'a fresh heartbeat');
    t.equal(observed.images['debian-12']?.state, 'ACTIVE', 'the image was pulled from Swift');
    t.equal(observed.images['debian-12']?.sha256, sha256Hex(image), 'byte for byte');
    const heartbeat = observed.heartbeat;
    await until('a later heartbeat', WAIT_MS, async () => {
      const o = await swiftJson<HostObservedState>(hostObservedKey(HOST));
      return o && o.heartbeat !== heartbeat;
    });
    t.pass('the heartbeat keeps moving');

    // The agent's cheap poll: an unchanged desired.json costs a 304 from Swift.
    const first = await client.getJson<HostDesiredState>(hostDesiredKey(HOST));
    t.equal(first.status, 'ok');
    const again = await client.getJson<HostDesiredState>(hostDesiredKey(HOST), first.status === 'ok' ? first.etag : undefined);
    t.equal(again.status, 'not-modified', 'If-None-Match with the current ETag answers 304');
    const stale = await client.getJson<HostDesiredState>(hostDesiredKey(HOST), '0'.repeat(32));
    t.equal(stale.status, 'ok', 'a different ETag gets the document');
  });

  await t.test('streamed uploads work on Swift; conditional writes do not (and ringstack needs none)', async (t) => {
    // putStream goes through lib-storage, which cuts a stream into Buffer parts: Swift's s3api
    // never sees the SDK's aws-chunked encoding (501 there). 12 MiB = a multipart upload.
    const big = Buffer.alloc(12 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
    await client.putStream('probe/big.bin', Readable.from([big.subarray(0, 5_000_000), big.subarray(5_000_000)]));
    const res = await swiftGet(BUCKET, 'probe/big.bin');
    t.equal(res.status, 200);
    t.equal(sha256Hex(Buffer.from(await res.arrayBuffer())), sha256Hex(big), 'Swift serves the streamed bytes exactly');
    await client.delete('probe/big.bin');

    // Swift 2.30 s3api answers 501 to If-Match / If-None-Match on PUT: a documented limit of
    // this endpoint. The controller and the agents above never write conditionally.
    const status = await client.putJson('probe/cond.json', '{}', { ifNoneMatch: '*' })
      .then(() => 200, (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode);
    t.equal(status, 501, 'a conditional PUT is refused with 501 Not Implemented');
    t.equal((await swiftGet(BUCKET, 'probe/cond.json', 'HEAD')).status, 404, 'and nothing was written');
  });

  await t.test('`ringstack image push` uploads to Swift: multipart, interrupted and resumed', async (t) => {
    const file = join(root, 'pushed.qcow2');
    const bytes = fakeQcow2(2 * GIB, 3 * PUSH_PART_BYTES - 1000); // 3 parts, the last one short
    writeFileSync(file, bytes);
    const base = {
      file, key: 'pushed.qcow2', bucket: IMAGE_BUCKET, endpoint, accessKeyId: USER, secretAccessKey: KEY,
      partBytes: PUSH_PART_BYTES, concurrency: 1, stateDir: join(root, 'upload-state'),
    };
    const stored: number[] = [];
    await t.rejects(uploadImage({ ...base, afterPart: (n) => { stored.push(n); if (n === 1) throw new Error('interrupted'); } }), /interrupted/);
    t.same(stored, [1], 'one part stored before the interruption');
    const r = await uploadImage(base);
    t.equal(r.resumed, true, 'Swift listed the parts it holds (ListParts)');
    t.equal(r.partsSent, 2, 'only the missing parts were sent');
    t.equal(r.sha256, sha256Hex(bytes));
    const res = await swiftGet(IMAGE_BUCKET, 'pushed.qcow2');
    t.equal(res.status, 200);
    t.equal(sha256Hex(Buffer.from(await res.arrayBuffer())), sha256Hex(bytes), 'Swift serves the pushed file exactly');
  });

  await t.test('a controller on a new machine restores the repository from Swift', async (t) => {
    await ctl.close();
    rmSync(ctlConfig.dataDir, { recursive: true, force: true });
    ctl = await startController(ctlConfig, { logger: false });
    await git('remote', 'set-url', 'origin', remote(ctl));
    const refs = await until('the restored branch', WAIT_MS, async () => {
      const r = await git('ls-remote', 'origin', 'refs/heads/main');
      return r.status === 0 && r.stdout.trim() ? r.stdout : undefined;
    });
    t.match(refs, new RegExp(`^${commit}\\s+refs/heads/main`), 'the branch is back, from git/infra.tar in Swift');
    writeFileSync(join(work, 'README.md'), 'infra on swift, second commit\n');
    await git('commit', '-qam', 'second commit');
    const push = await git('push', 'origin', 'main');
    t.equal(push.status, 0, 'a fast-forward push on top of the restored history is accepted');
    if (push.status !== 0) t.comment(push.stderr);
    const second = (await git('rev-parse', 'HEAD')).stdout.trim();
    t.equal((await swiftJson<CurrentDesired>(CURRENT_DESIRED_KEY))?.revision, second, 'and published to Swift');
  });
}
