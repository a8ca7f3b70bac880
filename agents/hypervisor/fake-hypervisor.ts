/**
 * An in-memory Hypervisor for unit tests of the agent: domains with power states and
 * lifecycle events, networks with DHCP host entries (and leases for running guests whose MAC
 * has one), directory pools with a capacity limit, volumes with bytes, formats and backing
 * stores. It validates specs and fails with the same typed errors as LibvirtHypervisor, and
 * passes the same shared suite (hypervisor-suite.ts).
 *
 * Test hooks: powerOffFromOutside() (like `virsh destroy`), simulateConnectionLoss(),
 * volumeBytes(). Whether the guest obeys an ACPI shutdown is an option.
 */
import {
  AlreadyExistsError,
  ConnectionLostError,
  InvalidSpecError,
  InvalidStateError,
  NoSpaceError,
  NotFoundError,
  OperationFailedError,
} from './errors.js';
import type {
  ByteSource,
  DhcpHost,
  DhcpLease,
  DomainEvent,
  DomainEventType,
  DomainInfo,
  DomainSpec,
  DomainState,
  HostInfo,
  Hypervisor,
  NetworkInfo,
  NetworkSpec,
  PoolInfo,
  PoolSpec,
  VolumeInfo,
  VolumeSpec,
} from './hypervisor.js';
import { checkDhcpHost, checkDomainSpec, checkNetworkSpec, checkPoolSpec, checkVolumeSpec } from './validate.js';
import { randomBytes, randomUUID } from 'node:crypto';

const GIB = 1024 ** 3;
const DEFAULT_POOL_CAPACITY = 100 * GIB;
/** How long a fake DHCP lease lasts. */
const LEASE_SECONDS = 3600;
/** First bytes of a qcow2 image ("QFI\xfb") and where its virtual size is stored. */
const QCOW2_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]);
const QCOW2_SIZE_OFFSET = 24;
/** libvirt's event detail codes used here. */
const DETAIL = { DEFINED_ADDED: 0, DEFINED_UPDATED: 1, STARTED_BOOTED: 0, STOPPED_SHUTDOWN: 0, STOPPED_DESTROYED: 1, SHUTDOWN_FINISHED: 0 };

export interface FakeHypervisorOptions {
  uri?: string;
  host?: Partial<HostInfo>;
  /** Capacity of every pool created (default 100 GiB). */
  poolCapacityBytes?: number;
  /** Does the guest power off when asked (ACPI)? Default true. */
  guestObeysShutdown?: boolean;
}

interface FakeNetwork {
  spec: NetworkSpec & { uuid: string };
  active: boolean;
}
interface FakeVolume {
  info: VolumeInfo;
  bytes: Buffer | null;
}
interface FakePool {
  spec: PoolSpec & { uuid: string };
  volumes: Map<string, FakeVolume>;
}
interface FakeDomain {
  spec: DomainSpec & { uuid: string };
  state: DomainState;
  startedAt: number;
}

function copy<T>(value: T): T {
  return structuredClone(value);
}

