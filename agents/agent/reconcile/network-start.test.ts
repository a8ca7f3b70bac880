/**
 * Starting a network that a host device blocks, on the fake hypervisor with in-memory host
 * devices (the real case is in ../stale-bridge-libvirt.test.ts): which devices count as our
 * leftover (removed) and which not (named in a NetworkDeviceInUse condition on the network and
 * its instances), a failed removal, a start failing with nothing in the way (libvirt's message,
 * retried with backoff), bridge-mode networks left alone; and the /proc/net/route parser.
 */
import t, { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeHypervisor } from '../../hypervisor/fake-hypervisor.js';
import { OperationFailedError } from '../../hypervisor/errors.js';
import { Agent } from '../agent.js';
import { BridgeRemovalFailedError, devicesRouting, type HostLinks } from '../host-links.js';
import { instrument } from '../instrumented-hypervisor.js';
import { MemoryAgentStore } from '../memory-store.js';
import { fakeQcow2, hostDesired, image, instance, network } from '../test-fixtures.js';

const HOST = 'hv1';
const MIB = 1024 * 1024;
/** A libvirt-like refusal, as libvirtd words it (the agent must not depend on the words). */
const LIBVIRT_MESSAGE = 'internal error: Network is already in use by interface';

interface Device { bridge: boolean; routes?: string }

/** Host devices in memory: name -> kind and the subnet it routes ("10.77.1.0/24"). */
class FakeLinks implements HostLinks {
  readonly devices = new Map<string, Device>();
  removed: string[] = [];
  failRemoval = false;
  async exists(name: string) { return this.devices.has(name); }
  async isBridge(name: string) { return this.devices.get(name)?.bridge === true; }
  async routing(address: string, prefix: number) {
    const net = `${address.split('.').slice(0, 3).join('.')}.0/${prefix}`;
    return [...this.devices].filter(([, d]) => d.routes === net).map(([n]) => n);
  }
  async removeBridge(name: string) {
    if (this.failRemoval) throw new BridgeRemovalFailedError(name, 'Operation not permitted');
    this.devices.delete(name);
    this.removed.push(name);
  }
}

const img = fakeQcow2(64 * MIB);
const tiny = image(img);
const net = network();
const vm = instance({ name: 'vm', ip: '10.77.1.10' }, net, tiny);
const SUBNET = '10.77.1.0/24';

async function setup(t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'rstest-netstart-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const fake = new FakeHypervisor();
  const inst = instrument(fake);
  const links = new FakeLinks();
  // libvirt refuses a start while a device has the bridge's name or routes the subnet.
  inst.failWith('startNetwork', () => {
    const dev = links.devices.has(net.bridge) ? net.bridge : [...links.devices].find(([, d]) => d.routes === SUBNET)?.[0];
    return dev ? new OperationFailedError(`${LIBVIRT_MESSAGE} ${dev}`) : undefined;
  });
  const store = new MemoryAgentStore();
  store.putImageBytes('images', 'tiny.qcow2', img);
  store.setDesired(HOST, hostDesired(HOST, { networks: [net], images: [tiny], instances: [vm] }, 'r1'));
  const clock = { ms: Date.parse('2026-01-01T00:00:00Z') };
  const agent = await Agent.create({
    host: HOST, zone: 'z1', store, connect: async () => inst.hv, dataDir: dir, shutdownTimeoutMs: 200,
    now: () => new Date(clock.ms), hostLinks: links,
  });
  t.teardown(() => agent.stop());
  const netName = agent.naming.network(net.id, net.name);
  return { fake, inst, links, store, clock, agent, netName };
}

t.test('our leftover bridge is removed with an event, then network and instance start', async (t) => {
  const { fake, links, store, agent, netName } = await setup(t);
  links.devices.set(net.bridge, { bridge: true, routes: SUBNET });
  const r = await agent.sync();
  t.equal(r.pass?.failed, 0);
  t.same(links.removed, [net.bridge], 'exactly the bridge of this network removed');
  t.equal((await fake.getNetwork(netName)).active, true);
  t.equal(r.observed.instances[vm.instance.id]?.state, 'ACTIVE');
  const ev = store.events.map((e) => e.event).find((e) => e.reason === 'StaleBridge');
  t.equal(ev?.action, 'repaired');
  t.equal(ev?.resource, net.id);
  t.match(ev?.message, `removed leftover bridge ${net.bridge}`);
  t.match(ev?.message, LIBVIRT_MESSAGE, "with libvirt's refusal");
});

