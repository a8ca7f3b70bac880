/**
 * The Hypervisor contract implemented over libvirt's RPC protocol (libvirt/connection.ts):
 * specs are rendered into libvirt XML, state is read back from libvirt's XML and info calls,
 * and libvirt's error codes become the typed errors of errors.ts. Works against any libvirtd
 * driver URI; qemu:///system in production, test:///default for fast tests and demos
 * (that driver cannot upload, resize or report leases: NotSupportedError).
 */
import {
  AlreadyExistsError,
  ConnectionLostError,
  InvalidSpecError,
  InvalidStateError,
  NoSpaceError,
  NotFoundError,
  NotSupportedError,
  OperationFailedError,
  type ResourceKind,
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
import { LibvirtConnection, formatVersion, type OpenOptions } from './libvirt/connection.js';
import type { LifecycleEventMsg } from './libvirt/domains.js';
import {
  ErrorCode,
  LibvirtAlreadyExistsError,
  LibvirtError,
  LibvirtNotFoundError,
  LibvirtOperationInvalidError,
  LibvirtUnsupportedError,
  RpcConnectionClosedError,
} from './libvirt/errors.js';
import {
  DomainStateCode,
  DomainUndefineFlags,
  DomainXmlFlags,
  NetworkSection,
  NetworkUpdateCommand,
  NetworkUpdateFlags,
  NetworkXmlFlags,
  StoragePoolStateCode,
} from './libvirt/protocol.js';
import {
  dhcpHostXml,
  domainXml,
  networkXml,
  parseDomainXml,
  parseNetworkXml,
  parsePoolXml,
  parseVolumeXml,
  poolXml,
  volumeXml,
  type DomainType,
} from './libvirt/spec-xml.js';
import { uuidFromString, uuidToString, type RemoteStorageVol } from './libvirt/xdr.js';
import { children, parseXml } from './libvirt/xml.js';

const DOMAIN_STATES: DomainState[] = ['nostate', 'running', 'blocked', 'paused', 'shutdown', 'shutoff', 'crashed', 'pmsuspended'];
const EVENT_TYPES: DomainEventType[] = [
  'defined', 'undefined', 'started', 'suspended', 'resumed', 'stopped', 'shutdown', 'pmsuspended', 'crashed',
];
/** What deleteDomain removes along with the definition. */
const UNDEFINE_ALL =
  DomainUndefineFlags.MANAGED_SAVE |
  DomainUndefineFlags.SNAPSHOTS_METADATA |
  DomainUndefineFlags.NVRAM |
  DomainUndefineFlags.CHECKPOINTS_METADATA;
/** What every driver can remove along with the definition. */
const UNDEFINE_BASIC = DomainUndefineFlags.MANAGED_SAVE | DomainUndefineFlags.SNAPSHOTS_METADATA;
/** The IPv4 <ip> element is the first one ringstack defines. */
const FIRST_IP = 0;

export interface LibvirtHypervisorOptions extends OpenOptions {
  /**
   * 'qemu' (TCG, default: works without /dev/kvm), 'kvm', or 'auto': kvm if the host's
   * capabilities offer it for x86_64 guests, else qemu.
   */
  domainType?: DomainType | 'auto';
}

/** Whether a capabilities document offers KVM for x86_64 guests. */
export function capabilitiesOfferKvm(capabilitiesXml: string): boolean {
  return children(parseXml(capabilitiesXml), 'guest').some((guest) =>
    children(guest, 'arch').some((arch) => arch.attrs.name === 'x86_64' && children(arch, 'domain').some((d) => d.attrs.type === 'kvm')),
  );
}

/** Names of the objects an operation is about, to name the missing one in NotFoundError. */
type Subject = Partial<Record<ResourceKind, string>>;

const NOT_FOUND_KIND: Record<number, ResourceKind> = {
  [ErrorCode.NO_DOMAIN]: 'domain',
  [ErrorCode.NO_NETWORK]: 'network',
  [ErrorCode.NO_STORAGE_POOL]: 'pool',
  [ErrorCode.NO_STORAGE_VOL]: 'volume',
};

/** Maps an error from the libvirt client to the hypervisor layer's errors. */
export function translateError(err: unknown, subject: Subject): Error {
  if (err instanceof RpcConnectionClosedError) return new ConnectionLostError(err.message, { cause: err });
  if (!(err instanceof LibvirtError)) return err instanceof Error ? err : new OperationFailedError(String(err));
  const [kind, name] = (Object.entries(subject)[0] ?? ['domain', '?']) as [ResourceKind, string];
  if (err instanceof LibvirtNotFoundError) {
    const missing = NOT_FOUND_KIND[err.code] ?? kind;
    return new NotFoundError(missing, subject[missing] ?? name, { cause: err });
  }
  if (err instanceof LibvirtAlreadyExistsError) return new AlreadyExistsError(kind, name, { cause: err });
  if (err instanceof LibvirtOperationInvalidError) return new InvalidStateError(kind, name, err.message, { cause: err });
  if (err instanceof LibvirtUnsupportedError) return new NotSupportedError(err.message, { cause: err });
  return new OperationFailedError(err.message, { cause: err });
}

export class LibvirtHypervisor implements Hypervisor {
  private readonly eventListeners = new Set<(event: DomainEvent) => void>();
  private readonly lostListeners = new Set<(error: Error) => void>();
  private closing = false;

  private constructor(
    private readonly conn: LibvirtConnection,
    private readonly domainType: DomainType,
    private readonly callbackId: number,
  ) {
    conn.on('domain-lifecycle', (msg: LifecycleEventMsg) => this.onLifecycle(msg));
    conn.on('close', (err?: Error) => {
      if (this.closing) return;
      const lost = new ConnectionLostError(`connection to ${conn.uri} lost${err ? `: ${err.message}` : ''}`);
      for (const listener of this.lostListeners) queueMicrotask(() => listener(lost));
    });
  }

  /** Connects to libvirtd, opens `options.uri` and subscribes to domain lifecycle events. */
  static async open(options: LibvirtHypervisorOptions = {}): Promise<LibvirtHypervisor> {
    let conn: LibvirtConnection;
    try {
      conn = await LibvirtConnection.open(options);
    } catch (err) {
      if (err instanceof RpcConnectionClosedError) throw new ConnectionLostError(err.message, { cause: err });
      throw translateError(err, {});
    }
    try {
      let domainType = options.domainType ?? 'qemu';
      if (domainType === 'auto') domainType = capabilitiesOfferKvm(await conn.getCapabilities()) ? 'kvm' : 'qemu';
      const callbackId = await conn.domains.registerLifecycleEvents();
      return new LibvirtHypervisor(conn, domainType, callbackId);
    } catch (err) {
      await conn.close();
      throw translateError(err, {});
    }
  }

  get uri(): string {
    return this.conn.uri;
  }

  /** The <domain type> this instance defines domains with. */
  get virtType(): DomainType {
    return this.domainType;
  }

  /** The underlying connection, for callers needing a procedure the contract lacks. */
  get connection(): LibvirtConnection {
    return this.conn;
  }

  private async run<T>(subject: Subject, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw translateError(err, subject);
    }
  }

  async hostInfo(): Promise<HostInfo> {
    return this.run({}, async () => {
      const c = this.conn;
      const [hostname, driver, hv, lib, node, free] = await Promise.all([
        c.getHostname(), c.getType(), c.getVersion(), c.getLibVersion(), c.nodeGetInfo(), c.nodeGetFreeMemory(),
      ]);
      return {
        hostname,
        uri: c.uri,
        driver,
        hypervisorVersion: formatVersion(hv),
        libvirtVersion: formatVersion(lib),
        cpuModel: node.model,
        cpus: node.cpus,
        cpuMhz: node.mhz,
        memoryBytes: node.memoryKiB * 1024,
        freeMemoryBytes: free,
      };
    });
  }

  // ---- networks ----

  async listNetworks(): Promise<NetworkInfo[]> {
    const nets = await this.run({}, () => this.conn.networks.listAll());
    return present(await Promise.all(nets.map((n) => this.getNetwork(n.name).catch(skipMissing))));
  }

  async getNetwork(name: string): Promise<NetworkInfo> {
    return this.run({ network: name }, async () => {
      const calls = this.conn.networks;
      const net = await calls.lookupByName(name);
      const [xml, active, autostart] = await Promise.all([
        retryWithoutFlags((flags) => calls.getXmlDesc(net, flags), NetworkXmlFlags.INACTIVE),
        calls.isActive(net),
        calls.getAutostart(net),
      ]);
      return { ...parseNetworkXml(xml), active, autostart };
    });
  }

  /** Defines (or redefines, keeping the UUID) the network and marks it autostart. */
  async defineNetwork(spec: NetworkSpec): Promise<NetworkInfo> {
    checkNetworkSpec(spec);
    await this.run({ network: spec.name }, async () => {
      const calls = this.conn.networks;
      const existing = await calls.lookupByName(spec.name).catch(ignoreNotFound);
      let uuid = spec.uuid;
      if (existing) {
        const current = uuidToString(existing.uuid);
        if (uuid && uuid !== current) throw new AlreadyExistsError('network', spec.name);
        uuid = current;
      }
      const net = await calls.defineXml(networkXml({ ...spec, uuid }));
      await calls.setAutostart(net, true);
    });
    return this.getNetwork(spec.name);
  }

  async startNetwork(name: string): Promise<void> {
    await this.run({ network: name }, async () => {
      const net = await this.conn.networks.lookupByName(name);
      if (await this.conn.networks.isActive(net)) throw new InvalidStateError('network', name, 'network is already active');
      await this.conn.networks.create(net);
    });
  }

  async stopNetwork(name: string): Promise<void> {
    await this.run({ network: name }, async () => {
      const net = await this.conn.networks.lookupByName(name);
      if (!(await this.conn.networks.isActive(net))) throw new InvalidStateError('network', name, 'network is not active');
      await this.conn.networks.destroy(net);
    });
  }

  async deleteNetwork(name: string): Promise<void> {
    await this.run({ network: name }, async () => {
      const calls = this.conn.networks;
      const net = await calls.lookupByName(name);
      if (await calls.isActive(net)) await calls.destroy(net);
      await calls.undefine(net);
    });
  }

  async setDhcpHost(network: string, host: DhcpHost): Promise<void> {
    const info = await this.getNetwork(network);
    checkDhcpHost(info, host);
    const hosts = info.ipv4?.dhcp?.hosts;
    if (!hosts) throw new InvalidSpecError(`network '${network}' has no DHCP service`);
    const clash = hosts.find((h) => h.ip === host.ip && h.mac !== host.mac);
    if (clash) throw new AlreadyExistsError('dhcp-host', host.ip);
    for (const scope of await this.dhcpScopes(network)) {
      const current = scope.hosts.find((h) => h.mac === host.mac);
      if (current && current.ip === host.ip && current.name === host.name) continue;
      // MODIFY cannot change the IP of an entry in every libvirt version: delete, then add.
      if (current) await this.updateDhcp(network, NetworkUpdateCommand.DELETE, current, scope.flag);
      await this.updateDhcp(network, NetworkUpdateCommand.ADD_LAST, host, scope.flag);
    }
  }

  async removeDhcpHost(network: string, mac: string): Promise<void> {
    let found = false;
    for (const scope of await this.dhcpScopes(network)) {
      const current = scope.hosts.find((h) => h.mac === mac.toLowerCase());
      if (!current) continue;
      found = true;
      await this.updateDhcp(network, NetworkUpdateCommand.DELETE, current, scope.flag);
    }
    if (!found) throw new NotFoundError('dhcp-host', mac);
  }

  /**
   * The DHCP host lists to edit: the persistent definition, and the live one if the network
   * runs. They differ after a redefinition of an active network, so each is edited on its own.
   */
  private async dhcpScopes(network: string): Promise<{ flag: number; hosts: DhcpHost[] }[]> {
    return this.run({ network }, async () => {
      const calls = this.conn.networks;
      const net = await calls.lookupByName(network);
      const hostsOf = (xml: string): DhcpHost[] => parseNetworkXml(xml).ipv4?.dhcp?.hosts ?? [];
      const scopes = [{
        flag: NetworkUpdateFlags.AFFECT_CONFIG,
        hosts: hostsOf(await retryWithoutFlags((flags) => calls.getXmlDesc(net, flags), NetworkXmlFlags.INACTIVE)),
      }];
      if (await calls.isActive(net)) {
        scopes.push({ flag: NetworkUpdateFlags.AFFECT_LIVE, hosts: hostsOf(await calls.getXmlDesc(net, 0)) });
      }
      return scopes;
    });
  }

  private async updateDhcp(network: string, command: number, host: DhcpHost, flags: number): Promise<void> {
    await this.run({ network }, async () => {
      const net = await this.conn.networks.lookupByName(network);
      await this.conn.networks.update(net, command, NetworkSection.IP_DHCP_HOST, FIRST_IP, dhcpHostXml(host), flags);
    });
  }

  async dhcpLeases(network: string): Promise<DhcpLease[]> {
    return this.run({ network }, async () => {
      const net = await this.conn.networks.lookupByName(network);
      const leases = await this.conn.networks.getDhcpLeases(net);
      return leases.map((l) => {
        const lease: DhcpLease = {
          mac: (l.mac ?? '').toLowerCase(),
          ip: l.ipaddr,
          prefix: l.prefix,
          expiresAt: new Date(l.expiryTime * 1000),
        };
        if (l.hostname) lease.hostname = l.hostname;
        return lease;
      });
    });
  }

  // ---- storage pools ----

  async listPools(): Promise<PoolInfo[]> {
    const pools = await this.run({}, () => this.conn.storage.listAllPools());
    return present(await Promise.all(pools.map((p) => this.getPool(p.name).catch(skipMissing))));
  }

  async getPool(name: string): Promise<PoolInfo> {
    return this.run({ pool: name }, async () => {
      const s = this.conn.storage;
      const pool = await s.poolLookupByName(name);
      const [xml, info, autostart] = await Promise.all([s.poolGetXmlDesc(pool), s.poolGetInfo(pool), s.poolGetAutostart(pool)]);
      return {
        ...parsePoolXml(xml),
        active: info.state === StoragePoolStateCode.RUNNING || info.state === StoragePoolStateCode.DEGRADED,
        autostart,
        capacityBytes: info.capacity,
        allocationBytes: info.allocation,
        availableBytes: info.available,
      };
    });
  }

  async createPool(spec: PoolSpec): Promise<PoolInfo> {
    checkPoolSpec(spec);
    await this.run({ pool: spec.name }, async () => {
      const s = this.conn.storage;
      if (await s.poolLookupByName(spec.name).catch(ignoreNotFound)) throw new AlreadyExistsError('pool', spec.name);
      const pool = await s.poolDefineXml(poolXml(spec));
      try {
        await s.poolBuild(pool);
        await s.poolCreate(pool);
        await s.poolSetAutostart(pool, true);
      } catch (err) {
        if (await s.poolIsActive(pool).catch(() => false)) await s.poolDestroy(pool).catch(() => undefined);
        await s.poolUndefine(pool).catch(() => undefined);
        throw err;
      }
    });
    return this.getPool(spec.name);
  }

  async deletePool(name: string): Promise<void> {
    await this.run({ pool: name }, async () => {
      const s = this.conn.storage;
      const pool = await s.poolLookupByName(name);
      if (await s.poolIsActive(pool)) await s.poolDestroy(pool);
      await s.poolUndefine(pool);
    });
  }

  // ---- volumes ----

  private async volumeInfo(pool: string, vol: RemoteStorageVol): Promise<VolumeInfo> {
    const s = this.conn.storage;
    const [xml, info] = await Promise.all([s.volGetXmlDesc(vol), s.volGetInfo(vol)]);
    const parsed = parseVolumeXml(xml);
    const out: VolumeInfo = {
      pool,
      name: parsed.name,
      path: parsed.path,
      format: parsed.format,
      capacityBytes: info.capacity,
      allocationBytes: info.allocation,
    };
    if (parsed.backingStore) out.backingStore = parsed.backingStore;
    return out;
  }

  async listVolumes(pool: string): Promise<VolumeInfo[]> {
    return this.run({ pool }, async () => {
      const p = await this.conn.storage.poolLookupByName(pool);
      const vols = await this.conn.storage.listAllVolumes(p);
      return present(await Promise.all(vols.map((v) => this.volumeInfo(pool, v).catch(ignoreNotFound))));
    });
  }

  async getVolume(pool: string, name: string): Promise<VolumeInfo> {
    return this.run({ volume: name, pool }, async () => {
      const p = await this.conn.storage.poolLookupByName(pool);
      return this.volumeInfo(pool, await this.conn.storage.volLookupByName(p, name));
    });
  }

  async createVolume(pool: string, spec: VolumeSpec): Promise<VolumeInfo> {
    checkVolumeSpec(spec);
    return this.run({ volume: spec.name, pool }, async () => {
      const s = this.conn.storage;
      const p = await s.poolLookupByName(pool);
      if (await s.volLookupByName(p, spec.name).catch(ignoreNotFound)) throw new AlreadyExistsError('volume', spec.name);
      const { available } = await s.poolGetInfo(p);
      const needed = spec.allocationBytes ?? 0;
      if (needed > available) throw new NoSpaceError(pool, needed, available);
      return this.volumeInfo(pool, await s.volCreateXml(p, volumeXml(spec)));
    });
  }

  async uploadVolume(pool: string, name: string, source: ByteSource, sizeBytes: number): Promise<VolumeInfo> {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) throw new InvalidSpecError(`invalid upload size ${sizeBytes}`);
    return this.run({ volume: name, pool }, async () => {
      const s = this.conn.storage;
      const p = await s.poolLookupByName(pool);
      const vol = await s.volLookupByName(p, name);
      await s.poolRefresh(p);
      const [{ available }, { allocation }] = await Promise.all([s.poolGetInfo(p), s.volGetInfo(vol)]);
      if (sizeBytes - allocation > available) throw new NoSpaceError(pool, sizeBytes - allocation, available);
      const counter = countBytes(source, sizeBytes);
      await s.volUpload(vol, counter, 0, sizeBytes);
      if (counter.count() !== sizeBytes) {
        throw new OperationFailedError(`upload to '${name}' got ${counter.count()} bytes, expected ${sizeBytes}`);
      }
      await s.poolRefresh(p);
      return this.volumeInfo(pool, await s.volLookupByName(p, name));
    });
  }

  async resizeVolume(pool: string, name: string, capacityBytes: number): Promise<VolumeInfo> {
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes <= 0) throw new InvalidSpecError(`invalid capacity ${capacityBytes}`);
    return this.run({ volume: name, pool }, async () => {
      const s = this.conn.storage;
      const p = await s.poolLookupByName(pool);
      const vol = await s.volLookupByName(p, name);
      const { capacity } = await s.volGetInfo(vol);
      if (capacityBytes < capacity) throw new InvalidSpecError(`volume '${name}' cannot shrink from ${capacity} to ${capacityBytes} bytes`);
      if (capacityBytes > capacity) await s.volResize(vol, capacityBytes);
      return this.volumeInfo(pool, vol);
    });
  }

  async deleteVolume(pool: string, name: string): Promise<void> {
    await this.run({ volume: name, pool }, async () => {
      const p = await this.conn.storage.poolLookupByName(pool);
      await this.conn.storage.volDelete(await this.conn.storage.volLookupByName(p, name));
    });
  }

  // ---- domains ----

  async listDomains(): Promise<DomainInfo[]> {
    const doms = await this.run({}, () => this.conn.domains.listAll());
    return present(await Promise.all(doms.map((d) => this.getDomain(d.name).catch(skipMissing))));
  }

  async getDomain(name: string): Promise<DomainInfo> {
    return this.run({ domain: name }, async () => {
      const d = this.conn.domains;
      const dom = await d.lookupByName(name);
      const [xml, state, info, autostart] = await Promise.all([
        d.getXmlDesc(dom, DomainXmlFlags.INACTIVE), d.getState(dom), d.getInfo(dom), d.getAutostart(dom),
      ]);
      const running = state.state !== DomainStateCode.SHUTOFF;
      return {
        ...parseDomainXml(xml),
        state: DOMAIN_STATES[state.state] ?? 'nostate',
        autostart,
        cpuTimeNs: running ? Number(info.cpuTimeNs) : 0,
      };
    });
  }

  async defineDomain(spec: DomainSpec): Promise<DomainInfo> {
    checkDomainSpec(spec);
    await this.run({ domain: spec.name }, async () => {
      const d = this.conn.domains;
      const existing = await d.lookupByName(spec.name).catch(ignoreNotFound);
      let full: DomainSpec = spec;
      if (existing) {
        const current = uuidToString(existing.uuid);
        if (spec.uuid && spec.uuid !== current) throw new AlreadyExistsError('domain', spec.name);
        const old = parseDomainXml(await d.getXmlDesc(existing, DomainXmlFlags.INACTIVE));
        full = { ...spec, uuid: current, nics: keepMacs(spec, old) };
      } else if (spec.uuid) {
        const other = await d.lookupByUuid(uuidFromString(spec.uuid)).catch(ignoreNotFound);
        if (other) throw new AlreadyExistsError('domain', spec.uuid);
      }
      const dom = await d.defineXml(domainXml(full, this.domainType));
      await d.setAutostart(dom, spec.autostart ?? false);
    });
    return this.getDomain(spec.name);
  }

  async startDomain(name: string): Promise<void> {
    await this.run({ domain: name }, async () => {
      const dom = await this.activeDomain(name, false);
      await this.conn.domains.create(dom);
    });
  }

  async shutdownDomain(name: string): Promise<void> {
    await this.run({ domain: name }, async () => {
      await this.conn.domains.shutdown(await this.activeDomain(name, true));
    });
  }

  async destroyDomain(name: string): Promise<void> {
    await this.run({ domain: name }, async () => {
      await this.conn.domains.destroy(await this.activeDomain(name, true));
    });
  }

  /**
   * Looks the domain up and checks it is (or is not) running. libvirt drivers disagree on the
   * error for a wrong state (qemu: OPERATION_INVALID, test: INTERNAL_ERROR), so check first.
   */
  private async activeDomain(name: string, mustBeActive: boolean) {
    const dom = await this.conn.domains.lookupByName(name);
    const active = await this.conn.domains.isActive(dom);
    if (active !== mustBeActive) {
      throw new InvalidStateError('domain', name, active ? 'domain is already running' : 'domain is not running');
    }
    return dom;
  }

  async deleteDomain(name: string): Promise<void> {
    await this.run({ domain: name }, async () => {
      const d = this.conn.domains;
      const dom = await d.lookupByName(name);
      if (await d.isActive(dom)) {
        await d.destroy(dom).catch((err) => {
          if (!(err instanceof LibvirtOperationInvalidError)) throw err; // stopped meanwhile
        });
      }
      // Drivers without NVRAM or checkpoints (test:///default) refuse those flags.
      await retryWithoutFlags((flags) => d.undefine(dom, flags), UNDEFINE_ALL, UNDEFINE_BASIC);
    });
  }

  // ---- events and connection ----

  onDomainEvent(listener: (event: DomainEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onConnectionLost(listener: (error: Error) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.conn.closed) return;
    this.closing = true;
    await this.conn.domains.deregisterEvents(this.callbackId).catch(() => undefined);
    await this.conn.close();
  }

  private onLifecycle(msg: LifecycleEventMsg): void {
    if (msg.callbackId !== this.callbackId) return;
    const type = EVENT_TYPES[msg.event];
    if (!type) return;
    const event: DomainEvent = { domain: msg.domain.name, uuid: uuidToString(msg.domain.uuid), type, detail: msg.detail };
    // Deliver outside the socket's data handler: a throwing listener must not break the protocol.
    for (const listener of this.eventListeners) queueMicrotask(() => listener(event));
  }
}

