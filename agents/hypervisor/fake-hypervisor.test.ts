/**
 * FakeHypervisor against the shared Hypervisor suite, plus its test hooks.
 */
import t from 'tap';
import { Readable } from 'node:stream';
import { FakeHypervisor } from './fake-hypervisor.js';
import { hypervisorSuite } from './hypervisor-suite.js';
import { networkXml } from './libvirt/spec-xml.js';
import { ConnectionLostError, NoSpaceError } from './errors.js';

const STATE_WORDS: Record<string, string> = { shutoff: 'shut off' };

t.test('shared suite', async (t) => {
  hypervisorSuite(t, async () => {
    const fake = new FakeHypervisor();
    return {
      hv: fake,
      poolDir: '/fake/pools/suite',
      unsupported: {},
      guestObeysShutdown: true,
      observer: {
        domainState: async (name) => {
          const state = (await fake.getDomain(name)).state;
          return STATE_WORDS[state] ?? state;
        },
        networkXml: async (name) => networkXml(await fake.getNetwork(name)),
        readVolume: async (info) => fake.volumeBytes(info.pool, info.name) ?? Buffer.alloc(0),
        powerOff: async (name) => fake.powerOffFromOutside(name),
      },
    };
  });
});

t.test('guest that ignores ACPI stays running', async (t) => {
  const fake = new FakeHypervisor({ guestObeysShutdown: false });
  await fake.defineDomain({ name: 'vm', vcpus: 1, memoryMiB: 64, disks: [], nics: [] });
  await fake.startDomain('vm');
  await fake.shutdownDomain('vm');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal((await fake.getDomain('vm')).state, 'running');
});

t.test('start needs the NIC networks to exist and be active', async (t) => {
  const fake = new FakeHypervisor();
  await fake.defineDomain({ name: 'vm', vcpus: 1, memoryMiB: 64, disks: [], nics: [{ network: 'lan' }] });
  await t.rejects(fake.startDomain('vm'), { name: 'NotFoundError', kind: 'network' });
  await fake.defineNetwork({ name: 'lan', forward: 'isolated', ipv4: { address: '10.1.0.1', prefix: 24 } });
  await t.rejects(fake.startDomain('vm'), { name: 'InvalidStateError', kind: 'network' });
  await fake.startNetwork('lan');
  await fake.startDomain('vm');
  t.equal((await fake.getDomain('vm')).state, 'running');
});

t.test('pool capacity limits volumes and uploads', async (t) => {
  const fake = new FakeHypervisor({ poolCapacityBytes: 1000 });
  await fake.createPool({ name: 'p', path: '/p' });
  await fake.createVolume('p', { name: 'a', format: 'raw', capacityBytes: 600, allocationBytes: 600 });
  await t.rejects(fake.createVolume('p', { name: 'b', format: 'raw', capacityBytes: 600, allocationBytes: 600 }), NoSpaceError);
  await fake.createVolume('p', { name: 'c', format: 'raw', capacityBytes: 600 });
  await t.rejects(fake.uploadVolume('p', 'c', Readable.from([Buffer.alloc(500)]), 500), NoSpaceError);
  const info = await fake.uploadVolume('p', 'c', Readable.from([Buffer.alloc(400)]), 400);
  t.equal(info.allocationBytes, 400);
  t.equal((await fake.getPool('p')).availableBytes, 0);
});

t.test('an uploaded qcow2 image is probed like libvirt does', async (t) => {
  const fake = new FakeHypervisor();
  await fake.createPool({ name: 'p', path: '/p' });
  await fake.createVolume('p', { name: 'img', format: 'raw', capacityBytes: 512 });
  const header = Buffer.alloc(512);
  Buffer.from([0x51, 0x46, 0x49, 0xfb]).copy(header);
  header.writeBigUInt64BE(2n ** 30n, 24);
  const info = await fake.uploadVolume('p', 'img', Readable.from([header]), header.length);
  t.equal(info.format, 'qcow2');
  t.equal(info.capacityBytes, 2 ** 30);
});

t.test('connection loss is reported once and fails later calls', async (t) => {
  const fake = new FakeHypervisor();
  const seen: Error[] = [];
  fake.onConnectionLost((err) => seen.push(err));
  fake.simulateConnectionLoss();
  fake.simulateConnectionLoss();
  t.equal(seen.length, 1);
  t.type(seen[0], ConnectionLostError);
  await t.rejects(fake.listDomains(), ConnectionLostError);
});

t.test('returned objects are copies', async (t) => {
  const fake = new FakeHypervisor();
  const info = await fake.defineNetwork({ name: 'n', forward: 'nat', ipv4: { address: '10.2.0.1', prefix: 24, dhcp: { start: '10.2.0.10', end: '10.2.0.20' } } });
  info.ipv4!.dhcp!.hosts!.push({ mac: '52:54:00:00:00:01', ip: '10.2.0.5' });
  t.same((await fake.getNetwork('n')).ipv4?.dhcp?.hosts, []);
});

t.test('DHCP leases for running guests with a host entry', async (t) => {
  const fake = new FakeHypervisor();
  await fake.defineNetwork({
    name: 'lan',
    forward: 'nat',
    ipv4: { address: '10.3.0.1', prefix: 24, dhcp: { start: '10.3.0.100', end: '10.3.0.200', hosts: [{ mac: '52:54:00:00:00:07', ip: '10.3.0.7', name: 'web' }] } },
  });
  await fake.startNetwork('lan');
  await fake.defineDomain({ name: 'web', vcpus: 1, memoryMiB: 64, disks: [], nics: [{ network: 'lan', mac: '52:54:00:00:00:07' }] });
  t.same(await fake.dhcpLeases('lan'), [], 'no lease while the guest is off');
  await fake.startDomain('web');
  const leases = await fake.dhcpLeases('lan');
  t.match(leases, [{ mac: '52:54:00:00:00:07', ip: '10.3.0.7', prefix: 24, hostname: 'web' }]);
  t.ok(leases[0].expiresAt.getTime() > Date.now(), 'lease in the future');
  await fake.stopNetwork('lan');
  t.same(await fake.dhcpLeases('lan'), [], 'no leases on an inactive network');
});
