/**
 * Checks of the specs given to a Hypervisor, shared by both implementations so they reject the
 * same input the same way (InvalidSpecError) before anything reaches libvirt. libvirt itself
 * accepts more, but a spec that passes here renders into XML that libvirt accepts.
 */
import { InvalidSpecError } from './errors.js';
import type { BridgedNetworkSpec, DhcpHost, DomainSpec, NetworkSpec, PoolSpec, VolumeSpec } from './hypervisor.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const BRIDGE_RE = /^[A-Za-z0-9_.-]{1,15}$/;
/** A host bridge given for forward mode 'bridge': a Linux interface name such as br0 or vmbr1. */
const HOST_BRIDGE_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
const TARGET_RE = /^(vd|sd|hd)[a-z]{1,2}$/;
const META_KEY_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const HOSTNAME_RE = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const MIN_PREFIX = 8;
const MAX_PREFIX = 30;
const FORMATS = ['qcow2', 'raw'];

function fail(message: string): never {
  throw new InvalidSpecError(message);
}

export function checkName(kind: string, name: string): void {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    fail(`invalid ${kind} name '${name}': use 1-64 letters, digits, '.', '_' or '-'`);
  }
}

function checkUuid(uuid: string | undefined): void {
  if (uuid !== undefined && !UUID_RE.test(uuid)) fail(`invalid UUID '${uuid}' (lowercase 8-4-4-4-12 hex)`);
}

/** Lowercase unicast MAC address, e.g. 52:54:00:12:34:56. */
export function checkMac(mac: string): void {
  if (!MAC_RE.test(mac)) fail(`invalid MAC address '${mac}' (lowercase aa:bb:cc:dd:ee:ff)`);
  if (parseInt(mac.slice(0, 2), 16) & 1) fail(`MAC address '${mac}' is multicast`);
}

