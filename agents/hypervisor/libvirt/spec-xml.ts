/**
 * Translation between the hypervisor layer's specs and libvirt's XML documents: render a spec
 * into the XML that libvirt defines, and read the XML libvirt dumps back into a spec, so the
 * agent compares like with like. Only the elements ringstack uses are read; libvirt's
 * defaults (PCI addresses, controllers…) are ignored.
 */
import type { BridgedNetworkSpec, DhcpHost, DiskSpec, DomainSpec, NetworkSpec, NicSpec, PoolSpec, RoutedNetworkSpec, VolumeSpec } from '../hypervisor.js';
import { children, el, find, parseXml, renderXml, textOf, type XmlElement } from './xml.js';

/** XML namespace of ringstack's domain metadata. */
export const METADATA_NS = 'https://ringstack.dev/xmlns/domain/1';
const METADATA_PREFIX = 'ringstack';
const KIB = 1024;

/** Domain types: 'qemu' is TCG emulation (no /dev/kvm needed), 'kvm' needs hardware support. */
export type DomainType = 'qemu' | 'kvm';

export function dhcpHostXml(host: DhcpHost): string {
  return renderXml(el('host', { mac: host.mac, name: host.name, ip: host.ip }));
}

export function networkXml(spec: NetworkSpec): string {
  if (spec.forward === 'bridge') return bridgedNetworkXml(spec);
  const { address, prefix, dhcp } = spec.ipv4;
  return renderXml(
    el(
      'network',
      {},
      el('name', {}, spec.name),
      spec.uuid ? el('uuid', {}, spec.uuid) : null,
      spec.forward === 'nat' ? el('forward', { mode: 'nat' }) : null,
      el('bridge', { name: spec.bridge, stp: 'on', delay: 0 }),
      el(
        'ip',
        { address, prefix },
        dhcp
          ? el(
              'dhcp',
              {},
              el('range', { start: dhcp.start, end: dhcp.end }),
              ...(dhcp.hosts ?? []).map((h) => el('host', { mac: h.mac, name: h.name, ip: h.ip })),
            )
          : null,
      ),
    ),
  );
}

/**
 * A network on an existing host bridge: libvirt refuses <ip>, DHCP and STP settings in this
 * mode (the bridge is not its own), so only the forward mode and the bridge name are rendered.
 */
function bridgedNetworkXml(spec: BridgedNetworkSpec): string {
  return renderXml(
    el(
      'network',
      {},
      el('name', {}, spec.name),
      spec.uuid ? el('uuid', {}, spec.uuid) : null,
      el('forward', { mode: 'bridge' }),
      el('bridge', { name: spec.bridge }),
    ),
  );
}

/** Reads a network's XML; `uuid` is always present in libvirt's output. */
export function parseNetworkXml(xml: string): NetworkSpec & { uuid: string } {
  const root = parseXml(xml);
  if (find(root, 'forward')?.attrs.mode === 'bridge') {
    return {
      name: textOf(find(root, 'name')) ?? '',
      uuid: textOf(find(root, 'uuid')) ?? '',
      forward: 'bridge',
      bridge: find(root, 'bridge')?.attrs.name ?? '',
    };
  }
  const ip = children(root, 'ip').find((i) => (i.attrs.family ?? 'ipv4') === 'ipv4');
  const dhcp = find(ip, 'dhcp');
  const range = find(dhcp, 'range');
  const mode = find(root, 'forward')?.attrs.mode;
  const spec: RoutedNetworkSpec & { uuid: string } = {
    name: textOf(find(root, 'name')) ?? '',
    uuid: textOf(find(root, 'uuid')) ?? '',
    forward: mode === 'nat' ? 'nat' : 'isolated',
    ipv4: {
      address: ip?.attrs.address ?? '',
      prefix: ip?.attrs.prefix !== undefined ? Number(ip.attrs.prefix) : netmaskToPrefix(ip?.attrs.netmask),
    },
  };
  const bridge = find(root, 'bridge')?.attrs.name;
  if (bridge) spec.bridge = bridge;
  if (range) {
    spec.ipv4.dhcp = {
      start: range.attrs.start,
      end: range.attrs.end,
      hosts: children(dhcp!, 'host').map((h) => {
        const host: DhcpHost = { mac: (h.attrs.mac ?? '').toLowerCase(), ip: h.attrs.ip };
        if (h.attrs.name) host.name = h.attrs.name;
        return host;
      }),
    };
  }
  return spec;
}

