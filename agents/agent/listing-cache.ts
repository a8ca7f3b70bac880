/**
 * Listings of one pass, cached until the pass changes something: a converged pass asks
 * libvirt for its domains, networks, pools and volumes once instead of once per reconcile step
 * (each domain costs several RPCs on libvirtd, and a pass runs every poll interval). Any call
 * that changes the host empties the cache. Used for the duration of one pass only.
 */
import type { Hypervisor } from '../hypervisor/hypervisor.js';

/** Hypervisor methods that change the host. */
export const MUTATING: ReadonlySet<string> = new Set([
  'defineNetwork', 'startNetwork', 'stopNetwork', 'deleteNetwork', 'setDhcpHost', 'removeDhcpHost', 'createPool', 'deletePool',
  'createVolume', 'uploadVolume', 'resizeVolume', 'deleteVolume', 'defineDomain', 'startDomain', 'shutdownDomain', 'destroyDomain',
  'deleteDomain',
]);

const CACHED: ReadonlySet<string> = new Set(['listDomains', 'listNetworks', 'listPools', 'listVolumes']);

export function withListingCache(inner: Hypervisor): Hypervisor {
  const cache = new Map<string, Promise<unknown>>();
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || typeof value !== 'function') return value;
      const fn = value as (...a: unknown[]) => unknown;
      if (CACHED.has(prop)) {
        return (...args: unknown[]) => {
          const key = `${prop}:${args.join('/')}`;
          let p = cache.get(key);
          if (!p) {
            p = Promise.resolve(fn.apply(target, args));
            cache.set(key, p);
            p.catch(() => cache.delete(key));
          }
          // Callers may change what they get: hand out copies.
          return p.then((v) => structuredClone(v));
        };
      }
      if (MUTATING.has(prop)) {
        return (...args: unknown[]) => {
          cache.clear();
          return Promise.resolve(fn.apply(target, args)).finally(() => cache.clear());
        };
      }
      return (...args: unknown[]) => fn.apply(target, args);
    },
  });
}
