/**
 * The Hypervisor contract: everything the host agent asks of a virtualisation host, at the
 * level of the agent's needs: host capacity, networks with DHCP host entries, directory storage
 * pools, volumes (qcow2 overlays, image uploads), domains with their power state, and lifecycle
 * events. Resources are described by small structured specs; the implementation renders them
 * into libvirt XML (libvirt-hypervisor.ts) or keeps them in memory (fake-hypervisor.ts, for the
 * agent's unit tests). Both behave the same and pass the same test suite (hypervisor-suite.ts).
 *
 * Semantics shared by both implementations:
 * - define* creates or replaces a persistent definition and keeps the UUID of an existing
 *   object with the same name; create* fails with AlreadyExistsError if the name exists.
 * - start/stop/shutdown/destroy of an object already in the target state: InvalidStateError.
 * - delete* stops the object if needed, then removes it; NotFoundError if it does not exist.
 * - Errors are the classes of errors.ts only.
 */

/** Capacity and versions of the host. */
export interface HostInfo {
  hostname: string;
  /** The libvirt URI of the connection (qemu:///system, test:///default, fake:///). */
  uri: string;
  /** Driver name: QEMU, TEST, FAKE. */
  driver: string;
  hypervisorVersion: string;
  libvirtVersion: string;
  cpuModel: string;
  cpus: number;
  cpuMhz: number;
  memoryBytes: number;
  freeMemoryBytes: number;
}

/** A fixed DHCP assignment: this MAC always gets this IP (and hostname). */
export interface DhcpHost {
  mac: string;
  ip: string;
  name?: string;
}

/** The host's address on a network (the guests' gateway) and the DHCP service. */
export interface NetworkIpv4 {
  address: string;
  prefix: number;
  dhcp?: { start: string; end: string; hosts?: DhcpHost[] };
}

/** A network libvirt routes itself: its own bridge, the gateway address, optionally DHCP. */
export interface RoutedNetworkSpec {
  name: string;
  uuid?: string;
  /** 'nat': guests reach the outside through the host with NAT; 'isolated': no forwarding. */
  forward: 'nat' | 'isolated';
  /** Linux bridge name (at most 15 characters); chosen by libvirt if absent. */
  bridge?: string;
  ipv4: NetworkIpv4;
}

/**
 * A network on an existing host bridge (forward mode 'bridge'): guests' NICs are plugged into
 * that bridge and share its L2 segment. libvirt manages no address, DHCP or DNS on it, so `ipv4`
 * is normally absent; if given, it only describes the subnet and never carries DHCP.
 */
export interface BridgedNetworkSpec {
  name: string;
  uuid?: string;
  forward: 'bridge';
  /** The existing host bridge device (created outside libvirt, e.g. br0). */
  bridge: string;
  ipv4?: NetworkIpv4;
}

export type NetworkSpec = RoutedNetworkSpec | BridgedNetworkSpec;

export type NetworkInfo = NetworkSpec & {
  uuid: string;
  active: boolean;
  autostart: boolean;
};

export interface DhcpLease {
  mac: string;
  ip: string;
  prefix: number;
  hostname?: string;
  expiresAt: Date;
}

/** A storage pool is a directory on the host holding volume files. */
export interface PoolSpec {
  name: string;
  uuid?: string;
  path: string;
}

export interface PoolInfo extends PoolSpec {
  uuid: string;
  active: boolean;
  autostart: boolean;
  capacityBytes: number;
  allocationBytes: number;
  availableBytes: number;
}

export type DiskFormat = 'qcow2' | 'raw';

export interface VolumeSpec {
  name: string;
  format: DiskFormat;
  /** Virtual size seen by the guest. */
  capacityBytes: number;
  /** Bytes to reserve now (default 0: sparse). Counted against the pool's free space. */
  allocationBytes?: number;
  /** Copy-on-write base (qcow2 overlays): reads fall through to this file. */
  backingStore?: { path: string; format: DiskFormat };
}

export interface VolumeInfo {
  pool: string;
  name: string;
  /** Absolute path of the volume's file on the host. */
  path: string;
  /** Format as libvirt sees it (probed from the content after an upload). */
  format: string;
  capacityBytes: number;
  allocationBytes: number;
  backingStore?: { path: string; format: string };
}

export interface DiskSpec {
  path: string;
  format: DiskFormat;
  /** Guest device name (vda, vdb, sda…). */
  target: string;
  device?: 'disk' | 'cdrom';
  /** Default: virtio for disks, sata for cdroms. */
  bus?: 'virtio' | 'sata' | 'ide' | 'scsi';
  readonly?: boolean;
}

export interface NicSpec {
  network: string;
  /** Chosen by libvirt if absent; keep it stable across redefinitions. */
  mac?: string;
  model?: 'virtio' | 'e1000';
}

