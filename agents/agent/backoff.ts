/**
 * Exponential backoff per resource: after a failure the resource is skipped until its next
 * attempt time (base * 2^(failures-1), capped), so one broken image does not turn every poll
 * pass into a download. A changed desired hash retries at once: the user changed something.
 */

/** Delay after the first failure. */
export const DEFAULT_BACKOFF_BASE_MS = 1_000;
/** Longest delay between attempts. */
export const DEFAULT_BACKOFF_MAX_MS = 5 * 60_000;

interface Entry {
  failures: number;
  nextAttempt: number;
  hash: string;
}

export class Backoff {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly baseMs = DEFAULT_BACKOFF_BASE_MS,
    private readonly maxMs = DEFAULT_BACKOFF_MAX_MS,
  ) {}

  /** Milliseconds to wait before `key` (at spec `hash`) may be tried again; 0 means now. */
  waitMs(key: string, hash: string, now: number): number {
    const e = this.entries.get(key);
    if (!e) return 0;
    if (e.hash !== hash) {
      this.entries.delete(key);
      return 0;
    }
    return Math.max(0, e.nextAttempt - now);
  }

  /** Records a failure; returns the delay until the next attempt. */
  fail(key: string, hash: string, now: number): number {
    const prev = this.entries.get(key);
    const failures = prev && prev.hash === hash ? prev.failures + 1 : 1;
    const delay = Math.min(this.maxMs, this.baseMs * 2 ** (failures - 1));
    this.entries.set(key, { failures, nextAttempt: now + delay, hash });
    return delay;
  }

  succeed(key: string): void {
    this.entries.delete(key);
  }

  failures(key: string): number {
    return this.entries.get(key)?.failures ?? 0;
  }

  /** Forgets every entry (after a reconnect, everything is retried at once). */
  clear(): void {
    this.entries.clear();
  }
}