/**
 * Calls `fn` with `flags`; if the driver refuses them as unsupported (INVALID_ARG, as the test
 * driver does for flags it lacks), calls it again with `fallback`.
 */
async function retryWithoutFlags<T>(fn: (flags: number) => Promise<T>, flags: number, fallback = 0): Promise<T> {
  try {
    return await fn(flags);
  } catch (err) {
    if (!(err instanceof LibvirtError) || err.code !== ErrorCode.INVALID_ARG) throw err;
    return fn(fallback);
  }
}

/** For listings: an object deleted between the list and the look-up is left out. */
function skipMissing(err: unknown): undefined {
  if (err instanceof NotFoundError) return undefined;
  throw err;
}

function present<T>(items: (T | undefined)[]): T[] {
  return items.filter((i): i is T => i !== undefined);
}

function ignoreNotFound(err: unknown): undefined {
  if (err instanceof LibvirtNotFoundError) return undefined;
  throw err;
}

/** Keeps the MAC of each NIC that the new spec leaves unset, matched by position and network. */
function keepMacs(spec: DomainSpec, old: DomainSpec): DomainSpec['nics'] {
  return spec.nics.map((nic, i) => {
    const before = old.nics[i];
    if (nic.mac || !before?.mac || before.network !== nic.network) return nic;
    return { ...nic, mac: before.mac };
  });
}

/** Wraps a byte source, counting bytes and failing once it yields more than `limit`. */
function countBytes(source: ByteSource, limit: number): AsyncIterable<Uint8Array> & { count(): number } {
  let seen = 0;
  return {
    count: () => seen,
    async *[Symbol.asyncIterator]() {
      for await (const chunk of source) {
        seen += chunk.length;
        if (seen > limit) throw new OperationFailedError(`upload source gave more than the announced ${limit} bytes`);
        yield chunk;
      }
    },
  };
}