function randomMac(): string {
  return ['52', '54', '00', ...[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

export class FakeHypervisor implements Hypervisor {
  readonly uri: string;
  private readonly networks = new Map<string, FakeNetwork>();
  private readonly pools = new Map<string, FakePool>();
  private readonly domains = new Map<string, FakeDomain>();
  private readonly eventListeners = new Set<(event: DomainEvent) => void>();
  private readonly lostListeners = new Set<(error: Error) => void>();
  private lost = false;
  private nextBridge = 0;

  constructor(private readonly options: FakeHypervisorOptions = {}) {
    this.uri = options.uri ?? 'fake:///';
  }

  // ---- test hooks ----

  /** Powers a running domain off as an outside actor would (`virsh destroy`). */
  powerOffFromOutside(name: string): void {
    const dom = this.domain(name);
    if (dom.state !== 'running') throw new InvalidStateError('domain', name, 'domain is not running');
    dom.state = 'shutoff';
    this.emit(dom, 'stopped', DETAIL.STOPPED_DESTROYED);
  }

  /** Drops the "connection": listeners hear it once; every later call throws ConnectionLostError. */
  simulateConnectionLoss(): void {
    if (this.lost) return;
    this.lost = true;
    const err = new ConnectionLostError(`connection to ${this.uri} lost`);
    for (const listener of this.lostListeners) listener(err);
  }

  /** The bytes uploaded into a volume (null if none were). */
  volumeBytes(pool: string, name: string): Buffer | null {
    return this.volume(pool, name).bytes;
  }

  // ---- host ----

  async hostInfo(): Promise<HostInfo> {
    this.alive();
    const memoryBytes = this.options.host?.memoryBytes ?? 16 * GIB;
    let used = 0;
    for (const d of this.domains.values()) if (d.state === 'running') used += d.spec.memoryMiB * 1024 * 1024;
    return {
      hostname: 'fake-host',
      uri: this.uri,
      driver: 'FAKE',
      hypervisorVersion: '0.0.1',
      libvirtVersion: '0.0.1',
      cpuModel: 'x86_64',
      cpus: 8,
      cpuMhz: 2000,
      memoryBytes,
      freeMemoryBytes: Math.max(0, memoryBytes - used),
      ...this.options.host,
    };
  }

  // ---- networks ----

  private network(name: string): FakeNetwork {
    this.alive();
    const net = this.networks.get(name);
    if (!net) throw new NotFoundError('network', name);
    return net;
  }

  async listNetworks(): Promise<NetworkInfo[]> {
    this.alive();
    return [...this.networks.keys()].map((name) => this.networkInfo(name));
  }

  async getNetwork(name: string): Promise<NetworkInfo> {
    return this.networkInfo(name);
  }

  private networkInfo(name: string): NetworkInfo {
    const net = this.network(name);
    return { ...copy(net.spec), active: net.active, autostart: true };
  }

  async defineNetwork(spec: NetworkSpec): Promise<NetworkInfo> {
    this.alive();
    checkNetworkSpec(spec);
    const existing = this.networks.get(spec.name);
    if (existing && spec.uuid && spec.uuid !== existing.spec.uuid) throw new AlreadyExistsError('network', spec.name);
    const uuid = existing?.spec.uuid ?? spec.uuid ?? randomUUID();
    let stored: NetworkSpec & { uuid: string };
    if (spec.forward === 'bridge') {
      // Like libvirt: a bridge-mode network keeps only its mode and the host bridge's name.
      stored = { name: spec.name, uuid, forward: 'bridge', bridge: spec.bridge };
    } else {
      const bridge = spec.bridge ?? existing?.spec.bridge ?? `virbr${this.nextBridge++}`;
      const routed = copy({ ...spec, uuid, bridge });
      if (routed.ipv4.dhcp) routed.ipv4.dhcp.hosts = routed.ipv4.dhcp.hosts ?? [];
      stored = routed;
    }
    this.networks.set(spec.name, { spec: stored, active: existing?.active ?? false });
    return this.networkInfo(spec.name);
  }

  async startNetwork(name: string): Promise<void> {
    const net = this.network(name);
    if (net.active) throw new InvalidStateError('network', name, 'network is already active');
    net.active = true;
  }

  async stopNetwork(name: string): Promise<void> {
    const net = this.network(name);
    if (!net.active) throw new InvalidStateError('network', name, 'network is not active');
    net.active = false;
  }

  async deleteNetwork(name: string): Promise<void> {
    this.network(name);
    this.networks.delete(name);
  }

  async setDhcpHost(network: string, host: DhcpHost): Promise<void> {
    const net = this.network(network);
    checkDhcpHost(net.spec, host);
    const hosts = net.spec.ipv4?.dhcp?.hosts;
    if (!hosts) throw new InvalidSpecError(`network '${network}' has no DHCP service`);
    if (hosts.some((h) => h.ip === host.ip && h.mac !== host.mac)) throw new AlreadyExistsError('dhcp-host', host.ip);
    const index = hosts.findIndex((h) => h.mac === host.mac);
    if (index >= 0) hosts.splice(index, 1);
    hosts.push(copy(host));
  }

  async removeDhcpHost(network: string, mac: string): Promise<void> {
    const hosts = this.network(network).spec.ipv4?.dhcp?.hosts ?? [];
    const index = hosts.findIndex((h) => h.mac === mac.toLowerCase());
    if (index < 0) throw new NotFoundError('dhcp-host', mac);
    hosts.splice(index, 1);
  }

  async dhcpLeases(network: string): Promise<DhcpLease[]> {
    const net = this.network(network);
    const ipv4 = net.spec.ipv4;
    if (!net.active || !ipv4) return [];
    const leases: DhcpLease[] = [];
    for (const dom of this.domains.values()) {
      if (dom.state !== 'running') continue;
      for (const nic of dom.spec.nics) {
        const host = ipv4.dhcp?.hosts?.find((h) => h.mac === nic.mac);
        if (nic.network !== network || !host) continue;
        const lease: DhcpLease = {
          mac: host.mac,
          ip: host.ip,
          prefix: ipv4.prefix,
          expiresAt: new Date(dom.startedAt + LEASE_SECONDS * 1000),
        };
        if (host.name) lease.hostname = host.name;
        leases.push(lease);
      }
    }
    return leases;
  }

  // ---- pools ----

  private pool(name: string): FakePool {
    this.alive();
    const pool = this.pools.get(name);
    if (!pool) throw new NotFoundError('pool', name);
    return pool;
  }

  private poolInfo(name: string): PoolInfo {
    const pool = this.pool(name);
    const capacityBytes = this.options.poolCapacityBytes ?? DEFAULT_POOL_CAPACITY;
    let allocationBytes = 0;
    for (const v of pool.volumes.values()) allocationBytes += v.info.allocationBytes;
    return {
      ...copy(pool.spec),
      active: true,
      autostart: true,
      capacityBytes,
      allocationBytes,
      availableBytes: Math.max(0, capacityBytes - allocationBytes),
    };
  }

  async listPools(): Promise<PoolInfo[]> {
    this.alive();
    return [...this.pools.keys()].map((name) => this.poolInfo(name));
  }

  async getPool(name: string): Promise<PoolInfo> {
    return this.poolInfo(name);
  }

  async createPool(spec: PoolSpec): Promise<PoolInfo> {
    this.alive();
    checkPoolSpec(spec);
    if (this.pools.has(spec.name)) throw new AlreadyExistsError('pool', spec.name);
    this.pools.set(spec.name, { spec: { ...copy(spec), uuid: spec.uuid ?? randomUUID() }, volumes: new Map() });
    return this.poolInfo(spec.name);
  }

  async deletePool(name: string): Promise<void> {
    this.pool(name);
    this.pools.delete(name);
  }

  // ---- volumes ----

  private volume(pool: string, name: string): FakeVolume {
    const vol = this.pool(pool).volumes.get(name);
    if (!vol) throw new NotFoundError('volume', name);
    return vol;
  }

  async listVolumes(pool: string): Promise<VolumeInfo[]> {
    return [...this.pool(pool).volumes.values()].map((v) => copy(v.info));
  }

  async getVolume(pool: string, name: string): Promise<VolumeInfo> {
    return copy(this.volume(pool, name).info);
  }

  async createVolume(pool: string, spec: VolumeSpec): Promise<VolumeInfo> {
    checkVolumeSpec(spec);
    const p = this.pool(pool);
    if (p.volumes.has(spec.name)) throw new AlreadyExistsError('volume', spec.name);
    const needed = spec.allocationBytes ?? 0;
    const { availableBytes } = this.poolInfo(pool);
    if (needed > availableBytes) throw new NoSpaceError(pool, needed, availableBytes);
    const info: VolumeInfo = {
      pool,
      name: spec.name,
      path: `${p.spec.path.replace(/\/$/, '')}/${spec.name}`,
      format: spec.format,
      capacityBytes: spec.capacityBytes,
      allocationBytes: needed,
    };
    if (spec.backingStore) info.backingStore = copy(spec.backingStore);
    p.volumes.set(spec.name, { info, bytes: null });
    return copy(info);
  }

  async uploadVolume(pool: string, name: string, source: ByteSource, sizeBytes: number): Promise<VolumeInfo> {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) throw new InvalidSpecError(`invalid upload size ${sizeBytes}`);
    const vol = this.volume(pool, name);
    const { availableBytes } = this.poolInfo(pool);
    if (sizeBytes - vol.info.allocationBytes > availableBytes) {
      throw new NoSpaceError(pool, sizeBytes - vol.info.allocationBytes, availableBytes);
    }
    const chunks: Buffer[] = [];
    let seen = 0;
    for await (const chunk of source) {
      seen += chunk.length;
      if (seen > sizeBytes) throw new OperationFailedError(`upload source gave more than the announced ${sizeBytes} bytes`);
      chunks.push(Buffer.from(chunk));
    }
    this.alive();
    if (seen !== sizeBytes) throw new OperationFailedError(`upload to '${name}' got ${seen} bytes, expected ${sizeBytes}`);
    const bytes = Buffer.concat(chunks);
    const isQcow2 = bytes.length >= QCOW2_SIZE_OFFSET + 8 && bytes.subarray(0, 4).equals(QCOW2_MAGIC);
    const oldRawSize = vol.info.format === 'raw' ? vol.info.capacityBytes : 0;
    vol.bytes = bytes;
    vol.info.format = isQcow2 ? 'qcow2' : 'raw';
    vol.info.capacityBytes = isQcow2 ? Number(bytes.readBigUInt64BE(QCOW2_SIZE_OFFSET)) : Math.max(oldRawSize, sizeBytes);
    vol.info.allocationBytes = Math.max(vol.info.allocationBytes, sizeBytes);
    delete vol.info.backingStore;
    return copy(vol.info);
  }

  async resizeVolume(pool: string, name: string, capacityBytes: number): Promise<VolumeInfo> {
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes <= 0) throw new InvalidSpecError(`invalid capacity ${capacityBytes}`);
    const vol = this.volume(pool, name);
    if (capacityBytes < vol.info.capacityBytes) {
      throw new InvalidSpecError(`volume '${name}' cannot shrink from ${vol.info.capacityBytes} to ${capacityBytes} bytes`);
    }
    vol.info.capacityBytes = capacityBytes;
    return copy(vol.info);
  }

  async deleteVolume(pool: string, name: string): Promise<void> {
    this.volume(pool, name);
    this.pool(pool).volumes.delete(name);
  }

  // ---- domains ----

  private domain(name: string): FakeDomain {
    this.alive();
    const dom = this.domains.get(name);
    if (!dom) throw new NotFoundError('domain', name);
    return dom;
  }

  private domainInfo(name: string): DomainInfo {
    const dom = this.domain(name);
    return {
      ...copy(dom.spec),
      metadata: copy(dom.spec.metadata ?? {}),
      autostart: dom.spec.autostart ?? false,
      state: dom.state,
      cpuTimeNs: dom.state === 'running' ? Math.max(1, (Date.now() - dom.startedAt) * 1e6) : 0,
    };
  }

  async listDomains(): Promise<DomainInfo[]> {
    this.alive();
    return [...this.domains.keys()].map((name) => this.domainInfo(name));
  }

  async getDomain(name: string): Promise<DomainInfo> {
    return this.domainInfo(name);
  }

  async defineDomain(spec: DomainSpec): Promise<DomainInfo> {
    this.alive();
    checkDomainSpec(spec);
    const existing = this.domains.get(spec.name);
    if (existing && spec.uuid && spec.uuid !== existing.spec.uuid) throw new AlreadyExistsError('domain', spec.name);
    if (!existing && spec.uuid && [...this.domains.values()].some((d) => d.spec.uuid === spec.uuid)) {
      throw new AlreadyExistsError('domain', spec.uuid);
    }
    const nics = spec.nics.map((nic, i) => {
      const before = existing?.spec.nics[i];
      const mac = nic.mac ?? (before?.network === nic.network ? before.mac : undefined) ?? randomMac();
      return { ...copy(nic), mac, model: nic.model ?? 'virtio' };
    });
    const disks = spec.disks.map((d) => ({
      ...copy(d),
      device: d.device ?? 'disk',
      bus: d.bus ?? (d.device === 'cdrom' ? 'sata' : 'virtio'),
      ...(d.readonly || d.device === 'cdrom' ? { readonly: true } : {}),
    }));
    const stored = { ...copy(spec), uuid: existing?.spec.uuid ?? spec.uuid ?? randomUUID(), nics, disks };
    if (existing) existing.spec = stored;
    else this.domains.set(spec.name, { spec: stored, state: 'shutoff', startedAt: 0 });
    this.emit(this.domain(spec.name), 'defined', existing ? DETAIL.DEFINED_UPDATED : DETAIL.DEFINED_ADDED);
    return this.domainInfo(spec.name);
  }

  async startDomain(name: string): Promise<void> {
    const dom = this.domain(name);
    if (dom.state !== 'shutoff') throw new InvalidStateError('domain', name, 'domain is already running');
    for (const nic of dom.spec.nics) {
      if (!this.networks.get(nic.network)?.active) {
        if (!this.networks.has(nic.network)) throw new NotFoundError('network', nic.network);
        throw new InvalidStateError('network', nic.network, 'network is not active');
      }
    }
    dom.state = 'running';
    dom.startedAt = Date.now();
    this.emit(dom, 'started', DETAIL.STARTED_BOOTED);
  }

  async shutdownDomain(name: string): Promise<void> {
    const dom = this.domain(name);
    if (dom.state !== 'running') throw new InvalidStateError('domain', name, 'domain is not running');
    if (this.options.guestObeysShutdown === false) return;
    setImmediate(() => {
      if (dom.state !== 'running' || this.domains.get(name) !== dom) return;
      dom.state = 'shutoff';
      this.emit(dom, 'shutdown', DETAIL.SHUTDOWN_FINISHED);
      this.emit(dom, 'stopped', DETAIL.STOPPED_SHUTDOWN);
    });
  }

  async destroyDomain(name: string): Promise<void> {
    const dom = this.domain(name);
    if (dom.state !== 'running') throw new InvalidStateError('domain', name, 'domain is not running');
    dom.state = 'shutoff';
    this.emit(dom, 'stopped', DETAIL.STOPPED_DESTROYED);
  }

  async deleteDomain(name: string): Promise<void> {
    const dom = this.domain(name);
    if (dom.state === 'running') await this.destroyDomain(name);
    this.domains.delete(name);
    this.emit(dom, 'undefined', 0);
  }

  // ---- events ----

  onDomainEvent(listener: (event: DomainEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onConnectionLost(listener: (error: Error) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.lost = true;
  }

  /** Delivers an event asynchronously, as libvirt's arrive after the call's reply. */
  private emit(dom: FakeDomain, type: DomainEventType, detail: number): void {
    const event: DomainEvent = { domain: dom.spec.name, uuid: dom.spec.uuid, type, detail };
    setImmediate(() => {
      for (const listener of this.eventListeners) listener(event);
    });
  }

  private alive(): void {
    if (this.lost) throw new ConnectionLostError(`connection to ${this.uri} lost`);
  }
}
