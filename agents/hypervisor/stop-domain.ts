/**
 * Graceful stop of a domain over any Hypervisor: ask the guest to power off (ACPI), wait for
 * it to stop (lifecycle event, or a state poll in case an event is missed), and power it off
 * only after the grace period. DESIGN.md: "shut down gracefully before destroy".
 */
import { InvalidStateError } from './errors.js';
import type { Hypervisor } from './hypervisor.js';

/** How long the guest gets to power off by itself. */
export const DEFAULT_GRACE_MS = 60_000;
/** How often the state is polled while waiting (events usually come first). */
export const DEFAULT_POLL_MS = 1_000;

export type StopOutcome = 'already-stopped' | 'shutdown' | 'destroyed';

export interface StopOptions {
  graceMs?: number;
  pollMs?: number;
}

export async function stopDomainGracefully(hv: Hypervisor, name: string, options: StopOptions = {}): Promise<StopOutcome> {
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  if ((await hv.getDomain(name)).state === 'shutoff') return 'already-stopped';

  let wake: () => void = () => undefined;
  const unsubscribe = hv.onDomainEvent((e) => {
    if (e.domain === name && e.type === 'stopped') wake();
  });
  try {
    try {
      await hv.shutdownDomain(name);
    } catch (err) {
      if (!(err instanceof InvalidStateError)) throw err;
      if ((await hv.getDomain(name)).state === 'shutoff') return 'already-stopped';
    }
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(pollMs, Math.max(0, deadline - Date.now())));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if ((await hv.getDomain(name)).state === 'shutoff') return 'shutdown';
    }
    try {
      await hv.destroyDomain(name);
    } catch (err) {
      if (err instanceof InvalidStateError) return 'shutdown'; // stopped at the last moment
      throw err;
    }
    return 'destroyed';
  } finally {
    unsubscribe();
  }
}