export interface DomainSpec {
  name: string;
  uuid?: string;
  vcpus: number;
  memoryMiB: number;
  disks: DiskSpec[];
  nics: NicSpec[];
  /** Start with the host. Default false. */
  autostart?: boolean;
  /** Free-form tags stored in the domain's <metadata> (e.g. the owning resource). */
  metadata?: Record<string, string>;
}

/** libvirt's domain states. */
export type DomainState =
  | 'nostate'
  | 'running'
  | 'blocked'
  | 'paused'
  | 'shutdown'
  | 'shutoff'
  | 'crashed'
  | 'pmsuspended';

export interface DomainInfo extends DomainSpec {
  uuid: string;
  state: DomainState;
  autostart: boolean;
  metadata: Record<string, string>;
  /** CPU time used since the domain started, in nanoseconds (0 when shut off). */
  cpuTimeNs: number;
}

/** Lifecycle event types (virDomainEventType). */
export type DomainEventType =
  | 'defined'
  | 'undefined'
  | 'started'
  | 'suspended'
  | 'resumed'
  | 'stopped'
  | 'shutdown'
  | 'pmsuspended'
  | 'crashed';

export interface DomainEvent {
  domain: string;
  uuid: string;
  type: DomainEventType;
  /** libvirt's detail code for the type (e.g. stopped: 0 shutdown, 1 destroyed, 2 crashed, 5 failed). */
  detail: number;
}

/** Source of bytes for an upload: a Node Readable, or any async iterable of chunks. */
export type ByteSource = AsyncIterable<Uint8Array>;

export interface Hypervisor {
  readonly uri: string;

  hostInfo(): Promise<HostInfo>;

  listNetworks(): Promise<NetworkInfo[]>;
  getNetwork(name: string): Promise<NetworkInfo>;
  /** Creates or replaces the definition; an active network runs the old one until restarted. */
  defineNetwork(spec: NetworkSpec): Promise<NetworkInfo>;
  startNetwork(name: string): Promise<void>;
  stopNetwork(name: string): Promise<void>;
  deleteNetwork(name: string): Promise<void>;
  /** Adds or replaces (by MAC) a DHCP host entry, live if active and in the definition. */
  setDhcpHost(network: string, host: DhcpHost): Promise<void>;
  /** Removes the entry for `mac`; NotFoundError('dhcp-host') if there is none. */
  removeDhcpHost(network: string, mac: string): Promise<void>;
  dhcpLeases(network: string): Promise<DhcpLease[]>;

  listPools(): Promise<PoolInfo[]>;
  getPool(name: string): Promise<PoolInfo>;
  /** Defines, builds (creates the directory), starts and autostarts a directory pool. */
  createPool(spec: PoolSpec): Promise<PoolInfo>;
  /** Stops and undefines the pool; its directory and files stay on disk. */
  deletePool(name: string): Promise<void>;

  listVolumes(pool: string): Promise<VolumeInfo[]>;
  getVolume(pool: string, name: string): Promise<VolumeInfo>;
  createVolume(pool: string, spec: VolumeSpec): Promise<VolumeInfo>;
  /**
   * Writes exactly `sizeBytes` bytes from `source` into the volume, from offset 0, and returns
   * the volume as libvirt then sees it (format probed from the content, e.g. an uploaded qcow2
   * image). NoSpaceError if the pool cannot hold them; OperationFailedError if the source gives
   * more or fewer bytes.
   */
  uploadVolume(pool: string, name: string, source: ByteSource, sizeBytes: number): Promise<VolumeInfo>;
  /** Grows the volume's capacity; shrinking is refused (InvalidSpecError). */
  resizeVolume(pool: string, name: string, capacityBytes: number): Promise<VolumeInfo>;
  deleteVolume(pool: string, name: string): Promise<void>;

  listDomains(): Promise<DomainInfo[]>;
  getDomain(name: string): Promise<DomainInfo>;
  /** Creates or replaces the definition (takes effect at next start if running). */
  defineDomain(spec: DomainSpec): Promise<DomainInfo>;
  startDomain(name: string): Promise<void>;
  /** Asks the guest to power off (ACPI); returns at once. See stopDomainGracefully. */
  shutdownDomain(name: string): Promise<void>;
  /** Powers the domain off at once. */
  destroyDomain(name: string): Promise<void>;
  /** Destroys the domain if running, then undefines it with its NVRAM and managed save. */
  deleteDomain(name: string): Promise<void>;

  /** Subscribes to lifecycle events of all domains; returns the unsubscribe function. */
  onDomainEvent(listener: (event: DomainEvent) => void): () => void;
  /** Called once if the connection is lost; every later call throws ConnectionLostError. */
  onConnectionLost(listener: (error: Error) => void): () => void;
  close(): Promise<void>;
}
