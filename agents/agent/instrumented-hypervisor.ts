/**
 * A test wrapper around any Hypervisor: counts calls per method (to prove a converged pass
 * changes nothing), injects failures into chosen calls, and can "die" after N changing calls
 * (every later call throws ConnectionLostError), which is how the tests abort an agent in the
 * middle of an apply, like a kill -9, while the hypervisor itself lives on.
 */
import { ConnectionLostError } from '../hypervisor/errors.js';
import type { Hypervisor } from '../hypervisor/hypervisor.js';
import { MUTATING } from './listing-cache.js';

export { MUTATING };

export interface Instrumented {
  hv: Hypervisor;
  calls: Record<string, number>;
  /** Changing calls made so far. */
  mutations(): number;
  /** Calls whose method matches fail with the error `fail` returns (undefined: pass through). */
  failWith(method: string, fail: (args: unknown[]) => Error | undefined): void;
  /** After `n` more changing calls, the connection "dies". */
  dieAfter(n: number): void;
  dead(): boolean;
}

export function instrument(inner: Hypervisor): Instrumented {
  const calls: Record<string, number> = {};
  const failures = new Map<string, (args: unknown[]) => Error | undefined>();
  let budget = Infinity;
  let isDead = false;
  const lostListeners = new Set<(e: Error) => void>();
  const hv = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || typeof value !== 'function') return value;
      if (prop === 'onConnectionLost') {
        return (l: (e: Error) => void) => {
          lostListeners.add(l);
          const off = (target.onConnectionLost as (l: (e: Error) => void) => () => void).call(target, l);
          return () => {
            lostListeners.delete(l);
            off();
          };
        };
      }
      // Closing the wrapper closes "the connection", not the host behind it.
      if (prop === 'close') return async () => undefined;
      if (prop === 'onDomainEvent') return (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(target, args);
      return async (...args: unknown[]) => {
        calls[prop] = (calls[prop] ?? 0) + 1;
        if (isDead) throw new ConnectionLostError('connection lost (instrumented)');
        if (MUTATING.has(prop)) {
          if (budget <= 0) {
            isDead = true;
            for (const l of lostListeners) l(new ConnectionLostError('connection lost (instrumented)'));
            throw new ConnectionLostError('connection lost (instrumented)');
          }
          budget--;
        }
        const fail = failures.get(prop)?.(args);
        if (fail) throw fail;
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
  return {
    hv,
    calls,
    mutations: () => Object.entries(calls).filter(([m]) => MUTATING.has(m)).reduce((a, [, n]) => a + n, 0),
    failWith: (method, fail) => failures.set(method, fail),
    dieAfter: (n) => {
      budget = n;
    },
    dead: () => isDead,
  };
}
