/**
 * The agent on the in-memory hypervisor and store: create from nothing, idempotence, updates
 * with a reboot, power state, deletes (with and without retain), adoption by a new agent,
 * drift repair, image failures (wrong sha256, missing, no space) with backoff, a domain that
 * fails to start, an agent aborted after every possible number of changes, reconnects.
 */
import t, { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeHypervisor, type FakeHypervisorOptions } from '../hypervisor/fake-hypervisor.js';
import { OperationFailedError } from '../hypervisor/errors.js';
import type { HostDesiredState } from '../contract/desired.js';
import { Agent, type AgentOptions } from './agent.js';
import { instrument, type Instrumented } from './instrumented-hypervisor.js';
import { MemoryAgentStore } from './memory-store.js';
import { fakeQcow2, hostDesired, image, instance, network } from './test-fixtures.js';
import { IMAGE_KEY_HEX } from './naming.js';

const HOST = 'hv1';
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

interface Env {
  fake: FakeHypervisor;
  inst: Instrumented;
  store: MemoryAgentStore;
  dir: string;
  clock: { ms: number };
  agent: Agent;
  newAgent(extra?: Partial<AgentOptions>, hv?: Instrumented): Promise<Agent>;
}

async function setup(t: Test, fakeOpts: FakeHypervisorOptions = {}, extra: Partial<AgentOptions> = {}): Promise<Env> {
  const dir = await mkdtemp(join(tmpdir(), 'rstest-agent-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const fake = new FakeHypervisor(fakeOpts);
  const inst = instrument(fake);
  const store = new MemoryAgentStore();
  const clock = { ms: Date.parse('2026-01-01T00:00:00Z') };
  const env = {
    fake, inst, store, dir, clock,
    agent: undefined as unknown as Agent,
    async newAgent(more: Partial<AgentOptions> = {}, hv: Instrumented = inst) {
      const a = await Agent.create({
        host: HOST, zone: 'z1', store, connect: async () => hv.hv, dataDir: dir, shutdownTimeoutMs: 200,
        now: () => new Date(clock.ms), ...extra, ...more,
      });
      t.teardown(() => a.stop());
      return a;
    },
  };
  env.agent = await env.newAgent();
  return env;
}

const img = fakeQcow2(512 * MIB);
const net = network();
const tiny = image(img);
const web = instance({ name: 'web', ip: '10.77.1.10', vcpus: 2, memoryMiB: 128, diskGiB: 2, dataVolumes: [{ name: 'data', sizeGiB: 1 }] }, net, tiny);
const db = instance({ name: 'db' }, net, tiny);

function desiredBoth(revision = 'r1'): HostDesiredState {
  return hostDesired(HOST, { networks: [net], images: [tiny], instances: [web, db] }, revision);
}

function seed(store: MemoryAgentStore): void {
  store.putImageBytes('images', 'tiny.qcow2', img);
}

async function counts(fake: FakeHypervisor, prefix = 'rs') {
  const pools = await fake.listPools();
  const vols = async (p: string) => (pools.some((x) => x.name === p) ? (await fake.listVolumes(p)).map((v) => v.name).sort() : []);
  return {
    domains: (await fake.listDomains()).map((d) => d.name).sort(),
    networks: (await fake.listNetworks()).map((n) => n.name).sort(),
    pools: pools.map((p) => p.name).sort(),
    images: await vols(`${prefix}-images`),
    volumes: await vols(`${prefix}-volumes`),
  };
}

t.test('create from nothing, then a second pass changes nothing', async (t) => {
  const { fake, inst, store, agent } = await setup(t);
  seed(store);
  store.setDesired(HOST, desiredBoth());
  const r = await agent.sync();
  t.equal(r.outcome, 'applied');
  t.equal(r.pass?.failed, 0, 'no resource failed');
  const o = store.observed.get(HOST)!;
  t.equal(o.appliedRevision, 'r1');
  t.equal(o.instances['demo/web']!.state, 'ACTIVE');
  t.equal(o.instances['demo/db']!.state, 'ACTIVE');
  t.equal(o.networks['demo/net']!.state, 'ACTIVE');
  t.equal(o.images.tiny!.state, 'ACTIVE');
  t.equal(o.images.tiny!.sha256, tiny.sha256);
  t.equal(o.volumes['demo/web/boot']!.capacityBytes, 2 * GIB, 'boot disk grown to 2 GiB');
  t.equal(o.instances['demo/web']!.appliedHash, web.instance.hash);
  t.same(o.instances['demo/web']!.ips, [{ network: 'demo/net', mac: web.instance.nics[0]!.mac, ip: '10.77.1.10' }]);
  t.equal(o.totals.usedVcpus, 3);
  t.equal(o.totals.usedMemoryMiB, 192);
  t.ok(store.info.get(HOST), 'host registered');
  t.equal(store.info.get(HOST)!.zone, 'z1');
  t.equal(store.info.get(HOST)!.vcpus, 8);

  const c = await counts(fake);
  t.equal(c.domains.length, 2);
  t.equal(c.networks.length, 1);
  t.same(c.pools, ['rs-images', 'rs-volumes']);
  t.same(c.images, [`${tiny.sha256.slice(0, IMAGE_KEY_HEX)}.ok`, `${tiny.sha256.slice(0, IMAGE_KEY_HEX)}.qcow2`]);
  t.equal(c.volumes.length, 5, 'two boot disks, one data volume, two seeds');

  const webDom = (await fake.listDomains()).find((d) => d.metadata.id === 'demo/web')!;
  t.equal(webDom.uuid, web.instance.uuid);
  t.equal(webDom.state, 'running');
  t.equal(webDom.vcpus, 2);
  t.equal(webDom.memoryMiB, 128);
  t.same(webDom.nics.map((n) => n.mac), [web.instance.nics[0]!.mac]);
  t.same(webDom.disks.map((d) => [d.target, d.device]), [['vda', 'disk'], ['vdb', 'disk'], ['sda', 'cdrom']]);
  t.match(webDom.metadata, { id: 'demo/web', project: 'demo', revision: 'r1', hash: web.instance.hash, agent: 'rs' });
  const boot = (await fake.listVolumes('rs-volumes')).find((v) => v.path === webDom.disks[0]!.path)!;
  t.match(boot.backingStore, { format: 'qcow2' });
  t.ok(boot.backingStore!.path.endsWith(`${tiny.sha256.slice(0, IMAGE_KEY_HEX)}.qcow2`), 'boot disk is an overlay on the image');
  const netInfo = (await fake.listNetworks())[0]!;
  t.equal(netInfo.active, true);
  t.same(netInfo.ipv4?.dhcp?.hosts, [{ mac: web.instance.nics[0]!.mac, ip: '10.77.1.10', name: 'web' }]);
  t.equal(netInfo.bridge, net.bridge);
  t.ok(fake.volumeBytes('rs-images', `${tiny.sha256.slice(0, IMAGE_KEY_HEX)}.qcow2`)!.equals(img), 'image bytes as in the store');
  t.ok(store.events.some((e) => e.event.action === 'created' && e.event.resource === 'demo/web'));

  const before = inst.mutations();
  const gets = store.calls.getImage;
  const lists = inst.calls.listDomains ?? 0;
  const r2 = await agent.sync();
  t.equal(inst.calls.listDomains! - lists, 1, 'a converged pass lists the domains once');
  t.equal(r2.outcome, 'applied');
  t.equal(inst.mutations(), before, 'second pass changes nothing');
  t.equal(store.calls.getImage, gets, 'image not downloaded again');
  t.ok((store.calls.notModified ?? 0) >= 1, 'desired state read with If-None-Match');
  t.same(await counts(fake), c);
});

t.test('a new agent on the same host adopts what exists (no duplicates, no changes)', async (t) => {
  const env = await setup(t);
  seed(env.store);
  env.store.setDesired(HOST, desiredBoth());
  await env.agent.sync();
  const c = await counts(env.fake);
  await env.agent.stop();
  const before = env.inst.mutations();
  const second = await env.newAgent();
  const r = await second.sync();
  t.equal(r.pass?.failed, 0);
  t.equal(env.inst.mutations(), before, 'the new agent changes nothing');
  t.same(await counts(env.fake), c);
  t.equal(env.store.observed.get(HOST)!.instances['demo/web']!.state, 'ACTIVE');
});

t.test('a change of vcpus reboots the domain; UUID and MAC stay', async (t) => {
  const { fake, inst, store, agent } = await setup(t);
  seed(store);
  store.setDesired(HOST, desiredBoth());
  await agent.sync();
  const bigger = instance({ name: 'web', ip: '10.77.1.10', vcpus: 4, memoryMiB: 256, diskGiB: 2, dataVolumes: [{ name: 'data', sizeGiB: 1 }] }, net, tiny, 'r2');
  store.setDesired(HOST, hostDesired(HOST, { networks: [net], images: [tiny], instances: [bigger, db] }, 'r2'));
  const shutdowns = inst.calls.shutdownDomain ?? 0;
  await agent.sync();
  const dom = (await fake.listDomains()).find((d) => d.metadata.id === 'demo/web')!;
  t.equal(dom.vcpus, 4);
  t.equal(dom.memoryMiB, 256);
  t.equal(dom.state, 'running');
  t.equal(dom.uuid, web.instance.uuid);
  t.equal(dom.nics[0]!.mac, web.instance.nics[0]!.mac);
  t.equal((inst.calls.shutdownDomain ?? 0) - shutdowns, 1, 'graceful shutdown asked once');
  t.equal(dom.metadata.revision, 'r2');
  const o = store.observed.get(HOST)!;
  t.equal(o.instances['demo/web']!.appliedRevision, 'r2');
  t.equal(o.instances['demo/web']!.vcpus, 4);
  t.ok(store.events.some((e) => e.event.action === 'restarted' && e.event.resource === 'demo/web'));
  t.equal(o.instances['demo/db']!.appliedRevision, 'r1', 'unchanged instance keeps its revision');
});

t.test('a guest that ignores ACPI is powered off after the timeout for a reboot', async (t) => {
  const { fake, store, agent } = await setup(t, { guestObeysShutdown: false });
  seed(store);
  store.setDesired(HOST, desiredBoth());
  await agent.sync();
  const bigger = instance({ name: 'db', memoryMiB: 96 }, net, tiny, 'r2');
  store.setDesired(HOST, hostDesired(HOST, { networks: [net], images: [tiny], instances: [web, bigger] }, 'r2'));
  await agent.sync();
  const dom = (await fake.listDomains()).find((d) => d.metadata.id === 'demo/db')!;
  t.equal(dom.memoryMiB, 96);
  t.equal(dom.state, 'running');
  t.ok(store.events.some((e) => e.event.resource === 'demo/db' && e.event.message.includes('destroyed')), 'event says it was powered off');
});

t.test('powerState Stopped shuts the domain down; Running starts it again', async (t) => {
  const { fake, store, agent } = await setup(t);
  seed(store);
  store.setDesired(HOST, desiredBoth());
  await agent.sync();
  const stopped = instance({ name: 'db', powerState: 'Stopped' }, net, tiny, 'r2');
  store.setDesired(HOST, hostDesired(HOST, { networks: [net], images: [tiny], instances: [web, stopped] }, 'r2'));
  await agent.sync();
  const state = async () => (await fake.listDomains()).find((d) => d.metadata.id === 'demo/db')!.state;
  t.equal(await state(), 'shutoff');
  t.equal(store.observed.get(HOST)!.instances['demo/db']!.state, 'SHUTOFF');
  t.equal(store.observed.get(HOST)!.instances['demo/db']!.libvirtState, 'shutoff');
  await agent.sync();
  t.equal(await state(), 'shutoff', 'stays stopped');
  store.setDesired(HOST, desiredBoth('r3'));
  await agent.sync();
  t.equal(await state(), 'running');
  t.equal(store.observed.get(HOST)!.instances['demo/db']!.state, 'ACTIVE');
});

t.test('delete: domain, volumes, seeds, unused image and network go; a retained volume stays', async (t) => {
  const { fake, store, agent } = await setup(t);
  seed(store);
  const kept = instance({ name: 'app', dataVolumes: [{ name: 'keep', sizeGiB: 1, retainOnDelete: true }, { name: 'scratch', sizeGiB: 1 }] }, net, tiny);
  store.setDesired(HOST, hostDesired(HOST, { networks: [net], images: [tiny], instances: [kept, db] }));
  await agent.sync();
  t.equal((await counts(fake)).volumes.length, 6, 'app: boot, keep, scratch, seed; db: boot, seed');
  // app goes; db stays
  store.setDesired(HOST, hostDesired(HOST, { networks: [net], images: [tiny], instances: [db] }, 'r2'));
  await agent.sync();
  let c = await counts(fake);
  t.equal(c.domains.length, 1);
  const names = c.volumes;
  t.ok(names.some((n) => n.endsWith('-keep.qcow2')), 'retained volume stays');
  t.notOk(names.some((n) => n.endsWith('-scratch.qcow2')), 'other data volume deleted');
  t.notOk(names.some((n) => n.includes('-app.')), 'boot disk and seed of app deleted');
  const o = store.observed.get(HOST)!;
  t.equal(o.instances['demo/app']!.state, 'DELETED');
  t.equal(o.volumes['demo/scratch']!.state, 'DELETED');
  t.notOk(o.volumes['demo/keep'], 'a retained volume is not reported deleted');
  t.ok(store.events.some((e) => e.event.action === 'deleted' && e.event.resource === 'demo/app'));
  // everything goes
  store.setDesired(HOST, hostDesired(HOST, {}, 'r3'));
  await agent.sync();
  c = await counts(fake);
  t.same(c.domains, []);
  t.same(c.networks, []);
  t.same(c.images, [], 'unused image deleted with its marker');
  t.same(c.volumes.filter((n) => !n.endsWith('-keep.qcow2')), [], 'only the retained volume is left');
  t.equal(store.observed.get(HOST)!.networks['demo/net']!.state, 'DELETED');
  t.equal(store.observed.get(HOST)!.images.tiny!.state, 'DELETED');
});

t.test('objects without ringstack tags are never touched', async (t) => {
  const { fake, store, agent } = await setup(t);
  seed(store);
  await fake.defineNetwork({ name: 'default', forward: 'nat', ipv4: { address: '192.168.122.1', prefix: 24 } });
  await fake.defineDomain({ name: 'pets', vcpus: 1, memoryMiB: 32, disks: [], nics: [] });
  const name = agent.naming.domain('demo/db', 'db');
  await fake.defineDomain({ name, vcpus: 1, memoryMiB: 32, disks: [], nics: [] });
  store.setDesired(HOST, desiredBoth());
  await agent.sync();
  const o = store.observed.get(HOST)!;
  t.equal(o.instances['demo/db']!.state, 'ERROR');
  t.match(o.instances['demo/db']!.lastError!.message, /not managed by ringstack/);
  t.match((await fake.getDomain(name)).memoryMiB, 32, 'the foreign domain kept its definition');
  store.setDesired(HOST, hostDesired(HOST, {}, 'r2'));
  await agent.sync();
  const c = await counts(fake);
  t.same(c.domains, [name, 'pets'].sort(), 'untagged domains stay');
  t.same(c.networks, ['default']);
});

t.test('drift: a domain powered off or undefined and a network stopped outside are restored', async (t) => {
  const { fake, store, agent } = await setup(t, {}, { pollIntervalMs: 50 });
  seed(store);
  store.setDesired(HOST, desiredBoth());
  await agent.sync();
  const dbName = agent.naming.domain('demo/db', 'db');
  const netName = agent.naming.network(net.id, net.name);
  agent.start();
  const until = async (what: string, cond: () => Promise<boolean>) => {
    for (let i = 0; i < 400 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 10));
    t.ok(await cond(), what);
  };
  fake.powerOffFromOutside(dbName);
  await until('domain running again', async () => (await fake.getDomain(dbName)).state === 'running');
  await fake.deleteDomain(dbName);
  await until('domain defined and running again', async () => (await fake.getDomain(dbName).catch(() => undefined))?.state === 'running');
  await fake.stopNetwork(netName);
  await until('network active again', async () => (await fake.getNetwork(netName)).active);
  await agent.stop();
  const drift = store.events.filter((e) => e.event.reason === 'Drift').map((e) => `${e.event.resourceKind}:${e.event.action}`);
  t.ok(drift.includes('instances:repaired'), 'drift events recorded');
  t.ok(drift.includes('networks:repaired'));
  t.ok(store.events.every((e) => e.key.startsWith('state/events/')), 'events under state/events/');
  t.equal((await fake.listDomains()).length, 2, 'no duplicates');
});

t.test('wrong sha256: ERROR ImageChecksumMismatch, nothing left in the pool, retried with backoff', async (t) => {
  const { fake, store, agent, clock } = await setup(t);
  const wrong = image(img, { sha256: 'f'.repeat(64) });
  const inst1 = instance({ name: 'db' }, net, wrong);
  store.putImageBytes('images', 'tiny.qcow2', img);
  store.setDesired(HOST, hostDesired(HOST, { networks: [net], images: [wrong], instances: [inst1] }));
  const r = await agent.sync();
  t.equal(r.pass?.failed, 3, 'image, boot volume and instance fail');
  const o = store.observed.get(HOST)!;
  t.equal(o.images.tiny!.state, 'ERROR');
  t.equal(o.images.tiny!.conditions![0]!.reason, 'ImageChecksumMismatch');
  t.match(o.images.tiny!.conditions, [
    { type: 'Ready', status: 'False', reason: 'ImageChecksumMismatch', observedRevision: 'r1' },
    { type: 'Degraded', status: 'True', reason: 'ImageChecksumMismatch' },
  ], 'retryable: Degraded with the reason');
  t.match(o.images.tiny!.lastError!.message, /sha256/);
  t.equal(o.volumes['demo/db/boot']!.conditions![0]!.reason, 'DependencyNotReady');
  t.equal(o.instances['demo/db']!.state, 'ERROR');
  t.same(await fake.listVolumes('rs-images'), [], 'the unverified download was deleted');
  t.same(await fake.listDomains(), []);
  t.not(o.appliedRevision, 'r1');
  t.equal(o.conditions![0]!.status, 'False');

  const gets = store.calls.getImage;
  clock.ms += 500;
  await agent.sync();
  t.equal(store.calls.getImage, gets, 'not retried before the backoff');
  t.equal(store.observed.get(HOST)!.images.tiny!.state, 'ERROR', 'still reported');
  clock.ms += 600;
  await agent.sync();
  t.equal(store.calls.getImage, gets! + 1, 'retried after 1 s');
  clock.ms += 1500;
  await agent.sync();
  t.equal(store.calls.getImage, gets! + 1, 'second retry waits 2 s');
  clock.ms += 600;
  await agent.sync();
  t.equal(store.calls.getImage, gets! + 2);
  // the controller fixes the checksum: a new hash is tried at once
  store.setDesired(HOST, hostDesired(HOST, { networks: [net], images: [tiny], instances: [db] }, 'r2'));
  await agent.sync();
  t.equal(store.observed.get(HOST)!.instances['demo/db']!.state, 'ACTIVE');
  t.equal(store.observed.get(HOST)!.appliedRevision, 'r2');
});

t.test('image missing from the store: ERROR ImageNotFound until it appears', async (t) => {
  const { store, agent, clock } = await setup(t);
  store.setDesired(HOST, hostDesired(HOST, { networks: [net], images: [tiny], instances: [db] }));
  await agent.sync();
  t.equal(store.observed.get(HOST)!.images.tiny!.conditions![0]!.reason, 'ImageNotFound');
  t.match(store.observed.get(HOST)!.images.tiny!.lastError!.message, /images\/tiny\.qcow2 not found/);
  seed(store);
  clock.ms += 1100;
  await agent.sync();
  t.equal(store.observed.get(HOST)!.images.tiny!.state, 'ACTIVE');
  t.equal(store.observed.get(HOST)!.instances['demo/db']!.state, 'ACTIVE');
});

t.test('pool out of space: ERROR NoSpace, no half-written image', async (t) => {
  const { fake, store, agent } = await setup(t, { poolCapacityBytes: 1024 });
  seed(store);
  store.setDesired(HOST, hostDesired(HOST, { networks: [net], images: [tiny], instances: [db] }));
  await agent.sync();
  const o = store.observed.get(HOST)!;
  t.equal(o.images.tiny!.state, 'ERROR');
  t.equal(o.images.tiny!.conditions![0]!.reason, 'NoSpace');
  t.same(await fake.listVolumes('rs-images'), []);
});

t.test('a domain that fails to start: ERROR StartFailed, no definition or seed left', async (t) => {
  const { fake, inst, store, agent, clock } = await setup(t);
  seed(store);
  let failing = true;
  inst.failWith('startDomain', () => (failing ? new OperationFailedError('qemu: could not open disk') : undefined));
  store.setDesired(HOST, hostDesired(HOST, { networks: [net], images: [tiny], instances: [db] }));
  await agent.sync();
  const o = store.observed.get(HOST)!;
  t.equal(o.instances['demo/db']!.state, 'ERROR');
  t.equal(o.instances['demo/db']!.conditions![0]!.reason, 'StartFailed');
  t.match(o.instances['demo/db']!.lastError!.message, /could not open disk/);
  t.same(await fake.listDomains(), [], 'definition removed');
  t.notOk((await fake.listVolumes('rs-volumes')).some((v) => v.name.endsWith('.iso')), 'seed removed');
  failing = false;
  clock.ms += 1100;
  await agent.sync();
  t.equal(store.observed.get(HOST)!.instances['demo/db']!.state, 'ACTIVE');
});

t.test('an unknown formatVersion is refused with a clear error', async (t) => {
  const { fake, store, agent } = await setup(t);
  store.setDesired(HOST, { ...desiredBoth(), formatVersion: 99 });
  const r = await agent.sync();
  t.equal(r.outcome, 'refused');
  const o = store.observed.get(HOST)!;
  t.match(o.lastError!.message, /formatVersion 99 is not supported/);
  t.equal(o.conditions![0]!.type, 'Stalled');
  t.equal(o.conditions![0]!.reason, 'UnsupportedFormatVersion');
  t.same(await fake.listDomains(), []);
});

t.test('a missing desired state changes nothing', async (t) => {
  const { fake, store, agent } = await setup(t);
  const r = await agent.sync();
  t.equal(r.outcome, 'no-desired');
  t.ok(store.observed.get(HOST)!.heartbeat, 'heartbeat written anyway');
  t.same(await fake.listNetworks(), []);
});

t.test('bridge mode: a libvirt network on the host bridge, active, without DHCP entries', async (t) => {
  const { fake, inst, store, agent } = await setup(t);
  seed(store);
  // The fixture also carries a DHCP range: libvirt serves none in bridge mode, so it is ignored.
  const br = network({ name: 'lan', mode: 'bridge', bridge: 'br0', subnet: [78, 2] });
  const vm = instance({ name: 'vm', ip: '10.78.2.20' }, br, tiny);
  store.setDesired(HOST, hostDesired(HOST, { networks: [br], images: [tiny], instances: [vm] }));
  const r = await agent.sync();
  t.equal(r.pass?.failed, 0, 'no resource failed');
  const nets = await fake.listNetworks();
  t.equal(nets.length, 1);
  t.match(nets[0], { forward: 'bridge', bridge: 'br0', active: true, uuid: br.uuid });
  t.equal(nets[0]!.ipv4, undefined, 'no address and no DHCP host entries on the network');
  const o = store.observed.get(HOST)!;
  t.match(o.networks['demo/lan'], { state: 'ACTIVE', active: true, bridge: 'br0' });
  t.equal(o.instances['demo/vm']!.state, 'ACTIVE', 'a guest with a fixed IP runs on the bridge');
  const dom = (await fake.listDomains())[0]!;
  t.same(dom.nics.map((n) => [n.network, n.mac]), [[nets[0]!.name, vm.instance.nics[0]!.mac]]);
  t.equal(inst.calls.setDhcpHost ?? 0, 0, 'no DHCP host entry was set');

  const before = inst.mutations();
  await agent.sync();
  t.equal(inst.mutations(), before, 'second pass changes nothing');
});

t.test('aborted after any number of changes, a new agent leaves exactly one of everything', async (t) => {
  // Count the changes a full apply makes, then abort after each possible prefix of them.
  const probe = await setup(t);
  seed(probe.store);
  probe.store.setDesired(HOST, desiredBoth());
  await probe.agent.sync();
  const total = probe.inst.mutations();
  const expected = await counts(probe.fake);
  t.ok(total > 10, `a full apply makes ${total} changes`);
  for (let n = 0; n < total; n++) {
    const env = await setup(t);
    seed(env.store);
    env.store.setDesired(HOST, desiredBoth());
    env.inst.dieAfter(n);
    const r = await env.agent.sync();
    t.equal(r.outcome, 'disconnected', `aborted after ${n} changes`);
    const second = await env.newAgent({}, instrument(env.fake));
    const r2 = await second.sync();
    t.equal(r2.pass?.failed, 0, `converged after an abort at ${n}`);
    const c = await counts(env.fake);
    const strip = (x: typeof c) => ({ ...x, volumes: x.volumes.length, domains: x.domains.length });
    t.same(strip(c), strip(expected), `exactly one of everything after an abort at ${n}`);
  }
});

t.test('libvirt connection lost: reported, reconnected, resynced', async (t) => {
  const fake = new FakeHypervisor();
  let current = instrument(fake);
  let refuse = false;
  const env = await setup(t);
  const agent = await env.newAgent({
    connect: async () => {
      if (refuse) throw new Error('connect ECONNREFUSED /var/run/libvirt/libvirt-sock');
      current = instrument(fake);
      return current.hv;
    },
  });
  seed(env.store);
  env.store.setDesired(HOST, desiredBoth());
  await agent.sync();
  current.dieAfter(0);
  refuse = true;
  const bigger = instance({ name: 'db', vcpus: 2 }, net, tiny, 'r2');
  env.store.setDesired(HOST, hostDesired(HOST, { networks: [net], images: [tiny], instances: [web, bigger] }, 'r2'));
  const r = await agent.sync();
  t.equal(r.outcome, 'disconnected');
  t.match(env.store.observed.get(HOST)!.lastError!.message, /connection lost/);
  const r2 = await agent.sync();
  t.equal(r2.outcome, 'disconnected');
  t.match(env.store.observed.get(HOST)!.lastError!.message, /ECONNREFUSED/);
  t.equal(env.store.observed.get(HOST)!.instances['demo/web']!.state, 'ACTIVE', 'last known resources still reported');
  refuse = false;
  const r3 = await agent.sync();
  t.equal(r3.outcome, 'applied');
  t.equal((await fake.listDomains()).find((d) => d.metadata.id === 'demo/db')!.vcpus, 2);
  t.ok(env.store.events.some((e) => e.event.reason === 'Reconnected'));
  t.notOk(env.store.observed.get(HOST)!.lastError);
});

t.test('the loop polls with If-None-Match and writes heartbeats when nothing changes', async (t) => {
  const { store, agent } = await setup(t, {}, { pollIntervalMs: 20, now: () => new Date() });
  seed(store);
  store.setDesired(HOST, desiredBoth());
  agent.start();
  for (let i = 0; i < 300 && (store.calls.notModified ?? 0) < 3; i++) await new Promise((r) => setTimeout(r, 10));
  await agent.stop();
  t.ok((store.calls.notModified ?? 0) >= 3, 'unchanged desired state answered 304');
  t.ok((store.calls.putObserved ?? 0) >= 4, 'observed state (heartbeat) written every pass');
  t.equal(store.observed.get(HOST)!.appliedRevision, 'r1');
});

t.test('a long pass (a guest ignoring ACPI) still refreshes the heartbeat', async (t) => {
  const { fake, store, agent } = await setup(t, { guestObeysShutdown: false }, {
    pollIntervalMs: 50, heartbeatIntervalMs: 50, shutdownTimeoutMs: 1500, now: () => new Date(),
  });
  seed(store);
  store.setDesired(HOST, desiredBoth());
  await agent.sync();
  agent.start();
  const bigger = instance({ name: 'db', memoryMiB: 96 }, net, tiny, 'r2');
  store.setDesired(HOST, hostDesired(HOST, { networks: [net], images: [tiny], instances: [web, bigger] }, 'r2'));
  const dbName = agent.naming.domain('demo/db', 'db');
  const beats = new Set<string>();
  for (let i = 0; i < 12; i++) {
    await new Promise((r) => setTimeout(r, 100));
    if ((await fake.getDomain(dbName)).memoryMiB !== 64) break;
    beats.add(store.observed.get(HOST)!.heartbeat);
  }
  t.ok(beats.size >= 4, `heartbeat refreshed during the grace period (${beats.size} distinct values)`);
  for (let i = 0; i < 100 && (await fake.getDomain(dbName)).memoryMiB !== 96; i++) await new Promise((r) => setTimeout(r, 50));
  await agent.stop();
  t.equal((await fake.getDomain(dbName)).memoryMiB, 96, 'then the change was applied');
});

t.test('instances are rebooted side by side: one guest ignoring ACPI does not hold up the other', async (t) => {
  const { inst, store, agent } = await setup(t, { guestObeysShutdown: false }, { shutdownTimeoutMs: 2000 });
  seed(store);
  store.setDesired(HOST, desiredBoth());
  await agent.sync();
  let shutdownsBeforeFirstPowerOff = -1;
  inst.failWith('destroyDomain', () => {
    if (shutdownsBeforeFirstPowerOff < 0) shutdownsBeforeFirstPowerOff = inst.calls.shutdownDomain ?? 0;
    return undefined;
  });
  const before = inst.calls.shutdownDomain ?? 0;
  const web2 = instance({ name: 'web', ip: '10.77.1.10', vcpus: 1, memoryMiB: 128, diskGiB: 2, dataVolumes: [{ name: 'data', sizeGiB: 1 }] }, net, tiny, 'r2');
  const db2 = instance({ name: 'db', vcpus: 2 }, net, tiny, 'r2');
  store.setDesired(HOST, hostDesired(HOST, { networks: [net], images: [tiny], instances: [web2, db2] }, 'r2'));
  await agent.sync();
  t.equal(shutdownsBeforeFirstPowerOff - before, 2, 'both guests were asked to shut down before the first grace period ended');
  t.equal(store.observed.get(HOST)!.appliedRevision, 'r2');
});
