/**
 * Which ring devices are this storage node's own: a device is local when its port is the
 * node's and its ip one of the addresses the node listens on (every interface's address when
 * it listens on a wildcard). The replicators use it to find themselves among a partition's
 * primaries.
 */
import { networkInterfaces } from 'node:os';
import type { RingDevice } from '../ring/ring.js';

const WILDCARD_HOSTS = new Set(['', '0.0.0.0', '::', '[::]']);

export class LocalNode {
  private readonly addresses: Set<string>;

  constructor(host: string, private readonly port: number) {
    if (WILDCARD_HOSTS.has(host)) {
      this.addresses = new Set(['127.0.0.1', '::1', 'localhost']);
      for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) this.addresses.add(a.address);
    } else {
      this.addresses = new Set([host]);
    }
  }

  owns(d: Pick<RingDevice, 'ip' | 'port'>): boolean {
    return d.port === this.port && this.addresses.has(d.ip);
  }
}
