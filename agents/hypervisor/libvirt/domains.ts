/**
 * Domain procedures of libvirt's remote program, typed: define, look up, start, shut down,
 * destroy, undefine, state and info, XML, listing, autostart, and registration for lifecycle
 * events. Each method is one RPC call; no policy lives here (see libvirt-hypervisor.ts).
 */
import type { RpcClient } from './rpc-client.js';
import { Procedure, DomainEventId } from './protocol.js';
import { readDomain, writeDomain, type RemoteDomain, type XdrReader } from './xdr.js';

/** DOMAIN_GET_INFO's answer. cpuTimeNs is nanoseconds of CPU used; memory is in KiB. */
export interface DomainInfoRet {
  state: number;
  maxMemKiB: number;
  memoryKiB: number;
  vcpus: number;
  cpuTimeNs: bigint;
}

/** DOMAIN_GET_STATE's answer (virDomainState and its reason code). */
export interface DomainStateRet {
  state: number;
  reason: number;
}

/** A decoded DOMAIN_EVENT_CALLBACK_LIFECYCLE message. */
export interface LifecycleEventMsg {
  callbackId: number;
  domain: RemoteDomain;
  /** virDomainEventType (see DomainLifecycleEvent). */
  event: number;
  /** Detail code, whose meaning depends on `event`. */
  detail: number;
}

export function decodeLifecycleEvent(body: XdrReader): LifecycleEventMsg {
  return { callbackId: body.int(), domain: readDomain(body), event: body.int(), detail: body.int() };
}

export class DomainCalls {
  constructor(private readonly rpc: RpcClient) {}

  async defineXml(xml: string, flags = 0): Promise<RemoteDomain> {
    const r = await this.rpc.call(Procedure.DOMAIN_DEFINE_XML_FLAGS, (w) => w.string(xml).uint(flags));
    return readDomain(r);
  }

  async lookupByName(name: string): Promise<RemoteDomain> {
    return readDomain(await this.rpc.call(Procedure.DOMAIN_LOOKUP_BY_NAME, (w) => w.string(name)));
  }

  async lookupByUuid(uuid: Buffer): Promise<RemoteDomain> {
    return readDomain(await this.rpc.call(Procedure.DOMAIN_LOOKUP_BY_UUID, (w) => w.opaqueFixed(uuid, 16)));
  }

  /** Starts a defined domain; returns it with its new id. */
  async create(dom: RemoteDomain, flags = 0): Promise<RemoteDomain> {
    const r = await this.rpc.call(Procedure.DOMAIN_CREATE_WITH_FLAGS, (w) => {
      writeDomain(w, dom);
      w.uint(flags);
    });
    return readDomain(r);
  }

  /** Asks the guest to shut down (ACPI); returns before the guest has stopped. */
  async shutdown(dom: RemoteDomain, flags = 0): Promise<void> {
    await this.rpc.call(Procedure.DOMAIN_SHUTDOWN_FLAGS, (w) => {
      writeDomain(w, dom);
      w.uint(flags);
    });
  }

  /** Stops the domain at once (power off). */
  async destroy(dom: RemoteDomain, flags = 0): Promise<void> {
    await this.rpc.call(Procedure.DOMAIN_DESTROY_FLAGS, (w) => {
      writeDomain(w, dom);
      w.uint(flags);
    });
  }

  /** Removes the persistent definition (flags: DomainUndefineFlags, e.g. NVRAM). */
  async undefine(dom: RemoteDomain, flags = 0): Promise<void> {
    await this.rpc.call(Procedure.DOMAIN_UNDEFINE_FLAGS, (w) => {
      writeDomain(w, dom);
      w.uint(flags);
    });
  }

  async getState(dom: RemoteDomain): Promise<DomainStateRet> {
    const r = await this.rpc.call(Procedure.DOMAIN_GET_STATE, (w) => {
      writeDomain(w, dom);
      w.uint(0);
    });
    return { state: r.int(), reason: r.int() };
  }

  async getInfo(dom: RemoteDomain): Promise<DomainInfoRet> {
    const r = await this.rpc.call(Procedure.DOMAIN_GET_INFO, (w) => writeDomain(w, dom));
    return {
      state: r.uint(),
      maxMemKiB: r.uhyperNumber(),
      memoryKiB: r.uhyperNumber(),
      vcpus: r.uint(),
      cpuTimeNs: r.uhyper(),
    };
  }

  async getXmlDesc(dom: RemoteDomain, flags = 0): Promise<string> {
    const r = await this.rpc.call(Procedure.DOMAIN_GET_XML_DESC, (w) => {
      writeDomain(w, dom);
      w.uint(flags);
    });
    return r.string();
  }

  /** All domains, active and inactive (flags 0), or filtered by virConnectListAllDomainsFlags. */
  async listAll(flags = 0): Promise<RemoteDomain[]> {
    const r = await this.rpc.call(Procedure.CONNECT_LIST_ALL_DOMAINS, (w) => w.int(1).uint(flags));
    const domains = r.array(readDomain);
    r.uint(); // ret: the count again
    return domains;
  }

  async setAutostart(dom: RemoteDomain, autostart: boolean): Promise<void> {
    await this.rpc.call(Procedure.DOMAIN_SET_AUTOSTART, (w) => {
      writeDomain(w, dom);
      w.int(autostart ? 1 : 0);
    });
  }

  async getAutostart(dom: RemoteDomain): Promise<boolean> {
    const r = await this.rpc.call(Procedure.DOMAIN_GET_AUTOSTART, (w) => writeDomain(w, dom));
    return r.int() !== 0;
  }

  async isActive(dom: RemoteDomain): Promise<boolean> {
    const r = await this.rpc.call(Procedure.DOMAIN_IS_ACTIVE, (w) => writeDomain(w, dom));
    return r.int() !== 0;
  }

  /**
   * Registers for lifecycle events of all domains (or of one). Returns the callback id that
   * DOMAIN_EVENT_CALLBACK_LIFECYCLE messages carry; the connection routes them.
   */
  async registerLifecycleEvents(dom: RemoteDomain | null = null): Promise<number> {
    const r = await this.rpc.call(Procedure.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, (w) => {
      w.int(DomainEventId.LIFECYCLE);
      w.optional(dom, writeDomain);
    });
    return r.int();
  }

  async deregisterEvents(callbackId: number): Promise<void> {
    await this.rpc.call(Procedure.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, (w) => w.int(callbackId));
  }
}
