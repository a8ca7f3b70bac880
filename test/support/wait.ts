/**
 * Waiting for a condition in end-to-end tests: real processes converge in their own time, so
 * a test polls what a user would look at until it holds or a deadline passes. A check that
 * throws is retried (the service may still be starting); its last error goes into the timeout.
 */

/** Polls `check` until it returns something other than undefined or false; returns that. */
export async function until<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  pollMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * Sleeps until the wall clock is past `epochSeconds` (an X-Delete-At): expiry times are whole
 * seconds, so a fixed sleep after an X-Delete-After write is either too short or wasted.
 */
export async function sleepPast(epochSeconds: number, marginMs = 250): Promise<void> {
  const wait = epochSeconds * 1000 + marginMs - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