function netmaskToPrefix(netmask: string | undefined): number {
  if (!netmask) return 0;
  return netmask.split('.').reduce((n, part) => n + (Number(part) >>> 0).toString(2).split('1').length - 1, 0);
}

export function poolXml(spec: PoolSpec): string {
  return renderXml(
    el(
      'pool',
      { type: 'dir' },
      el('name', {}, spec.name),
      spec.uuid ? el('uuid', {}, spec.uuid) : null,
      el('target', {}, el('path', {}, spec.path)),
    ),
  );
}

export function parsePoolXml(xml: string): PoolSpec & { uuid: string } {
  const root = parseXml(xml);
  return {
    name: textOf(find(root, 'name')) ?? '',
    uuid: textOf(find(root, 'uuid')) ?? '',
    path: textOf(find(root, 'target/path')) ?? '',
  };
}

export function volumeXml(spec: VolumeSpec): string {
  return renderXml(
    el(
      'volume',
      {},
      el('name', {}, spec.name),
      el('capacity', { unit: 'bytes' }, String(spec.capacityBytes)),
      el('allocation', { unit: 'bytes' }, String(spec.allocationBytes ?? 0)),
      el('target', {}, el('format', { type: spec.format })),
      spec.backingStore
        ? el('backingStore', {}, el('path', {}, spec.backingStore.path), el('format', { type: spec.backingStore.format }))
        : null,
    ),
  );
}

export interface ParsedVolume {
  name: string;
  path: string;
  format: string;
  capacityBytes: number;
  allocationBytes: number;
  backingStore?: { path: string; format: string };
}

function bytesOf(node: XmlElement | undefined): number {
  const value = Number(textOf(node) ?? 0);
  const unit = (node?.attrs.unit ?? 'bytes').toLowerCase();
  const scale: Record<string, number> = { bytes: 1, b: 1, k: KIB, kib: KIB, m: KIB ** 2, mib: KIB ** 2, g: KIB ** 3, gib: KIB ** 3 };
  return value * (scale[unit] ?? 1);
}

export function parseVolumeXml(xml: string): ParsedVolume {
  const root = parseXml(xml);
  const out: ParsedVolume = {
    name: textOf(find(root, 'name')) ?? '',
    path: textOf(find(root, 'target/path')) ?? textOf(find(root, 'key')) ?? '',
    format: find(root, 'target/format')?.attrs.type ?? 'raw',
    capacityBytes: bytesOf(find(root, 'capacity')),
    allocationBytes: bytesOf(find(root, 'allocation')),
  };
  const backing = find(root, 'backingStore');
  const backingPath = textOf(find(backing, 'path'));
  if (backingPath) out.backingStore = { path: backingPath, format: find(backing, 'format')?.attrs.type ?? 'raw' };
  return out;
}

function diskXml(disk: DiskSpec): XmlElement {
  const device = disk.device ?? 'disk';
  const bus = disk.bus ?? (device === 'cdrom' ? 'sata' : 'virtio');
  return el(
    'disk',
    { type: 'file', device },
    el('driver', { name: 'qemu', type: disk.format }),
    el('source', { file: disk.path }),
    el('target', { dev: disk.target, bus }),
    disk.readonly || device === 'cdrom' ? el('readonly') : null,
  );
}

function nicXml(nic: NicSpec): XmlElement {
  return el(
    'interface',
    { type: 'network' },
    nic.mac ? el('mac', { address: nic.mac }) : null,
    el('source', { network: nic.network }),
    el('model', { type: nic.model ?? 'virtio' }),
  );
}