/** Parses a dotted IPv4 address into a 32-bit number. */
export function ipv4ToNumber(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) {
    fail(`invalid IPv4 address '${ip}'`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

function sameSubnet(a: string, b: string, prefix: number): boolean {
  const size = 2 ** (32 - prefix);
  return Math.floor(ipv4ToNumber(a) / size) === Math.floor(ipv4ToNumber(b) / size);
}

export function checkDhcpHost(spec: NetworkSpec, host: DhcpHost): void {
  if (spec.forward === 'bridge' || !spec.ipv4) fail(`network '${spec.name}' is in bridge mode: libvirt serves no DHCP on it`);
  checkMac(host.mac);
  ipv4ToNumber(host.ip);
  if (!sameSubnet(host.ip, spec.ipv4.address, spec.ipv4.prefix)) {
    fail(`DHCP host ${host.ip} is outside ${spec.ipv4.address}/${spec.ipv4.prefix}`);
  }
  if (host.name !== undefined && !HOSTNAME_RE.test(host.name)) fail(`invalid DHCP host name '${host.name}'`);
}

export function checkNetworkSpec(spec: NetworkSpec): void {
  checkName('network', spec.name);
  checkUuid(spec.uuid);
  if (spec.forward === 'bridge') {
    checkBridgedNetwork(spec);
    return;
  }
  if (spec.forward !== 'nat' && spec.forward !== 'isolated') fail(`invalid forward mode '${(spec as { forward: unknown }).forward}'`);
  if (spec.bridge !== undefined && !BRIDGE_RE.test(spec.bridge)) fail(`invalid bridge name '${spec.bridge}'`);
  const { address, prefix, dhcp } = spec.ipv4 ?? fail('network needs ipv4');
  checkSubnet(address, prefix);
  if (dhcp) {
    for (const ip of [dhcp.start, dhcp.end]) {
      if (!sameSubnet(ip, address, prefix)) fail(`DHCP range address ${ip} is outside ${address}/${prefix}`);
    }
    if (ipv4ToNumber(dhcp.start) > ipv4ToNumber(dhcp.end)) fail(`DHCP range ${dhcp.start}-${dhcp.end} is reversed`);
    const macs = new Set<string>();
    for (const host of dhcp.hosts ?? []) {
      checkDhcpHost(spec, host);
      if (macs.has(host.mac)) fail(`DHCP host ${host.mac} listed twice`);
      macs.add(host.mac);
    }
  }
}

function checkSubnet(address: string, prefix: number): void {
  ipv4ToNumber(address);
  if (!Number.isInteger(prefix) || prefix < MIN_PREFIX || prefix > MAX_PREFIX) {
    fail(`invalid prefix ${prefix} (${MIN_PREFIX}-${MAX_PREFIX})`);
  }
}

/**
 * Bridge mode plugs guests into an existing host bridge: its name is required and must be a
 * plausible Linux interface name; libvirt serves no DHCP there, so DHCP settings are refused.
 * An `ipv4` (the subnet behind the bridge) is checked but not given to libvirt.
 */
function checkBridgedNetwork(spec: BridgedNetworkSpec): void {
  if (typeof spec.bridge !== 'string' || spec.bridge === '') fail(`network '${spec.name}' in bridge mode needs the host bridge name`);
  if (!HOST_BRIDGE_RE.test(spec.bridge)) fail(`invalid host bridge name '${spec.bridge}' (1-15 letters, digits, '.', '_' or '-')`);
  if (!spec.ipv4) return;
  checkSubnet(spec.ipv4.address, spec.ipv4.prefix);
  if (spec.ipv4.dhcp) fail(`network '${spec.name}' is in bridge mode: libvirt serves no DHCP on it (no range, no host entries)`);
}

export function checkPoolSpec(spec: PoolSpec): void {
  checkName('pool', spec.name);
  checkUuid(spec.uuid);
  if (typeof spec.path !== 'string' || !spec.path.startsWith('/')) fail(`pool path '${spec.path}' must be absolute`);
}

function checkSize(what: string, bytes: number, allowZero = false): void {
  if (!Number.isSafeInteger(bytes) || bytes < 0 || (!allowZero && bytes === 0)) fail(`invalid ${what} ${bytes}`);
}

export function checkVolumeSpec(spec: VolumeSpec): void {
  checkName('volume', spec.name);
  if (!FORMATS.includes(spec.format)) fail(`invalid volume format '${spec.format}'`);
  checkSize('capacity', spec.capacityBytes);
  if (spec.allocationBytes !== undefined) checkSize('allocation', spec.allocationBytes, true);
  if (spec.backingStore) {
    if (spec.format !== 'qcow2') fail('only qcow2 volumes can have a backing store');
    if (!spec.backingStore.path.startsWith('/')) fail(`backing store path '${spec.backingStore.path}' must be absolute`);
    if (!FORMATS.includes(spec.backingStore.format)) fail(`invalid backing format '${spec.backingStore.format}'`);
  }
}

export function checkDomainSpec(spec: DomainSpec): void {
  checkName('domain', spec.name);
  checkUuid(spec.uuid);
  if (!Number.isInteger(spec.vcpus) || spec.vcpus < 1) fail(`invalid vcpus ${spec.vcpus}`);
  if (!Number.isInteger(spec.memoryMiB) || spec.memoryMiB < 1) fail(`invalid memoryMiB ${spec.memoryMiB}`);
  const targets = new Set<string>();
  for (const disk of spec.disks) {
    if (!disk.path.startsWith('/')) fail(`disk path '${disk.path}' must be absolute`);
    if (!FORMATS.includes(disk.format)) fail(`invalid disk format '${disk.format}'`);
    if (!TARGET_RE.test(disk.target)) fail(`invalid disk target '${disk.target}'`);
    if (targets.has(disk.target)) fail(`disk target '${disk.target}' used twice`);
    targets.add(disk.target);
  }
  for (const nic of spec.nics) {
    checkName('network', nic.network);
    if (nic.mac !== undefined) checkMac(nic.mac);
  }
  for (const key of Object.keys(spec.metadata ?? {})) {
    if (!META_KEY_RE.test(key)) fail(`invalid metadata key '${key}'`);
  }
}
