/**
 * An open libvirt connection over the RPC client: the handshake (AUTH_LIST, polkit if asked,
 * CONNECT_OPEN with a URI such as qemu:///system or test:///default), host queries (versions,
 * hostname, node info, free memory), the typed procedure groups (domains, networks, storage)
 * and the routing of domain lifecycle events to listeners.
 *
 * Events: 'domain-lifecycle' (LifecycleEventMsg) and 'close' (error?: Error).
 */
import { EventEmitter } from 'node:events';
import { RpcClient, type RpcConnectOptions, type RpcEndpoint } from './rpc-client.js';
import { AuthType, Procedure } from './protocol.js';
import { RpcProtocolError } from './errors.js';
import type { XdrReader } from './xdr.js';
import { DomainCalls, decodeLifecycleEvent } from './domains.js';
import { NetworkCalls } from './networks.js';
import { StorageCalls } from './storage.js';

/** libvirtd's read-write UNIX socket for qemu:///system. */
export const DEFAULT_SOCKET_PATH = '/var/run/libvirt/libvirt-sock';
export const DEFAULT_URI = 'qemu:///system';

export interface OpenOptions extends RpcConnectOptions {
  /** Driver URI sent in CONNECT_OPEN (default qemu:///system). */
  uri?: string;
  /** Where libvirtd listens (default: its UNIX socket). */
  endpoint?: RpcEndpoint;
}

/** NODE_GET_INFO's answer. memoryKiB is the host's total memory. */
export interface NodeInfo {
  model: string;
  memoryKiB: number;
  cpus: number;
  mhz: number;
  nodes: number;
  sockets: number;
  cores: number;
  threads: number;
}

/** Turns libvirt's packed version number (major * 1e6 + minor * 1e3 + micro) into "9.0.0". */
export function formatVersion(packed: number): string {
  return `${Math.floor(packed / 1e6)}.${Math.floor((packed % 1e6) / 1e3)}.${packed % 1e3}`;
}

export class LibvirtConnection extends EventEmitter {
  readonly domains: DomainCalls;
  readonly networks: NetworkCalls;
  readonly storage: StorageCalls;

  private constructor(readonly rpc: RpcClient, readonly uri: string) {
    super();
    this.domains = new DomainCalls(rpc);
    this.networks = new NetworkCalls(rpc);
    this.storage = new StorageCalls(rpc);
    rpc.on('message', (procedure: number, body: XdrReader) => this.onMessage(procedure, body));
    rpc.on('close', (err?: Error) => this.emit('close', err));
  }

  /** Connects to libvirtd and opens the driver named by `uri`. */
  static async open(options: OpenOptions = {}): Promise<LibvirtConnection> {
    const uri = options.uri ?? DEFAULT_URI;
    const rpc = await RpcClient.connect(options.endpoint ?? { path: DEFAULT_SOCKET_PATH }, options);
    try {
      const auth = (await rpc.call(Procedure.AUTH_LIST)).array((r) => r.int());
      if (auth.length > 0 && !auth.includes(AuthType.NONE)) {
        if (!auth.includes(AuthType.POLKIT)) {
          throw new RpcProtocolError(`libvirtd requires authentication this client lacks (types ${auth.join(',')})`);
        }
        await rpc.call(Procedure.AUTH_POLKIT);
      }
      await rpc.call(Procedure.CONNECT_OPEN, (w) => {
        w.optional(uri, (x, v) => x.string(v));
        w.uint(0);
      });
    } catch (err) {
      rpc.destroy();
      throw err;
    }
    return new LibvirtConnection(rpc, uri);
  }

  get closed(): boolean {
    return this.rpc.closed;
  }

  /** Sends CONNECT_CLOSE (so libvirtd releases the driver) and closes the socket. */
  async close(): Promise<void> {
    if (this.rpc.closed) return;
    try {
      await this.rpc.call(Procedure.CONNECT_CLOSE);
    } catch {
      // closing anyway
    }
    await this.rpc.close();
  }

  /** Hypervisor version (e.g. QEMU's), packed as major * 1e6 + minor * 1e3 + micro. */
  async getVersion(): Promise<number> {
    return (await this.rpc.call(Procedure.CONNECT_GET_VERSION)).uhyperNumber();
  }

  /** libvirt's version, packed like getVersion(). */
  async getLibVersion(): Promise<number> {
    return (await this.rpc.call(Procedure.CONNECT_GET_LIB_VERSION)).uhyperNumber();
  }

  /** Driver name, e.g. "QEMU" or "TEST". */
  async getType(): Promise<string> {
    return (await this.rpc.call(Procedure.CONNECT_GET_TYPE)).string();
  }

  /** The capabilities XML: host CPU, and the guest architectures and domain types it can run. */
  async getCapabilities(): Promise<string> {
    return (await this.rpc.call(Procedure.CONNECT_GET_CAPABILITIES)).string();
  }

  async getHostname(): Promise<string> {
    return (await this.rpc.call(Procedure.CONNECT_GET_HOSTNAME)).string();
  }

  async getUri(): Promise<string> {
    return (await this.rpc.call(Procedure.CONNECT_GET_URI)).string();
  }

  async nodeGetInfo(): Promise<NodeInfo> {
    const r = await this.rpc.call(Procedure.NODE_GET_INFO);
    const model: number[] = [];
    for (let i = 0; i < 32; i++) model.push(r.int() & 0xff); // char[32]: one XDR int per char
    const end = model.indexOf(0);
    return {
      model: Buffer.from(end >= 0 ? model.slice(0, end) : model).toString('latin1'),
      memoryKiB: r.uhyperNumber(),
      cpus: r.int(),
      mhz: r.int(),
      nodes: r.int(),
      sockets: r.int(),
      cores: r.int(),
      threads: r.int(),
    };
  }

  /** Free memory of the host in bytes. */
  async nodeGetFreeMemory(): Promise<number> {
    return (await this.rpc.call(Procedure.NODE_GET_FREE_MEMORY)).uhyperNumber();
  }

  private onMessage(procedure: number, body: XdrReader): void {
    if (procedure === Procedure.DOMAIN_EVENT_CALLBACK_LIFECYCLE) {
      this.emit('domain-lifecycle', decodeLifecycleEvent(body));
    }
  }
}