export function domainXml(spec: DomainSpec, type: DomainType): string {
  const meta = Object.entries(spec.metadata ?? {});
  return renderXml(
    el(
      'domain',
      { type },
      el('name', {}, spec.name),
      spec.uuid ? el('uuid', {}, spec.uuid) : null,
      meta.length > 0
        ? el(
            'metadata',
            {},
            el(
              `${METADATA_PREFIX}:tags`,
              { [`xmlns:${METADATA_PREFIX}`]: METADATA_NS },
              ...meta.map(([key, value]) => el(`${METADATA_PREFIX}:tag`, { key }, value)),
            ),
          )
        : null,
      el('memory', { unit: 'KiB' }, String(spec.memoryMiB * KIB)),
      el('vcpu', {}, String(spec.vcpus)),
      el('os', {}, el('type', { arch: 'x86_64' }, 'hvm'), el('boot', { dev: 'hd' })),
      el('features', {}, el('acpi'), el('apic')),
      el('on_poweroff', {}, 'destroy'),
      el('on_reboot', {}, 'restart'),
      el('on_crash', {}, 'destroy'),
      el(
        'devices',
        {},
        ...spec.disks.map(diskXml),
        ...spec.nics.map(nicXml),
        el('serial', { type: 'pty' }),
        el('console', { type: 'pty' }),
      ),
    ),
  );
}

/** Reads a domain's XML (use the inactive XML for the persistent definition). */
export function parseDomainXml(xml: string): DomainSpec & { uuid: string; metadata: Record<string, string> } {
  const root = parseXml(xml);
  const metadata: Record<string, string> = {};
  for (const block of children(find(root, 'metadata') ?? el('metadata'))) {
    const isOurs = Object.entries(block.attrs).some(([k, v]) => k.startsWith('xmlns') && v === METADATA_NS);
    if (!isOurs) continue;
    for (const tag of children(block)) {
      if (tag.name.endsWith(':tag') || tag.name === 'tag') metadata[tag.attrs.key] = textOf(tag) ?? '';
    }
  }
  const devices = find(root, 'devices');
  const disks: DiskSpec[] = children(devices ?? el('devices'), 'disk')
    .filter((d) => find(d, 'source')?.attrs.file)
    .map((d) => {
      const disk: DiskSpec = {
        path: find(d, 'source')!.attrs.file,
        format: (find(d, 'driver')?.attrs.type ?? 'raw') as DiskSpec['format'],
        target: find(d, 'target')?.attrs.dev ?? '',
        device: d.attrs.device === 'cdrom' ? 'cdrom' : 'disk',
        bus: find(d, 'target')?.attrs.bus as DiskSpec['bus'],
      };
      if (find(d, 'readonly')) disk.readonly = true;
      return disk;
    });
  const nics: NicSpec[] = children(devices ?? el('devices'), 'interface')
    // A running domain's NIC on a bridge-mode network reads type='bridge' with the network
    // still named in <source network=…>: both are ours; plain host-bridge NICs are not.
    .filter((i) => i.attrs.type === 'network' || (i.attrs.type === 'bridge' && find(i, 'source')?.attrs.network !== undefined))
    .map((i) => {
      const nic: NicSpec = { network: find(i, 'source')?.attrs.network ?? '' };
      const mac = find(i, 'mac')?.attrs.address;
      if (mac) nic.mac = mac.toLowerCase();
      const model = find(i, 'model')?.attrs.type;
      if (model) nic.model = model as NicSpec['model'];
      return nic;
    });
  return {
    name: textOf(find(root, 'name')) ?? '',
    uuid: textOf(find(root, 'uuid')) ?? '',
    vcpus: Number(textOf(find(root, 'vcpu')) ?? 1),
    memoryMiB: Math.round(bytesOf(find(root, 'memory') && { ...find(root, 'memory')!, attrs: { unit: find(root, 'memory')!.attrs.unit ?? 'KiB' } }) / KIB ** 2),
    disks,
    nics,
    metadata,
  };
}
