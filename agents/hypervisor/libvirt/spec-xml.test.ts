/**
 * Specs rendered into libvirt XML read back into the same specs.
 */
import t from 'tap';
import { domainXml, networkXml, parseDomainXml, parseNetworkXml, parseVolumeXml, volumeXml } from './spec-xml.js';
import type { DomainSpec, NetworkSpec } from '../hypervisor.js';

t.test('network round trip', async (t) => {
  const spec: NetworkSpec = {
    name: 'lan',
    uuid: '6ae19d84-77c9-4d26-8c6d-f148e0506cfd',
    forward: 'nat',
    bridge: 'rsbr0',
    ipv4: { address: '10.9.0.1', prefix: 24, dhcp: { start: '10.9.0.10', end: '10.9.0.20', hosts: [{ mac: '52:54:00:00:00:01', ip: '10.9.0.5', name: 'web' }] } },
  };
  t.same(parseNetworkXml(networkXml(spec)), spec);
  const isolated = parseNetworkXml(networkXml({ name: 'iso', forward: 'isolated', ipv4: { address: '10.8.0.1', prefix: 16 } }));
  t.equal(isolated.forward, 'isolated');
  t.equal(isolated.ipv4?.dhcp, undefined);
  t.equal(parseNetworkXml("<network><name>n</name><ip address='10.0.0.1' netmask='255.255.255.0'/></network>").ipv4?.prefix, 24);
});

t.test('bridge-mode network: forward mode and host bridge only', async (t) => {
  const xml = networkXml({ name: 'br', uuid: '6ae19d84-77c9-4d26-8c6d-f148e0506cfe', forward: 'bridge', bridge: 'br0', ipv4: { address: '192.168.1.1', prefix: 24 } });
  t.match(xml, /<forward mode="bridge"\s*\/>|<forward mode='bridge'\s*\/>/);
  t.match(xml, /<bridge name=.br0.\s*\/>/, 'no stp/delay: libvirt refuses them in bridge mode');
  t.notMatch(xml, /<ip|<dhcp/, 'libvirt refuses <ip> in bridge mode');
  t.same(parseNetworkXml(xml), { name: 'br', uuid: '6ae19d84-77c9-4d26-8c6d-f148e0506cfe', forward: 'bridge', bridge: 'br0' });
  // As libvirt dumps it once started (with a live <forward> and no <ip>).
  const dumped = "<network connections='1'><name>lan</name><uuid>u</uuid><forward mode='bridge'/><bridge name='vmbr1'/></network>";
  t.same(parseNetworkXml(dumped), { name: 'lan', uuid: 'u', forward: 'bridge', bridge: 'vmbr1' });
});

t.test('domain round trip with metadata, disks and NICs', async (t) => {
  const spec: DomainSpec = {
    name: 'vm',
    uuid: '6ae19d84-77c9-4d26-8c6d-f148e0506cfd',
    vcpus: 2,
    memoryMiB: 512,
    disks: [
      { path: '/p/vm.qcow2', format: 'qcow2', target: 'vda', device: 'disk', bus: 'virtio' },
      { path: '/p/seed.iso', format: 'raw', target: 'sda', device: 'cdrom', bus: 'sata', readonly: true },
    ],
    nics: [{ network: 'lan', mac: '52:54:00:00:00:01', model: 'virtio' }],
    metadata: { owner: 'Instance/p/web & co' },
  };
  const xml = domainXml(spec, 'qemu');
  t.match(xml, /<domain type="qemu">/);
  t.same(parseDomainXml(xml), spec);
});

t.test('volume round trip and libvirt units', async (t) => {
  const xml = volumeXml({ name: 'v', format: 'qcow2', capacityBytes: 1024, backingStore: { path: '/p/base', format: 'qcow2' } });
  t.match(parseVolumeXml(xml), { name: 'v', format: 'qcow2', capacityBytes: 1024, allocationBytes: 0, backingStore: { path: '/p/base', format: 'qcow2' } });
  t.equal(parseVolumeXml("<volume><name>x</name><capacity unit='G'>2</capacity></volume>").capacityBytes, 2 * 1024 ** 3);
});

t.test('live XML of a NIC on a bridge-mode network still names the network', async (t) => {
  const xml = `<domain type='qemu'><name>vm</name><uuid>u</uuid><memory unit='KiB'>65536</memory><vcpu>1</vcpu><devices>
    <interface type='bridge'><mac address='52:54:00:AA:01:02'/><source network='lan' bridge='br0'/><model type='virtio'/></interface>
    <interface type='bridge'><mac address='52:54:00:aa:01:03'/><source bridge='br1'/></interface>
  </devices></domain>`;
  t.same(parseDomainXml(xml).nics, [{ network: 'lan', mac: '52:54:00:aa:01:02', model: 'virtio' }], 'a plain host-bridge NIC is not ours');
});
