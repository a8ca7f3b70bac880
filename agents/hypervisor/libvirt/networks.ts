/**
 * Network procedures of libvirt's remote program, typed: define, start, stop, undefine,
 * look up, state, XML, listing, autostart, DHCP leases and live updates of DHCP host entries.
 */
import type { RpcClient } from './rpc-client.js';
import { DriverFeature, Procedure } from './protocol.js';
import { readNetwork, writeNetwork, type RemoteNetwork, type XdrReader } from './xdr.js';

/** One DHCP lease as libvirt reports it (virNetworkDHCPLease). */
export interface DhcpLeaseRet {
  iface: string;
  /** Seconds since the epoch. */
  expiryTime: number;
  /** virIPAddrType: 0 IPv4, 1 IPv6. */
  type: number;
  mac: string | null;
  iaid: string | null;
  ipaddr: string;
  prefix: number;
  hostname: string | null;
  clientId: string | null;
}

function readLease(r: XdrReader): DhcpLeaseRet {
  const str = (x: XdrReader): string => x.string();
  return {
    iface: r.string(),
    expiryTime: r.hyperNumber(),
    type: r.int(),
    mac: r.optional(str),
    iaid: r.optional(str),
    ipaddr: r.string(),
    prefix: r.uint(),
    hostname: r.optional(str),
    clientId: r.optional(str),
  };
}

export class NetworkCalls {
  private updateOrderIsCorrect: boolean | null = null;

  constructor(private readonly rpc: RpcClient) {}

  async defineXml(xml: string): Promise<RemoteNetwork> {
    return readNetwork(await this.rpc.call(Procedure.NETWORK_DEFINE_XML, (w) => w.string(xml)));
  }

  async create(net: RemoteNetwork): Promise<void> {
    await this.rpc.call(Procedure.NETWORK_CREATE, (w) => writeNetwork(w, net));
  }

  async destroy(net: RemoteNetwork): Promise<void> {
    await this.rpc.call(Procedure.NETWORK_DESTROY, (w) => writeNetwork(w, net));
  }

  async undefine(net: RemoteNetwork): Promise<void> {
    await this.rpc.call(Procedure.NETWORK_UNDEFINE, (w) => writeNetwork(w, net));
  }

  async lookupByName(name: string): Promise<RemoteNetwork> {
    return readNetwork(await this.rpc.call(Procedure.NETWORK_LOOKUP_BY_NAME, (w) => w.string(name)));
  }

  async isActive(net: RemoteNetwork): Promise<boolean> {
    const r = await this.rpc.call(Procedure.NETWORK_IS_ACTIVE, (w) => writeNetwork(w, net));
    return r.int() !== 0;
  }

  async getXmlDesc(net: RemoteNetwork, flags = 0): Promise<string> {
    const r = await this.rpc.call(Procedure.NETWORK_GET_XML_DESC, (w) => {
      writeNetwork(w, net);
      w.uint(flags);
    });
    return r.string();
  }

  async listAll(flags = 0): Promise<RemoteNetwork[]> {
    const r = await this.rpc.call(Procedure.CONNECT_LIST_ALL_NETWORKS, (w) => w.int(1).uint(flags));
    const nets = r.array(readNetwork);
    r.uint();
    return nets;
  }

  async setAutostart(net: RemoteNetwork, autostart: boolean): Promise<void> {
    await this.rpc.call(Procedure.NETWORK_SET_AUTOSTART, (w) => {
      writeNetwork(w, net);
      w.int(autostart ? 1 : 0);
    });
  }

  async getAutostart(net: RemoteNetwork): Promise<boolean> {
    const r = await this.rpc.call(Procedure.NETWORK_GET_AUTOSTART, (w) => writeNetwork(w, net));
    return r.int() !== 0;
  }

  /** Current DHCP leases of the network, optionally only those of one MAC address. */
  async getDhcpLeases(net: RemoteNetwork, mac: string | null = null): Promise<DhcpLeaseRet[]> {
    const r = await this.rpc.call(Procedure.NETWORK_GET_DHCP_LEASES, (w) => {
      writeNetwork(w, net);
      w.optional(mac, (x, v) => x.string(v));
      w.int(1).uint(0);
    });
    const leases = r.array(readLease);
    r.uint();
    return leases;
  }

  /**
   * Changes one section of a network's definition (live and/or persistent; flags are
   * NetworkUpdateFlags). libvirtd before 10.x reads command and section in swapped order; it
   * says whether it has the fix through CONNECT_SUPPORTS_FEATURE, asked once per connection.
   */
  async update(
    net: RemoteNetwork,
    command: number,
    section: number,
    parentIndex: number,
    xml: string,
    flags: number,
  ): Promise<void> {
    if (this.updateOrderIsCorrect === null) {
      const r = await this.rpc.call(Procedure.CONNECT_SUPPORTS_FEATURE, (w) =>
        w.int(DriverFeature.NETWORK_UPDATE_HAS_CORRECT_ORDER),
      );
      this.updateOrderIsCorrect = r.int() !== 0;
    }
    const [first, second] = this.updateOrderIsCorrect ? [command, section] : [section, command];
    await this.rpc.call(Procedure.NETWORK_UPDATE, (w) => {
      writeNetwork(w, net);
      w.uint(first).uint(second).int(parentIndex).string(xml).uint(flags);
    });
  }
}