t.test('a device routing the subnet under another name is not ours: named, not removed', async (t) => {
  const { links, store, clock, agent } = await setup(t);
  links.devices.set('eth7', { bridge: false, routes: SUBNET });
  const r = await agent.sync();
  const n = r.observed.networks[net.id]!;
  t.equal(n.state, 'ERROR');
  t.match(n.lastError?.message, `${LIBVIRT_MESSAGE} eth7`, "libvirt's message kept");
  t.match(n.lastError?.message, /host interface eth7 routes the network's subnet 10\.77\.1\.1\/24/);
  t.same(n.conditions?.map((c) => [c.type, c.status, c.reason]), [['Ready', 'False', 'NetworkDeviceInUse'], ['Degraded', 'True', 'NetworkDeviceInUse']]);
  const i = r.observed.instances[vm.instance.id]!;
  t.same(i.conditions?.map((c) => c.reason), ['NetworkDeviceInUse', 'NetworkDeviceInUse'], 'the instance names the same reason');
  t.match(i.lastError?.message, /network demo\/net is not ready: .*eth7/);
  t.same(links.removed, []);
  t.ok(store.events.some((e) => e.event.action === 'failed' && e.event.reason === 'NetworkDeviceInUse' && /next attempt in 1 s/.test(e.event.message)));

  // Our leftover too: still nothing removed, the foreign device is what blocks.
  links.devices.set(net.bridge, { bridge: true });
  clock.ms += 5_000;
  await agent.sync();
  t.same(links.removed, [], 'our bridge is not removed while a foreign device would still block');

  links.devices.delete('eth7');
  clock.ms += 5_000;
  const r2 = await agent.sync();
  t.equal(r2.observed.networks[net.id]?.state, 'ACTIVE');
  t.equal(r2.observed.instances[vm.instance.id]?.state, 'ACTIVE');
  t.same(links.removed, [net.bridge], 'then the leftover goes');
});

t.test("a device with the bridge's name that is not a bridge, or that a running libvirt network has, is not ours", async (t) => {
  await t.test('not a bridge', async (t) => {
    const { links, agent } = await setup(t);
    links.devices.set(net.bridge, { bridge: false });
    const n = (await agent.sync()).observed.networks[net.id]!;
    t.equal(n.conditions?.find((c) => c.type === 'Degraded')?.reason, 'NetworkDeviceInUse');
    t.match(n.lastError?.message, `host interface ${net.bridge} has the bridge name of this network but is not a bridge`);
    t.same(links.removed, []);
  });
  await t.test('bridge of a running libvirt network', async (t) => {
    const { fake, links, agent } = await setup(t);
    await fake.defineNetwork({ name: 'someone-else', forward: 'isolated', bridge: net.bridge, ipv4: { address: '10.9.9.1', prefix: 24 } });
    await fake.startNetwork('someone-else');
    links.devices.set(net.bridge, { bridge: true });
    const n = (await agent.sync()).observed.networks[net.id]!;
    t.match(n.lastError?.message, `host interface ${net.bridge} is the bridge of running libvirt network someone-else`);
    t.same(links.removed, []);
  });
});

t.test('a failed removal is reported on the network and retried with backoff', async (t) => {
  const { links, clock, agent } = await setup(t);
  links.devices.set(net.bridge, { bridge: true });
  links.failRemoval = true;
  const n = (await agent.sync()).observed.networks[net.id]!;
  t.equal(n.state, 'ERROR');
  t.equal(n.conditions?.find((c) => c.type === 'Degraded')?.reason, 'BridgeRemovalFailed');
  t.match(n.lastError?.message, `could not remove leftover bridge ${net.bridge}: Operation not permitted`);
  links.failRemoval = false;
  t.equal((await agent.sync()).observed.networks[net.id]?.state, 'ERROR', 'held back by the backoff');
  t.same(links.removed, []);
  clock.ms += 5_000;
  t.equal((await agent.sync()).observed.networks[net.id]?.state, 'ACTIVE', 'retried after it');
  t.same(links.removed, [net.bridge]);
});

t.test('a start failing with nothing in the way: libvirt error as is, backoff, then recovery', async (t) => {
  const { inst, links, clock, agent } = await setup(t);
  let broken = true;
  inst.failWith('startNetwork', () => (broken ? new OperationFailedError('internal error: dnsmasq failed') : undefined));
  const n = (await agent.sync()).observed.networks[net.id]!;
  t.equal(n.lastError?.message, 'internal error: dnsmasq failed');
  t.equal(n.conditions?.find((c) => c.type === 'Degraded')?.reason, 'OperationFailed');
  const calls = inst.calls.startNetwork;
  await agent.sync();
  t.equal(inst.calls.startNetwork, calls, 'not retried before its backoff');
  broken = false;
  clock.ms += 5_000;
  t.equal((await agent.sync()).observed.networks[net.id]?.state, 'ACTIVE');
  t.same(links.removed, []);
});

t.test('bridge-mode networks never have their host bridge touched', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rstest-netstart-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const fake = new FakeHypervisor();
  const inst = instrument(fake);
  const links = new FakeLinks();
  const lan = network({ name: 'lan', mode: 'bridge', bridge: 'br0' });
  links.devices.set('br0', { bridge: true });
  inst.failWith('startNetwork', () => new OperationFailedError('internal error: bridge br0 is down'));
  const store = new MemoryAgentStore();
  store.setDesired(HOST, hostDesired(HOST, { networks: [lan], images: [], instances: [] }, 'r1'));
  const agent = await Agent.create({ host: HOST, zone: 'z1', store, connect: async () => inst.hv, dataDir: dir, hostLinks: links });
  t.teardown(() => agent.stop());
  const n = (await agent.sync()).observed.networks[lan.id]!;
  t.equal(n.lastError?.message, 'internal error: bridge br0 is down');
  t.same(links.removed, []);
});

t.test('/proc/net/route: devices with a route to exactly the subnet', async (t) => {
  const table = [
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
    'eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
    'rsdead\t004DFB0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
    'wide0\t0000FB0A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
  ].join('\n');
  t.same(devicesRouting(table, '10.251.77.1', 24, true), ['rsdead'], 'little-endian host');
  t.same(devicesRouting(table, '10.251.78.1', 24, true), [], 'another /24');
  t.same(devicesRouting(table, '10.251.0.1', 16, true), ['wide0']);
  const be = 'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\nx0\t0AFB4D00\t00000000\t0001\t0\t0\t0\tFFFFFF00';
  t.same(devicesRouting(be, '10.251.77.1', 24, false), ['x0'], 'big-endian host');
});
