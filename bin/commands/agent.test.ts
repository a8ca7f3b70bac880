/**
 * `ringstack agent`: usage and configuration errors in-process; then the real thing: the
 * agent as a process (bin/ringstack, from dist/) against an S3 front end and qemu:///system,
 * killed with SIGKILL in the middle of an apply and started again, observed with virsh and
 * through observed.json in the state bucket; SIGTERM stops it with exit 0.
 */
import t from 'tap';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { main } from '../cli.js';
import type { CliIO } from '../usage.js';
import { startS3Server, ROOT } from '../../objectstore/s3/testing.js';
import { StateClient } from '../../objectstore/client/state-client.js';
import { canonicalJson } from '../../agents/contract/canonical-json.js';
import type { HostInfo, HostObservedState } from '../../agents/contract/observed.js';
import { LibvirtHypervisor } from '../../agents/hypervisor/libvirt-hypervisor.js';
import { libvirtSkipReason } from '../../agents/hypervisor/libvirt-test-env.js';
import { hostDesired, image, instance, network } from '../../agents/agent/test-fixtures.js';
import { holdings, removeAll } from '../../agents/agent/test-libvirt.js';

const run = promisify(execFile);
const URI = 'qemu:///system';
const HOST = 'cli1';
const skip = libvirtSkipReason();

function capture(): CliIO & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', out: (s: string) => { io.stdout += s; }, err: (s: string) => { io.stderr += s; } };
  return io;
}

t.test('--help lists every setting with its environment variable', async (t) => {
  const io = capture();
  t.equal(await main(['agent', '--help'], io), 0);
  t.match(io.stdout, /usage: ringstack agent --config FILE/);
  t.match(io.stdout, /RINGSTACK_AGENT_POLL_INTERVAL_MS/);
  t.match(io.stdout, /RINGSTACK_AGENT_LIBVIRT_URI/);
});

t.test('usage errors exit 2 with one clear line', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rstest-agent-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  let io = capture();
  const saved = process.env.RINGSTACK_AGENT_STATE_ENDPOINT;
  delete process.env.RINGSTACK_AGENT_STATE_ENDPOINT;
  t.teardown(() => { if (saved !== undefined) process.env.RINGSTACK_AGENT_STATE_ENDPOINT = saved; });
  t.equal(await main(['agent'], io), 2);
  t.match(io.stderr, /ringstack agent: missing --config/);
  const file = join(dir, 'agent.yaml');
  await writeFile(file, 'pollIntervalMs: soon\nstate: {endpoint: "http://x", accessKeyId: a, secretAccessKey: b}\n');
  io = capture();
  t.equal(await main(['agent', '--config', file], io), 2);
  t.match(io.stderr, /pollIntervalMs \(RINGSTACK_AGENT_POLL_INTERVAL_MS\) must be a whole number/);
  io = capture();
  t.equal(await main(['agent', '--bogus'], io), 2);
});

t.test('the agent process: killed mid-apply, restarted, exactly one of everything; SIGTERM exits 0', { skip: skip ?? false }, async (t) => {
  const prefix = `rc${randomBytes(3).toString('hex')}`;
  const dir = await mkdtemp(join(tmpdir(), 'rstest-agent-cli-'));
  const server = await startS3Server();
  const creds = { endpoint: server.url, accessKeyId: ROOT.accessKey, secretAccessKey: ROOT.secretKey };
  const state = new StateClient({ ...creds, bucket: 'ringstack-state' });
  const images = new StateClient({ ...creds, bucket: 'images' });
  const admin = await LibvirtHypervisor.open({ uri: URI });
  const children: ChildProcess[] = [];
  t.teardown(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await removeAll(admin, prefix);
    await admin.close();
    state.close();
    images.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  await state.ensureBucket();
  await images.ensureBucket();

  const imagePath = join(dir, 'tiny.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', imagePath, '64M']);
  const bytes = await readFile(imagePath);
  await images.putStream('tiny.qcow2', bytes);
  const a = randomInt(100, 200);
  const b = randomInt(1, 250);
  const net = network({ name: 'lan', subnet: [a, b], bridge: `rs${randomBytes(4).toString('hex')}` });
  const img = image(bytes);
  const one = instance({ name: 'one', ip: `10.${a}.${b}.11` }, net, img);
  const two = instance({ name: 'two' }, net, img);
  await state.putJson('state/hosts/cli1/desired.json', canonicalJson(hostDesired(HOST, { networks: [net], images: [img], instances: [one, two] })));

  const config = join(dir, 'agent.yaml');
  await writeFile(config, stringify({
    host: HOST, zone: 'z1', libvirtUri: URI, dataDir: join(dir, 'data'), namePrefix: prefix,
    pollIntervalMs: 300, shutdownTimeoutMs: 1500, state: { ...creds, bucket: 'ringstack-state' },
  }));
  const startAgent = async () => {
    const child = spawn('bin/ringstack', ['agent', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.resume();
    for (let i = 0; i < 200 && !out.includes('\n'); i++) await new Promise((r) => setTimeout(r, 50));
    return { child, line: out };
  };
  const until = async (what: string, cond: () => Promise<boolean>, tries = 300) => {
    let ok = false;
    for (let i = 0; i < tries && !(ok = await cond().catch(() => false)); i++) await new Promise((r) => setTimeout(r, 200));
    t.ok(ok, what);
    return ok;
  };
  const observed = async () => {
    const got = await state.getJson<HostObservedState>('state/hosts/cli1/observed.json');
    return got.status === 'ok' ? got.value : undefined;
  };

  const first = await startAgent();
  t.match(first.line, new RegExp(`ringstack agent ${HOST} \\(zone z1\\) running: libvirt ${URI}`), 'prints one line when running');
  await until('the apply has begun', async () => (await holdings(URI, prefix)).volumes.length > 0, 600);
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));

  const second = await startAgent();
  await until('both instances ACTIVE in observed.json', async () => {
    const o = await observed();
    return o?.instances['demo/one']?.state === 'ACTIVE' && o.instances['demo/two']?.state === 'ACTIVE';
  });
  const h = await holdings(URI, prefix);
  t.equal(h.domains.length, 2, 'two domains');
  t.equal(h.networks.length, 1, 'one network');
  t.equal(h.volumes.filter((v) => v.endsWith('.qcow2')).length, 2, 'two boot disks');
  t.equal(h.volumes.filter((v) => v.endsWith('.iso')).length, 2, 'two seeds');
  t.equal(h.images.length, 2, 'one image and its marker');
  const info = await state.getJson<HostInfo>('state/hosts/cli1/info.json');
  t.match(info.status === 'ok' && info.value, { host: HOST, zone: 'z1', libvirtUri: URI });
  t.ok(info.status === 'ok' && info.value.libvirtVersion, 'libvirt version registered');
  const beat = (await observed())!.heartbeat;
  await until('heartbeat advances', async () => (await observed())!.heartbeat !== beat);

  await state.putJson('state/hosts/cli1/desired.json', canonicalJson(hostDesired(HOST, {}, 'r2')));
  await until('everything removed', async () => {
    const x = await holdings(URI, prefix);
    return x.domains.length + x.networks.length + x.volumes.length + x.images.length === 0;
  });
  t.equal((await observed())!.instances['demo/one']?.state, 'DELETED');
  second.child.kill('SIGTERM');
  const code = await new Promise((r) => second.child.once('exit', (c) => r(c)));
  t.equal(code, 0, 'SIGTERM: exit 0');
});
